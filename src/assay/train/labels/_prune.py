"""Pruning rules of confident learning: which examples to flag, given the confident joint.

Each rule is a small function ``rule(ctx) -> mask`` registered in :data:`PRUNE_RULES`.
Only examples whose given label is not the (slack-adjusted) argmax can end up flagged
(cleanlab's final ``_reduce_issues`` step), so the noise-rate rule ranks the margins of
those examples only (and, thanks to a lower bound per pair, only the few that can make
the cut), and falls back to the whole class just for the (given, true) pairs where they
cannot fill the quota.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from assay.train.labels._joint import round_preserving_row_totals
from assay.train.labels._stats import FLOAT_SLACK, RowStats

__all__ = ["PRUNE_RULES", "PruneContext", "class_members", "prune_counts"]

#: Cells per block of the margin pass (256 kB of float64: block and temporaries fit L2).
_MARGIN_CELLS = 1 << 15
#: The margins of the first 1/_HEAD_PART of the candidates tighten the cut-off bounds.
_HEAD_PART = 8


def class_members(codes: np.ndarray, n_classes: int) -> list[np.ndarray]:
    """Indices of the examples given each class, in input order (one stable sort)."""
    small = codes.astype(np.int16) if n_classes < np.iinfo(np.int16).max else codes
    order = np.argsort(small, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=n_classes))[:-1]
    return np.split(order, bounds)


def prune_counts(
    joint: np.ndarray, *, min_per_class: int = 1, frac_noise: float = 1.0
) -> np.ndarray:
    """How many examples to prune per (true class, given class): cleanlab's prune matrix.

    Parameters
    ----------
    joint : ndarray of shape (n_classes, n_classes)
        Calibrated confident joint, rows = given labels.

    Returns
    -------
    ndarray of shape (n_classes, n_classes) of int
        Entry ``[j, k]``: examples given ``k`` to flag as truly ``j``; the diagonal keeps
        at least ``min_per_class`` examples per class.
    """
    counts = joint.T.astype(np.float64)
    diag = counts.diagonal().copy()
    new_diag = np.maximum(diag, min_per_class)
    per_col = np.maximum(np.count_nonzero(counts, axis=0) - 1.0, 1.0)
    counts = np.clip(counts - (new_diag - diag) / per_col, 0, None)
    np.fill_diagonal(counts, new_diag)
    reduced = counts * frac_noise
    np.fill_diagonal(reduced, new_diag)
    np.fill_diagonal(reduced, new_diag + (counts - reduced).sum(axis=0))
    return round_preserving_row_totals(reduced.astype(np.int64))


@dataclass
class PruneContext:
    """What a pruning rule may use: the row statistics and the calibrated joint."""

    stats: RowStats
    counts: np.ndarray
    joint: np.ndarray
    min_per_class: int = 1

    @cached_property
    def prune(self) -> np.ndarray:
        """The prune-count matrix (see :func:`prune_counts`)."""
        return prune_counts(self.joint, min_per_class=self.min_per_class)

    @cached_property
    def members(self) -> list[np.ndarray]:
        """Indices of the examples given each class."""
        return class_members(self.stats.codes, self.stats.n_classes)

    def member(self, k: int) -> np.ndarray:
        """Indices of the examples given class ``k`` (without sorting every class)."""
        if "members" in self.__dict__:
            return self.members[k]
        return np.flatnonzero(self.stats.codes == k)

    def prunable(self) -> np.ndarray:
        """Per class: whether it has enough examples to prune any."""
        return self.counts > self.min_per_class


def _top(values: np.ndarray, num: int) -> np.ndarray:
    """Positions of the ``num`` largest values (all if there are fewer)."""
    if num >= len(values):
        return np.arange(len(values))
    return np.argpartition(-values, num - 1)[:num]


def _quota(ctx: PruneContext) -> np.ndarray:
    """Examples to flag per (given k, true j) pair, flattened as ``k * n_classes + j``."""
    quota = ctx.prune.T * ctx.prunable()[:, None]
    np.fill_diagonal(quota, 0)
    return quota.ravel()


def _select_sorted(groups: np.ndarray, values: np.ndarray, quota: np.ndarray) -> np.ndarray:
    """Mask of the entries among the ``quota[g]`` largest values of their group ``g``."""
    by_value = np.argsort(-values)
    small = groups.astype(np.int32) if len(quota) < np.iinfo(np.int32).max else groups
    order = by_value[np.argsort(small[by_value], kind="stable")]  # by group, then value
    found = np.bincount(groups, minlength=len(quota))
    start = np.concatenate(([0], np.cumsum(found)[:-1]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - start[groups[order]]
    return rank < quota[groups]


def _select_top(
    groups: np.ndarray, values: np.ndarray, quota: np.ndarray, bins: int = 64
) -> np.ndarray:
    """Like :func:`_select_sorted` for values in [0, 1], sorting only boundary entries.

    A histogram per group (``bins`` equal bins) settles every entry whose bin lies wholly
    inside or outside its group's quota; only the entries of each group's boundary bin
    are sorted.
    """
    n_groups = len(quota)
    if n_groups * bins > 1 << 22:
        return _select_sorted(groups, values, quota)
    level = bins - 1 - np.minimum((values * bins).astype(np.int64), bins - 1)  # 0 = top
    cell = groups * bins + level
    hist = np.bincount(cell, minlength=n_groups * bins).reshape(n_groups, bins)
    upto = np.cumsum(hist, axis=1).ravel()[cell]  # entries in this bin or higher ones
    above = upto - hist.ravel()[cell]
    left = quota[groups] - above
    selected = upto <= quota[groups]
    edge = np.flatnonzero(~selected & (left > 0))
    if len(edge):
        rest = np.zeros(n_groups, dtype=np.int64)
        rest[groups[edge]] = left[edge]
        selected[edge] = _select_sorted(groups[edge], values[edge], rest)
    return selected


def _kth_largest(groups: np.ndarray, values: np.ndarray, kth: np.ndarray) -> np.ndarray:
    """Per group ``g``, the ``kth[g]``-th largest value (-inf if the group has fewer).

    With many values per group (``values`` in [0, 1]), the ``kth[g]`` largest are picked
    by :func:`_select_top` (no full sort) and the smallest of them is the answer; with few
    values per group, one sort by (group, value) is cheaper than the histogram.
    """
    found = np.bincount(groups, minlength=len(kth))
    if len(values) < len(kth) * 64:
        return _kth_largest_sorted(groups, values, kth, found)
    chosen = np.flatnonzero(_select_top(groups, values, kth))
    out = np.full(len(kth), np.inf)
    np.minimum.at(out, groups[chosen], values[chosen])
    out[(kth < 1) | (found < kth)] = -np.inf
    return out


def _kth_largest_sorted(
    groups: np.ndarray, values: np.ndarray, kth: np.ndarray, found: np.ndarray
) -> np.ndarray:
    """:func:`_kth_largest` by sorting; ``found`` holds the number of values per group."""
    by_value = np.argsort(-values)
    small = groups.astype(np.int16) if len(kth) < np.iinfo(np.int16).max else groups
    order = by_value[np.argsort(small[by_value], kind="stable")]  # by group, then value
    start = np.concatenate(([0], np.cumsum(found)[:-1]))
    out = np.full(len(kth), -np.inf)
    ok = np.flatnonzero((kth >= 1) & (found >= kth))
    out[ok] = values[order[start[ok] + kth[ok] - 1]]
    return out


def _margin_entries(
    stats: RowStats, cand: np.ndarray, bound: np.ndarray, quota: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries ``(row, pair, p_j - p_given)`` that can make their pair's cut.

    A pair's ``quota``-th largest margin among any subset of the rows is a lower bound
    on its cut-off, so the margins of the first eighth of ``cand`` tighten ``bound``
    before the rest are collected (most for pairs whose margins at the argmax are too
    few to bound them); the first eighth's entries below the new bound are dropped.
    When every pair is bounded already, one sweep is cheaper.
    """
    k = stats.n_classes
    if not np.isneginf(bound).any():  # every pair bounded already: one sweep is cheaper
        return _collect_margins(stats, cand, bound)
    head = len(cand) // _HEAD_PART
    rows, pairs, values = _collect_margins(stats, cand[:head], bound)
    bound = np.maximum(bound, _kth_largest(pairs, values, quota).reshape(k, k))
    keep = values >= bound.ravel()[pairs]
    more = _collect_margins(stats, cand[head:], bound)
    return (
        np.concatenate((rows[keep], more[0])),
        np.concatenate((pairs[keep], more[1])),
        np.concatenate((values[keep], more[2])),
    )


