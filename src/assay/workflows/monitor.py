"""Production monitoring: drift between two files, monitors, windows, feedback sampling.

The CLI (files) and the web app (JSON bodies) ingest through the same use case:
:func:`ingest_file` and :func:`ingest_json` parse, then :func:`ingest_frame` checks the
batch as the monitor's next window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from assay.deploy import DriftReport, drift
from assay.exceptions import InputError, NotFoundError
from assay.report.pages import write_page
from assay.store.readers import RowNames
from assay.store.workspace import Workspace
from assay.workflows.batches import json_rows, read_batch_file, read_table_file

__all__ = [
    "FileDrift",
    "MonitorStatus",
    "Window",
    "add_monitor",
    "file_drift",
    "ingest_file",
    "ingest_folder",
    "ingest_frame",
    "ingest_json",
    "monitor_status",
    "sample_for_review",
]


#: A dataset reference as ``assay drift`` takes one: ``NAME`` or ``NAME@vN``.
_DATASET_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(@v\d+)?$")


@dataclass(frozen=True)
class FileDrift:
    """Drift of a current file against a reference file; the report's path."""

    result: DriftReport
    report: Path

    def to_dict(self) -> dict[str, Any]:
        """Verdict, rule, schema changes and one record per column (JSON-ready)."""
        frame = self.result.columns.reset_index().rename(columns={"index": "column"})
        return {
            "drifted": self.result.drifted,
            "rule": self.result.rule,
            "report": str(self.report),
            "schema": self.result.schema_changes,
            "columns": frame.astype(object).where(frame.notna(), None).to_dict(orient="records"),
        }


@dataclass(frozen=True)
class Window:
    """One checked production window: the store's report (``window["alerts"]`` ...)
    and the number of rows of the batch."""

    window: dict[str, Any]
    rows: int


@dataclass(frozen=True)
class MonitorStatus:
    """The latest window of each monitor, and whether any alert is active."""

    statuses: list[dict[str, Any]]

    @property
    def alerts_active(self) -> bool:
        """Whether the latest window of any monitor raised an alert."""
        return any(s["alerts"] for s in self.statuses)


def _check_columns(names: list[str] | None, available: list[str], reference: Path) -> None:
    missing = [c for c in names or [] if c not in available]
    if missing:
        more = f" ... ({len(available) - 20} more)" if len(available) > 20 else ""
        raise InputError(
            f"{reference} has no column {', '.join(map(repr, missing))} (columns); its "
            f"columns are: {', '.join(map(str, available[:20]))}{more}."
        )


def file_drift(
    reference: Path,
    current: Path,
    *,
    columns: list[str] | None = None,
    report: Path,
    workspace: Workspace | None = None,
) -> FileDrift:
    """Test ``columns`` (default: all) of ``current`` for drift from ``reference``;
    the HTML report is written to ``report``.

    Each side is a CSV / Parquet / JSON Lines file or, when no such file exists and
    ``workspace`` is given, a version of it (``NAME`` or ``NAME@vN``: its rows without
    the id column).
    """
    (ref_frame, ref_name), (cur_frame, cur_name) = (
        _drift_side(reference, workspace), _drift_side(current, workspace)
    )
    _check_columns(columns, list(ref_frame.columns), Path(ref_name))
    result = drift(ref_frame, cur_frame, columns=columns)
    write_page(report, f"Drift: {cur_name} vs {ref_name}", result.to_html())
    return FileDrift(result, report)


def _drift_side(source: Path, workspace: Workspace | None) -> tuple[pd.DataFrame, str]:
    """The rows of a file, else of a workspace version (ids left out), and their name."""
    if source.exists() or workspace is None or not _DATASET_REF.match(str(source)):
        return read_table_file(source), source.name
    try:
        version = workspace.dataset(str(source))
    except NotFoundError as exc:
        raise InputError(f"{source} is not a file, and {exc}") from None
    frame = version.to_pandas()
    return frame.drop(columns=[version.roles.id], errors="ignore"), version.ref


