"""Monitor windows larger than memory: a batch checked, scored and stored chunk by chunk.

A window from a Dask DataFrame (one chunk per partition, computed where Dask runs) or
a folder of Parquet files (read file by file, a quarter of ``ASSAY_PART_ROWS`` rows at
a time) is never whole in this process. Each chunk gets the checks of a whole batch (rows named
by file and row, or partition and index label), is scored by the monitor's model, is
summarised into the window's drift profile (:class:`assay.deploy.ProfileBuilder`) and
is written into the window's parts, as a streamed import writes a version's. What the
window keeps per row is what its performance needs (:class:`WindowOutputs`): the
watch's summary of the row (a classifier's calibrated confidence, a regressor's two
predicted losses), the prediction and the label, not the batch's columns.

Drift is then tested against the stored reference profile as for a Dask batch: exact
row counts, missing rates and category counts, and a uniform sample of up to 100,000
current values per numeric column. The Page-Hinkley detector sees the window's errors
in row order, as for a whole batch. On an error nothing is recorded (parts already
written are orphans that ``assay gc`` removes).
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay._dask import is_dask_frame
from assay.deploy._dask_drift import CURRENT_SAMPLE
from assay.deploy.profile import ProfileBuilder
from assay.exceptions import InputError
from assay.store.monitor_checks import ScoredBatch, score_batch, window_report
from assay.store.readers import RowNames
from assay.store.stream_sources import Chunk, parquet_files, part_rows, source_chunks
from assay.store.streamed import PartWriter

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.monitors import MonitorStore
    from assay.store.workspace import Workspace

__all__ = ["chunk_rows", "ingest_streamed", "is_streamed_batch", "window_rows"]

#: Text and embedding values per column the drift tests sample (drift's default).
_TEXT_SAMPLE = 500


def chunk_rows() -> int:
    """Rows read at a time from a Parquet file: a quarter of a part (``ASSAY_PART_ROWS``),
    so that a chunk's copies (pandas, scored, Arrow) stay small beside the part being
    gathered for writing."""
    return max(part_rows() // 4, 1)


def is_streamed_batch(batch: Any) -> bool:
    """Whether a monitor batch is checked chunk by chunk: a Dask DataFrame, or a
    folder holding Parquet files."""
    if is_dask_frame(batch):
        return True
    if not isinstance(batch, (str, os.PathLike)):
        return False
    path = Path(os.fspath(batch)).expanduser()
    return path.is_dir() and bool(parquet_files(path))


class WindowOutputs:
    """What a streamed window keeps of each scored chunk for its performance: per row,
    the watch's summary of the features and outputs (:meth:`PerformanceWatch.summarise`:
    one calibrated confidence for a classifier, two predicted losses for a regressor),
    the prediction and the label.

    Parameters
    ----------
    watch : PerformanceWatch
        The task's watch.
    estimator : object
        Its fitted performance estimator.
    """

    def __init__(self, watch: Any, estimator: Any) -> None:
        self.watch, self.estimator = watch, estimator
        self.summaries: list[np.ndarray] = []
        self.predictions: list[np.ndarray] = []
        self.labels: list[pd.Series] = []

    def add(self, scored: ScoredBatch, labels: pd.Series | None) -> None:
        """Keep one chunk's summaries, predictions and labels."""
        if scored.features is None:
            return
        self.summaries.append(self.watch.summarise(self.estimator, scored.features,
                                                   scored.outputs))
        self.predictions.append(np.asarray(scored.predictions))
        if labels is not None:
            self.labels.append(labels.reset_index(drop=True))

    def performance(
        self, config: dict[str, Any], detector: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The window's performance (:meth:`PerformanceWatch.summary_performance`), from
        the monitor's ``config`` and the detector's state after the last window."""
        labels = pd.concat(self.labels, ignore_index=True) if self.labels else None
        return dict(self.watch.summary_performance(
            self.estimator, config, np.concatenate(self.summaries),
            np.concatenate(self.predictions), labels, detector,
        ))


class _StreamedWindow:
    """One window being checked chunk by chunk (see the module notes)."""

    def __init__(
        self, store: MonitorStore, info: dict[str, Any], stack: ExitStack, source: str
    ) -> None:
        self.store, self.info, self.source = store, info, source
        self.config = info["config"]
        self.reference: DatasetVersion = store.ws.dataset(info["reference"])
        self.profile = store._profile(info["name"])
        self.model: Any = None
        self.writer = PartWriter(store.ws, stack, lambda table: None)
        self.drift: ProfileBuilder | None = None
        self.outputs: WindowOutputs | None = None
        self.unscored: str | None = None
        self.columns: list[Any] = []
        self.n_rows = 0

    def add(self, chunk: Chunk) -> None:
        """Check, score, profile and write one chunk (its Arrow table is consumed)."""
        # self_destruct frees the Arrow buffers as they convert: one copy in memory
        batch = chunk.table.to_pandas(self_destruct=True, split_blocks=True)
        chunk.table = pa.table({})
        rows = chunk.info.get("rows") or RowNames.for_frame(batch)
        where = chunk.where
        batch = self.store.checked_batch(
            batch, self.info, self.reference, self.profile, where, rows
        )
        if self.n_rows == 0:
            self._start()
        self.store.check_scorable(self.model, batch, self.info, where, rows)
        self.columns = self.columns or list(batch.columns)  # as sent (scoring adds some)
        scored = score_batch(batch, self.reference, self.config, self.model, copy=False)
        self._same_scoring(scored, where)
        table = self.writer.conform(pa.Table.from_pandas(scored.rows, preserve_index=False),
                                    where)
        if self.drift is None:
            self.drift = self._drift_builder(scored.rows)
        self.drift.add(scored.rows)
        label = self.reference.roles.label
        if self.outputs is not None:
            self.outputs.add(scored, batch[label] if label in batch.columns else None)
        self.writer.add(table)
        self.n_rows += len(batch)

    def _start(self) -> None:
        """Fit (or find) the model and its performance estimator once a chunk is known
        to be good."""
        if not self.info["recipe"]:
            return
        self.model = self.store._model(self.info, self.reference)
        estimator = self.store._estimator(self.info, self.reference)
        self.outputs = WindowOutputs(self.reference.task.performance_watch, estimator)

    def _drift_builder(self, scored: pd.DataFrame) -> ProfileBuilder:
        """The window's drift profile, of the reference profile's columns the first
        scored chunk has (the prediction too when the model scored it)."""
        kinds = {name: col.kind for name, col in self.profile.columns.items()}
        return ProfileBuilder(
            columns=[c for c in self.profile.columns if c in scored.columns],
            column_types={k: v for k, v in kinds.items() if v not in ("auto", "empty")},
            max_sample=CURRENT_SAMPLE,
            max_text_sample=_TEXT_SAMPLE,
        )

    def _same_scoring(self, scored: ScoredBatch, where: str) -> None:
        """The model scores every chunk or none: a window is one finding."""
        if self.n_rows == 0:
            self.unscored = scored.unscored
            return
        if (scored.unscored is None) != (self.unscored is None):
            why = scored.unscored or self.unscored
            raise InputError(
                f"{where}: the model could score some chunks of {self.source} but not "
                f"others ({why}); send every chunk with numeric feature columns."
            )

    def check(self, state: dict[str, Any] | None) -> dict[str, Any]:
        """The window's report, once every chunk is in."""
        assert self.drift is not None
        perf = None
        if self.outputs is not None and self.unscored is None:
            perf = self.outputs.performance(self.config, state)
        report = window_report(
            self.profile, self.drift.result(), self.columns, self.reference, self.config,
            perf, self.unscored, state,
        )
        report["source"] = self.source
        return report


def ingest_streamed(
    store: MonitorStore, info: dict[str, Any], batch: Any, *, source: str
) -> dict[str, Any]:
    """Check a Dask DataFrame or a Parquet folder as the next window of the monitor
    ``info`` describes (:meth:`MonitorStore.get`), chunk by chunk (see the module
    notes); the window is stored in parts."""
    from assay.store.monitors import _lock

    name = info["name"]
    where = str(batch) if not is_dask_frame(batch) else source
    with _lock(store.ws, name), ExitStack() as stack:  # one window at a time
        state, head = store._detector_state(name, info["config"])
        window = _StreamedWindow(store, info, stack, where)
        for chunk in source_chunks(batch, chunk_rows()):
            if chunk.table.num_rows:
                window.add(chunk)
        if window.n_rows == 0:
            raise InputError(f"{where} has no rows; send a batch with at least one row.")
        report = window.check(state)
        _name_alarms(report, window, state)
        window.writer.flush()
        manifest = window.writer.manifest()
        number = store.record_window(
            name, manifest, window.n_rows, report, head, parts=window.writer.written
        )
    return {"monitor": name, "window": number, **report}


def _name_alarms(report: dict[str, Any], window: _StreamedWindow, state: Any) -> None:
    """Name the concept-drift alarms by the window's ids, read back from its parts
    (only when there are alarms, and only the id and label columns)."""
    from assay.store.monitors import name_alarm_rows

    perf = report.get("performance") or {}
    label, id_col = window.reference.roles.label, window.reference.roles.id
    if not perf.get("concept_alarms") or label not in window.columns:
        return
    window.writer.flush()
    wanted = [c for c in (id_col, label) if c in window.columns]
    frame = pd.concat(
        [
            window.store.ws.objects.get_table(p.digest, wanted).to_pandas()
            for p in window.writer.written
        ],
        ignore_index=True,
    )
    name_alarm_rows(report, frame, state, window.reference, RowNames("row"))


def window_rows(ws: Workspace, digest: str, positions: np.ndarray) -> pd.DataFrame:
    """The rows at sorted 0-based ``positions`` of the window stored in object
    ``digest``, read part by part (one part in memory at a time), indexed by position.
    """
    parts = ws.objects.parts(digest)
    if parts is None:  # a window in one object
        frame = ws.objects.get_table(digest).take(pa.array(positions)).to_pandas()
    else:
        frames, start = [], 0
        for part, rows in parts:
            lo, hi = np.searchsorted(positions, [start, start + rows])
            if hi > lo:
                table = ws.objects.get_table(part)
                frames.append(table.take(pa.array(positions[lo:hi] - start)).to_pandas())
            start += rows
        frame = pd.concat(frames, ignore_index=True)
    frame.index = pd.Index(positions)
    return frame
