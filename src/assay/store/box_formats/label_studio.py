"""Label Studio JSON exports of rectangles (``rectanglelabels`` results: ``x``, ``y``,
``width``, ``height`` in percent of ``original_width`` / ``original_height``).

Both the full export (tasks with ``data`` and ``annotations[].result``) and JSON-MIN
(one object per task with the image URL and the rectangles) are read. Each box keeps
its labeler as ``annotator`` (``completed_by``); cancelled annotations are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from assay.exceptions import InputError

from ._common import BoxSet, finish, image_record, load_json

__all__ = ["read_label_studio"]

#: Label Studio prefixes uploaded files with 8 hex digits and a dash.
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")


def read_label_studio(
    path: str | Path,
    *,
    images: str | Path | None = None,
    classes: Sequence[str] | None = None,
    drop_empty: bool = False,
) -> BoxSet:
    """Read a Label Studio JSON export of rectangles.

    Parameters
    ----------
    path : path
        The exported JSON file (a list of tasks).
    images : path, optional
        The folder of the images (default: the JSON file's folder). A task's image is
        found there by the file name of its URL (upload prefix removed if needed).
    classes, drop_empty
        As in :func:`assay.store.box_formats.read_boxes`.
    """
    path = Path(path)
    tasks = load_json(path)
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise InputError(f"{path}: not a Label Studio export (a JSON list of tasks); export as JSON")
    root = Path(images) if images is not None else path.parent
    rows: dict[str, dict[str, Any]] = {}
    records: list[dict[str, Any]] = []
    for position, task in enumerate(tasks):
        where = f"{path} task {task.get('id', f'#{position}')}"
        file = _image_file(task, root, where)
        for annotator, result in _results(task, where):
            records.extend(_boxes(result, file, annotator, root, rows, where))
        if file not in rows:
            rows[file] = image_record(root, root / file, where, None)
    return finish(records, list(rows.values()), [], allowed=classes, drop_empty=drop_empty)


def _image_file(task: dict[str, Any], root: Path, where: str) -> str:
    data = task.get("data", task)
    url = data.get("image") if isinstance(data, dict) else None
    if not isinstance(url, str):
        url = next((v for v in (data or {}).values() if isinstance(v, str) and "/" in v), None)
    if not isinstance(url, str):
        raise InputError(f"{where}: no image URL in its data; the task must name its image")
    parsed = urlparse(url)
    local = parse_qs(parsed.query).get("d")
    name = unquote(local[0] if local else parsed.path).split("/")[-1]
    for candidate in (name, _UPLOAD_PREFIX.sub("", name)):
        if (root / candidate).is_file():
            return candidate
    raise InputError(
        f"{where}: image {name} is missing in {root}; pass --images DIR (images=) with the "
        "folder of the images"
    )


def _results(task: dict[str, Any], where: str) -> list[tuple[str | None, list[Any]]]:
    if "annotations" not in task:  # JSON-MIN: rectangles as lists of the task's keys
        found = [v for v in task.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        results = [{"value": item, "type": "rectanglelabels"} for value in found for item in value]
        return [(_annotator(task.get("annotator")), results)]
    out = []
    for annotation in task.get("annotations") or []:
        if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
            continue
        out.append((_annotator(annotation.get("completed_by")), annotation.get("result") or []))
    return out


def _annotator(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("email", value.get("id"))
    return None if value is None else str(value)


def _boxes(
    results: list[Any], file: str, annotator: str | None, root: Path,
    rows: dict[str, dict[str, Any]], where: str,
) -> list[dict[str, Any]]:
    records = []
    for number, result in enumerate(results, start=1):
        if not isinstance(result, dict) or result.get("type") not in ("rectanglelabels", None):
            continue
        value = result.get("value") or {}
        here = f"{where} result {result.get('id', number)}"
        labels = value.get("rectanglelabels")
        if not isinstance(labels, list) or len(labels) != 1:
            raise InputError(f"{here}: a rectangle needs exactly one class, got {labels!r}; fix it")
        if float(value.get("rotation") or 0) != 0:
            raise InputError(
                f"{here}: rotated rectangle ({value['rotation']} degrees); boxes are upright: "
                "straighten it in Label Studio"
            )
        width, height = _size(result, value, file, root, rows, here)
        x, y, w, h = (_percent(value, key, here) for key in ("x", "y", "width", "height"))
        records.append({"image": file, "label": str(labels[0]), "x": x * width / 100,
                        "y": y * height / 100, "w": w * width / 100, "h": h * height / 100,
                        "annotator": annotator, "where": here})
    return records


def _size(
    result: dict[str, Any], value: dict[str, Any], file: str, root: Path,
    rows: dict[str, dict[str, Any]], where: str,
) -> tuple[int, int]:
    stated = (result.get("original_width", value.get("original_width")),
              result.get("original_height", value.get("original_height")))
    if file not in rows:
        rows[file] = image_record(root, root / file, where, stated if stated[0] else None)
    elif stated[0] and (stated[0], stated[1]) != (rows[file]["width"], rows[file]["height"]):
        image_record(root, root / file, where, stated)  # raises: the sizes disagree
    return rows[file]["width"], rows[file]["height"]


def _percent(value: dict[str, Any], key: str, where: str) -> float:
    try:
        return float(value[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: {key!r} is {value.get(key)!r}, not a percentage; fix it") from exc
