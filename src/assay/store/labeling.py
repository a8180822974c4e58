"""Labeling projects in the workspace: plans, per-labeler queues, labels.

A project is a dataset's labeling plan (the latest open one is in use). Each labeler
has a queue (``labeling_assignments``); a label is one row per item and labeler
(``labeling_labels``, unique, so a labeler never labels an item twice: a second
submission for the same item must name the revision it changes, compare-and-set as in
the review queue, and a race between two submissions ends in
:class:`~assay.exceptions.ConflictError` for one of them, never in a lost label).
Every label is written to the audit log in the same transaction (adjudications and
the provenance of applied labels: :mod:`assay.store.labeling_results`; items awaiting
labels: :mod:`assay.store.unlabeled`).
Labels are stored as JSON text by the dataset's task, like annotations.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m
from assay.store.models import utcnow
from assay.store.unlabeled import (  # re-exported: engines import them from here
    AWAITING,
    awaiting_labels,
    mark_awaiting,
    missing_labels,
    require_labels,
)

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = [
    "AWAITING",
    "Context",
    "LABEL_COLUMNS",
    "RowError",
    "Submission",
    "awaiting_labels",
    "create_project",
    "labels_frame",
    "mark_awaiting",
    "missing_labels",
    "next_assignment",
    "project_row",
    "queue_counts",
    "read_context",
    "require_labels",
    "save_label",
    "save_labels",
    "stamp",
]

#: The columns of :func:`labels_frame`.
LABEL_COLUMNS = [
    "item",
    "labeler",
    "label",
    "unsure",
    "skipped",
    "note",
    "labelbook_version",
    "in_sample",
    "prefilled",
    "revision",
]


@dataclass(frozen=True)
class Submission:
    """One label to store (``label`` already encoded; None for a skip)."""

    item_id: str
    labeler: str
    label: str | None
    unsure: bool
    skipped: bool
    note: str | None
    labelbook_version: int | None
    expected_revision: int | None
    shown: Any = None  # the label as typed, for the audit log


@dataclass(frozen=True)
class Context:
    """What a label is checked against, read in one short transaction: the dataset's
    kind and label column, its latest version's object, the latest label book, and the
    plan in use (None before the first plan)."""

    dataset: str
    dataset_id: int
    task_kind: str
    label_column: str
    object_hash: str
    label_names: list[str] | None
    book_number: int | None
    book_classes: list[str] | None
    project_id: int | None
    project_number: int | None
    labelers: tuple[str, ...]
    prefill: bool

    def check_labeler(self, labeler: str) -> None:
        """Refuse a labeler the plan does not name."""
        if labeler not in self.labelers:
            raise InputError(
                f"{labeler!r} is not a labeler of this plan ({', '.join(self.labelers)}); "
                "make a new plan that names them (`assay label plan ... --labelers`)."
            )

    def need_plan(self) -> int:
        """The plan's row id; NotFoundError (how to make one) without a plan."""
        if self.project_id is None:
            raise NotFoundError(
                f"dataset {self.dataset!r} has no labeling plan; make one with "
                f"`assay label plan {self.dataset} --labelers ann,ben` (plan_labeling)."
            )
        return self.project_id


def read_context(ws: Workspace, name: str) -> Context:
    """The :class:`Context` of dataset ``name`` (NotFoundError: no such dataset)."""
    with ws.session(readonly=True) as s:
        return context_in(s, ws, name)


def _table(model: type[m.Base]) -> Table:
    """A model's table, for Core statements (no ORM work per row)."""
    return cast(Table, model.__table__)


