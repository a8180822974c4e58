"""Estimated regression performance without labels: direct loss estimation (DLE).

A regression model's error cannot be read off its output the way a classifier's
confidence estimates its accuracy, so DLE (as NannyML does) learns it: on a labelled
reference window (out-of-sample predictions, e.g. a holdout or cross-validation),
:class:`LossEstimator` fits one gradient-boosting model of the absolute error and one
of the squared error, from the features and the model's prediction. On a production
window without labels, the estimated MAE is the mean predicted absolute error, and the
estimated RMSE the root of the mean predicted squared error.

Each loss model is a scikit-learn ``HistGradientBoostingRegressor`` with the squared
loss (their mean predicted loss is the conditional mean), 31 leaves per tree, 100
iterations at rate 0.1 and 20 rows per leaf at least: the structure of LightGBM's
defaults, which NannyML uses. Measured on the eight shift designs (40 windows) of
wine-quality and diabetes (``benchmarks/estimate_regression.py``), this was better on average than the
shallow Poisson trees used before (depth 3, 300 iterations), than early stopping, than a
Poisson GLM trend under the trees, and than a doubly-robust correction with importance
weights from a domain classifier (which helped some shifts and hurt others as much).

**Edge refits.** Shuffled cross-validation predicts each reference row from a model
that saw rows all around it, so the loss model never sees the error of an
extrapolation, and a window beyond the reference's range looks as easy as its edge.
When the model is at hand (:class:`RegressionWatch` has it), :func:`edge_reference`
refits it without the lowest and the highest 20% of the rows along the six columns
that move the error most and predicts them; each loss is then the mean of the loss
model of the reference and one of the reference plus these extrapolations. On the
eight shift designs the error of the estimated MAE fell from NannyML's level
(geometric mean ratio 1.00) to 1.24x below it; wine-red by alcohol 0.175 -> 0.106, by
sulphates 0.155 -> 0.135; diabetes by bmi (221 reference rows) rose 11.5 -> 12.3 (paired
+0.80 +- 0.63 over its five windows), now behind NannyML's 11.3. Tried and not adopted
(rule fixed beforehand: the geometric mean may not fall below 1.24 and no design's error
may rise by more than its paired standard error): a size correction is moot, since an
edge refit trains on 80% of the reference like a 5-fold one (random 20% refits have the
out-of-sample loss, e.g. diabetes 40.7 vs 40.8); keeping the edge refits only when they
lower the error on held-out edge chunks drops them on wine-red by sulphates (0.135 ->
0.155) and keeps them on diabetes by bmi; choosing the weight of the edge model (0 to 1)
on those chunks gives 1.28 but wine-white by alcohol 0.057 -> 0.109. On diabetes by bmi
every weight is behind NannyML (0: 11.5, 1: 13.1); its windows of 44 rows are noise.

Bands follow NannyML's construction and add the loss model's own error: the **sampling
error** of a window of ``n`` rows is the standard deviation of the loss divided by
``sqrt(n)`` (delta method for the RMSE), with the window's standard deviation predicted
by the two loss models (``sqrt(mean sq - mean abs^2)``), so that a window whose errors
spread more gets a wider band. The **model error** is measured on the reference by
:func:`edge_model_error`: held-out edge chunks of the reference (lowest and highest 20%
along the columns that move the loss most) are shifts like a production window beyond
the reference, and the loss model fitted on the rest mis-estimates their mean loss by a
relative error whose root mean square (net of the chunks' sampling noise) widens the
band in proportion to the estimate. Sampling error alone (NannyML's band) covered the
realised MAE in about half of those windows, far below its nominal level. A window
**alerts** when its estimated MAE or RMSE rises above the reference's value by more than
``alert_sigma`` of the reference's sampling errors (3, NannyML's default threshold): what
the reference itself varies by in windows of that size.

DLE assumes the error given the inputs does not change (no concept drift): it follows
covariate shift, not a new relation between features and target. Realised performance
(:meth:`assay.tasks.regression.RegressionTask.realised_performance`) should follow
once labels arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.preprocessing import OrdinalEncoder

from assay._validation import (
    Integral,
    Interval,
    Real,
    index_of,
    name_rows,
    validate_parameter_constraints,
)
from assay.deploy.performance import PerformanceWatch
from assay.exceptions import InputError

__all__ = ["LossEstimator", "RegressionWatch", "edge_model_error", "edge_reference"]

#: The losses modelled, and the metric each one estimates.
LOSSES = ("abs", "sq")


def _finite_vector(values: Any, name: str, func: str) -> np.ndarray:
    """A 1-d float array without NaN or infinity (refused naming the first rows)."""
    arr = np.asarray(values, dtype=object if isinstance(values, list) else None)
    try:
        out = np.asarray(pd.to_numeric(pd.Series(arr.ravel()), errors="raise"), dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{func}: {name} must hold numbers ({exc}).") from None
    if arr.ndim != 1:
        raise InputError(f"{func}: {name} must be one number per row, got shape {arr.shape}.")
    bad = ~np.isfinite(out)
    if bad.any():
        where = name_rows(np.flatnonzero(bad), index_of(values))
        raise InputError(f"{func}: {name} is NaN or infinite at {where}; give a finite "
                         "number per row, or drop those rows.")
    return out


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    """A loss model's prediction (a constant, or a fitted model's), never negative."""
    if isinstance(model, float):
        return np.full(len(x), model)
    return np.clip(model.predict(x), 0.0, None)


def _edge_chunks(x: np.ndarray, loss: np.ndarray, n_columns: int,
                 k: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(chunk, rest) row positions: the lowest and the highest ``k`` rows along each of
    the ``n_columns`` columns of ``x`` (n_samples, n_cols) whose rank correlates most
    with ``loss`` (n_samples,)."""
    corr = pd.DataFrame(x).rank().corrwith(pd.Series(loss).rank()).abs().fillna(0.0)
    for j in np.argsort(-corr.to_numpy(), kind="stable")[:n_columns]:
        order = np.argsort(x[:, j], kind="stable")
        for chunk in (order[:k], order[-k:]):
            yield chunk, np.setdiff1d(np.arange(len(loss)), chunk)


