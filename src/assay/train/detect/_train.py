"""Training examples of one class's window classifier: positives, negatives, hard ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assay._boxes import iou_matrix
from assay.train.detect._hog import SCALE_STEP, Window, crop_features, window_features
from assay.train.detect._images import Loaded
from assay.train.detect._nms import non_max_suppression
from assay.train.detect._scan import Candidates, scan

#: A window is background for a class when its IoU with every box of the class is below.
NEGATIVE_IOU = 0.3


def positives(images: Sequence[Loaded], boxes: Sequence[np.ndarray],
              window: Window) -> np.ndarray:
    """Each box cropped and resized to the window, and its mirror image.

    Parameters
    ----------
    boxes : sequence of ndarray, shape (n_i, 4)
        The class's boxes per image, in downscaled pixels.

    Returns
    -------
    ndarray, shape (2 * n_boxes, n_features)
    """
    feats = [crop_features(img.pixels, box, window, flip=flip)
             for img, img_boxes in zip(images, boxes, strict=True)
             for box in img_boxes for flip in (False, True)]
    return np.stack(feats) if feats else np.zeros((0, window.n_features), np.float32)


def random_negatives(grids: dict[int, np.ndarray], window: Window, boxes: np.ndarray,
                     count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` random windows of one image that overlap no box of the class.

    Returns
    -------
    ndarray, shape (<= count, n_features)
    """
    br, bc = window.rows - 1, window.cols - 1
    fits = [k for k in window.scale_exponents
            if grids[k].shape[0] >= br and grids[k].shape[1] >= bc]
    out = []
    for k in rng.choice(fits, size=4 * count) if fits else ():
        grid = grids[int(k)]
        r = int(rng.integers(grid.shape[0] - br + 1))
        c = int(rng.integers(grid.shape[1] - bc + 1))
        side = window.cell / SCALE_STEP ** int(k)
        box = np.array([c * side, r * side, window.cols * side, window.rows * side])
        if len(boxes) and iou_matrix(box, boxes).max() >= NEGATIVE_IOU:
            continue
        out.append(window_features(grid, window, np.array([r]), np.array([c]))[0])
        if len(out) == count:
            break
    return np.stack(out) if out else np.zeros((0, window.n_features), np.float32)


@dataclass(frozen=True)
class Mined:
    """What one scan of a training image teaches.

    ``negatives`` (n, n_features): the best-scoring background windows (false
    positives); ``near`` (m, n_features) and ``offsets`` (m, 4): windows that overlap a
    box (IoU >= :data:`REGRESSION_IOU`) and the box as offsets from the window
    (:func:`box_offsets`), to learn the box regression from.
    """

    negatives: np.ndarray
    near: np.ndarray
    offsets: np.ndarray


#: Windows at least this close to a box teach the box regression.
REGRESSION_IOU = 0.4


def mine(grids: dict[int, np.ndarray], window: Window, coef: np.ndarray,
         intercept: float, boxes: np.ndarray, count: int) -> Mined:
    """Scan one training image with the first SVM: hard negatives and regression pairs.

    Only windows the classifier scores above -1 (inside or on the wrong side of the
    margin) are taken as negatives; they are thinned by NMS so they are not
    near-copies of each other.
    """
    cand = scan(grids, window, coef, intercept, top=4 * count)
    empty = np.zeros((0, window.n_features), np.float32)
    if len(cand.scores) == 0:
        return Mined(empty, empty, np.zeros((0, 4)))
    iou = iou_matrix(cand.boxes, boxes) if len(boxes) else np.zeros((len(cand.scores), 1))
    best = iou.max(axis=1)
    idx = np.flatnonzero((best < NEGATIVE_IOU) & (cand.scores > -1.0))
    idx = idx[non_max_suppression(cand.boxes[idx], cand.scores[idx], iou_threshold=0.5,
                                  max_keep=count)]
    near = np.flatnonzero(best >= REGRESSION_IOU)
    offsets = box_offsets(cand.boxes[near], boxes[iou[near].argmax(axis=1)]) \
        if len(boxes) else np.zeros((0, 4))
    return Mined(candidate_features(grids, window, cand, idx), candidate_features(grids, window, cand, near),
                 offsets)


def candidate_features(grids: dict[int, np.ndarray], window: Window, cand: Candidates,
              idx: np.ndarray) -> np.ndarray:
    if len(idx) == 0:
        return np.zeros((0, window.n_features), np.float32)
    return np.stack([window_features(grids[int(cand.exponents[i])], window,
                                     cand.rows[i:i + 1], cand.cols[i:i + 1])[0] for i in idx])


def box_offsets(windows: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Boxes relative to windows: centre shift over size, log size ratio.

    Parameters
    ----------
    windows, boxes : ndarray, shape (n, 4)
        ``x, y, w, h``, pairwise.

    Returns
    -------
    ndarray, shape (n, 4)
        ``dx, dy, dw, dh`` as in R-CNN's box regression.
    """
    wc = windows[:, :2] + windows[:, 2:] / 2
    bc = boxes[:, :2] + boxes[:, 2:] / 2
    return np.column_stack([(bc - wc) / windows[:, 2:], np.log(boxes[:, 2:] / windows[:, 2:])])


def apply_offsets(windows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Inverse of :func:`box_offsets`: the boxes the offsets point to, shape (n, 4)."""
    size = windows[:, 2:] * np.exp(np.clip(offsets[:, 2:], -1.0, 1.0))
    centre = windows[:, :2] + windows[:, 2:] / 2 + offsets[:, :2] * windows[:, 2:]
    return np.column_stack([centre - size / 2, size])
