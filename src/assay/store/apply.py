"""Apply review decisions: accepted relabels, removals and additions become a version."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.exceptions import InputError
from assay.store import models as m
from assay.store.review import coerce_label, decode_label

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace

__all__ = ["apply_decisions"]


def _pending(ws: Workspace, dataset: str) -> list[m.ReviewItem]:
    with ws.session() as s:
        ds = ws._dataset_row(s, dataset)
        return list(
            s.scalars(
                select(m.ReviewItem)
                .where(m.ReviewItem.dataset_id == ds.id, m.ReviewItem.status == "decided")
                .order_by(m.ReviewItem.id)
            ).all()
        )


def _apply_to_frame(
    frame: pd.DataFrame, items: list[m.ReviewItem], version: DatasetVersion
) -> tuple[pd.DataFrame, Counter[str]]:
    """Relabel, remove and append rows; return the new frame and what was done."""
    id_col, label_col = version.roles.id, version.roles.label
    label_type = version.label_type
    ids = frame[id_col].astype(str)
    position = pd.Series(np.arange(len(frame)), index=ids.to_numpy())
    _check_items_exist(items, position.index, version)
    done: Counter[str] = Counter()
    keep = np.ones(len(frame), dtype=bool)
    labels = frame[label_col].to_numpy(dtype=object).copy()
    appended: list[dict[str, Any]] = []
    for item in items:
        new_label = decode_label(item.decision_label)
        if item.item_id in position.index:
            row = int(position[item.item_id])
            if item.decision == "remove":
                keep[row] = False
            elif item.decision == "relabel":
                labels[row] = coerce_label(new_label, label_type)
        elif item.decision == "relabel" and item.payload.get("row"):
            appended.append(
                {
                    **item.payload["row"],
                    id_col: item.item_id,
                    label_col: coerce_label(new_label, label_type),
                }
            )
            done["appended"] += 1
            continue
        done[item.decision or "keep"] += 1
    out = frame.copy()
    out[label_col] = pd.Series(labels, index=out.index).astype(frame[label_col].dtype)
    out = out[keep]
    if appended:
        extra = _new_rows(pd.DataFrame(appended), frame[id_col], id_col)
        out = pd.concat([out, extra.reindex(columns=out.columns)], ignore_index=True)
    return out.reset_index(drop=True), done


def _check_items_exist(items: list[m.ReviewItem], ids: pd.Index, version: DatasetVersion) -> None:
    """Every decision must name an item of the version, or carry a row to append."""
    missing = [
        item
        for item in items
        if item.item_id not in ids and not (item.decision == "relabel" and item.payload.get("row"))
    ]
    if missing:
        shown = ", ".join(f"#{i.id} ({i.item_id})" for i in missing[:10])
        raise InputError(
            f"{len(missing)} decision(s) name items that are not in {version.ref}: {shown}; "
            "undo them with `assay review undo ID` (the items were removed or never imported)."
        )


def _new_rows(extra: pd.DataFrame, ids: pd.Series, id_col: str) -> pd.DataFrame:
    """Give appended production rows ids of the dataset's id type.

    Integer ids continue after the largest existing id (the production id is kept in
    ``source_item_id``); other ids are kept as strings.
    """
    extra = extra.copy()
    if pd.api.types.is_integer_dtype(ids):
        extra["source_item_id"] = extra[id_col].astype(str)
        start = int(ids.max()) + 1 if len(ids) else 0
        extra[id_col] = pd.Series(np.arange(start, start + len(extra)), index=extra.index).astype(
            ids.dtype
        )
    else:
        extra[id_col] = extra[id_col].astype(str)
    return extra


def apply_decisions(
    ws: Workspace, dataset: str, *, user: str, message: str | None = None
) -> DatasetVersion:
    """Make a new version of ``dataset`` from its decided, unapplied review entries.

    The version and the marking of its entries as applied are one transaction.

    Raises
    ------
    InputError
        When no decision is waiting (an empty queue writes nothing).
    """
    items = _pending(ws, dataset)
    if not items:
        raise InputError(
            f"no decided review entries for {dataset!r} to apply; decide some with "
            "`assay review decide` first."
        )
    base = ws.dataset(dataset)
    frame, done = _apply_to_frame(base.to_pandas(), items, base)
    reasons = Counter(item.source for item in items)
    text = message or (
        "review: "
        + ", ".join(f"{n} {k}" for k, n in sorted(done.items()))
        + " ("
        + ", ".join(f"{k}: {n}" for k, n in sorted(reasons.items()))
        + ")"
    )
    ids = [item.id for item in items]

    def mark_applied(s: Session, row: m.Version) -> None:
        s.execute(
            update(m.ReviewItem)
            .where(m.ReviewItem.id.in_(ids), m.ReviewItem.status == "decided")
            .values(status="applied", applied_version_id=row.id)
            .execution_options(synchronize_session=False)
        )
        s.add(
            m.AuditLog(
                actor=user,
                action="review.apply",
                target=f"{dataset}@v{row.number}",
                detail={"entries": len(ids), **done},
            )
        )

    provenance = {"review_entries": ids, "decisions": dict(done), "sources": dict(reasons)}
    return ws.commit(
        dataset,
        frame,
        message=text,
        author=user,
        parent=base.ref,
        provenance=provenance,
        on_commit=mark_applied,
    )
