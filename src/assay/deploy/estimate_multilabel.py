"""Estimated multi-label performance without labels: per-label CBPE.

A multi-label model gives, per row and label, the probability that the label applies;
it predicts the label where that probability is at least ``threshold`` (0.5).
:class:`MultilabelConfidenceEstimator` calibrates each label's decisions on labelled
reference data with :class:`assay.deploy.ConfidenceEstimator` (the probability that a
decision is right, given its confidence), so that on an unlabelled window each row and
label has a calibrated probability ``q`` that the label truly applies (``c`` for a
predicted label, ``1 - c`` for one not predicted). The expected per-label confusion
matrix follows: ``TP = sum of q over predicted labels``, ``FP = sum of 1 - q`` over
them, ``FN = sum of q over the labels not predicted``; hence the estimated micro F1
(pooled counts), macro F1 (mean of the per-label F1) and Hamming loss (mean ``P(wrong)``).

The bands are the 2.5% and 97.5% quantiles of the metric over ``n_draws`` simulated
label matrices (each cell drawn as Bernoulli(``q``)): the realised metric's spread if the
calibration holds. As with CBPE for one label, the estimate follows covariate shift but
is biased under concept drift (``P(y | x)`` changes), which realised performance shows
once labels arrive.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from assay._validation import (
    Integral,
    Interval,
    Options,
    Real,
    validate_parameter_constraints,
)
from assay.deploy.performance import ConfidenceEstimator, PerformanceWatch
from assay.exceptions import InputError

__all__ = [
    "MultilabelConfidenceEstimator", "MultilabelWatch", "f1_from_counts", "indicator_matrix",
    "label_probabilities",
]

METRICS = ("micro_f1", "macro_f1", "hamming_loss")


def indicator_matrix(labels: Any, classes: list[str] | None, *, func: str) -> np.ndarray:
    """Labels as an (n, k) 0/1 int matrix: from a 0/1 array, or from label sets.

    Parameters
    ----------
    labels : array-like of shape (n, k) of 0/1, or sequence of label sets (length n)
    classes : list of str, optional
        The label names in column order (needed for label sets; a set naming another
        label is refused).
    """
    from assay.deploy.drift_sets import label_indicators

    if isinstance(labels, (np.ndarray, pd.DataFrame)) and np.ndim(labels) == 2:
        matrix = np.asarray(labels)
        if not np.isin(matrix, (0, 1)).all():
            raise InputError(f"{func}: labels must be 0/1 per row and label (an indicator "
                             "matrix), or label sets.")
        return matrix.astype(np.int8)
    if classes is None:
        raise InputError(f"{func}: labels are label sets; give classes=[...] (the label "
                         "names in the column order of pred_probs).")
    frame = label_indicators(labels)
    unknown = sorted(set(frame.columns) - {str(c) for c in classes})
    if unknown:
        raise InputError(f"{func}: labels name {', '.join(map(repr, unknown[:5]))}, not "
                         f"among classes ({', '.join(map(str, classes[:10]))}).")
    return label_indicators(labels, [str(c) for c in classes]).to_numpy().astype(np.int8)


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 = 2 TP / (2 TP + FP + FN), element-wise; 0 where the denominator is 0
    (scikit-learn's ``zero_division=0``)."""
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)


def _metrics(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, n_cells: int) -> np.ndarray:
    """(micro F1, macro F1, Hamming loss) from per-label counts of shape (..., k)."""
    micro = f1_from_counts(tp.sum(-1), fp.sum(-1), fn.sum(-1))
    macro = f1_from_counts(tp, fp, fn).mean(-1)
    hamming = (fp.sum(-1) + fn.sum(-1)) / n_cells
    return np.stack([micro, macro, hamming], axis=-1)


