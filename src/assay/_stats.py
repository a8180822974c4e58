"""Interval statistics shared by the engines (ground layer: numpy and scipy only).

* :func:`wilson_interval`: the Wilson score interval of a binomial proportion,
  vectorised, with the formulas of ``scipy.stats.binomtest(...).proportion_ci(
  method="wilson")`` (Newcombe 1998). With no trials (``n == 0``) the interval is
  ``(0, 1)``: nothing is known about the proportion, so the interval is the whole
  range of it (the uninformative interval), never NaN.
* :func:`bootstrap_indices` and :func:`percentile_interval`: the percentile bootstrap,
  resampling items in chunks to bound memory.

Every interval is two-sided; ``confidence`` is its level (0.95 for a 95% interval).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import special

__all__ = ["bootstrap_indices", "percentile_interval", "wilson_interval"]

_CHUNK_ELEMENTS = 2_000_000


def wilson_interval(successes: Any, n: Any, *, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval of a binomial proportion ``successes / n``.

    Parameters
    ----------
    successes : float or array-like
        Number of successes (may be fractional, e.g. weighted counts).
    n : float or array-like
        Number of trials, broadcast against ``successes``; where ``n == 0`` the
        interval is ``(0, 1)``.
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    low, high : float, or ndarrays of the broadcast shape
        Floats when both ``successes`` and ``n`` are scalars.
    """
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    z = float(special.ndtri(0.5 + 0.5 * confidence))
    has = m > 0
    safe = np.where(has, m, 1.0)
    p = k / safe
    denom = 2 * (safe + z**2)
    centre = (2 * safe * p + z**2) / denom
    delta = z / denom * np.sqrt(np.clip(4 * safe * p * (1 - p), 0.0, None) + z**2)
    low = np.where(has & (k > 0), np.clip(centre - delta, 0.0, 1.0), 0.0)
    high = np.where(has & (k < m), np.clip(centre + delta, 0.0, 1.0), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def bootstrap_indices(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Resampled item indices, ``n_boot`` resamples of ``n`` items in all.

    Parameters
    ----------
    n : int
        Number of items.
    n_boot : int
        Number of resamples.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Yields
    ------
    ndarray of shape (chunk, n)
        Chunks of at most about two million indices.
    """
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // max(n, 1))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


def percentile_interval(values: np.ndarray, *, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates.

    Parameters
    ----------
    values : ndarray
        Replicates of a statistic; NaN and infinite ones are left out.
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    low, high : float
        The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (linear
        interpolation); ``(nan, nan)`` when no replicate is finite.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)