@functools.cache
def _context_query() -> Any:
    """One statement (built once; the dataset's name is its parameter ``name``): the
    dataset's row, its latest version's object, its latest label book and its latest
    plan (a round trip per label matters on a server database, and building a
    statement costs more than running it on SQLite)."""
    d, p, b, v = m.Dataset, m.LabelingProject, m.LabelBookVersion, m.Version
    p2, b2 = aliased(p), aliased(b)
    latest_plan = (
        select(func.max(p2.number)).where(p2.dataset_id == d.id).correlate(d).scalar_subquery()
    )
    latest_book = (
        select(func.max(b2.number)).where(b2.dataset_id == d.id).correlate(d).scalar_subquery()
    )
    digest = (
        select(v.object_hash)
        .where(v.dataset_id == d.id)
        .order_by(v.number.desc())
        .limit(1)
        .correlate(d)
        .scalar_subquery()
    )
    return (
        select(
            d.id,
            d.task,
            d.label_column,
            d.label_names,
            digest.label("digest"),
            p.id.label("project_id"),
            p.number.label("project_number"),
            p.labelers,
            p.prefill,
            b.number.label("book_number"),
            b.content,
        )
        .select_from(d)
        .outerjoin(p, and_(p.dataset_id == d.id, p.number == latest_plan))
        .outerjoin(b, and_(b.dataset_id == d.id, b.number == latest_book))
        .where(d.name == bindparam("name"))
    )


def context_in(s: Session, ws: Workspace, name: str) -> Context:
    """:func:`read_context` in an open transaction ``s``."""
    row = s.execute(_context_query(), {"name": name}).first()
    if row is None:
        ws._dataset_row(s, name)  # raises, listing the datasets
        raise AssertionError  # pragma: no cover
    classes = [str(c) for c in (row.content or {}).get("classes", {})]
    planned = row.project_id is not None
    return Context(
        dataset=name,
        dataset_id=row.id,
        task_kind=row.task,
        label_column=row.label_column,
        object_hash=str(row.digest),
        label_names=row.label_names,
        book_number=row.book_number,
        book_classes=classes or None,
        project_id=row.project_id,
        project_number=row.project_number,
        labelers=tuple(row.labelers) if planned else (),
        prefill=bool(row.prefill) if planned else False,
    )


def project_row(s: Session, ws: Workspace, name: str) -> m.LabelingProject:
    """The labeling plan in use for dataset ``name`` (its latest).

    Raises
    ------
    NotFoundError
        The dataset has no plan; the message says how to make one.
    """
    ds = ws._dataset_row(s, name)
    row = s.scalar(
        select(m.LabelingProject)
        .where(m.LabelingProject.dataset_id == ds.id)
        .order_by(m.LabelingProject.number.desc())
        .limit(1)
    )
    if row is None:
        raise NotFoundError(
            f"dataset {name!r} has no labeling plan; make one with "
            f"`assay label plan {name} --labelers ann,ben` (plan_labeling)."
        )
    return row


def create_project(
    ws: Workspace,
    name: str,
    assignments: pd.DataFrame,
    settings: dict[str, Any],
    actor: str,
) -> int:
    """Store a plan and its queues in one transaction; return the plan's number.

    Parameters
    ----------
    assignments : DataFrame
        ``item_id`` (text), ``labeler``, ``position``, ``in_sample``, ``suggestion``
        (encoded label or None).
    settings : dict
        ``labelers``, ``per_item``, ``overlap``, ``seed``, ``prefill``.
    """
    with ws.session() as s:
        ds = ws._dataset_row(s, name)
        base = s.scalar(
            select(m.Version.id)
            .where(m.Version.dataset_id == ds.id)
            .order_by(m.Version.number.desc())
            .limit(1)
        )
        number = (
            s.scalar(
                select(func.max(m.LabelingProject.number)).where(
                    m.LabelingProject.dataset_id == ds.id
                )
            )
            or 0
        ) + 1
        project = m.LabelingProject(
            dataset_id=ds.id,
            number=number,
            base_version_id=base,
            created_by=actor,
            status="open",
            **settings,
        )
        s.add(project)
        s.flush()
        rows: list[dict[str, Any]] = [
            {str(k): v for k, v in r.items()}
            for r in _plain(assignments.assign(project_id=project.id, status="open"))
        ]
        for start in range(0, len(rows), 5000):
            s.execute(insert(m.LabelingAssignment), rows[start : start + 5000])
        loads = assignments["labeler"].value_counts()
        s.execute(
            insert(m.LabelingProgress),
            [
                {"project_id": project.id, "labeler": str(who), "assigned": int(n)}
                | {"done": 0, "skipped": 0}
                for who, n in loads.items()
            ],
        )
        s.add(
            m.AuditLog(
                actor=actor,
                action="label.plan",
                target=f"dataset:{name}",
                detail={**settings, "number": number, "assignments": len(rows)},
            )
        )
    return number


