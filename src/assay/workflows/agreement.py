"""Labeler consistency: import annotations under a label book, measure agreement.

Each use case takes a workspace (or annotations) and typed parameters and returns a
dataclass; messages name parameters the way the library does (``allow_new=True``,
``labelbook_version=N``), which the faces translate into their own wording.
"""

from __future__ import annotations

import html
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import whole_text
from assay.collect import (
    AgreementReport,
    agreement_by,
    compare_classes,
    convention_report,
    read_annotations,
    transcript_agreement,
)
from assay.collect._sets import is_set_column
from assay.collect.annotations import ANNOTATION_COLUMNS, rename_aliases
from assay.exceptions import InputError, NotFoundError
from assay.report.pages import write_page
from assay.store.datasets import dataset_task
from assay.store.workspace import Workspace
from assay.tasks import Task, get_task
from assay.tasks.multilabel import as_label_set
from assay.workflows._box_annotations import (
    box_classes,
    is_box_table,
    read_box_annotations,
    read_box_table,
)

__all__ = [
    "AgreementOutcome",
    "AgreementSource",
    "AnnotationBatch",
    "LabelbookAgreement",
    "NoAnnotationsError",
    "TextAgreement",
    "agreement_by_labelbook",
    "check_labelbook",
    "followed_versions",
    "import_annotations",
    "labelbook_classes",
    "load_for_agreement",
    "measure_agreement",
    "normalising_book",
    "records",
    "split_label_sets",
    "text_agreement",
    "typed_classes",
]


class NoAnnotationsError(InputError):
    """A dataset without stored annotations; ``dataset`` names it."""

    def __init__(self, dataset: str) -> None:
        super().__init__(
            f"dataset {dataset!r} has no annotations; add some with "
            f"Workspace.annotations.add({dataset!r}, FRAME)."
        )
        self.dataset = dataset


