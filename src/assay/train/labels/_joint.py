"""The confident joint of confident learning (Northcutt, Jiang & Chuang, JAIR 2021).

The confident joint ``C[i, j]`` counts the examples given label ``i`` whose predicted
probability of class ``j`` reaches class ``j``'s threshold (the mean self-confidence of
the examples labelled ``j``). The rules follow cleanlab 2.x exactly, so that the counts can
be checked against it, but they are computed with ``bincount`` from the row statistics
of :mod:`assay.train.labels._stats`.
"""

from __future__ import annotations

import numpy as np

from assay._validation import warn
from assay.train.labels._stats import RowStats

__all__ = [
    "calibrate_joint",
    "confident_joint",
    "round_preserving_row_totals",
    "warn_empty_classes",
]


def confident_joint(stats: RowStats, counts: np.ndarray | None = None) -> np.ndarray:
    """Uncalibrated confident joint, of shape (n_classes, n_classes), rows = given labels.

    Counts the examples where some class reaches its threshold, at (given label, guessed
    true class); diagonal entries are at least 1 (as in cleanlab). ``counts`` (examples
    given each label) saves a pass over the labels when the caller has it.
    """
    k, codes = stats.n_classes, stats.codes
    if counts is None:
        counts = np.bincount(codes, minlength=k)
    odd = np.flatnonzero((stats.guess != codes) | ~stats.counted)  # few, usually
    joint = np.diag(counts - np.bincount(codes[odd], minlength=k))
    counted = odd[stats.counted[odd]]
    joint += np.bincount(codes[counted] * k + stats.guess[counted], minlength=k * k).reshape(k, k)
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    return joint


def calibrate_joint(joint: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rescale each row to its label count, then round keeping the row totals.

    Parameters
    ----------
    joint : ndarray of shape (n_classes, n_classes)
    counts : ndarray of shape (n_classes,)

    Returns
    -------
    ndarray of shape (n_classes, n_classes) of int
        Row ``i`` sums to ``counts[i]``, the whole to ``counts.sum()``.
    """
    rows = joint.sum(axis=1)
    scaled = joint / np.clip(rows, 1e-100, None)[:, None] * counts[:, None]
    scaled = scaled / np.clip(scaled.sum(), 1e-100, None) * counts.sum()
    return round_preserving_row_totals(scaled)


def round_preserving_row_totals(matrix: np.ndarray) -> np.ndarray:
    """Round every row to integers whose sum is the row's rounded sum.

    The largest remainders are rounded up (down) until the totals match, as in cleanlab's
    ``round_preserving_sum``, vectorised over rows.
    """
    floats = np.asarray(matrix, dtype=np.float64)
    ints = np.round(floats)
    deficit = (np.round(floats.sum(axis=1)) - ints.sum(axis=1)).astype(np.int64)
    if not deficit.any():
        return ints.astype(np.int64)
    for row in np.flatnonzero(deficit):
        step = 1 if deficit[row] > 0 else -1
        order = np.argsort(floats[row] - ints[row])[::-step]
        ints[row, order[: abs(deficit[row])]] += step
    return ints.astype(np.int64)


def warn_empty_classes(counts: np.ndarray) -> None:
    """Warn about classes without examples (they are kept, with an unreachable threshold)."""
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        warn(
            f"{len(empty)} class(es) have no examples (columns {empty[:10].tolist()}); "
            "they are kept with no threshold, so nothing is counted as truly that class."
        )
