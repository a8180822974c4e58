"""Tests of the internal building blocks of label-issue detection."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from assay.train.labels import estimate_noise, find_label_issues
from assay.train.labels._joint import round_preserving_row_totals
from assay.train.labels._prune import _select_sorted, _select_top, class_members, prune_counts


def _naive_select(groups: np.ndarray, values: np.ndarray, quota: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        out[members[np.argsort(-values[members])[: quota[g]]]] = True
    return out


@pytest.mark.parametrize("seed", range(4))
def test_histogram_selection_equals_a_full_sort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_groups = 50
    groups = rng.integers(0, n_groups, 20_000)
    values = rng.beta(0.5, 3.0, 20_000)  # skewed, many in the same histogram bins
    quota = rng.integers(0, 600, n_groups)
    expected = _naive_select(groups, values, quota)
    np.testing.assert_array_equal(_select_sorted(groups, values, quota), expected)
    np.testing.assert_array_equal(_select_top(groups, values, quota), expected)
    np.testing.assert_array_equal(_select_top(groups, values, quota, bins=3), expected)


def test_class_members_are_the_indices_of_each_class() -> None:
    codes = np.array([2, 0, 2, 1, 0, 2])
    members = class_members(codes, 4)
    assert [m.tolist() for m in members] == [[1, 4], [3], [0, 2, 5], []]


def test_round_preserving_row_totals_equals_cleanlab() -> None:
    util = pytest.importorskip("cleanlab.internal.util")
    rng = np.random.default_rng(0)
    for _ in range(20):
        matrix = rng.random((5, 5)) * 40
        ours = round_preserving_row_totals(matrix)
        np.testing.assert_array_equal(ours, util.round_preserving_row_totals(matrix))
        np.testing.assert_array_equal(ours.sum(axis=1), np.round(matrix.sum(axis=1)))


@pytest.mark.parametrize("min_per_class", [1, 5, 40])
def test_prune_counts_equal_cleanlab(min_per_class: int) -> None:
    cl_filter = pytest.importorskip("cleanlab.filter")
    rng = np.random.default_rng(min_per_class)
    joint = rng.integers(0, 30, (6, 6))
    joint[np.diag_indices(6)] = rng.integers(0, 60, 6)
    ref = cl_filter._keep_at_least_n_per_class(joint.T, n=min_per_class)
    np.testing.assert_array_equal(prune_counts(joint, min_per_class=min_per_class), ref)


@pytest.mark.parametrize("min_per_class", [0, 3, 30])
def test_min_examples_per_class_equals_cleanlab(min_per_class: int) -> None:
    cl_filter = pytest.importorskip("cleanlab.filter")
    rng = np.random.default_rng(5)
    n, k = 1200, 4
    true = rng.choice(k, n, p=[0.5, 0.3, 0.18, 0.02])
    logits = rng.normal(size=(n, k)) * 1.5
    logits[np.arange(n), true] += 2.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.25, rng.integers(0, k, n), true)
    for method in ("prune_by_noise_rate", "prune_by_class", "both"):
        ours = find_label_issues(
            labels, proba, method=method, min_examples_per_class=min_per_class
        )["is_label_issue"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cleanlab warns about the tiny class
            ref = cl_filter.find_label_issues(
                labels, proba, filter_by=method, min_examples_per_class=min_per_class, n_jobs=1
            )
        np.testing.assert_array_equal(ours, ref)


def _imbalanced_confidence(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Classes with very different confidence: some (given, true) quotas then exceed
    the examples whose true-class probability beats the given one's."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 4, n)
    logits = rng.normal(size=(n, 4))
    logits[np.arange(n), true] += np.array([8.0, 1.0, 3.0, 0.5])[true]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.2, rng.integers(0, 4, n), true)
    return labels, proba


def test_whole_class_fallback_equals_cleanlab() -> None:
    from assay.train.labels import _issues as li
    from assay.train.labels._prune import _quota

    cl_filter = pytest.importorskip("cleanlab.filter")
    labels, proba = _imbalanced_confidence(0)
    ctx, _ = li._confident_learning(labels, proba, None, func="test")
    boosted = proba.copy()
    boosted[np.arange(len(labels)), labels] += 1e-6
    cand = boosted.argmax(axis=1) != labels
    margins = proba[cand] - proba[cand, labels[cand]][:, None]
    row, col = np.nonzero(margins > 2e-6)
    found = np.bincount(labels[cand][row] * 4 + col, minlength=16)
    assert (_quota(ctx) > found).any()  # this input exercises the fallback
    for method in ("prune_by_noise_rate", "both"):
        ours = find_label_issues(labels, proba, method=method)["is_label_issue"].to_numpy()
        ref = cl_filter.find_label_issues(labels, proba, filter_by=method, n_jobs=1)
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("num", [1, 7, 150, 900, 5000])
def test_top_margins_equal_a_full_ranking(num: int) -> None:
    from assay.train.labels import _issues as li
    from assay.train.labels._prune import _top_margins

    labels, proba = _imbalanced_confidence(1)
    ctx, _ = li._confident_learning(labels, proba, None, func="test")
    for k in range(4):
        members = np.flatnonzero(labels == k)
        for col in np.delete(np.arange(4), k):  # col == k: all margins tie at 0
            margins = proba[members, col] - proba[members, k]
            expected = set(members[np.argsort(-margins)[:num]].tolist())
            assert set(_top_margins(ctx.stats, members, int(col), num).tolist()) == expected


def _many_weak_classes(seed: int, n: int = 4000, k: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Many classes with low, uneven confidence: thresholds far below 1/2, so an argmax
    often misses its own threshold while another class reaches its (lower) one."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += rng.uniform(0.5, 3.5, k)[true]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.2, rng.integers(0, k, n), true)
    return labels, proba


def _two_class_rows(seed: int, n: int = 3000, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Sparse rows (Dirichlet(0.3)), labelled by their argmax except 30% given class 0,
    whose threshold is then low: an argmax just above 1/2 can miss its (high) threshold
    while class 0, near ``1 - max``, reaches its own."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(k, 0.3), n)
    labels = np.where(rng.random(n) < 0.7, proba.argmax(axis=1), 0)
    return labels, proba


def _argmax_misses_but_other_reaches(labels: np.ndarray, proba: np.ndarray) -> int:
    """Rows where cleanlab's guess is not simply the argmax reaching its threshold."""
    k = proba.shape[1]
    thresholds = np.array([proba[labels == j, j].mean() for j in range(k)]) - 1e-6
    reached = proba >= thresholds
    top = proba.argmax(axis=1)
    misses = ~reached[np.arange(len(top)), top]
    return int((misses & reached.any(axis=1)).sum())


