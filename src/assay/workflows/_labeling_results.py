"""What labeling produces: live agreement, the adjudication queue, applied versions.

:func:`live_agreement` runs the dataset task's agreement engine (the same report as
``assay agree``: per class, per labeler pair, with intervals; per label-book version)
on the items labeled by two or more labelers, and lists the disagreed items;
:func:`adjudication_queue` gives the disagreed items not yet decided with every label;
:func:`adjudicate` records a decision; :func:`apply_labels` writes a new dataset version
whose items carry their labels. The provenance of each applied label (who labeled it,
under which label-book version, how it was decided) is stored in the side table
``label_provenance``, one row per labeled item of the new version.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from assay.exceptions import InputError
from assay.store import labeling as store
from assay.store import labeling_results as results
from assay.store.streamed import changed_version, column_parts
from assay.store.workspace import Workspace
from assay.tasks import get_task
from assay.workflows.agreement import LabelbookAgreement, agreement_by_labelbook, records

__all__ = [
    "Adjudication",
    "AdjudicationItem",
    "AppliedLabels",
    "LiveAgreement",
    "adjudicate",
    "adjudication_queue",
    "apply_labels",
    "label_provenance",
    "LabelsStamp",
    "labels_stamp",
    "live_agreement",
    "read_labels",
    "typed_label",
]

#: Consensus methods of :func:`apply_labels`.
METHODS = ("majority", "dawid-skene")


def typed_label(
    ws: Workspace, ctx: store.Context, value: Any, what: str, book: int | None = None
) -> Any:
    """``value`` as a label of the dataset's type, checked against the label book
    (version ``book``, default the latest) or else the dataset's label list.

    Raises
    ------
    InputError
        Not a label of the dataset's kind, or a class outside the label book.
    """
    task = get_task(ctx.task_kind)
    typed = task.coerce_label(value, _label_type(ws, ctx.object_hash, ctx.label_column))
    if book is not None:
        classes = list(ws.labelbook.get(ctx.dataset, book).classes) or None
        source = f"{ctx.dataset}'s label book v{book}"
    elif ctx.book_classes:
        classes, source = ctx.book_classes, f"{ctx.dataset}'s label book"
    else:
        classes, source = ctx.label_names, f"dataset {ctx.dataset!r}'s label list"
    if classes is None:
        return typed
    unknown = task.unknown_names(typed, set(classes))
    if unknown:
        shown = ", ".join(sorted(classes, key=lambda v: (len(v), v))[:20])
        raise InputError(
            f"{what} {', '.join(map(repr, unknown))} is not a class of {source} ({shown}); "
            f"give one of them, or add the class first (`assay labelbook edit {ctx.dataset}`)."
        )
    return typed


_LABEL_TYPES: dict[tuple[str, str], pa.DataType] = {}


def _label_type(ws: Workspace, digest: str, column: str) -> pa.DataType:
    """The Arrow type of a version's label column, read once per object (immutable)."""
    key = (digest, column)
    if key not in _LABEL_TYPES:
        _LABEL_TYPES[key] = ws.objects.schema(digest).field(column).type
    return _LABEL_TYPES[key]


