"""Paired comparison of two evaluations on the same items (:func:`compare`).

Two experiments of the loop evaluate different data versions with the same recipe on the
same frozen evaluation set, so their predictions are paired item by item. The comparison
uses that pairing: McNemar's exact test (and mid-p) on the items that exactly one model
gets right, and a paired percentile bootstrap (the same resampled items for both
models) for the deltas of accuracy, macro F1 and balanced accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay._stats import bootstrap_indices, percentile_interval
from assay._validation import Integral, Interval, Real, validate_params
from assay.exceptions import InputError
from assay.train.evaluate._result import METRICS, Evaluation, _py, _records
from assay.train.evaluate._stats import (
    balanced_accuracy_from_confusion,
    confusions,
    macro_f1_from_confusion,
    mcnemar,
)

__all__ = ["Comparison", "compare", "compare_classification"]


@dataclass
class Comparison:
    """How evaluation B differs from evaluation A on the same items.

    Attributes
    ----------
    names : tuple of str
        Display names of A and B.
    n : int
        Paired evaluation items.
    only_a, only_b : int
        Items that only A (resp. only B) predicts correctly.
    p_value, p_mid : float
        McNemar's exact two-sided p-value and its mid-p variant.
    metrics : dict
        ``{metric: {"a", "b", "delta", "low", "high"}}``; the interval is the paired
        bootstrap 95% interval of ``b - a``.
    per_class : DataFrame
        ``class``, ``support``, ``f1_a``, ``f1_b``, ``delta``.
    per_tag : DataFrame
        ``tag``, ``value``, ``n``, ``accuracy_a``, ``accuracy_b``, ``delta``.
    alpha : float
        Significance level of :attr:`significant`.
    """

    names: tuple[str, str]
    n: int
    only_a: int
    only_b: int
    p_value: float
    p_mid: float
    metrics: dict[str, dict[str, float]]
    per_class: pd.DataFrame
    per_tag: pd.DataFrame
    alpha: float = 0.05
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy_delta(self) -> float:
        """Accuracy of B minus accuracy of A."""
        return float(self.metrics["accuracy"]["delta"])

    @property
    def significant(self) -> bool:
        """True when McNemar's exact p-value is below :attr:`alpha`."""
        return bool(self.p_value < self.alpha)

    def _repr_html_(self) -> str:
        """Jupyter: each metric's change B - A with its 95% interval as bars, and the
        numbers as a table (:mod:`assay._charts`)."""
        from assay._charts import BarSeries, escape, figure, interval_bars

        names = list(self.metrics)
        get = [[self.metrics[m].get(k) for m in names] for k in ("delta", "low", "high")]
        svg = interval_bars(names, [BarSeries("change", get[0], get[1], get[2])],
                            x_label=f"{self.names[1]} - {self.names[0]}")
        rows = [(m, self.metrics[m].get("a"), self.metrics[m].get("b"), *[g[i] for g in get])
                for i, m in enumerate(names)]
        table = figure(svg, f"change per metric; McNemar p = {self.p_value:.3g}",
                       ["metric", *self.names, "change", "low", "high"], rows, name="compare")
        return f"<pre>{escape(self.summary())}</pre>" + table

    def summary(self) -> str:
        """Plain text: metric deltas with intervals, the test, the largest class moves."""
        a, b = self.names
        verdict = "significant" if self.significant else "not significant"
        lines = [
            f"{b} vs {a} on {self.n} paired items: McNemar exact p = {self.p_value:.4g} "
            f"(mid-p {self.p_mid:.4g}; only {b} right: {self.only_b}, only {a} right: "
            f"{self.only_a}), {verdict} at {self.alpha:g}."
        ]
        for name in METRICS:
            m = self.metrics[name]
            lines.append(
                f"  {name:<18} {m['a']:.4f} -> {m['b']:.4f}  {m['delta']:+.4f} "
                f"[{m['low']:+.4f}, {m['high']:+.4f}]"
            )
        moves = self.per_class.reindex(
            self.per_class["delta"].abs().sort_values(ascending=False).index
        ).head(3)
        if len(moves):
            parts = [f"{c} ({d:+.3f})" for c, d in zip(moves["class"], moves["delta"], strict=True)]
            lines.append("  largest F1 changes: " + ", ".join(parts))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (NaN as None)."""
        return {
            "names": list(self.names),
            "n": self.n,
            "test": "McNemar exact",
            "headline": METRICS[0],
            "only_a": self.only_a,
            "only_b": self.only_b,
            "p_value": self.p_value,
            "p_mid": self.p_mid,
            "significant": self.significant,
            "alpha": self.alpha,
            "metrics": {k: {kk: _py(vv) for kk, vv in v.items()} for k, v in self.metrics.items()},
            "per_class": _records(self.per_class),
            "per_tag": _records(self.per_tag),
            "info": {k: _py(v) for k, v in self.info.items()},
        }


@validate_params({"n_boot": [Interval(Integral, 1, None)], "alpha": [Interval(Real, 0.0, 1.0)]})
def compare(
    eval_a: Evaluation,
    eval_b: Evaluation,
    *,
    names: tuple[str, str] = ("A", "B"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Any:
    """Compare two evaluations of the same evaluation items.

    Parameters
    ----------
    eval_a, eval_b : Evaluation
        Evaluations on the same items: paired by ``ids`` when both have ids (any order),
        else by position (then their true labels must agree item by item).
    names : tuple of str, default=("A", "B")
        Display names, e.g. experiment ids.
    n_boot : int, default=1000
        Paired bootstrap resamples.
    seed : int, default=0
        Seed of the bootstrap.
    alpha : float, default=0.05
        Significance level of McNemar's test.

    Returns
    -------
    Comparison or PairedComparison
        The paired test of the evaluations' task (their ``kind``): for classification a
        :class:`Comparison`; for regression and multi-label a
        :class:`~assay.train.evaluate._paired.PairedComparison`.
    """
    from assay.tasks import get_task

    kinds = {getattr(e, "kind", "classification") for e in (eval_a, eval_b)}
    if len(kinds) > 1:
        raise InputError(
            f"the evaluations are of different kinds ({' and '.join(sorted(kinds))}); "
            "compare two evaluations of the same task."
        )
    return get_task(kinds.pop()).compare(
        eval_a, eval_b, names=names, n_boot=n_boot, seed=seed, alpha=alpha
    )


def compare_classification(
    eval_a: Evaluation,
    eval_b: Evaluation,
    *,
    names: tuple[str, str] = ("A", "B"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Comparison:
    """McNemar's exact test and paired bootstrap deltas of two classification
    evaluations (see :func:`compare`)."""
    t, pa, pb, classes = _paired_codes(eval_a, eval_b)
    ca, cb = pa == t, pb == t
    only_a, only_b = int((ca & ~cb).sum()), int((cb & ~ca).sum())
    p_value, p_mid = mcnemar(only_a, only_b)
    metrics = _paired_metrics(eval_a, eval_b, (t, pa, pb), len(classes), n_boot, seed)
    return Comparison(
        names=(str(names[0]), str(names[1])),
        n=int(t.shape[0]),
        only_a=only_a,
        only_b=only_b,
        p_value=p_value,
        p_mid=p_mid,
        metrics=metrics,
        per_class=_class_deltas(eval_a, eval_b),
        per_tag=_tag_deltas(eval_a, eval_b),
        alpha=float(alpha),
        info={"n_boot": int(n_boot), "seed": int(seed)},
    )


def _align_b(eval_a: Evaluation, eval_b: Evaluation) -> np.ndarray:
    """Positions of A's items in B."""
    if eval_a.n != eval_b.n:
        raise InputError(
            f"the evaluations have {eval_a.n} and {eval_b.n} items; compare evaluations "
            "of the same frozen evaluation set."
        )
    if eval_a.ids is None or eval_b.ids is None:
        return np.arange(eval_b.n)
    pos = pd.Index(np.asarray(eval_b.ids, dtype=object)).get_indexer(
        np.asarray(eval_a.ids, dtype=object)
    )
    if (pos < 0).any():
        missing = np.asarray(eval_a.ids)[pos < 0][:10]
        raise InputError(
            f"evaluation items {', '.join(map(str, missing))} of A are not in B; compare "
            "evaluations of the same frozen evaluation set."
        )
    return pos


