"""What every box file format shares: the result, image headers, the checks, atomic writes.

A reader collects one record per box (``image``, ``label``, ``x``, ``y``, ``w``, ``h``,
attributes, and ``where``: the file and line or annotation id that drew it) and one
record per image, then hands them to :func:`finish`, which applies the checks of the
issue's "Bad input" list in one place and returns a :class:`BoxSet`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from assay._boxes import BOX_COLUMNS, check_boxes
from assay.exceptions import InputError

#: File extensions taken for images when a folder is listed (YOLO).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
IMAGE_COLUMNS = ("image", "path", "width", "height")
#: Coordinates may overshoot the image by this many pixels (float rounding of percent or
#: normalised coordinates) and are then clipped; anything beyond is an error.
_TOLERANCE = 1e-3


@dataclass(frozen=True)
class BoxSet:
    """Boxes read from an annotation file or folder.

    Attributes
    ----------
    boxes : DataFrame, shape (n_boxes, >= 6)
        ``image``, ``label``, ``x``, ``y``, ``w``, ``h`` (float pixels, top-left origin)
        plus the format's attributes (``difficult``, ``iscrowd``, ``annotator``...).
    images : DataFrame, shape (n_images, 4)
        ``image`` (the file's path relative to the images folder, ``/``-separated),
        ``path`` (absolute), ``width``, ``height`` (pixels); images without boxes too.
    classes : tuple of str
        The classes the file declares, in its order (COCO categories by id, the YOLO
        classes file), else the classes used, sorted.
    dropped : DataFrame, shape (n_dropped, >= 7)
        Zero-area boxes left out because ``drop_empty=True``, with ``where``.
    """

    boxes: pd.DataFrame
    images: pd.DataFrame
    classes: tuple[str, ...]
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[*BOX_COLUMNS, "where"]))


def image_size(path: Path, where: str) -> tuple[int, int]:
    """Width and height of an image from its header (Pillow opens lazily, no decoding)."""
    try:
        with Image.open(path) as img:
            return int(img.size[0]), int(img.size[1])
    except FileNotFoundError as exc:
        raise InputError(
            f"{where}: image {path} is missing on disk; pass --images DIR (images=) with "
            "the folder that holds the images, or remove its annotations"
        ) from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"{where}: cannot read {path} as an image ({exc}); replace the file") from exc


def image_record(root: Path, file: Path, where: str, size: tuple[Any, Any] | None) -> dict[str, Any]:
    """The images-frame row of ``file``: its size from the header, checked against the
    size the annotation file states (``size``, None or zeros when it states none)."""
    width, height = image_size(file, where)
    if size is not None and size[0] and size[1]:
        stated = (_integer(size[0], where, "width"), _integer(size[1], where, "height"))
        if stated != (width, height):
            raise InputError(
                f"{where}: the annotation says the image is {stated[0]}x{stated[1]} but "
                f"{file} is {width}x{height}; the annotation file does not match the "
                "images: fix the size or point --images at the right folder"
            )
    return {"image": relative_name(root, file), "path": str(file.resolve()),
            "width": width, "height": height}


def _integer(value: Any, where: str, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number != int(number) or number < 0:
        raise InputError(f"{where}: image {what} {value!r} is not a whole number of pixels; fix it")
    return int(number)


def relative_name(root: Path, file: Path) -> str:
    """``file``'s path under ``root``, ``/``-separated (the ``image`` key)."""
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.name


def require_dir(path: Path, what: str) -> Path:
    """``path`` as a folder that exists, else a one-line error."""
    if not path.is_dir():
        raise InputError(f"{path} is not a folder; give the folder of {what}")
    return path


def load_json(path: Path) -> Any:
    """A JSON file's content, with the line of a syntax error."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise InputError(f"{path} does not exist; give the annotation file's path") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg}); fix the file") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc


def finish(
    records: list[dict[str, Any]],
    images: list[dict[str, Any]],
    classes: Sequence[str],
    *,
    allowed: Sequence[str] | None = None,
    drop_empty: bool = False,
) -> BoxSet:
    """Check the boxes of a reader and build its :class:`BoxSet`.

    Parameters
    ----------
    records : list of dict, length n_boxes
        One per box: ``image``, ``label``, ``x``, ``y``, ``w``, ``h``, ``where`` and
        attributes.
    images : list of dict, length n_images
        One per image with the keys of ``IMAGE_COLUMNS``.
    classes : sequence of str
        The classes the file declares (empty: the classes used, sorted).
    allowed : sequence of str, optional
        The classes the caller accepts; a box of another class is an error.
    drop_empty : bool
        Leave zero-area boxes out (into ``dropped``) instead of refusing them.
    """
    frame = pd.DataFrame.from_records(records, columns=_columns(records))
    image_frame = pd.DataFrame.from_records(images, columns=list(IMAGE_COLUMNS))
    _unique(image_frame["image"], "image")
    frame, dropped = _empty_boxes(frame, drop_empty)
    _negative_boxes(frame)
    _known_classes(frame, allowed)
    frame = _inside(frame, image_frame)
    frame = frame.drop(columns="where").reset_index(drop=True)
    frame = check_boxes(frame, where="boxes")
    names = tuple(classes) if classes else tuple(sorted(frame["label"].astype(str).unique()))
    return BoxSet(boxes=frame, images=image_frame, classes=names,
                  dropped=dropped.reset_index(drop=True))


def _columns(records: Iterable[dict[str, Any]]) -> list[str]:
    extra: dict[str, None] = {}
    for record in records:
        extra.update(dict.fromkeys(k for k in record if k not in BOX_COLUMNS and k != "where"))
    return [*BOX_COLUMNS, *extra, "where"]


def _unique(values: pd.Series, what: str) -> None:
    repeated = values[values.duplicated()]
    if len(repeated):
        raise InputError(
            f"{what} {repeated.iloc[0]!r} appears twice in the annotations; each image must "
            "be listed once: merge or rename the entries"
        )


def _empty_boxes(frame: pd.DataFrame, drop: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    for column in ("x", "y", "w", "h"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    empty = ((frame["w"] == 0) | (frame["h"] == 0)).to_numpy()
    if empty.any() and not drop:
        raise InputError(
            f"{_list(frame.loc[empty, 'where'])}: zero-area box(es) ({int(empty.sum())} "
            "in all); pass --drop-empty-boxes (drop_empty=True) to leave them out, or fix them"
        )
    return frame.loc[~empty], frame.loc[empty]


def _negative_boxes(frame: pd.DataFrame) -> None:
    bad = ((frame["w"] < 0) | (frame["h"] < 0)).to_numpy()
    if bad.any():
        row = frame.loc[bad].iloc[0]
        raise InputError(
            f"{row['where']}: box of negative size (w={row['w']:g}, h={row['h']:g}; "
            f"{int(bad.sum())} such box(es)); its corners are swapped: fix them"
        )


def _known_classes(frame: pd.DataFrame, allowed: Sequence[str] | None) -> None:
    if allowed is None:
        return
    unknown = ~frame["label"].isin(list(allowed)).to_numpy()
    if unknown.any():
        row = frame.loc[unknown].iloc[0]
        raise InputError(
            f"{row['where']}: unknown class {row['label']!r} ({int(unknown.sum())} such "
            f"box(es)); the classes are {', '.join(map(str, allowed))}: fix the class or "
            "add it to the classes"
        )


def _inside(frame: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame:
    sizes = images.set_index("image")[["width", "height"]]
    width = frame["image"].map(sizes["width"]).to_numpy(dtype=float)
    height = frame["image"].map(sizes["height"]).to_numpy(dtype=float)
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    x2, y2 = x + frame["w"].to_numpy(), y + frame["h"].to_numpy()
    out = (x < -_TOLERANCE) | (y < -_TOLERANCE) | (x2 > width + _TOLERANCE) | (y2 > height + _TOLERANCE)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise InputError(
            f"{frame['where'].iloc[i]}: box x={x[i]:g}, y={y[i]:g}, w={x2[i] - x[i]:g}, "
            f"h={y2[i] - y[i]:g} reaches outside its {width[i]:g}x{height[i]:g} image "
            f"({int(out.sum())} such box(es)); fix its corners or clip it to the image"
        )
    frame = frame.copy()
    frame["x"], frame["y"] = np.clip(x, 0, width), np.clip(y, 0, height)
    frame["w"] = np.minimum(x2, width) - frame["x"].to_numpy()
    frame["h"] = np.minimum(y2, height) - frame["y"].to_numpy()
    return frame


def _list(wheres: pd.Series, limit: int = 3) -> str:
    shown = ", ".join(map(str, wheres.iloc[:limit]))
    return shown + (f" and {len(wheres) - limit} more" if len(wheres) > limit else "")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder of {path}: {exc.strerror}; choose another path") from exc
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}; choose another path") from exc
    finally:
        tmp.unlink(missing_ok=True)


def checked_for_writing(
    boxes: pd.DataFrame, images: pd.DataFrame, classes: Sequence[str] | None
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """The boxes and images a writer writes, checked like a read: every box's image is
    listed with its size, inside it, of a known class."""
    boxes = check_boxes(boxes, where="boxes")
    missing = [c for c in ("image", "width", "height") if c not in images.columns]
    if missing:
        raise InputError(
            f"images lacks the column(s) {', '.join(missing)}; it needs one row per image "
            "with image, width, height"
        )
    _unique(images["image"], "image")
    unlisted = ~boxes["image"].isin(images["image"]).to_numpy()
    if unlisted.any():
        raise InputError(
            f"boxes row {int(np.flatnonzero(unlisted)[0])}: image "
            f"{boxes['image'][unlisted].iloc[0]!r} is not in images; add its size to images"
        )
    names = tuple(classes) if classes is not None else tuple(sorted(boxes["label"].astype(str).unique()))
    framed = boxes.assign(where=[f"boxes row {i}" for i in range(len(boxes))])
    _known_classes(framed, names)
    _inside(framed, images)
    return boxes, images.reset_index(drop=True), names