@dataclass(frozen=True)
class LiveAgreement:
    """Agreement of the labels given so far, on items with two or more labels.

    Attributes
    ----------
    report : AgreementReport or None
        The task's agreement report (per class, per labeler pair, intervals); None
        until an item has labels from two labelers.
    revise : DataFrame
        The classes to revise first (``report.to_revise()``).
    by_labelbook : LabelbookAgreement or None
        One report per label-book version the labels followed (None: fewer than one
        version with overlapping labels, or ``by_labelbook=False``).
    disagreed : DataFrame
        ``item``, ``labels`` (labeler -> label), ``adjudicated`` (label or None).
    n_items, n_labels : int
        Items with two or more labels, and their labels.
    """

    dataset: str
    report: Any
    revise: pd.DataFrame
    by_labelbook: LabelbookAgreement | None
    disagreed: pd.DataFrame
    n_items: int
    n_labels: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the report's statistics, classes to revise, per label-book
        version, and the disagreed items."""
        return {
            "dataset": self.dataset,
            "n_items": self.n_items,
            "n_labels": self.n_labels,
            "report": None if self.report is None else self.report.to_dict(),
            "revise": records(self.revise) if not self.revise.empty else [],
            "by_labelbook": None if self.by_labelbook is None else self.by_labelbook.per_version(),
            "disagreed": self.disagreed.to_dict("records"),
        }


def read_labels(ws: Workspace, name: str) -> pd.DataFrame:
    """Every label of dataset ``name``'s plan in one read, for :func:`live_agreement` and
    :func:`~assay.workflows.labeling.labeling_status` to share (their ``labels=``):
    ``item``, ``labeler``, ``label`` (encoded), ``unsure``, ``skipped``, ``note``,
    ``labelbook_version``, ``in_sample``."""
    return store.labels_frame(ws, name, lean=True)[1]


@dataclass(frozen=True)
class LabelsStamp:
    """What the labels of a plan look like from outside: equal stamps, same labels
    (a poll with nothing new can skip computing agreement again)."""

    plan: int | None
    labels: int
    revisions: int
    adjudications: int
    adjudication_revisions: int
    labelbook: int | None


def labels_stamp(ws: Workspace, name: str) -> LabelsStamp:
    """A cheap read (counts and sums) that changes whenever a label or adjudication of
    dataset ``name``'s plan is added or changed, or the label book gets a version."""
    return LabelsStamp(*store.stamp(ws, name))


def _given(
    ws: Workspace, name: str, labels: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, Any]:
    """The labels given (not skipped), decoded, as ``item``, ``annotator``, ``label``,
    ``encoded``, ``labelbook_version``, ``unsure``, ``note``; and the task."""
    frame = read_labels(ws, name) if labels is None else labels
    task = get_task(store.read_context(ws, name).task_kind)
    given = frame[~frame["skipped"].astype(bool) & frame["label"].notna()]
    given = given.drop(columns=["skipped"])
    decoded = {text: task.decode_label(text) for text in given["label"].unique()}
    given = given.assign(encoded=given["label"], label=given["label"].map(decoded))
    return given.rename(columns={"labeler": "annotator"}), task


def _engine_kwargs(engine: Any, **options: Any) -> dict[str, Any]:
    accepted = inspect.signature(engine).parameters
    return {k: v for k, v in options.items() if k in accepted}


def _disagreed(given: pd.DataFrame, adjudicated: pd.DataFrame, task: Any) -> pd.DataFrame:
    decided = dict(zip(adjudicated["item"], adjudicated["label"], strict=True))
    differ = given.groupby("item")["encoded"].transform("nunique").to_numpy() > 1
    rows = given[differ].sort_values(["item", "annotator"])
    labels: dict[str, dict[str, Any]] = {}
    columns = (rows["item"].tolist(), rows["annotator"].tolist(), rows["label"].tolist())
    for item, who, label in zip(*columns, strict=True):
        labels.setdefault(item, {})[who] = label
    decoded = {item: task.decode_label(label) for item, label in decided.items()}
    records = [
        {"item": item, "labels": shown, "adjudicated": decoded.get(item)}
        for item, shown in labels.items()
    ]
    return pd.DataFrame(records, columns=["item", "labels", "adjudicated"])


def live_agreement(
    ws: Workspace,
    name: str,
    *,
    by_labelbook: bool = True,
    ci: bool = True,
    n_boot: int = 200,
    labels: pd.DataFrame | None = None,
) -> LiveAgreement:
    """Agreement of dataset ``name``'s labels so far, and the disagreed items.

    Parameters
    ----------
    by_labelbook : bool, default True
        Also one report per label-book version the labels followed.
    ci : bool, default True
        95% intervals: for classes by the delta method (an analytic standard error,
        no resampling; within 6% of the interval's width of the 1,000-resample
        bootstrap's on crowd data, see ``assay.agreement(ci_method="delta")``), for
        other labels by the bootstrap (``n_boot`` resamples of the items).
    labels : DataFrame, optional
        The labels read by :func:`read_labels` (default: read them).
    """
    given, task = _given(ws, name, labels)
    shared = given[given.groupby("item")["annotator"].transform("nunique").to_numpy() >= 2]
    frame = shared[["item", "annotator", "label", "labelbook_version"]]
    report, revise, per_book = None, pd.DataFrame(), None
    if not frame.empty:
        engine = task.agreement
        options = _engine_kwargs(
            engine, allow_new=True, ci=ci, n_boot=n_boot, max_disagreements=100, ci_method="delta"
        )
        report = engine(frame.drop(columns=["labelbook_version"]), **options)
        revise = report.to_revise(k=5)
        books = frame["labelbook_version"].dropna().unique()
        if by_labelbook and len(books) == 1 and frame["labelbook_version"].notna().all():
            per_book = LabelbookAgreement({int(books[0]): report})
        elif by_labelbook and len(books) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                per_book = agreement_by_labelbook(frame)
    adjudicated = results.adjudication_rows(ws, name)
    return LiveAgreement(
        dataset=name,
        report=report,
        revise=revise,
        by_labelbook=per_book,
        disagreed=_disagreed(given, adjudicated, task),
        n_items=int(shared["item"].nunique()),
        n_labels=len(shared),
    )


