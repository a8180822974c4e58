"""Vectorised item bootstrap for the agreement statistics.

Every statistic is a function of sums over items, so a bootstrap replicate (a
multinomial re-weighting ``w`` of the items with at least two labels) only needs
``w @ F`` for a few per-item feature matrices ``F``: the item agreement ``P_i``, the
class counts ``C_i``, the Krippendorff coincidences ``(C_i C_i^T - diag C_i) / (n_i - 1)``
and, for Cohen's kappa, each item's annotator-pair confusion cells. The features are
sparse, so a chunk of ``b`` replicates costs one sparse-dense product per feature.

**Mean Cohen's kappa: one estimator for the point and the interval.** The statistic is
``sum_p n_p kappa_p / sum_p n_p`` over a *fixed* set of annotator pairs ``p`` (those
sharing at least ``min_shared`` items in the data, see
:func:`assay.collect.agreement.agreement`), ``n_p`` being the pair's shared items. A
replicate recomputes every ``kappa_p`` and ``n_p`` from the re-weighted items and
averages over the same pairs (a pair whose replicate kappa is undefined drops out of
that replicate only); unit weights give the point estimate exactly. The set is fixed
because a pair's kappa on few items is biased towards 0 by about ``1/n_p`` (its chance
agreement is estimated from the same items), and a resample, which repeats items,
roughly doubles that bias: with the 20,000 pairs of AdultContent2 that share one to
nine items, the bootstrap distribution sat wholly below the point estimate, and the
percentile interval missed it. Leaving those pairs out of both keeps the bias well
inside the interval; their kappas stay in the pairwise tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import sparse

from assay.collect._stats import Pairs, alpha_distance, item_agreement

__all__ = [
    "COHEN_WORK", "Features", "bootstrap_intervals", "item_features", "pattern_intervals",
    "replicate_stats", "row_groups",
]


@dataclass(frozen=True)
class Features:
    """Per-item features of the items with at least two labels (rows ``0..m-1``)."""

    p_item: np.ndarray  # (m,)
    counts: sparse.csr_matrix  # (m, K)
    coinc: sparse.csr_matrix  # (m, K * K)
    cohen: sparse.csr_matrix  # (m, P * K * K)
    n_classes: int
    n_pairs: int


def item_features(
    counts: sparse.csr_matrix, p_item: np.ndarray, n_item: np.ndarray, pairs: Pairs,
    pair_index: np.ndarray, n_pairs: int,
) -> Features:
    """Build the feature matrices.

    Parameters
    ----------
    counts : csr_matrix of shape (n_items, n_classes)
    p_item, n_item : ndarray of shape (n_items,)
    pairs : Pairs
        Within-item annotation pairs.
    pair_index : ndarray of shape (n_annotation_pairs,)
        For each pair, the index of its annotator pair (``0..n_pairs-1``) in the mean
        Cohen's kappa, or -1 for a pair left out of it.
    n_pairs : int
        Number of annotator pairs in the mean Cohen's kappa.
    """
    k = counts.shape[1]
    keep = np.flatnonzero(n_item >= 2)
    row = np.full(len(n_item), -1, dtype=np.int64)
    row[keep] = np.arange(len(keep))
    r = row[pairs.item]
    m = len(keep)
    kept_counts = counts[keep].astype(np.float64).tocsr()
    kept_counts.sum_duplicates()
    kept = pair_index >= 0
    cells = (pair_index[kept] * k + pairs.lab_a[kept]) * k + pairs.lab_b[kept]
    cohen = sparse.csr_matrix((np.ones(len(cells)), (r[kept], cells)),
                              shape=(m, n_pairs * k * k))
    # an item's coincidences follow from its class counts (every two of its labels are
    # by different annotators): s^2 entries for s classes present, not two per pair
    coinc = _pattern_coincidences(kept_counts, n_item[keep])
    return Features(p_item[keep], kept_counts, coinc, cohen, k, n_pairs)


def _times(features: sparse.csr_matrix, w: np.ndarray) -> np.ndarray:
    """``w @ F`` for a (b, m) weight block, as a dense (b, n_features) array."""
    return np.asarray((features.T @ w.T).T)


def _class_stats(
    f: Features, w: np.ndarray, level: str, values: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Percent agreement, Fleiss' kappa and alpha for each row of ``w`` (b, m)."""
    k = f.n_classes
    wsum = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_bar = (w @ f.p_item) / wsum
        mass = _times(f.counts, w)
        p_c = mass / mass.sum(axis=1, keepdims=True)
        p_e = np.einsum("bk,bk->b", p_c, p_c)
        fleiss = np.where(p_e < 1, (p_bar - p_e) / (1 - p_e), np.nan)
        o = _times(f.coinc, w).reshape(-1, k, k)
        n_c = o.sum(axis=1)
        alpha = np.empty(len(w))
        for b in range(len(w)):
            dist = alpha_distance(level, n_c[b], values)
            expected = np.sum(np.outer(n_c[b], n_c[b]) * dist)
            observed = np.sum(o[b] * dist)
            alpha[b] = 1 - (n_c[b].sum() - 1) * observed / expected if expected > 0 else np.nan
    return {"percent_agreement": p_bar, "fleiss_kappa": fleiss, "krippendorff_alpha": alpha}


