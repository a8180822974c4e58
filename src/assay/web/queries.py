"""Read-only queries the pages need beyond the Workspace facade.

The queue is read in the order the review queue uses: lowest score (most suspicious)
first, then entry id. "Next" is the first open entry after a position in that order,
so reviewers who start at different places do not collide.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from assay.exceptions import InputError
from assay.store import models as m
from assay.store.datasets import DatasetVersion, dataset_task
from assay.store.review import entry_record
from assay.store.workspace import Workspace
from assay.tasks import Task, get_task

__all__ = [
    "QueueFilter",
    "audit_log",
    "entry",
    "entry_page",
    "facets",
    "get_entry",
    "item_entries",
    "last_decided",
    "monitors",
    "next_entry",
    "queue_page",
    "queue_summary",
    "text_field",
]


@dataclass(frozen=True)
class QueueFilter:
    """Filters on the open queue: source (reason kind), class, score ceiling, text."""

    source: str | None = None
    label: str | None = None
    max_score: float | None = None
    q: str | None = None

    @classmethod
    def from_params(cls, params: Any) -> QueueFilter:
        """From query parameters or form/JSON fields; empty values mean no filter.

        Raises
        ------
        InputError
            When a filter is not a single text or number (e.g. a JSON list).
        """
        score = text_field(params, "max_score")
        try:
            max_score = float(score) if score is not None else None
        except ValueError:
            max_score = None
        if max_score is not None and not math.isfinite(max_score):
            max_score = None
        return cls(
            source=text_field(params, "source"),
            label=text_field(params, "label"),
            max_score=max_score,
            q=text_field(params, "q"),
        )

    def to_query(self) -> str:
        """The filters as a query string (without ``?``)."""
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in asdict(self).items() if v is not None})

    def apply(self, query: Select[Any], task: Task | None = None) -> Select[Any]:
        """Add the filters to a query over ``review_items`` (the class filter matches
        the label as typed or as ``task`` stores it; default task: classification)."""
        r = m.ReviewItem
        if self.source:
            query = query.where(r.source == self.source)
        if self.label:
            query = query.where(
                or_(
                    r.given_label == self.label,
                    r.given_label == (task or get_task()).encode_label(self.label),
                )
            )
        if self.max_score is not None:
            query = query.where(r.score <= self.max_score)
        if self.q:
            query = query.where(r.reason.contains(self.q, autoescape=True))
        return query


def text_field(params: Any, name: str) -> str | None:
    """The field ``name`` as text (None when empty); lists and objects are refused."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"the field {name!r} must be a text or a number; got {value!r}.")
    return str(value)


def entry(item: m.ReviewItem, dataset: str) -> dict[str, Any]:
    """A queue entry as a JSON-safe dict, with its payload."""
    return entry_record(item, dataset, payload=True)


def _dataset_id(s: Session, ws: Workspace, name: str) -> int:
    return ws._dataset_row(s, name).id


def _open(ds_id: int) -> Select[Any]:
    r = m.ReviewItem
    return select(r).where(r.dataset_id == ds_id, r.status == "open")