@dataclass(frozen=True)
class AdjudicationItem:
    """A disagreed item: every label given (``labeler``, ``label``, ``unsure``,
    ``note``, ``labelbook_version``), and the adjudicated label if decided."""

    item_id: str
    labels: list[dict[str, Any]]
    adjudicated: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The item as JSON-ready values."""
        return dict(self.__dict__)


def adjudication_queue(
    ws: Workspace, name: str, *, include_decided: bool = False
) -> list[AdjudicationItem]:
    """The disagreed items of dataset ``name`` still to adjudicate (with
    ``include_decided``, the decided ones too), in item order."""
    given, task = _given(ws, name)
    decided = results.adjudication_rows(ws, name)
    done = dict(zip(decided["item"], decided["label"], strict=True))
    distinct = given.groupby("item")["encoded"].nunique()
    out = []
    for item in distinct.index[distinct > 1]:
        if item in done and not include_decided:
            continue
        rows = given[given["item"] == item]
        labels = [
            {
                "labeler": r.annotator,
                "label": r.label,
                "unsure": bool(r.unsure),
                "note": r.note,
                "labelbook_version": _int(r.labelbook_version),
            }
            for r in rows.itertuples(index=False)
        ]
        out.append(AdjudicationItem(str(item), labels, task.decode_label(done.get(item))))
    return out


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


@dataclass(frozen=True)
class Adjudication:
    """A stored adjudication; ``revision`` counts changes of it."""

    dataset: str
    item_id: str
    label: Any
    actor: str
    labelbook_version: int | None
    revision: int

    def to_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready values."""
        return dict(self.__dict__)


def adjudicate(ws: Workspace, name: str, item_id: Any, label: Any, *, actor: str) -> Adjudication:
    """Decide the label of a labeled item of dataset ``name`` (audit-logged); a later
    decision on the same item replaces it.

    Raises
    ------
    InputError
        A label outside the label book; an item without labels in the plan.
    """
    ctx = store.read_context(ws, name)
    typed = typed_label(ws, ctx, label, "label")
    saved = results.save_adjudication(
        ws, name, str(item_id), get_task(ctx.task_kind).encode_label(typed) or "", actor, typed
    )
    return Adjudication(
        name, str(item_id), typed, actor, saved["labelbook_version"], saved["revision"]
    )


