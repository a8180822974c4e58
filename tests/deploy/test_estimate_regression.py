"""Direct loss estimation (DLE): estimated MAE / RMSE without labels, bands, alerts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_predict

from assay.deploy.estimate_regression import LossEstimator, edge_model_error
from assay.exceptions import InputError


def _pool(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """y = x @ w + noise whose spread grows with |x0| (heteroscedastic), and a text
    column whose level 'hi' doubles the noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 3))
    group = np.where(rng.random(n) < 0.3, "hi", "lo")
    spread = (0.3 + np.abs(x[:, 0])) * np.where(group == "hi", 2.0, 1.0)
    y = x @ np.array([1.0, 2.0, -1.0]) + rng.normal(0, 1, n) * spread
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "g": group}), y


@pytest.fixture(scope="module")
def fitted() -> tuple[LossEstimator, LinearRegression]:
    features, y = _pool(3_000, 0)
    numeric = features[["a", "b", "c"]]
    model = LinearRegression().fit(numeric, y)
    oos = cross_val_predict(LinearRegression(), numeric, y, cv=5)
    return LossEstimator().fit(features, oos, y), model


def test_dle_follows_a_covariate_shift_within_its_band(fitted) -> None:
    est, model = fitted
    features, y = _pool(40_000, 1)
    rng = np.random.default_rng(2)
    covered, errors, naive = 0, [], []
    for k in range(10):  # windows leaning more and more towards large |x0| and 'hi'
        tilt = k / 3
        weight = np.exp(tilt * np.abs(features["a"].to_numpy())) * np.where(
            features["g"] == "hi", 1 + tilt, 1.0)
        rows = rng.choice(len(y), 800, replace=False, p=weight / weight.sum())
        pred = model.predict(features.loc[rows, ["a", "b", "c"]])
        realised = float(np.abs(y[rows] - pred).mean())
        out = est.estimate(features.loc[rows], pred).iloc[0]
        covered += out["estimated_mae_low"] <= realised <= out["estimated_mae_high"]
        errors.append(abs(out["estimated_mae"] - realised))
        naive.append(abs(est.reference_mae_ - realised))
        if k == 9:
            assert out["alert"], out.to_dict()
            rmse = float(np.sqrt(((y[rows] - pred) ** 2).mean()))
            assert out["estimated_rmse"] == pytest.approx(rmse, rel=0.15)
    assert covered >= 9, (covered, errors)
    assert np.mean(errors) < 0.3 * np.mean(naive), (errors, naive)


def test_no_alert_and_band_on_reference_like_windows(fitted) -> None:
    est, model = fitted
    features, y = _pool(4_000, 3)
    pred = model.predict(features[["a", "b", "c"]])
    window = np.repeat(np.arange(4), 1_000)
    out = est.estimate(features, pred, window=window)
    assert out.index.tolist() == [0, 1, 2, 3] and (out["n"] == 1_000).all()
    assert not out["alert"].any(), out
    realised = pd.Series(np.abs(y - pred)).groupby(window).mean().to_numpy()
    inside = (out["estimated_mae_low"] <= realised) & (realised <= out["estimated_mae_high"])
    assert inside.sum() >= 3
    assert (out["estimated_mae_low"] < out["estimated_mae"]).all()
    assert (out["mae_threshold"] > out["reference_mae"]).all()


def test_model_error_is_measured_on_held_out_edges(fitted) -> None:
    est, _ = fitted
    # the pool's loss grows with |a| and with 'hi': held-out edges are mis-estimated
    assert 0.05 < est.model_error_ < 0.5
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, (3_000, 4))
    flat = np.abs(rng.normal(0, 1, 3_000))  # a loss that no column moves
    steep = flat * (0.2 + np.abs(x[:, 1]))  # one that grows towards both edges of x1

    def mean(x: np.ndarray, t: np.ndarray) -> float:  # the "no change" loss model
        return float(t.mean())

    assert edge_model_error(x, flat, mean) < 0.03  # right on average: sampling noise only
    assert edge_model_error(x, steep, mean) > 0.15  # blind to x1: wrong on its edges
    assert edge_model_error(x[:, [1]], steep, mean) > 0.3  # ... on every chunk held out
    assert edge_model_error(x[:40], flat[:40], mean) == 0.0  # too few rows to hold out


def test_calibrated_band_is_wider_around_the_same_estimate(fitted) -> None:
    est, model = fitted
    features, y = _pool(3_000, 0)
    oos = cross_val_predict(LinearRegression(), features[["a", "b", "c"]], y, cv=5)
    plain = LossEstimator(calibrate=False).fit(features, oos, y)
    assert plain.model_error_ == 0.0
    new, _ = _pool(500, 7)
    pred = model.predict(new[["a", "b", "c"]])
    wide, narrow = est.estimate(new, pred).iloc[0], plain.estimate(new, pred).iloc[0]
    assert wide["estimated_mae"] == pytest.approx(narrow["estimated_mae"])
    assert (wide["estimated_mae_high"] - wide["estimated_mae_low"]
            > 1.5 * (narrow["estimated_mae_high"] - narrow["estimated_mae_low"]))