def edge_model_error(x: np.ndarray, loss: np.ndarray,
                     fit: Callable[[np.ndarray, np.ndarray], Any], seed: int = 0, *,
                     n_columns: int = 6, share: float = 0.2,
                     max_rows: int = 4_000) -> float:
    """Relative error of a loss model's mean on shifts simulated within the reference.

    For each of the ``n_columns`` columns whose rank correlates most with the loss (the
    shifts that move it most), the lowest and the highest ``share`` of the rows are held
    out in turn, the loss model is fitted on (at most ``max_rows`` of) the rest, and its
    mean predicted loss on the held-out chunk is compared with the chunk's mean loss: an
    extrapolation like a production window beyond the reference. The held-out chunk's
    own sampling variance is taken off, so what remains is the model's error.

    Parameters
    ----------
    x : array of shape (n_samples, n_columns_total)
        Design matrix (features and prediction).
    loss : array of shape (n_samples,)
        Absolute error per row.
    fit : callable ``(x, loss) -> model``
        Fits one loss model (a float for a constant one).

    Returns
    -------
    float
        Root mean square of ``estimate / realised - 1`` over the chunks, net of sampling
        error (0 when there are too few rows or no loss).
    """
    k = int(len(loss) * share)
    if k < 10 or loss.sum() <= 0:
        return 0.0
    rng = np.random.default_rng(seed)
    rel, noise = [], []
    for chunk, rest in _edge_chunks(x, loss, n_columns, k):
        if len(rest) > max_rows:
            rest = rng.choice(rest, max_rows, replace=False)
        realised = float(loss[chunk].mean())
        if realised <= 0:
            continue
        estimate = float(_predict(fit(x[rest], loss[rest]), x[chunk]).mean())
        rel.append(estimate / realised - 1.0)
        noise.append(loss[chunk].var() / k / realised**2)
    if not rel:
        return 0.0
    return float(np.sqrt(max(np.mean(np.square(rel)) - np.mean(noise), 0.0)))


