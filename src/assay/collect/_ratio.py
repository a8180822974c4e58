"""Ratio-level alpha without per-item integration columns (no bootstrap).

The point estimate of ratio alpha needs only the totals of the per-item features of
:func:`assay.collect._numeric.item_features`: the number of pairable values, the
within-item disagreement, the number of zeros, and at each node ``t`` of the
trapezoidal rule ``g(t) = sum_i t x_i e^{-t x_i}`` over every pairable value. The last
depends on the values only, not on their items, so it is computed once per distinct
value (weighted by its count): ``O(n_distinct x n_nodes)`` instead of ``O(n x
n_nodes)`` plus a scatter into an items x nodes matrix.
"""

from __future__ import annotations

import numpy as np

from assay.collect._numeric import NumericAnnotations, _log_nodes, _pair_ratio_sums

__all__ = ["ratio_totals"]

#: Distinct values per block of the (values x nodes) exponential.
_BLOCK = 50_000


def _node_sums(value: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """``g(t) = sum_i t x_i exp(-t x_i)`` at each node, shape (n_nodes,)."""
    uniq, count = np.unique(value, return_counts=True)
    weight = uniq * count
    out = np.zeros(len(nodes))
    for lo in range(0, len(uniq), _BLOCK):
        u = uniq[lo:lo + _BLOCK, None] * nodes[None, :]
        out += weight[lo:lo + _BLOCK] @ np.exp(-u)
    return out * nodes


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
    g = _node_sums(positive, _log_nodes(positive))
    return np.concatenate([[float(m[m >= 2].sum()), float(within.sum()),
                            float((value == 0).sum())], g])
