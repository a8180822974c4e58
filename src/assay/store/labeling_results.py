"""Adjudications of disagreed labels, and the provenance of applied labels.

An adjudication is one decided label per item of a plan (a change bumps ``revision``);
applying labels writes one ``label_provenance`` row per labeled item of the new version
(who labeled it, under which label-book version, how it was decided), in the version's
transaction, and logs ``label.apply``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assay.exceptions import ConflictError, InputError
from assay.store import models as m
from assay.store.labeling import _book_version, project_row
from assay.store.models import utcnow

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["adjudication_rows", "provenance_hook", "provenance_of", "save_adjudication"]


def save_adjudication(
    ws: Workspace, name: str, item_id: str, label: str, actor: str, shown: Any
) -> dict[str, Any]:
    """Store (or change) the adjudicated label of an item; audit-logged.

    Raises
    ------
    InputError
        The item was never labeled in this plan.
    """
    j = m.LabelingAdjudication
    try:
        with ws.session() as s:
            project = project_row(s, ws, name)
            labeled = s.scalar(
                select(func.count()).where(
                    m.LabelingLabel.project_id == project.id, m.LabelingLabel.item_id == item_id
                )
            )
            if not labeled:
                raise InputError(
                    f"item {item_id} of {name} has no labels in the plan; adjudicate items of "
                    f"the adjudication queue (`assay label agreement {name}` lists them)."
                )
            book = _book_version(s, project.dataset_id)
            row = s.scalar(select(j).where(j.project_id == project.id, j.item_id == item_id))
            if row is None:
                row = j(
                    project_id=project.id,
                    item_id=item_id,
                    label=label,
                    actor=actor,
                    labelbook_version=book,
                    revision=0,
                    at=utcnow(),
                )
                s.add(row)
            else:
                row.label, row.actor, row.at = label, actor, utcnow()
                row.labelbook_version, row.revision = book, row.revision + 1
            s.flush()
            s.add(
                m.AuditLog(
                    actor=actor,
                    action="label.adjudicate",
                    target=f"label:{name}:{item_id}",
                    detail={"label": shown, "revision": row.revision},
                )
            )
            return {
                "item_id": item_id,
                "label": label,
                "actor": actor,
                "labelbook_version": book,
                "revision": row.revision,
                "at": row.at,
            }
    except IntegrityError as exc:
        raise ConflictError(
            f"item {item_id} of {name} was adjudicated by someone else just now; reload it."
        ) from exc


def adjudication_rows(ws: Workspace, name: str) -> pd.DataFrame:
    """The adjudicated labels of the plan: ``item``, ``label`` (encoded), ``actor``,
    ``labelbook_version``, ``at``."""
    j = m.LabelingAdjudication
    with ws.session(readonly=True) as s:
        project = project_row(s, ws, name)
        rows = s.execute(
            select(j.item_id, j.label, j.actor, j.labelbook_version, j.at).where(
                j.project_id == project.id
            )
        ).all()
    columns = ["item", "label", "actor", "labelbook_version", "at"]
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)


def provenance_hook(
    ws: Workspace, name: str, records: Sequence[dict[str, Any]], actor: str = "unknown"
) -> Callable[[Session, m.Version], None]:
    """An ``on_commit`` hook writing ``records`` (``item_id``, ``labelers``,
    ``labelbook_version``, ``method``, ``adjudicated_by``) as the provenance of the new
    version, marking the plan applied to it and logging ``label.apply`` by ``actor``, in
    the version's transaction."""
    with ws.session(readonly=True) as s:
        project_id = project_row(s, ws, name).id

    def write(s: Session, version: m.Version) -> None:
        rows = [{**r, "version_id": version.id, "project_id": project_id} for r in records]
        for start in range(0, len(rows), 5000):
            s.execute(insert(m.LabelProvenance), rows[start : start + 5000])
        s.execute(
            update(m.LabelingProject)
            .where(m.LabelingProject.id == project_id)
            .values(applied_version_id=version.id)
        )
        methods: dict[str, int] = {}
        for r in records:
            methods[r["method"]] = methods.get(r["method"], 0) + 1
        s.add(
            m.AuditLog(
                actor=actor,
                action="label.apply",
                target=f"dataset:{name}",
                detail={"version": version.number, "labeled": len(records), "methods": methods},
            )
        )

    return write


def provenance_of(ws: Workspace, ref_id: int) -> pd.DataFrame:
    """The provenance rows of version (row id) ``ref_id``: ``item``, ``labelers``,
    ``labelbook_version``, ``method``, ``adjudicated_by``."""
    p = m.LabelProvenance
    with ws.session(readonly=True) as s:
        rows = s.execute(
            select(p.item_id, p.labelers, p.labelbook_version, p.method, p.adjudicated_by)
            .where(p.version_id == ref_id)
            .order_by(p.id)
        ).all()
    columns = ["item", "labelers", "labelbook_version", "method", "adjudicated_by"]
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)
    return frame.astype(object).where(frame.notna(), None)
