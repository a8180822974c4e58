"""What an error analysis of a detector slices images by, derived from the images.

A detection dataset rarely carries tags, but where a detector fails usually follows
the images: their size, the size of their objects, how bright they are, where they
come from. :func:`detection_slice_columns` derives one categorical column per aspect
(the tag table reports mAP per value, SliceLine searches their combinations):

* ``image_size``: the image's pixel count in thirds of the dataset (``small``,
  ``medium``, ``large``; fewer when sizes repeat);
* ``box_size``: the median area of its label boxes in COCO's size classes (``small``
  below 32 x 32 pixels, ``medium`` below 96 x 96, ``large``; ``no boxes``);
* ``n_boxes``: ``0``, ``1``, ``2-4``, ``5+`` label boxes;
* ``brightness``: the mean grey level of the image in thirds (``dark``, ``mid``,
  ``bright``), read from the image files (left out when they are not readable);
* ``source``: the image's folder, when the images come from more than one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.tasks.detection import as_boxes

__all__ = ["SLICE_COLUMNS", "detection_slice_columns"]

#: The derived columns, in the order they are added.
SLICE_COLUMNS = ("image_size", "box_size", "n_boxes", "brightness", "source")
#: COCO's size classes: box area below 32**2 is small, below 96**2 medium.
_COCO_SMALL, _COCO_MEDIUM = 32.0**2, 96.0**2
#: Images are shrunk to this side before their grey level is averaged.
_THUMB = 64


def detection_slice_columns(
    labels: Sequence[Any],
    *,
    width: Sequence[Any] | None = None,
    height: Sequence[Any] | None = None,
    paths: Sequence[Any] | None = None,
    root: str | Path | None = None,
) -> pd.DataFrame:
    """The derived slice columns of a detection dataset, one row per item.

    Parameters
    ----------
    labels : sequence of length n
        Each item's list of boxes.
    width, height : sequence of length n, optional
        Image sizes in pixels (``image_size`` is left out without them).
    paths : sequence of length n, optional
        Image paths, relative to ``root`` (``brightness`` and ``source`` need them).
    root : path, optional
        The folder ``paths`` are relative to.

    Returns
    -------
    DataFrame, shape (n, <= 5)
        Text columns among :data:`SLICE_COLUMNS`.
    """
    boxes = [as_boxes(v) or [] for v in labels]
    out = pd.DataFrame(index=range(len(boxes)))
    if width is not None and height is not None:
        pixels = pd.to_numeric(pd.Series(list(width)), errors="coerce").to_numpy(
            float
        ) * pd.to_numeric(pd.Series(list(height)), errors="coerce").to_numpy(float)
        if np.isfinite(pixels).all():
            out["image_size"] = _thirds(pixels, ("small", "medium", "large"))
    out["box_size"] = [_box_size(b) for b in boxes]
    counts = np.array([len(b) for b in boxes])
    out["n_boxes"] = np.select([counts == 0, counts == 1, counts <= 4], ["0", "1", "2-4"], "5+")
    if paths is not None:
        files = [Path(root or ".") / str(p) for p in paths]
        grey = np.array([_grey(f) for f in files])
        if np.isfinite(grey).all():
            out["brightness"] = _thirds(grey, ("dark", "mid", "bright"))
        folders = [str(Path(str(p)).parent) for p in paths]
        if len(set(folders)) > 1:
            out["source"] = folders
    return out


def _thirds(values: np.ndarray, names: tuple[str, str, str]) -> list[str]:
    """Each value's third of the data (ties kept together), named; fewer when repeated."""
    cuts = np.unique(np.quantile(values, [1 / 3, 2 / 3]))
    which = np.searchsorted(cuts, values, side="left")
    used = sorted(set(which.tolist()))
    labels = dict(zip(used, _spread(names, len(used)), strict=True))
    return [labels[w] for w in which.tolist()]


def _spread(names: tuple[str, str, str], k: int) -> list[str]:
    return list(names) if k == 3 else [names[0], names[2]][:k] if k == 2 else [names[1]]


def _box_size(boxes: list[dict[str, Any]]) -> str:
    if not boxes:
        return "no boxes"
    area = float(np.median([b["w"] * b["h"] for b in boxes]))
    return "small" if area < _COCO_SMALL else "medium" if area < _COCO_MEDIUM else "large"


def _grey(path: Path) -> float:
    """The mean grey level of an image in [0, 255]; NaN when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.draft("L", (_THUMB, _THUMB))  # JPEG: decode at a fraction of the size
            small = image.convert("L")
            small.thumbnail((_THUMB, _THUMB))
            return float(np.asarray(small, dtype=np.float64).mean())
    except (OSError, UnidentifiedImageError, ValueError):
        return float("nan")
