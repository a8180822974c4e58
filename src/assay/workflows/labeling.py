"""Labeling unlabeled items: a plan with an agreement sample, blind queues, labels.

The use cases behind ``assay label`` and the web app's labeling pages:
:func:`plan_labeling` assigns each item to labelers (a share ``overlap`` of the items,
the agreement sample, to ``per_item`` labelers each, the rest to one);
:func:`next_item` gives a labeler the next item of their own queue, **blind**: it never
carries another labeler's label, and carries the model's suggestion (``prefill``) only
for items outside the agreement sample of a plan made with pre-annotation;
:func:`submit_label` stores a label (or a skip, or "unsure" with a note);
:func:`labeling_status` counts progress. Agreement, adjudication and applying the labels
as a dataset version are in :mod:`assay.workflows._labeling_results` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.store import labeling as store
from assay.store import labeling_results as results
from assay.store.workspace import Workspace
from assay.tasks import get_task
from assay.workflows._labeling_results import (
    Adjudication,
    AdjudicationItem,
    AppliedLabels,
    LabelsStamp,
    LiveAgreement,
    adjudicate,
    adjudication_queue,
    apply_labels,
    label_provenance,
    labels_stamp,
    live_agreement,
    read_labels,
    typed_label,
)

__all__ = [
    "Adjudication",
    "AdjudicationItem",
    "AppliedLabels",
    "LabelerProgress",
    "LabelingPlan",
    "LabelingStatus",
    "LabelingTask",
    "LabelsStamp",
    "LiveAgreement",
    "SubmittedLabel",
    "adjudicate",
    "adjudication_queue",
    "apply_labels",
    "label_provenance",
    "labeling_status",
    "labels_stamp",
    "live_agreement",
    "next_item",
    "plan_labeling",
    "read_labels",
    "submit_label",
    "submit_labels",
]


@dataclass(frozen=True)
class LabelingPlan:
    """A stored labeling plan.

    Attributes
    ----------
    dataset : str
    number : int
        The plan's number for the dataset (the latest is in use).
    labelers : list of str
    per_item : int
        Labelers per item of the agreement sample.
    items : int
        Items to label.
    sample : int
        Items in the agreement sample.
    assignments : dict of str -> int
        Items in each labeler's queue.
    prefill : bool
        Whether items outside the sample carry the model's suggestion.
    """

    dataset: str
    number: int
    labelers: list[str]
    per_item: int
    items: int
    sample: int
    assignments: dict[str, int]
    prefill: bool

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class LabelingTask:
    """The next item of a labeler's queue: what a labeling page shows.

    Never carries another labeler's label; ``prefill`` (the model's suggestion) is
    None for every item of the agreement sample and for plans without pre-annotation.

    Attributes
    ----------
    dataset, labeler : str
    item_id : str
        The item's id, as text.
    position : int
        The item's place in the labeler's queue (1-based).
    remaining, total : int
        Open items, and items in the labeler's queue.
    labelbook_version : int or None
        The label book's latest version (the one the label will follow).
    prefill : optional
        The suggested label, typed as the dataset's labels.
    """

    dataset: str
    labeler: str
    item_id: str
    position: int
    remaining: int
    total: int
    labelbook_version: int | None
    prefill: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The task as JSON-ready values."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class SubmittedLabel:
    """A stored label; ``revision`` is what a later change must name.

    ``prefilled`` says the label is the suggestion the labeler was shown (its bias can be
    measured); ``label`` is None for a skip.
    """

    dataset: str
    labeler: str
    item_id: str
    label: Any
    unsure: bool
    skipped: bool
    note: str | None
    labelbook_version: int | None
    prefilled: bool
    revision: int

    def to_dict(self) -> dict[str, Any]:
        """The label as JSON-ready values."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class LabelerProgress:
    """One labeler's queue: items assigned, labeled, skipped, labeled as unsure."""

    labeler: str
    assigned: int
    done: int
    skipped: int
    unsure: int

    @property
    def open(self) -> int:
        """Items still to label."""
        return self.assigned - self.done - self.skipped


