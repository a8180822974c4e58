"""The review queue: listing with filters, one entry, decisions (one, bulk, CSV), apply.

The CLI and the web app decide and apply through these use cases; a decision that
names the revision the reviewer saw is refused with :class:`ConflictError` when
someone else decided first (bulk decisions collect the conflicts per entry).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m
from assay.store.datasets import DatasetVersion
from assay.store.review import ACTIONS
from assay.store.workspace import Workspace

__all__ = [
    "STATUSES",
    "BulkOutcome",
    "EntryList",
    "ItemCheck",
    "apply_decisions",
    "check_bulk_action",
    "decide_bulk",
    "decide_entry",
    "decide_from_csv",
    "entry_datasets",
    "entry_details",
    "list_entries",
    "relabel_value",
]

#: The statuses a listing can filter on (``all``: no filter).
STATUSES = ("open", "decided", "applied", "all")


@dataclass(frozen=True)
class EntryList:
    """One page of queue entries, most suspicious first, and how many match the
    dataset and status (``total``)."""

    entries: pd.DataFrame
    total: int
    status: str

    def records(self) -> list[dict[Any, Any]]:
        """The entries as JSON-ready records (missing values as None)."""
        frame = self.entries
        return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@dataclass(frozen=True)
class BulkOutcome:
    """Entries decided, and those refused because someone decided them first."""

    action: str
    decided: list[int] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)


def list_entries(
    ws: Workspace,
    dataset: str | None = None,
    *,
    status: str = "open",
    source: str | None = None,
    label: str | None = None,
    limit: int | None = 20,
) -> EntryList:
    """Queue entries of ``dataset`` (default: all) with ``status`` (one of
    :data:`STATUSES`), from analysis ``source``, whose given label is ``label`` (text,
    read as the dataset's label type)."""
    if status not in STATUSES:
        raise InputError(f"status={status!r} is not one of {', '.join(STATUSES)}.", param="status")
    if dataset is not None:
        ws.dataset(dataset)  # NotFoundError for an unknown dataset
    typed = label
    if label is not None and dataset is not None:
        version = ws.dataset(dataset)
        typed = version.task.coerce_label(label, version.label_type)
    wanted = None if status == "all" else status
    frame = ws.review.list(dataset, status=wanted, source=source, label=typed, limit=limit)
    return EntryList(frame, ws.review.count(dataset, status=wanted), status)


def _item_row(version: DatasetVersion, item_id: str) -> dict[Any, Any] | None:
    frame = version.to_pandas()
    row = frame[frame[version.roles.id].astype(str) == item_id]
    return row.iloc[0].to_dict() if len(row) else None


def entry_details(ws: Workspace, entry_id: int) -> dict[str, Any]:
    """One entry with its decisions (``history``, oldest first) and the item's row in
    the dataset's latest version (``item``; else the row the entry carries)."""
    record = ws.review.get(entry_id)
    record["history"] = ws.review.history(entry_id)
    row = _item_row(ws.dataset(record["dataset"]), record["item_id"])
    record["item"] = row if row is not None else record["payload"].get("row")
    return record


def decide_entry(
    ws: Workspace,
    entry_id: int,
    action: str,
    *,
    label: Any = None,
    note: str | None = None,
    user: str | None = None,
    revision: int | None = None,
    check: ItemCheck | None = None,
) -> dict[str, Any]:
    """Record ``action`` (relabel, remove or keep) on one entry; with ``revision``,
    only if the entry is still at the revision the reviewer saw. A relabel must fit its
    item (:meth:`~assay.tasks.Task.check_item_label`: boxes inside the image) and pass
    ``check`` (called first, e.g. the web widget's own check), which gets the entry and
    its dataset's latest version as read once for both checks."""
    if action == "relabel" and label is not None:
        _check_item_label(ws, entry_id, label, check)
    return ws.review.decide(entry_id, action, label=label, note=note, user=user, revision=revision)


#: An extra check of a relabel: ``check(entry, latest version)`` raises InputError.
ItemCheck = Callable[[dict[str, Any], DatasetVersion], None]


def _check_item_label(
    ws: Workspace, entry_id: int, label: Any, check: ItemCheck | None = None
) -> None:
    """The checks of a new label against the entry's item (absent entry: decide says so)."""
    try:
        record, version = ws.review.entry_version(entry_id)
    except NotFoundError:
        return
    if check is not None:
        check(record, version)
    version.task.check_item_label(label, lambda: _item_row(version, record["item_id"]))


def relabel_value(
    ws: Workspace,
    entry_id: int,
    *,
    label: Any = None,
    accept: bool = False,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Any:
    """The label a relabel decision gives: ``label`` as typed, the entry's suggested
    label (``accept``), or its given label with labels added and removed (label sets,
    :meth:`~assay.tasks.Task.edit_label`).

    Raises
    ------
    InputError
        None or more than one of the three ways, ``accept`` on an entry with no
        suggestion, ``add``/``remove`` on a dataset whose labels are not sets.
    """
    ways = [
        w
        for w, on in (
            ("label", label is not None),
            ("accept", accept),
            ("edit", bool(add) or bool(remove)),
        )
        if on
    ]
    if len(ways) != 1:
        raise InputError(
            "give the new label in exactly one way: label=, accept=True (the suggested "
            "label), or add=/remove= (labels to add to and remove from a set)."
        )
    if ways[0] == "label":
        return label
    record = ws.review.get(entry_id)
    if accept:
        if record["suggested_label"] is None:
            raise InputError(
                f"review entry #{entry_id} has no suggested label; give the new label."
            )
        return record["suggested_label"]
    task = ws.dataset(record["dataset"]).task
    return task.edit_label(record["given_label"], add=list(add), remove=list(remove))


def decide_from_csv(ws: Workspace, path: Path, *, user: str | None = None) -> int:
    """Decisions from a CSV (id, decision, label, note); all rows are checked first."""
    return ws.review.decide_from_csv(str(path), user=user)


def entry_datasets(ws: Workspace, entry_ids: list[int]) -> dict[int, str]:
    """The dataset of each of ``entry_ids`` that exists (absent ids are left out)."""
    out: dict[int, str] = {}
    unique = sorted(set(entry_ids))
    with ws.session(readonly=True) as s:
        for start in range(0, len(unique), 1000):
            chunk = unique[start : start + 1000]
            rows = s.execute(
                select(m.ReviewItem.id, m.Dataset.name)
                .join(m.Dataset, m.Dataset.id == m.ReviewItem.dataset_id)
                .where(m.ReviewItem.id.in_(chunk))
            ).all()
            out.update({int(i): str(n) for i, n in rows})
    return out


def _ids(ids: list[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _check_owner(ws: Workspace, dataset: str, entry_ids: list[int]) -> None:
    """Refuse the whole bulk action when an entry is absent or of another dataset."""
    owners = entry_datasets(ws, entry_ids)
    missing = [i for i in dict.fromkeys(entry_ids) if i not in owners]
    if missing:
        raise NotFoundError(
            f"no review entries {_ids(missing)}; nothing was decided (reload the list)."
        )
    foreign = [i for i in dict.fromkeys(entry_ids) if owners[i] != dataset]
    if foreign:
        where = ", ".join(sorted({repr(owners[i]) for i in foreign}))
        raise InputError(
            f"entries {_ids(foreign)} belong to dataset {where}, not {dataset!r}; nothing was "
            f"decided. Send them to that dataset's queue (/review/DATASET/bulk)."
        )


def check_bulk_action(action: str) -> str:
    """``action`` if it is one of :data:`~assay.store.review.ACTIONS`, else InputError."""
    if action not in ACTIONS:
        raise InputError(f"bulk action must be one of {', '.join(ACTIONS)}; got {action!r}.")
    return action


def decide_bulk(
    ws: Workspace,
    dataset: str,
    action: str,
    targets: list[tuple[int, int | None]],
    *,
    label: Any = None,
    user: str | None = None,
) -> BulkOutcome:
    """The same decision on many entries of ``dataset``, each ``(entry id, revision
    seen or None)``; each is checked for conflicts on its own. An unknown entry, or
    one of another dataset, refuses the whole action before anything is decided."""
    check_bulk_action(action)
    _check_owner(ws, dataset, [entry_id for entry_id, _ in targets])
    outcome = BulkOutcome(action)
    for entry_id, revision in targets:
        try:
            ws.review.decide(entry_id, action, label=label, user=user, revision=revision)
            outcome.decided.append(entry_id)
        except ConflictError as exc:
            outcome.conflicts.append({"id": entry_id, "error": str(exc)})
    return outcome


def apply_decisions(
    ws: Workspace,
    dataset: str,
    *,
    message: str | None = None,
    user: str | None = None,
    production: bool = False,
) -> DatasetVersion:
    """Turn the decided entries of ``dataset`` into a new version (``message``
    defaults to counts and reasons); ``production=True``: add the kept and relabeled
    production items instead."""
    return ws.review.apply(dataset, user=user, message=message, production=production)
