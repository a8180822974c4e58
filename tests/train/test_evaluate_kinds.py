"""Evaluation of regression and multi-label models, checked against scikit-learn.

Real data: scikit-learn's diabetes (regression), UCI wine quality (regression, red and
white as a tag), MULAN yeast (multi-label, its standard train/test split).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    f1_score,
    hamming_loss,
    jaccard_score,
    mean_absolute_error,
    precision_recall_fscore_support,
    r2_score,
    root_mean_squared_error,
)
from sklearn.multioutput import MultiOutputClassifier

import assay
from assay._stats import bootstrap_indices
from assay.exceptions import InputError
from assay.tasks import get_task
from assay.train.evaluate._multilabel import (
    MultilabelEvaluation,
    evaluate_multilabel,
    score_multilabel,
    set_errors,
)
from assay.train.evaluate._regression import (
    RegressionEvaluation,
    _replicates,
    evaluate_regression,
    score_regression,
)
from assay.train.slices import find_slices, recommend, slice_table

LABELS = [f"Class{i}" for i in range(1, 15)]


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge trained on the first 300 rows, predictions on the other 142."""
    X, y = load_diabetes(return_X_y=True)
    pred = Ridge(alpha=1.0).fit(X[:300], y[:300]).predict(X[300:])
    return X[300:], y[300:], pred


@pytest.fixture(scope="module")
def wine(shared_data: Path) -> pd.DataFrame:
    folder = shared_data / "regression" / "wine-quality"
    parts = [pd.read_csv(folder / f"winequality-{c}.csv", sep=";").assign(color=c)
             for c in ("red", "white")]
    # duplicate feature rows (red 240, white 937 exact) would leak across a split
    frame = pd.concat(parts, ignore_index=True)
    features = [c for c in frame.columns if c not in ("quality", "color")]
    return frame.drop_duplicates(subset=features, ignore_index=True)


@pytest.fixture(scope="module")
def yeast(shared_data: Path) -> dict[str, Any]:
    folder = shared_data / "multilabel" / "yeast"
    data = pd.read_csv(folder / "yeast.csv")
    train = pd.read_csv(folder / "yeast-mulan-split.csv")["split"].to_numpy() == "train"
    features = [c for c in data.columns if c.startswith("Att")]
    model = MultiOutputClassifier(LogisticRegression(max_iter=2000))
    model.fit(data.loc[train, features], data.loc[train, LABELS])
    pred = model.predict(data.loc[~train, features])
    return {"data": data, "train": train, "features": features,
            "Y": data.loc[~train, LABELS].to_numpy(), "P": pred}


def _sets(matrix: np.ndarray) -> list[list[str]]:
    return [[name for name, on in zip(LABELS, row, strict=True) if on] for row in matrix]


# -- regression ------------------------------------------------------------------------
def test_regression_scores_equal_scikit_learns(diabetes: Any) -> None:
    _, y, pred = diabetes
    scores = score_regression(y, pred, seed=0)
    assert list(scores) == ["mae", "rmse", "r2"]
    assert scores["mae"]["value"] == mean_absolute_error(y, pred)
    assert scores["rmse"]["value"] == root_mean_squared_error(y, pred)
    assert scores["r2"]["value"] == r2_score(y, pred)
    for m in scores.values():
        assert m["low"] < m["value"] < m["high"]
    assert get_task("regression").score(y, pred) == scores


def test_regression_bootstrap_replicates_are_the_resampled_metrics(diabetes: Any) -> None:
    """Each vectorised replicate equals scikit-learn on the same resample."""
    _, y, pred = diabetes
    reps = _replicates(y, pred, 5, 7)
    idx = next(bootstrap_indices(y.size, 5, 7))
    for b in range(5):
        t, p = y[idx[b]], pred[idx[b]]
        assert reps["mae"][b] == pytest.approx(mean_absolute_error(t, p), rel=1e-12)
        assert reps["rmse"][b] == pytest.approx(root_mean_squared_error(t, p), rel=1e-12)
        assert reps["r2"][b] == pytest.approx(r2_score(t, p), rel=1e-9)


def test_regression_intervals_are_seeded(diabetes: Any) -> None:
    _, y, pred = diabetes
    assert score_regression(y, pred, seed=3) == score_regression(y, pred, seed=3)
    assert score_regression(y, pred, seed=3)["mae"]["low"] != score_regression(
        y, pred, seed=4)["mae"]["low"]


