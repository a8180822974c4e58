"""Production monitors: a reference version's stored profile, and one window per batch.

Checking a batch never re-reads the reference: drift is tested against the stored
profile (:func:`assay.deploy.profile`). With a recipe, the monitor also predicts each
batch, tracks prediction drift, estimates accuracy without labels (confidence-based,
calibrated on the reference's out-of-sample predictions) and, when labels arrive,
realised accuracy and a Page-Hinkley detector over the error stream. Fitted models are
not stored (no pickle in a workspace): the recipe is deterministic, so it is refitted
on the reference when needed and cached in the process.
"""

from __future__ import annotations

import builtins
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import func, select

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m
from assay.store.label_import import label_sets_from_columns
from assay.store.labeling import require_labels
from assay.store.monitor_checks import reference_rows
from assay.store.readers import RowNames

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.objects import PendingObject
    from assay.store.workspace import Workspace

__all__ = ["DEFAULT_ALERTS", "MAX_SAMPLE_ROWS", "MonitorStore"]

#: Alert thresholds: an accuracy (estimated or realised) more than ``accuracy_drop``
#: below the reference's out-of-sample accuracy raises an alert.
DEFAULT_ALERTS = {"accuracy_drop": 0.05}
#: Rows of a window its labeling sample is drawn from; a larger window is subsampled
#: uniformly first (:meth:`MonitorStore.sample`).
MAX_SAMPLE_ROWS = 200_000
#: Fitted reference models, per process: fitting one per window would dominate ingest.
_MODELS: dict[tuple[str, int, str, str, tuple[str, ...]], Any] = {}


def monitored_columns(version: DatasetVersion) -> tuple[list[str], list[str]]:
    """(columns tested for drift, model feature columns) of a reference version.

    Every descriptive column (not the id, label, split, media path or augmentation
    provenance) is tested for drift; the model's features are the numeric ones among
    them that are not tags (:func:`assay.store.features.feature_columns`).
    """
    from assay.store.features import descriptive_columns, feature_columns

    drift_cols = descriptive_columns(version)
    dtypes_only = version.schema.empty_table().to_pandas()  # no rows read
    return drift_cols, feature_columns(version, dtypes_only)