def _paired_codes(
    eval_a: Evaluation, eval_b: Evaluation
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]]:
    pos = _align_b(eval_a, eval_b)
    classes = list(eval_a.classes) + [c for c in eval_b.classes if c not in eval_a.classes]
    index = pd.Index(np.asarray(classes, dtype=object))

    def codes(values: np.ndarray) -> np.ndarray:
        return np.asarray(index.get_indexer(np.asarray(values, dtype=object)), dtype=np.int64)

    t, tb = codes(eval_a.y_true), codes(np.asarray(eval_b.y_true)[pos])
    pa, pb = codes(eval_a.y_pred), codes(np.asarray(eval_b.y_pred)[pos])
    differ = t != tb
    if differ.any():
        raise InputError(
            f"{int(differ.sum())} items have different true labels in A and B (first at "
            f"position {int(np.argmax(differ))}, 0-based); compare evaluations on the same frozen "
            "evaluation set, with the same labels."
        )
    return t, pa, pb, classes


def _paired_metrics(
    eval_a: Evaluation,
    eval_b: Evaluation,
    codes: tuple[np.ndarray, np.ndarray, np.ndarray],
    k: int,
    n_boot: int,
    seed: int,
) -> dict[str, dict[str, float]]:
    t, pa, pb = codes
    cm_a = np.bincount(t * k + pa, minlength=k * k).reshape(k, k)
    cm_b = np.bincount(t * k + pb, minlength=k * k).reshape(k, k)
    labels = {
        "macro_f1": [np.flatnonzero(cm.sum(0) + cm.sum(1) > 0) for cm in (cm_a, cm_b)],
        "balanced_accuracy": [np.flatnonzero(cm_a.sum(1) > 0)] * 2,
    }
    funcs = {
        "macro_f1": macro_f1_from_confusion,
        "balanced_accuracy": balanced_accuracy_from_confusion,
    }
    deltas: dict[str, list[np.ndarray]] = {name: [] for name in METRICS}
    diff = (pb == t).astype(np.float64) - (pa == t)
    for idx in bootstrap_indices(t.shape[0], n_boot, seed):
        deltas["accuracy"].append(diff[idx].mean(axis=1))
        cms_a, cms_b = confusions(t, pa, idx, k), confusions(t, pb, idx, k)
        for name, func in funcs.items():
            la, lb = labels[name]
            deltas[name].append(func(cms_b, lb) - func(cms_a, la))
    out = {}
    for name in METRICS:
        a, b = eval_a.overall[name]["value"], eval_b.overall[name]["value"]
        low, high = percentile_interval(np.concatenate(deltas[name]))
        out[name] = {"a": float(a), "b": float(b), "delta": float(b - a), "low": low, "high": high}
    return out


