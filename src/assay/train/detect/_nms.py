"""Greedy non-maximum suppression (IoU as in :func:`assay._boxes.iou_matrix`)."""

from __future__ import annotations

import numpy as np


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, *,
                        iou_threshold: float = 0.3,
                        max_keep: int | None = None) -> np.ndarray:
    """Keep the best-scoring boxes, dropping any box that overlaps a kept one too much.

    Greedy: take the highest score, drop every remaining box whose IoU with it is
    above ``iou_threshold``, repeat. Ties keep the earlier box. The IoU is computed
    one kept box against the rest at a time (k x n, not n x n), so the cost follows
    the number of boxes kept.

    Parameters
    ----------
    boxes : ndarray, shape (n, 4)
        ``x, y, w, h``.
    scores : ndarray, shape (n,)
    iou_threshold : float
        Boxes with IoU strictly above this with a kept box are suppressed.
    max_keep : int, optional
        Stop after this many kept boxes.

    Returns
    -------
    ndarray of int, shape (k,)
        Positions of the kept boxes, best score first.
    """
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)[order]
    limit = len(order) if max_keep is None else max_keep
    # Corners and areas once; each kept box then costs a few vector operations
    # (iou_matrix's per-call setup dominated when called once per kept box).
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    alive = np.ones(len(order), dtype=bool)
    kept: list[int] = []
    i = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        while len(kept) < limit:
            rest = np.flatnonzero(alive[i:])
            if rest.size == 0:
                break
            i += int(rest[0])
            kept.append(i)
            alive[i] = False
            inter = np.maximum(np.minimum(x2[i], x2) - np.maximum(x1[i], x1), 0.0)
            inter *= np.maximum(np.minimum(y2[i], y2) - np.maximum(y1[i], y1), 0.0)
            union = area[i] + area - inter
            alive &= np.where(union > 0, inter / union, 0.0) <= iou_threshold
    return order[np.asarray(kept, dtype=np.int64)].astype(np.int64)
