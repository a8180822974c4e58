"""Model performance in deployment: realised when labels arrive, estimated before.

* :func:`realised_performance` gives accuracy (with Wilson score intervals), error rate
  and macro F1 per window.
* :class:`ConfidenceEstimator` is confidence-based performance estimation (CBPE): it
  calibrates the model's max-probability on labelled reference data (isotonic
  regression or temperature scaling) and estimates accuracy on unlabelled batches as
  the mean calibrated confidence. Its interval combines the sampling variance of the
  batch (a Poisson-binomial, ``sum p(1-p) / n^2``) with the calibration uncertainty
  (``acc (1 - acc) / n_reference``). The estimate is only as good as the calibration:
  under concept drift (``P(y|x)`` changes) it is biased, which is why realised
  performance should follow once labels arrive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score

from assay import _stats
from assay._validation import (
    Interval,
    Options,
    Real,
    check_labels,
    check_pred_probs,
    index_of,
    name_rows,
    validate_parameter_constraints,
    validate_params,
)
from assay.exceptions import InputError

__all__ = [
    "ClassificationWatch", "ConfidenceEstimator", "PerformanceWatch", "realised_performance",
    "realised_scores", "wilson_interval",
]


@validate_params({"confidence": [Interval(Real, 0.0, 1.0)]})
def wilson_interval(successes: Any, n: Any, *, confidence: float = 0.95
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (see :mod:`assay._stats`).

    Parameters
    ----------
    successes : array-like of shape (n_windows,)
    n : array-like of shape (n_windows,)
        Trials; windows with ``n == 0`` get ``(0, 1)``.
    confidence : float

    Returns
    -------
    low, high : ndarray of shape (n_windows,)
    """
    low, high = _stats.wilson_interval(successes, n, confidence=confidence)
    return np.asarray(low), np.asarray(high)


def _windows(window: Any, n: int) -> np.ndarray:
    if window is None:
        return np.zeros(n, dtype=np.int64)
    arr = np.asarray(window)
    if len(arr) != n:
        raise InputError(f"window has {len(arr)} values for {n} rows; give one window label "
                         "per row (e.g. a batch id or a day).")
    return arr


@validate_params({"confidence": [Interval(Real, 0.0, 1.0)]},
                 prefer_skip_nested_validation=True)
def realised_performance(y_true: ArrayLike, y_pred: ArrayLike, *,
                         window: ArrayLike | None = None,
                         confidence: float = 0.95) -> pd.DataFrame:
    """Accuracy with Wilson intervals, error rate and macro F1 per window.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels, once they arrive.
    y_pred : array-like of shape (n_samples,)
        The model's predicted classes.
    window : array-like of shape (n_samples,), optional
        Window label per row (batch id, day, ...); default one window.
    confidence : float

    Returns
    -------
    pandas DataFrame indexed by window
        n, n_correct, accuracy, accuracy_low, accuracy_high, error_rate, macro_f1.
    """
    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    if len(truth) != len(pred):
        raise InputError(f"y_true has {len(truth)} values and y_pred {len(pred)}; give one "
                         "prediction per label.")
    if len(truth) == 0:
        raise InputError("realised_performance got no labelled rows; wait for labels.")
    if pd.isna(truth).any():
        where = name_rows(int(np.argmax(pd.isna(truth))), index_of(y_true))
        raise InputError(f"y_true {where} is missing; drop unlabelled rows first.")
    frame = pd.DataFrame({"window": _windows(window, len(truth)), "t": truth, "p": pred})
    rows = []
    for key, group in frame.groupby("window", sort=True):
        correct = int((group["t"].to_numpy() == group["p"].to_numpy()).sum())
        f1 = f1_score(group["t"].astype(str), group["p"].astype(str), average="macro")
        rows.append({"window": key, "n": len(group), "n_correct": correct, "macro_f1": f1})
    out = pd.DataFrame(rows).set_index("window")
    out["accuracy"] = out["n_correct"] / out["n"]
    out["accuracy_low"], out["accuracy_high"] = wilson_interval(
        out["n_correct"], out["n"], confidence=confidence)
    out["error_rate"] = 1 - out["accuracy"]
    return out[["n", "n_correct", "accuracy", "accuracy_low", "accuracy_high", "error_rate",
                "macro_f1"]]


