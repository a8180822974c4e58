"""Labelers' boxes of a detection dataset as long-format annotations.

A Label Studio export of rectangles names images, not item ids, and holds one result
per labeler (``completed_by``); :func:`read_box_annotations` reads it with the
dataset's images (:func:`assay.store.box_formats.read_label_studio`) and returns one
row per (image, labeler) with the labeler's list of boxes, items named as the dataset
names them. A labeler whose submitted annotation of an image holds no rectangle gets
the empty list there (looked, drew nothing), so agreement counts what they left out.

A box table (CSV or TSV, one row per box: ``image,annotator,label,x,y,w,h``) is read by
:func:`read_box_table`: every bad cell is refused by its line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.store.box_formats.label_studio import _UPLOAD_PREFIX
from assay.tasks.detection import as_boxes

__all__ = [
    "BOX_TABLE_COLUMNS",
    "box_classes",
    "is_box_table",
    "item_names",
    "read_box_annotations",
    "read_box_table",
]

_GEOMETRY = ["x", "y", "w", "h"]
#: The columns of a box table, one row per box (pixels, top-left origin).
BOX_TABLE_COLUMNS = ("image", "annotator", "label", *_GEOMETRY)
_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}


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
        raise InputError(
            f"{path}: an annotation has no completed_by; export with the "
            "annotators so that each box has its labeler."
        )
    names = item_names(version, version.to_pandas())
    items = boxes["image"].astype(str).map(names)
    if items.isna().any():
        unknown = boxes["image"][items.isna()].iloc[0]
        raise InputError(
            f"{path}: image {unknown} is not an item of {version.ref}; import "
            "the images first, or remove its tasks from the export."
        )
    drawn = {
        (item, str(annotator)): [
            {"label": str(b["label"]), **{k: float(b[k]) for k in _GEOMETRY}}
            for b in group.to_dict("records")
        ]
        for (item, annotator), group in boxes.assign(item=items).groupby(["item", "annotator"])
    }
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
            if (
                item
                and who is not None
                and not ann.get("was_cancelled")
                and not any(r.get("type") == "rectanglelabels" for r in ann.get("result") or [])
            ):
                empty.add((item, str(who)))
    return empty


def box_classes(labels: pd.Series) -> pd.Series | None:
    """The class of every box when ``labels`` holds lists of boxes (one row per box,
    indexed like the annotation it belongs to), else None."""
    first = next((v for v in labels if isinstance(v, (list, tuple)) and len(v)), None)
    if first is None or not isinstance(first[0], dict):
        return None
    return labels.map(lambda v: [b["label"] for b in as_boxes(v) or ()]).explode().dropna()


def is_box_table(path: Path) -> bool:
    """Whether ``path`` is a CSV/TSV whose header names the box columns ``x, y, w, h``
    (or ``image`` and some of them: a box table missing a column, refused by name)."""
    sep = _TABLE_SUFFIXES.get(path.suffix.lower())
    if sep is None or not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = {c.strip().lower() for c in handle.readline().rstrip("\r\n").split(sep)}
    return set(_GEOMETRY) <= header or ("image" in header and bool(header & set(_GEOMETRY)))


def read_box_table(path: Path, version: Any | None = None) -> pd.DataFrame:
    """Labelers' boxes from a table with one row per box:
    ``image,annotator,label,x,y,w,h`` (pixels, top-left origin).

    A row whose label and geometry are all empty records that the annotator looked at
    the image and drew nothing (agreement counts the boxes they left out).

    Parameters
    ----------
    path : Path
        A CSV (``,``) or TSV (tab) file with a header row.
    version : DatasetVersion, optional
        The detection dataset the images belong to: images are named as it names them
        (item id, media path or file name) and boxes are checked against its image
        sizes (``width``/``height`` columns) when it has them.

    Returns
    -------
    DataFrame, shape (n_annotations, 3)
        ``item``, ``annotator``, ``label`` (the labeler's list of boxes on that image).

    Raises
    ------
    InputError
        A missing column, or a bad cell (empty image/annotator/label, a coordinate that
        is not a number, a width or height that is not positive, a box outside its
        image, an image that is not an item of ``version``), named by line and column.
    """
    table = _read_table(path)
    names, sizes = _dataset_names(version)
    drawn: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row, line in zip(table.to_dict("records"), range(2, len(table) + 2), strict=True):
        where = f"{path} line {line}"
        item = _table_item(row, where, names, version)
        annotator = _table_text(row, "annotator", where, "the labeler's name")
        boxes = drawn.setdefault((item, annotator), [])
        if all(not str(row[c]).strip() for c in ("label", *_GEOMETRY)):
            continue  # looked at the image, drew nothing
        label = _table_text(row, "label", where, "the box's class")
        geometry = {k: _table_number(row, k, where) for k in _GEOMETRY}
        _check_inside(geometry, sizes.get(item), where)
        boxes.append({"label": label, **geometry})
    rows = [{"item": i, "annotator": a, "label": b} for (i, a), b in sorted(drawn.items())]
    if not rows:
        raise InputError(
            f"{path}: no rows; give one row per box with the columns {','.join(BOX_TABLE_COLUMNS)}."
        )
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _read_table(path: Path) -> pd.DataFrame:
    """The table's cells as text, with lower-case column names; every column present."""
    sep = _TABLE_SUFFIXES.get(path.suffix.lower(), ",")
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not a readable table ({exc}); save it as UTF-8 CSV with "
            f"the columns {','.join(BOX_TABLE_COLUMNS)}."
        ) from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    if "image" not in table.columns and "item" in table.columns:
        table = table.rename(columns={"item": "image"})
    missing = [c for c in BOX_TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: no column {missing[0]!r}; a box table has the columns "
            f"{','.join(BOX_TABLE_COLUMNS)} (one row per box)."
        )
    return table


