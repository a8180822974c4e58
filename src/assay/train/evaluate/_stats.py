"""Interval and test statistics behind :mod:`assay.train.evaluate`.

- Macro F1 and balanced accuracy of many bootstrap resamples at once. Both depend on
  the items only through the confusion matrix, so each resample (drawn by
  :func:`assay._stats.bootstrap_indices`) is reduced to its confusion matrix with one
  ``bincount``. Wilson and percentile intervals live in :mod:`assay._stats`.
- McNemar's exact test (and its mid-p variant) on paired correctness.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "balanced_accuracy_from_confusion",
    "confusions",
    "macro_f1_from_confusion",
    "mcnemar",
]


def confusions(y_true: np.ndarray, y_pred: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices of resamples.

    Parameters
    ----------
    y_true, y_pred : arrays of shape (n_samples,), int codes in [0, k)
    idx : array of shape (n_resamples, n_samples)
        Resampled item indices.
    k : int
        Number of classes.

    Returns
    -------
    ndarray of shape (n_resamples, k, k)
        Rows are true classes, columns predicted classes.
    """
    cells = y_true[idx] * k + y_pred[idx]
    offsets = np.arange(idx.shape[0])[:, None] * (k * k)
    counts = np.bincount((cells + offsets).ravel(), minlength=idx.shape[0] * k * k)
    return counts.reshape(idx.shape[0], k, k)


def macro_f1_from_confusion(cm: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Macro F1 over ``labels`` (scikit-learn's zero_division=0) of (..., k, k) matrices."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    fp = cm.sum(axis=-2) - tp
    fn = cm.sum(axis=-1) - tp
    denom = 2 * tp + fp + fn
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)
    return np.asarray(f1[..., labels].mean(axis=-1))


def balanced_accuracy_from_confusion(cm: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean recall over ``labels`` (classes with support) of (..., k, k) matrices.

    A class with no support in a resample is left out of that resample's mean.
    """
    tp = np.diagonal(cm, axis1=-2, axis2=-1)[..., labels].astype(np.float64)
    support = cm.sum(axis=-1)[..., labels].astype(np.float64)
    recall = np.divide(tp, support, out=np.full(tp.shape, np.nan), where=support > 0)
    with np.errstate(all="ignore"):
        return np.asarray(np.nanmean(recall, axis=-1))


def mcnemar(only_a: int, only_b: int) -> tuple[float, float]:
    """McNemar's exact two-sided p-value and mid-p value.

    Parameters
    ----------
    only_a : int
        Items that model A got right and model B got wrong.
    only_b : int
        Items that model B got right and model A got wrong.

    Returns
    -------
    p_exact, p_mid : float
        The exact binomial test of ``only_a`` out of ``only_a + only_b`` at 1/2, and the
        mid-p value (the exact value minus the point probability of the observed split).
    """
    n = int(only_a + only_b)
    if n == 0:
        return 1.0, 1.0
    low = min(only_a, only_b)
    two_tails = 2.0 * float(stats.binom.cdf(low, n, 0.5))
    p_mid = two_tails - float(stats.binom.pmf(low, n, 0.5))
    return min(1.0, two_tails), float(min(1.0, max(0.0, p_mid)))