class ConfidenceEstimator:
    """Confidence-based performance estimation (CBPE) of accuracy without labels.

    Parameters
    ----------
    method : {"isotonic", "temperature"}
        Calibration of the max-probability: isotonic regression of correctness on
        confidence, or temperature scaling of ``log(pred_probs)``.
    confidence : float
        Level of the reported intervals.
    """

    #: Checked by :meth:`fit` (scikit-learn's convention: the constructor only stores).
    _parameter_constraints: dict[str, list[Any]] = {
        "method": [Options(("isotonic", "temperature"))],
        "confidence": [Interval(Real, 0.0, 1.0)],
    }

    def __init__(self, method: str = "isotonic", confidence: float = 0.95) -> None:
        self.method = method
        self.confidence = confidence

    def fit(self, pred_probs: Any, labels: Any) -> ConfidenceEstimator:
        """Calibrate on labelled reference data.

        Parameters
        ----------
        pred_probs : array-like of shape (n_samples, n_classes)
            Out-of-sample predicted probabilities on the reference set.
        labels : array-like of shape (n_samples,)
            Integer class indices in the column order of ``pred_probs``.
        """
        func = "ConfidenceEstimator.fit"
        params = {"method": self.method, "confidence": self.confidence}
        validate_parameter_constraints(self._parameter_constraints, params, func)
        probs = check_pred_probs(pred_probs, func=func)
        codes, _ = check_labels(labels, classes=range(probs.shape[1]), func=func)
        correct = (probs.argmax(axis=1) == codes).astype(np.float64)
        if self.method == "temperature":
            self.temperature_ = _fit_temperature(probs, codes)
        else:
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(probs.max(axis=1), correct)
            self.x_thresholds_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        self.n_reference_ = len(codes)
        self.reference_accuracy_ = float(correct.mean())
        return self

    def calibrated_confidence(self, pred_probs: Any) -> np.ndarray:
        """Calibrated probability that each prediction is correct, shape (n_samples,)."""
        if not hasattr(self, "n_reference_"):
            raise InputError("this ConfidenceEstimator is not fitted; call fit(pred_probs, "
                             "labels) on labelled reference data first.")
        probs = check_pred_probs(pred_probs, func="ConfidenceEstimator.estimate")
        if self.method == "temperature":
            logits = np.log(np.clip(probs, 1e-12, None)) / self.temperature_
            return np.asarray(np.exp(logits.max(axis=1) - _logsumexp(logits)))
        return np.interp(probs.max(axis=1), self.x_thresholds_, self.y_thresholds_)

    def estimate(self, pred_probs: Any, *, window: ArrayLike | None = None) -> pd.DataFrame:
        """Estimated accuracy per window, with an interval.

        Parameters
        ----------
        pred_probs : array-like of shape (n_samples, n_classes)
        window : array-like of shape (n_samples,), optional

        Returns
        -------
        pandas DataFrame indexed by window
            n, estimated_accuracy, estimated_accuracy_low, estimated_accuracy_high.
        """
        return self.estimate_confidence(self.calibrated_confidence(pred_probs), window=window)

    def estimate_confidence(self, conf: Any, *, window: ArrayLike | None = None) -> pd.DataFrame:
        """:meth:`estimate` from the rows' calibrated confidences (shape (n_samples,), as
        :meth:`calibrated_confidence` returns them), e.g. gathered chunk by chunk."""
        conf = np.asarray(conf, dtype=float)
        if len(conf) == 0:
            raise InputError("estimate() got no rows; give at least one prediction.")
        frame = pd.DataFrame({"window": _windows(window, len(conf)), "c": conf,
                              "v": conf * (1 - conf)})
        out = frame.groupby("window", sort=True).agg(n=("c", "size"), acc=("c", "mean"),
                                                     var=("v", "sum"))
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        acc = out["acc"].to_numpy()
        se = np.sqrt(out["var"].to_numpy() / out["n"].to_numpy() ** 2
                     + acc * (1 - acc) / self.n_reference_)
        return pd.DataFrame({"n": out["n"], "estimated_accuracy": acc,
                             "estimated_accuracy_low": np.clip(acc - z * se, 0, 1),
                             "estimated_accuracy_high": np.clip(acc + z * se, 0, 1)},
                            index=out.index)

    def to_dict(self) -> dict[str, Any]:
        """Parameters and calibration as a JSON-safe dict."""
        out: dict[str, Any] = {"method": self.method, "confidence": self.confidence}
        for key in ("temperature_", "n_reference_", "reference_accuracy_"):
            if hasattr(self, key):
                out[key] = getattr(self, key)
        for key in ("x_thresholds_", "y_thresholds_"):
            if hasattr(self, key):
                out[key] = getattr(self, key).tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfidenceEstimator:
        """Rebuild an estimator from :meth:`to_dict` output."""
        est = cls(method=data["method"], confidence=data["confidence"])
        for key, value in data.items():
            if key.endswith("_"):
                setattr(est, key, np.asarray(value) if isinstance(value, list) else value)
        return est


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1)
    return np.asarray(top + np.log(np.exp(logits - top[:, None]).sum(axis=1)))


