"""Consensus labels: combine the stored annotations of a dataset into one label per item."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from assay.collect import consensus
from assay.store.workspace import Workspace
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
    ws: Workspace, name: str, *, method: str = "dawid_skene", commit: bool = False
) -> ConsensusOutcome:
    """Combine the annotations stored for dataset ``name`` (``method``: majority or
    dawid_skene); with ``commit``, write the labels as a new version of ``name``."""
    frame = stored_annotations(ws, name)
    result = consensus(frame[["item", "annotator", "label"]], method=method)
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
