"""Label issues of Dask arrays: confident learning in passes over row partitions.

The labels and the predicted probabilities stay on the cluster. Each pass maps every
row partition to a few small arrays that are summed in a tree on the workers; only
the sums reach this process:

1. the count of each given label and the sum of its self-confidences: the thresholds;
2. the confident joint (counts of (given, guessed true) class) and histograms of the
   values a pruning rule ranks: the margins ``p_j - p_given`` above 2e-6 per (given,
   other) pair for ``prune_by_noise_rate``, minus the self-confidences per class for
   ``prune_by_class``;
3. the exact values in the one bin per pair (class) where its quota ends; a pair whose
   quota reaches below the margins above 2e-6 (the ranking then mixes kept examples)
   gets a histogram of all its margins here, and a 4th pass for its boundary values.

Each pair (class) then has a cut-off: the value of its quota-th largest entry, and
how many entries equal to it each partition takes (ties go to the first rows, in
order; the in-memory path breaks such ties arbitrarily). The result table is a Dask
DataFrame whose partitions flag the rows above the cut-offs: it is computed when the
caller computes or writes it, never gathered here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._dask import is_dask_collection as is_dask_array
from assay.exceptions import InputError
from assay.train.labels._joint import calibrate_joint, warn_empty_classes
from assay.train.labels._prune import _collect_margins, prune_counts
from assay.train.labels._scores import NEEDS, SCORES
from assay.train.labels._stats import (
    _ABSENT_THRESHOLD,
    FLOAT_SLACK,
    RowStats,
    _first_pass,
    check_shape,
    decode_labels,
    encode_labels,
    scan_pred_probs,
)

__all__ = ["find_label_issues_dask", "is_dask_array"]

FUNC = "find_label_issues"
#: Histogram bins per pair (class): the boundary bin's values are gathered exactly.
_BINS = 2048
#: Value ranges of the histograms: margins above 2e-6, margins up to 2e-6, -p_given.
_POS = (2 * FLOAT_SLACK, 1.0)
_LOW = (-1.0, 2 * FLOAT_SLACK)
_CONF = (-1.0, 0.0)

Entries = tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, groups, values


@dataclass
class _Plan:
    """What every partition needs: the classes and the global counts and thresholds."""

    k: int
    classes: np.ndarray | None  # None: integer labels are the column indices
    counts: np.ndarray
    thresholds: np.ndarray
    bins: int


def _codes(labels: Any, plan: _Plan) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.size == 0:
        return np.empty(0, dtype=np.intp)
    classes = None if plan.classes is None else list(plan.classes)
    return encode_labels(arr, plan.k, classes, func=FUNC)[0]


def _stats(probs: Any, labels: Any, plan: _Plan, score: str = "self_confidence") -> RowStats:
    """Row statistics of one partition with the global thresholds."""
    margin, entropy = NEEDS[score]
    return scan_pred_probs(
        probs, _codes(labels, plan), plan.counts, margin=margin, entropy=entropy,
        func=FUNC, thresholds=plan.thresholds,
    )


def _levels(values: np.ndarray, span: tuple[float, float], bins: int) -> np.ndarray:
    """Histogram level of each value, 0 = the top bin (monotone: larger, lower level)."""
    lo, hi = span
    scaled = np.floor((values - lo) * (bins / (hi - lo)))
    return bins - 1 - np.clip(scaled, 0, bins - 1).astype(np.int64)


def _histogram(groups: np.ndarray, values: np.ndarray, n_groups: int,
               span: tuple[float, float], bins: int) -> np.ndarray:
    cells = groups.astype(np.int64) * bins + _levels(values, span, bins)
    return np.bincount(cells, minlength=n_groups * bins)


def _positive(stats: RowStats) -> Entries:
    """Entries (row, given * k + j, margin) above 2e-6: only rows not kept have them."""
    k = stats.n_classes
    rows, pairs, values = _collect_margins(
        stats, np.flatnonzero(~stats.kept), np.full((k, k), -np.inf)
    )
    return rows, pairs, values


def _members(stats: RowStats, pairs: np.ndarray) -> Entries:
    """Entries (row, pair, margin) of every member of the given class of ``pairs``."""
    k = stats.n_classes
    parts = [(np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0))]
    for given in np.unique(pairs // k):
        cols = pairs[pairs // k == given] % k
        rows = np.flatnonzero(stats.codes == given)
        block = np.asarray(np.take(stats.pred_probs, rows, axis=0)[:, cols], dtype=np.float64)
        margins = np.divide(block, stats.sums[rows, None], out=block)
        margins -= stats.self_confidence[rows, None]
        parts.append((np.repeat(rows, len(cols)), np.tile(given * k + cols, len(rows)),
                      margins.ravel()))
    rows_, groups, values = (np.concatenate(p) for p in zip(*parts, strict=True))
    return rows_, groups, values


def _self_conf(stats: RowStats) -> Entries:
    """Entries (row, given class, -self-confidence): prune_by_class takes the largest."""
    return np.arange(len(stats.codes)), stats.codes, -stats.self_confidence


# ---------------------------------------------------------------- passes on the workers


def _pass_counts(probs: Any, labels: Any, plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
    """Pass 1: examples given each class and the sum of their self-confidences."""
    codes = _codes(labels, plan)
    arr = check_shape(probs, len(codes), FUNC)
    if not len(codes):
        return np.zeros(plan.k, np.int64), np.zeros(plan.k)
    self_conf = _first_pass(arr, codes, FUNC)[1]
    return (np.bincount(codes, minlength=plan.k),
            np.bincount(codes, weights=self_conf, minlength=plan.k))


def _pass_joint(probs: Any, labels: Any, plan: _Plan, noise: bool, by_class: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 2: the confident joint, and the histograms of the ranked values."""
    stats, k = _stats(probs, labels, plan), plan.k
    counted = np.flatnonzero(stats.counted)
    joint = np.bincount(stats.codes[counted] * k + stats.guess[counted], minlength=k * k)
    pos = np.zeros(0, np.int64)
    if noise:
        _, pairs, values = _positive(stats)
        pos = _histogram(pairs, values, k * k, _POS, plan.bins)
    conf = np.zeros(0, np.int64)
    if by_class:
        _, groups, values = _self_conf(stats)
        conf = _histogram(groups, values, k, _CONF, plan.bins)
    return joint, pos, conf