@dataclass(frozen=True)
class AnnotationBatch:
    """One stored batch of annotations."""

    dataset: str
    batch: int
    annotations: int
    items: int
    annotators: int

    def to_dict(self) -> dict[str, Any]:
        """The batch as JSON-ready values."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class AgreementSource:
    """Annotations to measure, and the workspace and dataset they came from (if any)."""

    frame: pd.DataFrame
    ws: Workspace | None = None
    dataset: str | None = None
    kind: str | None = None

    @property
    def task(self) -> Task:
        """The dataset's task; for a file with no dataset, the task of ``kind`` (a box
        table: detection), else the default task."""
        if self.dataset is None or self.ws is None:
            return get_task(self.kind)
        return dataset_task(self.dataset, self.ws)


@dataclass(frozen=True)
class AgreementOutcome:
    """Agreement of one set of annotations, and what to revise first (the classes, labels
    or annotators that the report's ``to_revise`` ranks first)."""

    report: Any
    revise: pd.DataFrame
    report_path: Path

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON with the classes to revise."""
        return {**self.report.to_dict(), "revise": records(self.revise)}


@dataclass(frozen=True)
class LabelbookAgreement:
    """Agreement per label-book version: alpha and per-class agreement of each."""

    reports: dict[int, AgreementReport]

    def per_version(self) -> dict[str, dict[str, Any]]:
        """``{"v1": {"alpha": ..., "per_class": {...}}, ...}``."""
        return {
            f"v{v}": {"alpha": r.krippendorff_alpha, "per_class": r.per_class["agreement"].to_dict()}
            for v, r in self.reports.items()
        }

    def classes(self) -> pd.DataFrame:
        """Agreement per class (rows) and version (columns), with the change."""
        return compare_classes({f"v{v}": r for v, r in self.reports.items()})

    @property
    def alphas(self) -> list[float]:
        """Krippendorff's alpha of each version, oldest first."""
        return [float(r.krippendorff_alpha) for r in self.reports.values()]


@dataclass(frozen=True)
class TextAgreement:
    """Agreement of free-text labels (transcriptions) and their conventions."""

    result: Any
    conventions: Any

    def to_dict(self) -> dict[str, Any]:
        """Both reports as JSON-ready values."""
        return {"agreement": self.result.to_dict(), "conventions": self.conventions.to_dict()}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` (index included) as JSON-ready records."""
    out = frame.reset_index()
    return json.loads(out.to_json(orient="records", default_handler=str))


def labelbook_classes(ws: Workspace | None, dataset: str | None) -> list[str] | None:
    """The classes of the dataset's latest label book; None without one."""
    if ws is None or dataset is None:
        return None
    try:
        return list(ws.labelbook.get(dataset).classes)
    except NotFoundError:
        return None


def typed_classes(classes: list[str] | None, labels: pd.Series) -> list[Any] | None:
    """Label-book class names are text; match them to the labels' type."""
    if classes is None:
        return None
    if pd.api.types.is_integer_dtype(labels) and all(c.lstrip("-").isdigit() for c in classes):
        return [int(c) for c in classes]
    return classes


def _class_name(label: Any) -> str:
    """A label as the label book names classes: text, ``3`` for 3 and 3.0."""
    return whole_text(label)


def followed_versions(frame: pd.DataFrame, default: int | None) -> pd.Series:
    """The label-book version each annotation followed (-1: not said, the latest)."""
    stated = (
        pd.to_numeric(frame["labelbook_version"], errors="coerce")
        if "labelbook_version" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    if default is not None:
        stated = stated.fillna(default)
    return stated.fillna(-1).astype(np.int64)


def check_labelbook(
    ws: Workspace, dataset: str, frame: pd.DataFrame, default: int | None, where: str,
    hint: str,
) -> None:
    """Refuse labels outside the label-book version each annotation was labelled under.

    A row's ``labelbook_version`` decides, else ``default``, else the latest version;
    without a label book nothing is checked.

    Raises
    ------
    InputError
        ``where``, the labels and the version, then ``hint`` (how to fix it).
    """
    for number, rows in frame.groupby(followed_versions(frame, default), sort=True):
        try:
            book = ws.labelbook.get(dataset, None if number < 0 else int(number))
        except NotFoundError:
            if number < 0:
                return  # no label book at all
            raise
        if not book.classes:
            continue  # a label book without classes (numeric labels) names none
        labels = rows["label"]
        boxes = box_classes(labels)  # a list of boxes names a class per box
        if boxes is not None:
            labels = boxes
        elif is_set_column(labels):  # a label set names several classes
            labels = labels.map(lambda v: list(as_label_set(v) or ())).explode().dropna()
        names = labels.map(_class_name)
        outside = ~names.isin(book.classes)
        bad = rows.loc[names.index[outside].unique()]
        if bad.empty:
            continue
        unknown = sorted(set(names[outside]))
        followed = "the latest version" if number < 0 else "the version they followed"
        batches = sorted(set(bad["batch"])) if "batch" in bad.columns else []
        which = f" (batch {', '.join(map(str, batches))})" if batches else ""
        raise InputError(
            f"{where}: {len(bad)} annotation(s){which} have labels outside the classes of "
            f"{dataset}'s label book v{book.number} ({followed}): "
            f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}; {hint}"
        )


def _item_source(file: Path, item_key: str | None) -> str:
    if file.suffix.lower() != ".json":
        return f"column {item_key or 'item'!r}"
    if item_key is not None:
        return f"data[{item_key!r}]; check item_key"
    return "data['item'], else the task ids; pass item_key=KEY for another data key"


def import_annotations(
    ws: Workspace,
    name: str,
    file: Path,
    *,
    labelbook_version: int | None = None,
    allow_new: bool = False,
    item_key: str | None = None,
    from_name: str | None = None,
    names: Sequence[str] | None = None,
    annotators: Path | None = None,
) -> AnnotationBatch:
    """Read an annotation file and store it as the next batch of dataset ``name``.

    Labels are checked against the label-book version the annotators followed
    (``labelbook_version``, or a ``labelbook_version`` column; else the latest)
    unless ``allow_new``. ``names`` names the columns of a file without a header row;
    ``from_name`` the Label Studio control (or the table's label column) to read;
    ``annotators`` maps annotator ids to names (:func:`assay.collect.read_annotations`).
    """
    if labelbook_version is not None:
        ws.labelbook.get(name, labelbook_version)  # NotFoundError when it does not exist
    detection = dataset_task(name, ws).kind == "detection"
    if detection and file.suffix.lower() == ".json":
        frame = read_box_annotations(file, ws.dataset(name))
    elif detection and is_box_table(file):
        frame = read_box_table(file, ws.dataset(name))
    else:
        frame = read_annotations(file, item_key=item_key, from_name=from_name, names=names,
                                 annotators=annotators)
    if not allow_new:
        check_labelbook(
            ws, name, frame, labelbook_version, file.name,
            "fix the labels; if the annotators followed another label-book version, give it "
            "with labelbook_version=N; or pass allow_new=True.",
        )
    where = f"{file} (item ids from {_item_source(file, item_key)})"
    batch = ws.annotations.add(name, frame, labelbook_version=labelbook_version, where=where)
    return AnnotationBatch(
        dataset=name,
        batch=batch,
        annotations=len(frame),
        items=int(frame["item"].nunique()),
        annotators=int(frame["annotator"].nunique()),
    )


def stored_annotations(ws: Workspace, name: str) -> pd.DataFrame:
    """The annotations stored for dataset ``name``; :class:`NoAnnotationsError` if none."""
    frame = ws.annotations.load(name)
    if frame.empty:
        raise NoAnnotationsError(name)
    return frame


def split_label_sets(frame: pd.DataFrame, separator: str) -> pd.DataFrame:
    """Text labels such as ``"a|b"`` as label sets (``["a", "b"]``; blank: no label)."""
    def split(value: Any) -> list[str]:
        return [p.strip() for p in str(value).split(separator) if p.strip()]

    return frame.assign(label=frame["label"].map(split))


def load_for_agreement(
    source: str, open_workspace: Callable[[], Workspace], allow_new: bool,
    label_sep: str | None = None, names: Sequence[str] | None = None,
    from_name: str | None = None, annotators: Path | None = None,
    item_key: str | None = None,
) -> AgreementSource:
    """The annotations of a file, or those stored for a dataset named ``source``.

    The workspace is opened (``open_workspace()``) only for a dataset name; stored
    annotations are checked against the label book unless ``allow_new``. With
    ``label_sep``, a file's text labels are label sets joined by that separator;
    ``names`` names the columns of a file without a header row, ``item_key`` where its
    item ids are, ``from_name`` the Label Studio control (or the label column) and
    ``annotators`` maps annotator ids to names.
    """
    path = Path(source)
    if path.is_dir():
        refuse_folder_options(path, label_sep=label_sep, names=names, item_key=item_key,
                              from_name=from_name, annotators=annotators)
        return AgreementSource(read_annotation_folder(path))
    if path.is_file() and is_box_table(path):
        given = [k for k, v in (("item_key", item_key), ("from_name", from_name),
                                ("annotators", annotators)) if v is not None]
        if given:
            raise InputError(f"{given[0]}= reads Label Studio or wide annotation files, and "
                             f"{path} is a box table (one row per box); leave it out.")
        return AgreementSource(read_box_table(path), kind="detection")
    if path.is_file():
        frame = read_annotations(path, allow_new=True, names=names, from_name=from_name,
                                 annotators=annotators, item_key=item_key)
        return AgreementSource(frame if label_sep is None else split_label_sets(frame, label_sep))
    if path.suffix and not path.exists():
        raise InputError(f"{path} does not exist; give an annotation file or a dataset name.")
    refuse_file_options(source, item_key=item_key, from_name=from_name,
                        annotators=annotators)
    ws = open_workspace()
    frame = stored_annotations(ws, source)
    if not allow_new:
        check_labelbook(
            ws, source, frame, None, f"the annotations of {source}",
            "add the classes to the label book, or pass allow_new=True to measure agreement "
            "anyway.",
        )
    return AgreementSource(frame, ws, source)


#: The options that say how to read an annotation file (refused for a dataset).
FILE_OPTIONS = ("item_key", "from_name", "annotators")


def read_annotation_folder(folder: Path) -> Any:
    """A folder of Parquet files of annotations as one lazy Dask DataFrame.

    Parameters
    ----------
    folder : Path
        Parquet files (searched recursively) with the columns ``item``, ``annotator``
        and ``label`` (or crowd-kit's ``task``, ``worker``, ``label``): a table larger
        than memory, read partition by partition by Dask.

    Returns
    -------
    dask.dataframe.DataFrame of shape (n_annotations, 3)

    Raises
    ------
    InputError
        Without Dask, without Parquet files, or without those columns.
    """
    from assay._dask import read_parquet_folder

    frame = rename_aliases(read_parquet_folder(folder))
    missing = [c for c in ANNOTATION_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"the Parquet files of {folder} have no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(map(str, frame.columns))}); a folder of annotations needs "
            "item, annotator, label (or task, worker, label)."
        )
    return frame[list(ANNOTATION_COLUMNS)]


def refuse_folder_options(folder: Path, **options: Any) -> None:
    """Refuse the options that read one annotation file when ``folder`` is a folder."""
    given = [k for k, v in options.items() if v is not None]
    if given:
        raise InputError(
            f"{given[0]}= reads one annotation file, and {folder} is a folder of Parquet "
            "files (columns item, annotator, label); leave it out."
        )


def refuse_file_options(source: str, **options: Any) -> None:
    """Refuse options that read a file (:data:`FILE_OPTIONS`) for a dataset."""
    given = [k for k, v in options.items() if v is not None]
    if given:
        raise InputError(
            f"{given[0]}= reads an annotation file, and {source!r} is a dataset: its "
            "annotations were read when imported; leave it out (or give the file)."
        )


def _engine_options(engine: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """The options ``engine`` takes; a level it does not take is refused."""
    accepted = inspect.signature(engine).parameters
    if options.get("level") is not None and "level" not in accepted:
        raise InputError(
            f"level={options['level']!r} does not apply to these labels (label sets are "
            "measured with the MASI distance); leave out the level."
        )
    return {k: v for k, v in options.items() if k in accepted and v is not None}


def measure_agreement(
    source: AgreementSource, *, level: str | None = None, report: Path, title: str,
    labelbook: int | None = None,
) -> AgreementOutcome:
    """Agreement of ``source`` at ``level``; the report is written to ``report``.

    The source's task supplies the agreement engine (:attr:`assay.tasks.Task.agreement`;
    for a file, :func:`assay.collect.agreement` reads the kind from the labels), and
    ``level`` defaults to that engine's. For ``level="ordinal"`` the classes are
    ordered as the dataset's latest label book lists them. An engine that takes a
    ``labelbook`` (transcripts) gets the label-book version ``labelbook`` (default: the
    latest, when it has a ``normalisation`` section) and reports agreement before and
    after its normalisation; one that takes ``tags`` gets each item's tags
    (``column=value``). Stored annotations record an ``agreement`` analysis.
    """
    order = None
    if level == "ordinal":
        order = typed_classes(labelbook_classes(source.ws, source.dataset), source.frame["label"])
    engine = source.task.agreement
    accepted = inspect.signature(engine).parameters
    if labelbook is not None and "labelbook" not in accepted:
        raise InputError(f"labelbook={labelbook} applies to transcripts (normalisation before "
                         "comparing texts); these labels have none: leave it out.")
    book = normalising_book(source, labelbook) if "labelbook" in accepted else None
    tags = _item_tags(source) if "tags" in accepted else None
    options = _engine_options(engine, {"level": level, "classes": order, "allow_new": True,
                                       "labelbook": book, "tags": tags})
    result = engine(source.frame.drop(columns=["batch", "time"], errors="ignore"), **options)
    revise = result.to_revise(k=5)
    write_page(report, title, result.to_html())
    outcome = AgreementOutcome(result, revise, report)
    if source.ws is not None and source.dataset is not None:
        source.ws.record_analysis(
            "agreement", outcome.to_dict(), dataset=source.dataset,
            params={"level": getattr(result, "level", level),
                    **({"labelbook": book.number} if book is not None else {})},
        )
    return outcome


def normalising_book(source: AgreementSource, version: int | None) -> Any:
    """The label-book version whose normalisation applies (None: compare as typed).

    Without ``version``, the latest version when it has a ``normalisation`` section.

    Raises
    ------
    InputError
        ``version`` given for a file, or a version without a normalisation section.
    """
    if source.ws is None or source.dataset is None:
        if version is not None:
            raise InputError(f"labelbook={version} reads a dataset's label book; give the "
                             "dataset name (its stored annotations) instead of a file.")
        return None
    try:
        book = source.ws.labelbook.get(source.dataset, version)
    except NotFoundError:
        if version is None:
            return None
        raise
    if not book.normalisation:
        if version is None:
            return None
        raise InputError(
            f"label book v{book.number} of {source.dataset!r} has no normalisation section; "
            "add one (fillers, apostrophes, case, punctuation, numbers: docs/labelbook.md)."
        )
    return book


def _item_tags(source: AgreementSource) -> pd.Series | None:
    """Each item's tags as ``column=value`` (a list per item id), None without tags."""
    if source.ws is None or source.dataset is None:
        return None
    version = source.ws.dataset(source.dataset)
    columns = list(version.roles.tags)
    if not columns:
        return None
    frame = version.to_pandas()
    values = [[f"{c}={v}" for c, v in zip(columns, row, strict=True) if pd.notna(v)]
              for row in frame[columns].itertuples(index=False)]
    return pd.Series(values, index=frame[version.roles.id].astype(str).to_numpy(), dtype=object)


def agreement_by_labelbook(frame: pd.DataFrame) -> LabelbookAgreement:
    """Agreement of the annotations of each label-book version, and per class."""
    if "labelbook_version" not in frame.columns or frame["labelbook_version"].isna().all():
        raise InputError(
            "no annotation says which label-book version it followed; import with "
            "labelbook_version=N."
        )
    rated = frame.dropna(subset=["labelbook_version"]).astype({"labelbook_version": int})
    reports = agreement_by(rated[["item", "annotator", "label", "labelbook_version"]], ci=False)
    return LabelbookAgreement(dict(reports))


def text_agreement(frame: pd.DataFrame, report: Path) -> TextAgreement:
    """Edit-distance agreement and conventions of free-text labels; report written."""
    texts = frame[["item", "annotator", "label"]].astype({"label": str})
    result = transcript_agreement(texts)
    conventions = convention_report(texts)
    write_page(
        report,
        "Transcription agreement",
        f"<pre>{html.escape(result.summary())}\n\n{html.escape(conventions.summary())}</pre>",
    )
    return TextAgreement(result, conventions)