def _collect_margins(
    stats: RowStats, cand: np.ndarray, bound: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries ``(row, pair, p_j - p_given)`` of the rows ``cand`` whose margin is above
    2e-6 and reaches ``bound[given, j]``.

    The rows are gathered in L2-sized blocks; the margins are computed in place.
    """
    k = stats.n_classes
    floor = np.maximum(bound, np.nextafter(2 * FLOAT_SLACK, np.inf))  # margin > 2e-6
    parts = []
    for rows, block in _blocks_of(stats, cand):
        codes = stats.codes[rows]
        margins = np.divide(block, stats.sums[rows, None], out=block)
        margins -= stats.self_confidence[rows, None]
        flat = np.flatnonzero(margins >= np.take(floor, codes, axis=0))
        row = flat // k
        parts.append((rows[row], codes[row] * k + flat - row * k, margins.ravel()[flat]))
    if not parts:
        return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0)
    rows_, pairs, values = (np.concatenate(p) for p in zip(*parts, strict=True))
    return rows_, pairs, values


def _blocks_of(stats: RowStats, rows: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Writable float64 copies of the rows ``rows`` in blocks of about 32k cells."""
    step = max(64, _MARGIN_CELLS // stats.n_classes)
    for start in range(0, len(rows), step):
        index = rows[start : start + step]
        block = np.take(stats.pred_probs, index, axis=0)  # a new array: safe to overwrite
        yield index, block.astype(np.float64, copy=False)


def _candidates(stats: RowStats, quota: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows that may hold a flagged margin, and a lower bound on every pair's cut-off.

    The ``quota[pair]``-th largest margin at the argmax bounds the pair's cut-off from
    below (``inf`` for pairs without quota). A row's margins are at most its margin at the
    argmax, so a row whose margin there is below every bound of its given label is dropped.

    Returns
    -------
    cand : ndarray of shape (n_candidates,)
    bound : ndarray of shape (n_classes, n_classes)
        Rows = given label, columns = the other class of the margin.
    """
    k = stats.n_classes
    cand = np.flatnonzero(~stats.kept)
    codes = stats.codes[cand]
    at_top = codes * k + stats.argmax[cand]
    best = stats.max_prob[cand] - stats.self_confidence[cand]  # > 0: not kept
    useful = np.flatnonzero(quota[at_top] > 0)
    bound = _kth_largest(at_top[useful], best[useful], quota)
    bound[quota == 0] = np.inf
    bound = bound.reshape(k, k)
    return cand[best >= bound.min(axis=1)[codes]], bound


def prune_by_noise_rate(ctx: PruneContext) -> np.ndarray:
    """Flag per (given k, true j) the ``prune[j, k]`` examples with the largest ``p_j - p_k``.

    Only examples not kept can be flagged, and their margins above 2e-6 beat every kept
    example's, so only those are ranked, within each pair. The margins at the argmax
    give each pair a lower bound on its cut-off, so few margins are collected; a pair with
    fewer margins above 2e-6 than its quota ranks its whole class instead.
    """
    stats, k = ctx.stats, ctx.stats.n_classes
    quota = _quota(ctx)
    cand, bound = _candidates(stats, quota)
    rows, pairs, values = _margin_entries(stats, cand, bound, quota)
    out = np.zeros(len(stats.codes), dtype=bool)
    out[rows[_select_top(pairs, values, quota)]] = True
    for flat in np.flatnonzero(quota > np.bincount(pairs, minlength=k * k)):
        members = ctx.member(int(flat // k))
        out[_top_margins(stats, members, int(flat % k), int(quota[flat]))] = True
    return out & ~stats.kept


def _top_margins(stats: RowStats, members: np.ndarray, col: int, num: int) -> np.ndarray:
    """The ``num`` examples of ``members`` with the largest margin ``p_col - p_given``.

    A margin is at most ``1 - 2 * p_given``, so members with ``p_given >= 0.75`` (margin
    <= -0.5) need no look when the others already hold ``num`` margins above -0.5.
    """
    self_conf = stats.self_confidence[members]
    low = members[self_conf < 0.75]
    if len(low) >= num:
        margins = stats.column(low, col) - stats.self_confidence[low]
        top = _top(margins, num)
        if margins[top].min() > -0.5:
            return low[top]
    margins = stats.column(members, col) - self_conf
    return members[_top(margins, num)]


def prune_by_class(ctx: PruneContext) -> np.ndarray:
    """Flag per class ``k`` the ``count[k] - prune[k, k]`` lowest self-confidences."""
    out = np.zeros(len(ctx.stats.codes), dtype=bool)
    prunable = ctx.prunable()
    for k, members in enumerate(ctx.members):
        num = int(ctx.counts[k] - ctx.prune[k, k])
        if num >= 1 and prunable[k]:
            out[members[_top(-ctx.stats.self_confidence[members], num)]] = True
    return out & ~ctx.stats.kept


def prune_both(ctx: PruneContext) -> np.ndarray:
    """Flag what both :func:`prune_by_noise_rate` and :func:`prune_by_class` flag."""
    return prune_by_noise_rate(ctx) & prune_by_class(ctx)


def off_diagonals(ctx: PruneContext) -> np.ndarray:
    """Flag every example counted off the diagonal of the confident joint."""
    stats = ctx.stats
    return stats.counted & (stats.guess != stats.codes) & ~stats.kept


PRUNE_RULES: dict[str, Callable[[PruneContext], np.ndarray]] = {
    "prune_by_noise_rate": prune_by_noise_rate,
    "prune_by_class": prune_by_class,
    "both": prune_both,
    "confident_learning": off_diagonals,
}
