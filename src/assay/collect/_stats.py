"""Vectorised agreement statistics on encoded annotations.

Everything here works on integer codes (see
:class:`~assay.collect.annotations.EncodedAnnotations`) and on the sparse item x class
count matrix ``C`` (``C[i, c]`` = number of annotators who gave class ``c`` to item
``i``). Scalar statistics take per-item weights ``w`` so that the bootstrap can reuse
them (a bootstrap replicate is a multinomial re-weighting of the items).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = [
    "Pairs",
    "pair_index",
    "alpha_distance",
    "annotation_pairs",
    "coincidences",
    "count_pairs",
    "item_agreement",
    "leave_one_out",
    "pair_confusions",
    "scalar_stats",
]


@dataclass(frozen=True)
class Pairs:
    """All unordered pairs of annotations of the same item by different annotators.

    ``ann_a < ann_b`` for every pair; ``lab_a``/``lab_b`` are their labels.
    """

    item: np.ndarray
    ann_a: np.ndarray
    ann_b: np.ndarray
    lab_a: np.ndarray
    lab_b: np.ndarray


#: Pairs written per block: the block's temporaries stay under glibc's 32 MiB mmap
#: threshold, so they reuse freed memory instead of pages the kernel must zero afresh
#: (at 10M annotations fresh pages made the enumeration's time grow with exponent 1.3).
_PAIR_BLOCK = 1 << 20


def annotation_pairs(item: np.ndarray, annotator: np.ndarray, label: np.ndarray) -> Pairs:
    """Enumerate, without a Python loop over items, every within-item pair of annotations.

    Pairs come offset by offset: every annotation with the one after it in its item,
    then with the one two after, and so on; the outputs are allocated once and filled
    block by block.

    Parameters
    ----------
    item, annotator, label : ndarray of shape (n_annotations,), int64
        Codes; each (item, annotator) appears at most once.

    Returns
    -------
    Pairs
        ``sum_i n_i (n_i - 1) / 2`` pairs.
    """
    it, an, lb = _by_item(item, annotator, label)
    sizes = np.bincount(it) if len(it) else np.zeros(0, dtype=np.int64)
    after = np.cumsum(sizes)[it] - np.arange(1, len(it) + 1)  # annotations after k in its item
    total = int((sizes * (sizes - 1) // 2).sum())
    pairs = Pairs(*(np.empty(total, dtype=x.dtype) for x in (it, an, an, lb, lb)))
    start, offset = 0, 1
    first = np.flatnonzero(after >= 1)
    while len(first):
        for block in range(0, len(first), _PAIR_BLOCK):
            start = _write_pairs(pairs, start, first[block:block + _PAIR_BLOCK], offset,
                                 (it, an, lb))
        offset += 1
        first = first[after[first] >= offset]
    return pairs


def _by_item(
    item: np.ndarray, annotator: np.ndarray, label: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The annotations sorted by item (stable; as given when they already are)."""
    if len(item) < 2 or bool(np.all(item[1:] >= item[:-1])):
        return item, annotator, label
    order = np.argsort(item, kind="stable")
    return item[order], annotator[order], label[order]


