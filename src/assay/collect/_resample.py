"""Item bootstrap of statistics that are functions of sums over items.

A replicate re-weights the ``m`` items by multinomial counts ``w`` (a resample of the
items with replacement); a statistic that is a function of ``w @ F`` for a per-item
feature matrix ``F`` is then one matrix product per block of replicates. ``F`` may be
too wide to hold for every item at once (one column per integration node at the ratio
level), so it is requested by blocks of items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["bootstrap_interval", "item_weights"]


def item_weights(rng: np.random.Generator, b: int, m: int) -> np.ndarray:
    """Multinomial counts of ``b`` resamples of ``m`` items, shape (b, m), float64."""
    draws = rng.integers(0, m, size=(b, m)) + (np.arange(b) * m)[:, None]
    return np.bincount(draws.ravel(), minlength=b * m).reshape(b, m).astype(np.float64)


def _times(w: np.ndarray, block: Any) -> np.ndarray:
    """``w @ block`` for a dense or sparse ``block``, as a dense array."""
    if sparse.issparse(block):
        return np.asarray((block.T @ w.T).T)
    return np.asarray(w @ block)


def bootstrap_interval(
    m: int,
    features: Callable[[int, int], Any],
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_boot: int,
    seed: int,
    width: int,
) -> tuple[float, float]:
    """Percentile 95% interval of ``statistic(w @ F)`` over ``n_boot`` item resamples.

    Parameters
    ----------
    m : int
        Number of items.
    features : callable (start, stop) -> array of shape (stop - start, width)
        Feature rows of items ``start..stop-1``, dense or a scipy sparse matrix.
    statistic : callable, ndarray of shape (b, width) -> ndarray of shape (b,)
    n_boot, seed : int
    width : int
        Number of feature columns (to size the blocks, about 20 million numbers each).

    Returns
    -------
    (low, high)
        NaN when no replicate gives a finite value.
    """
    if m == 0:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    chunk = int(max(1, min(200, 20_000_000 // max(m, 1))))
    rows = int(max(1, min(m, 20_000_000 // max(width, 1))))
    whole = features(0, m) if rows >= m else None
    draws = []
    for start in range(0, n_boot, chunk):
        w = item_weights(rng, min(chunk, n_boot - start), m)
        if whole is not None:
            sums = _times(w, whole)
        else:
            sums = np.zeros((len(w), width))
            for lo in range(0, m, rows):
                hi = min(m, lo + rows)
                sums += _times(w[:, lo:hi], features(lo, hi))
        draws.append(statistic(sums))
    values = np.concatenate(draws)
    values = values[np.isfinite(values)]
    if not len(values):
        return (np.nan, np.nan)
    return (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
