"""Regression label issues: cleanlab 2.9 as the anchor, the table contract, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import average_precision_score
from sklearn.model_selection import KFold, cross_val_predict

import assay
from assay.exceptions import InputError
from assay.train.labels import find_regression_issues
from assay.train.labels._regression import mixture_cut


def _plant(y: np.ndarray, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half of the noisy labels drawn from the label marginal, half shifted by 1-3 SD."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), int(rate * len(y)), replace=False)
    noisy = y.copy()
    half = len(rows) // 2
    noisy[rows[:half]] = y[rng.integers(0, len(y), half)]
    shift = rng.choice([-1.0, 1.0], len(rows) - half) * rng.uniform(1, 3, len(rows) - half)
    noisy[rows[half:]] = y[rows[half:]] + shift * y.std()
    return noisy, noisy != y


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    noisy, wrong = _plant(y.astype(float), 0.1, seed=0)
    pred = cross_val_predict(Ridge(), X, noisy, cv=KFold(5, shuffle=True, random_state=0))
    return X, noisy, pred, wrong


def test_auprc_at_least_cleanlab_given_the_same_predictions(diabetes) -> None:
    rank = pytest.importorskip("cleanlab.regression.rank")
    X, y, pred, wrong = diabetes
    ref = average_precision_score(wrong, -rank.get_label_quality_scores(y, pred))
    ours = find_regression_issues(y, pred)
    with_features = find_regression_issues(y, pred, features=X)
    assert average_precision_score(wrong, -ours["label_quality"]) >= ref - 1e-9
    assert average_precision_score(wrong, -with_features["label_quality"]) >= ref - 1e-9


def test_table_contract(diabetes) -> None:
    _, y, pred, _ = diabetes
    table = find_regression_issues(y, pred)
    assert list(table.columns) == [
        "is_label_issue", "label_quality", "given_label", "suggested_label", "residual"
    ]
    assert table.index.equals(pd.RangeIndex(len(y)))
    assert table["is_label_issue"].dtype == bool
    quality = table["label_quality"].to_numpy()
    assert ((quality >= 0) & (quality <= 1)).all()
    # flagged exactly where the quality is below one half (the cut maps to 0.5)
    np.testing.assert_array_equal(table["is_label_issue"].to_numpy(), quality < 0.5)
    np.testing.assert_allclose(table["given_label"], y)
    # the planted errors are fractional: the suggestion is the estimate itself
    np.testing.assert_allclose(table["residual"], y - table["suggested_label"])
    # lower quality = larger robust residual
    order = np.argsort(quality)
    assert np.abs(table["residual"].to_numpy()[order[0]]) >= np.median(np.abs(table["residual"]))


def test_series_index_kept_and_whole_number_labels_get_whole_suggestions() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(3, 9, 300)
    pred = y + rng.normal(0, 0.4, 300)
    y[7] = 3 if y[7] > 5 else 8  # one gross error
    pred[7] = 6.0
    labels = pd.Series(y, index=[f"r{i}" for i in range(300)])
    table = find_regression_issues(labels, pred)
    assert table.index.equals(labels.index)
    assert table.loc["r7", "is_label_issue"]
    assert table["label_quality"].idxmin() == "r7"
    assert table["suggested_label"].dtype.kind == "i"
    assert table.loc["r7", "suggested_label"] == 6
    # whole numbers stored as floats (a --task regression column) keep their grid
    as_float = find_regression_issues(labels.astype(float), pred)
    assert as_float["suggested_label"].dtype.kind == "f"
    np.testing.assert_array_equal(as_float["suggested_label"], table["suggested_label"])
    fractional = find_regression_issues(labels + 0.25, pred)
    assert (fractional["suggested_label"] != np.round(fractional["suggested_label"])).any()


def test_suggestions_stay_within_the_range_of_the_given_labels() -> None:
    # hourly counts near zero with a linear model's estimates below it: '3 -> -27' bikes
    rng = np.random.default_rng(4)
    y = rng.poisson(rng.uniform(1, 40, 400)).astype(float) + 1.0
    estimate = y + rng.normal(0, 2, 400)
    estimate[:5] = [-27.0, -0.3, -5.0, 120.0, 0.2]
    y[3] = 2.0
    table = find_regression_issues(y, estimate)
    suggested = table["suggested_label"].to_numpy()
    assert suggested.min() >= y.min() and suggested.max() <= y.max()
    np.testing.assert_array_equal(suggested[:5], [y.min(), y.min(), y.min(), y.max(), y.min()])
    assert not np.signbit(suggested).any()  # no '-0.0'
    # the score still measures the distance to the estimate itself
    np.testing.assert_allclose(table["residual"], y - estimate)
    assert table["label_quality"].iloc[3] < 0.5


def test_whole_number_regression_labels_show_as_integers() -> None:
    from assay.tasks import get_task

    task = get_task("regression")
    assert task.show_suggestion(601.0, np.float64(196.0)) == "601 -> 196"
    assert task.show_suggestion(3.5, 4.0) == "3.5 -> 4"
    assert task.show_suggestion(44.0, float("nan")) == "44"  # nothing suggested (a duplicate)
    assert task.show_suggestion(44.0, None) == "44"


def test_public_find_label_issues_hands_off_to_the_regression_task(diabetes) -> None:
    _, y, pred, _ = diabetes
    pd.testing.assert_frame_equal(
        assay.find_label_issues(y, pred, task="regression"), find_regression_issues(y, pred)
    )


def test_local_scale_for_heteroscedastic_targets() -> None:
    rng = np.random.default_rng(2)
    truth = rng.uniform(1, 100, 5000)
    y = truth + rng.normal(0, 0.1 * truth)  # noise grows with the value
    # a small absolute error on small values: only a local scale sees it
    y[:50] = np.where(truth[:50] < 10, truth[:50] + 8.0, y[:50])
    table = find_regression_issues(y, truth)
    assert table.attrs["fit"].scale == "local"
    small = np.flatnonzero(truth[:50] < 10)
    assert table["is_label_issue"].to_numpy()[small].mean() > 0.8


def test_neighbours_are_used_when_they_explain_the_labels() -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (2000, 2))
    y = np.sin(6 * X[:, 0]) + rng.normal(0, 0.05, 2000)
    weak = np.full(2000, y.mean())  # a model that learnt nothing
    table = find_regression_issues(y, weak, features=X)
    assert table.attrs["fit"].knn_weight > 0


def test_mixture_cut_separates_a_wide_component() -> None:
    rng = np.random.default_rng(4)
    z = np.abs(np.concatenate([rng.normal(0, 1, 9000), rng.normal(0, 12, 1000)]))
    cut, share = mixture_cut(z)
    assert 3.0 <= cut < 6.0
    assert 0.05 < share < 0.2
    assert mixture_cut(np.abs(rng.normal(0, 0.5, 1000)))[0] == np.inf


@pytest.mark.parametrize(
    ("labels", "predictions", "match"),
    [
        ([1.0, np.nan, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], "labels at position 1"),
        ([1.0, 2.0, 3.0, 4.0], [1.0, np.inf, 3.0, 4.0], "predictions at position 1"),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0], "predictions has 3 values"),
        (["a", "b", "c", "d"], [1.0, 2.0, 3.0, 4.0], "must be numbers"),
        ([1.0, 2.0], [1.0, 2.0], "at least 3 labels"),
    ],
)
def test_bad_input_is_one_line(labels, predictions, match) -> None:
    with pytest.raises(InputError, match=match) as err:
        find_regression_issues(labels, predictions)
    assert "\n" not in str(err.value)


def test_bad_features_and_options() -> None:
    y = np.arange(10.0)
    with pytest.raises(InputError, match="features must be 2-d"):
        find_regression_issues(y, y, features=np.ones((9, 2)))
    with pytest.raises(InputError, match="neighbors holds row numbers"):
        find_regression_issues(y, y, neighbors=np.full((10, 2), 10))
    with pytest.raises(InputError, match="option of classification") as err:
        assay.find_label_issues(y, y, task="regression", method="both")
    assert "\n" not in str(err.value)


def test_epistemic_variance_widens_only_where_the_estimates_disagree() -> None:
    from assay.train.labels._regression import _with_epistemic

    rng = np.random.default_rng(6)
    epistemic = rng.exponential(0.01, 1000)
    epistemic[:10] = 4.0  # the model and the neighbours disagree by a lot here
    scale = _with_epistemic(np.ones(1000), epistemic)
    assert (scale[:10] > 2).all()
    assert np.median(scale) == pytest.approx(1.0, abs=0.01)  # the typical scale is kept
    assert (scale >= 0.5).all() and np.all(np.diff(scale[np.argsort(epistemic)]) >= 0)


def test_a_label_no_similar_item_carries_is_more_suspicious_than_a_usual_one() -> None:
    """Two residuals of the same size: the label 9 (where the items of similar estimate
    score 6-8) is judged worse than the label 6 (common among its neighbours by estimate);
    residuals alone would tie them."""
    rng = np.random.default_rng(0)
    pred = rng.uniform(4.0, 7.5, 600)
    y = np.clip(np.round(pred + rng.normal(0, 0.4, 600)), 3, 8)
    pred[:2], y[:2] = [7.5, 4.5], [9.0, 6.0]  # both residuals 1.5
    quality = find_regression_issues(y, pred)["label_quality"].to_numpy()
    assert quality[0] < quality[1]


def test_label_surprise_ranks_an_unseen_label_highest() -> None:
    from assay.train.labels._regression import label_surprise

    rng = np.random.default_rng(1)
    estimate = rng.normal(size=400)
    y = estimate + rng.normal(0, 0.3, 400)
    y[7] = 6.0
    surprise = label_surprise(y, estimate, bandwidth=0.2)
    assert surprise.shape == (400,) and np.isfinite(surprise).all()
    assert int(np.argmax(surprise)) == 7
