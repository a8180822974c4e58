"""What a monitor computes on one window: drift, predictions, performance, alerts."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay._json import jsonable
from assay.exceptions import InputError

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion

__all__ = ["check_window", "reference_rows", "sample_window"]


def reference_rows(version: DatasetVersion, split: str | None) -> pd.DataFrame:
    """The reference rows a monitor uses: the whole version, or the rows of one split."""
    frame = version.to_pandas()
    if split is None:
        return frame
    if version.roles.split is None:
        raise InputError(f"{version.ref} has no split column; leave out the reference split.")
    rows = frame[frame[version.roles.split].astype(str) == split]
    if rows.empty:
        values = ", ".join(map(str, frame[version.roles.split].unique()[:10]))
        raise InputError(f"{version.ref} has no rows in split {split!r}; its splits are: {values}.")
    return rows.reset_index(drop=True)


def _predict(
    model: Any, batch: pd.DataFrame, config: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    probs = model.predict_proba(batch[config["features"]])
    classes = np.asarray(model.classes_)
    return classes[probs.argmax(axis=1)], probs


def _performance(
    batch: pd.DataFrame,
    probs: np.ndarray,
    reference: DatasetVersion,
    config: dict[str, Any],
    state: dict[str, Any] | None,
) -> dict[str, Any]:
    from assay.deploy import ConfidenceEstimator, PageHinkley, realised_performance

    estimator = ConfidenceEstimator.from_dict(config["calibrator"])
    estimate = estimator.estimate(probs).iloc[0].to_dict()
    out: dict[str, Any] = {
        "estimated": estimate,
        "reference_accuracy": config["reference_accuracy"],
    }
    label = reference.roles.label
    if label in batch.columns and batch[label].notna().any():
        known = batch[label].notna().to_numpy()
        y_true, y_pred = batch[label].to_numpy()[known], batch["prediction"].to_numpy()[known]
        out["realised"] = realised_performance(y_true, y_pred).iloc[0].to_dict()
        detector = PageHinkley.from_dict(state) if state else PageHinkley()
        alarms = detector.update((y_true != y_pred).astype(float))
        out["concept_alarms"] = [int(a) for a in alarms.indices]
        out["detector"] = detector.to_dict()
    return out


def _alerts(report: Any, perf: dict[str, Any] | None, config: dict[str, Any]) -> list[str]:
    alerts = []
    drifted = report.columns.index[report.columns["drifted"]].tolist()
    if report.drifted:
        alerts.append(
            f"data drift: {len(drifted)} column(s) drifted ({', '.join(map(str, drifted[:8]))})"
        )
    elif "prediction" in drifted:
        alerts.append("prediction drift: the model's outputs changed")
    if perf is not None:
        floor = perf["reference_accuracy"] - config["alerts"]["accuracy_drop"]
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


def _unscorable(batch: pd.DataFrame, features: list[str]) -> str | None:
    """Why the model cannot score ``batch`` (None when it can)."""
    missing = [c for c in features if c not in batch.columns]
    if missing:
        return f"feature column(s) {', '.join(missing[:8])} missing"
    bad = [
        c
        for c in features
        if (
            pd.to_numeric(batch[c].astype(object), errors="coerce").isna() & batch[c].notna()
        ).any()
    ]
    if bad:
        return f"feature column(s) {', '.join(bad[:8])} hold values that are not numbers"
    return None


def _schema_alerts(changes: dict[str, list[str]], unscored: str | None) -> list[str]:
    """One alert per kind of schema drift, and one when the model could not score."""
    alerts = []
    if changes["missing"]:
        alerts.append(
            f"schema drift: monitored column(s) missing from the window: "
            f"{', '.join(changes['missing'][:8])}"
        )
    if changes["type_changed"]:
        alerts.append(
            f"schema drift: numeric column(s) now hold text: "
            f"{', '.join(changes['type_changed'][:8])}"
        )
    if changes["other"]:
        alerts.append(f"schema drift: column(s) changed shape: {', '.join(changes['other'][:8])}")
    if unscored:
        alerts.append(f"model not scored: {unscored}; no predictions or accuracy for this window")
    return alerts


def check_window(
    batch: pd.DataFrame,
    profile: Any,
    reference: DatasetVersion,
    config: dict[str, Any],
    model: Any,
    state: dict[str, Any] | None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score one batch; return the stored rows and the JSON report (with alerts).

    A monitored column missing from the batch, or a numeric one that now holds text, is
    schema drift: it makes the window drifted and raises an alert. Columns the reference
    does not have are listed under ``schema.new`` (not tested, no alert). When the
    model's features are missing or not numbers, the window is checked without
    predictions and an alert says so.
    """
    from assay.deploy import drift

    scored = batch.copy()
    perf = None
    unscored = _unscorable(scored, config["features"]) if model is not None else None
    if model is not None and unscored is None:
        scored["prediction"], probs = _predict(model, scored, config)
        scored["confidence"] = probs.max(axis=1)
        perf = _performance(scored, probs, reference, config, state)
    if unscored is not None:  # no predictions to compare: the alert says why
        profile = replace(
            profile, columns={k: v for k, v in profile.columns.items() if k != "prediction"}
        )
    prediction = "prediction" if "prediction" in profile.columns else None
    tested = [c for c in profile.columns if c in scored.columns]
    report = drift(
        profile,
        scored[tested],
        prediction=prediction,
        column_thresholds=config.get("column_thresholds") or None,
    )
    known = set(reference.schema.names) | set(profile.columns) | {"confidence"}
    changes = {**report.schema_changes, "new": [str(c) for c in batch.columns if c not in known]}
    table = report.columns.reset_index().rename(columns={"index": "column"})
    report_json: dict[str, Any] = {
        "drifted": report.drifted,
        "rule": report.rule,
        "params": jsonable(report.params),
        "schema": changes,
        "columns": jsonable(table.to_dict(orient="records")),
        "performance": jsonable({k: v for k, v in (perf or {}).items() if k != "detector"}) or None,
        # carried over when this window has no labels or was not scored
        "detector": (perf or {}).get("detector", state),
    }
    report_json["alerts"] = _schema_alerts(changes, unscored) + _alerts(report, perf, config)
    return scored, report_json


