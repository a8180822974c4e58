"""Bootstrap intervals of COCO-style AP, resampling images.

COCO's accumulation is a per-class pass over the detections of all images sorted by
score: cumulative true and false positives give recall and precision, precision is
made non-increasing from the right and read at 101 recall points. Resampling images
with replacement only changes how often each image counts, so a resample is the same
pass with every detection and label box weighted by its image's multiplicity: one
cumulative sum per class and threshold for a block of resamples at once. Which
detection is a true positive at which IoU threshold comes from the engine
(:func:`assay.train.evaluate._detection.engine_matches`); this module only re-weights.
With all weights 1 the pass reproduces the engine's AP (pinned by the tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from assay._stats import bootstrap_indices

__all__ = ["Matches", "resampled_ap", "weighted_ap"]

#: COCO's 101 recall points.
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
_BLOCK_ELEMENTS = 4_000_000


class Matches(NamedTuple):
    """The engine's verdict on every kept detection, and where the label boxes are.

    ``tp`` is (n_detections, n_thresholds) bool; ``dt_image``/``dt_class`` are codes of
    shape (n_detections,) in the engine's order (score descending, ties by image then
    input order); ``gt_image``/``gt_class`` have shape (n_labels,).
    """

    tp: np.ndarray
    dt_image: np.ndarray
    dt_class: np.ndarray
    gt_image: np.ndarray
    gt_class: np.ndarray
    n_classes: int


def _class_ap(tp: np.ndarray, wd: np.ndarray, n_pos: np.ndarray) -> np.ndarray:
    """AP of one class for a block of resamples at each threshold.

    Parameters
    ----------
    tp : ndarray of bool, shape (n_k, n_thresholds)
        True positives of the class's detections, in score order.
    wd : ndarray, shape (n_block, n_k)
        Each detection's weight (its image's multiplicity) per resample.
    n_pos : ndarray, shape (n_block,)
        Weighted number of label boxes of the class per resample.

    Returns
    -------
    ndarray, shape (n_block, n_thresholds)
        AP; NaN where the resample has no label box of the class.
    """
    n_block, n_k = wd.shape
    out = np.full((n_block, tp.shape[1]), np.nan)
    has = n_pos > 0
    if not has.any():
        return out
    for t in range(tp.shape[1]):
        tps = np.cumsum(wd * tp[:, t], axis=1)
        fps = np.cumsum(wd * ~tp[:, t], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rc = tps / n_pos[:, None]
        pr = tps / (tps + fps + np.spacing(1))
        pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
        for b in np.flatnonzero(has):
            inds = np.searchsorted(rc[b], RECALL_POINTS, side="left")
            inside = inds < n_k
            q = np.zeros(RECALL_POINTS.size)
            q[inside] = pr[b, inds[inside]]
            out[b, t] = q.mean()
    return out


def weighted_ap(matches: Matches, weights: np.ndarray) -> np.ndarray:
    """AP per resample, threshold and class, from image weights.

    Parameters
    ----------
    matches : Matches
        The engine's true positives and the boxes' images and classes.
    weights : ndarray, shape (n_resamples, n_images)
        How often each image is drawn in each resample.

    Returns
    -------
    ndarray, shape (n_resamples, n_thresholds, n_classes)
        NaN where a resample holds no label box of a class.
    """
    n_res = weights.shape[0]
    out = np.full((n_res, matches.tp.shape[1], matches.n_classes), np.nan)
    for k in range(matches.n_classes):
        n_pos = weights[:, matches.gt_image[matches.gt_class == k]].sum(axis=1)
        in_k = matches.dt_class == k
        tp_k, img_k = matches.tp[in_k], matches.dt_image[in_k]
        step = max(1, _BLOCK_ELEMENTS // max(img_k.size, 1))
        for start in range(0, n_res, step):
            block = slice(start, start + step)
            out[block, :, k] = _class_ap(tp_k, weights[block][:, img_k], n_pos[block])
    return out


def _weights(chunks: Iterator[np.ndarray], pool: np.ndarray, n_images: int) -> Iterator[np.ndarray]:
    """Image multiplicities, shape (chunk, n_images), of resamples drawn from ``pool``."""
    for idx in chunks:
        drawn = pool[idx]
        offsets = np.arange(drawn.shape[0])[:, None] * n_images
        counts = np.bincount((drawn + offsets).ravel(), minlength=drawn.shape[0] * n_images)
        yield counts.reshape(drawn.shape[0], n_images).astype(np.float64)


def resampled_ap(
    matches: Matches, pool: np.ndarray, n_images: int, *, n_boot: int, seed: int
) -> np.ndarray:
    """AP of ``n_boot`` resamples of the images in ``pool``.

    Parameters
    ----------
    matches : Matches
        See :func:`weighted_ap`.
    pool : ndarray of int, shape (n_pool,)
        The image codes to resample (all images, or those of one tag).
    n_images : int
        Number of image codes in all.
    n_boot : int
        Number of resamples.
    seed : int
        Seed of the resampling.

    Returns
    -------
    ndarray, shape (n_boot, n_thresholds, n_classes)
    """
    parts = [
        weighted_ap(matches, w)
        for w in _weights(bootstrap_indices(pool.size, n_boot, seed), pool, n_images)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, matches.tp.shape[1],
                                                          matches.n_classes))