def test_a_wine_regressor_is_evaluated_per_tag(wine: pd.DataFrame) -> None:
    features = [c for c in wine.columns if c not in ("quality", "color")]
    rng = np.random.default_rng(0)
    test = rng.random(len(wine)) < 0.3
    train_df, eval_df = wine[~test], wine[test]
    ev = assay.fit_and_evaluate(
        Ridge(alpha=1.0), train_df[features], train_df["quality"], eval_df[features],
        eval_df["quality"], tags=eval_df[["color"]], task="regression", n_boot=300,
    )
    assert isinstance(ev, RegressionEvaluation) and ev.n == int(test.sum())
    assert ev.info["n_train"] == int((~test).sum()) and ev.duration_s is not None
    for row in ev.per_tag.to_dict(orient="records"):
        mask = (eval_df["color"] == row["value"]).to_numpy()
        err = ev.y_pred[mask] - ev.y_true[mask]
        assert row["n"] == mask.sum()
        assert row["mae"] == pytest.approx(mean_absolute_error(ev.y_true[mask], ev.y_pred[mask]))
        assert row["mse"] == pytest.approx(np.mean(err**2))
        assert row["mae_low"] < row["mae"] < row["mae_high"]
    assert ev.residuals["bias"] == pytest.approx(float(np.mean(ev.y_pred - ev.y_true)))
    assert np.array_equal(ev.item_errors, np.abs(ev.y_pred - ev.y_true))
    assert all(len(line) <= 80 for line in ev.summary().splitlines())
    back = RegressionEvaluation.from_dict(ev.to_dict())
    assert back.overall == ev.overall and np.array_equal(back.y_pred, ev.y_pred)


def test_regression_slices_and_recommendations_follow_the_error(wine: pd.DataFrame) -> None:
    """A tag whose error is planted high is found by find_slices on absolute errors and
    tabulated as worse (MAE above the overall, lower is better)."""
    rng = np.random.default_rng(1)
    n = 2000
    meta = pd.DataFrame({"shift": rng.choice(["day", "night"], n, p=[0.8, 0.2]),
                         "site": rng.choice(["a", "b", "c"], n)})
    y = wine["quality"].to_numpy()[:n].astype(float)
    noise = np.where(meta["shift"] == "night", 2.0, 0.3)
    pred = y + rng.normal(0, noise)
    ev = evaluate_regression(y, pred, tags=meta, n_boot=200)
    assert ev.per_tag.iloc[0]["value"] == "night"  # largest MAE first
    found = find_slices(meta, ev.item_errors, k=3, min_support=20)
    assert found.table.iloc[0]["slice"] == "shift = night"
    yt, yp, metric = get_task("regression").slice_inputs(ev)
    table = slice_table(meta, yt, yp, by=["shift"], metric=metric, greater_is_better=False,
                        n_boot=100)
    night = table.table.set_index("tag").loc["shift=night"]
    assert table.metric == "mae" and night["gap"] == pytest.approx(night["metric"])
    assert night["gain"] == pytest.approx(night["metric"] * night["share"])
    actions = recommend(table).table.set_index("slice")["action"]
    assert actions["shift=night"] != "no action" and actions["shift=day"] == "no action"