class MonitorStore:
    """Monitors of a workspace (``ws.monitors``)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def add(
        self,
        name: str,
        reference: str,
        *,
        recipe: str | None = None,
        split: str | None = None,
        alerts: dict[str, float] | None = None,
        column_thresholds: dict[str, float] | None = None,
        predictions: list[Any] | dict[str, Any] | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Create monitor ``name`` on a reference version, profiling it once.

        ``split`` restricts the reference to the rows of one split (e.g. the training
        rows the model learns from), when the dataset has a split column.
        ``alerts`` sets metric thresholds (``accuracy_drop``); ``column_thresholds`` sets
        a per-column effect-size threshold for drift (overriding the defaults of
        :data:`assay.deploy.DEFAULT_THRESHOLDS` for those columns). ``predictions`` are
        a model's outputs on the reference rows (one per row, in their order) for a task
        whose model runs outside and sends its outputs with each batch (detection).
        """
        from assay.deploy import profile

        if any(m_["name"] == name for m_ in self.list()):
            raise InputError(f"a monitor named {name!r} exists already; choose another name.")
        version = self.ws.dataset(reference)
        drift_cols, features = monitored_columns(version)
        frame = reference_rows(version, split)
        if recipe is not None:  # a model is fit on the reference labels
            require_labels(version, frame)
        config: dict[str, Any] = {
            "columns": drift_cols,
            "features": features,
            "split": split,
            "alerts": _check_alerts(alerts or {}, recipe),
            "column_thresholds": _check_thresholds(column_thresholds or {}, drift_cols),
        }
        outside = _batch_watch(version.task)  # a model that sends its outputs (detection)
        if predictions is not None and (outside is None or recipe is not None):
            raise InputError(
                f"reference predictions are read by a monitor whose model sends its outputs "
                f"with each batch (detection), without a recipe; {version.ref} holds "
                f"{version.task.kind} labels: leave the predictions out."
            )
        if recipe is not None:
            # the task's watch: out-of-sample predictions and the calibrated estimator
            watch = version.task.performance_watch
            model = version.task.model_for(self.ws.recipes.get(recipe).build())
            predicted, state = watch.reference(
                model, frame[features], frame[version.roles.label], seed=seed
            )
            config.update(state, seed=seed)
            if watch.prediction_profiled:
                frame["prediction"] = predicted
                drift_cols = [*drift_cols, "prediction"]
        if recipe is None and outside is not None:
            # the model's outputs come with each batch (detection): profile the reference
            state = outside.reference_batch(
                frame,
                label=version.roles.label,
                media=version.roles.media,
                root=version.media_root,
                predictions=_reference_order(predictions, frame, version),
                seed=seed,
            )
            config.update(state, seed=seed)
        prof = profile(frame[drift_cols], seed=seed)
        table = pa.table({"profile": [json.dumps(prof.to_dict())]})
        with self.ws.writing_object(table) as obj, self.ws.session() as s:
            row = m.Monitor(
                name=name,
                reference_version_id=version.id,
                recipe_name=recipe,
                profile_hash=obj.digest,
                config=config,
            )
            s.add(row)
            s.flush()
            obj.release(s)
        return self.get(name)

    def _row(self, s: Any, name: str, *, lock: bool = False) -> m.Monitor:
        query = select(m.Monitor).where(m.Monitor.name == name)
        row = s.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise NotFoundError(f"no monitor named {name!r}; create one with `assay monitor add`.")
        return row

    def get(self, name: str) -> dict[str, Any]:
        """A monitor's settings and its reference."""
        with self.ws.session(readonly=True) as s:
            row = self._row(s, name)
            version = s.get(m.Version, row.reference_version_id)
            ds = s.get(m.Dataset, version.dataset_id) if version else None
            n_windows = (
                s.scalar(
                    select(func.count(m.MonitorWindow.id)).where(
                        m.MonitorWindow.monitor_id == row.id
                    )
                )
                or 0
            )
            return {
                "name": row.name,
                "reference": f"{ds.name}@v{version.number}" if ds and version else None,
                "recipe": row.recipe_name,
                "config": row.config,
                "windows": int(n_windows),
                "created_at": row.created_at,
            }

    def list(self) -> list[dict[str, Any]]:
        """Every monitor."""
        with self.ws.session(readonly=True) as s:
            names = s.scalars(select(m.Monitor.name).order_by(m.Monitor.name)).all()
        return [self.get(n) for n in names]

    def ingest(
        self,
        name: str,
        batch: pd.DataFrame | Any,
        *,
        source: str = "batch",
        rows: RowNames | None = None,
    ) -> dict[str, Any]:
        """Check one production batch as the next window; store it and its findings.

        ``batch`` is a pandas DataFrame, a Dask DataFrame or a folder of Parquet files
        (one table batch). ``source`` names the batch in messages; ``rows`` how they
        name its rows (by default the lines of the file ``source`` names, else the
        batch's index labels). A Dask DataFrame or a folder is checked and stored chunk
        by chunk, never whole in memory (:mod:`assay.store.monitor_stream`), except by a
        monitor whose batches carry images or the model's outputs.
        """
        from assay.deploy._dask_drift import as_pandas_batch
        from assay.store.monitor_checks import check_window
        from assay.store.monitor_stream import ingest_streamed, is_streamed_batch

        info = self.get(name)
        if is_streamed_batch(batch) and not info["config"].get("batch_watch"):
            return ingest_streamed(self, info, batch, source=source)
        batch = as_pandas_batch(batch)
        reference = self.ws.dataset(info["reference"])
        rows = rows if rows is not None else RowNames.for_source(source, batch)
        if info["config"].get("batch_watch"):  # images and the model's outputs in the batch
            base = Path(source).parent if Path(source).is_file() else None
            watch = reference.task.performance_watch
            batch = watch.prepare(batch, info["config"], base=base, where=rows)
        profile = self._profile(name)
        batch = self.checked_batch(batch, info, reference, profile, source, rows)
        model = self._model(info, reference) if info["recipe"] else None
        self.check_scorable(model, batch, info, source, rows)
        with _lock(self.ws, name):  # one window at a time: each continues the last
            state, head = self._detector_state(name, info["config"])
            estimator = self._estimator(info, reference) if model is not None else None
            scored, report = check_window(
                batch, profile, reference, info["config"], model, state, estimator=estimator
            )
            report["source"] = source
            name_alarm_rows(report, batch, state, reference, rows)
            number = self._store(name, scored, report, head)
        return {"monitor": name, "window": number, **report}

    def checked_batch(
        self,
        batch: pd.DataFrame,
        info: dict[str, Any],
        reference: DatasetVersion,
        profile: Any,
        source: str,
        rows: RowNames,
    ) -> pd.DataFrame:
        """``batch`` with its labels as the task stores them, once it is known to hold
        the monitored columns and values the reference can be compared with. Label sets
        may come as one 0/1 column per label name, as they were imported.

        Raises
        ------
        InputError
            Naming ``source``, the row (as ``rows`` names it) and the column.
        """
        config = info["config"]
        label = reference.roles.label
        names = config.get("label_names") or ()
        if label not in batch.columns and names and all(n in batch.columns for n in names):
            # label sets sent as the 0/1 columns the import combined (Class1, Class2, ...)
            batch = label_sets_from_columns(batch, names, label, source, rows)
        _check_schema(batch, config["columns"], source)
        if label is not None and label in batch.columns:  # as the task stores labels
            batch = batch.assign(**{label: reference.task.batch_labels(batch[label])})
        _check_values(profile, batch, config, label, source, rows)
        return batch

    @staticmethod
    def check_scorable(
        model: Any, batch: pd.DataFrame, info: dict[str, Any], source: str, rows: RowNames
    ) -> None:
        """Refuse a batch ``model`` (None: no model) cannot score, e.g. an infinite
        feature value, naming ``source``, the row and the column."""
        from assay.store.monitor_checks import model_problem

        if model is None:
            return
        problem = model_problem(
            model, batch, info["config"]["features"], rows, f"recipe {info['recipe']!r}"
        )
        if problem:
            raise InputError(f"{source}: {problem}")

    def _store(self, name: str, scored: pd.DataFrame, report: dict[str, Any], head: int) -> int:
        """Store a checked window as number ``head + 1``: object first, then one
        transaction (which fails, storing nothing, when another window came first)."""
        from assay.store.workspace import _fault_point

        _fault_point("monitor_before_store")
        table = pa.Table.from_pandas(scored, preserve_index=False)
        with self.ws.writing_object(table) as obj:
            return self.record_window(name, obj, len(scored), report, head)

    def record_window(
        self,
        name: str,
        obj: PendingObject,
        n_rows: int,
        report: dict[str, Any],
        head: int,
        parts: builtins.list[PendingObject] | None = None,
    ) -> int:
        """Record window ``head + 1`` stored in ``obj`` (the manifest of ``parts`` for a
        window in parts) in one transaction that releases their leases.

        Raises
        ------
        ConflictError
            When another process stored a window after ``head`` (nothing is recorded).
        """
        with self.ws.session() as s:
            row = self._row(s, name, lock=True)
            latest = s.scalar(
                select(func.max(m.MonitorWindow.number)).where(m.MonitorWindow.monitor_id == row.id)
            )
            if (latest or 0) != head:
                raise ConflictError(
                    f"monitor {name!r} got window {latest} from another process while this "
                    "batch was checked; nothing was stored: send the batch again."
                )
            s.add(
                m.MonitorWindow(
                    monitor_id=row.id,
                    number=head + 1,
                    object_hash=obj.digest,
                    parts=[p.digest for p in parts] if parts else None,
                    n_rows=n_rows,
                    report=report,
                    alerts=report["alerts"],
                )
            )
            obj.release(s)
            for part in parts or ():
                part.release(s)
        return head + 1

    def windows(self, name: str) -> builtins.list[dict[str, Any]]:
        """Every window of a monitor, oldest first."""
        with self.ws.session(readonly=True) as s:
            row = self._row(s, name)
            rows = s.scalars(
                select(m.MonitorWindow)
                .where(m.MonitorWindow.monitor_id == row.id)
                .order_by(m.MonitorWindow.number)
            ).all()
            return [
                {
                    "window": w.number,
                    "rows": w.n_rows,
                    "object": w.object_hash,
                    "alerts": w.alerts,
                    "report": w.report,
                    "created_at": w.created_at,
                }
                for w in rows
            ]

    def status(self, name: str) -> dict[str, Any]:
        """The latest window and its active alerts."""
        windows = self.windows(name)
        latest = windows[-1] if windows else None
        return {
            "monitor": name,
            "windows": len(windows),
            "latest": latest,
            "alerts": latest["alerts"] if latest else [],
        }

    def window_frame(self, name: str, window: int | None = None) -> pd.DataFrame:
        """The rows of a window (default: the latest), with predictions when scored."""
        return self.ws.objects.get_table(self._window(name, window)["object"]).to_pandas()

    def _window(self, name: str, window: int | None) -> dict[str, Any]:
        """Window ``window`` of monitor ``name`` (default: the latest), as :meth:`windows`
        lists it."""
        windows = self.windows(name)
        if not windows:
            raise InputError(f"monitor {name!r} has no windows yet; ingest a batch first.")
        chosen = (
            windows[-1]
            if window is None
            else next((w for w in windows if w["window"] == window), None)
        )
        if chosen is None:
            raise NotFoundError(
                f"monitor {name!r} has no window {window}; it has 1 to {len(windows)}."
            )
        return chosen

    def sample(
        self, name: str, *, n: int, window: int | None = None, seed: int = 0
    ) -> pd.DataFrame:
        """Pick production items for labeling and put them in the review queue.

        A window of more than :data:`MAX_SAMPLE_ROWS` rows is first subsampled
        uniformly (seeded), and the items are picked among those rows: a two-phase
        design whose inclusion probabilities include the first phase's share, so
        estimates weighted by them stay unbiased. The window is read part by part.
        """
        from assay.store.monitor_checks import sample_window
        from assay.store.monitor_stream import window_rows

        info = self.get(name)
        reference = self.ws.dataset(info["reference"])
        chosen = self._window(name, window)
        share = min(1.0, MAX_SAMPLE_ROWS / max(int(chosen["rows"]), 1))
        if share < 1.0:
            rng = np.random.default_rng([seed, int(chosen["window"])])
            kept = np.sort(rng.choice(int(chosen["rows"]), MAX_SAMPLE_ROWS, replace=False))
            frame = window_rows(self.ws, chosen["object"], kept)
        else:
            frame = self.ws.objects.get_table(chosen["object"]).to_pandas()
        picked = sample_window(frame, reference, info["config"], n=n, seed=seed,
                               first_phase=share)
        picked["item_id"] = [f"{name}:w{chosen['window']}:{i}" for i in picked.index]
        self.ws.review.add(reference.name, picked, source="drift_sample")
        return picked

    def _profile(self, name: str) -> Any:
        from assay.deploy import Profile

        with self.ws.session(readonly=True) as s:
            digest = self._row(s, name).profile_hash
        if digest is None:
            raise InputError(f"monitor {name!r} has no stored profile; create it again.")
        table = self.ws.objects.get_table(digest)
        return Profile.from_dict(json.loads(table.column("profile")[0].as_py()))

    def _model(self, info: dict[str, Any], reference: DatasetVersion) -> Any:
        config = info["config"]
        key = (
            str(self.ws.location),
            reference.id,
            self.ws.recipes.get(info["recipe"]).hash,
            str(config.get("split")),
            tuple(config["features"]),
        )
        if key not in _MODELS:
            frame = reference_rows(reference, info["config"].get("split"))
            model = reference.task.model_for(self.ws.recipes.get(info["recipe"]).build())
            targets, _ = reference.task.fit_targets(frame[reference.roles.label])
            model.fit(frame[info["config"]["features"]], targets)
            _MODELS[key] = model
        return _MODELS[key]

    def _estimator(self, info: dict[str, Any], reference: DatasetVersion) -> Any:
        """The task's fitted performance estimator (refitted on the reference when it
        needs its rows, e.g. direct loss estimation; cached in the process)."""
        watch = reference.task.performance_watch
        config = info["config"]
        if not watch.needs_reference():
            return watch.estimator(config, pd.DataFrame(), pd.Series(dtype=float))
        key = (str(self.ws.location), reference.id, "estimator:" + info["name"],
               str(config.get("split")), tuple(config["features"]))
        if key not in _MODELS:
            frame = reference_rows(reference, config.get("split"))
            _MODELS[key] = watch.estimator(
                config, frame[config["features"]], frame[reference.roles.label]
            )
        return _MODELS[key]

    def _detector_state(
        self, name: str, config: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, int]:
        """The Page-Hinkley state after the last window (else after the reference), and
        the last window's number (0: none yet)."""
        windows = self.windows(name)
        head = windows[-1]["window"] if windows else 0
        if windows and windows[-1]["report"].get("detector"):
            return windows[-1]["report"]["detector"], head
        return config.get("detector"), head