def edge_reference(model: Any, features: pd.DataFrame, labels: np.ndarray,
                   oos: np.ndarray, *, n_columns: int = 6,
                   share: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Predictions for the reference's edge rows by the model refitted without them.

    Shuffled cross-validation predicts every reference row from a model that saw rows
    all around it, so the loss model never sees an extrapolation's error, and a window
    beyond the reference's range looks as easy as its edge. For each of the
    ``n_columns`` columns whose rank correlates most with the out-of-sample absolute
    error, the lowest and highest ``share`` of the rows are predicted by a clone of
    ``model`` fitted on the rest: honest residuals of an extrapolation.

    Parameters
    ----------
    model : scikit-learn regressor
        The monitored model (cloned, never refitted in place).
    features : DataFrame of shape (n_samples, n_features)
    labels : array of shape (n_samples,)
    oos : array of shape (n_samples,)
        Out-of-sample predictions of the same rows.

    Returns
    -------
    rows : int array of shape (m,)
        Reference rows (positions), repeated once per chunk that holds them.
    predictions : array of shape (m,)
        The refitted model's prediction of each of those rows.
    """
    from sklearn.base import clone

    k = int(len(labels) * share)
    numeric = features.select_dtypes("number")
    if k < 10 or numeric.shape[1] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    rows, preds = [], []
    for chunk, rest in _edge_chunks(numeric.to_numpy(float), np.abs(labels - oos),
                                    n_columns, k):
        fitted = clone(model).fit(features.iloc[rest], labels[rest])
        rows.append(chunk)
        preds.append(np.asarray(fitted.predict(features.iloc[chunk]), dtype=float))
    return np.concatenate(rows), np.concatenate(preds)


class LossEstimator:
    """Direct loss estimation (DLE) of a regression model's MAE and RMSE without labels.

    Parameters
    ----------
    confidence : float
        Level of the reported bands.
    alert_sigma : float
        A window alerts when its estimate exceeds the reference metric by more than this
        many sampling errors.
    max_iter : int
        Boosting iterations of each loss model.
    learning_rate : float
    max_depth : int or None
        Depth limit of each tree (None: only ``max_leaf_nodes`` limits it).
    max_leaf_nodes : int
        Leaves per tree.
    min_samples_leaf : int
        Rows per leaf at least.
    calibrate : bool
        Measure the loss model's own error on shifts simulated within the reference
        (edge chunks held out, see :func:`edge_model_error`) and widen the bands by it.
    seed : int
    """

    #: Checked by :meth:`fit` (scikit-learn's convention: the constructor only stores).
    _parameter_constraints: dict[str, list[Any]] = {
        "confidence": [Interval(Real, 0.0, 1.0, closed="neither")],
        "alert_sigma": [Interval(Real, 0.0, None)],
        "max_iter": [Interval(Integral, 1, None)],
        "learning_rate": [Interval(Real, 0.0, 1.0, closed="right")],
        "max_depth": [Interval(Integral, 1, None), None],
        "max_leaf_nodes": [Interval(Integral, 2, None)],
        "min_samples_leaf": [Interval(Integral, 1, None)],
        "calibrate": ["boolean"],
        "seed": [Interval(Integral, 0, None)],
    }

    def __init__(self, confidence: float = 0.95, alert_sigma: float = 3.0,
                 max_iter: int = 100, learning_rate: float = 0.1,
                 max_depth: int | None = None, max_leaf_nodes: int = 31,
                 min_samples_leaf: int = 20, calibrate: bool = True, seed: int = 0) -> None:
        self.confidence = confidence
        self.alert_sigma = alert_sigma
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.calibrate = calibrate
        self.seed = seed

    # -- inputs ---------------------------------------------------------------------

    def _design(self, features: Any, y_pred: np.ndarray, func: str) -> np.ndarray:
        """Features (numeric as floats, others as ordinal codes) and the prediction."""
        frame = features if isinstance(features, pd.DataFrame) else pd.DataFrame(
            np.asarray(features))
        if frame.ndim != 2 or len(frame) != len(y_pred):
            raise InputError(f"{func}: features have {len(frame)} rows and y_pred "
                             f"{len(y_pred)}; give one row of features per prediction.")
        frame = frame.reset_index(drop=True)
        if not hasattr(self, "columns_"):
            self.columns_ = [str(c) for c in frame.columns]
            self.categorical_ = [str(c) for c in frame.columns
                                 if not pd.api.types.is_numeric_dtype(frame[c])
                                 or pd.api.types.is_bool_dtype(frame[c])]
            if self.categorical_:
                self.encoder_ = OrdinalEncoder(handle_unknown="use_encoded_value",
                                               unknown_value=np.nan,
                                               encoded_missing_value=np.nan)
                self.encoder_.fit(frame[self.categorical_].astype(str))
        frame.columns = [str(c) for c in frame.columns]
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise InputError(f"{func}: features lack column(s) {', '.join(missing[:8])} "
                             "the estimator was fitted on.")
        numeric = [c for c in self.columns_ if c not in self.categorical_]
        parts = [frame[numeric].apply(pd.to_numeric, errors="coerce").to_numpy(float)]
        if self.categorical_:
            parts.append(self.encoder_.transform(frame[self.categorical_].astype(str)))
        x = np.column_stack([*parts, y_pred])
        if np.isinf(x).any():
            row = int(np.argwhere(np.isinf(x))[0, 0])
            raise InputError(f"{func}: features hold an infinite value at "
                             f"{name_rows(row, index_of(features))}; send finite numbers.")
        return x

    def _model(self) -> HistGradientBoostingRegressor:
        n_num = len(self.columns_) - len(self.categorical_)
        mask = [False] * n_num + [True] * len(self.categorical_) + [False]
        return HistGradientBoostingRegressor(
            learning_rate=self.learning_rate, max_iter=self.max_iter,
            max_depth=self.max_depth, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, early_stopping=False,
            categorical_features=mask if any(mask) else None, random_state=self.seed)

    def _fit_loss(self, x: np.ndarray, target: np.ndarray) -> Any:
        """One loss model, or the constant loss when every row has none."""
        return self._model().fit(x, target) if target.sum() > 0 else float(target.mean())

    # -- fitting --------------------------------------------------------------------

    def fit(self, features: Any, y_pred: ArrayLike, y_true: ArrayLike, *,
            edge: tuple[ArrayLike, ArrayLike] | None = None) -> LossEstimator:
        """Learn the absolute and squared error on labelled reference data.

        Parameters
        ----------
        features : DataFrame or array of shape (n_samples, n_features)
            The model's inputs (numbers; text columns are encoded as categories).
        y_pred : array-like of shape (n_samples,)
            The model's out-of-sample predictions on these rows.
        y_true : array-like of shape (n_samples,)
            The true targets.
        edge : (rows, predictions), optional
            Reference rows (positions, shape (m,)) predicted by the model refitted
            without them (:func:`edge_reference`). Each loss is then the mean of the
            loss model of the reference and one of the reference plus these
            extrapolations (wine-quality red shifted by alcohol: error of the estimated
            MAE 0.17 -> 0.11; ``benchmarks/estimate_regression.py``). The reference
            MAE/RMSE and the bands use the reference rows only.
        """
        func = "LossEstimator.fit"
        params = {k: getattr(self, k) for k in self._parameter_constraints}
        validate_parameter_constraints(self._parameter_constraints, params, func)
        pred = _finite_vector(y_pred, "y_pred", func)
        truth = _finite_vector(y_true, "y_true", func)
        if len(pred) != len(truth):
            raise InputError(f"{func}: y_pred has {len(pred)} values and y_true "
                             f"{len(truth)}; give one prediction per label.")
        if len(pred) < 20:
            raise InputError(f"{func}: {len(pred)} reference rows are too few to learn the "
                             "loss; give at least 20 labelled rows.")
        for key in ("columns_", "categorical_", "encoder_"):
            self.__dict__.pop(key, None)
        x = self._design(features, pred, func)
        error = truth - pred
        self.models_: dict[str, Any] = {
            loss: [self._fit_loss(x, target)]
            for loss, target in zip(LOSSES, (np.abs(error), error**2), strict=True)}
        if edge is not None and np.asarray(edge[0]).size:
            rows = np.asarray(edge[0], dtype=np.int64)
            edge_pred = _finite_vector(edge[1], "edge predictions", func)
            if len(rows) != len(edge_pred) or rows.min() < 0 or rows.max() >= len(pred):
                raise InputError(f"{func}: edge must be (rows, predictions) of equal length, "
                                 f"rows within 0..{len(pred) - 1}; build it with "
                                 "edge_reference(model, features, y_true, y_pred).")
            x_all = np.vstack([x, np.column_stack([x[rows, :-1], edge_pred])])
            err_all = np.r_[error, truth[rows] - edge_pred]
            for loss, target in zip(LOSSES, (np.abs(err_all), err_all**2), strict=True):
                self.models_[loss].append(self._fit_loss(x_all, target))
        self.model_error_ = (edge_model_error(x, np.abs(error), self._fit_loss, self.seed)
                             if self.calibrate else 0.0)
        self.n_reference_ = len(pred)
        self.reference_mae_ = float(np.abs(error).mean())
        self.reference_rmse_ = float(np.sqrt((error**2).mean()))
        self.abs_std_ = float(np.abs(error).std(ddof=1))
        self.sq_std_ = float((error**2).std(ddof=1))
        return self

    def predict_loss(self, features: Any, y_pred: ArrayLike) -> pd.DataFrame:
        """Predicted absolute and squared error per row.

        Returns
        -------
        pandas DataFrame of shape (n_samples, 2)
            abs_error, squared_error (indexed like ``features`` when it is a DataFrame).
        """
        func = "LossEstimator.estimate"
        if not hasattr(self, "models_"):
            raise InputError("this LossEstimator is not fitted; call fit(features, y_pred, "
                             "y_true) on labelled reference data first.")
        pred = _finite_vector(y_pred, "y_pred", func)
        if len(pred) == 0:
            raise InputError(f"{func}: no rows; give at least one prediction.")
        x = self._design(features, pred, func)
        out = {}
        for loss in LOSSES:
            out[loss] = np.mean([_predict(m, x) for m in self.models_[loss]], axis=0)
        return pd.DataFrame({"abs_error": out["abs"], "squared_error": out["sq"]},
                            index=index_of(features))

    def estimate(self, features: Any, y_pred: ArrayLike, *,
                 window: ArrayLike | None = None) -> pd.DataFrame:
        """Estimated MAE and RMSE per window, with bands and alerts.

        Parameters
        ----------
        features : DataFrame or array of shape (n_samples, n_features)
        y_pred : array-like of shape (n_samples,)
        window : array-like of shape (n_samples,), optional
            Window label per row (batch id, month, ...); default one window.

        Returns
        -------
        pandas DataFrame indexed by window
            n, estimated_mae, estimated_mae_low, estimated_mae_high, estimated_rmse,
            estimated_rmse_low, estimated_rmse_high, reference_mae, mae_threshold,
            reference_rmse, rmse_threshold, alert.
        """
        return self.estimate_losses(self.predict_loss(features, y_pred), window=window)

    def estimate_losses(self, loss: pd.DataFrame, *,
                        window: ArrayLike | None = None) -> pd.DataFrame:
        """:meth:`estimate` from the rows' predicted losses (:meth:`predict_loss`'s
        frame of shape (n_samples, 2)), e.g. gathered chunk by chunk."""
        keys = np.zeros(len(loss), dtype=np.int64) if window is None else np.asarray(window)
        if len(keys) != len(loss):
            raise InputError(f"window has {len(keys)} values for {len(loss)} rows; give one "
                             "window label per row (e.g. a batch id or a day).")
        grouped = pd.DataFrame({"w": keys, "a": loss["abs_error"].to_numpy(),
                                "s": loss["squared_error"].to_numpy()}).groupby("w", sort=True)
        out = grouped.agg(n=("a", "size"), estimated_mae=("a", "mean"), mse=("s", "mean"))
        out.index.name = "window"
        return self._bands(out)

    def _bands(self, out: pd.DataFrame) -> pd.DataFrame:
        z = float(stats.norm.ppf(0.5 + self.confidence / 2))
        root_n = np.sqrt(out["n"].to_numpy(dtype=float))
        mae = out["estimated_mae"].to_numpy()
        mse = out["mse"].to_numpy()
        rmse = np.sqrt(mse)
        spread = np.sqrt(np.clip(mse - mae**2, 0.0, None))  # the window's std of |error|
        spread = np.where(spread > 0, spread, self.abs_std_)
        # sampling error of the window's mean loss, and the loss model's own (relative)
        # error measured on shifts simulated within the reference
        se_mae = np.hypot(spread / root_n, self.model_error_ * mae)
        # the reference's spread of squared errors, scaled to the window's MSE (same shape)
        sq_spread = self.sq_std_ * mse / max(self.reference_rmse_**2, 1e-12)
        se_rmse = np.hypot(sq_spread / root_n / (2 * np.maximum(rmse, 1e-12)),
                           self.model_error_ * rmse)
        ref_se_mae = self.abs_std_ / root_n
        ref_se_rmse = self.sq_std_ / root_n / (2 * max(self.reference_rmse_, 1e-12))
        result = pd.DataFrame({
            "n": out["n"],
            "estimated_mae": mae,
            "estimated_mae_low": np.clip(mae - z * se_mae, 0.0, None),
            "estimated_mae_high": mae + z * se_mae,
            "estimated_rmse": rmse,
            "estimated_rmse_low": np.clip(rmse - z * se_rmse, 0.0, None),
            "estimated_rmse_high": rmse + z * se_rmse,
            "reference_mae": self.reference_mae_,
            "mae_threshold": self.reference_mae_ + self.alert_sigma * ref_se_mae,
            "reference_rmse": self.reference_rmse_,
            "rmse_threshold": self.reference_rmse_ + self.alert_sigma * ref_se_rmse,
        }, index=out.index)
        result["alert"] = ((result["estimated_mae"] > result["mae_threshold"])
                           | (result["estimated_rmse"] > result["rmse_threshold"]))
        return result

    def to_dict(self) -> dict[str, Any]:
        """Parameters and reference statistics, JSON-safe (the loss models are not
        serialised: refit them from the reference, which is deterministic)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self._parameter_constraints}
        for key in ("n_reference_", "reference_mae_", "reference_rmse_", "abs_std_",
                    "sq_std_", "model_error_"):
            if hasattr(self, key):
                out[key] = getattr(self, key)
        return out


