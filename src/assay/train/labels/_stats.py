"""Input checks and the passes over ``pred_probs`` behind label issues.

Everything confident learning needs per example (the row sum for renormalisation, the
self-confidence, the argmax and its probability) comes from ONE pass over the rows in
cache-sized blocks (:func:`_first_pass`): each block is read from memory once, and its row
sums (which also catch NaN, inf and bad sums), minimum (negatives), self-confidences and
argmax are all taken while it is in cache. The confident-joint guess then needs a second
look only at the rare rows whose argmax misses its threshold while another class might
reach its own (:func:`_may_reach`), gathered in blocks, so no ``(n_samples, n_classes)``
temporary is ever allocated. The input is never copied or cast as a whole: rows are
divided by their sums (and float32 promoted to float64) block by block.

When the fast checks find anything wrong, the canonical checks of
:mod:`assay._validation` run on the whole input, so every message is the shared one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assay._validation import PROBA_SUM_TOLERANCE, check_labels, check_pred_probs
from assay.exceptions import InputError

__all__ = [
    "RowStats",
    "check_shape",
    "confident_thresholds",
    "decode_labels",
    "encode_labels",
    "scan_pred_probs",
]

#: Cells per block of the full pass: 13,107 rows x 10 classes x 8 bytes = 1 MB (the
#: block and its small temporaries stay in the 1 MB L2; measured best of 2**14..2**18).
_CHUNK_CELLS = 1 << 17
#: Fuzzy-equality slack of confident learning (same value as cleanlab's).
FLOAT_SLACK = 1e-6
#: Threshold of a class without examples: no probability reaches it.
_ABSENT_THRESHOLD = 2.0


@dataclass
class RowStats:
    """Per-example statistics of validated predicted probabilities.

    Attributes
    ----------
    pred_probs : ndarray of shape (n_samples, n_classes)
        The caller's array, untouched (not renormalised, maybe float32).
    codes : ndarray of shape (n_samples,)
        Given labels as column indices.
    sums : ndarray of shape (n_samples,)
        Row sums of ``pred_probs``: every probability below is divided by its row's sum.
    self_confidence : ndarray of shape (n_samples,)
        Probability of the given label.
    thresholds : ndarray of shape (n_classes,)
        Confident-learning threshold per class (see :func:`confident_thresholds`).
    argmax, max_prob : ndarray of shape (n_samples,)
        Predicted class (first maximum) and its probability.
    guess, counted : ndarray of shape (n_samples,)
        Confident-learning guess of the true class, and whether the example counts in the
        confident joint (some class reaches its threshold).
    kept : ndarray of shape (n_samples,) of bool
        The given label is the argmax after adding 1e-6 to it (cleanlab's
        ``_reduce_issues``); such examples are never flagged.
    max_other : ndarray of shape (n_samples,) or None
        Largest probability among the other classes than the given one.
    entropy : ndarray of shape (n_samples,) or None
        Entropy of each row divided by ``log(n_classes)``.
    """

    pred_probs: np.ndarray
    codes: np.ndarray
    sums: np.ndarray
    self_confidence: np.ndarray
    thresholds: np.ndarray
    argmax: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))
    max_prob: np.ndarray = field(default_factory=lambda: np.empty(0))
    guess: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))
    counted: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    kept: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    max_other: np.ndarray | None = None
    entropy: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        """Number of classes (columns)."""
        return int(self.pred_probs.shape[1])

    def blocks(self, index: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Cache-sized float64 blocks of the rows ``index`` (not normalised), with them."""
        return _blocks(self.pred_probs, index)

    def column(self, index: np.ndarray, col: int) -> np.ndarray:
        """Return the probabilities of class ``col`` for the examples ``index``."""
        return np.asarray(self.pred_probs[index, col], dtype=np.float64) / self.sums[index]


