"""Transcript label issues: real LibriSpeech transcripts, a seeded simulated recogniser
(``tests/collect/speech_transcribers.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from assay.exceptions import InputError
from assay.train.labels import find_transcript_issues

sys.path.insert(0, str(Path(__file__).parents[1] / "collect"))
from speech_transcribers import recogniser, utterances  # noqa: E402


@pytest.fixture(scope="module")
def audit(shared_data):
    rng = np.random.default_rng(7)
    texts = utterances()
    vocab = sorted({w for t in texts for w in t.split()})
    hyps = recogniser(rng, texts, vocab)
    given = list(texts)
    wrong_clip = rng.choice(len(given), 40, replace=False)
    for i in wrong_clip:  # the transcript of another clip
        given[i] = texts[(i + 500) % len(texts)]
    index = [f"u{i}" for i in range(len(given))]
    table = find_transcript_issues(pd.Series(given, index=index), pd.Series(hyps, index=index))
    truth = np.zeros(len(given), dtype=bool)
    truth[wrong_clip] = True
    return table, truth, hyps


def test_table_contract(audit) -> None:
    table, _, hyps = audit
    assert list(table.columns[:4]) == [
        "is_label_issue",
        "label_quality",
        "given_label",
        "suggested_label",
    ]
    assert table.index[0] == "u0" and len(table) == len(hyps)
    assert table["suggested_label"].tolist() == hyps
    assert table["label_quality"].between(0, 1).all()
    assert table["is_label_issue"].dtype == bool


def test_wrong_clips_are_found_and_the_recogniser_fitted(audit) -> None:
    table, truth, _ = audit
    assert average_precision_score(truth, 1 - table["label_quality"]) > 0.95
    flagged = table["is_label_issue"].to_numpy()
    assert flagged[truth].mean() > 0.9  # recall of the wrong clips
    assert truth[flagged].mean() > 0.8  # precision (BH at 5% plus a few true edge cases)
    fit = table.attrs["fit"]
    assert 0.10 < fit.rate < 0.20  # the simulated recogniser errs on ~15% of the words
    assert 0.01 < fit.wrong_share < 0.08  # 40 of 1,519 clips are wrong


def test_length_matters_at_equal_wer() -> None:
    """Two edits in a 4-word clip are less surprising than 10 in a 20-word clip."""
    rng = np.random.default_rng(0)
    words = [f"w{k}" for k in range(60)]
    given = [" ".join(rng.choice(words, 20)) for _ in range(200)]
    hyps = [" ".join(w if rng.random() > 0.1 else "x" for w in g.split()) for g in given]
    given += ["a b c d", " ".join(words[:20])]
    hyps += ["a b y z", " ".join(words[:10] + ["z"] * 10)]
    table = find_transcript_issues(pd.Series(given), pd.Series(hyps))
    assert table["wer"].iloc[-1] == table["wer"].iloc[-2] == 0.5
    assert table["label_quality"].iloc[-1] < table["label_quality"].iloc[-2]


@pytest.mark.parametrize(
    ("given", "hyps", "match"),
    [
        (["a b", "c", "d"], pd.Series(["a b", "c", "d"]), "must be a pandas Series"),
        (pd.Series(["a b", "c", "d"]), pd.Series(["a b", "c"]), "no text for index 2"),
        (pd.Series(["a b", "", "d"]), pd.Series(["a b", "c", "d"]), "empty at index 1"),
        (pd.Series(["a b", 5, "d"]), pd.Series(["a b", "c", "d"]), "non-text value"),
        (pd.Series(["a", "b", "c"], index=[0, 0, 1]), pd.Series(["a", "b", "c"]), "twice"),
        (pd.Series(["a", "b"]), pd.Series(["a", "b"]), "at least 3 clips"),
    ],
)
def test_bad_input(given, hyps, match) -> None:
    with pytest.raises(InputError, match=match):
        find_transcript_issues(given, hyps)


def test_fdr_is_checked() -> None:
    s = pd.Series(["a", "b", "c"])
    with pytest.raises(InputError, match="fdr"):
        find_transcript_issues(s, s, fdr=1.5)


def _commands(seed: int, plant: bool) -> pd.DataFrame:
    """40 one-word commands (digits) and a recogniser that errs more on a fifth of the
    clips (a hard speaker: 30% substitutions, an inserted "oh" on half of them)."""
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    rng = np.random.default_rng(seed)
    truth = list(rng.choice(digits, 40))
    hard = rng.random(40) < 0.2
    hyps = []
    for word, h in zip(truth, hard, strict=True):
        heard = word if rng.random() > (0.3 if h else 0.05) else str(rng.choice(digits))
        hyps.append(("oh " if rng.random() < (0.5 if h else 0.05) else "") + heard)
    given = list(truth)
    if plant:
        given[0] = "please call my mother back"
    return find_transcript_issues(pd.Series(given), pd.Series(hyps))


def test_short_clips_on_a_small_set() -> None:
    """One-word clips, 40 of them: clean sets are not flagged (the old moment fit, which
    capped its dispersion, flagged 42% of clean sets, 4.5 clips each), and a transcript of
    five words where the recogniser heard one is found in most sets."""
    seeds = range(60)
    clean = [_commands(s, plant=False)["is_label_issue"].any() for s in seeds]
    planted = [_commands(s, plant=True)["is_label_issue"] for s in seeds]
    assert np.mean(clean) <= 0.05
    assert np.mean([p.iloc[0] for p in planted]) >= 0.6
    assert np.mean([p.iloc[1:].sum() for p in planted]) <= 0.2
