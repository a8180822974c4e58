"""Box annotation files in and out: COCO JSON, YOLO txt, Pascal VOC XML, Label Studio.

Every reader returns a :class:`BoxSet`: the boxes frame of ``assay._boxes`` (one row per
box: ``image``, ``label``, ``x``, ``y``, ``w``, ``h`` in pixels, top-left origin, plus
attributes) and an images frame (``image``, ``path``, ``width``, ``height``; images
without boxes included). Image sizes are read from the image headers and checked
against the sizes the annotation file states.

Bad input is refused with a one-line :class:`~assay.exceptions.InputError` naming the
file and the line, object or annotation id: a box outside its image, of negative size,
of an unknown class, an image missing on disk, an annotation file that does not match
the images (another size, a label file without an image, an annotation of an unlisted
image), a YOLO line without 5 fields, repeated COCO ids. Zero-area boxes (BCCD has
two) are refused too, naming them; ``drop_empty=True`` (``--drop-empty-boxes``) leaves
them out instead and lists them in ``BoxSet.dropped``. Writers check the same and write
through a temporary file renamed into place, so an error writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from assay.exceptions import InputError

from ._common import IMAGE_COLUMNS, BoxSet
from .coco import read_coco, write_coco
from .label_studio import read_label_studio
from .voc import read_voc
from .yolo import read_yolo, write_yolo

__all__ = [
    "IMAGE_COLUMNS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "BoxSet",
    "read_boxes",
    "read_coco",
    "read_label_studio",
    "read_voc",
    "read_yolo",
    "write_boxes",
    "write_coco",
    "write_yolo",
]

READ_FORMATS = ("coco", "yolo", "voc", "label-studio")
WRITE_FORMATS = ("coco", "yolo")


def read_boxes(
    path: str | Path,
    format: str,
    *,
    images: str | Path | None = None,
    classes: Sequence[str] | None = None,
    drop_empty: bool = False,
) -> BoxSet:
    """Read box annotations in ``format`` (one of :data:`READ_FORMATS`).

    Parameters
    ----------
    path : path
        The annotation file (COCO, Label Studio) or folder (YOLO, VOC).
    format : str
        ``"coco"``, ``"yolo"``, ``"voc"`` or ``"label-studio"``.
    images : path, optional
        The folder of the images (each reader has a default beside the annotations).
    classes : sequence of str, optional
        Accepted classes (YOLO: the class names in id order, replacing its classes file).
    drop_empty : bool
        Leave zero-area boxes out instead of refusing them.
    """
    readers = {"coco": read_coco, "yolo": read_yolo, "voc": read_voc,
               "label-studio": read_label_studio}
    if format not in readers:
        raise InputError(f"unknown box format {format!r}; use one of {', '.join(READ_FORMATS)}")
    if not Path(path).exists():
        raise InputError(f"{path} does not exist; give the {format} annotation file or folder")
    return readers[format](path, images=images, classes=classes, drop_empty=drop_empty)


def write_boxes(
    boxes: pd.DataFrame,
    images: pd.DataFrame,
    out: str | Path,
    format: str,
    *,
    classes: Sequence[str] | None = None,
) -> Path:
    """Write boxes in ``format`` (``"coco"``: a JSON file; ``"yolo"``: a folder).

    Parameters
    ----------
    boxes : DataFrame, shape (n_boxes, >= 6)
        The boxes frame.
    images : DataFrame, shape (n_images, >= 3)
        ``image``, ``width``, ``height`` of every image.
    out : path
        The JSON file (COCO) or folder (YOLO).
    format : str
        One of :data:`WRITE_FORMATS`.
    classes : sequence of str, optional
        The classes in id order; default the classes used, sorted.
    """
    if format == "coco":
        return write_coco(boxes, images, out, classes=classes)
    if format == "yolo":
        return write_yolo(boxes, images, out, classes=classes)
    raise InputError(f"cannot write box format {format!r}; use one of {', '.join(WRITE_FORMATS)}")
