"""The transcript task: labels are texts, changes word by word, WER / CER with intervals,
and the collect engines it names (agreement before / after normalisation, ROVER)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from tests.collect.speech_transcribers import clips

from assay._alignment import align_words, describe_word_changes
from assay.exceptions import InputError
from assay.tasks import get_task

SLIDE_9 = pd.DataFrame(
    {
        "item": ["c1", "c1", "c1", "c2", "c2", "c2"],
        "annotator": ["a", "b", "c"] * 2,
        "label": [
            "Um, today's weather",
            "Um todays weather",
            "Todays weather",
            "turn left",
            "turn right",
            "turn left",
        ],
    }
)


def _rows(positions: np.ndarray) -> str:
    return "lines " + ", ".join(str(int(p) + 2) for p in positions)


def test_a_change_is_described_word_by_word() -> None:
    task = get_task("transcript")
    assert task.describe_change("todays weather", "today's weather") == "'todays' -> 'today's'"
    assert (
        task.describe_change("um todays weather", "todays nice weather")
        == "removed 'um', added 'nice'"
    )
    assert task.describe_change("a b c", "a b c") == "unchanged"
    assert (
        task.describe_change("TURN LEFT", "turn left") == "'TURN LEFT' -> 'turn left' (case only)"
    )
    assert task.describe_change(None, "a b") == "relabeled missing -> 'a b'"
    assert [e.tag for e in align_words("the cat sat", "a cat sat down")] == [
        "replace",
        "equal",
        "insert",
    ]
    many = describe_word_changes("a b c d e f g h i", "z b y d x f w h v", limit=2)
    assert many.endswith("... (3 more)")


def test_labels_are_non_empty_texts() -> None:
    task = get_task("transcript")
    column = pa.chunked_array([pa.array(["hello there", "  ", None])])
    with pytest.raises(InputError, match=r"empty on 2 clips: lines 3, 4"):
        task.check_labels(column, name="transcript", where="t.csv", rows=_rows)
    with pytest.raises(InputError, match="not text"):
        task.check_labels(pa.chunked_array([pa.array([1, 2])]), name="y", where="t.csv", rows=_rows)
    with pytest.raises(InputError, match="transcript is empty"):
        task.coerce_label("   ", pa.string())
    with pytest.raises(InputError, match="not UTF-8"):
        task.coerce_label(b"caf\xe9", pa.string())
    assert task.show_label("word " * 30).endswith("…") and len(task.show_label("word " * 30)) == 60
    summary = task.describe_labels(pd.Series(["a b c", "d e", None]))
    assert summary.rows == {
        "clips": 3,
        "words": 5,
        "mean words/clip": 2.5,
        "distinct words": 5,
        "missing": 1,
    }


def test_score_is_corpus_wer_and_cer_as_jiwer_with_intervals() -> None:
    jiwer = pytest.importorskip("jiwer")
    refs = clips()[:60]
    rng = np.random.default_rng(0)
    hyps = [" ".join(w for w in r.split() if rng.random() > 0.1) or "X" for r in refs]
    scores = get_task("transcript").score(refs, hyps, seed=0)
    assert abs(scores["wer"]["value"] - jiwer.wer(refs, hyps)) < 1e-9
    assert abs(scores["cer"]["value"] - jiwer.cer(refs, hyps)) < 1e-9
    for metric in ("wer", "cer"):
        assert scores[metric]["low"] < scores[metric]["value"] < scores[metric]["high"]
    assert get_task("transcript").headline_score(refs, hyps) == scores["wer"]["value"]
    assert (
        get_task("transcript").verdict(scores, get_task("transcript").score(refs, refs)) == "better"
    )


def test_agreement_before_and_after_the_label_books_normalisation() -> None:
    convention = {"fillers": ["um"], "apostrophes": "drop", "case": "lower", "punctuation": "drop"}
    report = get_task("transcript").agreement(SLIDE_9, labelbook={"normalisation": convention})
    assert report.rates.n_disagreeing == 5
    assert report.vanished == 3  # c1's three pairs: conventions only; c2's remain
    assert report.normalised_rates is not None
    assert report.normalised_rates.items.loc["c1", "wer"] == 0.0
    assert report.normalised_rates.items.loc["c2", "wer"] > 0
    assert report.to_revise(1)["item"].tolist() == ["c2"]
    assert "3 of 5 disagreeing pairs vanish" in report.summary()
    assert report.to_dict()["normalised"]["n_disagreeing_pairs"] == 2
    assert get_task("transcript").human_level(report) == report.wer > 0
    tagged = get_task("transcript").agreement(SLIDE_9, tags={"c1": "weather", "c2": "nav"})
    assert set(tagged.rates.tags.index) == {"weather", "nav"}


def test_consensus_has_a_per_word_confidence() -> None:
    result = get_task("transcript").consensus(
        SLIDE_9.assign(label=SLIDE_9["label"].str.lower()), method="rover"
    )
    assert result.labels.loc["c2", "label"] == "turn left"
    assert set(result.words.columns) >= {"item", "position", "word", "confidence"}
    assert "right" not in result.labels.loc["c2", "label"]
    left = result.to_dict()["transcripts"][1]["words"][1]
    assert left["word"] == "left" and 0.5 < left["confidence"] < 1.0  # b wrote "right"
    assert len(result.labels.loc["c2", "word_confidence"]) == 2
    assert result.labels.loc["c2", "word_confidence"][0] == 1.0
    plain = get_task("transcript").consensus(SLIDE_9, method="rover_unweighted")
    assert plain.words["confidence"].iloc[-1] == pytest.approx(2 / 3)
    with pytest.raises(InputError, match="does not combine transcripts"):
        get_task("transcript").consensus(SLIDE_9, method="dawid_skene")


def test_label_issues_are_indexed_by_clip_ids() -> None:
    refs = clips()[:40]
    hyps = list(refs)
    hyps[3] = clips()[100]  # the transcript of another clip
    table = get_task("transcript").find_label_issues(refs, hyps, ids=[f"c{i}" for i in range(40)])
    assert table.index[np.argmin(table["label_quality"])] == "c3"
    assert bool(table.loc["c3", "is_label_issue"])


def test_evaluation_and_paired_comparison_in_wer() -> None:
    """A closed-vocabulary model's transcripts: corpus WER equal to word_error_rate, per
    tag, stored and read back, and a paired comparison of two models on the same clips."""
    from assay._wer import word_error_rate
    from assay.tasks._transcript_eval import closed_vocabulary
    from assay.tasks.transcript import TranscriptTask

    task = TranscriptTask()
    truth = ["one", "two", "three", "call my mother"] * 10
    worse = ["one", "one", "three", "call mother"] * 10
    better = ["one", "two", "three", "call my brother"] * 10
    tags = pd.DataFrame({"noise": ["car", "none"] * 20})
    a = task.evaluate_predictions(truth, worse, tags=tags, n_boot=200)
    b = task.evaluate_predictions(truth, better, tags=tags, n_boot=200)
    assert a.overall["wer"]["value"] == pytest.approx(word_error_rate(truth, worse))
    assert a.overall["wer"]["low"] <= a.overall["wer"]["value"] <= a.overall["wer"]["high"]
    assert set(a.per_tag["value"]) == {"car", "none"}
    back = task.evaluation_from_dict(a.to_dict())
    assert back.overall == a.overall and back.y_pred == worse
    diff = task.compare(back, b, n_boot=200)
    assert diff.metrics["wer"]["delta"] == pytest.approx(
        word_error_rate(truth, better) - word_error_rate(truth, worse)
    )
    with pytest.raises(InputError, match="not of the same clips"):
        task.compare(a, task.evaluate_predictions(truth[:-1] + ["x"], worse, n_boot=10))
    y, classes = closed_vocabulary(truth)
    assert classes == ["call my mother", "one", "three", "two"] and len(y) == 40
    with pytest.raises(InputError, match="4 distinct transcripts over 4 clips"):
        closed_vocabulary(truth[:4])
