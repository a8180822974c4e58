"""Apply review decisions: accepted relabels, removals and additions become a version.

Nothing is lost when applies, imports and reviewers race: one apply runs at a time per
dataset (a lock row), the version is a compare-and-swap on the dataset's head, and the
entries move to "applied" only where the decision in force is still the one the version
was computed from; otherwise the whole transaction rolls back and the apply computes
the version again.

A version stored in parts (a streamed import) is applied part by part, one part in
memory at a time, and the new version is stored in parts too
(:func:`assay.store.streamed.changed_version`).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assay.exceptions import ConflictError, InputError
from assay.store import models as m
from assay.store._process import holder_alive, holder_id, holder_parts
from assay.store.models import utcnow
from assay.store.stream_sources import ChunkStream
from assay.store.streamed import changed_version, column_parts

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace

__all__ = ["apply_decisions", "is_production", "production_waiting"]


def is_production(item: m.ReviewItem, ids: pd.Index | set[str]) -> bool:
    """A decision on a production item: not in the dataset, and carrying what to add.

    Production samples (``assay monitor sample``: the row in ``payload["row"]``;
    ``assay monitor clips``: the clip's file in ``payload["path"]``) are not rows of the
    dataset until ``apply_decisions(..., production=True)`` adds them.
    """
    payload = item.payload or {}
    return item.item_id not in ids and ("row" in payload or "path" in payload)


def production_waiting(ws: Workspace, dataset: str) -> Counter[str]:
    """How many decided production-item entries wait, by decision (keep, relabel, remove)."""
    items = _pending(ws, dataset)
    if not items:
        return Counter()
    ids = _present(ws.dataset(dataset), items)
    return Counter(str(i.decision) for i in items if is_production(i, ids))


@dataclass
class _IdScan:
    """What an apply needs of a version's id column, read once, part by part.

    Attributes
    ----------
    present : set of str
        The decisions' item ids that are ids of the version.
    int_dtype : dtype or None
        The ids' integer dtype (None when they are not integers).
    top : int
        The largest integer id (-1 when there is none).
    """

    present: set[str]
    int_dtype: Any = None
    top: int = -1


def _scan_ids(version: DatasetVersion, items: list[m.ReviewItem]) -> _IdScan:
    """Scan the id column part by part: which items' ids are in ``version`` (matched in
    a vectorised pass: no Python set of a version's millions of ids), and the largest
    integer id, after which production rows are numbered."""
    wanted = {item.item_id for item in items}
    scan = _IdScan(set())
    integers = True
    for ids in column_parts(version, version.roles.id):
        text = ids.astype(str)
        scan.present.update(text[text.isin(wanted)])
        integers = integers and pd.api.types.is_integer_dtype(ids)
        if integers:
            scan.int_dtype = ids.dtype
            scan.top = max(scan.top, int(ids.max()) if len(ids) else -1)
    if not integers:
        scan.int_dtype = None
    return scan


def _present(version: DatasetVersion, items: list[m.ReviewItem]) -> set[str]:
    """The items' ids that are ids of ``version`` (:func:`_scan_ids`)."""
    return _scan_ids(version, items).present


def _pending(ws: Workspace, dataset: str) -> list[m.ReviewItem]:
    """The decided, unapplied entries, with the decision in force (``decision_id``)."""
    with ws.session(readonly=True) as s:
        ds = ws._dataset_row(s, dataset)
        return list(
            s.scalars(
                select(m.ReviewItem)
                .where(m.ReviewItem.dataset_id == ds.id, m.ReviewItem.status == "decided")
                .order_by(m.ReviewItem.id)
            ).all()
        )


def _decision_counts(items: list[m.ReviewItem]) -> Counter[str]:
    """How many entries each decision (keep, relabel, remove) has."""
    return Counter(item.decision or "keep" for item in items)


def _apply_to_frame(
    frame: pd.DataFrame, items: list[m.ReviewItem], version: DatasetVersion
) -> tuple[pd.DataFrame, Counter[str]]:
    """Relabel and remove rows of the dataset; return the new frame and what was done."""
    id_col, label_col = version.roles.id, version.roles.label
    label_type, task = version.label_type, version.task
    ids = pd.Index(frame[id_col].astype(str))
    rows = ids.get_indexer(pd.Index([item.item_id for item in items], dtype=object))
    _refuse_missing([item for item, row in zip(items, rows, strict=True) if row < 0], version)
    keep = np.ones(len(frame), dtype=bool)
    labels = frame[label_col].to_numpy(dtype=object).copy()
    for item, row in zip(items, rows, strict=True):
        if item.decision == "remove":
            keep[row] = False
        elif item.decision == "relabel":
            labels[row] = task.coerce_label(task.decode_label(item.decision_label), label_type)
    out = frame[keep] if not keep.all() else frame.copy(deep=False)  # copy on write
    out[label_col] = pd.Series(labels[keep], index=out.index).astype(frame[label_col].dtype)
    return out.reset_index(drop=True), _decision_counts(items)


def _production_rows(
    items: list[m.ReviewItem], version: DatasetVersion, scan: _IdScan
) -> tuple[pd.DataFrame, Counter[str]]:
    """The rows the kept and relabeled production items add; removed ones are left out.

    A relabeled item gets its new label; a kept one its given label, else the
    suggested one (the model's prediction or the recogniser's words, which the
    reviewer accepted by keeping it). A production row is ``payload["row"]``, or
    ``{media column: payload["path"]}`` for a clip or an image file; new integer ids
    continue after the dataset's (``scan``).
    """
    id_col, label_col, task = version.roles.id, version.roles.label, version.task
    done: Counter[str] = Counter()
    appended: list[dict[str, Any]] = []
    unlabeled: list[m.ReviewItem] = []
    for item in items:
        if item.decision == "remove":
            done["left out"] += 1
            continue
        encoded = (
            item.decision_label
            if item.decision == "relabel"
            else (item.given_label if item.given_label is not None else item.suggested_label)
        )
        if encoded is None:
            unlabeled.append(item)
            continue
        label = task.coerce_label(task.decode_label(encoded), version.label_type)
        appended.append({**_production_row(item, version), id_col: item.item_id, label_col: label})
        done["appended"] += 1
    if unlabeled:
        shown = ", ".join(f"#{i.id} ({i.item_id})" for i in unlabeled[:10])
        raise InputError(
            f"{len(unlabeled)} kept production item(s) have no label to add them with: "
            f"{shown}; undo and relabel them (`assay review undo ID`, then `assay review "
            "decide ID --relabel LABEL`)."
        )
    if not appended:
        raise InputError(
            f"the {len(items)} production decision(s) of {version.name} all remove their "
            "item: there is nothing to add."
        )
    extra = _new_rows(pd.DataFrame(appended), scan, id_col)
    return extra.reindex(columns=pd.Index(version.schema.names)), done


def _applied(
    ws: Workspace, version: DatasetVersion, items: list[m.ReviewItem], scan: _IdScan,
    production: bool,
) -> tuple[pd.DataFrame | ChunkStream, Counter[str]]:
    """The new version's rows and what was done (``scan``: the version's id column as
    :func:`_chosen` read it).

    A version stored in parts is changed part by part, one part in memory at a time
    (its id column is read part by part too, to check the decisions' items and to
    number production rows), so the apply of a version larger than memory stays
    bounded as its import was (:mod:`assay.store.streamed`).
    """
    id_col = version.roles.id
    if production:
        extra, done = _production_rows(items, version, scan)
        return changed_version(ws, version, lambda frame: frame, extra), done
    _check_items_exist(items, scan.present, version)
    by_id: dict[str, list[m.ReviewItem]] = {}
    for item in items:  # an item may have entries from two sources: applied in order
        by_id.setdefault(item.item_id, []).append(item)

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        present = frame[id_col].astype(str)
        mine = [item for i in present[present.isin(list(by_id))] for item in by_id[i]]
        return _apply_to_frame(frame, mine, version)[0] if mine else frame

    return changed_version(ws, version, change), _decision_counts(items)


def _production_row(item: m.ReviewItem, version: DatasetVersion) -> dict[str, Any]:
    """The row a production item adds: its stored row, or its file in the media column."""
    payload = item.payload or {}
    if "row" in payload:
        return dict(payload["row"])
    media = version.roles.media
    if media is None:
        raise InputError(
            f"#{item.id} ({item.item_id}) is a production file, but {version.ref} has no "
            "media column to hold it (it was imported from a table)."
        )
    return {media: str(Path(str(payload["path"])).resolve())}


def _check_items_exist(items: list[m.ReviewItem], ids: set[str], version: DatasetVersion) -> None:
    """Every decision must name an item of the version (``ids``: those of the version's
    ids that the items name, see :func:`_present`)."""
    _refuse_missing([item for item in items if item.item_id not in ids], version)


def _refuse_missing(missing: list[m.ReviewItem], version: DatasetVersion) -> None:
    """Name the decisions on items that are not in the version, if any."""
    if missing:
        shown = ", ".join(f"#{i.id} ({i.item_id})" for i in missing[:10])
        raise InputError(
            f"{len(missing)} decision(s) name items that are not in {version.ref}: {shown}; "
            "undo them with `assay review undo ID` (the items were removed or never imported)."
        )


def _new_rows(extra: pd.DataFrame, scan: _IdScan, id_col: str) -> pd.DataFrame:
    """Give appended production rows ids of the dataset's id type.

    Integer ids continue after the largest existing id (``scan``; the production id
    stays in the review entry, which the version's provenance lists); other ids are
    kept as strings.
    """
    extra = extra.copy()
    if scan.int_dtype is not None:
        start = scan.top + 1
        extra[id_col] = pd.Series(np.arange(start, start + len(extra)), index=extra.index).astype(
            scan.int_dtype
        )
    else:
        extra[id_col] = extra[id_col].astype(str)
    return extra


APPLY_ATTEMPTS = 3
"""How many times an apply computes its version again when the dataset or a decision
moved while it worked, before it gives up with a ConflictError."""
LOCK_TTL = timedelta(minutes=30)
"""How long an apply's lock lasts without renewal: a killed apply blocks no longer."""
_CHUNK = 2000  # ids per IN (...) list, below every database's parameter limit


class _Moved(ConflictError):
    """A decision read by the apply changed before its version was written."""


class _LockLost(ConflictError):
    """The apply's lock expired and another apply took it over."""


def apply_decisions(
    ws: Workspace,
    dataset: str,
    *,
    user: str,
    message: str | None = None,
    production: bool = False,
) -> DatasetVersion:
    """Make a new version of ``dataset`` from the review decisions in force.

    Decisions on the dataset's items (relabel, remove, keep) and decisions on
    production items (:func:`is_production`: samples of a monitor, production clips)
    are applied separately: by default only the first; with ``production=True`` only
    the second, appending the kept and relabeled production items as new rows
    (:func:`production_waiting` counts those left aside).

    One apply runs at a time per dataset (a lock in the ``locks`` table). The version,
    the marking of exactly the decisions it applied and of their entries are one
    transaction, which is refused when the dataset got a new version or an entry got
    another decision meanwhile; the apply then computes the version again on what is
    there now (at most :data:`APPLY_ATTEMPTS` times), so the version always agrees
    with the entries and no row or decision is lost.

    Raises
    ------
    InputError
        When no decision of the kind asked for is waiting (nothing is written), or a
        kept production item has no label.
    ConflictError
        When another apply of ``dataset`` is running (naming who and since when), or
        the dataset kept moving for every attempt; nothing is written.
    """
    with _apply_lock(ws, dataset, user) as lock:
        moved: ConflictError | None = None
        for _ in range(APPLY_ATTEMPTS):
            try:
                return _apply_once(ws, dataset, user, message, lock, production)
            except _LockLost:
                raise
            except ConflictError as exc:  # the head or a decision moved: compute again
                moved = exc
        raise ConflictError(
            f"{dataset} kept changing while its decisions were applied ({APPLY_ATTEMPTS} "
            f"attempts, the last: {moved}); run `assay review apply {dataset}` again."
        ) from moved


def _apply_once(
    ws: Workspace,
    dataset: str,
    user: str,
    message: str | None,
    lock: tuple[str, str],
    production: bool,
) -> DatasetVersion:
    """Compute the version from the head and the decisions in force, then commit it."""
    with ws.session() as s:
        _renew(s, *lock)
    base = ws.dataset(dataset)
    items, scan = _chosen(ws, dataset, base, production)
    frame, done = _applied(ws, base, items, scan, production)
    reasons = Counter(item.source for item in items)
    text = message or (
        "review: "
        + ", ".join(f"{n} {k}" for k, n in sorted(done.items()))
        + " ("
        + ", ".join(f"{k}: {n}" for k, n in sorted(reasons.items()))
        + ")"
    )
    ids = [item.id for item in items]
    decisions = [int(item.decision_id) for item in items if item.decision_id is not None]

    def mark_applied(s: Session, row: m.Version) -> None:
        _renew(s, *lock)  # fencing: still ours, and held until this transaction ends
        _mark_applied(s, dataset, decisions, row.id)
        s.add(
            m.AuditLog(
                actor=user,
                action="review.apply",
                target=f"{dataset}@v{row.number}",
                detail={"entries": len(ids), **done},
            )
        )

    provenance = {
        "review_entries": ids,
        "review_decisions": decisions,
        "decisions": dict(done),
        "sources": dict(reasons),
    }
    return ws.commit(
        dataset,
        frame,
        message=text,
        author=user,
        parent=base.ref,
        provenance=provenance,
        on_commit=mark_applied,
    )


def _chosen(
    ws: Workspace, dataset: str, base: DatasetVersion, production: bool
) -> tuple[list[m.ReviewItem], _IdScan]:
    """The pending entries of the kind asked for, and ``base``'s id column as
    :func:`_scan_ids` reads it (once, here); refuse when there are none."""
    pending = _pending(ws, dataset)
    scan = _scan_ids(base, pending)
    items = [i for i in pending if is_production(i, scan.present) == production]
    if items:
        return items, scan
    others = len(pending) - len(items)
    if production:
        raise InputError(
            f"no decided production items for {dataset!r} to add; sample some with "
            "`assay monitor sample` and decide them with `assay review decide` first."
        )
    if others:
        raise InputError(
            f"no decided review entries on the items of {dataset!r}; the {others} "
            f"decision(s) on production items are added with `assay review apply {dataset} "
            "--production`."
        )
    raise InputError(
        f"no decided review entries for {dataset!r} to apply; decide some with "
        "`assay review decide` first."
    )


def _mark_applied(s: Session, dataset: str, decisions: list[int], version_id: int) -> None:
    """Compare-and-set: move to "applied" only entries whose decision is still the one read.

    Raises
    ------
    _Moved
        When an entry was undone or decided again since it was read (the caller's
        transaction then rolls back, version included).
    """
    moved = 0
    for start in range(0, len(decisions), _CHUNK):
        chunk = decisions[start : start + _CHUNK]
        result = s.execute(
            update(m.ReviewItem)
            .where(m.ReviewItem.decision_id.in_(chunk), m.ReviewItem.status == "decided")
            .values(
                status="applied",
                applied_version_id=version_id,
                revision=m.ReviewItem.revision + 1,
            )
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount  # type: ignore[attr-defined]
        s.execute(
            update(m.ReviewDecision)
            .where(m.ReviewDecision.id.in_(chunk), m.ReviewDecision.applied_version_id.is_(None))
            .values(applied_version_id=version_id)
            .execution_options(synchronize_session=False)
        )
    if moved != len(decisions):
        raise _Moved(
            f"{len(decisions) - moved} review decision(s) of {dataset} were undone or "
            "changed while they were applied; nothing was written."
        )


@contextmanager
def _apply_lock(ws: Workspace, dataset: str, user: str) -> Iterator[tuple[str, str]]:
    """Hold ``apply:<dataset id>`` in the ``locks`` table: one apply per dataset.

    The lock is taken with an INSERT that fails when the name is held; a lock past its
    expiry, or whose holder process on this machine is gone (killed), is taken over.
    Yields ``(name, holder)``.
    """
    with ws.session(readonly=True) as s:
        name = f"apply:{ws._dataset_row(s, dataset).id}"
    holder = holder_id(f"{user} {secrets.token_hex(4)}")
    _acquire(ws, dataset, name, holder)
    try:
        yield name, holder
    finally:
        with ws.session() as s:
            s.execute(delete(m.Lock).where(m.Lock.name == name, m.Lock.holder == holder))


def _acquire(ws: Workspace, dataset: str, name: str, holder: str) -> None:
    """Insert the lock row, after removing an expired one; else say who holds it."""
    now = utcnow()
    try:
        with ws.session() as s:
            current = s.get(m.Lock, name)
            if current is not None and _stale(current, now):
                s.execute(
                    delete(m.Lock).where(
                        m.Lock.name == name,
                        m.Lock.holder == current.holder,
                        m.Lock.expires_at == current.expires_at,
                    )
                )
            elif current is not None:
                raise _held(dataset, current)
            s.expunge_all()
            s.add(m.Lock(name=name, holder=holder, acquired_at=now, expires_at=now + LOCK_TTL))
            s.flush()
    except IntegrityError as exc:  # another apply inserted it first
        with ws.session(readonly=True) as s:
            current = s.get(m.Lock, name)
            if current is None:
                raise ConflictError(
                    f"another apply of {dataset} started at the same moment; run "
                    f"`assay review apply {dataset}` again if decisions are left."
                ) from exc
            raise _held(dataset, current) from exc


def _renew(s: Session, name: str, holder: str) -> None:
    """Extend the lock; inside the commit transaction this also fences it.

    Raises
    ------
    _LockLost
        When the lock expired and another apply took it over.
    """
    result = s.execute(
        update(m.Lock)
        .where(m.Lock.name == name, m.Lock.holder == holder)
        .values(expires_at=utcnow() + LOCK_TTL)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _LockLost(
            f"this apply's lock {name} expired (after {LOCK_TTL}) and another apply took "
            "it over; nothing was written: run `assay review apply` again if decisions "
            "are left."
        )


def _stale(lock: m.Lock, now: datetime) -> bool:
    """A lock past its expiry, or held by a process of this machine that is gone."""
    return _aware(lock.expires_at) <= now or not holder_alive(lock.holder)


def _held(dataset: str, lock: m.Lock) -> ConflictError:
    """The refusal naming the apply that holds the lock, and since when."""
    host, pid, label = holder_parts(lock.holder)
    who = label.rpartition(" ")[0] or label
    shown = f"{who} (pid {pid} on {host})" if pid else lock.holder
    since = _aware(lock.acquired_at)
    until = _aware(lock.expires_at)
    return ConflictError(
        f"{dataset} is already being applied by {shown} since {since:%Y-%m-%d %H:%M:%S} UTC "
        f"(lock {lock.name}, expires {until:%H:%M:%S} UTC); wait for it to finish, then run "
        f"`assay review apply {dataset}` again if decisions are left."
    )


def _aware(when: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