class RegressionWatch(PerformanceWatch):
    """A regression model in production: DLE of MAE / RMSE, realised MAE / RMSE / R²
    (:meth:`assay.tasks.Task.score`) when labels arrive; the ``prediction`` column is a
    number, tested for drift like any numeric column."""

    metric = "mae"

    def reference(self, model: Any, features: pd.DataFrame, labels: pd.Series, *,
                  seed: int = 0) -> tuple[Any, dict[str, Any]]:
        from sklearn.model_selection import KFold, cross_val_predict

        truth = _finite_vector(labels, "the reference labels", "monitor")
        folds = KFold(min(5, len(truth)), shuffle=True, random_state=seed)
        oos = np.asarray(cross_val_predict(model, features, truth, cv=folds), dtype=float)
        rows, edge_pred = edge_reference(model, features, truth, oos)
        est = LossEstimator(seed=seed).fit(features, oos, truth, edge=(rows, edge_pred))
        return oos, {"reference_predictions": oos.tolist(), "reference_mae": est.reference_mae_,
                     "reference_rmse": est.reference_rmse_, "estimator": est.to_dict(),
                     "edge_rows": rows.tolist(), "edge_predictions": edge_pred.tolist()}

    def needs_reference(self) -> bool:
        return True

    def estimator(self, state: dict[str, Any], features: pd.DataFrame,
                  labels: pd.Series) -> Any:
        params = {k: v for k, v in state["estimator"].items() if not k.endswith("_")}
        edge = (state.get("edge_rows", []), state.get("edge_predictions", []))
        return LossEstimator(**params).fit(features, state["reference_predictions"], labels,
                                           edge=edge)

    def predict(self, model: Any, features: pd.DataFrame,
                state: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
        pred = np.asarray(model.predict(features), dtype=float)
        return pred, {}, pred

    def performance(self, estimator: Any, state: dict[str, Any], features: pd.DataFrame,
                    outputs: Any, predictions: Any, labels: pd.Series | None,
                    detector: dict[str, Any] | None) -> dict[str, Any]:
        return self._performance(estimator, estimator.estimate(features, outputs), state,
                                 outputs, labels)

    def summarise(self, estimator: Any, features: pd.DataFrame, outputs: Any) -> np.ndarray:
        """Each row's predicted absolute and squared error (two numbers, not the
        features), shape (n_rows, 2)."""
        return estimator.predict_loss(features, outputs).to_numpy(dtype=float)

    def summary_performance(self, estimator: Any, state: dict[str, Any], summary: Any,
                            predictions: Any, labels: pd.Series | None,
                            detector: dict[str, Any] | None) -> dict[str, Any]:
        loss = pd.DataFrame(np.asarray(summary, dtype=float).reshape(-1, 2),
                            columns=["abs_error", "squared_error"])
        return self._performance(estimator, estimator.estimate_losses(loss), state,
                                 predictions, labels)

    def _performance(self, estimator: Any, estimate: pd.DataFrame, state: dict[str, Any],
                     y_pred: Any, labels: pd.Series | None) -> dict[str, Any]:
        from assay.deploy.performance import realised_scores
        from assay.tasks import get_task

        out: dict[str, Any] = {"estimated": estimate.iloc[0].to_dict(),
                               "reference_mae": state["reference_mae"],
                               "reference_rmse": state["reference_rmse"]}
        if labels is not None and labels.notna().any():
            known = labels.notna().to_numpy()
            truth = pd.to_numeric(labels[known]).to_numpy(dtype=float)
            realised = realised_scores(get_task("regression").score, truth,
                                       np.asarray(y_pred, dtype=float)[known]).iloc[0].to_dict()
            n = float(known.sum())
            realised["mae_threshold"] = (estimator.reference_mae_ + estimator.alert_sigma
                                         * estimator.abs_std_ / np.sqrt(n))
            out["realised"] = realised
        return out

    def alerts(self, perf: dict[str, Any], state: dict[str, Any],
               limits: dict[str, float]) -> list[str]:
        alerts = []
        est = perf["estimated"]
        if est.get("alert"):
            alerts.append(f"estimated MAE {est['estimated_mae']:.4g} is above the reference "
                          f"band {est['mae_threshold']:.4g} (reference "
                          f"{perf['reference_mae']:.4g})")
        real = perf.get("realised")
        if real and real["mae"] > real["mae_threshold"]:
            alerts.append(f"realised MAE {real['mae']:.4g} is above the reference band "
                          f"{real['mae_threshold']:.4g}")
        if real and real.get("mae_low", -np.inf) > est.get("estimated_mae_high", np.inf):
            # the estimate reads the inputs only: a realised error above its whole interval
            # means the labels moved given the inputs, which input drift cannot show
            alerts.append(
                f"concept drift: realised MAE {real['mae']:.4g} [{real['mae_low']:.4g}, "
                f"{real['mae_high']:.4g}] is above the MAE expected from the inputs "
                f"{est['estimated_mae']:.4g} [{est['estimated_mae_low']:.4g}, "
                f"{est['estimated_mae_high']:.4g}]: the labels changed given the inputs"
            )
        return alerts
