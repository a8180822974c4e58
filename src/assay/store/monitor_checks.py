"""What a monitor computes on one window: drift, predictions, performance, alerts."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay._json import jsonable
from assay.exceptions import InputError

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion

__all__ = [
    "ScoredBatch",
    "check_window",
    "model_problem",
    "nested_problem",
    "reference_rows",
    "sample_window",
    "score_batch",
    "value_problem",
    "window_performance",
    "window_report",
    "window_watch",
]

#: The 64-bit integer range: beyond it a value is stored as neither int64 nor exactly.
_INT64 = (-(2**63), 2**63 - 1)
#: How messages name the kinds of value a column can hold.
_KIND_NAMES = {"number": "a number", "text": "text", "bool": "true/false"}
_PLURALS = {"number": "numbers", "text": "text", "bool": "true/false"}


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


def _kind(value: Any) -> str | None:
    """What a cell holds: number, text, bool, list, object, big (int), another type,
    or None (missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "number" if _INT64[0] <= value <= _INT64[1] else "big"
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple | np.ndarray):
        return "list"
    return "object" if isinstance(value, dict) else type(value).__name__


def _object_columns(batch: pd.DataFrame) -> list[Any]:
    """The columns whose cells may hold values of different kinds, or nested ones
    (object dtype, unless pandas finds them all text, all floats or all true/false)."""
    uniform = {"string", "floating", "boolean", "empty"}
    return [
        c
        for c in batch.columns
        if batch[c].dtype == object
        and pd.api.types.infer_dtype(batch[c], skipna=True) not in uniform
    ]


def nested_problem(batch: pd.DataFrame, where: Callable[[int], str]) -> str | None:
    """A value no column can hold: a list or object, an integer beyond 64 bits (None:
    there is none). ``where`` names the row at a 0-based position."""
    for column in _object_columns(batch):
        for position, value in enumerate(batch[column].tolist()):
            kind = _kind(value)
            if kind in ("list", "object"):
                return (
                    f"column {column!r} {where(position)} holds "
                    f"{'a list' if kind == 'list' else 'an object'}; a value is a number, "
                    "text, true/false or null: put nested values in columns of their own."
                )
            if kind == "big":
                return (
                    f"column {column!r} {where(position)} holds an integer of "
                    f"{len(str(abs(value)))} digits, beyond the 64-bit range (about ±9.2e18); "
                    "send it as a float (e.g. 1e+40) or as text."
                )
    return None


def _mixed(batch: pd.DataFrame, where: Callable[[int], str]) -> str | None:
    """A column holding values of two kinds (e.g. numbers and text): not storable."""
    for column in _object_columns(batch):
        first: dict[str, int] = {}
        for position, value in enumerate(batch[column].tolist()):
            kind = _kind(value)
            if kind is None:
                continue
            first.setdefault(kind, position)
            if len(first) > 1:
                other, at = next(iter(first.items()))
                return (
                    f"column {column!r} {where(position)} holds {value!r} "
                    f"({_KIND_NAMES.get(kind, kind)}) but {where(at)} holds "
                    f"{_KIND_NAMES.get(other, other)}; send one type of value per column "
                    "(null where a value is missing)."
                )
    return None


def _booleans(batch: pd.DataFrame, numeric: list[str], where: Callable[[int], str]) -> str | None:
    """true/false in a column the reference holds numbers in."""
    for column in numeric:
        if batch[column].dtype == bool or batch[column].dtype == object:
            kinds = [_kind(v) for v in batch[column].tolist()]
            if "bool" in kinds:
                position = kinds.index("bool")
                return (
                    f"column {column!r} {where(position)} holds "
                    f"{batch[column].iloc[position]!r}, not a number; send numbers (or null) "
                    "in numeric columns."
                )
    return None