def sample_window(
    frame: pd.DataFrame, reference: DatasetVersion, config: dict[str, Any], *, n: int, seed: int
) -> pd.DataFrame:
    """Production rows for labeling, as review-queue entries (score low = look first)."""
    from assay.deploy import domain_classifier_scores, sample_for_labeling

    ref = reference_rows(reference, config.get("split"))[config["columns"]]
    drift_scores = domain_classifier_scores(ref, frame[config["columns"]], seed=seed)
    confidence = frame["confidence"].to_numpy() if "confidence" in frame.columns else None
    picked = sample_for_labeling(
        frame, n=n, drift_scores=drift_scores, confidence=confidence, seed=seed
    )
    rows = frame.loc[
        picked.index, config["features"] + [c for c in reference.roles.tags if c in frame.columns]
    ]
    out = pd.DataFrame(index=picked.index)
    out["score"] = 1.0 - np.clip(picked["score"].to_numpy(dtype=float), 0.0, 1.0)
    out["reason"] = [f"production sample ({r})" for r in picked["reason"]]
    out["suggested_label"] = (
        frame.loc[picked.index, "prediction"].tolist() if "prediction" in frame.columns else None
    )
    out["payload"] = pd.Series(
        [
            {"row": jsonable(r), "random": bool(rnd), "inclusion_probability": float(p)}
            for r, rnd, p in zip(
                rows.to_dict(orient="records"),
                picked["random"],
                picked["inclusion_probability"],
                strict=True,
            )
        ],
        index=out.index,
        dtype=object,
    )
    return out
