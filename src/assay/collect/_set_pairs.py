"""Per-label counts over pairs of label-set annotations, on bit masks.

For every annotator pair ``p`` and label ``l``: how many of their shared items both
tagged ``l`` (``n11``), the first did (``na``), the second did (``nb``); and, over all
pairs, how often one annotator gave ``x`` without ``y`` and the other ``y`` without ``x``
(``swaps``). With at most 62 labels in use each set is one int64 bit mask, so the masks
of the pairs (``a & b``, ``a & ~b``, ``b & ~a``) are a few integer operations, and each
table is a count by (annotator pair, distinct mask) times the masks' 0/1 label matrix,
in ``O(n_pairs + n_masks x n_labels)`` instead of sparse products over every pair.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from assay.collect._masi_lattice import compact_masks

__all__ = ["pair_label_counts"]

_MAX_BITS = 62
#: Cells of a dense (annotator pairs x distinct masks) count table.
_MAX_DENSE = 20_000_000


def _bits(masks: np.ndarray, n_used: int) -> np.ndarray:
    """0/1 label matrix of bit masks, shape (n_masks, n_used), float64."""
    return ((masks[:, None] >> np.arange(n_used, dtype=np.int64)) & 1).astype(np.float64)


def _per_group(group: np.ndarray, n_groups: int, masks: np.ndarray, n_used: int) -> np.ndarray:
    """``sum`` of the label rows of ``masks`` within each group, shape (n_groups, n_used)."""
    if n_groups << n_used <= _MAX_DENSE:  # every possible mask a column: no hashing
        table = np.bincount((group << n_used) | masks, minlength=n_groups << n_used)
        every = np.arange(1 << n_used, dtype=np.int64)
        return table.reshape(n_groups, -1).astype(np.float64) @ _bits(every, n_used)
    codes, uniques = pd.factorize(masks)
    u = len(uniques)
    if n_groups * u <= _MAX_DENSE:
        table = np.bincount(group * u + codes, minlength=n_groups * u).reshape(n_groups, u)
        return table.astype(np.float64) @ _bits(np.asarray(uniques), n_used)
    sums = sparse.csr_matrix((np.ones(len(codes)), (group, codes)), shape=(n_groups, u))
    return np.asarray(sums @ _bits(np.asarray(uniques), n_used))


def _swaps(only_a: np.ndarray, only_b: np.ndarray, n_used: int) -> np.ndarray:
    """``sum over pairs of outer(only_a, only_b)``, shape (n_used, n_used)."""
    both = (only_a != 0) & (only_b != 0)  # the other pairs swap nothing
    only_a, only_b = only_a[both], only_b[both]
    if 2 * n_used <= _MAX_BITS:  # one key per (only_a, only_b), counted once
        codes, keys = pd.factorize((only_a << n_used) | only_b)
        keys = np.asarray(keys)
        count = np.bincount(codes, minlength=len(keys)).astype(np.float64)
        low = (np.int64(1) << n_used) - 1
        return (_bits(keys >> n_used, n_used) * count[:, None]).T @ _bits(keys & low, n_used)
    ca, ua = pd.factorize(only_a)
    cb, ub = pd.factorize(only_b)
    table = sparse.csr_matrix((np.ones(len(ca)), (ca, cb)), shape=(len(ua), len(ub)))
    return _bits(np.asarray(ua), n_used).T @ np.asarray(table @ _bits(np.asarray(ub), n_used))


def pair_label_counts(
    sets: np.ndarray, n_labels: int, code_a: np.ndarray, code_b: np.ndarray,
    group: np.ndarray, n_groups: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Per-label counts of annotation pairs, by annotator pair.

    Parameters
    ----------
    sets : ndarray of shape (n_sets, n_words), int64
        The distinct sets as bit words (see :class:`assay.collect._sets.SetAnnotations`).
    n_labels : int
    code_a, code_b : ndarray of shape (n_pairs,)
        Set codes of the two annotations of each pair.
    group : ndarray of shape (n_pairs,)
        Annotator-pair number of each pair, ``0..n_groups-1``.
    n_groups : int

    Returns
    -------
    (n11, na, nb, swaps) or None
        ``n11, na, nb`` of shape (n_groups, n_labels); ``swaps`` of shape (n_labels,
        n_labels), ``swaps[x, y]`` = pairs in which the first gave ``x`` without ``y``
        and the second ``y`` without ``x``. None when more than 62 labels are in use.
    """
    compact = compact_masks(sets, n_labels, max_used=_MAX_BITS)
    if compact is None:
        return None
    masks, used = compact
    n_used = len(used)
    ma, mb = masks[code_a], masks[code_b]
    tables = [_per_group(group, n_groups, m, n_used) for m in (ma & mb, ma, mb)]
    swaps = _swaps(ma & ~mb, mb & ~ma, n_used)
    out = []
    for table in tables:
        full = np.zeros((n_groups, n_labels))
        full[:, used] = table
        out.append(full)
    full_swaps = np.zeros((n_labels, n_labels))
    full_swaps[np.ix_(used, used)] = swaps
    return out[0], out[1], out[2], full_swaps
