"""Realised performance through the task (no branch on the kind), and each task's
performance watch on its own (no store): reference, predict, performance, alerts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.metrics import f1_score, hamming_loss, mean_absolute_error

from assay.deploy.performance import realised_performance
from assay.exceptions import InputError
from assay.tasks import get_task


def test_realised_regression_per_window_equals_sklearn() -> None:
    rng = np.random.default_rng(0)
    truth, pred = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    window = np.repeat(["a", "b"], 200)
    out = get_task("regression").realised_performance(truth, pred, window=window)
    assert out.index.tolist() == ["a", "b"] and out["n"].tolist() == [200, 200]
    for key in ("a", "b"):
        at = window == key
        assert out.loc[key, "mae"] == pytest.approx(mean_absolute_error(truth[at], pred[at]))
        assert out.loc[key, "mae_low"] < out.loc[key, "mae"] < out.loc[key, "mae_high"]
    assert {"rmse", "rmse_low", "r2_high"} <= set(out.columns)


def test_realised_multilabel_per_window_equals_sklearn() -> None:
    rng = np.random.default_rng(1)
    names = ["a", "b", "c"]
    t, p = rng.random((300, 3)) < 0.4, rng.random((300, 3)) < 0.4
    sets = lambda m: [[names[j] for j in np.flatnonzero(r)] for r in m]  # noqa: E731
    out = get_task("multilabel").realised_performance(sets(t), sets(p), window=[0] * 300)
    assert out.loc[0, "micro_f1"] == pytest.approx(f1_score(t, p, average="micro"))
    assert out.loc[0, "hamming_loss"] == pytest.approx(hamming_loss(t, p))


def test_classification_keeps_its_accuracy_table() -> None:
    truth, pred = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])
    ours = get_task("classification").realised_performance(truth, pred)
    pd.testing.assert_frame_equal(ours, realised_performance(truth, pred))


def test_bad_input_to_realised_performance() -> None:
    task = get_task("regression")
    with pytest.raises(InputError, match="one prediction per label"):
        task.realised_performance([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="NaN or infinite"):
        task.realised_performance([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(InputError, match="no labelled rows"):
        task.realised_performance([], [])


def test_regression_watch_round() -> None:
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.normal(0, 1, (600, 2)), columns=["u", "v"])
    y = pd.Series(x["u"] * 2 + rng.normal(0, 1, 600) * (1 + np.abs(x["v"])))
    watch = get_task("regression").performance_watch
    predicted, state = watch.reference(LinearRegression(), x, y, seed=0)
    state = json.loads(json.dumps(state))
    assert len(predicted) == 600 and state["reference_mae"] > 0
    model = LinearRegression().fit(x, y)
    estimator = watch.estimator(state, x, y)
    shifted = x.assign(v=x["v"] * 3)  # errors grow with |v|
    column, _, outputs = watch.predict(model, shifted, state)
    perf = watch.performance(estimator, state, shifted, outputs, column, None, None)
    assert perf["estimated"]["estimated_mae"] > state["reference_mae"] * 1.3
    assert any("estimated MAE" in a for a in watch.alerts(perf, state, {}))


def test_multilabel_watch_round() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(0, 1, (800, 3)), columns=["p", "q", "r"])
    on = np.c_[x["p"] > 0, x["q"] + x["p"] > 0.5, x["r"] > 1]
    labels = pd.Series([[n for n, o in zip("abc", row, strict=True) if o] for row in on])
    watch = get_task("multilabel").performance_watch
    model = RandomForestClassifier(n_estimators=20, random_state=0)
    _, state = watch.reference(model, x, labels, seed=0)
    state = json.loads(json.dumps(state))
    assert state["label_names"] == ["a", "b", "c"]
    model.fit(x, on.astype(int))
    column, _, outputs = watch.predict(model, x, state)
    assert json.loads(column[0]) == sorted(json.loads(column[0]))
    perf = watch.performance(watch.estimator(state, x, labels), state, x, outputs, column,
                             labels.map(json.dumps), None)
    assert perf["realised"]["micro_f1"] > 0.9
    assert not perf["prediction_drift"]["drifted"]