class MultilabelConfidenceEstimator:
    """Per-label confidence-based performance estimation (CBPE) of micro / macro F1 and
    Hamming loss without labels.

    Parameters
    ----------
    method : {"isotonic", "temperature"}
        Calibration of each label's decisions (see :class:`ConfidenceEstimator`).
    threshold : float
        A label is predicted where its probability is at least this.
    confidence : float
        Level of the reported bands.
    alert_sigma : float
        A window alerts when its estimated micro F1 falls below the reference's by more
        than this many standard deviations of the simulated metric.
    n_draws : int
        Simulated label matrices behind the bands.
    seed : int
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "method": [Options(("isotonic", "temperature"))],
        "threshold": [Interval(Real, 0.0, 1.0, closed="neither")],
        "confidence": [Interval(Real, 0.0, 1.0, closed="neither")],
        "alert_sigma": [Interval(Real, 0.0, None)],
        "n_draws": [Interval(Integral, 10, None)],
        "seed": [Interval(Integral, 0, None)],
    }

    def __init__(self, method: str = "isotonic", threshold: float = 0.5,
                 confidence: float = 0.95, alert_sigma: float = 3.0, n_draws: int = 200,
                 seed: int = 0) -> None:
        self.method = method
        self.threshold = threshold
        self.confidence = confidence
        self.alert_sigma = alert_sigma
        self.n_draws = n_draws
        self.seed = seed

    def _probs(self, pred_probs: Any, func: str) -> np.ndarray:
        probs = np.asarray(pred_probs, dtype=float) if not isinstance(
            pred_probs, pd.DataFrame) else pred_probs.to_numpy(dtype=float)
        if probs.ndim != 2:
            raise InputError(f"{func}: pred_probs must be (n_samples, n_labels), one "
                             f"probability per row and label; got shape {probs.shape}.")
        if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
            row = int(np.argwhere(~(np.isfinite(probs) & (probs >= 0) & (probs <= 1)))[0, 0])
            raise InputError(f"{func}: pred_probs row {row} (0-based) holds a value that is "
                             "not a probability in [0, 1] (NaN, infinite or out of range).")
        if hasattr(self, "classes_") and probs.shape[1] != len(self.classes_):
            raise InputError(f"{func}: pred_probs has {probs.shape[1]} columns, but the "
                             f"estimator was fitted on {len(self.classes_)} labels.")
        return probs

    def _binary(self, p: np.ndarray) -> np.ndarray:
        """One label's probabilities as two-column probabilities, predicted class first
        when tied at the threshold (so argmax equals the decision ``p >= threshold``)."""
        shifted = np.clip(p + (0.5 - self.threshold), 0.0, 1.0)
        return np.c_[1 - shifted, shifted + 1e-12 * (shifted == 0.5)]

    def fit(self, pred_probs: Any, labels: Any, *,
            classes: list[str] | None = None) -> MultilabelConfidenceEstimator:
        """Calibrate each label's decisions on labelled reference data.

        Parameters
        ----------
        pred_probs : array-like of shape (n_samples, n_labels)
            Out-of-sample probability that each label applies.
        labels : array-like of shape (n_samples, n_labels) of 0/1, or label sets
        classes : list of str, optional
            The label names in column order (default ``label_0``, ...).
        """
        func = "MultilabelConfidenceEstimator.fit"
        params = {k: getattr(self, k) for k in self._parameter_constraints}
        validate_parameter_constraints(self._parameter_constraints, params, func)
        self.__dict__.pop("classes_", None)
        probs = self._probs(pred_probs, func)
        truth = indicator_matrix(labels, classes, func=func)
        if truth.shape != probs.shape:
            raise InputError(f"{func}: labels have shape {truth.shape} and pred_probs "
                             f"{probs.shape}; give one 0/1 per row and label.")
        self.classes_ = ([str(c) for c in classes] if classes is not None
                         else [f"label_{j}" for j in range(probs.shape[1])])
        self.estimators_ = []
        for j in range(probs.shape[1]):
            estimator = ConfidenceEstimator(method=self.method, confidence=self.confidence)
            self.estimators_.append(estimator.fit(self._binary(probs[:, j]), truth[:, j]))
        self.n_reference_ = len(probs)
        tp, fp, fn = _counts(truth, probs >= self.threshold)
        self.reference_ = dict(zip(METRICS, map(float, _metrics(tp, fp, fn, truth.size)),
                                   strict=True))
        return self

    def label_probabilities(self, pred_probs: Any) -> np.ndarray:
        """Calibrated probability that each label applies, shape (n_samples, n_labels)."""
        if not hasattr(self, "estimators_"):
            raise InputError("this MultilabelConfidenceEstimator is not fitted; call "
                             "fit(pred_probs, labels) on labelled reference data first.")
        probs = self._probs(pred_probs, "MultilabelConfidenceEstimator.estimate")
        out = np.empty_like(probs)
        for j, estimator in enumerate(self.estimators_):
            right = estimator.calibrated_confidence(self._binary(probs[:, j]))
            out[:, j] = np.where(probs[:, j] >= self.threshold, right, 1 - right)
        return out

    def estimate_per_label(self, pred_probs: Any) -> pd.DataFrame:
        """Estimated precision, recall and F1 of each label over all rows given.

        Returns
        -------
        pandas DataFrame indexed by label
            n_predicted, estimated_positives, estimated_precision, estimated_recall,
            estimated_f1.
        """
        q = self.label_probabilities(pred_probs)
        decided = np.asarray(pred_probs, dtype=float) >= self.threshold
        tp, fp, fn = (q * decided).sum(0), ((1 - q) * decided).sum(0), (q * ~decided).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
            recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        return pd.DataFrame({"n_predicted": decided.sum(0), "estimated_positives": q.sum(0),
                             "estimated_precision": precision, "estimated_recall": recall,
                             "estimated_f1": f1_from_counts(tp, fp, fn)},
                            index=pd.Index(self.classes_, name="label"))

    def estimate(self, pred_probs: Any, *, window: ArrayLike | None = None) -> pd.DataFrame:
        """Estimated micro F1, macro F1 and Hamming loss per window, with bands.

        Parameters
        ----------
        pred_probs : array-like of shape (n_samples, n_labels)
        window : array-like of shape (n_samples,), optional

        Returns
        -------
        pandas DataFrame indexed by window
            n; estimated_<metric>, estimated_<metric>_low, estimated_<metric>_high for
            micro_f1, macro_f1 and hamming_loss; reference_micro_f1,
            micro_f1_threshold, alert.
        """
        q = self.label_probabilities(pred_probs)
        decided = np.asarray(pred_probs, dtype=float) >= self.threshold
        keys = np.zeros(len(q), dtype=np.int64) if window is None else np.asarray(window)
        if len(keys) != len(q):
            raise InputError(f"window has {len(keys)} values for {len(q)} rows; give one "
                             "window label per row (e.g. a batch id or a day).")
        rng = np.random.default_rng(self.seed)
        rows = []
        for key in pd.unique(pd.Series(keys)):
            at = keys == key
            rows.append({"window": key, **self._window(q[at], decided[at], rng)})
        out = pd.DataFrame(rows).set_index("window").sort_index()
        out["alert"] = out["estimated_micro_f1"] < out["micro_f1_threshold"]
        return out

    def _window(self, q: np.ndarray, decided: np.ndarray,
                rng: np.random.Generator) -> dict[str, Any]:
        tp, fp, fn = (q * decided).sum(0), ((1 - q) * decided).sum(0), (q * ~decided).sum(0)
        point = _metrics(tp, fp, fn, q.size)
        draws = np.empty((self.n_draws, 3))
        for d in range(self.n_draws):
            draws[d] = _metrics(*_counts(rng.random(q.shape) < q, decided), q.size)
        tail = (1 - self.confidence) / 2
        low, high = np.quantile(draws, [tail, 1 - tail], axis=0)
        out: dict[str, Any] = {"n": len(q)}
        for i, metric in enumerate(METRICS):
            out[f"estimated_{metric}"] = float(point[i])
            out[f"estimated_{metric}_low"] = float(min(low[i], point[i]))
            out[f"estimated_{metric}_high"] = float(max(high[i], point[i]))
        out["reference_micro_f1"] = self.reference_["micro_f1"]
        out["micro_f1_threshold"] = (self.reference_["micro_f1"]
                                     - self.alert_sigma * float(draws[:, 0].std(ddof=1)))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Parameters and each label's calibration, JSON-safe."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self._parameter_constraints}
        if hasattr(self, "estimators_"):
            out.update(classes_=self.classes_, n_reference_=self.n_reference_,
                       reference_=self.reference_,
                       estimators_=[e.to_dict() for e in self.estimators_])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultilabelConfidenceEstimator:
        """Rebuild an estimator from :meth:`to_dict` output."""
        est = cls(**{k: data[k] for k in cls._parameter_constraints if k in data})
        if "estimators_" in data:
            est.classes_ = list(data["classes_"])
            est.n_reference_ = int(data["n_reference_"])
            est.reference_ = dict(data["reference_"])
            est.estimators_ = [ConfidenceEstimator.from_dict(e) for e in data["estimators_"]]
        return est


def _counts(truth: np.ndarray,
            decided: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-label TP, FP, FN of 0/1 truth against bool decisions, shape (k,)."""
    t = truth.astype(bool)
    return ((t & decided).sum(0).astype(float), (~t & decided).sum(0).astype(float),
            (t & ~decided).sum(0).astype(float))