_ALARM_PREFIX = "concept drift: Page-Hinkley alarm at row(s) "


def name_alarm_rows(
    report: dict[str, Any],
    batch: pd.DataFrame,
    state: dict[str, Any] | None,
    reference: DatasetVersion,
    rows: RowNames,
) -> None:
    """Name the concept-drift alarms by the batch's ids (else its lines), not by their
    offset in the error stream the detector has seen since the reference.

    Sets ``performance.concept_alarm_rows`` and rewrites the alert to name them.
    """
    perf = report.get("performance") or {}
    alarms = perf.get("concept_alarms") or []
    label = reference.roles.label
    if not alarms or label is None or label not in batch.columns:
        return
    start = int(((state or {}).get("state") or {}).get("n_seen_", 0))
    labelled = np.flatnonzero(batch[label].notna().to_numpy())
    local = [a - start for a in alarms if 0 <= a - start < len(labelled)]
    positions = labelled[local]
    id_col = reference.roles.id
    if id_col in batch.columns:
        names = [str(v) for v in batch[id_col].to_numpy()[positions]]
        shown = f"{id_col} " + ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    else:
        names = [rows(int(p)) for p in positions]
        shown = rows.many(positions)
    perf["concept_alarm_rows"] = names
    report["alerts"] = [
        f"concept drift: Page-Hinkley alarm at {shown} of the batch"
        if a.startswith(_ALARM_PREFIX)
        else a
        for a in report["alerts"]
    ]