def queue_page(
    ws: Workspace, dataset: str, flt: QueueFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One page of open entries matching ``flt``, and how many match in all."""
    r = m.ReviewItem
    with ws.session(readonly=True) as s:
        ds_id = _dataset_id(s, ws, dataset)
        task = dataset_task(dataset, s)
        query = flt.apply(_open(ds_id), task)
        total = s.scalar(
            flt.apply(
                select(func.count(r.id)).where(r.dataset_id == ds_id, r.status == "open"), task
            )
        )
        rows = s.scalars(query.order_by(r.score, r.id).limit(limit).offset(offset)).all()
        return [entry(row, dataset) for row in rows], int(total or 0)


def next_entry(
    ws: Workspace, dataset: str, flt: QueueFilter, *, after: int | None = None
) -> int | None:
    """The id of the first open entry after entry ``after`` (wrapping round), or None.

    One query (two when wrapping round): the position of ``after`` is read in a
    subquery, so the database walks its index from there.
    """
    params = {"dataset": dataset, "after": after}
    with ws.session(readonly=True) as s:
        if flt == _NO_FILTER:  # the usual case: statements built once
            later, first = _NEXT_AFTER if after is not None else _NEXT_FIRST
        else:
            task = dataset_task(dataset, s) if flt.label else None  # only the class filter needs it
            later, first = _next_statements(flt, task, after is not None)
        if later is not None:
            found = s.scalar(later, params)
            if found is not None:
                return int(found)
        found = s.scalar(first, params)
        if (
            found is None
            and s.scalar(select(m.Dataset.id).where(m.Dataset.name == dataset)) is None
        ):
            ws._dataset_row(s, dataset)  # raises NotFoundError with the known names
        return int(found) if found is not None else None


def _next_statements(
    flt: QueueFilter, task: Task | None, after: bool
) -> tuple[Select[Any] | None, Select[Any]]:
    """The statements of :func:`next_entry` (parameters ``dataset`` and ``after``): the
    first open entry after ``after`` in queue order (None without ``after``), and the
    first one from the start (not ``after`` itself)."""
    r = m.ReviewItem
    ds_id = select(m.Dataset.id).where(m.Dataset.name == bindparam("dataset")).scalar_subquery()
    query = flt.apply(select(r.id).where(r.dataset_id == ds_id, r.status == "open"), task)
    ordered = query.order_by(r.score, r.id).limit(1)
    if not after:
        return None, ordered
    at = bindparam("after", type_=Integer)
    here = select(r.score, r.id).where(r.id == at).subquery()
    later = ordered.where(
        or_(
            r.score > select(here.c.score).scalar_subquery(),
            and_(r.score == select(here.c.score).scalar_subquery(), r.id > at),
        )
    )
    return later, ordered.where(r.id != at)


_NO_FILTER = QueueFilter()
_NEXT_AFTER = _next_statements(_NO_FILTER, None, True)
_NEXT_FIRST = _next_statements(_NO_FILTER, None, False)


def facets(ws: Workspace, dataset: str) -> dict[str, dict[str, int]]:
    """Open entries counted by source and by given label (for the filter menus)."""
    r = m.ReviewItem
    with ws.session(readonly=True) as s:
        ds_id = _dataset_id(s, ws, dataset)
        where = (r.dataset_id == ds_id, r.status == "open")
        sources = s.execute(select(r.source, func.count()).where(*where).group_by(r.source)).all()
        labels = s.execute(
            select(r.given_label, func.count()).where(*where).group_by(r.given_label)
        ).all()
    task = dataset_task(dataset, ws)
    return {
        "sources": {str(k): int(n) for k, n in sorted(sources, key=lambda t: str(t[0]))},
        "labels": {
            str(task.decode_label(k)): int(n)
            for k, n in sorted(labels, key=lambda t: str(t[0]))
            if k is not None
        },
    }


def queue_summary(ws: Workspace) -> list[dict[str, Any]]:
    """For each dataset: open, decided (waiting for apply) and applied entry counts."""
    r = m.ReviewItem
    with ws.session(readonly=True) as s:
        rows = s.execute(
            select(m.Dataset.name, r.status, func.count(r.id))
            .join(m.Dataset, m.Dataset.id == r.dataset_id)
            .group_by(m.Dataset.name, r.status)
        ).all()
        names = s.scalars(select(m.Dataset.name).order_by(m.Dataset.name)).all()
    counts: dict[str, dict[str, int]] = {n: {"open": 0, "decided": 0, "applied": 0} for n in names}
    for name, status, n in rows:
        counts[name][status] = int(n)
    return [{"dataset": name, **c} for name, c in counts.items()]


def get_entry(ws: Workspace, entry_id: int) -> dict[str, Any] | None:
    """One entry, or None."""
    with ws.session(readonly=True) as s:
        row = s.execute(
            select(m.ReviewItem, m.Dataset.name).join(m.Dataset).where(m.ReviewItem.id == entry_id)
        ).first()
        return entry(row[0], row[1]) if row is not None else None


def entry_page(
    ws: Workspace, entry_id: int, flt: QueueFilter
) -> tuple[dict[str, Any], dict[str, Any] | None, int, DatasetVersion] | None:
    """For the review page, in one transaction: the entry, its label book, the open
    count and the latest version of its dataset (one statement without filters)."""
    unfiltered = flt == _NO_FILTER
    with ws.session(readonly=True) as s:
        row = s.execute(_PAGE_COUNTED if unfiltered else _PAGE, {"entry_id": entry_id}).first()
        if row is None:
            return None
        item, ds, latest = row[0], row[1], row[2]
        if latest is None:
            latest = ws._version_row(s, ds, None)  # raises: the dataset has no version
        version = ws._make_version(s, ds, latest)
        remaining = (
            row.remaining
            if unfiltered
            else s.scalar(_open_count(flt, version.task), {"dataset_id": item.dataset_id})
        )
        book_dict = (
            None
            if row.book_number is None
            else {
                "version": row.book_number,
                "content": row.book_content or {},
                "message": row.book_message,
                "author": row.book_author,
                "created_at": row.book_created_at,
            }
        )
        found = entry_record(item, ds.name, payload=True, task=version.task)
        return found, book_dict, int(remaining or 0), version


def _page_statement(counted: bool) -> Select[Any]:
    """The review page's entry (parameter ``entry_id``), its dataset, the dataset's
    latest version and label book version (outer joins: None when absent) and, when
    ``counted``, the open count of the dataset (``remaining``)."""
    r, v, later = m.ReviewItem, m.Version, aliased(m.Version)
    lb, newer = aliased(m.LabelBookVersion), aliased(m.LabelBookVersion)
    latest = select(func.max(later.number)).where(later.dataset_id == r.dataset_id)
    latest_book = select(func.max(newer.number)).where(newer.dataset_id == r.dataset_id)
    columns: list[Any] = [
        r,
        m.Dataset,
        v,
        lb.number.label("book_number"),
        lb.content.label("book_content"),
        lb.message.label("book_message"),
        lb.author.label("book_author"),
        lb.created_at.label("book_created_at"),
    ]
    if counted:
        other = aliased(m.ReviewItem)
        count = select(func.count(other.id)).where(
            other.dataset_id == r.dataset_id, other.status == "open"
        )
        columns.append(count.scalar_subquery().label("remaining"))
    return (
        select(*columns)
        .join(m.Dataset, m.Dataset.id == r.dataset_id)
        .outerjoin(v, and_(v.dataset_id == r.dataset_id, v.number == latest.scalar_subquery()))
        .outerjoin(
            lb,
            and_(lb.dataset_id == r.dataset_id, lb.number == latest_book.scalar_subquery()),
        )
        .where(r.id == bindparam("entry_id", type_=Integer))
    )


_PAGE = _page_statement(counted=False)
_PAGE_COUNTED = _page_statement(counted=True)


def _open_count(flt: QueueFilter, task: Task | None) -> Select[Any]:
    """How many open entries of the dataset ``dataset_id`` (a parameter) match ``flt``."""
    r = m.ReviewItem
    query = select(func.count(r.id)).where(
        r.dataset_id == bindparam("dataset_id", type_=Integer), r.status == "open"
    )
    return flt.apply(query, task)



def last_decided(ws: Workspace, dataset: str, user: str) -> dict[str, Any] | None:
    """The most recent decided (not applied) entry of ``user`` in ``dataset``."""
    r = m.ReviewItem
    with ws.session(readonly=True) as s:
        ds_id = _dataset_id(s, ws, dataset)
        row = s.scalar(
            select(r)
            .where(r.dataset_id == ds_id, r.status == "decided", r.decided_by == user)
            .order_by(r.decided_at.desc(), r.id.desc())
            .limit(1)
        )
        return entry(row, dataset) if row is not None else None


def item_entries(ws: Workspace, dataset: str, item_id: str) -> list[dict[str, Any]]:
    """Every queue entry (open, decided, applied) of one item, oldest first."""
    r = m.ReviewItem
    with ws.session(readonly=True) as s:
        ds_id = _dataset_id(s, ws, dataset)
        rows = s.scalars(
            select(r).where(r.dataset_id == ds_id, r.item_id == item_id).order_by(r.id)
        ).all()
        return [entry(row, dataset) for row in rows]


def monitors(ws: Workspace, *, windows: int = 20) -> list[dict[str, Any]]:
    """Every monitor with its last ``windows`` windows (newest last)."""
    w = m.MonitorWindow
    with ws.session(readonly=True) as s:
        out = []
        for mon in s.scalars(select(m.Monitor).order_by(m.Monitor.name)).all():
            rows = s.scalars(
                select(w).where(w.monitor_id == mon.id).order_by(w.number.desc()).limit(windows)
            ).all()
            out.append(
                {
                    "name": mon.name,
                    "recipe": mon.recipe_name,
                    "config": mon.config,
                    "created_at": mon.created_at,
                    "windows": [
                        {
                            "number": x.number,
                            "rows": x.n_rows,
                            "report": x.report,
                            "alerts": x.alerts,
                            "created_at": x.created_at,
                        }
                        for x in reversed(rows)
                    ],
                }
            )
        return out


def audit_log(ws: Workspace, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest audit-log records."""
    a = m.AuditLog
    with ws.session(readonly=True) as s:
        rows = s.scalars(select(a).order_by(a.id.desc()).limit(limit)).all()
        return [
            {
                "at": x.at,
                "actor": x.actor,
                "action": x.action,
                "target": x.target,
                "detail": x.detail,
            }
            for x in rows
        ]
