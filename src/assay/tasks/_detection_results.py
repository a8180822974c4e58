"""A user's detector as predictions: its boxes read from a file, one list per item.

The recipe import path for a detector assay does not train: the user runs their own
model and hands over its boxes as

* a **COCO result JSON** ``[{"image_id", "category_id", "bbox": [x, y, w, h],
  "score"}, ...]``. Image ids name items by item id or image file name; category ids
  are class names. Numeric ids (what COCO tools write) are translated through the
  COCO file the detector was run on (``coco``: its ``images`` give each id's
  ``file_name``, its ``categories`` each id's ``name``), e.g. the file
  ``assay export NAME --format coco`` wrote;
* a **COCO file** whose annotations carry a ``score`` (its own images and categories
  translate the ids);
* a **CSV / Parquet** table with ``image``, ``label``, ``x``, ``y``, ``w``, ``h``,
  ``score``.

Every entry is checked; the first bad one is refused in one line naming the file and
the entry's index (0-based, as the JSON array counts) or row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from assay.exceptions import InputError

__all__ = ["read_detector_boxes"]

_TABLE = ["image", "label", "x", "y", "w", "h", "score"]
_FIELDS = ("image_id", "category_id", "bbox", "score")


def read_detector_boxes(
    path: Path,
    *,
    ids: Sequence[str],
    names: Mapping[str, str],
    classes: Sequence[str],
    coco: Path | None = None,
) -> list[list[dict[str, Any]]]:
    """A detector's boxes from ``path``, one list of scored boxes per item.

    Parameters
    ----------
    path : Path
        COCO result JSON, a COCO file with scored annotations, or CSV / Parquet.
    ids : sequence of str, length n
        The items' ids, in the order of the returned lists.
    names : mapping of str to str
        Every name an image goes by (item id, media path, file name) -> its item id.
    classes : sequence of str
        The dataset's classes; a box of another class is refused.
    coco : Path, optional
        The COCO file whose numeric image and category ids the results use.

    Returns
    -------
    list of length n
        Per item, ``{"label", "x", "y", "w", "h", "score"}`` dicts.

    Raises
    ------
    InputError
        A missing or unreadable file, and the first entry with a missing field, a bbox
        that is not four finite numbers with a positive size, a score that is not a
        number, an image that names no item, or a class outside ``classes``.
    """
    if not path.is_file():
        raise InputError(f"{path} does not exist; give the detector's COCO result JSON.")
    if path.suffix.lower() in (".csv", ".parquet"):
        entries = _table_entries(path)
        where = "row"
    else:
        entries, images, categories = _json_entries(path, coco)
        entries = [_translated(e, i, path, images, categories) for i, e in enumerate(entries)]
        where = "entry"
    position = {item: k for k, item in enumerate(ids)}
    known = {str(c) for c in classes}
    out: list[list[dict[str, Any]]] = [[] for _ in ids]
    for index, entry in enumerate(entries):
        item, box = _box(entry, f"{path} {where} {index}", names, known)
        out[position[item]].append(box)
    return out


def _load(path: Path, what: str = "the detector's boxes as a COCO result JSON list") -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc}); give {what}.") from None


def _json_entries(
    path: Path, coco: Path | None
) -> tuple[list[Any], dict[Any, str], dict[Any, str]]:
    """The entries and the id -> file name / class name maps that translate them."""
    data = _load(path)
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        images, categories = _coco_maps(data, path)
        return data["annotations"], images, categories
    if not isinstance(data, list):
        raise InputError(
            f"{path}: neither a COCO result list nor a COCO file with "
            "annotations; export the detector's boxes as COCO results."
        )
    if coco is None:
        return data, {}, {}
    mapping = _load(coco, "the COCO file the detector ran on (images, categories)")
    if not isinstance(mapping, dict):
        raise InputError(
            f"{coco}: not a COCO file (images, categories); give the file the "
            "detector's image and category ids come from."
        )
    return data, *_coco_maps(mapping, coco)


def _coco_maps(data: dict[str, Any], path: Path) -> tuple[dict[Any, str], dict[Any, str]]:
    images, categories = data.get("images", []), data.get("categories", [])
    if not isinstance(images, list) or not isinstance(categories, list):
        raise InputError(f"{path}: images and categories must be lists (a COCO file).")
    try:
        return (
            {i["id"]: str(i["file_name"]) for i in images},
            {c["id"]: str(c["name"]) for c in categories},
        )
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"{path}: an image lacks id/file_name or a category id/name ({exc}); give a COCO file."
        ) from None


def _translated(
    entry: Any, index: int, path: Path, images: dict[Any, str], categories: dict[Any, str]
) -> dict[str, Any]:
    """A COCO entry as ``image``, ``label``, ``bbox``, ``score`` (ids translated)."""
    where = f"{path} entry {index}"
    if not isinstance(entry, dict):
        raise InputError(
            f"{where}: {entry!r} is not an object; each entry is "
            '{"image_id", "category_id", "bbox": [x, y, w, h], "score"}.'
        )
    if "category_id" not in entry and "category_name" in entry:
        entry = {**entry, "category_id": entry["category_name"]}
    missing = [k for k in _FIELDS if k not in entry]
    if missing:
        raise InputError(
            f"{where}: no {', '.join(missing)}; each entry needs image_id, "
            "category_id, bbox [x, y, w, h] and score."
        )
    image, category = entry["image_id"], entry["category_id"]
    image = _through(image, images, where, "image_id", "images")
    category = _through(category, categories, where, "category_id", "categories")
    return {"image": image, "label": category, "bbox": entry["bbox"], "score": entry["score"]}


def _through(value: Any, table: dict[Any, str], where: str, field: str, listed: str) -> Any:
    """``value`` translated by a COCO id table; a number needs one."""
    if table:
        if value not in table:
            raise InputError(
                f"{where}: {field} {value!r} is not among the {listed} of the "
                "COCO file; predict on that file's images and categories."
            )
        return table[value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise InputError(
            f"{where}: {field} {value!r} is a number but no COCO file names "
            "the ids; give the COCO file the detector ran on (--coco FILE), or "
            "file names and class names."
        )
    return value


def _table_entries(path: Path) -> list[dict[str, Any]]:
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pandas raises many kinds on a bad file
        raise InputError(f"{path}: not a readable table ({type(exc).__name__}: {exc}).") from None
    missing = [c for c in _TABLE if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; give image, label, "
            "x, y, w, h (pixels) and score."
        )
    return [
        {
            "image": r["image"],
            "label": r["label"],
            "bbox": [r["x"], r["y"], r["w"], r["h"]],
            "score": r["score"],
        }
        for r in frame[_TABLE].to_dict("records")
    ]


def _box(
    entry: dict[str, Any], where: str, names: Mapping[str, str], known: set[str]
) -> tuple[str, dict[str, Any]]:
    """The entry's item id and checked box."""
    bbox = entry["bbox"]
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise InputError(
            f"{where}: bbox {bbox!r} is not 4 numbers; give [x, y, width, height] in pixels."
        )
    values = [_number(v) for v in (*bbox, entry["score"])]
    if any(v is None for v in values):
        raise InputError(
            f"{where}: bbox {bbox!r} and score {entry['score']!r} must be finite numbers."
        )
    x, y, w, h, score = (float(v) for v in values)  # type: ignore[arg-type]
    if w <= 0 or h <= 0:
        raise InputError(f"{where}: bbox {bbox!r} has no area; width and height must be positive.")
    image = str(entry["image"])
    item = names.get(image, names.get(Path(image).name))
    if item is None:
        example = next(iter(names), "")
        raise InputError(
            f"{where}: image {image!r} is not an item of the dataset (items are "
            f"named by id or file name, e.g. {example!r}); predict on its images."
        )
    label = str(entry["label"])
    if label not in known:
        shown = ", ".join(sorted(known)[:10])
        raise InputError(
            f"{where}: class {label!r} is not a class of the dataset ({shown}); "
            "map the detector's classes to the dataset's."
        )
    return item, {"label": label, "x": x, "y": y, "w": w, "h": h, "score": score}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
    value = float(value)
    return value if math.isfinite(value) else None