def _class_deltas(eval_a: Evaluation, eval_b: Evaluation) -> pd.DataFrame:
    a = eval_a.per_class[["class", "support", "f1"]].rename(columns={"f1": "f1_a"})
    b = eval_b.per_class[["class", "f1"]].rename(columns={"f1": "f1_b"})
    merged = a.merge(b, on="class", how="outer")
    merged["delta"] = merged["f1_b"] - merged["f1_a"]
    return merged.reset_index(drop=True)


def _tag_deltas(eval_a: Evaluation, eval_b: Evaluation) -> pd.DataFrame:
    columns = ["tag", "value", "n", "accuracy_a", "accuracy_b", "delta"]
    if eval_a.per_tag.empty or eval_b.per_tag.empty:
        return pd.DataFrame(columns=columns)
    keys = ["tag", "value"]
    a = eval_a.per_tag[[*keys, "n", "accuracy"]].rename(columns={"accuracy": "accuracy_a"})
    b = eval_b.per_tag[[*keys, "accuracy"]].rename(columns={"accuracy": "accuracy_b"})
    for frame in (a, b):
        frame["value"] = frame["value"].astype(str)
    merged = a.merge(b, on=keys, how="inner")
    merged["delta"] = merged["accuracy_b"] - merged["accuracy_a"]
    return merged[columns].reset_index(drop=True)