def test_predict_loss_and_to_dict(fitted) -> None:
    est, model = fitted
    features, _ = _pool(50, 4)
    loss = est.predict_loss(features, model.predict(features[["a", "b", "c"]]))
    assert loss.columns.tolist() == ["abs_error", "squared_error"] and len(loss) == 50
    assert (loss.to_numpy() >= 0).all()
    data = json.loads(json.dumps(est.to_dict()))
    assert data["n_reference_"] == 3_000 and data["reference_mae_"] > 0
    assert data["model_error_"] == est.model_error_
    # what the monitor stores rebuilds the estimator (trailing-underscore keys are fitted)
    params = {k: v for k, v in data.items() if not k.endswith("_")}
    assert LossEstimator(**params).max_leaf_nodes == est.max_leaf_nodes


def test_bad_input_is_refused(fitted) -> None:
    est, model = fitted
    features, y = _pool(100, 5)
    pred = model.predict(features[["a", "b", "c"]])
    bad = pred.copy()
    bad[[3, 8]] = np.nan
    with pytest.raises(InputError, match=r"y_pred is NaN or infinite at positions 3 and 8"):
        est.estimate(features, bad)
    with pytest.raises(InputError, match=r"y_true is NaN .* index 2"):
        LossEstimator().fit(features, pred, pd.Series(np.where(np.arange(100) == 2, np.nan, y)))
    with pytest.raises(InputError, match="one prediction per label"):
        LossEstimator().fit(features, pred, y[:50])
    with pytest.raises(InputError, match="one row of features per prediction"):
        est.estimate(features.iloc[:10], pred)
    with pytest.raises(InputError, match="one window label per row"):
        est.estimate(features, pred, window=[1, 2])
    with pytest.raises(InputError, match="lack column"):
        est.estimate(features.drop(columns="b"), pred)
    inf = features.copy()
    inf.loc[4, "a"] = np.inf
    with pytest.raises(InputError, match="infinite value at index 4"):
        est.estimate(inf, pred)
    with pytest.raises(InputError, match="not fitted"):
        LossEstimator().estimate(features, pred)
    with pytest.raises(InputError, match="confidence"):
        LossEstimator(confidence=1.5).fit(features, pred, y)
    with pytest.raises(InputError, match="at least 20"):
        LossEstimator().fit(features.iloc[:5], pred[:5], y[:5])


def test_edge_refits_teach_the_loss_model_an_extrapolation_s_error() -> None:
    """Real covariate shift (wine-quality red sorted by alcohol: the model and reference
    are the lower half, the window the upper half): shuffled out-of-sample residuals
    never show an extrapolation's error, the edge refits do, so the estimate with them
    is closer to the realised MAE."""
    from pathlib import Path

    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    from assay.deploy.estimate_regression import edge_reference

    path = (Path(__file__).resolve().parents[3] / "shared" / "data" / "regression"
            / "wine-quality" / "winequality-red.csv")
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    frame = pd.read_csv(path, sep=";").sort_values("alcohol", kind="stable")
    features, y = frame.drop(columns="quality"), frame["quality"].to_numpy(float)
    half = len(frame) // 2
    ref, y_ref, cur, y_cur = features[:half], y[:half], features[half:], y[half:]
    model = HistGradientBoostingRegressor(max_iter=50, random_state=0)
    oos = cross_val_predict(model, ref, y_ref, cv=KFold(5, shuffle=True, random_state=0))
    pred = model.fit(ref, y_ref).predict(cur)
    realised = float(np.abs(y_cur - pred).mean())
    rows, edge_pred = edge_reference(model, ref, y_ref, oos, n_columns=2)
    assert len(rows) == len(edge_pred) == 4 * int(0.2 * half)
    plain = LossEstimator(calibrate=False).fit(ref, oos, y_ref).estimate(cur, pred)
    edged = LossEstimator(calibrate=False).fit(ref, oos, y_ref, edge=(rows, edge_pred)
                                               ).estimate(cur, pred)
    before = abs(plain["estimated_mae"].iloc[0] - realised)
    after = abs(edged["estimated_mae"].iloc[0] - realised)
    assert after < 0.8 * before, (realised, plain["estimated_mae"].iloc[0],
                                  edged["estimated_mae"].iloc[0])
    assert edged["reference_mae"].iloc[0] == plain["reference_mae"].iloc[0]
    with pytest.raises(InputError, match="edge must be"):
        LossEstimator().fit(ref, oos, y_ref, edge=(np.array([5_000]), np.array([1.0])))
