"""Double-labeling plans: a stratified sample of a dataset's items for a second labeler."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from assay._validation import check_columns, warn
from assay.collect import plan_sample
from assay.collect.sampling import label_config, media_urls, to_label_studio_tasks
from assay.exceptions import InputError, NotFoundError
from assay.store.datasets import DatasetVersion
from assay.store.features import text_columns
from assay.store.workspace import Workspace
from assay.tasks.detection import as_boxes

__all__ = ["LABEL_CONFIG", "SamplePlan", "plan_double_labeling", "review_suggestions"]

#: The labeling config written next to the Label Studio tasks.
LABEL_CONFIG = "label_config.xml"
#: The environment variable Label Studio reads its Local Files document root from.
DOCUMENT_ROOT_ENV = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"


@dataclass(frozen=True)
class SamplePlan:
    """The sample drawn from ``ref``, where it was written, and its expected precision."""

    ref: str
    n: int
    expected_ci_width: float
    by: list[str]
    out: Path
    label_studio: Path | None
    predictions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values."""
        config = self.label_studio.parent / LABEL_CONFIG if self.label_studio else None
        return {
            "n": self.n,
            "expected_ci_width": self.expected_ci_width,
            "by": self.by,
            "out": str(self.out),
            "label_studio": str(self.label_studio) if self.label_studio else None,
            "label_config": str(config) if config else None,
            "predictions": self.predictions,
        }


@dataclass(frozen=True)
class LabelStudioTasks:
    """Label Studio tasks and the labeling config that shows them."""

    tasks: list[dict[str, Any]]
    config: str


def review_suggestions(ws: Workspace, version: DatasetVersion) -> pd.DataFrame:
    """The open review-queue entries of ``version``'s dataset that suggest a label:
    ``item_id`` (text), ``suggested_label``, ``score`` (1 - the queue's score: how likely
    the given label is wrong) and ``source``; one per item, the most suspicious."""
    if version.task.kind not in ("classification", "multilabel"):
        raise InputError(
            f"predictions= pre-annotates Choices, and {version.ref} holds "
            f"{version.task.kind} labels; leave out predictions=.")
    entries = ws.review.list(version.name, status="open")
    entries = entries[entries["suggested_label"].notna()]
    if entries.empty:
        raise InputError(
            f"dataset {version.name!r} has no open review-queue entries with a suggested "
            f"label; run `assay audit {version.name}` first, or leave out predictions=."
        )
    entries = entries.drop_duplicates("item_id", keep="first")  # listed most suspicious first
    return pd.DataFrame({
        "item_id": entries["item_id"].astype(str).to_numpy(),
        "suggested_label": entries["suggested_label"].to_numpy(),
        "score": (1.0 - entries["score"].astype(float)).clip(0.0, 1.0).to_numpy(),
        "source": entries["source"].to_numpy(),
    })


def labeling_sample(ws: Workspace, name: str) -> set[str]:
    """The item ids in the agreement sample of dataset ``name``'s open labeling projects
    (``assay label plan``): blind there too, so never pre-annotated."""
    from sqlalchemy import select

    from assay.store import models as m

    query = (
        select(m.LabelingAssignment.item_id)
        .join(m.LabelingProject, m.LabelingAssignment.project_id == m.LabelingProject.id)
        .join(m.Dataset, m.LabelingProject.dataset_id == m.Dataset.id)
        .where(m.Dataset.name == name, m.LabelingProject.status == "open",
               m.LabelingAssignment.in_sample.is_(True))
        .distinct()
    )
    with ws.session(readonly=True) as s:
        return {str(i) for i in s.scalars(query)}


def _shown(version: DatasetVersion, frame: pd.DataFrame, image_url: str | None
           ) -> tuple[str, pd.DataFrame]:
    """How tasks show an item (``image``, ``audio``, ``text`` or ``tabular``) and the data
    columns, indexed as ``frame``."""
    media = version.roles.media
    if version.modality in ("image", "audio") and media and media in frame.columns:
        paths = frame[media].astype(str).tolist()
        if image_url is None:
            warn(f"the tasks carry {media} paths relative to {version.media_root}, which "
                 "Label Studio cannot show; pass image_url='local-files' or a base URL.")
            return version.modality, pd.DataFrame({version.modality: paths}, index=frame.index)
        root = os.environ.get(DOCUMENT_ROOT_ENV) if image_url == "local-files" else None
        urls = media_urls(paths, version.media_root or ".", image_url, root)
        return version.modality, pd.DataFrame({version.modality: urls}, index=frame.index)
    if image_url is not None:
        raise InputError(
            f"image_url applies to image and audio datasets; {version.ref} holds "
            f"{version.modality} items. Leave it out.", param="image_url")
    texts = text_columns(version, frame)
    if texts:
        return "text", pd.DataFrame({"text": frame[texts[0]]}, index=frame.index)
    roles = {version.roles.id, version.roles.label, version.roles.split, *version.roles.tags}
    return "tabular", frame[[c for c in frame.columns if c not in roles]]