def encode_labels(
    labels: Any, n_classes: int, classes: Sequence[Any] | None, *, func: str
) -> tuple[np.ndarray, np.ndarray]:
    """Encode ``labels`` as column indices of ``pred_probs``.

    Integer labels without ``classes`` are column indices already (fast path, same
    rules as :func:`assay._validation.check_labels` with ``classes=range(n_classes)``);
    string labels without ``classes`` map to the sorted distinct labels.

    Returns
    -------
    codes : ndarray of shape (n_samples,), intp
    classes : ndarray of shape (n_classes,)
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise InputError(
            f"labels must be 1-d (one label per example); got an array of shape {arr.shape}."
        )
    if arr.size == 0:
        raise InputError("there are no labels; give at least one example per class.")
    if classes is None and arr.dtype.kind in "iu":
        if arr.min() >= 0 and arr.max() < n_classes:
            return arr.astype(np.intp, copy=False), np.arange(n_classes)
        classes = range(n_classes)
    codes, found = check_labels(arr, classes, func=func)
    if len(found) != n_classes:
        hint = "" if classes is not None else " (the sorted distinct labels)"
        raise InputError(
            f"there are {len(found)} classes{hint} but pred_probs has {n_classes} columns; "
            "pass classes= listing every class in pred_probs column order."
        )
    return codes.astype(np.intp, copy=False), found


def check_shape(pred_probs: Any, n_samples: int, func: str) -> np.ndarray:
    """Return ``pred_probs`` as a floating 2-d array with ``n_samples`` rows, or raise."""
    arr = np.asarray(pred_probs)
    if arr.dtype.kind not in "f" or arr.ndim != 2 or arr.shape[0] != n_samples:
        check_pred_probs(arr, n_samples=n_samples, func=func)  # raises with the shared message
        arr = np.asarray(arr, dtype=np.float64)
    if arr.shape[1] < 2:
        raise InputError(
            f"pred_probs has {arr.shape[1]} column; label issues need at least 2 classes."
        )
    return arr


def confident_thresholds(
    self_confidence: np.ndarray, codes: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Per-class thresholds: the mean self-confidence of the examples given each class.

    Parameters
    ----------
    self_confidence : ndarray of shape (n_samples,)
    codes : ndarray of shape (n_samples,)
    counts : ndarray of shape (n_classes,)
        Number of examples given each label.

    Returns
    -------
    ndarray of shape (n_classes,)
        Classes without examples get 2 (unreachable); all are at least 2e-6.
    """
    totals = np.bincount(codes, weights=self_confidence, minlength=len(counts))
    means = np.where(counts > 0, totals / np.maximum(counts, 1), _ABSENT_THRESHOLD)
    return np.clip(means, 2 * FLOAT_SLACK, None)


