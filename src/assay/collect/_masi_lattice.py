"""Expected MASI disagreement over every pair of label sets, on the subset lattice.

Krippendorff's expected disagreement under MASI needs ``sum_ab n_a n_b d(a, b)`` over
every pair of distinct label sets ``a, b`` (``n_a``: how often set ``a`` was given). On
random tags there are thousands of distinct sets, so the pairwise sum is quadratic.
But ``d(a, b) = 1 - J M`` depends only on ``i = |a & b|``, ``|a|`` and ``|b|`` (``a``
contains ``b`` exactly when ``i = |b|``), so it is enough to know, for every
``(i, s, t)``, the weight ``H[i, s, t]`` of the pairs of sets of sizes ``s, t`` that
share ``i`` labels.

With ``L`` labels in use (``L <= 20``), the superset sums (zeta transform) ``Z_s(T) =
sum_{a >= T, |a| = s} n_a`` cost ``O(L^2 2^L)``, and ``G[k, s, t] = sum_{|T| = k} Z_s(T)
Z_t(T) = sum_i C(i, k) H[i, s, t]`` (every common subset of size ``k`` of a pair
counted once), a matrix product per ``k``. Binomial inversion, ``H[i] = sum_k (-1)^(k -
i) C(k, i) G[k]``, is done on exact integers (Python ``int``), so the result is exact
up to the final floating-point sum ``sum H f`` of ``(L + 1)^3`` terms.
"""

from __future__ import annotations

from math import comb

import numpy as np

__all__ = ["MAX_LATTICE_LABELS", "compact_masks", "expected_masi_lattice", "lattice_fits"]

#: Largest number of labels in use for which the lattice is used.
MAX_LATTICE_LABELS = 20
_WORD_BITS = 62


def compact_masks(sets: np.ndarray, n_labels: int, max_used: int = MAX_LATTICE_LABELS
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct sets as bit masks over the labels in use, or None if too many.

    Parameters
    ----------
    sets : ndarray of shape (n_sets, n_words), int64
        Label ``j`` is bit ``j % 62`` of word ``j // 62``.
    n_labels : int
    max_used : int, default :data:`MAX_LATTICE_LABELS` (at most 62)

    Returns
    -------
    (masks, used) or None
        ``masks`` of shape (n_sets,), int64, bit ``r`` for label ``used[r]``; ``used``
        the labels in use, ascending. None when more than ``max_used`` are in use.
    """
    found: list[int] = []
    for w in range(sets.shape[1]):
        word = int(np.bitwise_or.reduce(sets[:, w])) if len(sets) else 0
        found += [w * _WORD_BITS + b for b in range(_WORD_BITS) if (word >> b) & 1]
    used = np.array([j for j in found if j < n_labels], dtype=np.int64)
    if len(used) > max_used:
        return None
    masks = np.zeros(len(sets), dtype=np.int64)
    for r, j in enumerate(used.tolist()):
        masks |= ((sets[:, j // _WORD_BITS] >> (j % _WORD_BITS)) & 1) << r
    return masks, used


def lattice_fits(n_used: int, n_sets: int, total: float) -> bool:
    """Whether the lattice is cheaper than the pairs and its integers fit in int64.

    ``total`` bounds the number of annotations (``sum n_a``) of any weighting.
    """
    cheaper = n_sets * n_sets > 4 * (n_used + 1) ** 2 * 2**n_used
    fits = total * total * comb(n_used, n_used // 2) < 2.0**62
    return n_used <= MAX_LATTICE_LABELS and cheaper and fits


def _similarity(n_used: int) -> np.ndarray:
    """``1 - d`` for intersection ``i`` and sizes ``s, t``, shape (L+1, L+1, L+1)."""
    i, s, t = np.meshgrid(*(np.arange(n_used + 1.0),) * 3, indexing="ij")
    union = s + t - i
    monotone = np.where((i == s) & (i == t), 1.0,
                        np.where(i == np.minimum(s, t), 2.0 / 3.0, np.where(i > 0, 1.0 / 3.0, 0.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(union > 0, i / np.where(union > 0, union, 1.0) * monotone, 1.0)
    possible = (i <= np.minimum(s, t)) & (union <= n_used)
    return np.where(possible, sim, 0.0)


def _superset_sums(z: np.ndarray, n_used: int) -> None:
    """In place, ``z[..., T] = sum_{U >= T} z[..., U]`` over the last axis (2^L)."""
    lead = z.shape[:-1]
    for j in range(n_used):
        view = z.reshape(*lead, 2 ** (n_used - j - 1), 2, 2**j)
        view[..., 0, :] += view[..., 1, :]


def _common_subsets(counts: np.ndarray, masks: np.ndarray, n_used: int) -> np.ndarray:
    """``G[b, k, s, t]``: weighted pairs' common subsets of size ``k``, int64."""
    full = 1 << n_used
    size = np.bitwise_count(masks).astype(np.int64)
    b = len(counts)
    z = np.zeros((b, n_used + 1, full), dtype=np.int64)
    z[:, size, masks] = counts
    _superset_sums(z, n_used)
    popcount = np.bitwise_count(np.arange(full, dtype=np.int64))
    g = np.zeros((b, n_used + 1, n_used + 1, n_used + 1), dtype=np.int64)
    exact_float = float(counts.sum(axis=1).max(initial=0.0)) ** 2 * comb(
        n_used, n_used // 2) < 2.0**52
    for k in range(n_used + 1):
        zk = z[:, :, popcount == k]
        if exact_float:
            zf = zk.astype(np.float64)
            g[:, k] = np.rint(zf @ zf.transpose(0, 2, 1)).astype(np.int64)
        else:
            g[:, k] = zk @ zk.transpose(0, 2, 1)
    return g


def expected_masi_lattice(masks: np.ndarray, n_used: int, counts: np.ndarray) -> np.ndarray:
    """``sum_ab n_a n_b d(a, b)`` (MASI distance) for each row ``n`` of ``counts``.

    Parameters
    ----------
    masks : ndarray of shape (n_sets,), int64
        Distinct sets (no mask twice) as bit masks over ``n_used`` labels (see
        :func:`compact_masks`).
    n_used : int
    counts : ndarray of shape (b, n_sets)
        Whole-number weights of the sets (annotation counts, or bootstrap re-weightings).

    Returns
    -------
    ndarray of shape (b,)
    """
    counts = np.rint(np.asarray(counts, dtype=np.float64)).astype(np.int64)
    step = max(1, 4_000_000 // ((n_used + 1) << n_used))  # ~32 MB of superset sums
    g = np.concatenate([_common_subsets(counts[lo:lo + step], masks, n_used)
                        for lo in range(0, len(counts), step)]).astype(object)
    inverse = np.array([[(-1) ** (k - i) * comb(k, i) for k in range(n_used + 1)]
                        for i in range(n_used + 1)], dtype=object)  # (i, k)
    h = np.tensordot(g, inverse, axes=([1], [1]))  # (b, s, t, i), exact integers
    h = np.moveaxis(h, -1, 1).astype(np.float64)  # (b, i, s, t)
    total = counts.sum(axis=1).astype(np.float64)
    similar = np.einsum("bist,ist->b", h, _similarity(n_used))
    return total * total - similar