def label_studio_tasks(
    version: DatasetVersion, frame: pd.DataFrame, sample: pd.DataFrame,
    image_url: str | None, suggested: pd.DataFrame | None,
) -> LabelStudioTasks:
    """Tasks for the ``sample`` rows of ``frame`` (never pre-annotated: blind) and, with
    ``suggested``, for its other items, pre-annotated with the suggestions."""
    ids = frame[version.roles.id]
    rows = frame.index.isin(sample.index)
    if suggested is not None:
        wanted = ids.astype(str).isin(set(suggested["item_id"])) & ~rows
        rows = rows | wanted.to_numpy()
    chosen = frame[rows]
    kind, shown = _shown(version, chosen, image_url)
    table = pd.concat([chosen[[version.roles.id]].rename(columns={version.roles.id: "item"}),
                       shown], axis=1)
    extra: dict[str, Any] = {}
    if suggested is not None:
        by_id = suggested.set_index("item_id")
        blind = labeling_sample(version.workspace, version.name)
        in_sample = chosen.index.isin(sample.index) | chosen[version.roles.id].astype(
            str).isin(blind).to_numpy()
        keys = chosen[version.roles.id].astype(str)
        table["_label"] = keys.map(by_id["suggested_label"]).where(~in_sample)
        table["_score"] = keys.map(by_id["score"]).where(~in_sample)
        extra = {"label_col": "_label", "score_col": "_score", "model_version": "assay audit"}
    to_name = kind if kind != "tabular" else "col_0"
    data_cols = [str(c) for c in shown.columns]
    tasks = to_label_studio_tasks(table, item_col="item", data_cols=data_cols,
                                  to_name=to_name, **extra)
    classes = _classes(version, frame)
    if version.task.kind == "detection":
        return LabelStudioTasks(tasks, _rectangles_config(classes))
    config = label_config(classes, modality=kind, data_cols=data_cols,
                          multiple=version.task.kind == "multilabel")
    return LabelStudioTasks(tasks, config)


def _rectangles_config(classes: list[Any]) -> str:
    """A Label Studio config to draw boxes of ``classes`` on ``$image``: its export is
    what ``assay annotations import`` reads for a detection dataset."""
    from xml.sax.saxutils import quoteattr

    labels = "\n".join(f"    <Label value={quoteattr(str(c))}/>" for c in classes)
    return ('<View>\n  <Image name="image" value="$image"/>\n'
            f'  <RectangleLabels name="label" toName="image">\n{labels}\n'
            "  </RectangleLabels>\n</View>\n")


def _classes(version: DatasetVersion, frame: pd.DataFrame) -> list[Any]:
    """The label book's classes, else the labels in the data (label sets: their names)."""
    try:
        book = version.workspace.labelbook.get(version.name)
        if book.classes:
            return list(book.classes)
    except NotFoundError:
        pass
    labels = frame[version.roles.label].dropna()
    if version.task.kind == "multilabel":
        labels = labels.explode().dropna()
    if version.task.kind == "detection":  # each label is a list of boxes
        labels = pd.Series([b["label"] for v in labels for b in as_boxes(v) or ()], dtype=object)
    return sorted(set(labels.map(str)))


def plan_double_labeling(
    ws: Workspace,
    name: str,
    *,
    out: Path,
    n: int | None = None,
    ci_width: float | None = None,
    by: list[str] | None = None,
    label_studio: Path | None = None,
    seed: int = 0,
    image_url: str | None = None,
    predictions: bool = False,
) -> SamplePlan:
    """Sample items of dataset ``name`` stratified by ``by`` (default: label and tags),
    sized by ``n`` or by ``ci_width`` (the target width of kappa's 95% interval);
    write them as CSV to ``out`` and, optionally, as Label Studio tasks.

    With ``label_studio``, a matching labeling config ``label_config.xml`` is written
    next to the tasks. ``image_url`` (``"local-files"`` or a base URL, see
    :func:`~assay.collect.sampling.media_urls`) turns the media paths of an image or
    audio dataset into URLs Label Studio can show. With ``predictions``, the open
    review-queue entries that carry a suggested label (the audit's label issues) are
    added as tasks pre-annotated with the suggestion, scored ``1 - score`` (how likely
    the given label is wrong); the sampled items and the agreement sample of an open
    labeling project (``assay label plan``) never carry a prediction (blind).
    """
    if (n is None) == (ci_width is None):
        raise InputError(
            "give the sample size as exactly one of n= (items) and ci_width= (the target "
            "width of kappa's 95% interval), e.g. n=200 or ci_width=0.2."
        )
    if label_studio is None and (image_url is not None or predictions):
        raise InputError(
            "image_url and predictions shape the Label Studio tasks; give "
            "label_studio=PATH too."
        )
    version = ws.dataset(name)
    frame = version.to_pandas()
    labeled = bool(frame[version.roles.label].notna().any())  # else all await labels
    boxes = version.task.kind == "detection"  # a label is a list of boxes: no strata
    if boxes and ci_width is not None:
        raise InputError(
            f"{version.ref} holds boxes: ci_width= sizes a sample for kappa on classes; "
            "give the number of images with n= instead."
        )
    columns = by or [*([version.roles.label] if labeled and not boxes else []),
                     *version.roles.tags]
    check_columns(frame, columns, where=f"{version.ref} (by)")
    prevalence = None if boxes else (
        frame[version.roles.label].value_counts(normalize=True).tolist() or None)
    if ci_width is not None and not prevalence:
        raise InputError(
            f"ci_width= needs the class shares but {version.ref} has no labels in column "
            f"{version.roles.label!r}; give the sample size with n= instead."
        )
    suggested = review_suggestions(ws, version) if predictions else None
    plan = plan_sample(frame, n=n, ci_width=ci_width, by=columns, prevalence=prevalence, seed=seed)
    tasks = None
    if label_studio is not None:
        tasks = label_studio_tasks(version, frame, plan.sample, image_url, suggested)
    sample = plan.sample.rename(columns={version.roles.id: "item"})
    sample.to_csv(out, index=False)
    if label_studio is not None and tasks is not None:
        label_studio.parent.mkdir(parents=True, exist_ok=True)
        label_studio.write_text(json.dumps(tasks.tasks, indent=2, default=str))
        (label_studio.parent / LABEL_CONFIG).write_text(tasks.config)
    return SamplePlan(version.ref, plan.n, plan.expected_ci_width, columns, out, label_studio,
                      len(tasks.tasks) - plan.n if tasks is not None and predictions else 0)
