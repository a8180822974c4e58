"""Bounding boxes: the frame contract, IoU and one-to-one matching.

Boxes travel as a DataFrame with one row per box: ``image``, ``label`` (the class),
``x``, ``y``, ``w``, ``h`` (pixels, top-left origin), plus ``annotator`` for labelers'
boxes and ``score`` for a model's predictions. Collect (box agreement, consensus),
train (mAP, box label issues) and deploy (box statistics) all read that frame through
:func:`check_boxes` and pair boxes through :func:`match_boxes`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .exceptions import InputError

__all__ = [
    "BOX_COLUMNS",
    "BoxMatches",
    "candidate_pairs",
    "check_boxes",
    "iou_matrix",
    "iou_rows",
    "match_boxes",
    "match_pair",
]

#: Components up to this many boxes on each side are solved by trying every pairing.
_SMALL = 4
_PAIRINGS = np.array(list(itertools.permutations(range(_SMALL))))  # (24, 4)

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


def iou_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of each box in ``a`` with the box in the same row of ``b``.

    Parameters
    ----------
    a, b : ndarray, shape (n, 4)
        Boxes as ``x, y, w, h``.

    Returns
    -------
    ndarray, shape (n,)
        IoU in [0, 1]; 0 where the two boxes do not overlap.
    """
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    iw = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


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
    from scipy.optimize import linear_sum_assignment  # here: SciPy's optimize is slow to import

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

    The assignment is the one of :func:`match_pair` per group, solved per connected
    component of the overlapping pairs: a box overlapping no other box of its group on
    the other side has no partner; a component with a single box on one side takes its
    best-overlapping partner; components of up to 4 x 4 boxes try every pairing at once,
    and only larger ones go to the Hungarian solver one by one (the optimum of a group is
    the sum of its components' optima).

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
        Arrays of length n_pairs + n_unmatched_left + n_unmatched_right: the pairs
        (ordered by their left row), then the unmatched left rows, then the unmatched
        right rows (each ascending).
    """
    lg = left[list(_GEOMETRY)].to_numpy(dtype=float)
    rg = right[list(_GEOMETRY)].to_numpy(dtype=float)
    lkey, rkey = _group_codes(left, right, by_label)
    li, ri = candidate_pairs(lkey, rkey)
    iou = iou_rows(lg[li], rg[ri])
    pos = iou > 0
    pl, pr, piou = _best_assignment(li[pos], ri[pos], iou[pos])
    keep = piou >= min_iou
    pl, pr, piou = pl[keep], pr[keep], piou[keep]
    order = np.argsort(pl, kind="stable")
    pl, pr, piou = pl[order], pr[order], piou[order]
    only_l = _unpaired(len(left), pl)
    only_r = _unpaired(len(right), pr)
    return BoxMatches(
        left=np.concatenate([pl, only_l, np.full(only_r.size, -1)]).astype(np.int64),
        right=np.concatenate([pr, np.full(only_l.size, -1), only_r]).astype(np.int64),
        iou=np.concatenate([piou, np.zeros(only_l.size + only_r.size)]),
    )


def _unpaired(n: int, paired: np.ndarray) -> np.ndarray:
    free = np.ones(n, dtype=bool)
    free[paired] = False
    return np.flatnonzero(free)


def _group_codes(
    left: pd.DataFrame, right: pd.DataFrame, by_label: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One integer per box naming its group (image, or image and class), shared codes."""
    keys = ["image", "label"] if by_label else ["image"]
    both = pd.concat([left[keys], right[keys]], ignore_index=True)
    codes = both.groupby(keys, sort=False, dropna=False).ngroup().to_numpy(np.int64)
    return codes[: len(left)], codes[len(left):]


def candidate_pairs(lkey: np.ndarray, rkey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (left, right) pair of boxes with the same group code, without a Python loop.

    Parameters
    ----------
    lkey : ndarray of int, shape (n,)
    rkey : ndarray of int, shape (m,)

    Returns
    -------
    left, right : ndarray of int, shape (n_pairs,)
        Row positions; ``n_pairs`` is the sum over groups of ``n_left * n_right``.
    """
    order = np.argsort(rkey, kind="stable")
    sorted_keys = rkey[order]
    start = np.searchsorted(sorted_keys, lkey, side="left")
    counts = np.searchsorted(sorted_keys, lkey, side="right") - start
    li = np.repeat(np.arange(len(lkey), dtype=np.int64), counts)
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts)
    return li, order[np.repeat(start, counts) + offsets].astype(np.int64)


def _best_assignment(
    li: np.ndarray, ri: np.ndarray, iou: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The largest-total-IoU one-to-one pairs among overlapping pairs, by component."""
    if li.size == 0:
        return li, ri, iou
    nl = int(li.max()) + 1
    graph = sparse.coo_matrix((np.ones(li.size), (li, nl + ri)),
                              shape=(nl + int(ri.max()) + 1,) * 2)
    _, comp = connected_components(graph, directed=False)
    c = comp[li]
    n_left = np.bincount(c, weights=np.r_[1.0, 0.0][_first_of(li)])
    n_right = np.bincount(c, weights=np.r_[1.0, 0.0][_first_of(ri)])
    star = (n_left[c] == 1) | (n_right[c] == 1)
    # a component with one box on a side: its best edge (ties: the first)
    best = np.zeros(li.size, dtype=bool)
    s = np.flatnonzero(star)
    if s.size:
        order = s[np.lexsort((-iou[s], c[s]))]
        first = np.r_[True, c[order][1:] != c[order][:-1]]
        best[order[first]] = True
    out = [(li[best], ri[best], iou[best])]
    hard = np.flatnonzero(~star)
    if hard.size:
        out.append(_component_assignment(li[hard], ri[hard], iou[hard], c[hard]))
    return tuple(np.concatenate(part) for part in zip(*out, strict=True))  # type: ignore[return-value]


def _first_of(nodes: np.ndarray) -> np.ndarray:
    """0 where ``nodes[k]`` appears for the first time, else 1 (to count distinct nodes)."""
    flag = np.ones(nodes.size, dtype=np.int64)
    flag[np.unique(nodes, return_index=True)[1]] = 0
    return flag


def _component_assignment(
    li: np.ndarray, ri: np.ndarray, iou: np.ndarray, comp: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best assignment inside each component of two or more boxes on both sides:
    small ones (up to 4 x 4) by trying every pairing at once, larger ones one by one."""
    _, comp = np.unique(comp, return_inverse=True)
    n_comp = int(comp.max()) + 1
    l_nodes, l_start, lrow = _local_positions(comp, li, n_comp)
    r_nodes, r_start, rcol = _local_positions(comp, ri, n_comp)
    small = (np.diff(l_start) <= _SMALL) & (np.diff(r_start) <= _SMALL)
    # IoU of every component's boxes, 0 where they do not overlap or for padding
    k = np.flatnonzero(small)
    slot = np.cumsum(small) - 1
    e = small[comp]
    grid = np.zeros((k.size, _SMALL, _SMALL))
    grid[slot[comp[e]], lrow[e], rcol[e]] = iou[e]
    best = _PAIRINGS[grid[:, np.arange(_SMALL), _PAIRINGS].sum(axis=2).argmax(axis=1)]
    rows = np.broadcast_to(np.arange(_SMALL), best.shape)
    value = np.take_along_axis(grid, best[:, :, None], axis=2)[:, :, 0]
    got = value > 0
    comp_of = np.broadcast_to(k[:, None], best.shape)[got]
    out = [(l_nodes[l_start[comp_of] + rows[got]], r_nodes[r_start[comp_of] + best[got]],
            value[got])]
    from scipy.optimize import linear_sum_assignment

    large = np.flatnonzero(~small)
    order = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[order], np.arange(n_comp + 1))
    for c in large:
        edges = order[bounds[c]: bounds[c + 1]]
        matrix = np.zeros((l_start[c + 1] - l_start[c], r_start[c + 1] - r_start[c]))
        matrix[lrow[edges], rcol[edges]] = iou[edges]
        r, q = linear_sum_assignment(matrix, maximize=True)
        keep = matrix[r, q] > 0
        out.append((l_nodes[l_start[c] + r[keep]], r_nodes[r_start[c] + q[keep]],
                    matrix[r, q][keep]))
    pl, pr, pi = (np.concatenate(x) for x in zip(*out, strict=True))
    return pl, pr, pi


def _local_positions(
    comp: np.ndarray, node: np.ndarray, n_comp: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct nodes of each component (sorted by component), where each
    component's nodes start, and each edge's node position inside its component."""
    width = int(node.max()) + 1
    key = comp.astype(np.int64) * width + node
    distinct = np.unique(key)
    start = np.searchsorted(distinct // width, np.arange(n_comp + 1))
    return distinct % width, start, np.searchsorted(distinct, key) - start[comp]
