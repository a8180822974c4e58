"""Error analysis of a version: accuracy per tag against HLP, weak slices, advice.

:func:`run_slices` tabulates the out-of-sample errors of a recipe (or given
predictions) per tag against human-level performance, optionally discovers weak
slices (SliceLine) and recommends what to do for each; :func:`record_slices` records
it as a ``slices`` analysis.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay._json import jsonable
from assay.exceptions import InputError
from assay.store.features import load_predictions
from assay.workflows._common import exclusive, modality_of, recipe_predictions

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace

__all__ = ["SlicesRun", "latest_label_flags", "record_slices", "run_slices"]


@dataclass
class SlicesRun:
    """An error analysis of one version, before it is recorded.

    ``result`` is the analysis's JSON result (``dataset``, ``by``, ``hlp_source``,
    ``accuracy``, ``tag_table``, ``tag_recommendations`` and, when slices were
    searched, ``slices`` and ``slice_recommendations``); ``table`` holds one row per
    item (item_id, y_true, y_pred, error).
    """

    result: dict[str, Any]
    params: dict[str, Any]
    recipe_hash: str | None
    table: pa.Table
    duration_s: float

    @property
    def significant(self) -> list[str]:
        """The discovered slices whose error rate is significantly above the overall one."""
        rows = (self.result.get("slices") or {}).get("rows", [])
        return [r["slice"] for r in rows if r.get("is_significant")]


def _hlp(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    hlp: float | None,
    from_annotations: bool,
) -> tuple[Any, str]:
    """The human-level performance to compare with, and where it comes from."""
    from assay.store.features import item_agreement

    exclusive(hlp=hlp, hlp_from_annotations=from_annotations)
    if not from_annotations:
        return hlp, "none (gap to perfect accuracy)" if hlp is None else f"given: {hlp}"
    rows = item_agreement(ws.annotations.load(version.name), frame[version.roles.id].tolist())
    n = int(np.isfinite(rows).sum())
    if n == 0:
        raise InputError(
            f"{version.name} has no item labelled by two or more annotators; import the "
            f"annotations of {version.name} first, or give hlp=X."
        )
    return rows, f"annotator agreement on {n} multiply-labelled items"


def _check_by(version: DatasetVersion, frame: pd.DataFrame, by: Sequence[str]) -> None:
    """Refuse ``by`` columns the version does not have, listing its tag columns."""
    missing = [c for c in by if c not in frame.columns]
    if not missing:
        return
    tags = list(version.roles.tags)
    others = [str(c) for c in frame.columns if c not in tags]
    listed = ", ".join(others[:10]) + (
        f" ... ({len(others) - 10} more)" if len(others) > 10 else ""
    )
    raise InputError(
        f"{version.ref} has no column {', '.join(map(repr, missing))} to slice by; "
        f"its tag columns are: {', '.join(tags) if tags else 'none'} (other columns: {listed}); "
        "give by= one of them."
    )


def latest_label_flags(
    ws: Workspace, version: DatasetVersion, frame: pd.DataFrame
) -> np.ndarray | None:
    """``is_label_issue`` per row from the latest audit of this version, if any."""
    for record in ws.analyses("audit", dataset=version.name):
        if record["version"] != version.ref:
            continue
        stored = ws.analysis_table(record)
        if stored is None or "is_label_issue" not in stored.column_names:
            return None
        issues = stored.to_pandas()
        flags = issues.set_index(issues["item_id"].astype(str))["is_label_issue"]
        return flags.reindex(frame[version.roles.id].astype(str)).fillna(False).to_numpy(bool)
    return None


def _tags(version: DatasetVersion, frame: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    """The columns to tabulate: ``by``, else the version's tag columns."""
    tags = list(by) if by else list(version.roles.tags)
    if not tags:
        raise InputError(f"{version.ref} has no tag columns; name some with by=[COL1, COL2].")
    _check_by(version, frame, tags)
    return tags


