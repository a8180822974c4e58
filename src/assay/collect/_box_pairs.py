"""Labelers' boxes compared two at a time: matches, merged groups, class confusions.

Shared by :mod:`assay.collect.agreement_boxes` and :mod:`assay.collect.consensus_boxes`:
:func:`prepare` checks a labelers' boxes frame and encodes it; :func:`compare_pair`
matches two labelers' boxes on the images both saw (Hungarian per image and class, via
:func:`assay._boxes.match_boxes`) and sorts what is left unmatched into merged groups,
class confusions and plain unmatched boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from assay._boxes import candidate_pairs, check_boxes, match_boxes
from assay.exceptions import InputError

__all__ = ["BoxSet", "PairComparison", "compare_pair", "prepare"]


@dataclass(frozen=True)
class BoxSet:
    """A checked labelers' boxes frame, encoded.

    ``frame`` has a RangeIndex (row = box); ``image``, ``label`` and ``annotator`` are
    integer codes into ``images``, ``labels`` and ``annotators``; ``geometry`` is
    (n_boxes, 4) ``x, y, w, h``; ``saw`` (n_images, n_annotators) says which labeler
    looked at which image.
    """

    frame: pd.DataFrame
    images: pd.Index
    labels: pd.Index
    annotators: pd.Index
    image: np.ndarray
    label: np.ndarray
    annotator: np.ndarray
    geometry: np.ndarray
    saw: np.ndarray

    @property
    def area(self) -> np.ndarray:
        return self.geometry[:, 2] * self.geometry[:, 3]

    def rows_of(self, a: int, images: np.ndarray | None = None) -> np.ndarray:
        """Rows of annotator ``a`` (on the images where ``images`` is True)."""
        keep = self.annotator == a
        if images is not None:
            keep &= images[self.image]
        return np.flatnonzero(keep)


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


def _saw(frame: pd.DataFrame, images: pd.Index, annotators: pd.Index,
         assignments: pd.DataFrame | None) -> np.ndarray:
    if assignments is None:
        return np.ones((len(images), len(annotators)), dtype=bool)
    if not isinstance(assignments, pd.DataFrame) or not {"image", "annotator"} <= set(
            assignments.columns):
        raise InputError(
            "assignments must be a DataFrame with columns image, annotator (one row per "
            "image a labeler looked at); pass None if every labeler saw every image")
    i = images.get_indexer(pd.Index(assignments["image"]))
    a = annotators.get_indexer(pd.Index(assignments["annotator"]))
    ok = (i >= 0) & (a >= 0)
    saw = np.zeros((len(images), len(annotators)), dtype=bool)
    saw[i[ok], a[ok]] = True
    drew = np.zeros_like(saw)
    drew[images.get_indexer(pd.Index(frame["image"])),
         annotators.get_indexer(pd.Index(frame["annotator"]))] = True
    missing = np.argwhere(drew & ~saw)
    if missing.size:
        img, ann = missing[0]
        raise InputError(
            f"assignments: annotator {annotators[ann]!r} drew boxes on image "
            f"{images[img]!r} but has no assignment row for it ({len(missing)} such "
            "image/annotator pair(s)); add the rows or fix the annotator names")
    return saw


def prepare(boxes: pd.DataFrame, assignments: pd.DataFrame | None = None,
            where: str = "boxes") -> BoxSet:
    """Check and encode labelers' boxes (columns of a boxes frame plus ``annotator``).

    Raises
    ------
    InputError
        A missing column, a bad box (see :func:`assay._boxes.check_boxes`), fewer than
        two annotators, or assignments that leave out an image a labeler drew on.
    """
    frame = check_boxes(boxes, where=where, extra=("annotator",))
    ann, annotators = _codes(frame["annotator"].astype(str))
    if len(annotators) < 2:
        found = f"only {annotators[0]!r}" if len(annotators) else "none"
        raise InputError(
            f"{where}: box agreement and consensus need boxes from at least two "
            f"annotators in the column 'annotator', found {found}; have a second "
            "labeler box the same images")
    frame["annotator"] = annotators[ann]
    image, images = _codes(frame["image"])
    label, labels = _codes(frame["label"].astype(str))
    frame["label"] = labels[label]
    return BoxSet(
        frame=frame, images=images, labels=labels, annotators=annotators, image=image,
        label=label, annotator=ann, geometry=frame[["x", "y", "w", "h"]].to_numpy(float),
        saw=_saw(frame, images, annotators, assignments),
    )


@dataclass(frozen=True)
class PairComparison:
    """Two labelers ``a`` and ``b`` on the images both saw (row positions of the box set).

    ``rows_a``/``rows_b``: their boxes there. ``match_a``/``match_b``/``iou``: the same-class
    pairs with IoU > 0 of the Hungarian matching. ``hit_a``/``hit_b``: rows matched at IoU
    >= ``match_iou``. ``merged_by_a``: a's boxes drawn around two or more of b's (and the
    reverse), ``group_size_a``: how many of b's boxes each covers; ``in_group_a``: a's unmatched boxes explained by a merged group (either
    side). ``confused_a``/``confused_b``: cross-class pairs at IoU >= ``match_iou``.
    ``lone_a``/``lone_b``: unmatched boxes left over (missing or extra).
    """

    a: int
    b: int
    shared: np.ndarray
    rows_a: np.ndarray
    rows_b: np.ndarray
    match_a: np.ndarray
    match_b: np.ndarray
    iou: np.ndarray
    hit_a: np.ndarray
    hit_b: np.ndarray
    merged_by_a: np.ndarray
    merged_by_b: np.ndarray
    group_size_a: np.ndarray
    group_size_b: np.ndarray
    confused_a: np.ndarray
    confused_b: np.ndarray
    lone_a: np.ndarray
    lone_b: np.ndarray


def _sub(bs: BoxSet, rows: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "image": bs.image[rows], "label": bs.label[rows],
        "x": bs.geometry[rows, 0], "y": bs.geometry[rows, 1],
        "w": bs.geometry[rows, 2], "h": bs.geometry[rows, 3],
    })


def _covering(bs: BoxSet, big: np.ndarray, small: np.ndarray, cover: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Same-class pairs (big box, smaller box) where the smaller lies >= ``cover`` inside.

    The intersection is taken over the smaller box's area (IoU would call a box drawn
    around two objects a poor match for both).
    """
    key = bs.image * len(bs.labels) + bs.label
    bi, si = candidate_pairs(key[big], key[small])
    bi, si = big[bi], small[si]
    g, area = bs.geometry, bs.area
    iw = (np.minimum(g[bi, 0] + g[bi, 2], g[si, 0] + g[si, 2])
          - np.maximum(g[bi, 0], g[si, 0]))
    ih = (np.minimum(g[bi, 1] + g[bi, 3], g[si, 1] + g[si, 3])
          - np.maximum(g[bi, 1], g[si, 1]))
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    keep = (area[bi] > area[si]) & (inter >= cover * area[si])
    return bi[keep], si[keep]


