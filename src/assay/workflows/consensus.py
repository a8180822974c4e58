"""Consensus labels: combine the stored annotations of a dataset into one label per item."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._dask import is_dask_frame
from assay.collect.readers import read_annotations
from assay.store.datasets import dataset_task
from assay.store.workspace import Workspace
from assay.tasks import Task
from assay.workflows.agreement import (
    AgreementSource,
    normalising_book,
    read_annotation_folder,
    records,
    stored_annotations,
)

__all__ = [
    "TIE_QUALITY",
    "ConsensusOutcome",
    "commit_consensus",
    "file_consensus",
    "folder_consensus",
    "run_consensus",
    "unresolved_ties",
]

#: A tie between an item's top classes is *unresolved* when the consensus quality of
#: the chosen class is below this (the share the consensus summary calls low): a commit
#: keeps such items' labels and queues them for review instead of relabelling them on a
#: tie-break alone.
TIE_QUALITY = 0.8
#: The review-queue source of unresolved ties.
TIE_SOURCE = "consensus_tie"


@dataclass(frozen=True)
class ConsensusOutcome:
    """Consensus labels with a quality score per item, annotator qualities, and the
    version the labels were committed as (None when not committed).

    ``result`` is the engine's own result (``summary()``, ``to_dict()`` when it has
    them) and ``kind`` the task's kind, so that a face shows any kind alike.
    """

    method: str
    labels: pd.DataFrame
    annotators: pd.DataFrame
    version: str | None = None
    kind: str = "classification"
    result: Any = field(default=None, compare=False, repr=False)
    unresolved: int = 0

    def to_dict(self, max_items: int = 1000) -> dict[str, Any]:
        """JSON-ready: method, kind, the first ``max_items`` labels, annotators, version
        and (on a commit) how many unresolved ties were left for review."""
        return {
            "method": self.method,
            "kind": self.kind,
            "labels": records(self.labels.head(max_items)),
            "annotators": records(self.annotators),
            "version": self.version,
            "unresolved_ties": self.unresolved,
        }


def _combine(
    frame: pd.DataFrame, task: Task, method: str | None, labelbook: Any = None
) -> ConsensusOutcome:
    """Run ``task``'s consensus engine (``method`` default: the task's
    :attr:`~assay.tasks.Task.consensus_method`; ``labelbook`` passed when given)."""
    chosen = method if method is not None else task.consensus_method
    extra = {"labelbook": labelbook} if labelbook is not None else {}
    result = task.consensus(frame[["item", "annotator", "label"]], method=chosen, **extra)
    return ConsensusOutcome(chosen, result.labels, result.annotators, None, task.kind, result)


def run_consensus(
    ws: Workspace,
    name: str,
    *,
    method: str | None = None,
    commit: bool = False,
    task: Task | None = None,
) -> ConsensusOutcome:
    """Combine the annotations stored for dataset ``name``; with ``commit``, write the
    labels as a new version of ``name``.

    Parameters
    ----------
    method : str, optional
        A method of the task's consensus engine (classification: majority or
        dawid_skene; regression: em, mean or median; multilabel: dawid_skene or
        majority per label); default the task's
        :attr:`~assay.tasks.Task.consensus_method`.
    task : Task, optional
        Whose :attr:`~assay.tasks.Task.consensus` engine combines the labels (default:
        the dataset's task, :func:`assay.store.datasets.dataset_task`). The engine
        returns ``labels`` (indexed by item, a ``label`` column) and ``annotators``.
    """
    frame = stored_annotations(ws, name)
    task = task or dataset_task(name, ws)
    book = None  # an engine that normalises (transcripts): the latest label book's rules
    if "labelbook" in inspect.signature(task.consensus).parameters:
        book = normalising_book(AgreementSource(frame, ws, name), None)
    outcome = _combine(frame, task, method, book)
    if not commit:
        return outcome
    ties = unresolved_ties(frame, outcome.labels) if outcome.kind == "classification" else None
    settled = outcome.labels if ties is None else outcome.labels.drop(index=ties.index)
    version = commit_consensus(ws, name, settled, outcome.method)
    if ties is not None and len(ties):
        _queue_ties(ws, name, ties)
    return ConsensusOutcome(outcome.method, outcome.labels, outcome.annotators, version,
                            outcome.kind, outcome.result,
                            0 if ties is None else len(ties))


def _queue_ties(ws: Workspace, name: str, ties: pd.DataFrame) -> None:
    """Queue the unresolved ties for review, with the label each item kept."""
    version = ws.dataset(name)
    frame = version.to_pandas()
    current = pd.Series(
        frame[version.roles.label].to_numpy(object), index=frame[version.roles.id].astype(str)
    )
    entries = ties.assign(given_label=ties["item_id"].map(current).to_numpy(object))
    ws.review.add(name, entries, source=TIE_SOURCE)


def unresolved_ties(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Items whose annotators tie for the top class and whose consensus is unsure.

    Parameters
    ----------
    frame : DataFrame
        The annotations: ``item``, ``annotator``, ``label``.
    labels : DataFrame
        The consensus ``labels`` table (indexed by item, ``label`` and ``quality``).

    Returns
    -------
    DataFrame indexed by item
        Review entries (``item_id``, ``reason``, ``score`` = the quality,
        ``suggested_label`` = the consensus label) for the tied items whose quality is
        below :data:`TIE_QUALITY`.
    """
    counts = frame.groupby(["item", "label"]).size().unstack(fill_value=0)
    if counts.shape[1] < 2:
        return pd.DataFrame(columns=["item_id", "reason", "score", "suggested_label"])
    top = np.sort(counts.to_numpy(), axis=1)
    tied = counts.index[top[:, -1] == top[:, -2]]
    chosen = labels.reindex(tied)
    unsure = chosen[chosen["quality"] < TIE_QUALITY]
    reasons = [
        "annotators tie: " + ", ".join(f"{c} ({n})" for c, n in row[row == row.max()].items())
        for _, row in counts.loc[unsure.index].iterrows()
    ]
    return pd.DataFrame(
        {"item_id": [str(i) for i in unsure.index], "reason": reasons,
         "score": unsure["quality"].to_numpy(np.float64),
         "suggested_label": unsure["label"].to_numpy(object)},
        index=unsure.index,
    )


def file_consensus(
    path: Path, task: Task, *, method: str | None = None, names: Sequence[str] | None = None,
    from_name: str | None = None, annotators: Path | None = None,
    item_key: str | None = None,
) -> ConsensusOutcome:
    """Combine the annotations of a file (CSV, TSV, Parquet, a Label Studio export) as
    labels of ``task``'s kind; nothing is stored. ``item_key``, ``from_name`` and
    ``annotators`` are those of :func:`assay.collect.read_annotations`."""
    frame = read_annotations(path, allow_new=True, names=names, from_name=from_name,
                             annotators=annotators, item_key=item_key)
    return _combine(frame, task, method)


def folder_consensus(folder: Path, task: Task, *, method: str | None = None) -> ConsensusOutcome:
    """Combine the annotations of a folder of Parquet files, larger than memory, on Dask
    (:func:`~assay.workflows.agreement.read_annotation_folder`; classification only).
    The per-item labels are computed into memory: one row per item, a few times fewer
    than the annotations."""
    outcome = _combine(read_annotation_folder(folder), task, method)
    labels: Any = outcome.labels  # a lazy Dask DataFrame from the Dask engine
    return replace(outcome, labels=labels.compute() if is_dask_frame(labels) else labels)


def commit_consensus(ws: Workspace, name: str, labels: pd.DataFrame, method: str) -> str:
    """Write consensus ``labels`` (indexed by item id) into the latest version of
    ``name`` as a new version; items without a consensus label keep theirs."""
    base = ws.dataset(name)
    frame = base.to_pandas()
    ids = frame[base.roles.id].astype(str)
    new = ids.map(labels["label"].rename(index=str))
    changed = new.notna()
    column = frame[base.roles.label]
    if pd.api.types.is_integer_dtype(column):
        new = pd.to_numeric(new, errors="coerce")
    frame.loc[changed, base.roles.label] = new[changed].astype(column.dtype)
    version = ws.commit(
        name,
        frame,
        message=f"consensus labels ({method}) for {int(changed.sum())} items",
        provenance={"consensus": method},
    )
    return version.ref
