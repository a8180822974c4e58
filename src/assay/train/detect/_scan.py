"""Scan an image's pyramid with one class's linear window classifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.train.detect._hog import SCALE_STEP, Window, hog_grid, rescaled, score_map
from assay.train.detect._images import Loaded


@dataclass(frozen=True)
class Candidates:
    """Scored windows of one image and class.

    ``boxes`` (n, 4) are ``x, y, w, h`` in the downscaled image's pixels; ``grids``,
    ``rows``, ``cols`` locate each window's features (scale exponent, top-left cell).
    """

    boxes: np.ndarray
    scores: np.ndarray
    exponents: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


def pyramid(image: Loaded, exponents: set[int], cell: int,
            memory: dict[Any, np.ndarray] | None) -> dict[int, np.ndarray]:
    """HOG block grids of the image at each scale ``SCALE_STEP ** k``.

    ``memory`` (a dict the caller keeps, or None) reuses the grids of the same pixels
    across calls.
    """
    grids = {}
    for k in sorted(exponents):
        key = (image.key, image.pixels.shape, cell, k)
        if memory is not None and key in memory:
            grids[k] = memory[key]
            continue
        grid = hog_grid(rescaled(image.pixels, SCALE_STEP ** k), cell)
        if memory is not None:
            memory[key] = grid
        grids[k] = grid
    return grids


def scan(grids: dict[int, np.ndarray], window: Window, coef: np.ndarray,
         intercept: float, *, top: int, min_score: float = -np.inf) -> Candidates:
    """The ``top`` best-scoring windows of the class over the pyramid.

    Parameters
    ----------
    grids : dict of int to ndarray, shape (R, C, 36)
        From :func:`pyramid`; must hold the window's scale exponents.
    coef : ndarray, shape (n_features,)
    top : int
        Keep at most this many windows per scale.
    min_score : float
        Drop windows scoring below this.
    """
    parts = []
    for k in window.scale_exponents:
        scores = score_map(grids[k], window, coef, intercept)
        if scores.size == 0:
            continue
        flat = scores.ravel()
        best = np.argsort(-flat, kind="stable")[:top]
        best = best[flat[best] >= min_score]
        rows, cols = np.unravel_index(best, scores.shape)
        side = window.cell / SCALE_STEP ** k
        boxes = np.column_stack([cols * side, rows * side,
                                 np.full(best.size, window.cols * side),
                                 np.full(best.size, window.rows * side)])
        parts.append((boxes, flat[best], np.full(best.size, k), rows, cols))
    if not parts:
        return Candidates(np.zeros((0, 4)), np.zeros(0), *(np.zeros(0, int),) * 3)
    return Candidates(*(np.concatenate(p) for p in zip(*parts, strict=True)))