def _merged_groups(bs: BoxSet, rows_big: np.ndarray, rows_small: np.ndarray,
                   hit: np.ndarray, cover: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes drawn around >= 2 of the other labeler's boxes where a match is missing:
    the group boxes, how many boxes each covers, and the covered boxes."""
    bi, si = _covering(bs, rows_big, rows_small, cover)
    if bi.size == 0:
        return bi, bi, si
    groups, inverse, counts = np.unique(bi, return_inverse=True, return_counts=True)
    missed = np.bincount(inverse, weights=~hit[si], minlength=groups.size)
    real = (counts >= 2) & ((~hit[groups]) | (missed > 0))
    return groups[real], counts[real], si[real[inverse]]


def compare_pair(bs: BoxSet, a: int, b: int, *, match_iou: float, cover: float
                 ) -> PairComparison:
    """Match labelers ``a`` and ``b`` and sort their unmatched boxes by kind."""
    shared = bs.saw[:, a] & bs.saw[:, b]
    ra, rb = bs.rows_of(a, shared), bs.rows_of(b, shared)
    m = match_boxes(_sub(bs, ra), _sub(bs, rb))
    both = (m.left >= 0) & (m.right >= 0)
    ma, mb, iou = ra[m.left[both]], rb[m.right[both]], m.iou[both]
    hit = np.zeros(len(bs.frame), dtype=bool)
    hit[ma[iou >= match_iou]] = True
    hit[mb[iou >= match_iou]] = True
    groups_a, size_a, covered_b = _merged_groups(bs, ra, rb, hit, cover)
    groups_b, size_b, covered_a = _merged_groups(bs, rb, ra, hit, cover)
    grouped = np.zeros(len(bs.frame), dtype=bool)
    grouped[np.concatenate([groups_a, covered_b, groups_b, covered_a])] = True
    left_a = ra[~hit[ra] & ~grouped[ra]]
    left_b = rb[~hit[rb] & ~grouped[rb]]
    ca, cb = _confusions(bs, left_a, left_b, match_iou)
    confused = np.zeros(len(bs.frame), dtype=bool)
    confused[np.concatenate([ca, cb])] = True
    return PairComparison(
        a=a, b=b, shared=shared, rows_a=ra, rows_b=rb, match_a=ma, match_b=mb, iou=iou,
        hit_a=ra[hit[ra]], hit_b=rb[hit[rb]], merged_by_a=groups_a, merged_by_b=groups_b,
        group_size_a=size_a, group_size_b=size_b,
        confused_a=ca, confused_b=cb,
        lone_a=left_a[~confused[left_a]], lone_b=left_b[~confused[left_b]],
    )


def _confusions(bs: BoxSet, left_a: np.ndarray, left_b: np.ndarray, match_iou: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Unmatched boxes of a and b paired across classes at IoU >= ``match_iou``."""
    if left_a.size == 0 or left_b.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    m = match_boxes(_sub(bs, left_a), _sub(bs, left_b), by_label=False, min_iou=match_iou)
    both = (m.left >= 0) & (m.right >= 0)
    pa, pb = left_a[m.left[both]], left_b[m.right[both]]
    differ = bs.label[pa] != bs.label[pb]
    return pa[differ], pb[differ]
