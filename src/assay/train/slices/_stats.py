"""Small statistics of the slice modules (discovered slices, embedding clusters).

One-sided tests of a slice's error rate against the overall rate, the interval of a
slice's mean error, and the Benjamini-Hochberg step-up adjustment.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from assay._stats import wilson_interval

__all__ = ["bh_adjust", "error_interval", "error_rate_pvalues"]


def error_interval(
    errors: np.ndarray, sizes: np.ndarray, sq_errors: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """95% interval of each slice's mean error.

    Parameters
    ----------
    errors, sizes : ndarray of shape (n_slices,)
        Per-slice sums of the errors and row counts.
    sq_errors : ndarray of shape (n_slices,), optional
        Per-slice sums of squared errors, for real-valued losses (a regression's
        absolute errors); None for 0/1 errors.

    Returns
    -------
    low, high : ndarray of shape (n_slices,)
        Wilson's interval of the rate for 0/1 errors; the normal interval of the mean
        (the slice's own standard deviation) for losses.
    """
    if sq_errors is None:
        return wilson_interval(errors, sizes)
    s = np.maximum(np.asarray(sizes, dtype=np.float64), 1)
    mean = np.asarray(errors, dtype=np.float64) / s
    var = np.maximum(np.asarray(sq_errors, dtype=np.float64) / s - mean**2, 0.0)
    half = 1.959963984540054 * np.sqrt(var / s)
    return mean - half, mean + half


def error_rate_pvalues(
    errors: np.ndarray,
    sizes: np.ndarray,
    overall_rate: float,
    *,
    sq_errors: np.ndarray | None = None,
    overall_var: float | None = None,
) -> np.ndarray:
    """One-sided p-values of "this slice's mean error is higher than the overall rate".

    For 0/1 errors (``sq_errors`` is None) the test is the exact binomial test
    ``P(X >= errors | sizes, overall_rate)``. For real-valued errors it is a one-sided
    z-test of the slice mean against ``overall_rate`` with the slice's own variance
    (``sq_errors`` are the per-slice sums of squared errors), falling back to
    ``overall_var`` for slices with zero variance.

    Parameters
    ----------
    errors : array of shape (n_slices,)
        Sum of the errors in each slice.
    sizes : array of shape (n_slices,)
        Number of rows in each slice.
    overall_rate : float
        Mean error over all rows.

    Returns
    -------
    ndarray of shape (n_slices,)
    """
    e = np.asarray(errors, dtype=np.float64)
    s = np.asarray(sizes, dtype=np.float64)
    if sq_errors is None:
        k = np.rint(e)
        return np.asarray(stats.binom.sf(k - 1, s, overall_rate), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = e / s
        var = np.asarray(sq_errors, dtype=np.float64) / s - mean**2
        var = np.where(var > 1e-12, var, overall_var if overall_var else 1e-12)
        z = (mean - overall_rate) / np.sqrt(var / np.maximum(s, 1))
    return np.asarray(stats.norm.sf(z), dtype=np.float64)


def bh_adjust(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), controlling the FDR.

    Parameters
    ----------
    pvalues : array of shape (n_tests,)
        NaN entries are ignored (left NaN) and do not count as tests.

    Returns
    -------
    ndarray of shape (n_tests,)
        ``q[i] <= level`` rejects at false-discovery rate ``level``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(q, 1.0)
    out[ok] = adjusted
    return out