def _reference_order(
    predictions: Any, frame: pd.DataFrame, version: DatasetVersion
) -> list[Any] | None:
    """Per-item predictions (a mapping of item id to outputs) in the reference rows'
    order; an item without any gets an empty list."""
    if predictions is None or isinstance(predictions, list):
        return predictions
    ids = frame[version.roles.id].astype(str).tolist()
    return [predictions.get(item, []) for item in ids]


def _batch_watch(task: Any) -> Any:
    """The task's performance watch when it runs without a model (its outputs come in
    each batch), else None."""
    try:
        watch = task.performance_watch
    except InputError:
        return None
    return None if getattr(watch, "needs_model", True) else watch


def _check_alerts(alerts: dict[str, float], recipe: str | None) -> dict[str, float]:
    """Alert thresholds merged over the defaults; an accuracy drop is a share in (0, 1)."""
    unknown = sorted(set(alerts) - set(DEFAULT_ALERTS))
    if unknown:
        raise InputError(
            f"unknown alert(s) {', '.join(map(repr, unknown))}; "
            f"alerts can be set for {', '.join(DEFAULT_ALERTS)}."
        )
    drop = alerts.get("accuracy_drop")
    if drop is not None and not 0 < float(drop) < 1:
        raise InputError(
            f"accuracy_drop must be between 0 and 1 (e.g. 0.05 = 5 points), got {drop!r}."
        )
    if drop is not None and recipe is None:
        raise InputError(
            "accuracy_drop needs a recipe: without a model there is no accuracy "
            "to watch; give a recipe or leave the accuracy alert out."
        )
    return {**DEFAULT_ALERTS, **{k: float(v) for k, v in alerts.items()}}