@pytest.mark.parametrize("make", [_many_weak_classes, _imbalanced_confidence, _two_class_rows])
def test_joint_and_masks_equal_cleanlab_when_the_argmax_misses(make: Any) -> None:
    count = pytest.importorskip("cleanlab.count")
    cl_filter = pytest.importorskip("cleanlab.filter")
    labels, proba = make(3)
    assert _argmax_misses_but_other_reaches(labels, proba) > 0  # the rule is exercised
    est = estimate_noise(labels, proba)
    ref_joint = count.compute_confident_joint(labels, proba, calibrate=True)
    np.testing.assert_array_equal(est.confident_joint, ref_joint)
    assert est.num_issues == count.num_label_issues(labels, proba)
    for method in ("prune_by_noise_rate", "prune_by_class", "confident_learning"):
        ours = find_label_issues(labels, proba, method=method)["is_label_issue"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = cl_filter.find_label_issues(labels, proba, filter_by=method, n_jobs=1)
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("per_group", [2, 300])  # the sort branch, the histogram branch
def test_kth_largest_equals_a_full_sort(per_group: int) -> None:
    from assay.train.labels._prune import _kth_largest

    rng = np.random.default_rng(per_group)
    n_groups = 40
    groups = rng.integers(0, n_groups, n_groups * per_group)
    values = rng.beta(0.5, 3.0, len(groups))
    kth = rng.integers(0, 2 * per_group, n_groups)
    expected = np.full(n_groups, -np.inf)
    for g in range(n_groups):
        ranked = np.sort(values[groups == g])[::-1]
        if 1 <= kth[g] <= len(ranked):
            expected[g] = ranked[kth[g] - 1]
    np.testing.assert_array_equal(_kth_largest(groups, values, kth), expected)


@pytest.mark.parametrize("confident", [0.2, 0.9])  # whole-block argmax, partial argmax
def test_scan_chunk_equals_numpy(confident: float) -> None:
    from assay.train.labels._stats import _scan_chunk

    rng = np.random.default_rng(7)
    n, k = 2000, 6
    codes = rng.integers(0, k, n)
    chunk = rng.random((n, k))
    sure = rng.random(n) < confident
    chunk[sure, codes[sure]] = 50.0  # the given label is a sure argmax on these rows
    sums = chunk.sum(axis=1)
    self_conf, top, max_prob = _scan_chunk(chunk, codes, sums, np.arange(n) * k)
    np.testing.assert_array_equal(self_conf, chunk[np.arange(n), codes] / sums)
    np.testing.assert_array_equal(top, chunk.argmax(axis=1))
    np.testing.assert_array_equal(max_prob, chunk.max(axis=1) / sums)
