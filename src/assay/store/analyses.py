"""Recorded analyses: what was run on which data version with which recipe, and its result.

Every analysis (agreement, audit, slices, curve, experiment ...) is a row of
``analyses`` with a JSON result, optionally with per-row results as a Parquet object;
reports and the web app read them back.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import select

from assay.store import models as m
from assay.store.refs import parse_ref

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["analysis_table", "list_analyses", "record_analysis"]


def record_analysis(
    ws: Workspace,
    kind: str,
    result: dict[str, Any],
    *,
    dataset: str | None = None,
    params: dict[str, Any] | None = None,
    recipe_hash: str | None = None,
    table: pa.Table | None = None,
    duration_s: float | None = None,
) -> int:
    """Record an analysis (agreement, audit, slices, curve, experiment ...).

    Parameters
    ----------
    kind : str
        What was run, e.g. ``"audit"``.
    result : dict
        JSON-safe summary of the result (what pages and reports show).
    dataset : str, optional
        The analysed version (``NAME@vN``); the analysis is tied to it.
    table : pyarrow.Table, optional
        Per-row results, stored as a Parquet object.

    Returns
    -------
    int
        The analysis id.
    """
    version = ws.dataset(dataset) if dataset is not None else None
    with ExitStack() as stack:
        obj = stack.enter_context(ws.writing_object(table)) if table is not None else None
        with ws.session() as s:
            ds = ws._dataset_row(s, version.name) if version is not None else None
            row = m.Analysis(
                kind=kind,
                dataset_id=ds.id if ds else None,
                version_id=version.id if version else None,
                recipe_hash=recipe_hash,
                params=params or {},
                result=result,
                object_hash=obj.digest if obj is not None else None,
                duration_s=duration_s,
            )
            s.add(row)
            s.flush()
            if obj is not None:
                obj.release(s)  # referenced from this commit on
            number = row.id
    return number


def list_analyses(
    ws: Workspace, kind: str | None = None, *, dataset: str | None = None
) -> list[dict[str, Any]]:
    """Recorded analyses, newest first, as dicts (``table`` loads per-row results)."""
    query = (
        select(m.Analysis, m.Dataset.name, m.Version.number)
        .outerjoin(m.Dataset, m.Analysis.dataset_id == m.Dataset.id)
        .outerjoin(m.Version, m.Analysis.version_id == m.Version.id)
    )
    if kind is not None:
        query = query.where(m.Analysis.kind == kind)
    if dataset is not None:
        query = query.where(m.Dataset.name == parse_ref(dataset).name)
    with ws.session(readonly=True) as s:
        rows = s.execute(query.order_by(m.Analysis.id.desc())).all()
    return [
        {
            "id": a.id,
            "kind": a.kind,
            "dataset": name,
            "version": f"{name}@v{number}" if number is not None else None,
            "recipe_hash": a.recipe_hash,
            "params": a.params,
            "result": a.result,
            "object": a.object_hash,
            "duration_s": a.duration_s,
            "created_at": a.created_at,
        }
        for a, name, number in rows
    ]


def analysis_table(ws: Workspace, analysis: dict[str, Any]) -> pa.Table | None:
    """The per-row results stored with an analysis, if any."""
    digest = analysis.get("object")
    return ws.objects.get_table(digest) if digest else None