def _labels(
    batch: pd.DataFrame, label: str, classes: list[Any], where: Callable[[int], str]
) -> str | None:
    """Labels of another kind than the reference's (``'1'`` for ``1``): never equal."""
    if label not in batch.columns or not classes:
        return None
    expected = {_kind(c) for c in classes}
    want = expected.pop() if len(expected) == 1 else None
    if want is None:
        return None
    kinds = [_kind(v) for v in batch[label].tolist()]
    wrong = [i for i, k in enumerate(kinds) if k is not None and k != want]
    if not wrong:
        return None
    shown = ", ".join(map(repr, classes[:5]))
    return (
        f"column {label!r} {where(wrong[0])} holds {batch[label].iloc[wrong[0]]!r}, but the "
        f"reference's labels are {_PLURALS.get(want, want)} ({shown}): send labels of "
        "that kind."
    )


def value_problem(
    batch: pd.DataFrame,
    numeric: list[str],
    config: dict[str, Any],
    label: str | None,
    where: Callable[[int], str],
) -> str | None:
    """Why a batch's values cannot be checked or stored (None: they can).

    Refused: nested values, integers beyond 64 bits, true/false in the ``numeric``
    columns, columns mixing kinds of value (numbers and text), labels of another kind
    than the reference's. Missing values and infinities are data (the drift report
    counts them); whether a model can score them is :func:`model_problem`'s question.
    ``where`` names the row at a 0-based position. The text of numbers in numeric
    columns is :func:`assay.deploy.schema_problems`'s question (asked before this).
    """
    problem = _booleans(batch, numeric, where) or _mixed(batch, where)
    if problem is None and label is not None and config.get("classes"):
        problem = _labels(batch, label, config["classes"], where)
    return problem


def model_problem(
    model: Any,
    batch: pd.DataFrame,
    features: list[str],
    where: Callable[[int], str],
    name: str = "the model",
) -> str | None:
    """Why ``model`` (``name`` in messages) cannot score ``batch`` (None: it can).

    An infinite feature value cannot be scored by any scikit-learn model; a missing one
    by many (e.g. logistic regression) but not all (histogram gradient boosting
    handles them): the model is asked on the rows that miss a value.
    """
    values = batch[features].apply(pd.to_numeric, errors="coerce")
    infinite = np.isinf(values.to_numpy(dtype=float))
    if infinite.any():
        row, col = np.argwhere(infinite)[0]
        return (
            f"column {features[col]!r} {where(int(row))} holds {values.iat[row, col]}; {name} "
            "cannot score infinite values: send a finite number."
        )
    missing = values.isna().to_numpy()
    if not missing.any():
        return None
    lacking = missing.any(axis=1)
    try:
        model.predict(batch.loc[lacking, features])
    except ValueError as exc:
        if "NaN" not in str(exc):
            raise
        row, col = np.argwhere(missing)[0]
        return (
            f"column {features[col]!r} {where(int(row))} is missing (null) and {name} "
            f"cannot score a row without it ({int(lacking.sum())} row(s) miss a feature); "
            f"send a value in every feature column ({', '.join(features[:8])}), or use a "
            "recipe whose model handles missing values."
        )
    return None


def _alerts(
    report: Any, perf: dict[str, Any] | None, config: dict[str, Any], watch: Any
) -> list[str]:
    alerts = []
    drifted = report.columns.index[report.columns["drifted"]].tolist()
    if report.drifted:
        named = ", ".join(map(str, drifted[:8]))
        more = f" and {len(drifted) - 8} more" if len(drifted) > 8 else ""
        alerts.append(f"data drift: {len(drifted)} column(s) drifted ({named}{more})")
    elif "prediction" in drifted:
        alerts.append("prediction drift: the model's outputs changed")
    if perf is not None:
        alerts += watch.alerts(perf, config, config["alerts"])
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


