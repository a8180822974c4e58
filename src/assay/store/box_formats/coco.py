"""COCO JSON (``images``, ``annotations``, ``categories``; ``bbox`` = [x, y, w, h] pixels)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from assay._boxes import BOX_COLUMNS
from assay.exceptions import InputError

from ._common import BoxSet, checked_for_writing, finish, image_record, load_json, write_atomic

__all__ = ["read_coco", "write_coco"]


def read_coco(
    path: str | Path,
    *,
    images: str | Path | None = None,
    classes: Sequence[str] | None = None,
    drop_empty: bool = False,
) -> BoxSet:
    """Read a COCO JSON file's boxes and images.

    Parameters
    ----------
    path : path
        The JSON file.
    images : path, optional
        The folder the ``file_name`` of the images are relative to (default: the JSON
        file's folder). Every image must be there, with the size the file states.
    classes, drop_empty
        As in :func:`assay.store.box_formats.read_boxes`.

    Returns
    -------
    BoxSet
        ``classes`` are the categories' names in the order of their ids (unused ones
        included); boxes carry ``iscrowd`` when some box is a crowd, and the keys of
        the annotations' ``attributes`` objects.
    """
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), list) for key in ("images", "annotations", "categories")
    ):
        raise InputError(
            f"{path}: not a COCO file (it needs the lists images, annotations and "
            "categories); check the file or pass the right --format"
        )
    root = Path(images) if images is not None else path.parent
    categories = _categories(data["categories"], path)
    image_rows, by_id = _images(data["images"], path, root)
    records = [_box(a, i, path, by_id, categories) for i, a in enumerate(data["annotations"])]
    _unique_ids(data["annotations"], path)
    if not any(r.get("iscrowd") for r in records):
        for record in records:
            record.pop("iscrowd", None)
    ordered = [categories[k] for k in sorted(categories)]
    return finish(records, image_rows, ordered, allowed=classes, drop_empty=drop_empty)


def _entries(entries: list[Any], path: Path, what: str, key: str) -> list[dict[str, Any]]:
    """``entries`` (COCO categories or images) checked: objects with an ``id`` and
    ``key``, no id twice."""
    seen: set[Any] = set()
    for entry in entries:
        if not isinstance(entry, dict) or "id" not in entry or key not in entry:
            raise InputError(f"{path}: {what} {entry!r} lacks its id or {key}; fix it")
        if entry["id"] in seen:
            raise InputError(f"{path}: {what} id {entry['id']} repeats; give each {what} its own id")
        seen.add(entry["id"])
    return entries


def _categories(entries: list[Any], path: Path) -> dict[Any, str]:
    names = {e["id"]: str(e["name"]) for e in _entries(entries, path, "category", "name")}
    seen: dict[str, Any] = {}
    for key, name in names.items():
        if name in seen:
            raise InputError(
                f"{path}: categories {seen[name]} and {key} are both named {name!r}; rename one"
            )
        seen[name] = key
    return names


def _images(entries: list[Any], path: Path, root: Path) -> tuple[list[dict[str, Any]], dict[Any, str]]:
    rows: list[dict[str, Any]] = []
    by_id: dict[Any, str] = {}
    for entry in _entries(entries, path, "image", "file_name"):
        where = f"{path} image id {entry['id']}"
        row = image_record(root, root / str(entry["file_name"]), where,
                           (entry.get("width"), entry.get("height")))
        by_id[entry["id"]] = row["image"]
        rows.append(row)
    return rows, by_id


def _box(ann: Any, position: int, path: Path, by_id: dict[Any, str], categories: dict[Any, str]) -> dict[str, Any]:
    where = f"{path} annotation id {ann.get('id', f'#{position}')}" if isinstance(ann, dict) else f"{path} annotation #{position}"
    if not isinstance(ann, dict):
        raise InputError(f"{where}: not an object; each annotation is a JSON object")
    if ann.get("image_id") not in by_id:
        raise InputError(
            f"{where}: image id {ann.get('image_id')!r} is not in images; the annotations do "
            "not match the images: add the image or remove the annotation"
        )
    if ann.get("category_id") not in categories:
        raise InputError(
            f"{where}: unknown class (category id {ann.get('category_id')!r} is not in "
            "categories); add the category or fix the annotation"
        )
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4 or not all(_finite(v) for v in bbox):
        raise InputError(f"{where}: bbox {bbox!r} is not four numbers [x, y, w, h]; fix it")
    x, y, w, h = (float(v) for v in bbox)
    record: dict[str, Any] = {"image": by_id[ann["image_id"]], "label": categories[ann["category_id"]],
                              "x": x, "y": y, "w": w, "h": h, "where": where,
                              "iscrowd": int(ann.get("iscrowd") or 0)}
    attributes = ann.get("attributes")
    if isinstance(attributes, dict):
        record.update({k: v for k, v in attributes.items() if k not in record})
    return record


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unique_ids(annotations: list[Any], path: Path) -> None:
    _entries([a for a in annotations if a.get("id") is not None], path, "annotation", "id")


def coco_document(
    boxes: pd.DataFrame, images: pd.DataFrame, classes: Sequence[str] | None = None
) -> dict[str, Any]:
    """The COCO document of ``boxes`` on ``images`` (ids from 1 in the frames' order).

    Columns besides the box columns go into each annotation's ``attributes`` object,
    except ``score`` and ``iscrowd``, which COCO has as keys of their own.
    """
    boxes, images, names = checked_for_writing(boxes, images, classes)
    category = {name: i + 1 for i, name in enumerate(names)}
    image_id = {name: i + 1 for i, name in enumerate(images["image"])}
    extra = [c for c in boxes.columns if c not in BOX_COLUMNS]
    annotations = []
    records: list[dict[str, Any]] = boxes.to_dict("records")  # type: ignore[assignment]
    for i, values in enumerate(records):
        ann: dict[str, Any] = {
            "id": i + 1, "image_id": image_id[values["image"]], "category_id": category[values["label"]],
            "bbox": [values[c] for c in ("x", "y", "w", "h")], "area": values["w"] * values["h"],
            "iscrowd": 0,
        }
        ann.update(_attributes(values, extra))
        annotations.append(ann)
    return {
        "images": [{"id": image_id[name], "file_name": name, "width": int(w), "height": int(h)}
                   for name, w, h in zip(images["image"].tolist(), images["width"].tolist(),
                                         images["height"].tolist(), strict=True)],
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in category.items()],
    }


def _attributes(values: dict[str, Any], extra: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attributes = {}
    for column in extra:
        value = values[column]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        value = value.item() if hasattr(value, "item") else value
        if column in ("score", "iscrowd"):
            out[column] = value
        else:
            attributes[column] = value
    if attributes:
        out["attributes"] = attributes
    return out


def write_coco(
    boxes: pd.DataFrame,
    images: pd.DataFrame,
    path: str | Path,
    *,
    classes: Sequence[str] | None = None,
) -> Path:
    """Write boxes as a COCO JSON file, atomically (nothing is written on an error).

    Parameters
    ----------
    boxes, images, classes
        As in :func:`assay.store.box_formats.write_boxes` (category ids 1..k in the
        order of ``classes``).
    path : path
        The JSON file to write.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a file name such as {path / 'annotations.json'}")
    document = coco_document(boxes, images, classes)
    write_atomic(path, json.dumps(document, separators=(",", ":")))  # the C encoder: no indent
    return path
