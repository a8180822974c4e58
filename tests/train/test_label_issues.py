"""Tests of confident learning and label-quality scores (assay.train.labels)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

from assay.exceptions import InputError
from assay.train.labels import (
    NoiseEstimate,
    estimate_noise,
    find_label_issues,
    summarize_label_issues,
)
from assay.train.predict import cross_val_predict_proba, default_model

METHODS = ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning"]
SCORES = ["self_confidence", "normalized_margin", "confidence_weighted_entropy"]


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    with threadpool_limits(1):
        yield


def _noisy(n: int, k: int, seed: int, noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities around a true class, and labels with random flips."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) * 1.5
    logits[np.arange(n), true] += 2.5
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < noise
    labels[flip] = rng.integers(0, k, flip.sum())
    return labels, proba


CASES = [(3000, 4, 1), (4000, 10, 2), (2000, 3, 3), (1500, 12, 4), (1000, 2, 5)]


# --- against cleanlab, the reference implementation --------------------------------


@pytest.mark.parametrize(("n", "k", "seed"), CASES)
@pytest.mark.parametrize("method", METHODS)
def test_masks_equal_cleanlab(n: int, k: int, seed: int, method: str) -> None:
    cl_filter = pytest.importorskip("cleanlab.filter")
    labels, proba = _noisy(n, k, seed)
    ours = find_label_issues(labels, proba, method=method)["is_label_issue"].to_numpy()
    ref = cl_filter.find_label_issues(labels, proba, filter_by=method, n_jobs=1)
    assert ref.sum() > 0
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize(("n", "k", "seed"), CASES[:3])
@pytest.mark.parametrize("score", SCORES)
def test_scores_equal_cleanlab(n: int, k: int, seed: int, score: str) -> None:
    rank = pytest.importorskip("cleanlab.rank")
    labels, proba = _noisy(n, k, seed)
    ours = find_label_issues(labels, proba, score=score)["label_quality"].to_numpy()
    ref = rank.get_label_quality_scores(labels, proba, method=score)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    assert ((ours >= 0) & (ours <= 1)).all()


@pytest.mark.parametrize(("n", "k", "seed"), CASES)
def test_noise_estimates_equal_cleanlab(n: int, k: int, seed: int) -> None:
    count = pytest.importorskip("cleanlab.count")
    labels, proba = _noisy(n, k, seed)
    est = estimate_noise(labels, proba)
    prior, noise, inverse, joint = count.estimate_py_and_noise_matrices_from_probabilities(
        labels, proba
    )
    np.testing.assert_array_equal(est.confident_joint, joint)
    np.testing.assert_allclose(est.noise_matrix, noise, atol=1e-12)
    np.testing.assert_allclose(est.inverse_noise_matrix, inverse, atol=1e-12)
    np.testing.assert_allclose(est.prior, prior, atol=1e-9)
    assert est.num_issues == count.num_label_issues(labels, proba)


def test_confident_joint_rule_by_hand() -> None:
    """Thresholds are per-class mean self-confidences; counted at (given, guess)."""
    proba = np.array(
        [
            [0.9, 0.1, 0.0],
            [0.7, 0.3, 0.0],
            [0.2, 0.8, 0.0],
            [0.6, 0.4, 0.0],
            [0.1, 0.1, 0.8],
            [0.3, 0.1, 0.6],
        ]
    )
    labels = np.array([0, 0, 1, 1, 2, 2])
    # thresholds: class 0 -> 0.8, class 1 -> 0.6, class 2 -> 0.7
    # row 0: only 0 reaches -> (0,0); row 1: none; row 2: 1 -> (1,1); row 3: none;
    # row 4: 2 -> (2,2); row 5: none. Diagonal >= 1, so the joint is the identity,
    # calibrated to the label counts: 2 per class.
    est = estimate_noise(labels, proba)
    np.testing.assert_array_equal(est.confident_joint, np.diag([2, 2, 2]))
    assert est.num_issues == 0
    flags = find_label_issues(labels, proba, method="confident_learning")
    assert not flags["is_label_issue"].any()


# --- ground truth: planted noise and real, human-verified errors --------------------


def _digits_with_noise(rate: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    flip = rng.random(len(y)) < rate
    noisy[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10  # always a wrong class
    proba = cross_val_predict_proba(default_model("embeddings"), X, noisy, n_jobs=1)
    return noisy, proba, flip


def test_planted_noise_on_digits_is_recovered() -> None:
    labels, proba, flipped = _digits_with_noise(0.12, seed=0)
    result = find_label_issues(labels, proba)
    flagged = result["is_label_issue"].to_numpy()
    precision = (flagged & flipped).sum() / flagged.sum()
    recall = (flagged & flipped).sum() / flipped.sum()
    assert precision > 0.75
    assert recall > 0.6
    auprc = average_precision_score(flipped, 1 - result["label_quality"])
    assert auprc > 0.8
    worst = np.argsort(result["label_quality"].to_numpy())[:100]
    assert flipped[worst].mean() >= 0.9  # the top of the ranking is almost all planted errors
    # the suggestion of a flagged example is mostly its true digit
    true = load_digits().target
    assert (
        result["suggested_label"].to_numpy()[flagged & flipped] == true[flagged & flipped]
    ).mean() > 0.8
    est = estimate_noise(labels, proba)
    assert abs(est.num_issues - flipped.sum()) < 0.35 * flipped.sum()


def _real_errors(shared: Path, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    folder = shared / "label-errors"
    proba = np.load(folder / f"{name}_test_set_pyx.npy")
    labels = np.load(folder / f"{name}_test_set_original_labels.npy")
    truth = np.zeros(len(labels), dtype=bool)
    for item in json.loads((folder / f"{name}_mturk.json").read_text()):
        truth[item["id"]] = item["mturk"]["given"] < 3
    return labels, proba, truth


@pytest.mark.parametrize(("name", "n_errors"), [("mnist", 15), ("cifar10", 54)])
def test_real_label_errors_match_or_beat_cleanlab(
    shared_data: Path, name: str, n_errors: int
) -> None:
    cl_filter = pytest.importorskip("cleanlab.filter")
    rank = pytest.importorskip("cleanlab.rank")
    labels, proba, truth = _real_errors(shared_data, name)
    assert truth.sum() == n_errors
    assert abs(proba.sum(axis=1) - 1).max() > 1e-7  # rows need the renormalisation
    ours = find_label_issues(labels, proba)
    ref_scores = rank.get_label_quality_scores(labels, proba)
    ref_flags = cl_filter.find_label_issues(labels, proba, n_jobs=1)
    ap = average_precision_score(truth, 1 - ours["label_quality"])
    ap_ref = average_precision_score(truth, 1 - ref_scores)
    assert ap >= ap_ref - 1e-9

    def f1(flags: np.ndarray) -> float:
        hit = (flags & truth).sum()
        return 2 * hit / (flags.sum() + truth.sum())

    assert f1(ours["is_label_issue"].to_numpy()) >= f1(ref_flags) - 1e-9
    assert (ours["is_label_issue"] & truth).sum() >= 0.4 * n_errors


# --- the result table ---------------------------------------------------------------


def test_string_labels_match_integer_codes() -> None:
    labels, proba = _noisy(800, 3, 7)
    names = np.array(["cat", "dog", "eel"])
    by_code = find_label_issues(labels, proba)
    by_name = find_label_issues(names[labels], proba)
    np.testing.assert_array_equal(by_code["is_label_issue"], by_name["is_label_issue"])
    np.testing.assert_array_equal(by_code["label_quality"], by_name["label_quality"])
    assert (by_name["given_label"].to_numpy() == names[labels]).all()
    assert (by_name["suggested_label"].to_numpy() == names[proba.argmax(1)]).all()


def test_classes_give_the_column_order() -> None:
    labels, proba = _noisy(600, 3, 8)
    names = np.array(["zebra", "ant", "moth"])  # column order, not sorted
    result = find_label_issues(list(names[labels]), proba, classes=list(names))
    ref = find_label_issues(labels, proba)
    np.testing.assert_array_equal(result["is_label_issue"], ref["is_label_issue"])
    assert list(result.columns) == [
        "is_label_issue",
        "label_quality",
        "given_label",
        "suggested_label",
    ]
    assert result["is_label_issue"].dtype == bool


def test_series_index_is_kept_and_rows_stay_in_order() -> None:
    labels, proba = _noisy(300, 3, 9)
    series = pd.Series(labels, index=np.arange(300)[::-1] * 10)
    result = find_label_issues(series, proba)
    assert (result.index == series.index).all()
    np.testing.assert_array_equal(result["given_label"], labels)
    sc = proba[np.arange(300), labels]
    np.testing.assert_allclose(result["label_quality"], sc)


def test_deterministic() -> None:
    labels, proba = _noisy(5000, 10, 11)
    first = find_label_issues(labels, proba)
    pd.testing.assert_frame_equal(first, find_label_issues(labels, proba))


def test_float32_and_lists_give_the_same_result_as_float64() -> None:
    labels, proba = _noisy(1000, 5, 12)
    p32 = proba.astype(np.float32)
    ref = find_label_issues(labels, p32.astype(np.float64))
    pd.testing.assert_frame_equal(find_label_issues(labels, p32), ref)
    pd.testing.assert_frame_equal(find_label_issues(labels.tolist(), p32.tolist()), ref)


def test_large_input_is_chunked_consistently() -> None:
    """Many chunks give the same answer as the reference on the whole array."""
    cl_filter = pytest.importorskip("cleanlab.filter")
    labels, proba = _noisy(60_000, 10, 13)
    ours = find_label_issues(labels, proba)["is_label_issue"].to_numpy()
    np.testing.assert_array_equal(ours, cl_filter.find_label_issues(labels, proba, n_jobs=1))


def test_rows_within_tolerance_are_renormalised() -> None:
    labels, proba = _noisy(500, 4, 14)
    scaled = proba * (1 + 5e-5)
    result = find_label_issues(labels, scaled)
    np.testing.assert_allclose(result["label_quality"], proba[np.arange(500), labels])


# --- bad input ----------------------------------------------------------------------


def _bad(proba: np.ndarray, row: int, value: float) -> np.ndarray:
    out = proba.copy()
    out[row, 0] = value
    return out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: _bad(p, 17, p[17, 0] + 0.01), r"position 17 \(0-based\) sums to"),
        (lambda p: _bad(p, 5, np.nan), r"position 5 \(0-based\) contains NaN or inf"),
        (lambda p: _bad(p, 9, np.inf), r"position 9 \(0-based\) contains NaN or inf"),
        (lambda p: _bad(p, 3, -0.1), r"position 3 \(0-based\) has a negative"),
        (lambda p: p[:-1], "99 rows but there are 100 labels"),
        (lambda p: p[:, 0], "2-d array"),
        (lambda p: p * 3, r"position 0 \(0-based\) sums to 3"),
    ],
)
def test_bad_pred_probs(edit: object, message: str) -> None:
    labels, proba = _noisy(100, 3, 15)
    with pytest.raises(InputError, match=message):
        find_label_issues(labels, edit(proba))  # type: ignore[operator]


def test_bad_row_far_into_a_large_array_is_named() -> None:
    labels, proba = _noisy(50_000, 3, 16)
    proba[43_210] = [0.5, 0.5, 0.5]
    with pytest.raises(InputError, match=r"position 43210 \(0-based\) sums to 1.5"):
        find_label_issues(labels, proba)


def test_labels_outside_the_classes() -> None:
    labels, proba = _noisy(100, 3, 17)
    labels[4] = 3
    with pytest.raises(InputError, match="not among the classes"):
        find_label_issues(labels, proba)
    with pytest.raises(InputError, match="not among the classes"):
        find_label_issues(np.array(["a", "b", "x"])[labels % 3], proba, classes=["a", "b", "c"])


def test_class_count_must_match_columns() -> None:
    labels, proba = _noisy(100, 3, 18)
    with pytest.raises(InputError, match="2 classes .* but pred_probs has 3 columns"):
        find_label_issues(np.array(["a", "b"])[labels % 2], proba)
    with pytest.raises(InputError, match="pass classes="):
        find_label_issues(labels, proba, classes=["a", "b"])


def test_class_without_examples_warns_and_goes_on() -> None:
    labels, proba = _noisy(400, 4, 19)
    labels[labels == 2] = 1
    with pytest.warns(UserWarning, match=r"1 class\(es\) have no examples \(columns \[2\]\)"):
        result = find_label_issues(labels, proba)
    assert len(result) == 400
    cl_filter = pytest.importorskip("cleanlab.filter")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cl_filter.find_label_issues(labels, proba, n_jobs=1)
    np.testing.assert_array_equal(result["is_label_issue"], ref)


def test_single_class_is_an_error() -> None:
    labels, proba = _noisy(100, 3, 20)
    with pytest.raises(InputError, match="every label is 1"):
        find_label_issues(np.ones(100, dtype=int), proba)
    with pytest.raises(InputError, match="at least 2 classes"):
        find_label_issues(np.zeros(100, dtype=int), np.ones((100, 1)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "prune"}, "'method' parameter"),
        ({"score": "margin"}, "'score' parameter"),
        ({"min_examples_per_class": -1}, "'min_examples_per_class' parameter"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    labels, proba = _noisy(100, 3, 21)
    with pytest.raises(InputError, match=message):
        find_label_issues(labels, proba, **kwargs)  # type: ignore[arg-type]


def test_empty_and_missing_labels() -> None:
    with pytest.raises(InputError, match="no labels"):
        find_label_issues(np.array([], dtype=int), np.empty((0, 3)))
    with pytest.raises(InputError, match=r"position 1 \(0-based\) is missing"):
        find_label_issues(["a", None, "b"], np.full((3, 2), 0.5))


# --- the noise estimate -------------------------------------------------------------


def test_noise_matrix_is_recovered_from_calibrated_probabilities() -> None:
    """Labels drawn from a known noise matrix, probabilities = the true posterior."""
    rng = np.random.default_rng(22)
    n, k = 20_000, 3
    truth_matrix = np.array([[0.8, 0.1, 0.05], [0.15, 0.85, 0.15], [0.05, 0.05, 0.8]])
    true = rng.integers(0, k, n)
    labels = np.array([rng.choice(k, p=truth_matrix[:, t]) for t in true])
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += 4.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    est = estimate_noise(labels, proba)
    assert isinstance(est, NoiseEstimate)
    np.testing.assert_allclose(est.noise_matrix, truth_matrix, atol=0.05)
    np.testing.assert_allclose(est.noise_rates, 1 - truth_matrix.diagonal(), atol=0.05)
    np.testing.assert_allclose(est.noise_matrix.sum(axis=0), 1.0)
    np.testing.assert_allclose(est.prior, np.bincount(true) / n, atol=0.03)
    table = est.to_frame()
    assert list(table.index) == [0, 1, 2]
    assert (table["n_given"].to_numpy() == np.bincount(labels)).all()


def test_summary_counts_the_confused_pairs() -> None:
    labels, proba = _noisy(3000, 4, 23)
    names = np.array(["a", "b", "c", "d"])
    result = find_label_issues(names[labels], proba)
    summary = summarize_label_issues(result)
    flagged = result[result["is_label_issue"]]
    assert summary["n_issues"].sum() == len(flagged)
    assert summary["n_issues"].is_monotonic_decreasing
    first = summary.iloc[0]
    expected = (
        (flagged["given_label"] == first["given_label"])
        & (flagged["suggested_label"] == first["suggested_label"])
    ).sum()
    assert first["n_issues"] == expected
    np.testing.assert_allclose(summary["share"].sum(), 1.0)
    assert (summary["given_label"] != summary["suggested_label"]).all()
