"""ROVER-style consensus transcripts: the slide-9 example, simulated transcribers of the
real Mini LibriSpeech transcripts, crowd-kit's ROVER as the anchor."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._wer import word_error_rate
from assay.collect import transcript_consensus
from assay.exceptions import InputError

sys.path.insert(0, str(Path(__file__).parent))
from speech_transcribers import TRANSCRIBERS, clips, transcribe  # noqa: E402


@pytest.fixture(scope="module")
def simulated(shared_data) -> tuple[list[str], pd.DataFrame]:
    """Three transcribers of the 168 real transcripts (``TRANSCRIBERS["three"]``: the best
    ~5% WER, one adding "UM", the worst ~30% and dropping apostrophes)."""
    truth = clips()
    vocab = sorted({w for t in truth for w in t.split()})
    rng = np.random.default_rng(3)
    names = ["carol", "alice", "bob"]  # alphabetical order is not quality order
    rows = [(f"clip{i}", name, transcribe(rng, text, vocab, **profile))
            for i, text in enumerate(truth)
            for name, profile in zip(names, TRANSCRIBERS["three"], strict=True)]
    return truth, pd.DataFrame(rows, columns=["item", "annotator", "label"])


def test_slide_nine() -> None:
    df = pd.DataFrame({"item": ["c1"] * 3, "annotator": ["a", "b", "c"],
                       "label": ["UM TODAY'S WEATHER", "UM TODAYS WEATHER", "TODAY'S WEATHER"]})
    result = transcript_consensus(df, weighted=False)
    assert result.transcripts.loc["c1", "transcript"] == "UM TODAY'S WEATHER"
    words = result.words.set_index("word")["confidence"]
    assert words["WEATHER"] == pytest.approx(1.0)
    assert words["TODAY'S"] == pytest.approx(2 / 3, abs=1e-6)
    assert result.transcripts.loc["c1", "n_transcripts"] == 3


def test_agreeing_transcribers_give_their_text() -> None:
    df = pd.DataFrame({"task": [1, 1, 2], "worker": ["x", "y", "x"],
                       "label": ["the cat sat", "the cat sat", "hello"]})
    result = transcript_consensus(df)
    assert result.transcripts["transcript"].tolist() == ["the cat sat", "hello"]
    assert (result.words["confidence"] == 1).all()


def test_better_than_every_transcriber_and_quality_estimated(simulated) -> None:
    truth, df = simulated
    result = transcript_consensus(df)
    items = [f"clip{i}" for i in range(len(truth))]
    consensus = result.transcripts.loc[items, "transcript"].tolist()
    singles = {a: word_error_rate(truth, g.set_index("item").loc[items, "label"].tolist())
               for a, g in df.groupby("annotator")}
    assert word_error_rate(truth, consensus) < 0.7 * min(singles.values())
    est = result.annotators["error_rate"]
    assert list(est.sort_values().index) == sorted(singles, key=singles.get)
    assert result.annotators.loc["carol", "weight"] > result.annotators.loc["bob", "weight"]
    assert result.words["confidence"].between(0, 1).all()


def test_lower_wer_than_crowdkit_rover(simulated) -> None:
    aggregation = pytest.importorskip("crowdkit.aggregation")
    truth, df = simulated
    items = [f"clip{i}" for i in range(len(truth))]
    ours = transcript_consensus(df).transcripts.loc[items, "transcript"].tolist()
    rover = aggregation.ROVER(tokenizer=lambda s: s.split(), detokenizer=" ".join)
    theirs = rover.fit_predict(df.rename(columns={"item": "task", "annotator": "worker",
                                                  "label": "text"}))
    assert word_error_rate(truth, ours) < word_error_rate(truth, theirs[items].tolist())


@pytest.mark.parametrize(
    ("df", "match"),
    [
        (pd.DataFrame({"item": [1], "annotator": ["a"]}), "label"),
        (pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "label": ["x", 3]}), "non-text"),
        (pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "label": ["x", None]}), "missing"),
    ],
)
def test_bad_input(df, match) -> None:
    with pytest.raises(InputError, match=match):
        transcript_consensus(df)