@dataclass(frozen=True)
class AppliedLabels:
    """A version made from the labels, and how each label was decided.

    Attributes
    ----------
    version : str
        ``NAME@vN``.
    labeled : int
        Items that got a label.
    methods : dict of str -> int
        Items per way of deciding: ``single``, ``unanimous``, ``majority``,
        ``dawid-skene``, ``adjudicated``.
    unresolved : list of str
        Items whose labels disagree with no majority and no adjudication: left as
        they were.
    provenance : str
        Where the per-item provenance is stored (the ``label_provenance`` table).
    """

    version: str
    labeled: int
    methods: dict[str, int]
    unresolved: list[str]
    provenance: str = "label_provenance"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready values."""
        return dict(self.__dict__)


def _decide(
    given: pd.DataFrame, adjudicated: pd.DataFrame, task: Any, method: str
) -> tuple[dict[str, tuple[str, str, str | None]], list[str]]:
    """item -> (encoded label, method, adjudicator), and the unresolved items."""
    decided: dict[str, tuple[str, str, str | None]] = {
        str(r.item): (str(r.label), "adjudicated", str(r.actor))
        for r in adjudicated.itertuples(index=False)
    }
    unresolved: list[str] = []
    contested: list[str] = []
    for key, group in given.groupby("item", sort=True):
        item = str(key)
        if item in decided:
            continue
        counts = group["encoded"].value_counts()
        top = str(counts.index[0])
        if len(counts) == 1:
            decided[item] = (top, "single" if len(group) == 1 else "unanimous", None)
        elif method == "majority" and counts.iloc[0] > counts.iloc[1]:
            decided[item] = (top, "majority", None)
        elif method == "majority":
            unresolved.append(item)
        else:
            contested.append(item)
    if contested:
        result = task.consensus(given[["item", "annotator", "label"]], method="dawid_skene")
        labels = result.labels["label"]
        for item in contested:
            decided[item] = (str(task.encode_label(labels.loc[item])), "dawid-skene", None)
    return decided, unresolved


def apply_labels(
    ws: Workspace, name: str, *, actor: str, message: str, method: str = "majority"
) -> AppliedLabels:
    """Write the labels of dataset ``name``'s plan into a new version of it.

    An item's label is the adjudicated one, else the one its labelers agree on, else
    the majority (``method="majority"``; a tie stays unresolved) or the Dawid-Skene
    estimate (``method="dawid-skene"``, from every labeler's confusions). Items
    without a label keep theirs. Per item, the labelers, the label-book version
    (the newest their labels followed) and the method are stored in the
    ``label_provenance`` table, in the version's transaction.

    Raises
    ------
    InputError
        An unknown method, or no label to apply.
    """
    if method not in METHODS and method != "dawid_skene":
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    method = "dawid-skene" if method == "dawid_skene" else method
    given, task = _given(ws, name)
    adjudicated = results.adjudication_rows(ws, name)
    decided, unresolved = _decide(given, adjudicated, task, method)
    if not decided:
        raise InputError(
            f"{name} has no labels to apply yet; label items first (`assay label submit`)."
        )
    base = ws.dataset(name)
    labels = {k: task.decode_label(v[0]) for k, v in decided.items()}
    id_col, label_col = base.roles.id, base.roles.label

    def relabel(frame: pd.DataFrame) -> pd.DataFrame:
        new = frame[id_col].astype(str).map(labels)
        changed = new.notna().to_numpy()
        column = frame[label_col].astype(object)
        column[changed] = new[changed]
        frame[label_col] = column
        return frame

    labeled = sum(int(ids.astype(str).isin(labels.keys()).sum())
                  for ids in column_parts(base, id_col))
    hook = results.provenance_hook(ws, name, _provenance(given, decided), actor)
    version = ws.commit(
        name,
        changed_version(ws, base, relabel),  # part by part for a version in parts
        message=message,
        author=actor,
        on_commit=hook,
        provenance={
            "labeling": {
                "method": method,
                "labeled": labeled,
                "provenance_table": "label_provenance",
            }
        },
    )
    methods = pd.Series([v[1] for v in decided.values()]).value_counts()
    return AppliedLabels(
        version=version.ref,
        labeled=labeled,
        methods={str(k): int(v) for k, v in methods.items()},
        unresolved=unresolved,
    )


def _provenance(
    given: pd.DataFrame, decided: dict[str, tuple[str, str, str | None]]
) -> list[dict[str, Any]]:
    books = given.groupby("item")["labelbook_version"].max()
    who = given.groupby("item")["annotator"].agg(lambda s: sorted(set(s)))
    return [
        {
            "item_id": str(item),
            "labelers": who.get(item, []),
            "method": how,
            "labelbook_version": _int(books.get(item)),
            "adjudicated_by": by,
        }
        for item, (_, how, by) in decided.items()
    ]


def label_provenance(ws: Workspace, ref: str) -> pd.DataFrame:
    """The provenance of the labels applied in version ``ref`` (``NAME@vN``): ``item``,
    ``labelers``, ``labelbook_version``, ``method``, ``adjudicated_by``.

    Raises
    ------
    NotFoundError
        The version does not exist.
    """
    return results.provenance_of(ws, ws.dataset(ref).id)