def _pass_gather(probs: Any, labels: Any, plan: _Plan, wanted: dict[str, Any]
                 ) -> dict[str, Any]:
    """Pass 3 (4): the values in each group's boundary bin, and the low histogram."""
    stats = _stats(probs, labels, plan)
    out: dict[str, Any] = {}
    for name, (level, span) in wanted.items():
        if name == "low_hist":
            _, groups, values = _low(stats, level)
            out[name] = _histogram(groups, values, plan.k ** 2, _LOW, plan.bins)
            continue
        _, groups, values = _entries(stats, name, level)
        hit = _levels(values, span, plan.bins) == level[groups]
        out[name] = (groups[hit], values[hit])
    return out


def _low(stats: RowStats, pairs: np.ndarray) -> Entries:
    """Margins up to 2e-6 of the members of the fallback ``pairs``."""
    rows, groups, values = _members(stats, pairs)
    keep = values <= _LOW[1]
    return rows[keep], groups[keep], values[keep]


def _entries(stats: RowStats, name: str, level: np.ndarray) -> Entries:
    if name == "pos":
        return _positive(stats)
    if name == "conf":
        return _self_conf(stats)
    return _low(stats, np.flatnonzero(level >= 0))


def _pass_table(probs: Any, labels: Any, plan: _Plan, rule: _Rule, part: int,
                offset: int, score: str, found: np.ndarray) -> pd.DataFrame:
    """The result rows of one partition."""
    stats = _stats(probs, labels, plan, score)
    flags = rule.flags(stats, part)
    return pd.DataFrame(
        {
            "is_label_issue": flags,
            "label_quality": SCORES[score](stats),
            "given_label": decode_labels(found, stats.codes),
            "suggested_label": decode_labels(found, stats.argmax),
        },
        index=pd.RangeIndex(offset, offset + len(stats.codes)),
    )


