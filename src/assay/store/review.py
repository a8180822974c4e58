"""The review queue: items flagged by any analysis, and the human decisions on them.

Every entry has a ``source`` (the analysis: ``label_issue``, ``disagreement``,
``slice_sample``, ``drift_sample`` ...), a ``reason`` in words and a ``score`` in
[0, 1] where **low means most suspicious**; the queue is reviewed lowest score first.
A decision (``relabel``, ``remove`` or ``keep``) records who, when, why and the label
book version. Decisions are immutable facts: deciding, undoing and deciding again each
add a ``review_decisions`` row, and the entry's ``decision_id`` points at the one in
force (its ``decision*`` columns are a copy of it, for the queue pages). Decisions use
optimistic concurrency: each names the ``revision`` it saw, and a decision on an entry
that someone else changed first raises :class:`~assay.exceptions.ConflictError`, so no
decision is silently lost. :meth:`ReviewQueue.apply` turns the decisions in force into a
new dataset version (see :mod:`assay.store.apply`).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
import pyarrow as pa
from sqlalchemy import CursorResult, Integer, Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, object_session

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m
from assay.store.datasets import dataset_task
from assay.store.labelbook import book_from_row, check_label_against_book
from assay.store.models import utcnow
from assay.store.refs import check_sql_int
from assay.tasks import Task, get_task

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.readers import RowNames
    from assay.store.workspace import Workspace

__all__ = [
    "ACTIONS",
    "ENTRY_COLUMNS",
    "ReviewQueue",
    "decode_label",
    "encode_label",
    "entry_record",
]

ACTIONS = ("relabel", "remove", "keep")
ENTRY_COLUMNS = [
    "id",
    "dataset",
    "item_id",
    "source",
    "reason",
    "score",
    "given_label",
    "suggested_label",
    "status",
    "decision",
    "decision_label",
    "decided_by",
    "decided_at",
    "note",
    "revision",
    "decision_id",
]


def encode_label(value: Any, task: Task | None = None) -> str | None:
    """Labels are stored as JSON text so that ints and strings keep their type
    (:meth:`assay.tasks.Task.encode_label` of ``task``, default classification)."""
    return (task or get_task()).encode_label(value)


def decode_label(text: str | None, task: Task | None = None) -> Any:
    """The inverse of :func:`encode_label`."""
    return (task or get_task()).decode_label(text)


def coerce_label(value: Any, label_type: pa.DataType, task: Task | None = None) -> Any:
    """Convert a label typed by a person (a string) to the dataset's label type
    (:meth:`assay.tasks.Task.coerce_label` of ``task``, default classification)."""
    return (task or get_task()).coerce_label(value, label_type)


class ReviewQueue:
    """The review queue of a workspace (``ws.review``)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def _dataset_id(self, s: Session, name: str) -> int:
        return self.ws._dataset_row(s, name).id

    def add(self, dataset: str, entries: pd.DataFrame, *, source: str | None = None) -> int:
        """Enter flagged items; an item already open for the same source is skipped.

        So is an item a reviewer kept for the same source while its label and its
        data are unchanged: a keep holds until the given label differs, or the row's
        digest (``payload["item_digest"]``, when both entries carry one) does.

        Parameters
        ----------
        dataset : str
            The dataset the items belong to.
        entries : DataFrame
            Columns ``item_id``, ``reason``, ``score`` and optionally ``source``,
            ``given_label``, ``suggested_label`` and ``payload`` (a dict per row, e.g.
            the production row of a drift sample).
        source : str, optional
            The analysis, when ``entries`` has no ``source`` column.

        Returns
        -------
        int
            How many entries were added.
        """
        frame = _normalise_entries(entries, source)
        task = dataset_task(dataset, self.ws)
        with self.ws.session() as s:
            ds_id = self._dataset_id(s, dataset)
            open_keys = set(
                s.execute(
                    select(m.ReviewItem.item_id, m.ReviewItem.source).where(
                        m.ReviewItem.dataset_id == ds_id, m.ReviewItem.status == "open"
                    )
                ).all()
            )
            kept = _kept(s, ds_id)
            rows = [
                m.ReviewItem(
                    dataset_id=ds_id,
                    item_id=str(r.item_id),
                    source=r.source,
                    reason=r.reason,
                    score=float(r.score),  # type: ignore[arg-type]
                    given_label=task.encode_label(r.given_label),
                    suggested_label=task.encode_label(r.suggested_label),
                    payload=r.payload or {},
                )
                for r in frame.itertuples(index=False)
                if (str(r.item_id), r.source) not in open_keys
            ]
            rows = [r for r in rows if not _holds(kept.get((r.item_id, r.source), ()), r)]
            s.add_all(rows)
        return len(rows)

    def list(
        self,
        dataset: str | None = None,
        *,
        status: str | None = "open",
        source: str | None = None,
        label: Any = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Queue entries, lowest score (most suspicious) first, as a DataFrame.

        Labels are decoded by each entry's dataset's task; ``label`` is encoded by
        ``dataset``'s task (the default task across datasets).
        """
        query = select(m.ReviewItem, m.Dataset.name).join(m.Dataset)
        if dataset is not None:
            query = query.where(m.Dataset.name == dataset)
        if status is not None:
            query = query.where(m.ReviewItem.status == status)
        if source is not None:
            query = query.where(m.ReviewItem.source == source)
        if label is not None:
            task = dataset_task(dataset, self.ws) if dataset is not None else get_task()
            query = query.where(m.ReviewItem.given_label == task.encode_label(label))
        query = query.order_by(m.ReviewItem.score, m.ReviewItem.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.ws.session(readonly=True) as s:
            records = [entry_record(item, name) for item, name in s.execute(query).all()]
        return pd.DataFrame.from_records(records, columns=ENTRY_COLUMNS)

    def count(self, dataset: str | None = None, *, status: str | None = "open") -> int:
        """How many entries match."""
        query = select(func.count(m.ReviewItem.id)).join(m.Dataset)
        if dataset is not None:
            query = query.where(m.Dataset.name == dataset)
        if status is not None:
            query = query.where(m.ReviewItem.status == status)
        with self.ws.session(readonly=True) as s:
            return int(s.scalar(query) or 0)

    def get(self, entry_id: int) -> dict[str, Any]:
        """One entry, with its payload."""
        with self.ws.session(readonly=True) as s:
            row = s.execute(
                select(m.ReviewItem, m.Dataset.name)
                .join(m.Dataset)
                .where(m.ReviewItem.id == check_sql_int(entry_id, "review entry id", low=1))
            ).first()
            if row is None:
                raise NotFoundError(f"no review entry #{entry_id}; see `assay review list`.")
            return entry_record(row[0], row[1], payload=True)

    def decide(
        self,
        entry_id: int,
        action: str,
        *,
        label: Any = None,
        note: str | None = None,
        user: str | None = None,
        revision: int | None = None,
    ) -> dict[str, Any]:
        """Record a decision on an entry.

        Parameters
        ----------
        entry_id : int
            The queue entry.
        action : {"relabel", "remove", "keep"}
        label : optional
            The new label, for ``relabel``.
        revision : int, optional
            The revision the reviewer saw. Without it, the entry must still be open:
            deciding an entry someone else already decided is a conflict too.

        Raises
        ------
        ConflictError
            When someone else changed the entry first.
        """
        _check_action(action, label)
        with self.ws.session() as s:
            # as written (the guarded update's RETURNING), in the same transaction
            return self._decide_in(s, entry_id, action, label, note, user or _user(), revision)

    def entry_version(self, entry_id: int) -> tuple[dict[str, Any], DatasetVersion]:
        """One entry (as :meth:`get`) and the latest version of its dataset, read in
        one transaction (what a decision's check against its item needs).

        Raises
        ------
        NotFoundError
            When there is no entry ``entry_id``.
        """
        with self.ws.session(readonly=True) as s:
            item, ds, version = self.entry_version_in(s, entry_id)
            return entry_record(item, ds.name, payload=True, task=version.task), version

    def entry_version_in(
        self, s: Session, entry_id: int
    ) -> tuple[m.ReviewItem, m.Dataset, DatasetVersion]:
        """Entry ``entry_id``, its dataset and the dataset's latest version, read in the
        open transaction ``s`` in one statement.

        Raises
        ------
        NotFoundError
            When there is no entry ``entry_id`` (or its dataset has no version).
        """
        r, v = m.ReviewItem, m.Version
        row = s.execute(
            select(r, m.Dataset, v)
            .join(m.Dataset, m.Dataset.id == r.dataset_id)
            .outerjoin(v, v.dataset_id == r.dataset_id)
            .where(r.id == check_sql_int(entry_id, "review entry id", low=1))
            .order_by(v.number.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFoundError(f"no review entry #{entry_id}; see `assay review list`.")
        item, ds, latest = row
        if latest is None:
            latest = self.ws._version_row(s, ds, None)  # raises: no version
        return item, ds, self.ws._make_version(s, ds, latest)

    def undo(
        self, entry_id: int, *, user: str | None = None, revision: int | None = None
    ) -> dict[str, Any]:
        """Reopen a decided (not yet applied) entry."""
        who = user or _user()
        with self.ws.session() as s:
            item = s.get(m.ReviewItem, check_sql_int(entry_id, "review entry id", low=1))
            if item is None:
                raise NotFoundError(f"no review entry #{entry_id}.")
            if item.status != "decided":
                raise ConflictError(
                    f"review entry #{entry_id} is {item.status}; only a decided entry can be undone."
                )
            if revision is not None and item.revision != revision:
                raise ConflictError(
                    f"review entry #{entry_id} changed since you loaded it; reload it."
                )
            _record(s, entry_id, "undo", who, label=None, note=None, labelbook=None, at=utcnow())
            values = {
                "status": "open",
                "decision": None,
                "decision_label": None,
                "note": None,
                "decided_by": None,
                "decided_at": None,
                "decision_id": None,
                "revision": item.revision + 1,
            }
            _guarded_update(s, item, values)
            s.add(
                m.AuditLog(actor=who, action="review.undo", target=f"review:{entry_id}", detail={})
            )
        return self.get(entry_id)

    def history(self, entry_id: int) -> builtins.list[dict[str, Any]]:
        """Every decision and undo on an entry, oldest first.

        Returns
        -------
        list of dict
            ``id``, ``action`` (relabel, remove, keep or undo), ``label`` (decoded),
            ``note``, ``actor``, ``at``, ``labelbook_version``, ``in_force`` (the
            entry's current decision) and ``applied_to`` (``NAME@vN`` or None).
        """
        d, v = m.ReviewDecision, m.Version
        query = (
            select(d, m.Dataset.name, v.number)
            .outerjoin(v, v.id == d.applied_version_id)
            .outerjoin(m.Dataset, m.Dataset.id == v.dataset_id)
            .where(d.entry_id == entry_id)
            .order_by(d.id)
        )
        with self.ws.session(readonly=True) as s:
            item = s.get(m.ReviewItem, check_sql_int(entry_id, "review entry id", low=1))
            if item is None:
                raise NotFoundError(f"no review entry #{entry_id}; see `assay review list`.")
            task = _task_of(s, item.dataset_id)
            return [
                {
                    "id": fact.id,
                    "action": fact.action,
                    "label": task.decode_label(fact.label),
                    "note": fact.note,
                    "actor": fact.actor,
                    "at": fact.at,
                    "labelbook_version": fact.labelbook_version,
                    "in_force": fact.id == item.decision_id,
                    "applied_to": None if number is None else f"{name}@v{number}",
                }
                for fact, name, number in s.execute(query).all()
            ]

    def _decide_in(
        self,
        s: Session,
        entry_id: int,
        action: str,
        label: Any,
        note: str | None,
        who: str,
        revision: int | None,
    ) -> dict[str, Any]:
        """Decide in the open transaction ``s``; the entry as written (as :meth:`get`).

        Core statements (no ORM unit of work): the decision and the audit record are
        inserted at once, and the guarded update returns the row it wrote.
        """
        item, ds, digest, book = _entry_and_dataset(s, entry_id)
        _check_fresh(item, revision)
        task = get_task(ds.task)
        typed = None
        if action == "relabel":  # the latest label book, read once for its checks and number
            book_row = _latest_book_row(s, ds.id)
            typed = self._typed_label(ds, task, book_row, str(digest), label)
            book = None if book_row is None else book_row.number
        label_text = task.encode_label(typed)
        at = utcnow()
        fact_id = _record(s, entry_id, action, who, label=label_text, note=note, labelbook=book,
                          at=at)
        values = {
            "status": "decided",
            "decision": action,
            "decision_label": label_text,
            "note": note,
            "decided_by": who,
            "decided_at": at,
            "labelbook_version": book,
            "decision_id": fact_id,
            "revision": item.revision + 1,
        }
        written = _guarded_update(s, item, values)
        audit = {
            "actor": who,
            "action": f"review.{action}",
            "target": f"review:{entry_id}",
            "detail": {"item_id": item.item_id, "label": typed, "note": note},
        }
        s.execute(_INSERT_AUDIT, audit)
        return entry_record(written, ds.name, payload=True, task=task)

    def _typed_label(
        self,
        ds: m.Dataset,
        task: Task,
        book_row: m.LabelBookVersion | None,
        digest: str,
        label: Any,
    ) -> Any:
        """``label`` coerced to the dataset's label type, checked against its classes
        and the label book version ``book_row`` (the latest, read by the caller;
        ``digest``: the object of the dataset's latest version)."""
        typed = task.coerce_label(label, _label_type(self.ws, digest, ds.label_column))
        allowed = _allowed_labels(self.ws, book_row, ds, digest, task)
        unknown = task.unknown_names(typed, allowed)
        if unknown:
            shown = ", ".join(sorted(allowed, key=lambda v: (len(v), v))[:20])
            what = repr(typed) if unknown == [str(typed)] else ", ".join(map(repr, unknown))
            raise InputError(
                f"{what} is not a class of {ds.name} ({shown}); add it to the label book "
                f"first (`assay labelbook edit {ds.name}`) to introduce a new class."
            )
        book = None if book_row is None else book_from_row(ds.name, book_row)
        check_label_against_book(book, typed, what="relabel")
        return typed

    def decide_from_csv(self, path: str, *, user: str | None = None) -> int:
        """Bulk decisions from a CSV with columns ``id`` (entry), ``decision``, ``label``, ``note``.

        Every row is checked before any is written: one bad row writes nothing.
        """
        from assay.store.readers import read_source

        table, info = read_source(path)
        frame = table.to_pandas()
        if "id" not in frame.columns or "decision" not in frame.columns:
            raise InputError(
                f"{path} needs columns 'id' (the review entry) and 'decision'; it has {', '.join(frame.columns)}."
            )
        plan = _validate_bulk(self, frame, path, info["rows"])
        with self.ws.session() as s:  # one transaction: all rows or none
            for entry_id, action, label, note in plan:
                self._decide_in(s, entry_id, action, label, note, user or _user(), None)
        return len(plan)

    def apply(
        self,
        dataset: str,
        *,
        user: str | None = None,
        message: str | None = None,
        production: bool = False,
    ) -> DatasetVersion:
        """Turn the decided, unapplied entries of ``dataset`` into a new version.

        By default the decisions on the dataset's items; with ``production=True`` the
        decisions on production items (monitor samples, production clips), whose kept
        and relabeled items are appended (see :func:`assay.store.apply.apply_decisions`).
        """
        from assay.store.apply import apply_decisions

        return apply_decisions(
            self.ws, dataset, user=user or _user(), message=message, production=production
        )

    def production_waiting(self, dataset: str) -> dict[str, int]:
        """Decided production-item entries not applied yet, by decision."""
        from assay.store.apply import production_waiting

        return dict(production_waiting(self.ws, dataset))


def _kept(s: Session, ds_id: int) -> dict[tuple[str, str], list[tuple[str | None, Any]]]:
    """(item, source) -> the (given label, item digest) of each entry kept for it."""
    found: dict[tuple[str, str], list[tuple[str | None, Any]]] = {}
    for item_id, source, given, payload in s.execute(
        select(
            m.ReviewItem.item_id,
            m.ReviewItem.source,
            m.ReviewItem.given_label,
            m.ReviewItem.payload,
        ).where(
            m.ReviewItem.dataset_id == ds_id,
            m.ReviewItem.decision == "keep",
            m.ReviewItem.status.in_(("decided", "applied")),
        )
    ).all():
        found.setdefault((item_id, source), []).append((given, (payload or {}).get("item_digest")))
    return found


def _holds(kept: Iterable[tuple[str | None, Any]], entry: m.ReviewItem) -> bool:
    """Whether a keep of the same item and source still holds for the new ``entry``."""
    digest = (entry.payload or {}).get("item_digest")
    return any(
        given == entry.given_label and (old is None or digest is None or old == digest)
        for given, old in kept
    )


_LABEL_TYPES: dict[tuple[str, str], pa.DataType] = {}
_LABEL_VALUES: dict[tuple[str, str], set[str]] = {}


def _allowed_labels(
    ws: Workspace, book_row: m.LabelBookVersion | None, ds: m.Dataset, digest: str, task: Task
) -> set[str]:
    """The classes a relabel may use: the label book's (``book_row``: its latest
    version), the dataset's label list and the labels in use (as text; a label set's
    names, by the task's :meth:`~assay.tasks.Task.label_names`)."""
    book = None if book_row is None else book_row.content
    column = ds.label_column
    key = (digest, column)
    if key not in _LABEL_VALUES:
        import pyarrow.compute as pc

        values = ws.objects.get_table(digest, [column]).column(column)
        names = task.label_names(values)
        if names is None:
            names = [str(v) for v in pc.unique(values.drop_null()).to_pylist()]
        _LABEL_VALUES[key] = set(names)
    classes = set(book.get("classes", {})) if book else set()
    return classes | set(ds.label_names or ()) | _LABEL_VALUES[key]


def _label_type(ws: Workspace, digest: str, column: str) -> pa.DataType:
    """The Arrow type of a version's label column, read once per object (immutable)."""
    key = (digest, column)
    if key not in _LABEL_TYPES:
        _LABEL_TYPES[key] = ws.objects.schema(digest).field(column).type
    return _LABEL_TYPES[key]


def _validate_bulk(
    queue: ReviewQueue, frame: pd.DataFrame, path: str, rows: RowNames
) -> list[tuple[int, str, Any, Any]]:
    """Check every decision of a bulk file; rows are named as the file shows them."""
    plan = []
    for position, row in enumerate(frame.to_dict(orient="records")):
        where = f"{path} {rows(position)}"
        action = str(row["decision"]).strip().lower()
        if action not in ACTIONS:
            raise InputError(
                f"{where}, column 'decision': {row['decision']!r} is not one of {', '.join(ACTIONS)}."
            )
        try:
            entry = queue.get(int(row["id"]))
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{where}, column 'id': {row['id']!r} is not a review entry number."
            ) from exc
        except NotFoundError as exc:
            raise InputError(f"{where}: {exc}") from exc
        if entry["status"] != "open":
            raise ConflictError(
                f"{where}: review entry #{entry['id']} was already decided by {entry['decided_by']}."
            )
        label = row.get("label")
        if action == "relabel" and (label is None or pd.isna(label)):
            raise InputError(f"{where}, column 'label': a relabel decision needs a label.")
        note = row.get("note")
        plan.append(
            (int(row["id"]), action, label, None if note is None or pd.isna(note) else str(note))
        )
    if not plan:
        raise InputError(f"{path} has no decisions.")
    return plan


def _check_action(action: str, label: Any) -> None:
    if action not in ACTIONS:
        raise InputError(f"decision must be one of {', '.join(ACTIONS)}; got {action!r}.")
    if action == "relabel" and (label is None or str(label) == ""):
        raise InputError("a relabel decision needs the new label (--relabel LABEL).")


def _check_fresh(item: m.ReviewItem, revision: int | None) -> None:
    if revision is None and item.status != "open":
        raise ConflictError(
            f"review entry #{item.id} was already decided ({item.decision}) by {item.decided_by} "
            f"at {item.decided_at:%Y-%m-%d %H:%M}; nothing changed. Undo it first to decide again."
        )
    if revision is not None and item.revision != revision:
        who = f" by {item.decided_by}" if item.decided_by else ""
        raise ConflictError(
            f"review entry #{item.id} was changed{who} since you loaded it "
            f"(revision {item.revision}, you saw {revision}); reload it and decide again."
        )
    if item.status == "applied":
        raise ConflictError(f"review entry #{item.id} is already applied to a version.")


def _record(
    s: Session,
    entry_id: int,
    action: str,
    who: str,
    *,
    label: str | None,
    note: str | None,
    labelbook: int | None,
    at: datetime,
) -> int:
    """Add a decision (or an undo) as an immutable row; its id."""
    values = {
        "entry_id": entry_id,
        "action": action,
        "label": label,
        "note": note,
        "actor": who,
        "at": at,
        "labelbook_version": labelbook,
    }
    key = cast(CursorResult[Any], s.execute(_INSERT_DECISION, values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _guarded_update(s: Session, item: m.ReviewItem, values: dict[str, Any]) -> Row[Any]:
    """Compare-and-set on ``revision``: the database decides who was first. The row
    as written (``item`` in the session is not refreshed)."""
    params = {**values, "guard_id": item.id, "guard_revision": item.revision}
    if s.get_bind().dialect.update_returning:
        written = s.execute(_GUARDED_UPDATE_RETURNING, params).first()
    else:  # SQLite before 3.35: check the count, then read the row back
        done = cast(CursorResult[Any], s.execute(_GUARDED_UPDATE, params)).rowcount
        items = _GUARDED_UPDATE.table
        written = s.execute(select(items).where(items.c.id == item.id)).first() if done else None
    if written is None:
        raise ConflictError(
            f"review entry #{item.id} was changed by someone else just now; reload it."
        )
    return written


def _entry_and_dataset(
    s: Session, entry_id: int
) -> tuple[m.ReviewItem, m.Dataset, str | None, int | None]:
    """Entry ``entry_id``, its dataset, the object hash of the dataset's latest version
    and the number of its latest label book version (None: none), in one statement.

    Raises
    ------
    NotFoundError
        When there is no entry ``entry_id``.
    """
    checked = check_sql_int(entry_id, "review entry id", low=1)
    row = s.execute(_ENTRY_AND_DATASET, {"entry_id": checked}).first()
    if row is None:
        raise NotFoundError(f"no review entry #{entry_id}; see `assay review list`.")
    return row[0], row[1], row[2], row[3]


def _latest_book_row(s: Session, dataset_id: int) -> m.LabelBookVersion | None:
    return s.scalar(_LATEST_BOOK, {"dataset_id": dataset_id})


def _decision_statements() -> tuple[Any, ...]:
    """The statements of a decision, built once (parameters given when executed):
    the entry with its dataset, latest version's object and latest label book number
    (``entry_id``); the latest label book version (``dataset_id``); the decision's
    insert; the guarded update (``guard_id``, ``guard_revision``), also returning the
    row it wrote; the audit record's insert."""
    r, v, lb = m.ReviewItem, m.Version, m.LabelBookVersion
    digest = (
        select(v.object_hash)
        .where(v.dataset_id == r.dataset_id)
        .order_by(v.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    book = select(func.max(lb.number)).where(lb.dataset_id == r.dataset_id).scalar_subquery()
    entry = (
        select(r, m.Dataset, digest, book)
        .join(m.Dataset, m.Dataset.id == r.dataset_id)
        .where(r.id == bindparam("entry_id", type_=Integer))
    )
    latest_book = (
        select(lb)
        .where(lb.dataset_id == bindparam("dataset_id", type_=Integer))
        .order_by(lb.number.desc())
        .limit(1)
    )
    decisions = cast(Table, m.ReviewDecision.__table__)
    items = cast(Table, m.ReviewItem.__table__)
    guarded = update(items).where(
        items.c.id == bindparam("guard_id", type_=Integer),
        items.c.revision == bindparam("guard_revision", type_=Integer),
    )
    return (
        entry,
        latest_book,
        insert(decisions),
        guarded,
        guarded.returning(*items.c),
        insert(cast(Table, m.AuditLog.__table__)),
    )


(
    _ENTRY_AND_DATASET,
    _LATEST_BOOK,
    _INSERT_DECISION,
    _GUARDED_UPDATE,
    _GUARDED_UPDATE_RETURNING,
    _INSERT_AUDIT,
) = _decision_statements()


def _task_of(s: Session, dataset_id: int) -> Task:
    """The task of the dataset with row id ``dataset_id``."""
    ds = s.get(m.Dataset, dataset_id)
    assert ds is not None
    return get_task(ds.task)


def _item_task(item: m.ReviewItem) -> Task:
    """The task of an entry's dataset, read in the entry's session (default if detached)."""
    session = object_session(item)
    return get_task() if session is None else _task_of(session, item.dataset_id)


def entry_record(
    item: m.ReviewItem | Row[Any],
    dataset: str,
    *,
    payload: bool = False,
    task: Task | None = None,
) -> dict[str, Any]:
    """A queue entry as a JSON-safe dict, optionally with its payload.

    ``item`` is an entry object or a row of all its columns (then ``task`` is needed).
    Labels are decoded by ``task`` (default: the task of the entry's dataset, read in
    the session ``item`` belongs to).
    """
    if task is None:
        assert isinstance(item, m.ReviewItem), "a row of columns needs its task"
        task = _item_task(item)
    record = {
        "id": item.id,
        "dataset": dataset,
        "item_id": item.item_id,
        "source": item.source,
        "reason": item.reason,
        "score": item.score,
        "given_label": task.decode_label(item.given_label),
        "suggested_label": task.decode_label(item.suggested_label),
        "status": item.status,
        "decision": item.decision,
        "decision_label": task.decode_label(item.decision_label),
        "decided_by": item.decided_by,
        "decided_at": item.decided_at,
        "note": item.note,
        "revision": item.revision,
        "decision_id": item.decision_id,
    }
    if payload:
        record["payload"] = item.payload or {}
    return record


def _normalise_entries(entries: pd.DataFrame, source: str | None) -> pd.DataFrame:
    frame = entries.copy()
    if "item_id" not in frame.columns:
        raise InputError("review entries need an 'item_id' column.")
    if "source" not in frame.columns:
        if source is None:
            raise InputError("review entries need a source (the analysis that flagged them).")
        frame["source"] = source
    defaults: dict[str, Any] = {
        "reason": "",
        "score": 0.0,
        "given_label": None,
        "suggested_label": None,
        "payload": None,
    }
    for name, value in defaults.items():
        if name not in frame.columns:
            frame[name] = value
    scores = pd.to_numeric(frame["score"], errors="coerce")
    if scores.isna().any() or ((scores < 0) | (scores > 1)).any():
        raise InputError("review scores must be numbers in [0, 1] (low = most suspicious).")
    return frame[
        ["item_id", "source", "reason", "score", "given_label", "suggested_label", "payload"]
    ]


def _user() -> str:
    from assay.store.workspace import current_user

    return current_user()