def _plain(frame: pd.DataFrame) -> list[dict[Any, Any]]:
    """Rows as records, missing values as None (not NaN, which PostgreSQL would store)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


@functools.cache
def _next_query() -> Any:
    """One statement (built once; parameters ``project`` and ``labeler``): the first
    open item of a labeler's queue (the queue index, ``ix_labeling_queue``) with the
    labeler's progress row (assigned, done, skipped)."""
    a, g = m.LabelingAssignment, m.LabelingProgress
    return (
        select(a.item_id, a.position, a.suggestion, g.assigned, g.done, g.skipped)
        .join(g, and_(g.project_id == a.project_id, g.labeler == a.labeler))
        .where(
            a.project_id == bindparam("project"),
            a.labeler == bindparam("labeler"),
            a.status == "open",
        )
        .order_by(a.position)
        .limit(1)
    )


def next_assignment(
    ws: Workspace, name: str, labeler: str
) -> tuple[Context, dict[str, Any] | None]:
    """The plan's :class:`Context` and the first open item of ``labeler``'s queue, with
    queue counts (None when done), read in one transaction of two statements.

    Returns
    -------
    dict or None
        ``item_id``, ``position``, ``suggestion`` (encoded; None in the agreement
        sample by construction, and for plans without pre-annotation), ``remaining``,
        ``total``.
    """
    with ws.session(readonly=True) as s:
        ctx = context_in(s, ws, name)
        project_id = ctx.need_plan()
        ctx.check_labeler(labeler)
        row = s.execute(_next_query(), {"project": project_id, "labeler": labeler}).first()
    if row is None:
        return ctx, None
    return ctx, {
        "item_id": row.item_id,
        "position": row.position,
        "suggestion": row.suggestion if ctx.prefill else None,
        "remaining": int(row.assigned - row.done - row.skipped),
        "total": int(row.assigned),
    }


def _book_version(s: Session, dataset_id: int) -> int | None:
    return s.scalar(
        select(func.max(m.LabelBookVersion.number)).where(
            m.LabelBookVersion.dataset_id == dataset_id
        )
    )


def save_label(
    ws: Workspace, name: str, make: Callable[[Context], Submission]
) -> tuple[Submission, dict[str, Any]]:
    """Store one label (or a skip) in the labeler's queue, in one transaction with the
    read of what it is checked against (``make(context)`` checks and builds it);
    audit-logged.

    Raises
    ------
    InputError
        The item is not in the labeler's queue.
    ConflictError
        The labeler already labeled the item and ``expected_revision`` is not the
        revision stored (None: the item must not be labeled yet), or another
        submission of the same label won the race.
    """
    try:
        with ws.session() as s:
            ctx = context_in(s, ws, name)
            sub = make(ctx)
            ctx.check_labeler(sub.labeler)
            return sub, _save_label_in(s, ctx, sub)
    except IntegrityError as exc:  # a concurrent first submission of the same label
        raise ConflictError(
            f"a label of this item by this labeler was stored just now from elsewhere "
            f"({name}); reload the item to see it."
        ) from exc


