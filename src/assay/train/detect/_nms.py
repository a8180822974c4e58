"""Greedy non-maximum suppression (IoU as in :func:`assay._boxes.iou_matrix`)."""

from __future__ import annotations

import numpy as np


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, *,
                        iou_threshold: float = 0.3,
                        max_keep: int | None = None) -> np.ndarray:
    """Keep the best-scoring boxes, dropping any box that overlaps a kept one too much.

    Greedy: take the highest score, drop every remaining box whose IoU with it is
    above ``iou_threshold``, repeat. Ties keep the earlier box. Each kept box is
    compared with the boxes still in play only, so the cost falls as boxes are
    suppressed.

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
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    in_play = np.arange(len(order))
    kept: list[int] = []
    with np.errstate(invalid="ignore", divide="ignore"):
        while in_play.size and len(kept) < limit:
            i, rest = int(in_play[0]), in_play[1:]
            kept.append(i)
            inter = np.maximum(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0.0)
            inter *= np.maximum(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0.0)
            union = area[i] + area[rest] - inter
            in_play = rest[np.where(union > 0, inter / union, 0.0) <= iou_threshold]
    return order[np.asarray(kept, dtype=np.int64)].astype(np.int64)