def _fit_temperature(probs: np.ndarray, codes: np.ndarray) -> float:
    logits = np.log(np.clip(probs, 1e-12, None))
    rows = np.arange(len(codes))

    def nll(log_t: float) -> float:
        scaled = logits / np.exp(log_t)
        return float(np.mean(_logsumexp(scaled) - scaled[rows, codes]))

    result = optimize.minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


# -- the task's realised performance, and what a monitor does with a model --------------


def realised_scores(score: Any, y_true: Any, y_pred: Any, *,
                    window: ArrayLike | None = None, seed: int = 0) -> pd.DataFrame:
    """A task's metrics with intervals per window, once labels arrive.

    Parameters
    ----------
    score : callable
        ``score(y_true, y_pred, seed=...) -> {metric: {"value", "low", "high", ...}}``,
        e.g. :meth:`assay.tasks.Task.score` (MAE / RMSE / R² for a regression, micro and
        macro F1 / Hamming loss for multi-label).
    y_true, y_pred : sequence of length n_samples
        Labels and predictions in the task's form (numbers, label sets, ...).
    window : array-like of shape (n_samples,), optional
    seed : int

    Returns
    -------
    pandas DataFrame indexed by window
        n, and ``<metric>``, ``<metric>_low``, ``<metric>_high`` per metric.
    """
    truth, pred = list(y_true), list(y_pred)
    if len(truth) != len(pred):
        raise InputError(f"y_true has {len(truth)} values and y_pred {len(pred)}; give one "
                         "prediction per label.")
    if not truth:
        raise InputError("realised performance got no labelled rows; wait for labels.")
    keys = _windows(window, len(truth))
    rows = []
    for key in pd.unique(pd.Series(keys)):
        at = np.flatnonzero(keys == key)
        metrics = score([truth[i] for i in at], [pred[i] for i in at], seed=seed)
        row: dict[str, Any] = {"window": key, "n": len(at)}
        for name, value in metrics.items():
            row.update({name: value["value"], f"{name}_low": value["low"],
                        f"{name}_high": value["high"]})
        rows.append(row)
    return pd.DataFrame(rows).set_index("window").sort_index()


