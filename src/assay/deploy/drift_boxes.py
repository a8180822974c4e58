"""Drift of images with boxes: per-image and per-box feature tables, tested column by column.

A batch of images with boxes (labels, or a detector's boxes) becomes two plain tables
that :func:`assay.deploy.drift.drift` tests like any other columns, so that its tests,
charts, report and profiles apply unchanged:

* **per image** (one row per image): ``brightness`` (mean grey level in [0, 1]) and
  ``contrast`` (standard deviation of the grey levels), read from the image files by
  :func:`image_statistics`, and ``PREFIX:boxes_per_image``;
* **per box** (one row per box): ``PREFIX:box_area`` (the box's area as a share of its
  image's area), ``PREFIX:box_aspect`` (log2 of width over height: 0 is square, +1 twice
  as wide as high) and ``PREFIX:class``.

:func:`box_drift` tests both tables (Kolmogorov-Smirnov and Wasserstein for numbers,
chi-square and Jensen-Shannon for the class mix) against a reference given as tables or
as stored profiles (:func:`box_profiles`, so a monitor never re-reads its reference);
each table's p-values are corrected for multiple testing on their own (their rows are
different units), and the batch drifted when any column did. The per-box tests take the
boxes as independent draws, while the boxes of one image are alike (one slide, one
camera): on a batch of few images their p-values are optimistic, and the effect-size
threshold of each test is what keeps a small difference from being called drift. :func:`outlier_scores`
gives each image a score in [0, 1]: how far its statistics lie in the reference's tails
(0 at the reference's median, 1 beyond all of its sample), for sampling drifted images
to review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.deploy.drift import drift
from assay.deploy.profile import Profile, profile
from assay.deploy.report import DriftReport
from assay.exceptions import InputError

__all__ = [
    "IMAGE_STATISTICS",
    "box_drift",
    "box_profiles",
    "box_tables",
    "image_statistics",
    "outlier_scores",
]

#: The per-image statistics :func:`image_statistics` reads from the pixels.
IMAGE_STATISTICS = ("brightness", "contrast")
#: Images are shrunk to at most this side before their grey levels are summarised
#: (the mean and spread of grey levels barely depend on the resolution).
_STAT_SIDE = 256


def _grey(image: Any, name: Any) -> np.ndarray:
    """One image as grey levels in [0, 1], longest side at most :data:`_STAT_SIDE`."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, np.ndarray):
        arr = np.asarray(image, dtype=np.float64)
        arr = arr[..., :3].mean(axis=2) if arr.ndim == 3 else arr
        if arr.ndim != 2 or arr.size == 0:
            raise InputError(
                f"image {name!r}: an array image has shape (height, width) or "
                f"(height, width, channels); got {np.shape(image)}."
            )
        return arr / 255.0 if arr.max(initial=0.0) > 1.0 else arr
    path = Path(image)
    if not path.is_file():
        raise InputError(
            f"image {name!r}: file {str(path)!r} does not exist; send the image or fix its path."
        )
    try:
        with Image.open(path) as pil:
            pil.draft("L", (_STAT_SIDE, _STAT_SIDE))  # JPEG: decode at a reduced scale
            grey = pil.convert("L")
            grey.thumbnail((_STAT_SIDE, _STAT_SIDE))
            return np.asarray(grey, dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(
            f"image {name!r}: {str(path)!r} is not an image that can be read "
            f"({exc}); send a JPEG or PNG file."
        ) from None


def image_statistics(images: Mapping[Any, Any]) -> pd.DataFrame:
    """Brightness and contrast of each image.

    Parameters
    ----------
    images : mapping of image id to path or array
        Arrays are (height, width) or (height, width, channels), in [0, 1] or [0, 255].

    Returns
    -------
    DataFrame indexed by image id, shape (n_images, 2)
        ``brightness`` (mean grey level in [0, 1]) and ``contrast`` (their standard
        deviation).

    Raises
    ------
    InputError
        A file is missing or is not an image.
    """
    rows = []
    for name, image in images.items():
        grey = _grey(image, name)
        rows.append((float(grey.mean()), float(grey.std())))
    frame = pd.DataFrame(rows, columns=list(IMAGE_STATISTICS), index=list(images), dtype=float)
    frame.index.name = "image"
    return frame


def box_tables(
    boxes: pd.DataFrame,
    width: Sequence[float],
    height: Sequence[float],
    *,
    prefix: str = "label",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-image and per-box tables of the boxes of ``n`` images.

    Parameters
    ----------
    boxes : DataFrame, shape (n_boxes, >= 6)
        A boxes frame (:mod:`assay._boxes`) whose ``image`` is the image's position,
        0 to n - 1.
    width, height : sequence of float, length n
        Each image's size in pixels.
    prefix : str
        Names the columns (``label:box_area``, ``prediction:box_area``).

    Returns
    -------
    per_image : DataFrame, shape (n, 1)
        ``PREFIX:boxes_per_image``.
    per_box : DataFrame, shape (n_boxes, 3)
        ``PREFIX:box_area`` (share of the image's area), ``PREFIX:box_aspect`` (log2 of
        width over height) and ``PREFIX:class``.
    """
    w_img, h_img = np.asarray(width, dtype=float), np.asarray(height, dtype=float)
    n = len(w_img)
    if len(h_img) != n:
        raise InputError(f"width has {n} values and height {len(h_img)}; give one size per image.")
    if n and not (np.isfinite(w_img) & np.isfinite(h_img) & (w_img > 0) & (h_img > 0)).all():
        raise InputError(
            "every image needs a positive, finite width and height to scale "
            "its boxes; fix the image sizes."
        )
    position = boxes["image"].to_numpy(dtype=np.int64) if len(boxes) else np.zeros(0, int)
    if len(position) and (position.min() < 0 or position.max() >= n):
        raise InputError(
            f"boxes name image positions outside 0..{n - 1}; number the images of the batch from 0."
        )
    w, h = boxes["w"].to_numpy(dtype=float), boxes["h"].to_numpy(dtype=float)
    per_image = pd.DataFrame(
        {f"{prefix}:boxes_per_image": np.bincount(position, minlength=n).astype(float)}
    )
    per_box = pd.DataFrame(
        {
            f"{prefix}:box_area": w * h / (w_img[position] * h_img[position]),
            f"{prefix}:box_aspect": np.log2(w / h),
            f"{prefix}:class": boxes["label"].astype(str).to_numpy(dtype=object),
        }
    )
    return per_image, per_box


def _kinds(frame: pd.DataFrame) -> dict[str, str]:
    return {
        str(c): "categorical" if str(c).endswith(":class") else "numeric" for c in frame.columns
    }


def box_profiles(
    per_image: pd.DataFrame, per_box: pd.DataFrame, *, seed: int = 0
) -> dict[str, Any]:
    """Reference profiles of both tables, JSON-safe (``{"images": ..., "boxes": ...}``;
    ``boxes`` is None when the reference holds no box)."""
    images = profile(per_image, column_types=_kinds(per_image), seed=seed)
    boxes = profile(per_box, column_types=_kinds(per_box), seed=seed) if len(per_box) else None
    return {"images": images.to_dict(), "boxes": None if boxes is None else boxes.to_dict()}


def _as_reference(value: Any) -> pd.DataFrame | Profile | None:
    if value is None or isinstance(value, pd.DataFrame | Profile):
        return value
    return Profile.from_dict(value)


def _rows(reference: Any) -> int:
    return int(reference.n_rows) if isinstance(reference, Profile) else len(reference)


def box_drift(
    reference: Mapping[str, Any],
    per_image: pd.DataFrame,
    per_box: pd.DataFrame,
    *,
    seed: int = 0,
) -> DriftReport:
    """Drift of a batch's per-image and per-box tables from the reference's.

    Parameters
    ----------
    reference : mapping
        ``{"images": ..., "boxes": ...}``, each a DataFrame of the same columns, a
        :class:`~assay.deploy.profile.Profile` or its dict (:func:`box_profiles`);
        ``boxes`` may be None (a reference without boxes).
    per_image, per_box : DataFrame
        The batch's tables (:func:`box_tables`, with :func:`image_statistics` columns
        joined to ``per_image``). Columns the reference lacks are not tested.
    seed : int

    Returns
    -------
    DriftReport
        One row per tested column of both tables; ``drifted`` when any column drifted.
        When either side holds no box, the per-box columns are not tested (boxes per
        image says how the counts changed).
    """
    pairs = []
    ref_images, ref_boxes = (
        _as_reference(reference["images"]),
        _as_reference(reference.get("boxes")),
    )
    if ref_images is None or len(per_image) == 0:
        raise InputError("box drift needs a reference and a batch of at least one image.")
    pairs.append((ref_images, per_image))
    if ref_boxes is not None and _rows(ref_boxes) and len(per_box):
        pairs.append((ref_boxes, per_box))
    reports = []
    for ref, cur in pairs:
        ref_columns = list(ref.columns)
        names = [c for c in ref_columns if c in cur.columns]
        types = _kinds(cur[names]) if isinstance(ref, pd.DataFrame) else None
        reports.append(drift(ref, cur[names], columns=names, column_types=types, seed=seed))
    table = pd.concat([r.columns for r in reports])
    charts = {k: v for r in reports for k, v in r.charts.items()}
    params = {
        **reports[0].params,
        "n_ref_images": _rows(ref_images),
        "n_cur_images": len(per_image),
        "n_cur_boxes": len(per_box),
    }
    return DriftReport.build(table, charts, list(table.index), 1.0, params)


def outlier_scores(reference: Profile | Mapping[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """How far each row's numbers lie in the reference's tails, in [0, 1].

    For each numeric column of ``frame`` that the reference profiles, a value's position
    in the reference sample is ``p`` (its empirical distribution function); its score is
    ``|2 p - 1|`` (0 at the median, 1 beyond every reference value), and a row's score is
    the largest over its columns (missing values count 0).

    Returns
    -------
    ndarray of shape (n_rows,)
    """
    ref = _as_reference(reference)
    assert isinstance(ref, Profile)
    scores = np.zeros(len(frame))
    for name, column in ref.columns.items():
        if (
            column.kind != "numeric"
            or name not in frame.columns
            or column.sample is None
            or len(column.sample) == 0
        ):
            continue
        sample = np.asarray(column.sample, dtype=float)
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        low = np.searchsorted(sample, values, side="left")
        high = np.searchsorted(sample, values, side="right")
        p = (low + high) / (2.0 * len(sample))
        score = np.where(np.isnan(values), 0.0, np.abs(2.0 * p - 1.0))
        scores = np.maximum(scores, score)
    return scores