def label_probabilities(outputs: Any, n_labels: int) -> np.ndarray:
    """A multi-label model's ``predict_proba`` as an (n, n_labels) matrix of P(label).

    scikit-learn's multi-output classifiers (random forests, k-NN,
    ``MultiOutputClassifier``) return a list of (n, 2) arrays, one per label; others
    (MLP, ``ClassifierChain``) the (n, n_labels) matrix itself.
    """
    if isinstance(outputs, list):
        cols = [np.asarray(p)[:, -1] if np.ndim(p) == 2 and np.shape(p)[1] > 1
                else np.zeros(len(p)) for p in outputs]
        matrix = np.column_stack(cols)
    else:
        matrix = np.asarray(outputs, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != n_labels:
        raise InputError(f"the model gives probabilities of shape {matrix.shape}, not one "
                         f"column per label ({n_labels}); use a multi-label classifier.")
    return matrix


def _as_sets(values: Any) -> list[list[str]]:
    from assay.tasks.multilabel import as_label_set

    return [list(as_label_set(v) or ()) for v in values]


class MultilabelWatch(PerformanceWatch):
    """A multi-label model in production: per-label CBPE of micro / macro F1 and Hamming
    loss, realised metrics (:meth:`assay.tasks.Task.score`) when labels arrive, and the
    predicted label sets tested by :func:`assay.deploy.drift_sets.set_drift`."""

    metric = "micro_f1"
    prediction_profiled = False

    def reference(self, model: Any, features: pd.DataFrame, labels: pd.Series, *,
                  seed: int = 0) -> tuple[Any, dict[str, Any]]:
        from sklearn.model_selection import KFold, cross_val_predict

        from assay.tasks import get_task

        matrix, classes = get_task("multilabel").fit_targets(labels)
        names = [str(c) for c in classes or []]
        folds = KFold(min(5, len(matrix)), shuffle=True, random_state=seed)
        outputs = cross_val_predict(model, features, matrix, cv=folds, method="predict_proba")
        probs = label_probabilities(outputs, len(names))
        est = MultilabelConfidenceEstimator(seed=seed).fit(probs, matrix, classes=names)
        predicted = _decode(probs >= est.threshold, names)
        return predicted, {"label_names": names, "calibrator": est.to_dict(),
                           "reference_micro_f1": est.reference_["micro_f1"],
                           "reference_predictions": predicted}

    def estimator(self, state: dict[str, Any], features: pd.DataFrame,
                  labels: pd.Series) -> Any:
        return MultilabelConfidenceEstimator.from_dict(state["calibrator"])

    def predict(self, model: Any, features: pd.DataFrame,
                state: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
        probs = model.predict_proba(features)
        n_labels = len(probs) if isinstance(probs, list) else np.shape(probs)[1]
        matrix = label_probabilities(probs, n_labels)
        sets = [json.dumps(row) for row in _decode(matrix >= 0.5, state["label_names"])]
        return sets, {"n_labels_predicted": (matrix >= 0.5).sum(axis=1)}, matrix

    def performance(self, estimator: Any, state: dict[str, Any], features: pd.DataFrame,
                    outputs: Any, predictions: Any, labels: pd.Series | None,
                    detector: dict[str, Any] | None) -> dict[str, Any]:
        from assay.deploy.drift_sets import set_drift
        from assay.deploy.performance import realised_scores
        from assay.tasks import get_task

        names = state["label_names"]
        predicted = _decode(np.asarray(outputs) >= estimator.threshold, names)
        est = estimator.estimate(outputs).iloc[0].to_dict()
        drift = set_drift(state["reference_predictions"], predicted, name="prediction")
        # The alert counts label frequencies and set sizes; co-occurrence changes are
        # reported only: the reference's predictions are out of sample (cross-validated
        # models), the window's come from the model fitted on all of it, and on yeast the
        # pair correlation of near-twin labels differs between the two without any change
        # in the data (phi 0.87 -> 0.58 for Class12 & Class13 on MULAN's test split).
        out: dict[str, Any] = {"estimated": est,
                               "reference_micro_f1": state["reference_micro_f1"],
                               "prediction_drift": {
                                   "drifted": bool(drift.drifted_columns),
                                   "columns": drift.drifted_columns,
                                   "pairs": [list(p) for p in drift.drifted_pairs]}}
        if labels is not None and labels.notna().any():
            known = labels.notna().to_numpy()
            truth = _as_sets(labels[known])
            pred = [p for p, k in zip(predicted, known, strict=True) if k]
            score = get_task("multilabel").score
            realised = realised_scores(lambda t, p, seed=0: score(t, p, seed=seed),
                                       truth, pred).iloc[0].to_dict()
            out["realised"] = realised
        return out

    def alerts(self, perf: dict[str, Any], state: dict[str, Any],
               limits: dict[str, float]) -> list[str]:
        alerts = []
        est = perf["estimated"]
        if est.get("alert"):
            alerts.append(f"estimated micro F1 {est['estimated_micro_f1']:.4f} is below the "
                          f"reference band {est['micro_f1_threshold']:.4f} (reference "
                          f"{perf['reference_micro_f1']:.4f})")
        real = perf.get("realised")
        if real and real["micro_f1"] < est["micro_f1_threshold"]:
            alerts.append(f"realised micro F1 {real['micro_f1']:.4f} is below the reference "
                          f"band {est['micro_f1_threshold']:.4f}")
        drift = perf.get("prediction_drift") or {}
        if drift.get("drifted"):
            shown = [c.split(":", 1)[1] for c in drift["columns"][:6]]
            alerts.append(f"prediction drift: predicted label sets changed ({', '.join(shown)})")
        return alerts


def _decode(decided: np.ndarray, names: list[str]) -> list[list[str]]:
    """Rows of a bool (n, k) matrix as sorted lists of label names."""
    return [[names[j] for j in np.flatnonzero(row)] for row in decided]
