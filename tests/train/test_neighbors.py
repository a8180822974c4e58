"""Tests of the neighbour-based feature checks against brute-force references and cleanlab."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from assay.exceptions import InputError
from assay.train.audit import neighbors as nb


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread() -> Iterator[None]:
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:600].astype(np.float64), y[:600]


def _reference_knn(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    d = cdist(X, X, metric=metric)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, order, axis=1), order


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_graph_matches_brute_force(metric: str) -> None:
    X = np.random.default_rng(0).normal(size=(300, 8))
    graph = nb.knn_graph(X, k=5, metric=metric)
    ref_d, ref_i = _reference_knn(X, 5, metric)
    np.testing.assert_allclose(graph.distances, ref_d, atol=1e-9)
    assert (graph.indices == ref_i).mean() > 0.999
    assert graph.metric == metric


def test_knn_graph_excludes_self_even_with_duplicates() -> None:
    X = np.repeat(np.random.default_rng(1).normal(size=(50, 4)), 3, axis=0)
    graph = nb.knn_graph(X, k=4, metric="euclidean")
    assert not (graph.indices == np.arange(len(X))[:, None]).any()
    np.testing.assert_allclose(graph.distances[:, :2], 0.0, atol=1e-7)


def test_knn_graph_auto_metric_and_small_n() -> None:
    assert nb.knn_graph(np.random.default_rng(0).normal(size=(5, 2)), k=10).metric == "euclidean"
    graph = nb.knn_graph(np.random.default_rng(0).normal(size=(5, 6)), k=10)
    assert graph.metric == "cosine" and graph.indices.shape == (5, 4)


def test_hnswlib_backend_recall(digits: tuple[np.ndarray, np.ndarray]) -> None:
    pytest.importorskip("hnswlib")
    X = digits[0]
    exact = nb.knn_graph(X, k=10, backend="sklearn")
    approx = nb.knn_graph(X, k=10, backend="hnswlib", n_jobs=1)
    assert not (approx.indices == np.arange(len(X))[:, None]).any()
    pairs = zip(approx.indices, exact.indices, strict=True)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in pairs])
    assert recall > 0.95
    np.testing.assert_allclose(approx.distances.mean(), exact.distances.mean(), rtol=0.02)


def test_bad_features_are_rejected() -> None:
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(InputError, match="row 2"):
        nb.knn_graph(X)
    with pytest.raises(InputError, match="2-d"):
        nb.find_exact_duplicates(np.ones(5))
    with pytest.raises(InputError, match="at least 2 rows"):
        nb.knn_graph(np.ones((1, 3)))
    with pytest.raises(InputError, match="backend"):
        nb.knn_graph(np.eye(3), backend="faiss")


def test_exact_duplicates_groups() -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [0.0, -0.0], [-0.0, 0.0], [5, 6], [3, 4]])
    result = nb.find_exact_duplicates(X)
    flags = result.issues["is_exact_duplicate_issue"].to_numpy()
    np.testing.assert_array_equal(flags, [True, True, True, True, True, False, True])
    sets = result.issues["exact_duplicate_set"].to_numpy()
    assert sets[0] == sets[2] and sets[1] == sets[6] and sets[3] == sets[4]
    assert len({sets[0], sets[1], sets[3]}) == 3 and sets[5] == -1
    assert result.summary["count"] == 6 and result.summary["n_sets"] == 3
    np.testing.assert_array_equal(result.issues["exact_duplicate_score"], np.where(flags, 0, 1))


def _datalab(X: np.ndarray, y: np.ndarray, issue_types: dict) -> pd.DataFrame:
    cleanlab = pytest.importorskip("cleanlab")
    try:
        lab = cleanlab.Datalab(pd.DataFrame({"y": y}), label_name="y", verbosity=0)
        lab.find_issues(features=X, issue_types=issue_types)
    except ImportError as exc:
        pytest.skip(f"cleanlab's Datalab is not installed: {exc}")
    return lab.get_issues()


def _with_near_copies(X: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    copies = X[:20] + rng.normal(0, 1e-3, size=(20, X.shape[1]))
    return np.vstack([X, copies])


def test_near_duplicates_and_outliers_match_cleanlab(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X = _with_near_copies(digits[0], 0)
    y = np.r_[digits[1], digits[1][:20]]
    ref = _datalab(X, y, {"near_duplicate": {}, "outlier": {}})
    graph = nb.knn_graph(X, k=10)
    near = nb.find_near_duplicates(graph=graph).issues
    out = nb.find_outliers(graph=graph).issues
    np.testing.assert_array_equal(near["is_near_duplicate_issue"], ref["is_near_duplicate_issue"])
    np.testing.assert_allclose(near["near_duplicate_score"], ref["near_duplicate_score"], atol=1e-6)
    np.testing.assert_array_equal(out["is_outlier_issue"], ref["is_outlier_issue"])
    np.testing.assert_allclose(out["outlier_score"], ref["outlier_score"], atol=1e-6)


def test_near_duplicate_sets_pair_the_injected_copies(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    X = _with_near_copies(digits[0], 1)
    result = nb.find_near_duplicates(X)
    sets = result.issues["near_duplicate_set"].to_numpy()
    n = len(digits[0])
    assert all(sets[i] >= 0 and sets[i] == sets[n + i] for i in range(20))
    assert result.summary["n_sets"] >= 20
    assert result.issues["near_duplicate_score"].between(0, 1).all()


def test_outliers_find_planted_far_points(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X = digits[0].copy()
    rng = np.random.default_rng(2)
    planted = rng.choice(len(X), 5, replace=False)
    X[planted] = rng.uniform(0, 16, size=(5, X.shape[1]))  # noise images
    result = nb.find_outliers(X, metric="euclidean")
    worst = np.argsort(result.issues["outlier_score"].to_numpy())[:5]
    assert set(worst) == set(planted)
    assert result.issues["is_outlier_issue"].to_numpy()[planted].all()


def test_class_imbalance_flags_rare_classes() -> None:
    labels = np.array(["a"] * 60 + ["b"] * 38 + ["c"] * 2)
    result = nb.find_class_imbalance(labels, threshold=0.1)
    flags = result.issues["is_class_imbalance_issue"].to_numpy()
    np.testing.assert_array_equal(flags, labels == "c")
    scores = result.issues["class_imbalance_score"].to_numpy()
    assert scores[-1] == pytest.approx(0.02 * 3) and scores[0] == 1.0
    assert result.summary["rare_classes"] == ["c"]


def test_split_leakage_finds_cross_split_copies(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X = digits[0][:200]
    rng = np.random.default_rng(3)
    split = np.array(["train"] * 150 + ["test"] * 50)
    X = X.copy()
    X[150:155] = X[:5]  # exact copies in test
    X[155:158] = X[5:8] + rng.normal(0, 1e-4, size=(3, 64))  # near copies in test
    X[10] = X[11]  # a duplicate inside train is not leakage
    result = nb.find_split_leakage(X, split)
    flagged = set(np.flatnonzero(result.issues["is_leakage_issue"].to_numpy()))
    assert flagged == set(range(5)) | set(range(150, 155)) | {5, 6, 7, 155, 156, 157}
    exact = result.issues["leakage_exact"].to_numpy()
    assert set(np.flatnonzero(exact)) == set(range(5)) | set(range(150, 155))
    assert (result.issues["leakage_score"].to_numpy()[exact] == 0).all()
    with pytest.raises(InputError, match="split"):
        nb.find_split_leakage(X, split[:-1])


def test_knn_label_distribution_counts_neighbour_labels() -> None:
    X = np.random.default_rng(4).normal(size=(40, 3))
    codes = np.random.default_rng(5).integers(0, 3, 40)
    graph = nb.knn_graph(X, k=5, metric="euclidean")
    dist = nb.knn_label_distribution(graph, codes, 3, prior_weight=0.0)
    for i in (0, 17, 39):
        expected = np.bincount(codes[graph.indices[i]], minlength=3) / 5
        np.testing.assert_allclose(dist[i], expected)
    smoothed = nb.knn_label_distribution(graph, codes, 3)
    np.testing.assert_allclose(smoothed.sum(axis=1), 1.0)


# ----------------------------------------------------------------- tabular space
def test_robust_scale_is_unit_free_and_guards_flat_columns() -> None:
    rng = np.random.default_rng(6)
    X = np.c_[
        rng.normal(5, 2, 400),  # ordinary
        rng.lognormal(8, 1, 400),  # heavy-tailed, large units
        np.full(400, 3.0),  # constant
        (rng.random(400) < 0.05).astype(float),  # a rare 0/1 flag (IQR 0)
        np.where(rng.random(400) < 0.1, rng.integers(5, 50, 400), 0.0),  # sparse count
    ]
    Z = nb.robust_scale(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(np.median(Z[:, :2], axis=0), 0.0, atol=1e-12)
    iqr = np.subtract(*np.percentile(Z[:, :2], [75, 25], axis=0))
    np.testing.assert_allclose(iqr, 1.0)
    np.testing.assert_array_equal(Z[:, 2], 0.0)
    np.testing.assert_array_equal(np.unique(Z[:, 3]), [0.0, 1.0])  # the flag stays 0/1
    count = X[:, 4] > 0  # measured in its typical non-zero size: neither tiny nor huge
    assert np.median(Z[count, 4]) == pytest.approx(1.0)
    units = X * np.array([1000.0, 1e-3, 7.0, 2.0, -3.0]) + np.array([1.0, -5.0, 2.0, 0.0, 9.0])
    np.testing.assert_allclose(nb.robust_scale(units) * [1, 1, 1, 1, -1], Z, atol=1e-9)


def test_tabular_graph_does_not_depend_on_column_units() -> None:
    X = load_wine().data
    rescaled = X * np.where(np.arange(X.shape[1]) == 12, 1e-3, 1.0)  # proline in g/L
    rescaled[:, 4] *= 100.0  # magnesium in other units
    a = nb.knn_graph(X, k=10, space="tabular")
    b = nb.knn_graph(rescaled, k=10, space="tabular")
    assert (a.space, a.metric) == ("tabular", "euclidean")
    np.testing.assert_allclose(a.distances, b.distances, rtol=1e-9)
    assert (a.indices == b.indices).mean() > 0.999
    raw = nb.knn_graph(X, k=10, space="embedding")  # as before: cosine on the raw rows
    assert raw.metric == "cosine" and (raw.indices != a.indices).any()


@pytest.mark.parametrize("loader", [load_wine, load_breast_cancer, load_digits, load_iris])
def test_tabular_checks_keep_planted_findings_only(loader: Any) -> None:
    """On real tables, near duplicates are the planted copies (and the data's own exact
    duplicates) and the planted data-entry errors are outliers."""
    X = loader().data.astype(np.float64)
    n = X.shape[0]
    rng = np.random.default_rng(7)
    iqr = np.subtract(*np.percentile(X, [75, 25], axis=0))
    errors = X[rng.choice(n, 3, replace=False)].copy()
    for row, col in enumerate(rng.choice(np.flatnonzero(iqr > 0), 3, replace=False)):
        errors[row, col] = X[:, col].max() + 10 * iqr[col]  # a value typed 10 IQRs too high
    originals = rng.choice(n, 4, replace=False)
    copies = X[originals] + rng.normal(0, 1e-3, size=(4, X.shape[1])) * iqr
    full = np.vstack([X, errors, copies])
    graph = nb.knn_graph(full, k=10, space="tabular")
    near = set(
        np.flatnonzero(nb.find_near_duplicates(graph=graph).issues["is_near_duplicate_issue"])
    )
    exact = set(np.flatnonzero(nb.find_exact_duplicates(X).issues["is_exact_duplicate_issue"]))
    assert near == set(originals) | set(range(n + 3, n + 7)) | exact
    outliers = nb.find_outliers(graph=graph).issues["is_outlier_issue"].to_numpy()
    assert outliers[n : n + 3].all()
    assert outliers[:n].mean() < 0.07  # ordinary rows: a tail, not a class or a column


def test_split_leakage_in_tabular_space() -> None:
    X = load_wine().data.copy()
    split = np.where(np.arange(len(X)) % 3 == 0, "test", "train")
    X[3] = X[4] * (1 + 1e-6)  # row 3 (test) is a near copy of row 4 (train)
    result = nb.find_split_leakage(X, split, space="tabular")
    flagged = set(np.flatnonzero(result.issues["is_leakage_issue"].to_numpy()))
    assert flagged == {3, 4}
    assert result.summary["count"] == 2


# ----------------------------------------------------------------- exact search
def _low_dim(n: int, seed: int) -> np.ndarray:
    """n rows of 12 columns driven by 3 latent factors (a k-d tree prunes well)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) @ rng.normal(size=(3, 12)) + 0.01 * rng.normal(size=(n, 12))


def test_kd_tree_search_is_exact_and_chosen_only_when_it_prunes() -> None:
    X = _low_dim(6000, 8)
    X[100:110] = X[99]  # a group of 11 identical rows: self must still be excluded
    graph = nb.knn_graph(X, k=5, metric="euclidean")
    assert graph.search == "kd_tree"
    ref_d, _ = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(X).kneighbors()
    np.testing.assert_allclose(graph.distances, ref_d, atol=1e-9)
    assert not (graph.indices == np.arange(len(X))[:, None]).any()
    dense = np.random.default_rng(9).normal(size=(6000, 30))  # 30 independent columns
    assert nb.knn_graph(dense, k=5, metric="euclidean").search == "brute"


def test_nearest_distance_matches_brute_force() -> None:
    X = _low_dim(8000, 10)
    fit, queries = X[:6000], X[6000:]
    ref = cdist(queries, fit).min(axis=1)
    np.testing.assert_allclose(nb.nearest_distance(fit, queries), ref, atol=1e-9)
