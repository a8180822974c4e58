"""Batched Levenshtein distance in numpy (no extra dependency).

The dynamic programme runs over the rows of the first sequence for all pairs at once;
within a row the insertion chain ``D[i, j] = min(T[j], D[i, j - 1] + 1)`` is solved with
``j + cummin(T - j)``, so each row is a handful of vectorised operations. For typical
transcripts (tens of words, hundreds of characters) this does thousands of pairs per
second without a compiled extension; ``rapidfuzz`` (MIT) would be faster still, but it is
not needed at the sizes label books deal with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["batch_levenshtein", "encode_sequences"]

_CHUNK = 4096


def encode_sequences(
    texts: Sequence[str], unit: str
) -> list[np.ndarray]:
    """Encode strings as integer arrays of characters (``unit="char"``) or words.

    Parameters
    ----------
    texts : sequence of str, length n
    unit : {"char", "word"}

    Returns
    -------
    list of n ndarrays of int64
        Words share one vocabulary, so equal words get equal codes.
    """
    if unit == "char":
        return [np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
                for t in texts]
    vocab: dict[str, int] = {}
    return [np.array([vocab.setdefault(w, len(vocab)) for w in t.split()], dtype=np.int64)
            for t in texts]


def _chunk(a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    la = np.array([len(x) for x in a])
    lb = np.array([len(x) for x in b])
    p, n_a, n_b = len(a), int(la.max(initial=0)), int(lb.max(initial=0))
    big_a = np.full((p, max(n_a, 1)), -1, dtype=np.int64)
    big_b = np.full((p, max(n_b, 1)), -2, dtype=np.int64)
    dist: type[np.signedinteger] = np.int32 if n_a + n_b < 2**31 - 1 else np.int64
    for r, (x, y) in enumerate(zip(a, b, strict=True)):
        big_a[r, : len(x)] = x
        big_b[r, : len(y)] = y
    j: np.ndarray = np.arange(n_b + 1, dtype=dist)
    prev: np.ndarray = np.tile(j, (p, 1))
    out = np.where(la == 0, lb, 0).astype(np.int64)
    for i in range(1, n_a + 1):
        cost = big_a[:, i - 1 : i] != big_b[:, :n_b]
        temp = np.empty_like(prev)
        temp[:, 0] = i
        temp[:, 1:] = np.minimum(prev[:, 1:] + 1, prev[:, :-1] + cost)
        cur = np.minimum.accumulate(temp - j, axis=1) + j
        done = np.flatnonzero(la == i)
        out[done] = cur[done, lb[done]]
        prev = cur
    return out


def batch_levenshtein(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> np.ndarray:
    """Levenshtein distance between ``a[p]`` and ``b[p]`` for every ``p``.

    Parameters
    ----------
    a, b : sequences of n_pairs integer arrays

    Returns
    -------
    ndarray of shape (n_pairs,), int64
        Unit-cost insertions, deletions and substitutions.
    """
    if len(a) != len(b):
        raise ValueError("a and b must have the same length")
    out = np.zeros(len(a), dtype=np.int64)
    # chunks of similar lengths waste less work on padding
    order = np.lexsort(([len(x) for x in b], [len(x) for x in a]))
    for start in range(0, len(a), _CHUNK):
        idx = order[start : start + _CHUNK]
        out[idx] = _chunk([a[i] for i in idx], [b[i] for i in idx])
    return out
