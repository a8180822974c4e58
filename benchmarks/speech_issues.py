"""Benchmark: transcript label issues with a real recogniser on real read speech.

Run from the repository root::

    .venv/bin/python benchmarks/speech_issues.py            # writes results/speech_issues.md
    .venv/bin/python benchmarks/speech_issues.py --quick    # 3 seeds, prints only

Data: the 168 clips of ``../shared/data/speech/mini-librispeech`` (28 LibriVox readers,
exact LibriSpeech transcripts). The recogniser is the fixed one of ``assay audit
--recipe pocketsphinx``: pocketsphinx 5 with its bundled US English model, run once over
the clips (its hypotheses cached per clip under ``benchmarks/_work/recogniser-cache``,
so later runs decode nothing). Per seed, 10% of the *given* transcripts are corrupted with
the injection of ``tests/collect/speech_transcribers.py``, a third each: 1-3 words
substituted by random corpus words, 1-3 consecutive words dropped, or the transcript of
another clip. Both sides are compared after ``normalise_words`` (as the audit does).

Scores (mean ± SD over seeds): AUPRC of ``1 - label_quality`` of
``find_transcript_issues`` against the baseline that ranks clips by the recogniser's WER
alone (the brief's baseline), and by its raw word edits; AUPRC per injected kind (that kind
against the correct clips); precision / recall of ``is_label_issue`` (Benjamini-Hochberg at
5%).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "collect"))
from _common import markdown_table, write_results  # noqa: E402
from speech_transcribers import SPEECH, inject  # noqa: E402

from assay._wer import word_error_rate  # noqa: E402
from assay.train.labels._transcripts import find_transcript_issues  # noqa: E402
from assay.train.recipe._speech import PocketsphinxRecogniser, normalise_words  # noqa: E402
from assay.workflows._recogniser import DiskCache  # noqa: E402

CACHE = HERE / "_work" / "recogniser-cache"


def hypotheses() -> tuple[pd.DataFrame, float]:
    """The 168 clips, their true transcripts and pocketsphinx's normalised hypotheses."""
    table = pd.read_csv(SPEECH / "transcripts.csv")
    heard = PocketsphinxRecogniser(cache=DiskCache(CACHE)).transcribe(
        [SPEECH / f for f in table["file"]]
    )
    table["hypothesis"] = [normalise_words(h) for h in heard["hypothesis"]]
    table["confidence"] = heard["confidence"].to_numpy()
    return table, float(heard["cached"].mean())


def run(table: pd.DataFrame, seeds: int) -> dict[str, list[float]]:
    texts = table["transcript"].tolist()
    vocab = sorted({w for t in texts for w in t.split()})
    hyps = pd.Series(table["hypothesis"].to_numpy(dtype=object))
    res: dict[str, list[float]] = {
        k: [] for k in ("wer", "edits", "assay", "sub", "drop", "clip", "prec", "rec", "n_flag")
    }
    for seed in range(seeds):
        rng = np.random.default_rng(200 + seed)
        given, kind = inject(rng, texts, vocab)
        out = find_transcript_issues(pd.Series(given), hyps)
        y = kind >= 0
        score = 1 - out["label_quality"].to_numpy()
        res["wer"].append(average_precision_score(y, out["wer"]))
        res["edits"].append(average_precision_score(y, out["errors"]))
        res["assay"].append(average_precision_score(y, score))
        for k, name in enumerate(("sub", "drop", "clip")):
            keep = (kind == k) | ~y
            res[name].append(average_precision_score(y[keep], score[keep]))
        flag = out["is_label_issue"].to_numpy()
        res["prec"].append(float(y[flag].mean()) if flag.any() else float("nan"))
        res["rec"].append(float(flag[y].mean()))
        res["n_flag"].append(float(flag.sum()))
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 seeds, no results file")
    args = parser.parse_args()
    seeds = 3 if args.quick else 50
    table, cached = hypotheses()
    wer = word_error_rate(table["transcript"].tolist(), table["hypothesis"].tolist())
    res = run(table, seeds)

    def ms(key: str) -> str:
        return f"{np.nanmean(res[key]):.3f} ± {np.nanstd(res[key]):.3f}"

    rows: list[list[Any]] = [
        [
            len(table),
            f"{wer:.3f}",
            ms("wer"),
            ms("edits"),
            ms("assay"),
            ms("sub"),
            ms("drop"),
            ms("clip"),
            ms("prec"),
            ms("rec"),
        ]
    ]
    body = (
        f"pocketsphinx 5 (bundled US English model) on the 168 real clips, WER {wer:.3f} "
        f"against the true transcripts ({cached:.0%} of hypotheses read from the cache). "
        f"{seeds} seeds, 10% of given transcripts corrupted (a third each: 1-3 words "
        "substituted, 1-3 words dropped, another clip's transcript); mean ± SD. Baselines: "
        "rank by the clip's WER alone, by its raw word edits.\n\n"
        + markdown_table(
            [
                "clips",
                "recogniser WER",
                "WER-rank AUPRC",
                "edits-rank AUPRC",
                "assay AUPRC",
                "substituted",
                "dropped",
                "wrong clip",
                "precision",
                "recall",
            ],
            rows,
        )
        + f"\n\nPrevalence 10% (AUPRC of a random ranking ~0.10); flagged per seed: "
        f"{np.mean(res['n_flag']):.1f} of {len(table)}; seeds where assay's AUPRC beats the "
        f"WER ranking: {int(np.sum(np.array(res['assay']) > np.array(res['wer'])))} of "
        f"{seeds}."
    )
    if args.quick:
        print(body)
        return
    write_results("speech_issues", "Speech: transcript label issues with a real recogniser", body)


if __name__ == "__main__":
    main()
