"""Ratio-level alpha without per-item integration columns (no bootstrap).

The point estimate of ratio alpha needs only the totals of the per-item features of
:func:`assay.collect._numeric.item_features`: the number of pairable values, the
within-item disagreement, the number of zeros, and at each node ``t`` of the
trapezoidal rule ``g(t) = sum_i t x_i e^{-t x_i}`` over every pairable value. The last
depends on the values only, not on their items, so it is computed once per distinct
value (weighted by its count), and each value is exponentiated only at the nodes where
``t x`` is between 0.5 and 45: below, a Taylor series on prefix moments of the sorted
values; above, the term is below 1e-17. About ``18 x n_distinct`` exponentials instead
of ``140 x n`` and an items x nodes matrix.
"""

from __future__ import annotations

import numpy as np

from assay.collect._numeric import NumericAnnotations, _log_nodes, _pair_ratio_sums

__all__ = ["ratio_totals"]

#: Below ``t x`` of this, ``e^{-t x}`` is summed by its Taylor series on prefix moments.
_SMALL = 0.5
#: Terms of that series (remainder below ``0.5^18 / 18!``, about 6e-22).
_TERMS = 18
#: Above ``t x`` of this, ``t x e^{-t x}`` (< 1e-17) is left out.
_LARGE = 45.0


def _prefix_moments(v: np.ndarray, w: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``M[j, k] = sum_{i < cuts[k]} w_i v_i^j``, shape (_TERMS, n_cuts).

    Summed by the segments between cut points, then accumulated over segments.
    """
    n = len(v)
    starts = np.r_[0, np.unique(cuts[(cuts > 0) & (cuts < n)])]
    at = np.searchsorted(np.r_[starts, n], cuts)  # exact: every cut is a segment edge
    out = np.zeros((_TERMS, len(cuts)))
    power = w.copy()
    for j in range(_TERMS):
        out[j] = np.r_[0.0, np.cumsum(np.add.reduceat(power, starts))][at]
        power *= v
    return out


def _node_sums(value: np.ndarray) -> np.ndarray:
    """``g(t) = sum_i t x_i exp(-t x_i)`` at each node of the rule, shape (n_nodes,).

    The ratio metric is scale-free, so values are divided by their largest first. At a
    node ``t`` the sorted distinct values fall in three runs: ``t x <= 0.5``, summed by
    the Taylor series of the exponential on prefix moments; ``0.5 < t x <= 45``, summed
    directly; larger, left out. Each value is exponentiated at ``log(90) / 0.25 ~ 18``
    nodes instead of every node (about 140).
    """
    uniq, count = np.unique(value, return_counts=True)
    if not len(uniq):
        return np.zeros(0)
    v = uniq / uniq[-1]
    w = v * count
    nodes = _log_nodes(v)
    small = np.searchsorted(v, _SMALL / nodes, side="right")
    large = np.searchsorted(v, _LARGE / nodes, side="right")
    moments = _prefix_moments(v, w, small)
    sums = np.zeros(len(nodes))
    coef = np.ones(len(nodes))
    for j in range(_TERMS):
        sums += coef * moments[j]
        coef *= -nodes / (j + 1)
    for k, t in enumerate(nodes):
        lo, hi = small[k], large[k]
        if hi > lo:
            sums[k] += w[lo:hi] @ np.exp(-t * v[lo:hi])
    return sums * nodes


def ratio_totals(enc: NumericAnnotations, pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The column sums of the ratio-level item features, shape (3 + n_nodes,).

    Parameters
    ----------
    enc : NumericAnnotations
        Non-negative values.
    pairs : (ndarray, ndarray)
        Row positions of the two annotations of every within-item pair.

    Returns
    -------
    ndarray
        ``[n, within, zeros, g(t_1), ..., g(t_K)]``, as ``w @ features`` with every
        item weighted 1 (see :func:`assay.collect._numeric.alpha_from_sums`).
    """
    m = enc.sizes().astype(np.float64)
    value = enc.value[m[enc.item] >= 2]
    within = 2.0 * _pair_ratio_sums(enc.item, enc.value, enc.n_items, pairs)
    within = np.where(m >= 2, within / np.maximum(m - 1, 1), 0.0)
    positive = value[value > 0]
    g = _node_sums(positive)
    return np.concatenate([[float(m[m >= 2].sum()), float(within.sum()),
                            float((value == 0).sum())], g])