@dataclass(frozen=True)
class LabelingStatus:
    """Progress of a plan.

    Attributes
    ----------
    labelers : list of LabelerProgress
    classes : dict
        Labels given so far, per class (skips not counted).
    items, labeled_items : int
        Items in the plan; items with at least one label.
    sample_items, sample_complete : int
        Items of the agreement sample; those with all their labels in.
    disagreed, adjudicated : int
        Items whose labels differ; those an adjudicator decided.
    """

    dataset: str
    number: int
    labelers: list[LabelerProgress]
    classes: dict[Any, int]
    items: int
    labeled_items: int
    sample_items: int
    sample_complete: int
    disagreed: int
    adjudicated: int
    per_item: int = 2
    prefill: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The status as JSON-ready values."""
        out = {k: v for k, v in self.__dict__.items() if k != "labelers"}
        out["classes"] = {str(k): v for k, v in self.classes.items()}
        out["labelers"] = [{**p.__dict__, "open": p.open} for p in self.labelers]
        return out


def _labelers(labelers: Sequence[str], per_item: int, overlap: float) -> list[str]:
    names = [str(n).strip() for n in labelers]
    if not names or any(not n for n in names):
        raise InputError("give the labelers by name, e.g. labelers=['ann', 'ben'].")
    if len(set(names)) != len(names):
        raise InputError(f"a labeler is named twice in {', '.join(names)}; name each once.")
    if isinstance(per_item, bool) or not isinstance(per_item, (int, np.integer)) or per_item < 1:
        raise InputError(f"per_item must be a whole number >= 1; got {per_item!r}.")
    if per_item > len(names):
        raise InputError(
            f"per_item={per_item} labels per sampled item need {per_item} labelers; "
            f"{len(names)} are named ({', '.join(names)}): name more, or lower per_item."
        )
    if not isinstance(overlap, (int, float)) or not 0.0 <= float(overlap) <= 1.0:
        raise InputError(f"overlap must be a share in [0, 1], e.g. 0.2; got {overlap!r}.")
    if overlap > 0 and per_item < 2:
        raise InputError(
            "an agreement sample needs per_item >= 2 labels per item; give per_item=2, "
            "or overlap=0 for one label per item."
        )
    return names


def _plan_items(
    ws: Workspace, name: str, items: Sequence[Any] | None
) -> tuple[list[str], pd.Series]:
    """The items to label (text ids) and the dataset's ids; default: the unlabeled ones,
    or every item when all have labels."""
    version = ws.dataset(name)
    frame = version.to_pandas([version.roles.id, version.roles.label])
    ids = frame[version.roles.id].astype(str)
    if items is None:
        missing = frame[version.roles.label].isna()
        chosen = ids[missing] if missing.any() else ids
        return chosen.tolist(), ids
    wanted = [str(i) for i in items]
    unknown = sorted(set(wanted) - set(ids))
    if unknown:
        raise InputError(
            f"{len(unknown)} item(s) are not in {version.ref}, e.g. {', '.join(unknown[:5])}; "
            f"give ids from its {version.roles.id!r} column."
        )
    if not wanted:
        raise InputError("items is empty; give the items to label, or leave it out.")
    return list(dict.fromkeys(wanted)), ids


def _assign(
    items: list[str], sample: set[str], names: list[str], per_item: int, seed: int
) -> pd.DataFrame:
    """Each item to one labeler, each sampled item to ``per_item`` different ones, in
    turn (balanced loads, varied pairs); queues in one shuffled order, so that the
    sampled items are spread through every queue."""
    rng = np.random.default_rng(seed)
    order = [items[i] for i in rng.permutation(len(items))]
    rows: list[tuple[str, str, int, bool]] = []
    cursor = 0
    for position, item in enumerate(order, start=1):
        k = per_item if item in sample else 1
        for j in range(k):
            rows.append((item, names[(cursor + j) % len(names)], position, item in sample))
        cursor += k
    return pd.DataFrame.from_records(rows, columns=["item_id", "labeler", "position", "in_sample"])


def plan_labeling(
    ws: Workspace,
    name: str,
    *,
    labelers: Sequence[str],
    per_item: int = 2,
    overlap: float = 0.2,
    items: Sequence[Any] | None = None,
    sample: Sequence[Any] | None = None,
    prefill: Mapping[Any, Any] | None = None,
    seed: int = 0,
    actor: str,
) -> LabelingPlan:
    """Plan who labels which items of dataset ``name``, and store the queues.

    Parameters
    ----------
    labelers : sequence of str
        The labelers' names (the web app's user names).
    per_item : int, default 2
        Labelers per item of the agreement sample.
    overlap : float, default 0.2
        The share of the items in the agreement sample (drawn at random with
        ``seed``); ignored when ``sample`` names the items.
    items : sequence, optional
        The item ids to label; default the items without a label (every item when all
        have one).
    sample : sequence, optional
        The agreement sample's item ids, e.g. the ``item`` column of ``assay
        plan-sample``'s stratified sample; must be among ``items``.
    prefill : mapping, optional
        The model's suggested label per item id (pre-annotation): shown only for items
        outside the agreement sample, and a label equal to it is recorded as prefilled.
    actor : str
        Who makes the plan (audit log).

    Raises
    ------
    InputError
        Bad labelers, ``per_item`` or ``overlap``; items or sample items that are not in
        the dataset (or the sample outside ``items``); suggestions that are not labels.
    """
    names = _labelers(labelers, per_item, overlap)
    chosen, _ = _plan_items(ws, name, items)
    chosen_set = set(chosen)
    if sample is not None:
        picked = {str(i) for i in sample}
        outside = sorted(picked - chosen_set)
        if outside:
            raise InputError(
                f"{len(outside)} sample item(s) are not among the items to label, e.g. "
                f"{', '.join(outside[:5])}; draw the sample from them (or give items=)."
            )
        if per_item < 2:
            raise InputError("an agreement sample needs per_item >= 2.")
    else:
        n = int(round(float(overlap) * len(chosen)))
        n = max(n, 1) if overlap > 0 and chosen else n
        rng = np.random.default_rng(seed + 1)
        picked = {chosen[i] for i in rng.choice(len(chosen), size=n, replace=False)}
    frame = _assign(chosen, picked, names, int(per_item), seed)
    frame["suggestion"] = _suggestions(ws, name, frame, prefill)
    settings = {
        "labelers": names,
        "per_item": int(per_item),
        "overlap": float(overlap),
        "seed": int(seed),
        "prefill": prefill is not None,
    }
    number = store.create_project(ws, name, frame, settings, actor)
    return LabelingPlan(
        dataset=name,
        number=number,
        labelers=names,
        per_item=int(per_item),
        items=len(chosen),
        sample=len(picked),
        assignments={str(n): int(c) for n, c in frame["labeler"].value_counts().items()},
        prefill=prefill is not None,
    )


def _suggestions(
    ws: Workspace, name: str, frame: pd.DataFrame, prefill: Mapping[Any, Any] | None
) -> list[str | None]:
    """Encoded suggestions per assignment row; None in the agreement sample (blind)."""
    if prefill is None:
        return [None] * len(frame)
    ctx = store.read_context(ws, name)
    task = get_task(ctx.task_kind)
    by_text = {str(k): v for k, v in prefill.items()}
    cache: dict[Any, str | None] = {}
    out: list[str | None] = []
    for item, in_sample in zip(frame["item_id"], frame["in_sample"], strict=True):
        value = None if in_sample else by_text.get(item)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(None)
            continue
        key = repr(value)
        if key not in cache:
            cache[key] = task.encode_label(typed_label(ws, ctx, value, "prefill"))
        out.append(cache[key])
    return out


def next_item(ws: Workspace, name: str, labeler: str) -> LabelingTask | None:
    """The next item of ``labeler``'s own queue, or None when the queue is done.

    Blind: the task never carries another labeler's label; ``prefill`` is set only
    for items outside the agreement sample of a plan made with pre-annotation.

    Raises
    ------
    NotFoundError
        The dataset, or its labeling plan, does not exist.
    InputError
        ``labeler`` is not a labeler of the plan.
    """
    ctx, found = store.next_assignment(ws, name, labeler)
    if found is None:
        return None
    task = get_task(ctx.task_kind)
    return LabelingTask(
        dataset=name,
        labeler=labeler,
        item_id=found["item_id"],
        position=int(found["position"]),
        remaining=found["remaining"],
        total=found["total"],
        labelbook_version=ctx.book_number,
        prefill=task.decode_label(found["suggestion"]),
    )


def submit_label(
    ws: Workspace,
    name: str,
    labeler: str,
    item_id: Any,
    label: Any,
    *,
    unsure: bool = False,
    skip: bool = False,
    note: str | None = None,
    labelbook_version: int | None = None,
    expected_revision: int | None = None,
) -> SubmittedLabel:
    """Store ``labeler``'s label of ``item_id`` (audit-logged).

    Parameters
    ----------
    label : optional
        A class of the label book (else of the dataset's labels); typed as the
        dataset's labels. Ignored (may be None) with ``skip=True``.
    unsure : bool, default False
        The labeler is not sure; ``note`` says why.
    skip : bool, default False
        Skip the item (no label); it counts as done in the queue.
    labelbook_version : int, optional
        The label-book version the labeler followed; default the latest.
    expected_revision : int, optional
        To change a label already given: the revision being changed.

    Raises
    ------
    InputError
        A label outside the label book, the item not in the labeler's queue, a
        missing label.
    ConflictError
        The labeler already labeled the item (give ``expected_revision`` to change
        it), or the label changed since ``expected_revision``.
    """
    if not skip and (label is None or (isinstance(label, str) and not label.strip())):
        raise InputError(f"give the label of item {item_id}, or skip=True to skip it.")

    def make(ctx: store.Context) -> store.Submission:
        task = get_task(ctx.task_kind)
        typed = None if skip else typed_label(ws, ctx, label, "label", labelbook_version)
        return store.Submission(
            item_id=str(item_id),
            labeler=str(labeler),
            label=None if typed is None else task.encode_label(typed),
            unsure=bool(unsure),
            skipped=bool(skip),
            note=note,
            labelbook_version=labelbook_version,
            expected_revision=expected_revision,
            shown=typed,
        )

    sub, saved = store.save_label(ws, name, make)
    return SubmittedLabel(
        dataset=name,
        labeler=sub.labeler,
        item_id=sub.item_id,
        label=sub.shown,
        unsure=sub.unsure,
        skipped=sub.skipped,
        note=note,
        labelbook_version=saved["labelbook_version"],
        prefilled=saved["prefilled"],
        revision=saved["revision"],
    )


def submit_labels(
    ws: Workspace, name: str, rows: Sequence[Mapping[str, Any]]
) -> list[SubmittedLabel]:
    """Store a batch of labels all or nothing, in one transaction (each audit-logged).

    Parameters
    ----------
    rows : sequence of mapping
        Per label: ``item``, ``label``, ``labeler`` (each a first label of the item by
        the labeler; changes go through :func:`submit_label` with a revision).

    Raises
    ------
    InputError
        The first bad row, as ``row N, column 'C': why`` (a missing item or label, a
        label outside the label book, a labeler the plan does not name, an item
        outside the labeler's queue or labeled already); nothing is written.
    """
    makes = []
    for number, row in enumerate(rows, start=1):
        for column in ("item", "labeler", "label"):
            value = row.get(column)
            if (
                value is None
                or (isinstance(value, float) and np.isnan(value))
                or (isinstance(value, str) and not value.strip())
            ):
                raise store.RowError.at(number, column, f"the {column} is missing; give one.")
        makes.append((str(row["labeler"]), _maker(ws, row)))
    saved = store.save_labels(ws, name, makes)
    task = get_task(store.read_context(ws, name).task_kind)
    return [
        SubmittedLabel(
            dataset=name,
            labeler=r["labeler"],
            item_id=r["item_id"],
            label=task.decode_label(r["label"]),
            unsure=r["unsure"],
            skipped=r["skipped"],
            note=r["note"],
            labelbook_version=r["labelbook_version"],
            prefilled=r["prefilled"],
            revision=r["revision"],
        )
        for r in saved
    ]


def _maker(ws: Workspace, row: Mapping[str, Any]) -> Any:
    """The function that checks ``row``'s label against the context and builds it."""

    def make(ctx: store.Context) -> store.Submission:
        typed = typed_label(ws, ctx, row["label"], "label")
        return store.Submission(
            item_id=str(row["item"]),
            labeler=str(row["labeler"]),
            label=get_task(ctx.task_kind).encode_label(typed),
            unsure=False,
            skipped=False,
            note=None,
            labelbook_version=None,
            expected_revision=None,
            shown=typed,
        )

    return make


def labeling_status(
    ws: Workspace, name: str, *, labels: pd.DataFrame | None = None
) -> LabelingStatus:
    """Progress of dataset ``name``'s labeling plan: per labeler, per class, overlap.

    ``labels``: the labels read by :func:`read_labels` (shared with
    :func:`live_agreement`); default: read them.
    """
    counts = store.queue_counts(ws, name)
    number = counts["project"]
    labels = read_labels(ws, name) if labels is None else labels
    adjudicated = results.adjudication_rows(ws, name)
    task = get_task(store.read_context(ws, name).task_kind)
    given = labels[~labels["skipped"].astype(bool) & labels["label"].notna()]
    per: dict[str, dict[str, int]] = {n: {} for n in counts["labelers"]}
    for labeler, status, n in counts["counts"]:
        per.setdefault(labeler, {})[status] = n
    unsure = given[given["unsure"].astype(bool)].groupby("labeler").size()
    progress = [
        LabelerProgress(
            labeler=n,
            assigned=sum(per[n].values()),
            done=per[n].get("done", 0),
            skipped=per[n].get("skipped", 0),
            unsure=int(unsure.get(n, 0)),
        )
        for n in per
    ]
    classes = {task.decode_label(str(k)): int(v) for k, v in given["label"].value_counts().items()}
    sample = given[given["in_sample"].astype(bool)]
    per_item_done = labels[labels["in_sample"].astype(bool)].groupby("item").size()
    distinct = given.groupby("item")["label"].nunique()
    return LabelingStatus(
        dataset=name,
        number=number,
        labelers=progress,
        classes=classes,
        items=sum(counts["items"].values()),
        labeled_items=int(given["item"].nunique()),
        sample_items=counts["items"].get(True, 0),
        sample_complete=int((per_item_done >= counts["per_item"]).sum()),
        disagreed=int((distinct > 1).sum()),
        adjudicated=len(adjudicated),
        per_item=counts["per_item"],
        prefill=counts["prefill"],
        extra={"sample_labels": len(sample)},
    )