def add_monitor(
    ws: Workspace,
    name: str,
    reference: str,
    *,
    recipe: str | None = None,
    split: str | None = None,
    accuracy_drop: float | None = None,
    column_thresholds: dict[str, float] | None = None,
    predictions: Path | None = None,
    coco: Path | None = None,
) -> dict[str, Any]:
    """Create monitor ``name`` on the reference version ``reference`` (``DATASET@vN``):
    profile it once and, with ``recipe``, calibrate the recipe's model; with
    ``predictions`` (a detection dataset: the detector's boxes on the reference images,
    COCO results or a boxes CSV/Parquet with score), profile the predicted boxes too;
    ``coco`` is the COCO file whose numeric image/category ids the results use."""
    if coco is not None and predictions is None:
        raise InputError("coco= maps the numeric ids of predictions=; give the detector's "
                         "boxes with it, or leave coco= out.")
    return ws.monitors.add(
        name,
        reference,
        recipe=recipe,
        split=split,
        alerts={} if accuracy_drop is None else {"accuracy_drop": accuracy_drop},
        column_thresholds=column_thresholds or {},
        predictions=None if predictions is None
        else _box_predictions(ws, reference, predictions, coco),
    )


def _box_predictions(ws: Workspace, reference: str, path: Path,
                     coco: Path | None = None) -> dict[str, list[Any]]:
    """A detector's boxes on a reference version's images, by item id
    (:meth:`assay.tasks.detection.DetectionTask.read_predictions`)."""
    from assay.workflows._box_annotations import item_names

    version = ws.dataset(reference)
    if version.task.kind != "detection" or version.roles.label is None:
        raise InputError(f"{version.ref} holds {version.task.kind} labels; reference "
                         "predictions are a detector's boxes on a detection dataset.")
    frame = version.to_pandas()
    ids = frame[version.roles.id].astype(str).tolist()
    lists = version.task.read_predictions(path, labels=frame[version.roles.label].tolist(),
                                          ids=ids, names=item_names(version, frame),
                                          mapping=coco)
    return dict(zip(ids, lists, strict=True))


def ingest_frame(
    ws: Workspace, name: str, batch: pd.DataFrame, *, source: str, rows: RowNames | None = None
) -> Window:
    """Check ``batch`` as the next window of monitor ``name`` and store it."""
    return Window(ws.monitors.ingest(name, batch, source=source, rows=rows), len(batch))


def ingest_folder(ws: Workspace, name: str, folder: Path, *, on_cluster: bool) -> Window:
    """Check a folder of Parquet files as the monitor's next window, chunk by chunk
    (read by the active Dask cluster, partition by partition, when ``on_cluster``)."""
    from assay._dask import read_parquet_folder

    batch: Any = read_parquet_folder(folder) if on_cluster else folder
    window = ws.monitors.ingest(name, batch, source=str(folder))
    return Window(window, int(window["params"]["n_cur"]))


def ingest_file(ws: Workspace, name: str, path: Path) -> Window:
    """Read a production batch file and check it as the monitor's next window."""
    return ingest_frame(ws, name, read_batch_file(path), source=str(path))


def ingest_json(ws: Workspace, name: str, body: bytes, *, ndjson: bool, source: str) -> Window:
    """Parse a JSON (or NDJSON) batch and check it as the monitor's next window."""
    rows, names = json_rows(body, ndjson=ndjson)
    return ingest_frame(ws, name, pd.DataFrame.from_records(rows), source=source, rows=names)


def monitor_status(ws: Workspace, name: str | None = None) -> MonitorStatus:
    """The status of monitor ``name`` (default: of every monitor)."""
    names = [name] if name else [m["name"] for m in ws.monitors.list()]
    return MonitorStatus([ws.monitors.status(n) for n in names])


def sample_for_review(
    ws: Workspace, name: str, *, n: int, window: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Send ``n`` production items of a window (default: the latest) to the review
    queue: drifted and low-confidence ones first, plus a random share."""
    return ws.monitors.sample(name, n=n, window=window, seed=seed)