def _cohen_stats(f: Features, w: np.ndarray) -> dict[str, np.ndarray]:
    """The mean Cohen's kappa over the fixed pairs for each row of ``w`` (b, m)."""
    k = f.n_classes
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = _times(f.cohen, w).reshape(len(w), f.n_pairs, k, k)
        n = conf.sum(axis=(2, 3))
        po = np.trace(conf, axis1=2, axis2=3) / n
        pe = np.einsum("bpk,bpk->bp", conf.sum(axis=3), conf.sum(axis=2)) / (n * n)
        kappa = np.where(pe < 1, (po - pe) / (1 - pe), np.nan)
        ok = np.isfinite(kappa) & (n > 0)
        mean_kappa = np.where(ok, kappa * n, 0).sum(axis=1) / np.where(ok, n, 0).sum(axis=1)
    return {"cohen_kappa": mean_kappa}


def replicate_stats(
    f: Features, w: np.ndarray, level: str, values: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Statistics for each row of the item weights ``w`` of shape (b, m)."""
    return {**_class_stats(f, w, level, values), **_cohen_stats(f, w)}


def _weights(rng: np.random.Generator, b: int, m: int) -> np.ndarray:
    draws = rng.integers(0, m, size=(b, m)) + (np.arange(b) * m)[:, None]
    return np.bincount(draws.ravel(), minlength=b * m).reshape(b, m).astype(np.float64)


#: Resampling work (resamples x distinct feature rows) above which the mean Cohen's
#: kappa takes its delta-method interval instead (see :func:`bootstrap_intervals`).
COHEN_WORK = 50_000_000

_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wrapping)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _MIX[0]
        x = (x ^ (x >> np.uint64(27))) * _MIX[1]
        return x ^ (x >> np.uint64(31))


def _row_keys(f: sparse.csr_matrix) -> np.ndarray:
    """An order-free 64-bit hash of each row's (column, value) entries, shape (m,)."""
    col = _mix(np.arange(1, f.shape[1] + 1, dtype=np.uint64))
    val = np.round(f.data * 2**20).astype(np.int64).view(np.uint64)
    entry = _mix(col[f.indices] ^ val)
    out = np.zeros(f.shape[0], dtype=np.uint64)
    filled = np.diff(f.indptr) > 0
    if entry.size:
        out[filled] = np.add.reduceat(entry, f.indptr[:-1][filled])
    return out


def row_groups(
    features: sparse.csr_matrix, max_groups: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Group the equal rows of a sparse matrix of shape (m, n_features).

    Parameters
    ----------
    features : csr_matrix of shape (m, n_features)
    max_groups : int, optional
        Give up (return None) when there are more groups than this.

    Returns
    -------
    (first, sizes) or None
        One row of each group, shape (g,), and the rows in each group, shape (g,).

    Rows are keyed by a 64-bit hash of their entries, then checked entry by entry
    against their group's first row; should two different rows ever share a key, every
    row is its own group. (A shared key only merges groups, so more keys than
    ``max_groups`` means more groups too.)
    """
    f = sparse.csr_matrix(features, copy=True)
    f.sum_duplicates()
    f.eliminate_zeros()
    _, first, inverse, sizes = np.unique(_row_keys(f), return_index=True,
                                         return_inverse=True, return_counts=True)
    if max_groups is not None and len(sizes) > max_groups:
        return None
    if (f - f[first[inverse.ravel()]]).count_nonzero():
        m = f.shape[0]
        return np.arange(m), np.ones(m, dtype=np.int64)
    return first, sizes


def _subset(f: Features, rows: np.ndarray) -> Features:
    return Features(f.p_item[rows], f.counts[rows], f.coinc[rows], f.cohen[rows],
                    f.n_classes, f.n_pairs)


def _draws(
    stats: Callable[[Features, np.ndarray], dict[str, np.ndarray]], f: Features,
    groups: tuple[np.ndarray, np.ndarray], n_boot: int, rng: np.random.Generator,
    *, always_grouped: bool = False,
) -> dict[str, np.ndarray]:
    """``n_boot`` replicates of ``stats``, the items resampled with replacement.

    The statistics are sums over items of per-item features, so items with equal
    features are interchangeable: with ``g`` groups of equal rows (``groups``: the
    first row of each and its size, from :func:`row_groups`), a replicate's group totals are one
    multinomial draw over the groups, with probabilities proportional to their sizes
    (the same distribution as summing the item counts of an item-level draw, at
    ``g`` instead of ``m`` draws). Without enough repetition (``g > m / 4``) the items
    are drawn one by one, unless ``always_grouped`` (the rows of ``f`` are the groups).
    """
    first, sizes = groups
    m, g = int(sizes.sum()), len(sizes)
    grouped = always_grouped or 4 * g <= m
    sub = _subset(f, first) if grouped else f
    width = f.n_pairs * f.n_classes**2 + f.n_classes**2 + f.n_classes + len(sub.p_item)
    chunk = int(max(1, min(100, 20_000_000 // width)))
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        w = (rng.multinomial(m, sizes / m, size=b).astype(np.float64) if grouped
             else _weights(rng, b, m))
        for key, val in stats(sub, w).items():
            parts.setdefault(key, []).append(val)
    return {key: np.concatenate(val) for key, val in parts.items()}


def _percentiles(vals: np.ndarray) -> tuple[float, float]:
    vals = vals[np.isfinite(vals)]
    if not len(vals):
        return (np.nan, np.nan)
    return (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5)))


def bootstrap_intervals(
    f: Features, level: str, values: np.ndarray | None, n_boot: int, seed: int
) -> dict[str, tuple[float, float]]:
    """Percentile 95% intervals from ``n_boot`` resamples of the items.

    Percent agreement, Fleiss' kappa and alpha depend on an item only through its
    class counts, which repeat (a few thousand patterns however many items), so their
    resamples are drawn over the patterns (see :func:`_draws`): the same bootstrap
    distribution at a cost that does not grow with the items. The mean Cohen's kappa
    depends on who gave which label, which rarely repeats; its resamples are drawn
    separately (with their own random numbers), and when ``n_boot`` times its distinct
    rows exceeds :data:`COHEN_WORK` (e.g. more than 50,000 items of distinct
    annotator-label patterns at 1,000 resamples) it takes the delta-method interval,
    the normal limit that the percentile bootstrap reaches with many items
    (:func:`assay.collect._delta.cohen_delta_interval`).
    """
    from assay.collect._delta import cohen_delta_interval

    rng = np.random.default_rng(seed)
    stats = partial(_class_stats, level=level, values=values)
    groups = row_groups(f.counts)
    assert groups is not None
    draws = _draws(stats, f, groups, n_boot, rng)
    out = {key: _percentiles(val) for key, val in draws.items()}
    cohen_groups = row_groups(f.cohen, max_groups=COHEN_WORK // n_boot)
    if cohen_groups is None:
        out["cohen_kappa"] = cohen_delta_interval(f)
    else:
        kappa = _draws(_cohen_stats, f, cohen_groups, n_boot, rng)["cohen_kappa"]
        out["cohen_kappa"] = _percentiles(kappa)
    return out


def pattern_features(patterns: np.ndarray) -> Features:
    """Features of distinct class-count patterns (no annotator pairs: no Cohen's kappa).

    Parameters
    ----------
    patterns : ndarray of shape (g, n_classes)
        Labels per class of an item, each row with at least two labels.
    """
    g, k = patterns.shape
    counts = sparse.csr_matrix(patterns.astype(np.float64))
    counts.eliminate_zeros()
    p_item, n_item = item_agreement(counts)
    return Features(p_item, counts, _pattern_coincidences(counts, n_item), sparse.csr_matrix((g, 0)),
                    k, 0)


def _pattern_coincidences(counts: sparse.csr_matrix, n_item: np.ndarray) -> sparse.csr_matrix:
    """Each row's ``(c c^T - diag c) / (n - 1)``, flattened to shape (g, k * k).

    Built from the classes present in each row (``sum_i s_i^2`` entries for ``s_i``
    classes present), never as a dense (g, k, k) array: 200,000 patterns of 50 classes
    would need 4 GB dense.
    """
    g, k = counts.shape
    per_row = np.diff(counts.indptr)
    row = np.repeat(np.arange(g), per_row)  # row of each stored entry
    times = per_row[row]
    first = np.repeat(np.arange(counts.nnz), times)
    offset = np.arange(len(first)) - np.repeat(np.cumsum(times) - times, times)
    second = counts.indptr[row[first]] + offset
    ca, cb = counts.indices[first], counts.indices[second]
    va, vb = counts.data[first], counts.data[second]
    value = (va * vb - np.where(ca == cb, va, 0.0)) / (n_item[row[first]] - 1.0)
    # the entries come row by row, each row's in column order: CSR as they are
    indptr = np.concatenate([[0], np.cumsum(per_row * per_row)])
    coinc = sparse.csr_matrix((value, ca * k + cb, indptr), shape=(g, k * k))
    coinc.eliminate_zeros()
    return coinc


def pattern_intervals(
    patterns: np.ndarray, sizes: np.ndarray, level: str, values: np.ndarray | None,
    n_boot: int, seed: int,
) -> dict[str, tuple[float, float]]:
    """Percentile 95% intervals of percent agreement, Fleiss' kappa and alpha from the
    distinct class-count patterns of the items and how many items have each.

    The same resampling as :func:`bootstrap_intervals` (one multinomial draw over the
    patterns per replicate, the patterns in the order of their row hash), so with the
    same seed the intervals equal the in-memory ones whenever those are drawn over
    patterns too. This is how intervals reach a table larger than memory: the patterns
    are counted per partition and merged (a few thousand rows however many items).

    Parameters
    ----------
    patterns : ndarray of shape (g, n_classes)
        Distinct rows of labels per class, each with at least two labels.
    sizes : ndarray of shape (g,)
        Items with each pattern.
    """
    order = np.argsort(_row_keys(sparse.csr_matrix(patterns.astype(np.float64))),
                       kind="stable")
    f = pattern_features(patterns[order])
    stats = partial(_class_stats, level=level, values=values)
    groups = (np.arange(len(order)), np.asarray(sizes)[order])
    draws = _draws(stats, f, groups, n_boot, np.random.default_rng(seed),
                   always_grouped=True)
    return {key: _percentiles(val) for key, val in draws.items()}