@functools.cache
def _found_query() -> Any:
    """The assignment of (``project``, ``item``, ``labeler``) and its label if any
    (built once)."""
    a, lab = m.LabelingAssignment, m.LabelingLabel
    return (
        select(
            a.id,
            a.status,
            a.in_sample,
            a.suggestion,
            lab.id.label("label_id"),
            lab.revision,
        )
        .outerjoin(
            lab,
            and_(
                lab.project_id == a.project_id, lab.item_id == a.item_id, lab.labeler == a.labeler
            ),
        )
        .where(
            a.project_id == bindparam("project"),
            a.item_id == bindparam("item"),
            a.labeler == bindparam("labeler"),
        )
    )


@functools.cache
def _status_update() -> Any:
    """Mark an assignment (``aid``) done or skipped (``new_status``); built once."""
    a = _table(m.LabelingAssignment)
    return update(a).where(a.c.id == bindparam("aid")).values(status=bindparam("new_status"))


@functools.cache
def _progress_update() -> Any:
    """Move a labeler's (``who``) progress counts by ``d_done`` and ``d_skipped``."""
    g = _table(m.LabelingProgress)
    return (
        update(g)
        .where(g.c.project_id == bindparam("project"), g.c.labeler == bindparam("who"))
        .values(done=g.c.done + bindparam("d_done"), skipped=g.c.skipped + bindparam("d_skipped"))
    )


@functools.cache
def _change_update() -> Any:
    """Compare-and-set a label's change: the row ``lid`` at revision ``expected``."""
    lab = _table(m.LabelingLabel)
    return (
        update(lab)
        .where(lab.c.id == bindparam("lid"), lab.c.revision == bindparam("expected"))
        .values(
            revision=bindparam("new_revision"),
            **{k: bindparam(f"v_{k}") for k in _VALUE_KEYS},
        )
    )


#: What a submission sets on a label row.
_VALUE_KEYS = (
    "label",
    "unsure",
    "skipped",
    "note",
    "labelbook_version",
    "prefilled",
    "updated_at",
)


def _save_label_in(s: Session, ctx: Context, sub: Submission) -> dict[str, Any]:
    project_id = ctx.need_plan()
    found = s.execute(
        _found_query(), {"project": project_id, "item": sub.item_id, "labeler": sub.labeler}
    ).first()
    if found is None:
        raise InputError(
            f"item {sub.item_id} is not in {sub.labeler}'s queue for {ctx.dataset}; label "
            f"the items next_item gives (`assay label status {ctx.dataset}` shows the "
            "queues)."
        )
    existing = None if found.label_id is None else found
    book = sub.labelbook_version if sub.labelbook_version is not None else ctx.book_number
    prefilled = bool(
        ctx.prefill
        and found.suggestion is not None
        and not sub.skipped
        and found.suggestion == sub.label
    )
    values = {
        "label": sub.label,
        "unsure": sub.unsure,
        "skipped": sub.skipped,
        "note": sub.note,
        "labelbook_version": book,
        "prefilled": prefilled,
        "updated_at": utcnow(),
    }
    revision = _write_label(s, project_id, sub, existing, values, found.in_sample)
    status = "skipped" if sub.skipped else "done"
    if status != found.status:
        s.execute(_status_update(), {"aid": found.id, "new_status": status})
        moved = {k: int(status == k) - int(found.status == k) for k in ("done", "skipped")}
        s.execute(
            _progress_update(),
            {"project": project_id, "who": sub.labeler, "d_done": moved["done"]}
            | {"d_skipped": moved["skipped"]},
        )
    s.execute(
        insert(_table(m.AuditLog)),
        {
            "actor": sub.labeler,
            "action": "label.skip" if sub.skipped else "label.submit",
            "target": f"label:{ctx.dataset}:{sub.item_id}",
            "detail": {
                "label": sub.shown,
                "unsure": sub.unsure,
                "note": sub.note,
                "labelbook_version": book,
                "revision": revision,
                "prefilled": prefilled,
            },
            "at": values["updated_at"],
        },
    )
    return {
        **values,
        "revision": revision,
        "item_id": sub.item_id,
        "labeler": sub.labeler,
        "in_sample": found.in_sample,
    }


