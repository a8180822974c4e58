"""Labelers' boxes of a detection dataset as long-format annotations.

A Label Studio export of rectangles names images, not item ids, and holds one result
per labeler (``completed_by``); :func:`read_box_annotations` reads it with the
dataset's images (:func:`assay.store.box_formats.read_label_studio`) and returns one
row per (image, labeler) with the labeler's list of boxes, items named as the dataset
names them. A labeler whose submitted annotation of an image holds no rectangle gets
the empty list there (looked, drew nothing), so agreement counts what they left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from assay.exceptions import InputError
from assay.store.box_formats.label_studio import _UPLOAD_PREFIX
from assay.tasks.detection import as_boxes

__all__ = ["box_classes", "item_names", "read_box_annotations"]

_GEOMETRY = ["x", "y", "w", "h"]


def item_names(version: Any, frame: pd.DataFrame) -> dict[str, str]:
    """Every name an image goes by (item id, media path, file name) -> its item id."""
    ids = frame[version.roles.id].astype(str)
    names = dict(zip(ids, ids, strict=True))
    if version.roles.media is not None:
        for path, item in zip(frame[version.roles.media].astype(str), ids, strict=True):
            names.setdefault(path, item)
            names.setdefault(Path(path).name, item)
    return names


def read_box_annotations(path: Path, version: Any) -> pd.DataFrame:
    """A Label Studio rectangles export as annotations of a detection dataset version.

    Returns
    -------
    DataFrame, shape (n_annotations, 3)
        ``item``, ``annotator``, ``label`` (the labeler's list of boxes on that image).

    Raises
    ------
    InputError
        A bad export (see :func:`read_label_studio`), an annotation without its labeler,
        or an image that is not an item of the dataset.
    """
    from assay.store.box_formats import read_label_studio

    root = version.media_root or path.parent
    boxes = read_label_studio(path, images=root).boxes
    if boxes.empty:
        raise InputError(f"{path}: no rectangles; export the labelers' boxes as JSON.")
    if "annotator" not in boxes.columns or boxes["annotator"].isna().any():
        raise InputError(f"{path}: an annotation has no completed_by; export with the "
                         "annotators so that each box has its labeler.")
    names = item_names(version, version.to_pandas())
    items = boxes["image"].astype(str).map(names)
    if items.isna().any():
        unknown = boxes["image"][items.isna()].iloc[0]
        raise InputError(f"{path}: image {unknown} is not an item of {version.ref}; import "
                         "the images first, or remove its tasks from the export.")
    drawn = {(item, str(annotator)): [
        {"label": str(b["label"]), **{k: float(b[k]) for k in _GEOMETRY}}
        for b in group.to_dict("records")]
        for (item, annotator), group in boxes.assign(item=items).groupby(["item", "annotator"])}
    looked = set(drawn) | _empty_annotations(path, names)
    rows = [{"item": i, "annotator": a, "label": drawn.get((i, a), [])} for i, a in sorted(looked)]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _empty_annotations(path: Path, names: dict[str, str]) -> set[tuple[str, str]]:
    """(item, labeler) of the submitted annotations without any rectangle."""
    from urllib.parse import unquote, urlparse

    empty = set()
    for task in json.loads(path.read_text()):
        url = (task.get("data") or {}).get("image") if isinstance(task, dict) else None
        if not isinstance(url, str):
            continue
        name = unquote(urlparse(url).path).split("/")[-1]
        item = names.get(name) or names.get(_UPLOAD_PREFIX.sub("", name))
        for ann in task.get("annotations") or []:
            who = ann.get("completed_by") if isinstance(ann, dict) else None
            who = who.get("email", who.get("id")) if isinstance(who, dict) else who
            if item and who is not None and not ann.get("was_cancelled") and not any(
                    r.get("type") == "rectanglelabels" for r in ann.get("result") or []):
                empty.add((item, str(who)))
    return empty


def box_classes(labels: pd.Series) -> pd.Series | None:
    """The class of every box when ``labels`` holds lists of boxes (one row per box,
    indexed like the annotation it belongs to), else None."""
    first = next((v for v in labels if isinstance(v, (list, tuple)) and len(v)), None)
    if first is None or not isinstance(first[0], dict):
        return None
    return labels.map(lambda v: [b["label"] for b in as_boxes(v) or ()]).explode().dropna()
