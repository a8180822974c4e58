"""Word and character error rates of transcripts, as jiwer computes them.

Shared by the collect phase (agreement between transcribers) and the train phase
(a recogniser's output against the given transcripts).

* ``wer = (S + D + I) / N`` over all pairs: the total word edits of a minimal alignment
  over the total reference words (corpus WER, ``jiwer.wer``); a single pair is a corpus
  of one. An empty reference counts its hypothesis' words as insertions; a corpus
  without reference words divides by 1, as jiwer does.
* ``cer``: the same over characters of the stripped texts, spaces included
  (``jiwer.cer``).
* Words are split on whitespace. Texts are compared as given: normalise them first
  (e.g. :func:`assay.collect.normalize_text`, or upper case without punctuation for
  LibriSpeech).

The split of a distance into substitutions, deletions and insertions is the minimal
alignment with the most substitutions; jiwer's backtrace sometimes reports a deletion and
an insertion where this reports two substitutions (same distance, same rates).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay._levenshtein import EditCounts, text_distances, text_edit_counts
from assay._validation import Options, index_of, name_rows, validate_params
from assay.exceptions import InputError

__all__ = ["as_texts", "character_error_rate", "error_counts", "word_error_rate"]


def as_texts(values: Any, what: str) -> list[str]:
    """``values`` (a str, or a sequence of str) as a list of str."""
    if isinstance(values, str):
        return [values]
    if isinstance(values, (bytes, dict, set)) or not isinstance(
        values, (Sequence, np.ndarray, pd.Series, pd.Index)
    ):
        raise InputError(f"{what} must be a str or a sequence of str, got "
                         f"{type(values).__name__}; pass the transcript text(s).")
    texts = list(values)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        shown = texts[bad[0]]
        raise InputError(
            f"{what} holds a non-text value at {name_rows(bad, index_of(values))} "
            f"({shown!r}, {type(shown).__name__}); give every transcript as a str "
            f"(an empty str for silence).")
    return texts


def _pairs(reference: Any, hypothesis: Any) -> tuple[list[str], list[str]]:
    """Check and align the two inputs: both str, or equal-length sequences of str."""
    if isinstance(reference, str) != isinstance(hypothesis, str):
        raise InputError("reference and hypothesis must both be a str or both be sequences "
                         "of str of the same length.")
    refs, hyps = as_texts(reference, "reference"), as_texts(hypothesis, "hypothesis")
    if len(refs) != len(hyps):
        raise InputError(f"reference has {len(refs)} transcripts and hypothesis "
                         f"{len(hyps)}; give one hypothesis per reference.")
    if not refs:
        raise InputError("reference and hypothesis are empty; give at least one pair.")
    return refs, hyps


def _stripped(refs: list[str], hyps: list[str], unit: str) -> tuple[list[str], list[str]]:
    if unit == "char":
        return [r.strip() for r in refs], [h.strip() for h in hyps]
    return refs, hyps


def _counts(refs: list[str], hyps: list[str], unit: str) -> tuple[EditCounts, np.ndarray]:
    return text_edit_counts(*_stripped(refs, hyps, unit), unit)


def _rate(reference: Any, hypothesis: Any, unit: str) -> float:
    refs, hyps = _pairs(reference, hypothesis)
    distance, n_ref = text_distances(*_stripped(refs, hyps, unit), unit)
    return float(distance.sum() / max(int(n_ref.sum()), 1))


def word_error_rate(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (corpus WER, as jiwer).

    Parameters
    ----------
    reference, hypothesis : str, or sequences of n_pairs str
        Two transcripts, or two equal-length sequences of transcripts (pair ``p`` is
        ``reference[p]`` and ``hypothesis[p]``).

    Returns
    -------
    float
        Total word edits (substitutions + deletions + insertions) over total reference
        words; 0 is perfect, and it exceeds 1 when the hypothesis inserts many words.

    Raises
    ------
    InputError
        A non-text value, sequences of different lengths, or no pair.

    Examples
    --------
    >>> word_error_rate("the cat sat on the mat", "the cat sat on mat")
    0.16666666666666666
    """
    return _rate(reference, hypothesis, "word")


def character_error_rate(
    reference: str | Sequence[str], hypothesis: str | Sequence[str]
) -> float:
    """Character error rate (corpus CER, as ``jiwer.cer``): character edits of the
    stripped texts, spaces included, over the reference characters.

    Parameters and errors as :func:`word_error_rate`.
    """
    return _rate(reference, hypothesis, "char")


@validate_params({"unit": [Options(("word", "char"))]})
def error_counts(
    reference: str | Sequence[str], hypothesis: str | Sequence[str], *, unit: str = "word"
) -> pd.DataFrame:
    """Edit counts and error rate of every pair, for per-clip reports.

    Parameters
    ----------
    reference, hypothesis : str, or sequences of n_pairs str
    unit : {"word", "char"}, default "word"

    Returns
    -------
    DataFrame of shape (n_pairs, 7)
        ``n_reference`` (reference words or characters), ``hits``, ``substitutions``,
        ``deletions``, ``insertions``, ``errors`` (their sum) and ``error_rate``
        (``errors / max(n_reference, 1)``), indexed like ``reference`` when it is a
        Series, else 0 .. n_pairs - 1.
    """
    refs, hyps = _pairs(reference, hypothesis)
    c, n_ref = _counts(refs, hyps, unit)
    out = pd.DataFrame({
        "n_reference": n_ref, "hits": n_ref - c.substitutions - c.deletions,
        "substitutions": c.substitutions, "deletions": c.deletions,
        "insertions": c.insertions, "errors": c.distance,
        "error_rate": c.distance / np.maximum(n_ref, 1),
    })
    index = index_of(reference)
    if index is not None:
        out.index = index
    return out
