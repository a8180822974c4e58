"""Greedy non-maximum suppression on the shared IoU of :mod:`assay._boxes`."""

from __future__ import annotations

import numpy as np

from assay._boxes import iou_matrix


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, *,
                        iou_threshold: float = 0.3,
                        max_keep: int | None = None) -> np.ndarray:
    """Keep the best-scoring boxes, dropping any box that overlaps a kept one too much.

    Greedy: take the highest score, drop every remaining box whose IoU with it is
    above ``iou_threshold``, repeat. Ties keep the earlier box. The pairwise IoU is
    computed once (n x n), so pass at most a few thousand boxes.

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
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    limit = len(order) if max_keep is None else max_keep
    overlap = iou_matrix(boxes[order], boxes[order]) > iou_threshold
    suppressed = np.zeros(len(order), dtype=bool)
    kept: list[int] = []
    for i in range(len(order)):
        if len(kept) == limit:
            break
        if not suppressed[i]:
            kept.append(int(order[i]))
            suppressed |= overlap[i]
    return np.asarray(kept, dtype=np.int64)
