"""What the regression and multi-label evaluations share: resample weights, the paired
bootstrap, Holm's correction, and the :class:`PairedComparison` result.

A bootstrap resample of ``n`` items is a row of counts (how often each item was drawn);
a statistic that is a sum over items is then one matrix product for a whole chunk of
resamples (``weights @ values``), which is what keeps the intervals vectorised. The
resamples are the ones of :func:`assay._stats.bootstrap_indices` with the same seed.

A paired comparison of two models on the same items resamples the *items* once for both
models, so the interval of a difference carries the correlation of their errors. Its
two-sided p-value is the share of centred bootstrap differences at least as far from 0
as the observed one (``(1 + count) / (1 + n_boot)``, never 0).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from assay._stats import bootstrap_indices
from assay.exceptions import InputError
from assay.train.evaluate._result import _py, _records

__all__ = [
    "PairedComparison",
    "align_items",
    "bootstrap_p_value",
    "check_ids",
    "holm",
    "interval",
    "resample_weights",
    "tag_deltas",
    "tag_frame",
]


def resample_weights(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap resamples as item counts.

    Parameters
    ----------
    n : int
        Items.
    n_boot : int
        Resamples.
    seed : int
        Seed of :func:`assay._stats.bootstrap_indices` (the same draws).

    Yields
    ------
    ndarray of float64, shape (chunk, n)
        ``w[b, i]``: how often item ``i`` is drawn in resample ``b`` (rows sum to ``n``).
    """
    for idx in bootstrap_indices(n, n_boot, seed):
        offsets = np.arange(idx.shape[0])[:, None] * n
        counts = np.bincount((idx + offsets).ravel(), minlength=idx.shape[0] * n)
        yield counts.reshape(idx.shape[0], n).astype(np.float64)


