"""YOLO txt: one file per image (``class x_center y_center width height``, normalised to
0..1) next to a classes file (``classes.txt`` / ``obj.names``: a name a line, or a
``data.yaml`` with ``names``). Image sizes come from the images' headers."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from assay.exceptions import InputError

from ._common import (
    IMAGE_EXTENSIONS,
    BoxSet,
    checked_for_writing,
    finish,
    image_record,
    require_dir,
    write_atomic,
)

__all__ = ["read_yolo", "write_yolo"]

_CLASS_FILES = ("classes.txt", "obj.names", "data.yaml", "dataset.yaml")


def read_yolo(
    path: str | Path,
    *,
    images: str | Path | None = None,
    classes: str | Path | Sequence[str] | None = None,
    drop_empty: bool = False,
) -> BoxSet:
    """Read a YOLO folder's boxes and images.

    Parameters
    ----------
    path : path
        The folder of the label files, or a folder holding ``labels/`` and ``images/``.
    images : path, optional
        The folder of the images (default: ``images/`` beside ``labels/``, else the
        label files' folder). Every image there is an item; one without a label file
        has no boxes. A label file without an image is an error.
    classes : path or sequence of str, optional
        The classes file, or the class names in id order (default: the first of
        classes.txt, obj.names, data.yaml found in the labels folder or above it).
    drop_empty
        As in :func:`assay.store.box_formats.read_boxes`.
    """
    labels_dir, images_dir = _folders(Path(path), images)
    names = _classes(classes, labels_dir)
    image_files = _image_files(images_dir)
    rows = [image_record(images_dir, file, str(file), None) for file in image_files.values()]
    size = {row["image"]: (row["width"], row["height"]) for row in rows}
    name_of = {stem: row["image"] for stem, row in zip(image_files, rows, strict=True)}
    records: list[dict[str, Any]] = []
    for file in sorted(labels_dir.glob("*.txt")):
        if file.name in _CLASS_FILES:
            continue
        if file.stem not in name_of:
            raise InputError(
                f"{file}: no image {file.stem}.* in {images_dir}; the annotation files do not "
                "match the images: add the image, remove the file or pass --images DIR"
            )
        image = name_of[file.stem]
        records.extend(_lines(file, image, size[image], names))
    return finish(records, rows, names, drop_empty=drop_empty)


def _folders(path: Path, images: str | Path | None) -> tuple[Path, Path]:
    require_dir(path, "the YOLO label files")
    labels = path / "labels" if (path / "labels").is_dir() else path
    if images is not None:
        return labels, require_dir(Path(images), "the images")
    for candidate in (labels.parent / "images", path / "images"):
        if candidate.is_dir():
            return labels, candidate
    return labels, labels


def _classes(classes: str | Path | Sequence[str] | None, labels: Path) -> list[str]:
    if classes is not None and not isinstance(classes, (str, Path)):
        return [str(c) for c in classes]
    file = Path(classes) if classes is not None else _find_class_file(labels)
    if not file.is_file():
        raise InputError(f"{file} does not exist; give the YOLO classes file (one class name a line)")
    if file.suffix in (".yaml", ".yml"):
        return _yaml_names(file)
    names = [line.strip() for line in file.read_text(encoding="utf-8-sig").splitlines()]
    return [name for name in names if name]


def _find_class_file(labels: Path) -> Path:
    for folder in (labels, labels.parent, labels.parent.parent):
        for name in _CLASS_FILES:
            if (folder / name).is_file():
                return folder / name
    raise InputError(
        f"no classes file (classes.txt, obj.names or data.yaml) in or above {labels}; pass "
        "--classes FILE with one class name a line, in id order"
    )


def _yaml_names(file: Path) -> list[str]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: not valid YAML ({exc}); fix the file") from exc
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list):
        raise InputError(f"{file}: no list of class names under 'names'; add it")
    return [str(n) for n in names]


def _image_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        if file.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if file.stem in files:
            raise InputError(
                f"{files[file.stem].name} and {file.name} in {folder} share the name "
                f"{file.stem!r}; YOLO matches label files to images by name: rename one"
            )
        files[file.stem] = file
    return files


def _lines(file: Path, image: str, size: tuple[int, int], names: list[str]) -> list[dict[str, Any]]:
    width, height = size
    records = []
    for number, line in enumerate(file.read_text(encoding="utf-8-sig").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{file} line {number}"
        if len(fields) != 5:
            raise InputError(
                f"{where}: {len(fields)} fields, a YOLO box line has 5 (class x_center "
                "y_center width height, normalised to 0..1); fix the line"
            )
        label = _class_of(fields[0], names, where)
        cx, cy, w, h = (_unit(value, where) for value in fields[1:])
        records.append({"image": image, "label": label, "x": (cx - w / 2) * width,
                        "y": (cy - h / 2) * height, "w": w * width, "h": h * height,
                        "where": where})
    return records


def _class_of(field: str, names: list[str], where: str) -> str:
    if not field.isdigit() or int(field) >= len(names):
        raise InputError(
            f"{where}: unknown class {field!r}; the classes file names {len(names)} classes "
            f"(ids 0..{len(names) - 1}): fix the id or add the class"
        )
    return names[int(field)]


def _unit(value: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number):
        raise InputError(f"{where}: {value!r} is not a number; fix the line")
    return number


def write_yolo(
    boxes: pd.DataFrame,
    images: pd.DataFrame,
    out: str | Path,
    *,
    classes: Sequence[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write boxes as YOLO: ``out/classes.txt`` and ``out/labels/<image stem>.txt``.

    Every image gets a file (empty without boxes). The labels folder is written beside
    its place and renamed into it, so an error leaves nothing behind. Images are not
    copied: read the result back with ``images=`` their folder.

    Parameters
    ----------
    boxes, images, classes
        As in :func:`assay.store.box_formats.write_boxes`.
    out : path
        The folder to write into.
    overwrite : bool
        Replace an existing ``out/labels`` (else it is an error).
    """
    out = Path(out)
    boxes, images, names = checked_for_writing(boxes, images, classes)
    texts = _label_texts(boxes, images, names)
    labels = out / "labels"
    if labels.exists() and not overwrite:
        raise InputError(f"{labels} already exists; choose an empty folder or remove it")
    tmp = out / f".labels.tmp-{os.getpid()}"
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for stem, text in texts.items():
            (tmp / f"{stem}.txt").write_text(text, encoding="utf-8")
        write_atomic(out / "classes.txt", "".join(f"{n}\n" for n in names))
        if labels.exists():
            shutil.rmtree(labels)
        os.replace(tmp, labels)
    except OSError as exc:
        raise InputError(f"cannot write {labels}: {exc.strerror}; choose another folder") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _label_texts(boxes: pd.DataFrame, images: pd.DataFrame, names: tuple[str, ...]) -> dict[str, str]:
    stems = images["image"].map(lambda name: Path(name).stem)
    repeated = stems[stems.duplicated()]
    if len(repeated):
        raise InputError(
            f"two images share the name {repeated.iloc[0]!r}; YOLO names label files by the "
            "image's name: rename one"
        )
    width = dict(zip(images["image"].tolist(), images["width"].astype(float).tolist(), strict=True))
    height = dict(zip(images["image"].tolist(), images["height"].astype(float).tolist(), strict=True))
    ids = {name: i for i, name in enumerate(names)}
    lines: dict[str, list[str]] = {name: [] for name in images["image"].tolist()}
    geometry = boxes[["x", "y", "w", "h"]].to_numpy(dtype=float)
    for image, label, (x, y, w, h) in zip(boxes["image"].tolist(), boxes["label"].tolist(), geometry, strict=True):
        iw, ih = width[image], height[image]
        lines[image].append(
            f"{ids[label]} {(x + w / 2) / iw:.8f} {(y + h / 2) / ih:.8f} {w / iw:.8f} {h / ih:.8f}\n"
        )
    return {Path(name).stem: "".join(text) for name, text in lines.items()}