def _dataset_names(
    version: Any | None,
) -> tuple[dict[str, str] | None, dict[str, tuple[float, float]]]:
    """The dataset's names of its images and each item's (width, height) if known."""
    if version is None:
        return None, {}
    frame = version.to_pandas()
    names = item_names(version, frame)
    if not {"width", "height"} <= set(frame.columns):
        return names, {}
    ids = frame[version.roles.id].astype(str)
    sizes = {
        i: (float(w), float(h))
        for i, w, h in zip(ids, frame["width"], frame["height"], strict=True)
        if pd.notna(w) and pd.notna(h)
    }
    return names, sizes


def _table_item(row: dict[Any, Any], where: str, names: dict[str, str] | None, version: Any) -> str:
    image = _table_text(row, "image", where, "the image's file name or item id")
    if names is None:
        return image
    item = names.get(image) or names.get(Path(image).name)
    if item is None:
        raise InputError(
            f"{where}, column image: {image!r} is not an item of {version.ref}; "
            "name images as the dataset does (item id or file name)."
        )
    return item


def _table_text(row: dict[Any, Any], column: str, where: str, what: str) -> str:
    value = str(row[column]).strip()
    if not value:
        raise InputError(f"{where}, column {column}: empty; give {what}.")
    return value


def _table_number(row: dict[Any, Any], column: str, where: str) -> float:
    text = str(row[column]).strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise InputError(
            f"{where}, column {column}: {text!r} is not a number; give the box "
            "in pixels (x, y: top-left corner; w, h: width and height)."
        )
    if column in ("w", "h") and value <= 0:
        raise InputError(
            f"{where}, column {column}: {text} is not positive; a box has a "
            "width and height of more than 0 pixels."
        )
    return value


def _check_inside(box: dict[str, float], size: tuple[float, float] | None, where: str) -> None:
    """Refuse a box that starts left of or above the image, or ends past its size."""
    for corner, side, limit in (("x", "w", 0), ("y", "h", 1)):
        if box[corner] < 0:
            raise InputError(
                f"{where}, column {corner}: {box[corner]:g} is outside the "
                "image (coordinates start at 0 at the top-left corner)."
            )
        if size is not None and box[corner] + box[side] > size[limit] + 1:
            raise InputError(
                f"{where}, column {side}: the box ends at {box[corner] + box[side]:g}, past "
                f"the image's {'width' if limit == 0 else 'height'} {size[limit]:g}; fix "
                "the box, or check that x, y, w, h are pixels (not x2, y2 or fractions)."
            )