def test_regression_bad_input_is_one_line() -> None:
    with pytest.raises(InputError, match="NaN or infinite at position 1"):
        score_regression([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(InputError, match="shape"):
        score_regression([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="must be numbers"):
        score_regression(["a", "b"], [1.0, 2.0])


def test_human_level_from_agreement_reports() -> None:
    """From the engines' own reports: MAD between annotators; 1 - MASI disagreement."""
    numeric = pd.DataFrame({"item": [1, 1, 2, 2, 3, 3], "annotator": list("ababab"),
                            "label": [1.0, 1.5, 2.0, 2.0, 3.0, 4.0]})
    report = get_task("regression").agreement(numeric)
    assert get_task("regression").human_level(report) == pytest.approx(0.5)
    sets = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"),
                         "label": [["x"], ["x"], ["x", "y"], ["x"]]})
    report = get_task("multilabel").agreement(sets)
    masi = 1 - (1 / 2) * (2 / 3)  # nltk's MASI distance of {x, y} vs {x}: 1 - J * M
    assert get_task("multilabel").human_level(report) == pytest.approx(1 - masi / 2)
    assert get_task("regression").human_level(object()) is None
    ev = evaluate_regression([1.0, 2.0, 3.0], [1.5, 2.5, 2.0], tags={"t": ["a", "a", "b"]},
                             hlp=0.4, n_boot=50)
    assert ev.per_tag["gap"].tolist() == pytest.approx((ev.per_tag["mae"] - 0.4).tolist())


# -- multi-label ----------------------------------------------------------------------
def test_multilabel_scores_equal_scikit_learns(yeast: dict[str, Any]) -> None:
    Y, P = yeast["Y"], yeast["P"]
    scores = score_multilabel(Y, P, classes=LABELS)
    assert list(scores) == ["micro_f1", "macro_f1", "hamming_loss"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert scores["micro_f1"]["value"] == f1_score(Y, P, average="micro")
        assert scores["macro_f1"]["value"] == f1_score(Y, P, average="macro")
    assert scores["hamming_loss"]["value"] == hamming_loss(Y, P)
    for m in scores.values():
        assert m["low"] < m["value"] < m["high"]
    assert score_multilabel(_sets(Y), _sets(P), classes=LABELS) == scores  # label sets
    assert get_task("multilabel").score(pd.DataFrame(Y, columns=LABELS),
                                        pd.DataFrame(P, columns=LABELS)) == scores


def test_multilabel_per_label_and_set_errors(yeast: dict[str, Any]) -> None:
    Y, P = yeast["Y"], yeast["P"]
    ev = evaluate_multilabel(_sets(Y), P, classes=LABELS, n_boot=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, f1, support = precision_recall_fscore_support(Y, P, average=None)
    assert np.allclose(ev.per_label["f1"], f1) and np.allclose(ev.per_label["recall"], recall)
    assert ev.per_label["support"].tolist() == support.tolist()
    assert ev.per_label["predicted"].tolist() == P.sum(axis=0).tolist()
    assert (ev.per_label["f1_low"] <= ev.per_label["f1"] + 1e-12).all()
    # every yeast gene has a label, so the union is never empty
    assert 1 - ev.item_errors.mean() == pytest.approx(jaccard_score(Y, P, average="samples"))
    assert all(len(line) <= 80 for line in ev.summary().splitlines())
    back = MultilabelEvaluation.from_dict(ev.to_dict())
    assert back.overall == ev.overall and list(back.y_pred[0]) == list(ev.y_pred[0])


def test_a_multilabel_model_trains_through_fit_and_evaluate(yeast: dict[str, Any]) -> None:
    data, train, features = yeast["data"], yeast["train"], yeast["features"]
    sets = np.array(_sets(data[LABELS].to_numpy()), dtype=object)
    tags = pd.DataFrame({"long": (data.loc[~train, "Att1"] > 0).to_numpy()})
    ev = assay.fit_and_evaluate(
        MultiOutputClassifier(LogisticRegression(max_iter=2000)), data.loc[train, features],
        sets[train], data.loc[~train, features], sets[~train], tags=tags, task="multilabel",
        n_boot=200,
    )
    assert isinstance(ev, MultilabelEvaluation) and ev.classes == sorted(LABELS)  # by name
    assert ev.overall["micro_f1"]["value"] == pytest.approx(
        f1_score(yeast["Y"], yeast["P"], average="micro"))
    for row in ev.per_tag.to_dict(orient="records"):
        mask = (tags["long"] == row["value"]).to_numpy()
        Yt, Pt = ev.matrices
        assert row["micro_f1"] == pytest.approx(f1_score(Yt[mask], Pt[mask], average="micro"))


def test_multilabel_bad_input_is_one_line() -> None:
    with pytest.raises(InputError, match="names 'z'"):
        score_multilabel([["a"], ["z"]], [["a"], ["b"]], classes=["a", "b"])
    with pytest.raises(InputError, match="0/1"):
        score_multilabel(np.array([[0.2, 1.0]]), np.array([[0, 1]]))
    with pytest.raises(InputError, match="give classes="):
        score_multilabel([["a"], ["b"], ["c"]], np.zeros((3, 2), dtype=int))
    with pytest.raises(InputError, match="never occur in the training data"):
        get_task("multilabel").check_eval_labels([["a"], ["b"]], [["a"], ["c"]])
    assert set_errors([[], ["a"]], [[], ["b"]], classes=["a", "b"]).tolist() == [0.0, 1.0]
