"""Consensus labels: combine the stored annotations of a dataset into one label per item."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from assay.store.datasets import dataset_task
from assay.store.workspace import Workspace
from assay.tasks import Task
from assay.workflows.agreement import stored_annotations

__all__ = ["ConsensusOutcome", "commit_consensus", "run_consensus"]


@dataclass(frozen=True)
class ConsensusOutcome:
    """Consensus labels with a quality score per item, annotator qualities, and the
    version the labels were committed as (None when not committed)."""

    method: str
    labels: pd.DataFrame
    annotators: pd.DataFrame
    version: str | None = None


def run_consensus(
    ws: Workspace,
    name: str,
    *,
    method: str = "dawid_skene",
    commit: bool = False,
    task: Task | None = None,
) -> ConsensusOutcome:
    """Combine the annotations stored for dataset ``name``; with ``commit``, write the
    labels as a new version of ``name``.

    Parameters
    ----------
    method : str
        A method of the task's consensus engine (classification: majority or
        dawid_skene).
    task : Task, optional
        Whose :attr:`~assay.tasks.Task.consensus` engine combines the labels (default:
        the dataset's task, :func:`assay.store.datasets.dataset_task`). The engine
        returns ``labels`` (indexed by item, a ``label`` column) and ``annotators``.
    """
    frame = stored_annotations(ws, name)
    engine = (task or dataset_task(name, ws)).consensus
    result = engine(frame[["item", "annotator", "label"]], method=method)
    version = commit_consensus(ws, name, result.labels, method) if commit else None
    return ConsensusOutcome(method, result.labels, result.annotators, version)


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
