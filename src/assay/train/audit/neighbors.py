"""Feature checks from hashes and k-nearest neighbours: duplicates, outliers, leakage.

Every ``find_*`` function works on features or embeddings, an array of shape
(n_samples, n_features), and returns a :class:`~assay.train.audit._result.CheckResult`: one
row per example with ``is_<name>_issue`` and ``<name>_score`` (in [0, 1], low =
suspicious), plus a summary with ``count`` and ``rate``.

The shared k-nearest-neighbour graph (exact: a k-d tree or brute force; or hnswlib for
large data) is built by :func:`knn_graph`; see :mod:`assay.train.audit._knn` for the measured
choice. Tabular features belong in ``space="tabular"``: columns robustly standardised,
euclidean distance, so that no column dominates by its units (the audit does this for
tabular data by itself); embeddings in the default ``space="embedding"``.

Thresholds follow cleanlab's Datalab defaults, so that results can be compared:
near duplicates lie closer than ``0.13 x`` the median nearest-neighbour distance;
outliers have a mean k-NN distance above ``Q3 + (1 / 0.37037 - 1) x IQR``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from assay._validation import check_labels, check_number
from assay.exceptions import InputError
from assay.train.audit._knn import (
    EPS,
    KnnGraph,
    check_features,
    knn_graph,
    nearest_distance,
    neighbor_space,
    prepare,
    robust_scale,
    to_metric,
)
from assay.train.audit._result import CheckResult, make_result

__all__ = [
    "KnnGraph",
    "check_features",
    "find_class_imbalance",
    "find_exact_duplicates",
    "find_near_duplicates",
    "find_outliers",
    "find_split_leakage",
    "knn_graph",
    "knn_label_distribution",
    "nearest_distance",
    "robust_scale",
]


def _row_groups(X: np.ndarray) -> np.ndarray:
    """Return, for every row, the id of its group of byte-identical rows."""
    if X.shape[1] == 0:
        return np.zeros(X.shape[0], dtype=np.int64)
    rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1])))
    _, inverse = np.unique(rows.ravel(), return_inverse=True)
    return inverse.ravel()


def _set_ids(groups: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Renumber group ids 0, 1, ... by first occurrence; -1 where not ``member``."""
    out = np.full(groups.shape[0], -1, dtype=np.int64)
    if member.any():
        _, first, inverse = np.unique(groups[member], return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        out[member] = rank[inverse.ravel()]
    return out


def find_exact_duplicates(X: Any) -> CheckResult:
    """Find rows that are byte-for-byte identical to another row.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features or embeddings (compared as float64; ``-0.0 == 0.0``).

    Returns
    -------
    CheckResult
        ``is_exact_duplicate_issue``, ``exact_duplicate_score`` (0 for duplicates, 1
        otherwise) and ``exact_duplicate_set`` (a set id shared by identical rows, -1
        for unique rows); the summary counts the sets.
    """
    arr = check_features(X)
    groups = _row_groups(arr)
    counts = np.bincount(groups)
    flags = counts[groups] > 1
    sets = _set_ids(groups, flags)
    return make_result(
        "exact_duplicate",
        flags,
        np.where(flags, 0.0, 1.0),
        extra={"exact_duplicate_set": sets},
        info={"n_sets": int(sets.max() + 1)},
    )


def _graph_or_compute(X: Any, graph: KnnGraph | None, k: int, metric: str, space: str) -> KnnGraph:
    if graph is not None:
        return graph
    if X is None:
        raise InputError("give features X or a precomputed graph= (from knn_graph).")
    return knn_graph(X, k=k, metric=metric, space=space)


def find_near_duplicates(
    X: Any = None,
    *,
    graph: KnnGraph | None = None,
    threshold: float = 0.13,
    k: int = 10,
    metric: str = "auto",
    space: str = "embedding",
) -> CheckResult:
    """Find examples that lie atypically close to another example.

    Two examples are near duplicates when their distance is below ``threshold`` times
    the median nearest-neighbour distance; near-duplicate sets are the connected
    components of that relation.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), optional
        Features; not needed when ``graph`` is given.
    graph : KnnGraph, optional
        A precomputed neighbour graph (shared between checks).
    threshold : float, default=0.13
        Radius as a fraction of the median nearest-neighbour distance.
    k, metric, space
        Passed to :func:`knn_graph` when ``graph`` is not given (``space="tabular"`` for
        tabular features).

    Returns
    -------
    CheckResult
        ``near_duplicate_score = 1 - exp(-d1 / median d1)`` (0 for exact copies) and
        ``near_duplicate_set`` (-1 when the example is in no set).
    """
    check_number(threshold, name="threshold", func="find_near_duplicates", low=0)
    g = _graph_or_compute(X, graph, k, metric, space)
    n = g.distances.shape[0]
    median = g.median_nn_distance
    close = g.distances < threshold * median
    rows = np.repeat(np.arange(n), close.sum(axis=1))
    adj = coo_matrix((np.ones(rows.shape[0]), (rows, g.indices[close])), shape=(n, n))
    _, comp = connected_components(adj, directed=True, connection="weak")
    member = np.zeros(n, dtype=bool)
    member[rows] = True
    member[g.indices[close]] = True
    scores = 1.0 - np.exp(-g.distances[:, 0] / median)
    scores[np.isclose(g.distances[:, 0], 0.0)] = 0.0
    sets = _set_ids(comp, member)
    return make_result(
        "near_duplicate",
        member,
        scores,
        extra={"near_duplicate_set": sets},
        info={
            "n_sets": int(sets.max() + 1),
            "threshold": threshold,
            "metric": g.metric,
            "space": g.space,
        },
    )


def find_outliers(
    X: Any = None,
    *,
    graph: KnnGraph | None = None,
    threshold: float = 0.37037,
    k: int = 10,
    metric: str = "auto",
    space: str = "embedding",
) -> CheckResult:
    """Find examples far from their nearest neighbours.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), optional
        Features; not needed when ``graph`` is given.
    graph : KnnGraph, optional
        A precomputed neighbour graph.
    threshold : float in (0, 1], default=0.37037
        An example is an outlier when its mean k-NN distance exceeds
        ``Q3 + (1 / threshold - 1) x IQR`` of all mean distances (cleanlab's rule).
    k, metric, space
        Passed to :func:`knn_graph` when ``graph`` is not given (``space="tabular"`` for
        tabular features).

    Returns
    -------
    CheckResult
        ``outlier_score = exp(-mean distance / median mean distance)``.
    """
    check_number(threshold, name="threshold", func="find_outliers", low=1e-12, high=1)
    g = _graph_or_compute(X, graph, k, metric, space)
    avg = g.distances.mean(axis=1)
    q1, q3 = np.percentile(avg, [25, 75])
    limit = q3 + (1.0 / threshold - 1.0) * (q3 - q1)
    scale = max(float(np.median(avg)), EPS)
    return make_result(
        "outlier",
        avg > limit,
        np.exp(-avg / scale),
        info={
            "threshold": threshold,
            "distance_limit": float(limit),
            "metric": g.metric,
            "space": g.space,
        },
    )


def find_class_imbalance(
    labels: Any, *, classes: Any = None, threshold: float = 0.1
) -> CheckResult:
    """Flag examples of classes much rarer than a uniform share.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Given class labels.
    classes : sequence, optional
        All classes (a class with no examples counts towards the uniform share).
    threshold : float, default=0.1
        A class is under-represented when its fraction is below ``threshold / n_classes``
        (cleanlab's rule, applied to every class, not only the rarest).

    Returns
    -------
    CheckResult
        ``class_imbalance_score = min(1, fraction x n_classes)``; the summary lists the
        rare classes and the fraction of each class.
    """
    check_number(threshold, name="threshold", func="find_class_imbalance", low=0, high=1)
    codes, cls = check_labels(labels, classes, func="find_class_imbalance")
    frac = np.bincount(codes, minlength=len(cls)) / max(codes.shape[0], 1)
    rare = frac < threshold / len(cls)
    return make_result(
        "class_imbalance",
        rare[codes],
        np.minimum(1.0, frac * len(cls))[codes],
        info={
            "rare_classes": [c.item() if hasattr(c, "item") else c for c in cls[rare & (frac > 0)]],
            "class_fractions": {str(c): float(f) for c, f in zip(cls, frac, strict=True)},
            "threshold": threshold,
        },
    )


def _cross_split_distance(Z: np.ndarray, split: np.ndarray, n_jobs: int | None) -> np.ndarray:
    """Distance from each row to the nearest row of another split (inf if none)."""
    out = np.full(Z.shape[0], np.inf)
    for value in np.unique(split):
        inside = split == value
        if not inside.all():
            out[inside] = nearest_distance(Z[~inside], Z[inside], n_jobs=n_jobs)
    return out


def find_split_leakage(
    X: Any,
    split: Any,
    *,
    graph: KnnGraph | None = None,
    threshold: float = 0.13,
    metric: str = "auto",
    space: str = "embedding",
    n_jobs: int | None = None,
) -> CheckResult:
    """Find examples with an exact or near duplicate in another split (train/test leakage).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features of all splits together.
    split : array-like of shape (n_samples,)
        The split of each example, e.g. ``"train"`` / ``"test"``.
    graph : KnnGraph, optional
        The neighbour graph of ``X``, for the median nearest-neighbour distance.
    threshold : float, default=0.13
        As in :func:`find_near_duplicates`: closer than ``threshold x`` the median
        nearest-neighbour distance counts as a duplicate.
    metric : {"auto", "euclidean", "cosine"}, default="auto"
    space : {"embedding", "tabular"}, default="embedding"
        As in :func:`knn_graph`; with ``graph`` given, the graph's space is used.
    n_jobs : int, optional
        Threads for scikit-learn's neighbour search.

    Returns
    -------
    CheckResult
        ``leakage_score = 1 - exp(-d / median d1)`` with ``d`` the distance to the nearest
        example of another split (0 for an exact copy), and ``leakage_exact`` (bool).
    """
    arr = check_features(X)
    split_arr = np.asarray(split).astype(str)
    if split_arr.shape != (arr.shape[0],):
        raise InputError(
            f"split has shape {split_arr.shape} but there are {arr.shape[0]} rows; "
            "give one split name per example."
        )
    check_number(threshold, name="threshold", func="find_split_leakage", low=0)
    g = graph or knn_graph(arr, k=1, metric=metric, space=space, n_jobs=n_jobs)
    exact = _groups_spanning(_row_groups(arr), split_arr)
    Z = prepare(neighbor_space(arr, g.space), g.metric)
    dist = to_metric(_cross_split_distance(Z, split_arr, n_jobs), g.metric)
    median = g.median_nn_distance
    scores = np.where(exact, 0.0, 1.0 - np.exp(-dist / median))
    return make_result(
        "leakage",
        exact | (dist < threshold * median),
        scores,
        extra={"leakage_exact": exact},
        info={"threshold": threshold, "splits": sorted(set(split_arr.tolist()))},
    )


def _groups_spanning(groups: np.ndarray, split: np.ndarray) -> np.ndarray:
    """True for rows whose group of identical rows occurs in more than one split."""
    _, split_codes = np.unique(split, return_inverse=True)
    pairs = np.unique(np.stack([groups, split_codes.ravel()], axis=1), axis=0)
    n_splits = np.bincount(pairs[:, 0], minlength=groups.max() + 1)
    return n_splits[groups] > 1


def knn_label_distribution(
    graph: KnnGraph, codes: np.ndarray, n_classes: int, *, prior_weight: float = 1.0
) -> np.ndarray:
    """The label distribution among each example's neighbours, smoothed to the class prior.

    Parameters
    ----------
    graph : KnnGraph
        Neighbours of every example (itself excluded).
    codes : ndarray of shape (n_samples,)
        Integer class codes of the given labels.
    n_classes : int
    prior_weight : float, default=1.0
        Pseudo-count of the class prior added to the ``k`` neighbour votes.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        Rows sum to 1.
    """
    n, k = graph.indices.shape
    if codes.shape != (n,) or (n and (codes.min() < 0 or codes.max() >= n_classes)):
        raise InputError(
            f"knn_label_distribution needs {n} label codes in 0..{n_classes - 1} (one per "
            f"graph row); got shape {codes.shape}. Give pred_probs one column per class."
        )
    cell = np.repeat(np.arange(n) * n_classes, k) + codes[graph.indices].ravel()
    votes = np.bincount(cell, minlength=n * n_classes).reshape(n, n_classes)
    prior = np.bincount(codes, minlength=n_classes) / n
    return (votes + prior_weight * prior) / (k + prior_weight)