def interval(values: np.ndarray) -> tuple[float, float]:
    """The 2.5% and 97.5% quantiles of finite replicates (NaN, NaN if none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.quantile(finite, [0.025, 0.975])
    return float(low), float(high)


def bootstrap_p_value(replicates: np.ndarray, observed: float) -> float:
    """Two-sided p-value of "no difference" from paired bootstrap replicates.

    The replicates are centred on the observed difference (the null distribution by the
    shift method); the p-value is ``(1 + #{|r - observed| >= |observed|}) / (1 + B)``.
    """
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0 or not np.isfinite(observed):
        return float("nan")
    if observed == 0:
        return 1.0
    extreme = np.abs(finite - observed) >= abs(observed) * (1 - 1e-12)
    return float((1 + extreme.sum()) / (1 + finite.size))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment (family-wise error), NaN entries left out."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out[order] = adjusted
    return out


def check_ids(ids: Any, n: int) -> np.ndarray | None:
    """Item ids as an array of shape (n,), refusing repeats; None stays None."""
    if ids is None:
        return None
    arr = np.asarray(ids)
    if arr.shape != (n,):
        raise InputError(f"ids has shape {arr.shape}; give one id per evaluation item ({n}).")
    dup = pd.Series(arr).duplicated()
    if dup.any():
        raise InputError(
            f"evaluation id {arr[dup.to_numpy()][0]!r} occurs more than once; ids must be unique."
        )
    return arr


def tag_frame(tags: pd.DataFrame | Mapping[str, Any] | None, n: int) -> pd.DataFrame | None:
    """Tag columns as a DataFrame of ``n`` rows (None when there are none)."""
    if tags is None:
        return None
    frame = (
        tags.reset_index(drop=True)
        if isinstance(tags, pd.DataFrame)
        else pd.DataFrame({str(k): np.asarray(v) for k, v in dict(tags).items()})
    )
    if len(frame) != n:
        raise InputError(
            f"tags has {len(frame)} rows but there are {n} evaluation items; "
            "give one row of tags per evaluation item, in the same order."
        )
    return frame


class _Paired(Protocol):
    ids: np.ndarray | None

    @property
    def n(self) -> int: ...


def align_items(a: _Paired, b: _Paired) -> np.ndarray:
    """Positions of A's items in B: by ids when both have them, else by position."""
    if a.n != b.n:
        raise InputError(
            f"the evaluations have {a.n} and {b.n} items; compare evaluations "
            "of the same frozen evaluation set."
        )
    if a.ids is None or b.ids is None:
        return np.arange(b.n)
    pos = pd.Index(np.asarray(b.ids, dtype=object)).get_indexer(np.asarray(a.ids, dtype=object))
    if (pos < 0).any():
        missing = np.asarray(a.ids)[pos < 0][:10]
        raise InputError(
            f"evaluation items {', '.join(map(str, missing))} of A are not in B; compare "
            "evaluations of the same frozen evaluation set."
        )
    return np.asarray(pos)


def tag_deltas(per_tag_a: pd.DataFrame, per_tag_b: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per tag value: ``metric`` of A and of B and B minus A (tags of both)."""
    columns = ["tag", "value", "n", f"{metric}_a", f"{metric}_b", "delta"]
    if per_tag_a.empty or per_tag_b.empty:
        return pd.DataFrame(columns=columns)
    keys = ["tag", "value"]
    a = per_tag_a[[*keys, "n", metric]].rename(columns={metric: f"{metric}_a"})
    b = per_tag_b[[*keys, metric]].rename(columns={metric: f"{metric}_b"})
    for frame in (a, b):
        frame["value"] = frame["value"].astype(str)
    merged = a.merge(b, on=keys, how="inner")
    merged["delta"] = merged[f"{metric}_b"] - merged[f"{metric}_a"]
    return merged[columns].reset_index(drop=True)


@dataclass
class PairedComparison:
    """How model B differs from model A on the same items (regression, multi-label).

    Attributes
    ----------
    names : tuple of str
        Display names of A and B.
    n : int
        Paired evaluation items.
    test : str
        The paired test behind :attr:`p_value` (e.g. ``"paired bootstrap on absolute
        errors"``).
    p_value : float
        Two-sided p-value of the headline test.
    metrics : dict
        ``{metric: {"a", "b", "delta", "low", "high"}}``; the interval is the paired
        bootstrap 95% interval of ``b - a``.
    headline : str
        The metric the test is about (the task's first metric).
    per_group : DataFrame
        Per label (multi-label: McNemar per label with Holm-adjusted p-values) or per
        error band (regression: where B's absolute errors are smaller or larger).
    per_tag : DataFrame
        ``tag``, ``value``, ``n``, ``<metric>_a``, ``<metric>_b``, ``delta``.
    alpha : float
        Significance level of :attr:`significant`.
    notes : list of str
        How to read the tests (e.g. the multiple-testing correction).
    """

    names: tuple[str, str]
    n: int
    test: str
    p_value: float
    metrics: dict[str, dict[str, float]]
    headline: str
    per_group: pd.DataFrame
    per_tag: pd.DataFrame
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        """True when the headline test's p-value is below :attr:`alpha`."""
        return bool(self.p_value < self.alpha)

    @property
    def delta(self) -> float:
        """The headline metric of B minus that of A."""
        return float(self.metrics[self.headline]["delta"])

    def summary(self) -> str:
        """Plain text (lines of at most 80 columns): deltas with intervals, the test."""
        a, b = self.names
        verdict = "significant" if self.significant else "not significant"
        lines = [
            f"{b} vs {a} on {self.n} paired items: {self.headline} {self.delta:+.4g},",
            f"  {self.test} p = {self.p_value:.3g} ({verdict} at {self.alpha:g})",
        ]
        for name, m in self.metrics.items():
            lines.append(
                f"  {name:<13} {m['a']:.4f} -> {m['b']:.4f}  {m['delta']:+.4f} "
                f"[{m['low']:+.4f}, {m['high']:+.4f}]"
            )
        for note in self.notes:
            lines += textwrap.wrap(note, 80, initial_indent="  ", subsequent_indent="    ")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (NaN as None)."""
        return {
            "names": list(self.names),
            "n": self.n,
            "test": self.test,
            "p_value": _py(self.p_value),
            "significant": self.significant,
            "alpha": self.alpha,
            "headline": self.headline,
            "metrics": {k: {kk: _py(vv) for kk, vv in v.items()} for k, v in self.metrics.items()},
            "per_group": _records(self.per_group),
            "per_tag": _records(self.per_tag),
            "notes": list(self.notes),
            "info": {k: _py(v) for k, v in self.info.items()},
        }