def run_slices(
    ws: Workspace,
    ref: str,
    *,
    by: Sequence[str] | None = None,
    recipe: str | None = None,
    predictions: Path | None = None,
    hlp: float | None = None,
    hlp_from_annotations: bool = False,
    find: bool = True,
    alpha: float = 0.9,
    metadata: Sequence[str] | None = None,
    seed: int = 0,
    n_jobs: int | None = 1,
) -> SlicesRun:
    """Tag table, discovered slices and recommendations for a version (not yet recorded).

    Parameters
    ----------
    ws : Workspace
    ref : str
        The version, ``NAME`` or ``NAME@vN``.
    by : sequence of str, optional
        The tag columns (default: the version's tags).
    recipe : str, optional
        A registered recipe whose out-of-sample predictions are analysed (default: the
        modality's default model).
    predictions : path, optional
        Given predictions instead (labels or probabilities, ``.npy`` / ``.csv`` /
        ``.parquet``).
    hlp : float, optional
        Human-level performance for every tag.
    hlp_from_annotations : bool
        HLP per tag from the agreement of the version's double labels.
    find : bool
        Also discover weak slices (SliceLine) over ``metadata``.
    alpha : float
        SliceLine's weight of the error term, in (0, 1].
    metadata : sequence of str, optional
        Columns for the search (default: tags and few-valued numeric columns).
    seed : int
    n_jobs : int, optional
    """
    from assay.store.features import metadata_frame

    exclusive(recipe=recipe, predictions=predictions)
    start = time.perf_counter()
    version = ws.dataset(ref)
    frame = version.to_pandas()
    tags = _tags(version, frame, by)
    hlp_value, hlp_source = _hlp(ws, version, frame, hlp, hlp_from_annotations)
    meta = metadata_frame(version, frame, metadata) if find else None
    y_true = frame[version.roles.label].to_numpy()
    recipe_hash = None
    if predictions is not None:
        y_pred = load_predictions(predictions, version, frame)
    else:
        y_pred, _, recipe_hash = recipe_predictions(
            ws, version, frame, recipe, seed=seed, n_jobs=n_jobs
        )
    result = {"dataset": version.ref, "by": tags, "hlp_source": hlp_source}
    result.update(
        _analyse(ws, version, frame, y_true, y_pred, tags, hlp_value, meta, alpha, seed)
    )
    params = {
        "by": tags,
        "recipe": recipe,
        "alpha": alpha,
        "find": find,
        "seed": seed,
        "predictions": str(predictions) if predictions else None,
        "metadata": list(meta.columns) if meta is not None else None,
    }
    table = _error_table(version, frame, y_true, y_pred)
    return SlicesRun(jsonable(result), params, recipe_hash, table, time.perf_counter() - start)


def _analyse(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    tags: list[str],
    hlp: Any,
    meta: pd.DataFrame | None,
    alpha: float,
    seed: int,
) -> dict[str, Any]:
    """Accuracy, the tag table and, with ``meta``, the discovered slices, each advised."""
    from assay.train.slices import find_slices, recommend, slice_table

    modality = modality_of(version)
    flags = latest_label_flags(ws, version, frame)
    tag_table = slice_table(frame, y_true, y_pred, by=tags, hlp=hlp, seed=seed)
    out: dict[str, Any] = {
        "accuracy": float(np.mean(y_true == y_pred)),
        "tag_table": tag_table.to_dict(),
        "tag_recommendations": recommend(
            tag_table, label_issue_rate=flags, modality=modality
        ).to_dict(),
    }
    if meta is not None and meta.shape[1]:
        found = find_slices(meta, (y_true != y_pred).astype(float), alpha=alpha, seed=seed)
        out["slices"] = found.to_dict()
        out["slice_recommendations"] = recommend(
            found, label_issue_rate=flags, modality=modality
        ).to_dict()
    return out


def _error_table(
    version: DatasetVersion, frame: pd.DataFrame, y_true: np.ndarray, y_pred: np.ndarray
) -> pa.Table:
    """One row per item: item_id, y_true, y_pred (as text) and whether it is an error."""
    return pa.table(
        {
            "item_id": frame[version.roles.id].to_numpy(),
            "y_true": pd.Series(y_true).astype(str).to_numpy(),
            "y_pred": pd.Series(y_pred).astype(str).to_numpy(),
            "error": y_true != y_pred,
        }
    )


def record_slices(ws: Workspace, run: SlicesRun) -> int:
    """Record the error analysis as a ``slices`` analysis; return its id."""
    return ws.record_analysis(
        "slices",
        run.result,
        dataset=run.result["dataset"],
        params=run.params,
        recipe_hash=run.recipe_hash,
        table=run.table,
        duration_s=run.duration_s,
    )