def _write_label(
    s: Session,
    project_id: int,
    sub: Submission,
    existing: Any,
    values: dict[str, Any],
    in_sample: bool,
) -> int:
    """Insert the first label, or compare-and-set a change; return the new revision."""
    if existing is None:
        if sub.expected_revision not in (None, 0):
            raise ConflictError(
                f"item {sub.item_id} has no label from {sub.labeler} yet, so there is no "
                f"revision {sub.expected_revision} to change; submit it without a revision."
            )
        s.execute(  # the unique constraint speaks here, inside the transaction
            insert(_table(m.LabelingLabel)),
            {
                "project_id": project_id,
                "item_id": sub.item_id,
                "labeler": sub.labeler,
                "in_sample": in_sample,
                "revision": 0,
                "created_at": values["updated_at"],
                **values,
            },
        )
        return 0
    if sub.expected_revision is None:
        raise ConflictError(
            f"{sub.labeler} already labeled item {sub.item_id} (revision {existing.revision}); "
            f"to change the label, give the revision you are changing "
            f"(expected_revision={existing.revision})."
        )
    result = s.execute(
        _change_update(),
        {
            "lid": existing.label_id,
            "expected": sub.expected_revision,
            "new_revision": existing.revision + 1,
            **{f"v_{k}": values[k] for k in _VALUE_KEYS},
        },
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            f"{sub.labeler}'s label of item {sub.item_id} is at revision {existing.revision}, "
            f"not {sub.expected_revision} (it changed since you read it, or the revision is "
            "mistyped); give "
            f"expected_revision={existing.revision} to change it."
        )
    return existing.revision + 1


def labels_frame(ws: Workspace, name: str, *, lean: bool = False) -> tuple[int, pd.DataFrame]:
    """The plan's number and every label of it (encoded), one row per item and labeler
    (columns :data:`LABEL_COLUMNS`; ``lean``: without ``prefilled`` and ``revision``)."""
    lab = m.LabelingLabel
    columns = LABEL_COLUMNS[:-2] if lean else LABEL_COLUMNS
    selected = [
        lab.item_id,
        lab.labeler,
        lab.label,
        lab.unsure,
        lab.skipped,
        lab.note,
        lab.labelbook_version,
        lab.in_sample,
    ]
    selected += [] if lean else [lab.prefilled, lab.revision]
    with ws.session(readonly=True) as s:
        project = project_row(s, ws, name)
        query = select(*selected).where(lab.project_id == project.id)
        # many rows: the driver's cursor and tuples, without per-row result processing
        sql = str(query.compile(ws.engine, compile_kwargs={"literal_binds": True}))
        cursor = s.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        number = project.number
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    frame = pd.DataFrame(
        {
            c: pd.Series(v, dtype=object if not v else None)
            for c, v in zip(columns, values, strict=True)
        }
    )
    for flag in ("unsure", "skipped", "in_sample", "prefilled"):
        if flag in frame.columns:
            frame[flag] = frame[flag].astype(bool)
    return number, frame


#: Items of each plan in and out of its agreement sample (a plan's queues never change
#: once made), by database URL, plan row id and creation time.
_SIZES: dict[tuple[str, int, Any], dict[bool, int]] = {}


