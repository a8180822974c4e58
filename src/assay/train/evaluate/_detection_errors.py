"""Per-image true positives, false positives and misses of a detector at IoU 0.5.

mAP ranks a detector over every score; an error analysis needs the boxes it gets
wrong on each image. Predictions are matched to label boxes of their class the way
COCO does (every prediction in descending score, to the unmatched label box it overlaps
most, if that IoU reaches 0.5), once, over all scores; so the matches of the
predictions above any score threshold are the same as if only those were matched.
The threshold is the score at which F1 over all images is highest (the detector's
best operating point on this data), unless one is given. At it, per image: ``tp``
(matched predictions), ``fp`` (unmatched predictions), ``fn`` (unmatched label boxes),
which boxes those are, and ``error`` = ``(fp + fn) / (tp + fp + fn)`` (0 for an image
with neither label boxes nor predictions), the item error SliceLine searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._boxes import candidate_pairs, check_boxes, iou_rows
from assay._validation import Interval, Real, validate_params
from assay.exceptions import InputError

__all__ = ["ImageErrors", "detection_errors"]

#: IoU at which a prediction finds a label box (COCO's AP50).
MATCH_IOU = 0.5
_GEOMETRY = ["x", "y", "w", "h"]


@dataclass(frozen=True)
class ImageErrors:
    """What :func:`detection_errors` returns.

    Attributes
    ----------
    per_image : DataFrame, one row per image
        ``image``, ``tp``, ``fp``, ``fn``, ``error``, ``missed`` (row positions of the
        label boxes no kept prediction found), ``false`` (row positions of the kept
        predictions that found no label box).
    score_threshold : float
        Predictions scored below it are not kept.
    f1 : float
        F1 over all images at the threshold.
    matched : ndarray of bool, shape (n_predictions,)
        Whether each prediction matched a label box (at any threshold).
    """

    per_image: pd.DataFrame
    score_threshold: float
    f1: float
    matched: np.ndarray


@validate_params(
    {
        "score_threshold": [Interval(Real, None, None), None],
        "iou": [Interval(Real, 0, 1, closed="right")],
    }
)
def detection_errors(
    labels: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    images: Sequence[Any] | None = None,
    score_threshold: float | None = None,
    iou: float = MATCH_IOU,
) -> ImageErrors:
    """True positives, false positives and misses per image (see the module docstring).

    Parameters
    ----------
    labels : DataFrame, shape (n_boxes, >= 6)
        Label boxes: ``image``, ``label``, ``x``, ``y``, ``w``, ``h``.
    predictions : DataFrame, shape (n_predictions, >= 7)
        The detector's boxes with ``score``.
    images : sequence, optional
        Every image, in the order of the table (default: the images of either frame,
        as first seen); images without boxes count too.
    score_threshold : float, optional
        Keep predictions scored at least this (default: the F1-best score).
    iou : float
        IoU at which a prediction finds a label box.

    Returns
    -------
    ImageErrors

    Raises
    ------
    InputError
        A frame that is not a boxes frame (:func:`assay._boxes.check_boxes`).
    """
    lab = check_boxes(labels, where="labels")
    pred = check_boxes(predictions, where="predictions", extra=("score",))
    order = pd.Index(
        pd.unique(pd.concat([lab["image"], pred["image"]], ignore_index=True))
        if images is None
        else list(images)
    )
    lab_img = order.get_indexer(pd.Index(lab["image"]))
    pred_img = order.get_indexer(pd.Index(pred["image"]))
    for codes, frame, name in ((lab_img, lab, "labels"), (pred_img, pred, "predictions")):
        if (codes < 0).any():
            row = int(np.flatnonzero(codes < 0)[0])
            raise InputError(
                f"{name} row {row}: image {frame['image'].iloc[row]!r} is not "
                "among images; give every image the boxes are on."
            )
    partner = _greedy_matches(lab, pred, lab_img, pred_img, iou)
    score = pred["score"].to_numpy(dtype=float)
    threshold, f1 = (
        _best_threshold(score, partner >= 0, len(lab))
        if score_threshold is None
        else (float(score_threshold), np.nan)
    )
    kept = score >= threshold
    found = np.zeros(len(lab), dtype=bool)
    found[partner[kept & (partner >= 0)]] = True
    tp = kept & (partner >= 0)
    n = len(order)
    table = pd.DataFrame(
        {
            "image": order.to_numpy(),
            "tp": np.bincount(pred_img[tp], minlength=n),
            "fp": np.bincount(pred_img[kept & ~tp], minlength=n),
            "fn": np.bincount(lab_img[~found], minlength=n),
        }
    )
    total = (table["tp"] + table["fp"] + table["fn"]).to_numpy()
    table["error"] = np.where(total > 0, (table["fp"] + table["fn"]) / np.maximum(total, 1), 0.0)
    table["missed"] = _rows_per_image(np.flatnonzero(~found), lab_img, n)
    table["false"] = _rows_per_image(np.flatnonzero(kept & ~tp), pred_img, n)
    if score_threshold is not None:
        n_tp = int(tp.sum())
        f1 = 2 * n_tp / max(int(kept.sum()) + len(lab), 1)
    return ImageErrors(table, float(threshold), float(f1), partner >= 0)


def _greedy_matches(
    lab: pd.DataFrame, pred: pd.DataFrame, lab_img: np.ndarray, pred_img: np.ndarray, iou: float
) -> np.ndarray:
    """Each prediction's label box (COCO's greedy matching by score), -1 for none."""
    codes, _ = pd.factorize(pd.concat([lab["label"], pred["label"]], ignore_index=True))
    n_lab = len(lab)
    classes = int(codes.max()) + 1 if codes.size else 1
    li, pi = candidate_pairs(lab_img * classes + codes[:n_lab], pred_img * classes + codes[n_lab:])
    overlap = iou_rows(lab[_GEOMETRY].to_numpy()[li], pred[_GEOMETRY].to_numpy()[pi])
    keep = overlap >= iou
    li, pi, overlap = li[keep], pi[keep], overlap[keep]
    score = pred["score"].to_numpy(dtype=float)
    # predictions by descending score (ties: input order), each to its best free box
    order = np.lexsort((-overlap, pi, -score[pi]))
    partner = np.full(len(pred), -1, dtype=np.int64)
    taken = np.zeros(n_lab, dtype=bool)
    for label_row, pred_row in zip(li[order].tolist(), pi[order].tolist(), strict=True):
        if partner[pred_row] < 0 and not taken[label_row]:
            partner[pred_row] = label_row
            taken[label_row] = True
    return partner


def _best_threshold(score: np.ndarray, matched: np.ndarray, n_labels: int) -> tuple[float, float]:
    """The score keeping the predictions at or above it with the highest F1, and that F1."""
    if score.size == 0:
        return float("inf"), 0.0
    order = np.argsort(-score, kind="stable")
    tp = np.cumsum(matched[order])
    kept = np.arange(1, score.size + 1)
    f1 = 2 * tp / (kept + n_labels)
    # a threshold keeps every prediction of its score: only the last of a run of ties
    last = np.r_[score[order][1:] != score[order][:-1], True]
    best = int(np.flatnonzero(last)[np.argmax(f1[last])])
    return float(score[order][best]), float(f1[best])


def _rows_per_image(rows: np.ndarray, image: np.ndarray, n: int) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for row in rows.tolist():
        out[int(image[row])].append(int(row))
    return out
