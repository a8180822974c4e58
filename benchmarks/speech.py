"""Benchmark: speech transcripts against jiwer and crowd-kit's ROVER.

Run from the repository root::

    .venv/bin/python benchmarks/speech.py                 # writes results/speech.md
    .venv/bin/python benchmarks/speech.py --quick         # smoke test, prints only
    .venv/bin/python benchmarks/speech.py --pocketsphinx  # only the offline recogniser:
                                                          # results/speech_pocketsphinx.md

Simulators (stated error models) in ``tests/collect/speech_transcribers.py``.
Data: the real read-speech transcripts of ``../shared/data/speech/mini-librispeech``:
the 168 clips of ``transcripts.csv`` and the 1,519 utterances of its ``trans/*.trans.txt``
(LibriSpeech normalisation: upper case, apostrophes, no other punctuation).

1. **WER / CER = jiwer 4.** Hypotheses corrupted with the word error model below
   (~15% WER); corpus WER and CER and every pair's WER compared to 1e-9. Speed: 100,000
   (reference, hypothesis) pairs drawn from the 1,519 utterances, ``assay.word_error_rate``
   against ``jiwer.wer`` in the same run (medians of wall and CPU time).
2. **Transcript label issues.** A simulated recogniser transcribes the *true* transcripts:
   each clip gets a difficulty ``r ~ Gamma(shape 2, mean 0.15)`` and each word is
   substituted (a random corpus word) with probability ``0.6 r``, deleted with ``0.25 r``,
   followed by an inserted word with ``0.15 r`` (corpus WER ~15%). 10% of the *given*
   transcripts are wrong, a third each: 1-3 words substituted, 1-3 consecutive words
   dropped, or the transcript of another clip. AUPRC of ``1 - label_quality`` against
   ranking by the clip's WER alone, over seeds.
3. **ROVER consensus.** Simulated transcribers of the 168 real transcripts, error model
   per transcriber: substitution / deletion / insertion probabilities per word, a filler
   "UM" at the start of a share of clips, apostrophes dropped ("TODAY'S" -> "TODAYS",
   slide 9's conventions). Annotator ids are shuffled per seed (no tie-break by order).
   WER of the consensus against the true transcript: assay's ``transcript_consensus``
   against ``crowdkit.aggregation.ROVER`` (whitespace tokenizer).
4. With ``--pocketsphinx`` (alone): the offline CMU recogniser (its wheel's English model) on
   the 168 WAV files, WER after LibriSpeech normalisation, and its time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pandas as pd
from crowdkit.aggregation import ROVER
from sklearn.metrics import average_precision_score

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "collect"))
from _common import markdown_table, write_results  # noqa: E402
from speech_transcribers import (  # noqa: E402
    SPEECH,
    TRANSCRIBERS,
    clips,
    inject,
    recogniser,
    transcribe,
    utterances,
)

from assay._levenshtein import text_edit_counts  # noqa: E402
from assay._wer import character_error_rate, error_counts, word_error_rate  # noqa: E402
from assay.collect.consensus_transcripts import transcript_consensus  # noqa: E402
from assay.train.labels._transcripts import find_transcript_issues  # noqa: E402


def equality(vocab: list[str]) -> list[list[Any]]:
    rng = np.random.default_rng(0)
    rows = []
    for name, refs in (("transcripts.csv (168)", clips()), ("trans/*.txt (1,519)", utterances())):
        hyps = [transcribe(rng, t, vocab, 0.08, 0.04, 0.03, um=0.2, apos=True) for t in refs]
        per_pair = error_counts(refs, hyps)["error_rate"].to_numpy()
        jp = np.array([jiwer.wer(r, h) for r, h in zip(refs, hyps, strict=True)])
        rows.append([name, f"{word_error_rate(refs, hyps):.6f}", f"{jiwer.wer(refs, hyps):.6f}",
                     f"{abs(word_error_rate(refs, hyps) - jiwer.wer(refs, hyps)):.1e}",
                     f"{np.abs(per_pair - jp).max():.1e}",
                     f"{abs(character_error_rate(refs, hyps) - jiwer.cer(refs, hyps)):.1e}"])
    return rows


def _times(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), out


def speed(vocab: list[str], n: int, repeats: int) -> list[list[Any]]:
    rng = np.random.default_rng(1)
    pool = utterances()
    refs = [pool[i] for i in rng.integers(0, len(pool), n)]
    hyps = recogniser(rng, refs, vocab)
    jw, jc, jv = _times(lambda: jiwer.wer(refs, hyps), max(repeats - 2, 1))
    aw, ac, av = _times(lambda: word_error_rate(refs, hyps), repeats)
    nw, nc, _ = _times(lambda: text_edit_counts(refs, hyps, "word", engine="numpy"), 1)
    cw, cc, cv = _times(lambda: character_error_rate(refs, hyps), repeats)
    jcw, jcc, jcv = _times(lambda: jiwer.cer(refs, hyps), 1)
    assert abs(av - jv) < 1e-9 and abs(cv - jcv) < 1e-9
    return [
        [f"WER, {n:,} pairs", f"{jw:.2f} / {jc:.2f}", f"{aw:.2f} / {ac:.2f}", f"{jw / aw:.1f}x",
         f"{nw:.2f} / {nc:.2f}"],
        [f"CER, {n:,} pairs", f"{jcw:.2f} / {jcc:.2f}", f"{cw:.2f} / {cc:.2f}",
         f"{jcw / cw:.1f}x", "-"],
    ]


def label_issues(vocab: list[str], seeds: int) -> list[list[Any]]:
    texts = utterances()
    res: dict[str, list[float]] = {k: [] for k in
                                   ("wer", "assay", "sub", "drop", "clip", "prec", "rec", "rwer")}
    for seed in range(seeds):
        rng = np.random.default_rng(100 + seed)
        hyps = recogniser(rng, texts, vocab)
        given, kind = inject(rng, texts, vocab)
        table = find_transcript_issues(pd.Series(given), pd.Series(hyps))
        y = kind >= 0
        res["rwer"].append(word_error_rate(texts, hyps))
        res["wer"].append(average_precision_score(y, table["wer"]))
        res["assay"].append(average_precision_score(y, 1 - table["label_quality"]))
        for k, name in enumerate(("sub", "drop", "clip")):
            keep = (kind == k) | ~y
            res[name].append(average_precision_score(y[keep], 1 - table["label_quality"][keep]))
        flag = table["is_label_issue"].to_numpy()
        res["prec"].append(float(y[flag].mean()) if flag.any() else float("nan"))
        res["rec"].append(float(flag[y].mean()))

    def ms(v: list[float]) -> str:
        return f"{np.mean(v):.3f} ± {np.std(v):.3f}"

    return [[f"{len(texts):,}", ms(res["rwer"]), ms(res["wer"]), ms(res["assay"]),
             ms(res["sub"]), ms(res["drop"]), ms(res["clip"]), ms(res["prec"]), ms(res["rec"])]]


def rover(vocab: list[str], seeds: int) -> list[list[Any]]:
    truth = clips()
    rows = []
    for name, profiles in TRANSCRIBERS.items():
        out: dict[str, list[float]] = {"best": [], "ck": [], "plain": [], "assay": []}
        t_ck, t_as = [], []
        for seed in range(seeds):
            rng = np.random.default_rng(200 + seed)
            perm = rng.permutation(len(profiles))
            df = pd.DataFrame([(i, int(a), transcribe(rng, t, vocab, **p))
                               for i, t in enumerate(truth) for a, p in zip(perm, profiles, strict=True)],
                              columns=["item", "annotator", "label"])
            out["best"].append(min(word_error_rate(truth, g.sort_values("item")["label"].to_list())
                                   for _, g in df.groupby("annotator")))
            start = time.perf_counter()
            ck = ROVER(tokenizer=lambda s: s.split(), detokenizer=" ".join).fit_predict(
                df.rename(columns={"item": "task", "annotator": "worker", "label": "text"}))
            t_ck.append(time.perf_counter() - start)
            out["ck"].append(word_error_rate(truth, [ck[i] for i in range(len(truth))]))
            plain = transcript_consensus(df, weighted=False).transcripts["transcript"]
            out["plain"].append(word_error_rate(truth, plain.to_list()))
            start = time.perf_counter()
            ours = transcript_consensus(df).transcripts["transcript"]
            t_as.append(time.perf_counter() - start)
            out["assay"].append(word_error_rate(truth, ours.to_list()))
        rows.append([name, len(truth), *(f"{np.mean(out[k]):.4f}" for k in ("best", "ck", "plain", "assay")),
                     f"{statistics.median(t_ck):.2f}", f"{statistics.median(t_as):.2f}"])
    return rows


def _librispeech(text: str) -> str:
    return " ".join(re.sub(r"[^A-Z' ]", " ", text.upper()).split())


def pocketsphinx() -> list[list[Any]]:
    from pocketsphinx import Decoder

    start = time.perf_counter()
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    load = time.perf_counter() - start
    table = pd.read_csv(SPEECH / "transcripts.csv")
    hyps, audio = [], 0.0
    start, cpu = time.perf_counter(), time.process_time()
    for file in table["file"]:
        with wave.open(str(SPEECH / file)) as w:
            data = w.readframes(w.getnframes())
            audio += w.getnframes() / w.getframerate()
        decoder.start_utt()
        decoder.process_raw(data, full_utt=True)
        decoder.end_utt()
        hyps.append(_librispeech(decoder.hyp().hypstr if decoder.hyp() else ""))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    refs = table["transcript"].to_list()
    return [[len(refs), f"{audio:.0f}", f"{word_error_rate(refs, hyps):.3f}",
             f"{character_error_rate(refs, hyps):.3f}", f"{load:.1f}", f"{wall:.0f} / {cpu:.0f}",
             f"{cpu / audio:.2f}"]]


POCKETSPHINX = (
    "pocketsphinx 5.1.1 (PyPI wheel, its bundled US English model, default decoder), "
    "offline on CPU, on the 168 WAV files; hypotheses upper-cased and stripped of "
    "punctuation but apostrophes. Time: model load, then wall / CPU seconds for all clips, "
    "and CPU seconds per second of audio.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, no results file")
    parser.add_argument("--pocketsphinx", action="store_true", help="run the offline recogniser")
    args = parser.parse_args()
    if args.pocketsphinx:
        write_results("speech_pocketsphinx", "Speech: the offline recogniser pocketsphinx",
                      POCKETSPHINX + "\n\n" + markdown_table(
                          ["clips", "audio s", "WER", "CER", "load s", "decode s",
                           "CPU / audio s"], pocketsphinx()))
        return
    n, repeats, seeds = (10_000, 1, 2) if args.quick else (100_000, 3, 10)
    vocab = sorted({w for t in utterances() for w in t.split()})
    parts = [
        "WER and CER equal to jiwer 4.0 (hypotheses: the transcriber model with sub 0.08, "
        "del 0.04, ins 0.03, 'UM' on 20% of clips, apostrophes dropped).",
        markdown_table(["set", "assay WER", "jiwer WER", "|diff|", "max per-pair |diff|",
                        "CER |diff|"], equality(vocab)),
        f"Speed: wall / CPU seconds, median of {repeats} runs (jiwer: of {max(repeats - 2, 1)}); "
        "ratio = jiwer wall / assay wall. assay uses rapidfuzz's C++ Levenshtein when it is "
        "installed; the last column is assay's numpy fallback (one run).",
        markdown_table(["pairs", "jiwer", "assay", "ratio", "assay numpy fallback"],
                       speed(vocab, n, repeats)),
        f"Transcript label issues, {seeds} seeds (mean ± SD): AUPRC of ranking by the clip's "
        "WER alone against assay's `label_quality`, then assay's AUPRC per injected kind "
        "(that kind against the correct clips) and the precision / recall of "
        "`is_label_issue` (Benjamini-Hochberg at 5%).",
        markdown_table(["clips", "recogniser WER", "WER-rank AUPRC", "assay AUPRC",
                        "substituted", "dropped", "wrong clip", "precision", "recall"],
                       label_issues(vocab, seeds)),
        f"ROVER consensus, WER against the true transcripts, mean of {min(seeds, 5)} seeds; "
        "best = the best single transcriber; plain = assay unweighted; seconds = median "
        "wall time of one consensus.",
        markdown_table(["transcribers", "clips", "best single", "crowd-kit ROVER",
                        "assay plain", "assay weighted", "crowd-kit s", "assay s"],
                       rover(vocab, min(seeds, 5))),
    ]
    body = "\n\n".join(parts)
    if args.quick:
        print(body)
        return
    write_results("speech", "Speech: WER, transcript label issues, ROVER", body)


if __name__ == "__main__":
    main()