def _meta(found: np.ndarray) -> pd.DataFrame:
    """The empty result table (column names and types)."""
    none = decode_labels(found, np.zeros(0, dtype=np.intp))
    return pd.DataFrame(
        {"is_label_issue": np.zeros(0, bool), "label_quality": np.zeros(0),
         "given_label": none, "suggested_label": none.copy()},
        index=pd.RangeIndex(0),
    )


# ---------------------------------------------------------------- cut-offs


@dataclass
class _Cut:
    """Per group: take the values above ``value`` and, in partition ``p``, the first
    ``ties[p, group]`` values equal to it."""

    value: np.ndarray
    ties: np.ndarray

    def chosen(self, entries: Entries, part: int) -> np.ndarray:
        rows, groups, values = entries
        cut = self.value[groups]
        out = values > cut
        equal = np.flatnonzero(values == cut)
        if len(equal):
            order = equal[np.lexsort((rows[equal], groups[equal]))]
            grp = groups[order]
            start = np.searchsorted(grp, grp, side="left")
            out[order[np.arange(len(order)) - start < self.ties[part, grp]]] = True
        return out


def _none(n_groups: int, n_parts: int) -> _Cut:
    return _Cut(np.full(n_groups, np.inf), np.zeros((n_parts, n_groups), np.int64))


