"""SliceLine: find the conjunctions of metadata predicates where a model errs most.

After Sagadeeva & Boehm, "SliceLine: Fast, Linear-Algebra-based Slice Finding for ML
Model Debugging" (SIGMOD 2021). A slice is a conjunction of up to ``max_predicates``
predicates ``column == value`` over categorical and binned numeric metadata. Its score
is

    score(S) = alpha * (err(S) / err - 1) - (1 - alpha) * (n / |S| - 1)

(relative error minus a penalty for small slices). The lattice is enumerated level by
level: the slices of level ``l`` are joined pairwise (sparse ``S @ S.T`` overlap
counts) into candidates of level ``l + 1``; candidates are kept only when all their
parents survived, when they can reach ``min_support`` rows and when the upper bound of
their score (from their parents' sizes and errors) can still enter the top-k.

Evaluation differs from the reference implementation: rather than multiplying the
one-hot data matrix by every candidate (an ``n x m`` sparse product), candidates are
grouped by the set of columns they constrain and each group is evaluated by one
``np.bincount`` over the mixed-radix code of those columns, which costs ``O(n)`` per
column set whatever the number of candidates (see ``benchmarks/slices.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = ["EncodedMetadata", "LatticeResult", "encode_metadata", "sliceline_search"]


@dataclass
class EncodedMetadata:
    """Metadata as integer codes, one column per feature.

    Attributes
    ----------
    codes : ndarray of shape (n_samples, n_features), int64
        Value code of each row in each feature, in ``[0, domains[f])``.
    domains : ndarray of shape (n_features,)
        Number of distinct values (bins) of each feature.
    names : list of str
        Feature (column) names.
    labels : list of list of str
        Human-readable predicate of each value of each feature, e.g. ``"age in [20, 31)"``.
    """

    codes: np.ndarray
    domains: np.ndarray
    names: list[str]
    labels: list[list[str]]

    def describe(self, slice_codes: np.ndarray) -> str:
        """Text of a slice given its codes (shape (n_features,), -1 = unconstrained)."""
        parts = [self.labels[f][int(c)] for f, c in enumerate(slice_codes) if c >= 0]
        return " AND ".join(parts)

    def mask(self, slice_codes: np.ndarray) -> np.ndarray:
        """Boolean mask of shape (n_samples,) of the rows inside a slice."""
        inside = np.ones(self.codes.shape[0], dtype=bool)
        for f, c in enumerate(slice_codes):
            if c >= 0:
                inside &= self.codes[:, f] == c
        return inside


def _encode_numeric(col: pd.Series, name: str, n_bins: int) -> tuple[np.ndarray, list[str]]:
    values = col.astype("float64")
    binned = pd.qcut(values, q=n_bins, duplicates="drop")
    cats = binned.cat.categories
    labels = [f"{name} in [{iv.left:.4g}, {iv.right:.4g}]" for iv in cats]
    codes = binned.cat.codes.to_numpy().astype(np.int64)
    return codes, labels


def _encode_column(
    col: pd.Series, name: str, n_bins: int, max_categories: int
) -> tuple[np.ndarray, list[str]]:
    """Integer codes and predicate labels of one metadata column; NaN is its own value."""
    missing = col.isna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric and col.nunique(dropna=True) > max(n_bins, 10):
        codes, labels = _encode_numeric(col, name, n_bins)
    else:
        counts = col[~missing].value_counts(sort=True)
        n_keep = max_categories - 1 if len(counts) > max_categories else len(counts)
        keep = sorted(counts.index[:n_keep], key=lambda v: (str(type(v)), v))
        codes = pd.Categorical(col.to_numpy(), categories=keep).codes.astype(np.int64)
        codes[codes < 0] = len(keep)  # pooled rare values (missing rows are reset below)
        labels = [f"{name} = {v}" for v in keep]
        if len(counts) > len(keep):
            labels.append(f"{name} = (other)")
    if missing.any():
        codes[missing] = len(labels)
        labels.append(f"{name} is missing")
    return codes, labels


def encode_metadata(
    df: pd.DataFrame, *, n_bins: int = 5, max_categories: int = 50
) -> EncodedMetadata:
    """Encode metadata columns as codes: numeric columns with more than
    ``max(n_bins, 10)`` distinct values are cut into ``n_bins`` quantile bins, others are categorical (rare values beyond the
    ``max_categories - 1`` most frequent are pooled as "(other)"), NaN is its own value.

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_features)

    Returns
    -------
    EncodedMetadata
    """
    columns, labels = [], []
    for name in df.columns:
        codes, labs = _encode_column(df[name], str(name), n_bins, max_categories)
        columns.append(codes)
        labels.append(labs)
    codes_2d = np.column_stack(columns) if columns else np.zeros((len(df), 0), np.int64)
    domains = np.array([len(lab) for lab in labels], dtype=np.int64)
    return EncodedMetadata(codes_2d, domains, [str(c) for c in df.columns], labels)


@dataclass
class LatticeResult:
    """Every slice SliceLine evaluated, with its statistics (one row per slice).

    Attributes
    ----------
    slices : ndarray of shape (n_evaluated, n_features), int64
        Codes of each slice, -1 where a feature is unconstrained.
    sizes, errors, sq_errors, scores : ndarrays of shape (n_evaluated,)
    level : ndarray of shape (n_evaluated,)
        Number of predicates.
    n_candidates : list of int
        Number of candidates evaluated at each level.
    """

    slices: np.ndarray
    sizes: np.ndarray
    errors: np.ndarray
    sq_errors: np.ndarray
    scores: np.ndarray
    level: np.ndarray
    n_candidates: list[int]


def _score(sizes: np.ndarray, errs: np.ndarray, n: int, mean_err: float, alpha: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = alpha * ((errs / sizes) / mean_err - 1) - (1 - alpha) * (n / sizes - 1)
    return np.nan_to_num(sc, nan=-np.inf)


def _score_upper_bound(
    sizes: np.ndarray, errs: np.ndarray, max_errs: np.ndarray, n: int, mean_err: float,
    alpha: float, min_support: int,
) -> np.ndarray:
    """Upper bound of the score of any sub-slice, probing the monotone segments (paper 3.2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        probes = np.column_stack([
            np.full(sizes.shape, float(min_support)),
            np.maximum(errs / max_errs, min_support),
            sizes.astype(np.float64),
        ])
        best_err = np.minimum(probes * max_errs[:, None], errs[:, None])
        sc = alpha * (best_err / probes / mean_err - 1) - (1 - alpha) * (n / probes - 1)
    return np.nan_to_num(sc, nan=-np.inf).max(axis=1)


def _evaluate(
    data: EncodedMetadata, cand: np.ndarray, errors: np.ndarray, binary: bool
) -> np.ndarray:
    """Sizes, error sums, squared-error sums and max errors of candidate slices.

    Returns an array of shape (4, n_candidates).
    """
    n = data.codes.shape[0]
    out = np.zeros((4, cand.shape[0]))
    used = cand >= 0
    keys = used @ (1 << np.arange(cand.shape[1], dtype=np.int64))
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        feats = np.flatnonzero(used[rows[0]])
        dims = tuple(int(d) for d in data.domains[feats])
        row_code = np.ravel_multi_index(tuple(data.codes[:, f] for f in feats), dims)
        cand_code = np.ravel_multi_index(tuple(cand[rows][:, f] for f in feats), dims)
        if int(np.prod(dims, dtype=np.float64)) > 4 * n + (1 << 20):
            uniq, row_code = np.unique(row_code, return_inverse=True)
            pos = np.searchsorted(uniq, cand_code).clip(0, len(uniq) - 1)
            found = uniq[pos] == cand_code
            cand_code, length = np.where(found, pos, len(uniq)), len(uniq) + 1
        else:
            length = int(np.prod(dims))
        out[0, rows] = np.bincount(row_code, minlength=length)[cand_code]
        out[1, rows] = np.bincount(row_code, weights=errors, minlength=length)[cand_code]
        if binary:
            out[2, rows] = out[1, rows]
            out[3, rows] = (out[1, rows] > 0).astype(np.float64)
        else:
            out[2, rows] = np.bincount(row_code, weights=errors**2, minlength=length)[cand_code]
            mx = np.zeros(length)
            np.maximum.at(mx, row_code, errors)
            out[3, rows] = mx[cand_code]
    return out


def _join(slices: np.ndarray, level: int, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of level-(l-1) slices sharing l-2 predicates; returns (candidates, pair index)."""
    m = slices.shape[0]
    if level == 2:
        left, right = np.triu_indices(m, 1)
    else:
        used = slices >= 0
        rows, feats = np.nonzero(used)
        onehot = sparse.csr_matrix(
            (np.ones(len(rows), np.int32), (rows, offsets[feats] + slices[rows, feats])),
            shape=(m, int(offsets[-1])),
        )
        overlap = sparse.triu(onehot @ onehot.T, k=1).tocoo()
        keep = overlap.data == level - 2
        left, right = overlap.row[keep], overlap.col[keep]
    a, b = slices[left], slices[right]
    clash = (a >= 0) & (b >= 0) & (a != b)
    cand = np.where(a >= 0, a, b)
    ok = ~clash.any(axis=1) & ((cand >= 0).sum(axis=1) == level)
    return cand[ok], np.column_stack([left[ok], right[ok]])


def _candidates(
    slices: np.ndarray, stats: np.ndarray, level: int, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Deduplicated candidates of the next level whose parents all survived.

    Returns the candidates and the (3, n) parents' minima of size, errors and max error.
    """
    cand, pairs = _join(slices, level, offsets)
    if cand.shape[0] == 0:
        return cand, np.zeros((3, 0))
    uniq, inverse, counts = np.unique(cand, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    bounds = np.full((3, uniq.shape[0]), np.inf)
    for side in (0, 1):
        for row, col in enumerate((0, 1, 3)):
            np.minimum.at(bounds[row], inverse, stats[col, pairs[:, side]])
    complete = counts == level * (level - 1) // 2
    return uniq[complete], bounds[:, complete]


def _threshold(scores: np.ndarray, valid: np.ndarray, k: int) -> float:
    """Score a new slice must beat to enter the top-k (0 while the top-k is not full)."""
    good = np.sort(scores[valid])[::-1]
    return float(good[k - 1]) if len(good) >= k else 0.0


def sliceline_search(
    data: EncodedMetadata,
    errors: np.ndarray,
    *,
    alpha: float,
    k: int,
    max_predicates: int,
    min_support: int,
) -> LatticeResult:
    """Run the SliceLine lattice search.

    Parameters
    ----------
    data : EncodedMetadata
    errors : array of shape (n_samples,)
        Non-negative errors (0/1 misclassifications or losses).
    alpha, k, max_predicates, min_support
        See :func:`assay.train.slices.find_slices`.

    Returns
    -------
    LatticeResult
        All evaluated slices (the top-k are the valid ones with the highest scores).
    """
    n, n_feat = data.codes.shape
    mean_err = float(errors.mean())
    binary = bool(np.isin(errors, (0.0, 1.0)).all())
    offsets = np.concatenate([[0], np.cumsum(data.domains)])
    feats = np.repeat(np.arange(n_feat), data.domains)
    slices = np.full((len(feats), n_feat), -1, dtype=np.int64)
    slices[np.arange(len(feats)), feats] = np.concatenate(
        [np.arange(d) for d in data.domains]
    ) if n_feat else np.zeros(0, np.int64)
    stats = _evaluate(data, slices, errors, binary)
    found = [(slices, stats, 1)]
    counts = [slices.shape[0]]
    for level in range(2, min(max_predicates, n_feat) + 1):
        alive = (stats[0] >= min_support) & (stats[1] > 0)
        slices, stats = slices[alive], stats[:, alive]
        if slices.shape[0] < 2:
            break
        all_scores, all_valid = _collect_scores(found, n, mean_err, alpha, min_support)
        cand, bounds = _candidates(slices, stats, level, offsets)
        ub = _score_upper_bound(bounds[0], bounds[1], bounds[2], n, mean_err, alpha, min_support)
        keep = (bounds[0] >= min_support) & (ub > _threshold(all_scores, all_valid, k))
        slices = cand[keep]
        stats = _evaluate(data, slices, errors, binary)
        found.append((slices, stats, level))
        counts.append(slices.shape[0])
    return _result(found, n, mean_err, alpha, counts)


def _collect_scores(
    found: list[tuple[np.ndarray, np.ndarray, int]], n: int, mean_err: float, alpha: float,
    min_support: int,
) -> tuple[np.ndarray, np.ndarray]:
    stats = np.concatenate([s for _, s, _ in found], axis=1)
    scores = _score(stats[0], stats[1], n, mean_err, alpha)
    return scores, (stats[0] >= min_support) & (scores > 0)


def _result(
    found: list[tuple[np.ndarray, np.ndarray, int]], n: int, mean_err: float, alpha: float,
    counts: list[int],
) -> LatticeResult:
    slices = np.concatenate([s for s, _, _ in found], axis=0)
    stats = np.concatenate([s for _, s, _ in found], axis=1)
    level = np.concatenate([np.full(s.shape[0], lv) for s, _, lv in found])
    scores = _score(stats[0], stats[1], n, mean_err, alpha)
    return LatticeResult(slices, stats[0], stats[1], stats[2], scores, level, counts)