@dataclass
class ScoredBatch:
    """A batch (or one chunk of it) with the model's outputs.

    Attributes
    ----------
    rows : DataFrame of shape (n_rows, n_columns + n_outputs)
        The batch with ``prediction`` and the watch's extra columns (e.g. ``confidence``).
    features : DataFrame or None
        What the model was given (None when it did not score).
    predictions, outputs : array-like of length n_rows, or None
        The ``prediction`` column and the model's raw outputs (probabilities, numbers).
    unscored : str or None
        Why the model could not score the batch (None: it did, or there is no model).
    """

    rows: pd.DataFrame
    features: pd.DataFrame | None = None
    predictions: Any = None
    outputs: Any = None
    unscored: str | None = None


def window_watch(reference: DatasetVersion, config: dict[str, Any], model: Any) -> Any:
    """The task's performance watch when the window is scored (by ``model``, or by the
    outputs each batch carries), else None."""
    batch_watch = model is None and bool(config.get("batch_watch"))
    return reference.task.performance_watch if model is not None or batch_watch else None


def score_batch(
    batch: pd.DataFrame,
    reference: DatasetVersion,
    config: dict[str, Any],
    model: Any,
    *,
    copy: bool = True,
) -> ScoredBatch:
    """Predict ``batch`` with ``model`` (or read the outputs it carries) as the watch
    does; a batch the model cannot score is returned with the reason. With ``copy``
    false the output columns are added to ``batch`` itself."""
    watch = window_watch(reference, config, model)
    unscored = _unscorable(batch, config["features"]) if model is not None else None
    scored = batch.copy() if copy else batch
    if watch is None or unscored is not None:
        return ScoredBatch(scored, unscored=unscored)
    features = scored.copy() if model is None else scored[config["features"]]
    predictions, extra, outputs = watch.predict(model, features, config)
    added = pd.DataFrame({"prediction": predictions, **extra}, index=scored.index)
    with warnings.catch_warnings():
        # a streamed chunk holds one block per column on purpose (split_blocks: one copy
        # in memory); pandas calls any insert into it fragmented, which is no news here
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        scored[list(added.columns)] = added
    return ScoredBatch(scored, features, predictions, outputs)


def window_performance(
    scored: ScoredBatch,
    labels: pd.Series | None,
    reference: DatasetVersion,
    config: dict[str, Any],
    state: dict[str, Any] | None,
    estimator: Any,
) -> dict[str, Any]:
    """The watch's estimated (and, with ``labels``, realised) performance of a window."""
    watch = reference.task.performance_watch
    if estimator is None:  # one stored in the configuration (no reference rows)
        estimator = watch.estimator(config, pd.DataFrame(), pd.Series(dtype=float))
    return dict(watch.performance(
        estimator, config, scored.features, scored.outputs, scored.predictions, labels, state
    ))


def window_report(
    profile: Any,
    current: Any,
    columns: list[Any],
    reference: DatasetVersion,
    config: dict[str, Any],
    perf: dict[str, Any] | None,
    unscored: str | None,
    state: dict[str, Any] | None,
) -> dict[str, Any]:
    """The JSON report of a window: drift of ``current`` (the scored rows' tested
    columns, or their :class:`~assay.deploy.Profile`) against ``profile``, schema
    changes of the batch's ``columns``, performance and alerts."""
    from assay.deploy import drift

    if unscored is not None:  # no predictions to compare: the alert says why
        profile = replace(
            profile, columns={k: v for k, v in profile.columns.items() if k != "prediction"}
        )
    prediction = "prediction" if "prediction" in profile.columns else None
    tested = [c for c in profile.columns if c in current.columns]
    report = drift(
        profile,
        current[tested] if isinstance(current, pd.DataFrame) else current,
        prediction=prediction,
        column_thresholds=config.get("column_thresholds") or None,
    )
    known = set(reference.schema.names) | set(profile.columns) | {"confidence", "prediction"}
    changes = {**report.schema_changes, "new": [str(c) for c in columns if c not in known]}
    table = report.columns.reset_index().rename(columns={"index": "column"})
    watched = (perf or {}).pop("columns", [])  # statistics the watch tested (images, boxes)
    report_json: dict[str, Any] = {
        "drifted": report.drifted,
        "rule": report.rule,
        "params": jsonable(report.params),
        "schema": changes,
        "columns": jsonable(table.to_dict(orient="records")) + jsonable(watched),
        "charts": jsonable(report.charts),  # histograms behind the monitoring page's charts
        "performance": jsonable({k: v for k, v in (perf or {}).items() if k != "detector"}) or None,
        # carried over when this window has no labels or was not scored
        "detector": (perf or {}).get("detector", state),
    }
    watch = reference.task.performance_watch if perf is not None else None
    report_json["alerts"] = _schema_alerts(changes, unscored) + _alerts(
        report, perf, config, watch
    )
    return report_json