def _boundary(hist: np.ndarray, quota: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the level where its ``quota`` ends (-1: none) and how many it needs there."""
    cum = np.cumsum(hist, axis=1)
    reach = cum >= quota[:, None]
    level = np.where(quota >= 1, reach.argmax(axis=1), -1)
    level[(quota >= 1) & ~reach[:, -1]] = -1
    rows = np.arange(len(quota))
    need = quota - (cum[rows, level] - hist[rows, level])
    return level, np.where(level >= 0, need, 0)


def _cut(gathered: list[tuple[np.ndarray, np.ndarray]], level: np.ndarray,
         need: np.ndarray) -> _Cut:
    """The cut-off of every group with a boundary (the others take nothing)."""
    n_parts, n_groups = len(gathered), len(level)
    cut = _none(n_groups, n_parts)
    part = np.concatenate([np.full(len(g), i) for i, (g, _) in enumerate(gathered)])
    groups = np.concatenate([g for g, _ in gathered])
    values = np.concatenate([v for _, v in gathered])
    for g in np.flatnonzero(level >= 0):
        mine = groups == g
        vals = values[mine]
        value = np.sort(vals)[::-1][need[g] - 1]
        take = need[g] - np.count_nonzero(vals > value)
        equal = np.bincount(part[mine][vals == value], minlength=n_parts)
        before = np.cumsum(equal) - equal
        cut.value[g] = value
        cut.ties[:, g] = np.clip(take - before, 0, equal)
    return cut


@dataclass
class _Rule:
    """The cut-offs of the pruning rule: which examples each partition flags."""

    method: str
    pos: _Cut | None = None
    low: _Cut | None = None
    low_pairs: np.ndarray | None = None
    conf: _Cut | None = None

    def flags(self, stats: RowStats, part: int) -> np.ndarray:
        n = len(stats.codes)
        if self.method == "confident_learning":
            return stats.counted & (stats.guess != stats.codes) & ~stats.kept
        out = np.ones(n, dtype=bool)
        if self.pos is not None:
            noise = np.zeros(n, dtype=bool)
            entries = _positive(stats)
            noise[entries[0][self.pos.chosen(entries, part)]] = True
            if self.low is not None and self.low_pairs is not None and len(self.low_pairs):
                entries = _members(stats, self.low_pairs)
                noise[entries[0][self.low.chosen(entries, part)]] = True
            out &= noise
        if self.conf is not None:
            by_class = np.zeros(n, dtype=bool)
            entries = _self_conf(stats)
            by_class[entries[0][self.conf.chosen(entries, part)]] = True
            out &= by_class
        return out & ~stats.kept


# ---------------------------------------------------------------- the driver


def _tree_sum(parts: list[Any]) -> Any:
    """Sum tuples of arrays in a tree of delayed tasks (only the total comes back)."""
    import dask

    add = dask.delayed(lambda a, b: tuple(x + y for x, y in zip(a, b, strict=True)))
    while len(parts) > 1:
        parts = [add(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _align(labels: Any, pred_probs: Any) -> tuple[Any, Any]:
    """Both inputs as Dask arrays: probabilities chunked by rows only, labels alike."""
    import dask.array as da

    probs = pred_probs if is_dask_array(pred_probs) else da.from_array(np.asarray(pred_probs))
    if hasattr(probs, "to_dask_array"):
        probs = probs.to_dask_array(lengths=True)
    if probs.ndim != 2:
        raise InputError(f"pred_probs must be 2-d (n_samples, n_classes); got shape {probs.shape}.")
    if any(np.isnan(c) for c in probs.chunks[0]):
        probs = probs.compute_chunk_sizes()
    probs = probs.rechunk({1: -1})
    if hasattr(labels, "to_dask_array"):
        labels = labels.to_dask_array(lengths=True)
    if not is_dask_array(labels):
        labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != probs.shape[0]:
        raise InputError(
            f"{FUNC}: labels have shape {labels.shape} but pred_probs has {probs.shape[0]} "
            "rows; give one label per row of pred_probs."
        )
    labels = da.asarray(labels).rechunk((probs.chunks[0],))
    if probs.shape[1] < 2:
        raise InputError(f"pred_probs has {probs.shape[1]} column; label issues need at least 2 "
                         "classes.")
    return labels, probs


def _classes(labels: Any, k: int, classes: Any) -> tuple[np.ndarray | None, np.ndarray]:
    """(classes for encoding each partition, the classes in column order)."""
    import dask.array as da

    if classes is not None:
        found = encode_labels(np.asarray(list(classes)), k, list(classes), func=FUNC)[1]
        return found, found
    if labels.dtype.kind in "iu":
        return None, np.arange(k)
    distinct = da.unique(labels).compute()
    found = encode_labels(distinct, k, None, func=FUNC)[1]
    return found, found


def _parts(labels: Any, probs: Any) -> list[tuple[Any, Any]]:
    return list(zip(probs.to_delayed().ravel(), labels.to_delayed().ravel(), strict=True))


def _thresholds(parts: list[tuple[Any, Any]], plan: _Plan) -> None:
    import dask

    task = dask.delayed(_pass_counts)
    counts, totals = dask.compute(_tree_sum([task(p, lab, plan) for p, lab in parts]))[0]
    if np.count_nonzero(counts) < 2:
        raise InputError("every label is one class; finding label issues needs examples of "
                         "at least 2 classes.")
    warn_empty_classes(counts)
    means = np.where(counts > 0, totals / np.maximum(counts, 1), _ABSENT_THRESHOLD)
    plan.counts, plan.thresholds = counts, np.clip(means, 2 * FLOAT_SLACK, None)


def _quotas(joint: np.ndarray, counts: np.ndarray, min_per_class: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """(examples to flag per pair given * k + j, per class for prune_by_class)."""
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    prune = prune_counts(calibrate_joint(joint, counts), min_per_class=min_per_class)
    prunable = counts > min_per_class
    quota = prune.T * prunable[:, None]
    np.fill_diagonal(quota, 0)
    by_class = counts - prune.diagonal()
    return quota.ravel(), np.where(prunable & (by_class >= 1), by_class, 0)


def _gather(parts: list[tuple[Any, Any]], plan: _Plan, wanted: dict[str, Any]
            ) -> list[dict[str, Any]]:
    import dask

    task = dask.delayed(_pass_gather)
    return list(dask.compute([task(p, lab, plan, wanted) for p, lab in parts])[0])


def _rule(parts: list[tuple[Any, Any]], plan: _Plan, method: str, min_per_class: int) -> _Rule:
    """Passes 2 to 4: the cut-offs of ``method``."""
    import dask

    rule = _Rule(method)
    if method == "confident_learning":
        return rule
    noise, by_class = method != "prune_by_class", method != "prune_by_noise_rate"
    task = dask.delayed(_pass_joint)
    sums = _tree_sum([task(p, lab, plan, noise, by_class) for p, lab in parts])
    joint, pos, conf = dask.compute(sums)[0]
    k, bins = plan.k, plan.bins
    quota, class_quota = _quotas(joint.reshape(k, k), plan.counts, min_per_class)
    wanted: dict[str, Any] = {}
    if noise:
        pos_level, pos_need = _boundary(pos.reshape(k * k, bins), quota)
        fallback = np.flatnonzero((quota >= 1) & (pos_level < 0))
        wanted["pos"] = (pos_level, _POS)
        if len(fallback):
            wanted["low_hist"] = (fallback, _LOW)
    if by_class:
        conf_level, conf_need = _boundary(conf.reshape(k, bins), class_quota)
        wanted["conf"] = (conf_level, _CONF)
    got = _gather(parts, plan, wanted)
    if noise:
        rule.pos = _cut([g["pos"] for g in got], pos_level, pos_need)
        rule.low_pairs = fallback
        if len(fallback):
            rule.low = _low_cut(parts, plan, got, fallback, quota, pos.reshape(k * k, bins))
    if by_class:
        rule.conf = _cut([g["conf"] for g in got], conf_level, conf_need)
    return rule


def _low_cut(parts: list[tuple[Any, Any]], plan: _Plan, got: list[dict[str, Any]],
             fallback: np.ndarray, quota: np.ndarray, pos: np.ndarray) -> _Cut:
    """Pass 4: the cut-offs of the pairs whose quota reaches margins up to 2e-6."""
    bins, n_groups = plan.bins, plan.k ** 2
    hist = np.sum([g["low_hist"] for g in got], axis=0).reshape(n_groups, bins)
    rest = np.zeros(n_groups, np.int64)
    rest[fallback] = quota[fallback] - pos[fallback].sum(axis=1)
    level, need = _boundary(hist, rest)
    every = np.flatnonzero((rest >= 1) & (level < 0))  # fewer members than the quota
    found = _gather(parts, plan, {"low": (level, _LOW)})
    cut = _cut([g["low"] for g in found], level, need)
    cut.value[every] = -np.inf
    return cut


def find_label_issues_dask(
    labels: Any,
    pred_probs: Any,
    *,
    classes: Any = None,
    method: str = "prune_by_noise_rate",
    score: str = "self_confidence",
    min_examples_per_class: int = 1,
) -> Any:
    """:func:`assay.find_label_issues` on Dask arrays, in passes over row partitions.

    Parameters
    ----------
    labels : dask array of shape (n_samples,), or array-like
        Given labels (rechunked like the rows of ``pred_probs``).
    pred_probs : dask array of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities, chunked by rows (column chunks are merged).
    classes, method, score, min_examples_per_class
        As for :func:`assay.find_label_issues`.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy, one partition per row chunk, index the row position 0 .. n_samples - 1;
        the columns of :func:`assay.find_label_issues` (same flags and scores, ties at a
        pair's cut-off going to the first rows). Compute or write it (``to_parquet``):
        at 100M rows it should not be gathered into one process.
    """
    import dask
    import dask.dataframe as dd

    labels, probs = _align(labels, pred_probs)
    k = int(probs.shape[1])
    encode, found = _classes(labels, k, classes)
    bins = int(max(16, min(_BINS, (1 << 21) // (k * k))))
    plan = _Plan(k, encode, np.zeros(k, np.int64), np.zeros(k), bins)
    parts = _parts(labels, probs)
    _thresholds(parts, plan)
    rule = _rule(parts, plan, method, min_examples_per_class)
    offsets = np.concatenate(([0], np.cumsum(probs.chunks[0])))
    task = dask.delayed(_pass_table)
    frames = [task(p, lab, plan, rule, i, int(offsets[i]), score, found)
              for i, (p, lab) in enumerate(parts)]
    meta = _meta(found)
    divisions = tuple(int(o) for o in offsets[:-1]) + (int(offsets[-1]) - 1,)
    return dd.from_delayed(frames, meta=meta, divisions=divisions)