class PerformanceWatch:
    """What a production monitor does with a model of one kind of task.

    A task's :attr:`~assay.tasks.Task.performance_watch` gives one; the monitor (store)
    calls these steps without knowing the kind. ``state`` is the JSON-safe dict
    :meth:`reference` returns, stored in the monitor's configuration.

    Attributes
    ----------
    metric : str
        The metric watched (its estimate and realised value raise the alerts).
    prediction_profiled : bool
        Whether the ``prediction`` column is profiled and tested for drift like any
        column (a class, a number); set-valued predictions are tested by the watch.
    """

    metric = "accuracy"
    prediction_profiled = True

    def reference(self, model: Any, features: pd.DataFrame, labels: pd.Series, *,
                  seed: int = 0) -> tuple[Any, dict[str, Any]]:
        """Out-of-sample predictions on the reference and the calibrated state."""
        raise NotImplementedError

    def estimator(self, state: dict[str, Any], features: pd.DataFrame,
                  labels: pd.Series) -> Any:
        """The fitted performance estimator from ``state`` (and the reference rows)."""
        raise NotImplementedError

    def needs_reference(self) -> bool:
        """Whether :meth:`estimator` reads the reference rows (else it takes none)."""
        return False

    def predict(self, model: Any, features: pd.DataFrame,
                state: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
        """(the ``prediction`` column, extra columns to store, the model's raw outputs)."""
        raise NotImplementedError

    def performance(self, estimator: Any, state: dict[str, Any], features: pd.DataFrame,
                    outputs: Any, predictions: Any, labels: pd.Series | None,
                    detector: dict[str, Any] | None) -> dict[str, Any]:
        """Estimated (and, with labels, realised) performance of one window."""
        raise NotImplementedError

    def summarise(self, estimator: Any, features: pd.DataFrame, outputs: Any) -> np.ndarray:
        """Per row, what :meth:`performance` reads of a chunk's features and outputs
        (rows concatenate across chunks): a window checked chunk by chunk keeps only
        this. By default the outputs themselves."""
        return np.asarray(outputs)

    def summary_performance(self, estimator: Any, state: dict[str, Any], summary: Any,
                            predictions: Any, labels: pd.Series | None,
                            detector: dict[str, Any] | None) -> dict[str, Any]:
        """:meth:`performance` of a window from its chunks' :meth:`summarise` rows,
        concatenated (by default: the outputs, and no features)."""
        return self.performance(estimator, state, pd.DataFrame(), summary, predictions,
                                labels, detector)

    def alerts(self, perf: dict[str, Any], state: dict[str, Any],
               limits: dict[str, float]) -> list[str]:
        """The performance alerts of one window."""
        raise NotImplementedError


class ClassificationWatch(PerformanceWatch):
    """Single-label classification: CBPE of accuracy, realised accuracy, Page-Hinkley on
    the error stream."""

    metric = "accuracy"

    def reference(self, model: Any, features: pd.DataFrame, labels: pd.Series, *,
                  seed: int = 0) -> tuple[Any, dict[str, Any]]:
        from assay.deploy.streams import PageHinkley
        from assay.train.predict import cross_val_predict_proba

        probs = cross_val_predict_proba(model, features, labels, seed=seed)
        values = labels.to_numpy()
        classes = np.unique(values)  # the column order of probs
        predicted = classes[probs.argmax(axis=1)]
        calibrator = ConfidenceEstimator().fit(probs, np.searchsorted(classes, values))
        errors = (predicted != values).astype(float)
        detector = PageHinkley()
        detector.update(errors)  # warm up on the reference's out-of-sample errors
        return predicted, {"classes": classes.tolist(), "calibrator": calibrator.to_dict(),
                           "reference_accuracy": float(1.0 - errors.mean()),
                           "detector": detector.to_dict()}

    def estimator(self, state: dict[str, Any], features: pd.DataFrame,
                  labels: pd.Series) -> Any:
        return ConfidenceEstimator.from_dict(state["calibrator"])

    def predict(self, model: Any, features: pd.DataFrame,
                state: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
        probs = model.predict_proba(features)
        classes = np.asarray(model.classes_)
        return classes[probs.argmax(axis=1)], {"confidence": probs.max(axis=1)}, probs

    def performance(self, estimator: Any, state: dict[str, Any], features: pd.DataFrame,
                    outputs: Any, predictions: Any, labels: pd.Series | None,
                    detector: dict[str, Any] | None) -> dict[str, Any]:
        return self._performance(estimator.estimate(outputs), state, predictions, labels,
                                 detector)

    def summarise(self, estimator: Any, features: pd.DataFrame, outputs: Any) -> np.ndarray:
        """The calibrated confidence of each row (one number, not one per class)."""
        return np.asarray(estimator.calibrated_confidence(outputs))

    def summary_performance(self, estimator: Any, state: dict[str, Any], summary: Any,
                            predictions: Any, labels: pd.Series | None,
                            detector: dict[str, Any] | None) -> dict[str, Any]:
        return self._performance(estimator.estimate_confidence(summary), state, predictions,
                                 labels, detector)

    def _performance(self, estimate: pd.DataFrame, state: dict[str, Any], predictions: Any,
                     labels: pd.Series | None,
                     detector: dict[str, Any] | None) -> dict[str, Any]:
        from assay.deploy.streams import PageHinkley

        out: dict[str, Any] = {"estimated": estimate.iloc[0].to_dict(),
                               "reference_accuracy": state["reference_accuracy"]}
        if labels is not None and labels.notna().any():
            known = labels.notna().to_numpy()
            y_true, y_pred = labels.to_numpy()[known], np.asarray(predictions)[known]
            out["realised"] = realised_performance(y_true, y_pred).iloc[0].to_dict()
            stream = PageHinkley.from_dict(detector) if detector else PageHinkley()
            alarms = stream.update((y_true != y_pred).astype(float))
            out["concept_alarms"] = [int(a) for a in alarms.indices]
            out["detector"] = stream.to_dict()
        return out

    def alerts(self, perf: dict[str, Any], state: dict[str, Any],
               limits: dict[str, float]) -> list[str]:
        alerts = []
        floor = perf["reference_accuracy"] - limits["accuracy_drop"]
        est = perf["estimated"].get("estimated_accuracy")
        if est is not None and est < floor:
            alerts.append(f"estimated accuracy {est:.3f} is below {floor:.3f} (reference - drop)")
        realised = perf.get("realised", {}).get("accuracy")
        if realised is not None and realised < floor:
            alerts.append(f"realised accuracy {realised:.3f} is below {floor:.3f}")
        if perf.get("concept_alarms"):
            alerts.append(
                f"concept drift: Page-Hinkley alarm at row(s) {perf['concept_alarms'][:5]}"
            )
        return alerts