def _check_thresholds(thresholds: dict[str, float], columns: list[str]) -> dict[str, float]:
    unknown = sorted(set(thresholds) - set(columns))
    if unknown:
        raise InputError(
            f"no monitored column {', '.join(map(repr, unknown))}; thresholds can be set for "
            f"{', '.join(columns[:10])}{' ...' if len(columns) > 10 else ''}."
        )
    bad = [c for c, v in thresholds.items() if not 0 < float(v) < 10]
    if bad:
        raise InputError(
            f"the threshold of {', '.join(bad)} must be an effect size above 0 and below 10 "
            "(e.g. 0.2: a shift of a fifth of a standard deviation)."
        )
    return {c: float(v) for c, v in thresholds.items()}


def _check_values(
    profile: Any,
    batch: pd.DataFrame,
    config: dict[str, Any],
    label: str | None,
    source: str,
    rows: RowNames,
) -> None:
    """Refuse a batch whose values cannot be compared with the reference (e.g. text in a
    numeric column) or stored (nested values, mixed kinds), naming rows as the source
    does and the column. Missing values and infinities are data: drift counts them."""
    from dataclasses import replace

    from assay.deploy import schema_problems
    from assay.store.monitor_checks import nested_problem, value_problem

    columns = config["columns"]
    problem = nested_problem(batch, rows)
    if problem:
        raise InputError(f"{source}: {problem}")
    monitored = replace(profile, columns={c: profile.columns[c] for c in columns})
    problems = schema_problems(monitored, batch[columns], rows=rows)
    if problems:
        raise InputError(f"{source}: " + " ".join(problems))
    numeric = [c for c in columns if profile.columns[c].kind == "numeric"]
    problem = value_problem(batch, numeric, config, label, rows)
    if problem:
        raise InputError(f"{source}: {problem}")


_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(workspace: Workspace, name: str) -> threading.Lock:
    """The lock of monitor ``name`` in this process (ingests run in worker threads)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((str(workspace.location), name), threading.Lock())


def _check_schema(batch: pd.DataFrame, columns: list[str], source: str) -> None:
    if len(batch) == 0:
        raise InputError(f"{source} has no rows; send a batch with at least one row.")
    missing = [c for c in columns if c not in batch.columns]
    if missing:
        raise InputError(
            f"{source} lacks monitored column(s) {', '.join(missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''}; send every column of the reference."
        )