def queue_counts(ws: Workspace, name: str) -> dict[str, Any]:
    """Per labeler and status, the assignments (from ``labeling_progress``: one row per
    labeler); the plan's settings; sample size (counted once per plan)."""
    a, g = m.LabelingAssignment, m.LabelingProgress
    with ws.session(readonly=True) as s:
        project = project_row(s, ws, name)
        per = s.execute(
            select(g.labeler, g.assigned, g.done, g.skipped).where(g.project_id == project.id)
        ).all()
        key = (str(ws.url), project.id, project.created_at)
        if key not in _SIZES:
            sizes = s.execute(
                select(a.in_sample, func.count(func.distinct(a.item_id)))
                .where(a.project_id == project.id)
                .group_by(a.in_sample)
            ).all()
            _SIZES[key] = {bool(k): int(n) for k, n in sizes}
        counts = []
        for labeler, assigned, done, skipped in per:
            counts += [(labeler, "done", int(done)), (labeler, "skipped", int(skipped))]
            counts.append((labeler, "open", int(assigned - done - skipped)))
        return {
            "project": project.number,
            "labelers": list(project.labelers),
            "per_item": project.per_item,
            "prefill": project.prefill,
            "counts": counts,
            "items": dict(_SIZES[key]),
        }


def stamp(ws: Workspace, name: str) -> tuple[int | None, int, int, int, int, int | None]:
    """Plan number; labels, their summed revisions; adjudications, theirs; the latest
    label-book version: counts and sums that change with any label or decision."""
    lab, j = m.LabelingLabel, m.LabelingAdjudication
    with ws.session(readonly=True) as s:
        ctx = context_in(s, ws, name)
        if ctx.project_id is None:
            return None, 0, 0, 0, 0, ctx.book_number
        labels = s.execute(
            select(func.count(), func.coalesce(func.sum(lab.revision), 0)).where(
                lab.project_id == ctx.project_id
            )
        ).one()
        decided = s.execute(
            select(func.count(), func.coalesce(func.sum(j.revision), 0)).where(
                j.project_id == ctx.project_id
            )
        ).one()
    return (
        ctx.project_number,
        int(labels[0]),
        int(labels[1]),
        int(decided[0]),
        int(decided[1]),
        ctx.book_number,
    )


class RowError(InputError):
    """A row of a batch of labels that cannot be stored (:meth:`at` makes one, with
    ``row`` (1-based), the ``column`` at fault and the ``reason``); nothing of the
    batch was written."""

    row: int = 0
    column: str = ""
    reason: str = ""

    @classmethod
    def at(cls, row: int, column: str, reason: str) -> RowError:
        """The error of ``row``'s ``column``."""
        exc = cls(f"row {row}, column {column!r}: {reason}")
        exc.row, exc.column, exc.reason = row, column, reason
        return exc


def save_labels(
    ws: Workspace, name: str, makes: list[tuple[str, Callable[[Context], Submission]]]
) -> list[dict[str, Any]]:
    """Store a batch of labels all or nothing, in one transaction (each audit-logged):
    ``makes`` holds, per row, the labeler's name and the function that checks and
    builds the row's :class:`Submission` from the :class:`Context`.

    Raises
    ------
    RowError
        The first row that cannot be stored (a label outside the label book: column
        ``label``; a labeler the plan does not name: ``labeler``; an item outside the
        labeler's queue, or labeled already: ``item``); nothing is written.
    """
    try:
        with ws.session() as s:
            ctx = context_in(s, ws, name)
            ctx.need_plan()
            out = []
            for row, (labeler, make) in enumerate(makes, start=1):
                out.append(_save_row(s, ctx, row, labeler, make))
            return out
    except IntegrityError as exc:  # a concurrent submission of one of the labels
        raise ConflictError(
            f"a label of this batch was stored just now from elsewhere ({name}); nothing "
            "of the batch was written: submit it again."
        ) from exc


def _save_row(
    s: Session, ctx: Context, row: int, labeler: str, make: Callable[[Context], Submission]
) -> dict[str, Any]:
    """One row of :func:`save_labels`; its errors as :class:`RowError`."""
    try:
        ctx.check_labeler(labeler)
    except InputError as exc:
        raise RowError.at(row, "labeler", str(exc)) from exc
    try:
        sub = make(ctx)
    except InputError as exc:
        raise RowError.at(row, "label", str(exc)) from exc
    try:
        return _save_label_in(s, ctx, sub)
    except (InputError, ConflictError) as exc:
        raise RowError.at(row, "item", str(exc)) from exc
