"""Input checks and the one streaming pass over ``pred_probs`` behind label issues.

Everything confident learning needs per example (the self-confidence, the argmax, its
probability, the row sum for renormalisation) comes out of a single pass over the rows in
cache-sized chunks, so that no ``(n_samples, n_classes)`` temporary is ever allocated. The
input is never copied or cast as a whole: rows are renormalised (and float32 rows promoted
to float64) chunk by chunk, and :meth:`RowStats.rows` returns the normalised rows of a
subset on demand.

When the fast checks find anything wrong, the canonical checks of
:mod:`assay._validation` run on the whole input, so every message is the shared one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay._validation import PROBA_SUM_TOLERANCE, check_labels, check_pred_probs
from assay.exceptions import InputError

__all__ = ["RowStats", "encode_labels", "scan_pred_probs"]

#: Rows per chunk of the streaming pass: 8,192 rows x 10 classes x 8 bytes = 640 kB.
_CHUNK_CELLS = 1 << 16
#: Fuzzy-equality slack of confident learning (same value as cleanlab's).
FLOAT_SLACK = 1e-6


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
        Row sums of ``pred_probs`` (1 after renormalisation).
    self_confidence : ndarray of shape (n_samples,)
        Normalised probability of the given label.
    argmax : ndarray of shape (n_samples,)
        Predicted class (first maximum).
    max_prob : ndarray of shape (n_samples,)
        Normalised probability of the predicted class.
    max_other : ndarray of shape (n_samples,) or None
        Largest normalised probability among the other classes than the given one.
    entropy : ndarray of shape (n_samples,) or None
        Entropy of each normalised row divided by ``log(n_classes)``.
    """

    pred_probs: np.ndarray
    codes: np.ndarray
    sums: np.ndarray
    self_confidence: np.ndarray
    argmax: np.ndarray
    max_prob: np.ndarray
    max_other: np.ndarray | None = None
    entropy: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        """Number of classes (columns)."""
        return int(self.pred_probs.shape[1])

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Return the normalised float64 rows ``index`` of shape (len(index), n_classes)."""
        block = np.asarray(self.pred_probs[index], dtype=np.float64)
        return block / self.sums[index, None]

    def column(self, index: np.ndarray, col: int) -> np.ndarray:
        """Return normalised column ``col`` of the rows ``index``."""
        return np.asarray(self.pred_probs[index, col], dtype=np.float64) / self.sums[index]

    def label_kept(self) -> np.ndarray:
        """Mask of examples whose given label is the argmax, allowing a 1e-6 slack.

        The same rule as cleanlab's ``_reduce_issues``: add the slack to the given label's
        probability and take the first argmax. Computed from the row statistics alone.
        """
        boosted = self.self_confidence + FLOAT_SLACK
        return (self.argmax == self.codes) | (boosted > self.max_prob) | (
            (boosted == self.max_prob) & (self.codes < self.argmax)
        )


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
    if classes is None and arr.dtype.kind in "iu" and arr.size:
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


def _check_shape(pred_probs: Any, n_samples: int, func: str) -> np.ndarray:
    arr = np.asarray(pred_probs)
    if arr.dtype.kind not in "f" or arr.ndim != 2 or arr.shape[0] != n_samples:
        check_pred_probs(arr, n_samples=n_samples, func=func)  # raises with the shared message
        arr = np.asarray(arr, dtype=np.float64)
    if arr.shape[1] < 2:
        raise InputError(
            f"pred_probs has {arr.shape[1]} column; label issues need at least 2 classes."
        )
    return arr


def _chunk_stats(
    chunk: np.ndarray, codes: np.ndarray, margin: bool, entropy: bool
) -> tuple[np.ndarray, ...]:
    """Statistics of one chunk; ``bad`` is True when the chunk fails a fast check."""
    sums = chunk @ np.ones(chunk.shape[1])
    bad = not (np.isfinite(sums).all() and chunk.min() >= 0)
    bad = bad or bool(np.any(np.abs(sums - 1.0) > PROBA_SUM_TOLERANCE))
    rows = np.arange(len(chunk))
    top = chunk.argmax(axis=1)
    self_conf = chunk[rows, codes] / sums
    max_prob = chunk[rows, top] / sums
    extras: list[np.ndarray] = []
    if margin or entropy:
        norm = chunk / sums[:, None]
        if entropy:
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.log(norm, where=norm > 0, out=np.zeros_like(norm))
            extras.append(-np.einsum("ij,ij->i", norm, logs) / np.log(chunk.shape[1]))
        if margin:
            norm[rows, codes] = -1.0
            extras.append(norm.max(axis=1))
    return (np.array(bad), sums, self_conf, top, max_prob, *extras)


def scan_pred_probs(
    pred_probs: Any,
    codes: np.ndarray,
    *,
    margin: bool = False,
    entropy: bool = False,
    func: str = "find_label_issues",
) -> RowStats:
    """Validate ``pred_probs`` and compute the per-example statistics in one pass.

    Parameters
    ----------
    pred_probs : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities; rows within 1e-4 of summing to 1 are
        renormalised, anything else raises :class:`~assay.exceptions.InputError`.
    codes : ndarray of shape (n_samples,)
        Given labels as column indices (see :func:`encode_labels`).
    margin, entropy : bool
        Also compute the largest other-class probability / the normalised entropy.

    Returns
    -------
    RowStats
    """
    arr = _check_shape(pred_probs, len(codes), func)
    step = max(256, _CHUNK_CELLS // arr.shape[1])
    parts: list[tuple[np.ndarray, ...]] = []
    for start in range(0, len(arr), step):
        chunk = np.asarray(arr[start : start + step], dtype=np.float64)
        part = _chunk_stats(chunk, codes[start : start + step], margin, entropy)
        if part[0]:
            check_pred_probs(arr, n_samples=len(codes), func=func)  # raises the shared message
        parts.append(part[1:])
    cols = [np.concatenate(c) if parts else np.empty(0) for c in zip(*parts, strict=True)]
    extra = iter(cols[4:])
    return RowStats(
        pred_probs=arr,
        codes=codes,
        sums=cols[0],
        self_confidence=cols[1],
        argmax=cols[2].astype(np.intp, copy=False),
        max_prob=cols[3],
        entropy=next(extra) if entropy else None,
        max_other=next(extra) if margin else None,
    )
