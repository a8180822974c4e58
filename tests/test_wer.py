"""Word and character error rates against jiwer, on the real Mini LibriSpeech transcripts."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._levenshtein import text_distances, text_edit_counts
from assay._wer import character_error_rate, error_counts, word_error_rate
from assay.exceptions import InputError

sys.path.insert(0, str(Path(__file__).parent / "collect"))
from speech_transcribers import transcribe  # noqa: E402


@pytest.fixture(scope="module")
def pairs(shared_data) -> tuple[list[str], list[str]]:
    """The 168 real transcripts and seeded corruptions of them (~15% WER, fillers, apostrophes)."""
    refs = pd.read_csv(shared_data / "speech/mini-librispeech/transcripts.csv")["transcript"].tolist()
    vocab = sorted({w for t in refs for w in t.split()})
    rng = np.random.default_rng(0)
    hyps = [transcribe(rng, t, vocab, 0.08, 0.04, 0.03, um=0.2, apos=True) for t in refs]
    return refs, hyps


def test_equal_to_jiwer_on_real_transcripts(pairs) -> None:
    jiwer = pytest.importorskip("jiwer")
    refs, hyps = pairs
    assert word_error_rate(refs, hyps) == pytest.approx(jiwer.wer(refs, hyps), abs=1e-9)
    assert character_error_rate(refs, hyps) == pytest.approx(jiwer.cer(refs, hyps), abs=1e-9)
    assert 0.05 < word_error_rate(refs, hyps) < 0.5  # the corruption did something
    table = error_counts(refs, hyps)
    expected = [jiwer.process_words(r, h) for r, h in zip(refs, hyps, strict=True)]
    np.testing.assert_allclose(table["error_rate"], [o.wer for o in expected], atol=1e-12)
    np.testing.assert_array_equal(
        table["errors"], [o.substitutions + o.deletions + o.insertions for o in expected])
    # the split into S, D, I: the alignment with the most substitutions (fewest hits)
    hits = np.array([o.hits for o in expected])
    assert (table["hits"] <= hits).all() and (table["hits"] == hits).mean() > 0.95


def test_single_pairs_and_empty_texts_as_jiwer() -> None:
    jiwer = pytest.importorskip("jiwer")
    cases = [("the cat sat on the mat", "the cat sat on mat"), ("a b", "x a b y"),
             ("", "two words"), ("", ""), ("um today's weather", "todays weather"),
             ("  spaced   out  ", "spaced out")]
    for ref, hyp in cases:
        assert word_error_rate(ref, hyp) == pytest.approx(jiwer.wer(ref, hyp), abs=1e-12)
        assert character_error_rate(ref, hyp) == pytest.approx(jiwer.cer(ref, hyp), abs=1e-12)
    assert word_error_rate("the cat sat on the mat", "the cat sat on mat") == pytest.approx(1 / 6)


def test_counts_are_consistent_and_follow_the_index(pairs) -> None:
    refs, hyps = pairs
    idx = [f"clip{i}" for i in range(len(refs))]
    for unit in ("word", "char"):
        t = error_counts(pd.Series(refs, index=idx), hyps, unit=unit)
        assert list(t.index) == idx
        assert (t["substitutions"] + t["deletions"] + t["insertions"] == t["errors"]).all()
        assert (t["hits"] + t["substitutions"] + t["deletions"] == t["n_reference"]).all()
        assert (t[["hits", "substitutions", "deletions", "insertions"]] >= 0).all().all()
    one = error_counts("a b c d", "a x c")
    assert one.loc[0, ["substitutions", "deletions", "insertions"]].tolist() == [1, 1, 0]


def test_numpy_fallback_equals_rapidfuzz(pairs) -> None:
    pytest.importorskip("rapidfuzz")
    refs, hyps = pairs
    for unit in ("word", "char"):
        fast, n_fast = text_edit_counts(refs, hyps, unit)
        slow, n_slow = text_edit_counts(refs, hyps, unit, engine="numpy")
        np.testing.assert_array_equal(n_fast, n_slow)
        np.testing.assert_array_equal(text_distances(refs, hyps, unit)[0], slow.distance)
        for field in ("distance", "substitutions", "deletions", "insertions"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(slow, field))


def test_words_split_on_every_whitespace_as_str_split() -> None:
    spaces = [chr(c) for c in range(0x3001) if chr(c).isspace()]
    refs = [f"{w}a{w}b{w}{w}c{w}" for w in spaces]
    hyps = ["a b c"] * len(spaces)
    assert error_counts(refs, hyps)["n_reference"].tolist() == [3] * len(spaces)
    assert word_error_rate(refs, hyps) == 0.0


def test_collect_and_top_level_name_one_function() -> None:
    from assay import collect

    assert collect.word_error_rate is word_error_rate


@pytest.mark.parametrize(
    ("ref", "hyp", "match"),
    [
        (["a b", None], ["a b", "c"], "non-text value at position 1"),
        (["a b", 3], ["a b", "c"], "non-text"),
        (["a", "b"], ["a"], "2 transcripts and hypothesis 1"),
        ("a b", ["a b"], "both be a str"),
        ([], [], "empty"),
        (7, 8, "must be a str or a sequence"),
    ],
)
def test_bad_input_is_one_clear_error(ref, hyp, match) -> None:
    with pytest.raises(InputError, match=match):
        word_error_rate(ref, hyp)


def test_unit_is_checked() -> None:
    with pytest.raises(InputError, match="unit"):
        error_counts("a", "b", unit="phoneme")
