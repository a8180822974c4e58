"""Bounding boxes: the frame contract, IoU and one-to-one matching.

Boxes travel as a DataFrame with one row per box: ``image``, ``label`` (the class),
``x``, ``y``, ``w``, ``h`` (pixels, top-left origin), plus ``annotator`` for labelers'
boxes and ``score`` for a model's predictions. Collect (box agreement, consensus),
train (mAP, box label issues) and deploy (box statistics) all read that frame through
:func:`check_boxes` and pair boxes through :func:`match_boxes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .exceptions import InputError

__all__ = [
    "BOX_COLUMNS",
    "BoxMatches",
    "check_boxes",
    "iou_matrix",
    "match_boxes",
    "match_pair",
]

#: The columns every boxes frame has.
BOX_COLUMNS = ("image", "label", "x", "y", "w", "h")
_GEOMETRY = ("x", "y", "w", "h")


def check_boxes(
    boxes: pd.DataFrame,
    *,
    where: str = "boxes",
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """Check a boxes frame and return it with float geometry and a fresh index.

    Parameters
    ----------
    boxes : DataFrame, shape (n_boxes, >= 6)
        One row per box with the columns of :data:`BOX_COLUMNS`.
    where : str
        How the frame is named in error messages (a parameter or a file).
    extra : sequence of str
        Further columns that must be present (``"annotator"``, ``"score"``).

    Returns
    -------
    DataFrame, shape (n_boxes, >= 6)
        A copy with ``x, y, w, h`` (and ``score``) as float64 and a RangeIndex; the
        original row positions are kept in the order of the rows.

    Raises
    ------
    InputError
        A missing column, a missing image or label, a non-finite coordinate, or a box
        of zero or negative width or height, naming the first offending row.
    """
    if not isinstance(boxes, pd.DataFrame):
        raise InputError(
            f"{where} must be a pandas DataFrame with columns "
            f"{', '.join(BOX_COLUMNS)}; got {type(boxes).__name__}"
        )
    required = (*BOX_COLUMNS, *extra)
    missing = [c for c in required if c not in boxes.columns]
    if missing:
        raise InputError(
            f"{where} lacks the column(s) {', '.join(missing)}; a boxes frame has one row "
            f"per box with {', '.join(required)}"
        )
    out = boxes.reset_index(drop=True).copy()
    for column in ("image", "label", *extra):
        _no_missing(out, column, where)
    numeric = [*_GEOMETRY, *(c for c in extra if c == "score")]
    for column in numeric:
        out[column] = _finite_column(out, column, where)
    bad = np.flatnonzero((out["w"].to_numpy() <= 0) | (out["h"].to_numpy() <= 0))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{where} row {row} (image {out['image'].iloc[row]!r}): a box needs a positive "
            f"width and height, got w={out['w'].iloc[row]:g}, h={out['h'].iloc[row]:g}; "
            f"drop the box or fix its size ({bad.size} such box(es))"
        )
    return out


def _no_missing(frame: pd.DataFrame, column: str, where: str) -> None:
    missing = np.flatnonzero(frame[column].isna().to_numpy())
    if missing.size:
        raise InputError(
            f"{where} row {int(missing[0])}: column {column!r} is empty; every box needs "
            f"one ({missing.size} such row(s))"
        )


def _finite_column(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{where} row {row}, column {column!r}: {frame[column].iloc[row]!r} is not a "
            f"finite number of pixels ({bad.size} such row(s))"
        )
    return values


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b``.

    Parameters
    ----------
    a : ndarray, shape (n, 4)
        Boxes as ``x, y, w, h``.
    b : ndarray, shape (m, 4)
        Boxes as ``x, y, w, h``.

    Returns
    -------
    ndarray, shape (n, m)
        IoU in [0, 1]; 0 where boxes do not overlap.
    """
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.minimum(ax2[:, None], bx2[None, :]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(ay2[:, None], by2[None, :]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def match_pair(
    a: np.ndarray, b: np.ndarray, *, min_iou: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair the boxes of one image one to one so that the total IoU is largest.

    Parameters
    ----------
    a : ndarray, shape (n, 4)
        Boxes as ``x, y, w, h``.
    b : ndarray, shape (m, 4)
        Boxes as ``x, y, w, h``.
    min_iou : float
        Pairs below this IoU are dropped (their boxes count as unmatched); pairs with
        no overlap are never kept.

    Returns
    -------
    rows : ndarray of int, shape (k,)
        Positions in ``a`` of the matched boxes.
    cols : ndarray of int, shape (k,)
        Positions in ``b`` of their partners.
    iou : ndarray of float, shape (k,)
        The IoU of each pair.
    """
    if len(a) == 0 or len(b) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    iou = iou_matrix(a, b)
    rows, cols = linear_sum_assignment(iou, maximize=True)
    ious = iou[rows, cols]
    keep = (ious > 0) & (ious >= min_iou)
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64), ious[keep]


class BoxMatches(NamedTuple):
    """Box pairs between two boxes frames.

    ``left`` and ``right`` are row positions (-1 where a box found no partner), ``iou``
    the pair's IoU (0 for an unmatched box); one row per pair and per unmatched box.
    """

    left: np.ndarray
    right: np.ndarray
    iou: np.ndarray


def match_boxes(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    by_label: bool = True,
    min_iou: float = 0.0,
) -> BoxMatches:
    """Match two checked boxes frames image by image (and class by class).

    Parameters
    ----------
    left, right : DataFrame
        Frames returned by :func:`check_boxes` (RangeIndex).
    by_label : bool
        Match only boxes of the same class (True) or across classes (False, to find
        class confusions).
    min_iou : float
        Pairs below this IoU count as two unmatched boxes.

    Returns
    -------
    BoxMatches
        Arrays of length n_pairs + n_unmatched_left + n_unmatched_right.
    """
    keys = ["image", "label"] if by_label else ["image"]
    left_groups = left.groupby(keys, sort=False).indices
    right_groups = right.groupby(keys, sort=False).indices
    lg = left[list(_GEOMETRY)].to_numpy(dtype=float)
    rg = right[list(_GEOMETRY)].to_numpy(dtype=float)
    pairs_l: list[np.ndarray] = []
    pairs_r: list[np.ndarray] = []
    pairs_iou: list[np.ndarray] = []
    for key, li in left_groups.items():
        ri = right_groups.get(key)
        if ri is None:
            continue
        rows, cols, ious = match_pair(lg[li], rg[ri], min_iou=min_iou)
        pairs_l.append(li[rows])
        pairs_r.append(ri[cols])
        pairs_iou.append(ious)
    matched_l = np.concatenate(pairs_l) if pairs_l else np.zeros(0, dtype=np.int64)
    matched_r = np.concatenate(pairs_r) if pairs_r else np.zeros(0, dtype=np.int64)
    ious = np.concatenate(pairs_iou) if pairs_iou else np.zeros(0)
    only_l = np.setdiff1d(np.arange(len(left)), matched_l)
    only_r = np.setdiff1d(np.arange(len(right)), matched_r)
    return BoxMatches(
        left=np.concatenate([matched_l, only_l, np.full(only_r.size, -1)]).astype(np.int64),
        right=np.concatenate([matched_r, np.full(only_l.size, -1), only_r]).astype(np.int64),
        iou=np.concatenate([ious, np.zeros(only_l.size + only_r.size)]),
    )
