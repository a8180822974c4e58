"""Pascal VOC XML: a folder with one ``<annotation>`` file per image (``filename``,
``size``, and an ``object`` per box with ``name`` and ``bndbox`` corners)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assay.exceptions import InputError

from ._common import IMAGE_EXTENSIONS, BoxSet, finish, image_record, require_dir

__all__ = ["read_voc"]

#: Per-box flags of VOC kept as attribute columns when a file has them.
_FLAGS = ("difficult", "truncated", "occluded")


def read_voc(
    path: str | Path,
    *,
    images: str | Path | None = None,
    classes: Sequence[str] | None = None,
    drop_empty: bool = False,
) -> BoxSet:
    """Read a folder of Pascal VOC XML files.

    Parameters
    ----------
    path : path
        The folder of the ``.xml`` files (one per image).
    images : path, optional
        The folder of the images (default: the ``<folder>`` the files name, beside the
        annotations folder, else ``JPEGImages``/``images`` there, else the annotations
        folder). Every file's image must be there, with the size the file states.
    classes, drop_empty
        As in :func:`assay.store.box_formats.read_boxes`.

    Returns
    -------
    BoxSet
        Boxes with ``x = xmin``, ``w = xmax - xmin`` (likewise y, h), and the flags
        ``difficult``/``truncated``/``occluded`` when the files have them.
    """
    folder = require_dir(Path(path), "the VOC annotation files")
    files = sorted(folder.glob("*.xml"))
    if not files:
        raise InputError(f"{folder} holds no .xml file; give the folder of the VOC annotations")
    roots = [(file, _parse(file)) for file in files]
    image_dir = Path(images) if images is not None else _default_images(folder, roots[0][1])
    records: list[dict[str, Any]] = []
    rows = []
    for file, root in roots:
        image = _image_file(file, root, image_dir)
        size = root.find("size")
        stated = None if size is None else (size.findtext("width"), size.findtext("height"))
        row = image_record(image_dir, image, str(file), stated)
        rows.append(row)
        records.extend(_objects(file, root, row["image"]))
    flags = [f for f in _FLAGS if any(f in r for r in records)]
    for record in records:
        for flag in _FLAGS:
            if flag not in flags:
                record.pop(flag, None)
    return finish(records, rows, [], allowed=classes, drop_empty=drop_empty)


def _parse(file: Path) -> ET.Element:
    try:
        root = ET.parse(file).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise InputError(f"{file} line {line}: not well-formed XML ({exc}); fix the file") from exc
    if root.tag != "annotation":
        raise InputError(f"{file}: root element <{root.tag}>, a VOC file has <annotation>; is it VOC?")
    return root


def _default_images(folder: Path, first: ET.Element) -> Path:
    named = (first.findtext("folder") or "").strip()
    for name in (named, "JPEGImages", "images"):
        if name and (folder.parent / name).is_dir() and (folder.parent / name) != folder:
            return folder.parent / name
    return folder


def _image_file(file: Path, root: ET.Element, images: Path) -> Path:
    name = (root.findtext("filename") or "").strip()
    candidates = [images / name] if name else []
    candidates += [images / f"{Path(name or file.stem).stem}{ext}" for ext in IMAGE_EXTENSIONS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise InputError(
        f"{file}: image {name or file.stem + '.*'} is missing in {images}; pass --images DIR "
        "(images=) with the folder of the images, or remove the annotation file"
    )


def _objects(file: Path, root: ET.Element, image: str) -> list[dict[str, Any]]:
    records = []
    for number, obj in enumerate(root.iter("object"), start=1):
        where = f"{file} object {number}"
        name = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        if not name or box is None:
            raise InputError(f"{where}: an object needs a <name> and a <bndbox>; fix it")
        x1, y1, x2, y2 = (_corner(box, key, where) for key in ("xmin", "ymin", "xmax", "ymax"))
        record: dict[str, Any] = {"image": image, "label": name, "x": x1, "y": y1,
                                  "w": x2 - x1, "h": y2 - y1, "where": where}
        for flag in _FLAGS:
            text = obj.findtext(flag)
            if text is not None and text.strip().isdigit():
                record[flag] = int(text)
        records.append(record)
    return records


def _corner(box: ET.Element, key: str, where: str) -> float:
    text = box.findtext(key)
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"{where}: <{key}> is {text!r}, not a number of pixels; fix it")
    return value