def _chunk_rows(arr: np.ndarray) -> int:
    """Rows per cache-sized block of ``arr``."""
    return max(256, _CHUNK_CELLS // arr.shape[1])


def _chunks(arr: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Cache-sized, C-contiguous float64 row blocks of ``arr`` with their slices."""
    step = _chunk_rows(arr)
    for start in range(0, len(arr), step):
        where = slice(start, min(start + step, len(arr)))
        yield where, np.ascontiguousarray(arr[where], dtype=np.float64)


def _check_chunk(chunk: np.ndarray, sums: np.ndarray) -> bool:
    """Whether a block is valid: row sums within tolerance of 1, nothing negative.

    NaN or inf anywhere in a row makes its sum NaN or inf, which fails the sum check, so
    no separate finiteness pass is needed.
    """
    sums_ok = bool((np.abs(sums - 1.0) <= PROBA_SUM_TOLERANCE).all())  # False for NaN
    return sums_ok and bool(chunk.min() >= 0)


def _scan_chunk(
    chunk: np.ndarray, codes: np.ndarray, sums: np.ndarray, base: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Self-confidence, argmax and its probability of one valid block.

    ``base`` holds the flat offsets of the rows (``arange(len(chunk)) * n_classes``). A
    row whose given label has probability above 1/2 (+1e-9: rows sum to 1 within 1e-15
    after renormalising) has that label as its strict argmax, so only the other rows are
    searched; when they are most of the block, the whole block is.
    """
    flat = chunk.ravel()
    self_conf = flat[base + codes] / sums
    look = np.flatnonzero(self_conf <= 0.5 + 1e-9)
    if 2 * len(look) > len(chunk):
        top = chunk.argmax(axis=1)
    else:
        top = codes.copy()
        top[look] = np.take(chunk, look, axis=0).argmax(axis=1)
    return self_conf, top, flat[base + top] / sums


def _first_pass(
    arr: np.ndarray, codes: np.ndarray, func: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The one full pass: validate; return row sums, self-confidences, argmax, max prob.

    Every block is read from memory once and all its work is done while it is in cache.
    """
    n = len(arr)
    sums, self_conf, max_prob = np.empty(n), np.empty(n), np.empty(n)
    top = np.empty(n, dtype=np.intp)
    ones = np.ones(arr.shape[1])
    base = np.arange(0, _chunk_rows(arr) * arr.shape[1], arr.shape[1])
    for where, chunk in _chunks(arr):
        part = np.matmul(chunk, ones, out=sums[where])
        if not _check_chunk(chunk, part):
            check_pred_probs(arr, n_samples=len(codes), func=func)  # raises the shared message
        self_conf[where], top[where], max_prob[where] = _scan_chunk(
            chunk, codes[where], part, base[: len(chunk)]
        )
    return sums, self_conf, top, max_prob


def _count_true(mask: np.ndarray) -> np.ndarray:
    """Per-row number of True values of a 2-d boolean mask (fast integer matvec)."""
    dtype = np.uint8 if mask.shape[1] < 256 else np.int64
    return mask.view(np.uint8).astype(dtype, copy=False) @ np.ones(mask.shape[1], dtype)


def _blocks(arr: np.ndarray, index: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cache-sized float64 blocks of the rows ``index`` of ``arr``, with their indices."""
    step = _chunk_rows(arr)
    for start in range(0, len(index), step):
        rows = index[start : start + step]
        yield rows, np.asarray(np.take(arr, rows, axis=0), dtype=np.float64)


def _may_reach(stats: RowStats, limits: np.ndarray) -> np.ndarray:
    """Rows whose argmax misses its threshold but where another class might reach its own.

    Every other probability of a row is at most ``min(max_prob, 1 - max_prob)`` (+1e-9
    for rounding), so only rows with ``max_prob`` in ``[min(limits), 1 - min(limits)]``
    (and below the largest threshold) can count without their argmax reaching its own.
    """
    low = limits.min()
    high = min(limits.max(), 1.0 - low + 1e-9)
    if high < low:
        return np.empty(0, dtype=np.intp)
    best = stats.max_prob
    band = np.flatnonzero((best >= low) & (best <= high))
    return band[~stats.counted[band]]


def _look_block(block: np.ndarray, stats: RowStats, rows: np.ndarray, limits: np.ndarray) -> None:
    """Fill ``guess`` and ``counted`` at ``rows``, whose argmax misses its threshold.

    Such an example counts only if some class reaches its threshold: its guess is that
    class if it is the only one, else the argmax (cleanlab's rule).
    """
    reached = block / stats.sums[rows, None] >= limits
    n_reached = _count_true(reached)
    stats.guess[rows] = np.where(n_reached > 1, stats.argmax[rows], reached.argmax(axis=1))
    stats.counted[rows] = n_reached > 0


def _scan_extras(chunk: np.ndarray, stats: RowStats, where: slice) -> None:
    """Fill the optional ``entropy`` / ``max_other`` of ``stats`` at ``where``."""
    norm = chunk / stats.sums[where, None]
    if stats.entropy is not None:
        logs = np.log(norm, where=norm > 0, out=np.zeros_like(norm))
        stats.entropy[where] = -np.einsum("ij,ij->i", norm, logs) / np.log(chunk.shape[1])
    if stats.max_other is not None:
        norm[np.arange(len(chunk)), stats.codes[where]] = -1.0
        stats.max_other[where] = norm.max(axis=1)


def _kept(
    self_conf: np.ndarray, max_prob: np.ndarray, top: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Whether the given label is the argmax once 1e-6 is added to its probability.

    cleanlab's ``_reduce_issues`` rule (first argmax wins ties), from row statistics.
    """
    boosted = self_conf + FLOAT_SLACK
    return (top == codes) | (boosted > max_prob) | ((boosted == max_prob) & (codes < top))


def scan_pred_probs(
    pred_probs: Any,
    codes: np.ndarray,
    counts: np.ndarray,
    *,
    margin: bool = False,
    entropy: bool = False,
    func: str = "find_label_issues",
    thresholds: np.ndarray | None = None,
) -> RowStats:
    """Validate ``pred_probs`` and compute the per-example statistics.

    One pass over cache-sized blocks validates the rows and takes the row sums,
    self-confidences and argmax (see :func:`_first_pass`). An example counts in the
    confident joint at its argmax when that reaches its class threshold; otherwise only
    if another class reaches its own, which only the few rows of :func:`_may_reach` can,
    so only those are looked at again.

    Parameters
    ----------
    pred_probs : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities; rows within 1e-4 of summing to 1 are
        renormalised, anything else raises :class:`~assay.exceptions.InputError`.
    codes : ndarray of shape (n_samples,)
        Given labels as column indices (see :func:`encode_labels`).
    counts : ndarray of shape (n_classes,)
        Number of examples given each label.
    margin, entropy : bool
        Also compute the largest other-class probability / the normalised entropy.
    thresholds : ndarray of shape (n_classes,), optional
        The class thresholds, when computed elsewhere (over every partition of a Dask
        array); by default from these rows (:func:`confident_thresholds`).

    Returns
    -------
    RowStats
    """
    arr = check_shape(pred_probs, len(codes), func)
    sums, self_conf, top, max_prob = _first_pass(arr, codes, func)
    stats = RowStats(
        arr,
        codes,
        sums,
        self_conf,
        confident_thresholds(self_conf, codes, counts) if thresholds is None else thresholds,
        argmax=top,
        max_prob=max_prob,
        max_other=np.empty(len(codes)) if margin else None,
        entropy=np.empty(len(codes)) if entropy else None,
    )
    limits = stats.thresholds - FLOAT_SLACK
    stats.counted = max_prob >= limits[top]  # the argmax reaches its threshold
    stats.guess = top.copy()
    for rows, block in _blocks(arr, _may_reach(stats, limits)):
        _look_block(block, stats, rows, limits)
    stats.kept = _kept(self_conf, max_prob, top, codes)
    if margin or entropy:
        for where, chunk in _chunks(arr):
            _scan_extras(chunk, stats, where)
    return stats


def decode_labels(classes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Map column indices back to the original label values."""
    if (
        classes.dtype.kind in "iu"
        and len(classes)
        and classes[0] == 0
        and (classes[-1] == len(classes) - 1)
    ):
        return codes.astype(classes.dtype)  # range(n_classes); a copy: codes may be labels
    return classes[codes]