def check_window(
    batch: pd.DataFrame,
    profile: Any,
    reference: DatasetVersion,
    config: dict[str, Any],
    model: Any,
    state: dict[str, Any] | None,
    *,
    estimator: Any = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score one batch; return the stored rows and the JSON report (with alerts).

    A monitored column missing from the batch, or a numeric one that now holds text, is
    schema drift: it makes the window drifted and raises an alert. Columns the reference
    does not have are listed under ``schema.new`` (not tested, no alert). When the
    model's features are missing or not numbers, the window is checked without
    predictions and an alert says so.
    """
    scored = score_batch(batch, reference, config, model)
    perf = None
    if scored.features is not None:
        label = reference.roles.label
        labels = scored.rows[label] if label in scored.rows.columns else None
        perf = window_performance(scored, labels, reference, config, state, estimator)
    report = window_report(
        profile, scored.rows, list(batch.columns), reference, config, perf, scored.unscored, state
    )
    return scored.rows, report


def sample_window(
    frame: pd.DataFrame,
    reference: DatasetVersion,
    config: dict[str, Any],
    *,
    n: int,
    seed: int,
    first_phase: float = 1.0,
) -> pd.DataFrame:
    """Production rows for labeling, as review-queue entries (score low = look first).

    ``first_phase`` is the probability with which each row of the window came into
    ``frame`` (a uniform subsample of a larger window); the inclusion probabilities
    in the payloads are multiplied by it.
    """
    from assay.deploy import domain_classifier_scores, sample_for_labeling

    if "drift_score" in frame.columns:  # scored per row at ingest (images)
        drift_scores = frame["drift_score"].to_numpy(dtype=float)
    else:
        ref = reference_rows(reference, config.get("split"))[config["columns"]]
        drift_scores = domain_classifier_scores(ref, frame[config["columns"]], seed=seed)
    confidence = frame["confidence"].to_numpy() if "confidence" in frame.columns else None
    picked = sample_for_labeling(
        frame, n=n, drift_scores=drift_scores, confidence=confidence, seed=seed
    )
    media = [config["media"]] if config.get("media") in frame.columns else []  # images
    rows = frame.loc[
        picked.index,
        media + config["features"] + [c for c in reference.roles.tags if c in frame.columns],
    ]
    out = pd.DataFrame(index=picked.index)
    out["score"] = 1.0 - np.clip(picked["score"].to_numpy(dtype=float), 0.0, 1.0)
    out["reason"] = [f"production sample ({r})" for r in picked["reason"]]
    suggested = "suggestion" if "suggestion" in frame.columns else "prediction"
    out["suggested_label"] = (
        frame.loc[picked.index, suggested].tolist() if suggested in frame.columns else None
    )
    out["payload"] = pd.Series(
        [
            {"row": jsonable(r), "random": bool(rnd), "inclusion_probability": float(p)}
            for r, rnd, p in zip(
                rows.to_dict(orient="records"),
                picked["random"],
                picked["inclusion_probability"] * first_phase,
                strict=True,
            )
        ],
        index=out.index,
        dtype=object,
    )
    return out