def _write_pairs(
    pairs: Pairs,
    start: int,
    first: np.ndarray,
    offset: int,
    codes: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> int:
    """Write the pairs (``first[j]``, ``first[j] + offset``) from row ``start`` of
    ``pairs``, the lower annotator code first; returns the next free row."""
    it, an, lb = codes
    second = first + offset
    rows = slice(start, start + len(first))
    a1, a2 = an[first], an[second]
    swap = a1 > a2
    pairs.item[rows] = it[first]
    np.minimum(a1, a2, out=pairs.ann_a[rows])
    np.maximum(a1, a2, out=pairs.ann_b[rows])
    l1, l2 = lb[first], lb[second]
    pairs.lab_a[rows] = np.where(swap, l2, l1)
    pairs.lab_b[rows] = np.where(swap, l1, l2)
    return start + len(first)


#: Annotator pairs numbered with a dense table (bincount) up to this many; sorted beyond.
_DENSE_PAIRS = 4_000_000


def pair_index(pairs: Pairs, n_annotators: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the annotator pairs that share at least one item.

    Returns
    -------
    present : ndarray of shape (n_pairs,)
        ``a * n_annotators + b`` of each annotator pair, sorted.
    inv : ndarray of shape (n_annotation_pairs,)
        For each within-item pair of annotations, its annotator pair's position.
    """
    pid = pairs.ann_a * n_annotators + pairs.ann_b
    if n_annotators * n_annotators <= _DENSE_PAIRS:
        present = np.flatnonzero(np.bincount(pid, minlength=n_annotators**2))
        lookup = np.zeros(n_annotators**2, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        return present, lookup[pid]
    present, inv = np.unique(pid, return_inverse=True)
    return present, inv


def count_pairs(pairs: Pairs, n_annotators: int) -> int:
    """How many annotator pairs share at least one item (a count, not a sort, for up
    to 2,000 annotators)."""
    pid = pairs.ann_a * n_annotators + pairs.ann_b
    if n_annotators * n_annotators <= _DENSE_PAIRS:
        return int(np.count_nonzero(np.bincount(pid, minlength=n_annotators**2)))
    return len(np.unique(pid))


def pair_confusions(
    pairs: Pairs, n_annotators: int, n_classes: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confusion matrix of every annotator pair that shares at least one item.

    Parameters
    ----------
    pairs : Pairs
    n_annotators, n_classes : int
    weights : ndarray of shape (n_items,), optional
        Item weights (bootstrap); default 1.

    Returns
    -------
    a, b : ndarray of shape (n_pairs,)
        Annotator codes, ``a < b``.
    conf : ndarray of shape (n_pairs, n_classes, n_classes)
        ``conf[p, x, y]`` = (weighted) number of shared items where ``a`` chose ``x`` and
        ``b`` chose ``y``.
    """
    present, inv = pair_index(pairs, n_annotators)
    k2 = n_classes * n_classes
    key = inv * k2 + pairs.lab_a * n_classes + pairs.lab_b
    w = None if weights is None else weights[pairs.item]
    conf = np.bincount(key, weights=w, minlength=len(present) * k2).astype(np.float64)
    return present // n_annotators, present % n_annotators, conf.reshape(-1, n_classes, n_classes)


def kappa_from_confusions(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cohen's kappa, observed agreement and size of each confusion matrix.

    Parameters
    ----------
    conf : ndarray of shape (n_pairs, n_classes, n_classes)

    Returns
    -------
    kappa, agreement, n : ndarray of shape (n_pairs,)
        ``kappa = (p_o - p_e) / (1 - p_e)``; NaN when ``p_e == 1`` (both annotators used
        one and the same class only) or ``n == 0``.
    """
    n = conf.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        po = np.trace(conf, axis1=1, axis2=2) / n
        pe = np.einsum("pk,pk->p", conf.sum(axis=2), conf.sum(axis=1)) / (n * n)
        kappa = np.where(pe < 1.0, (po - pe) / (1.0 - pe), np.nan)
    return kappa, po, n


def item_agreement(counts: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Per-item pairwise agreement ``P_i = sum_c n_ic (n_ic - 1) / (n_i (n_i - 1))``.

    Returns
    -------
    p : ndarray of shape (n_items,)
        NaN for items with fewer than two labels.
    n : ndarray of shape (n_items,)
        Labels per item.
    """
    n = np.asarray(counts.sum(axis=1)).ravel().astype(np.float64)
    sq = np.asarray(counts.multiply(counts).sum(axis=1)).ravel().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n >= 2, (sq - n) / (n * (n - 1)), np.nan)
    return p, n


def coincidences(counts: sparse.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """Krippendorff's coincidence matrix ``o_ck``, with item weights.

    ``o = C^T diag(w / (n - 1)) C - diag(C^T (w / (n - 1)))`` over items with ``n >= 2``.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
    """
    n = np.asarray(counts.sum(axis=1)).ravel().astype(np.float64)
    v = np.where(n >= 2, weights / np.maximum(n - 1, 1), 0.0)
    scaled = sparse.diags(v) @ counts
    o = np.asarray((counts.T @ scaled).todense(), dtype=np.float64)
    o -= np.diag(np.asarray(scaled.sum(axis=0)).ravel())
    return o


def alpha_distance(level: str, n_c: np.ndarray, values: np.ndarray | None) -> np.ndarray:
    """Squared distance matrix ``delta^2`` of Krippendorff's alpha.

    Parameters
    ----------
    level : {"nominal", "ordinal", "interval"}
    n_c : ndarray of shape (n_classes,)
        Pairable values per class (ordinal metric), classes in their order.
    values : ndarray of shape (n_classes,), optional
        Numeric class values (interval metric).
    """
    k = len(n_c)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "interval":
        assert values is not None
        return (values[:, None] - values[None, :]) ** 2
    cum = np.concatenate(([0.0], np.cumsum(n_c)))
    lo, hi = np.minimum.outer(np.arange(k), np.arange(k)), np.maximum.outer(
        np.arange(k), np.arange(k)
    )
    between = cum[hi + 1] - cum[lo]
    return (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2


def scalar_stats(
    counts: sparse.csr_matrix,
    p_item: np.ndarray,
    n_item: np.ndarray,
    weights: np.ndarray,
    level: str,
    values: np.ndarray | None,
) -> dict[str, float]:
    """Percent agreement, (generalised) Fleiss' kappa and Krippendorff's alpha.

    Parameters
    ----------
    counts : csr_matrix of shape (n_items, n_classes)
    p_item, n_item : ndarray of shape (n_items,)
        From :func:`item_agreement`.
    weights : ndarray of shape (n_items,)
        Item weights (ones for the point estimate, multinomial counts for a bootstrap
        replicate).
    level : {"nominal", "ordinal", "interval"}
    values : ndarray of shape (n_classes,), optional

    Returns
    -------
    dict
        ``percent_agreement``, ``fleiss_kappa``, ``krippendorff_alpha``.
    """
    pairable = n_item >= 2
    w = np.where(pairable, weights, 0.0)
    wsum = w.sum()
    p_bar = float(np.dot(w[pairable], p_item[pairable]) / wsum) if wsum else np.nan
    class_mass = np.asarray(counts.T @ w).ravel()
    p_c = class_mass / class_mass.sum() if wsum else class_mass
    p_e = float(np.dot(p_c, p_c))
    fleiss = (p_bar - p_e) / (1.0 - p_e) if p_e < 1.0 else np.nan
    o = coincidences(counts, weights)
    n_c = o.sum(axis=0)
    n_tot = n_c.sum()
    dist = alpha_distance(level, n_c, values)
    expected = float(np.sum(np.outer(n_c, n_c) * dist))
    observed = float(np.sum(o * dist))
    alpha = 1.0 - (n_tot - 1.0) * observed / expected if expected > 0 else np.nan
    return {"percent_agreement": p_bar, "fleiss_kappa": fleiss, "krippendorff_alpha": alpha}


def leave_one_out(
    counts_dense: np.ndarray, item: np.ndarray, label: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agreement of each annotation with the majority of the *other* labels of its item.

    When the other labels tie between several classes, the annotation earns ``1/t`` if
    its label is one of the ``t`` tied classes (the expected agreement under a random
    tie-break), and each tied class receives weight ``1/t``.

    Parameters
    ----------
    counts_dense : ndarray of shape (n_items, n_classes)
    item, label : ndarray of shape (n_annotations,)

    Returns
    -------
    credit : ndarray of shape (n_annotations,)
        NaN for annotations on items with a single label.
    class_weight : ndarray of shape (n_classes,)
        How often each class was the consensus of the others (fractional for ties).
    class_hits : ndarray of shape (n_classes,)
        How often the annotation agreed with that consensus, by consensus class.
    """
    k = counts_dense.shape[1]
    credit = np.full(len(item), np.nan)
    class_weight = np.zeros(k)
    class_hits = np.zeros(k)
    step = max(1, 4_000_000 // max(k, 1))
    for start in range(0, len(item), step):
        sl = slice(start, start + step)
        others = counts_dense[item[sl]].astype(np.int32)
        rows = np.arange(others.shape[0])
        others[rows, label[sl]] -= 1
        ok = others.sum(axis=1) > 0
        is_max = others == others.max(axis=1, keepdims=True)
        share = is_max / is_max.sum(axis=1, keepdims=True)
        got = share[rows, label[sl]]
        credit[sl] = np.where(ok, got, np.nan)
        class_weight += share[ok].sum(axis=0)
        class_hits += np.bincount(label[sl][ok], weights=got[ok], minlength=k)
    return credit, class_weight, class_hits
