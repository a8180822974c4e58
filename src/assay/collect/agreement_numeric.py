"""Agreement of numeric labels (regression): how closely do annotators' numbers agree?

:func:`numeric_agreement` returns a :class:`NumericAgreementReport` with Krippendorff's
alpha at the interval or ratio level (any design: missing ratings, unequal numbers per
item), ICC(2,1) and ICC(3,1) with their F-distribution intervals (on the largest
complete block of items x raters, see :mod:`assay.collect._icc`), the mean absolute
difference between two annotations of the same item, Bland-Altman bias and limits of
agreement for each annotator pair, and each annotator's systematic offset and scale
against the other annotators of the same items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import Integral, Interval, Options, validate_params, warn
from assay.collect import _numeric
from assay.collect._icc import complete_block, icc_table
from assay.collect._kind_render import fmt, frame_records, html_page, text_table, with_ci
from assay.collect._ratio import ratio_totals
from assay.collect._resample import bootstrap_interval
from assay.collect._stats import annotation_pairs, pair_index
from assay.exceptions import InputError

__all__ = ["NumericAgreementReport", "numeric_agreement"]

NUMERIC_LEVELS = ("interval", "ratio")
#: Half-width of Bland-Altman limits of agreement, in standard deviations.
LOA_Z = 1.96


@dataclass
class NumericAgreementReport:
    """Agreement statistics of numeric annotations (see :func:`numeric_agreement`).

    Attributes
    ----------
    level : {"interval", "ratio"}
    n_items, n_annotations, n_annotators, n_single : int
        ``n_single``: items with one rating, left out of every statistic.
    krippendorff_alpha : float
    mean_absolute_difference : float
        Mean of ``|x_a - x_b|`` over every pair of annotations of the same item.
    icc : DataFrame indexed by ``"ICC(2,1)"``, ``"ICC(3,1)"``
        ``icc``, ``low``, ``high``, ``F``, ``df1``, ``df2``, ``p_value``, ``n_items``,
        ``n_raters``, ``raters`` (see :func:`assay.collect._icc.icc_table`).
    bland_altman : DataFrame, one row per annotator pair sharing >= ``min_shared`` items
        ``annotator_a``, ``annotator_b``, ``n_items``, ``bias`` (mean of a - b), ``sd``,
        ``lower``, ``upper`` (``bias -/+ 1.96 sd``), ``mean_abs_diff``.
    annotator_bias : DataFrame indexed by annotator
        ``n_annotations``, ``n_shared`` (on items others rated too), ``offset`` (mean of
        the rating minus the mean of the others' ratings of the item), ``scale`` (slope
        of the rating on the others' mean: 1 = same spread, > 1 = more extreme),
        ``mean_abs_diff`` (from the others' mean).
    ci : dict
        ``{"krippendorff_alpha": (low, high)}``: percentile bootstrap 95% interval
        (items resampled); empty when ``ci=False``.
    min_shared : int
    """

    level: str
    n_items: int
    n_annotations: int
    n_annotators: int
    n_single: int
    krippendorff_alpha: float
    mean_absolute_difference: float
    icc: pd.DataFrame
    bland_altman: pd.DataFrame
    annotator_bias: pd.DataFrame
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    min_shared: int = 10

    def icc_value(self, which: str = "ICC(2,1)") -> float:
        """One ICC (``"ICC(2,1)"`` or ``"ICC(3,1)"``)."""
        return float(self.icc.at[which, "icc"])  # type: ignore[arg-type]

    def to_revise(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` annotators with the largest systematic offset (absolute)."""
        bias = self.annotator_bias.dropna(subset=["offset"])
        order = bias["offset"].abs().sort_values(ascending=False, kind="stable").index
        return bias.loc[order].head(k)

    def summary(self) -> str:
        """Plain text, lines of at most 80 columns: the statistics and the worst cases."""
        lines = [
            f"{self.n_annotations} numeric annotations of {self.n_items} items by "
            f"{self.n_annotators} annotators",
            f"  ({self.n_single} items with one rating left out; level={self.level})",
            f"  Krippendorff's alpha ({self.level}): "
            f"{with_ci(self.krippendorff_alpha, self.ci.get('krippendorff_alpha'))}",
            f"  mean absolute difference: {fmt(self.mean_absolute_difference)}",
        ]
        for name, row in self.icc.iterrows():
            lines.append(f"  {name}: {fmt(row['icc'])} [{fmt(row['low'])}, {fmt(row['high'])}]"
                         f" on {row['n_items']} items x {row['n_raters']} raters")
        if len(self.bland_altman):
            ba = self.bland_altman.reindex(
                self.bland_altman["bias"].abs().sort_values(ascending=False).index)
            lines.append(f"Bland-Altman, pairs sharing >= {self.min_shared} items "
                         "(largest bias first):")
            lines += text_table(ba, {"annotator_a": "a", "annotator_b": "b", "n_items": "n",
                                     "bias": "bias", "lower": "lower", "upper": "upper"},
                                max_rows=5)
        if len(self.annotator_bias):
            lines.append("annotators (largest offset first):")
            lines += text_table(self.to_revise(5), {
                "index": "annotator", "n_shared": "n", "offset": "offset",
                "scale": "scale", "mean_abs_diff": "MAD"})
        return "\n".join(lines)

    def to_html(self) -> str:
        """A self-contained HTML fragment: the summary and the tables."""
        return html_page("Agreement (numeric labels)", self.summary(), {
            "ICC": self.icc, "Bland-Altman": self.bland_altman,
            "Annotator bias": self.annotator_bias})

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_dict(self) -> dict[str, Any]:
        """Statistics, intervals and tables, JSON-serialisable (NaN -> None)."""
        def num(x: Any) -> Any:
            return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)

        return {
            "kind": "regression", "level": self.level, "n_items": self.n_items,
            "n_annotations": self.n_annotations, "n_annotators": self.n_annotators,
            "n_single": self.n_single, "krippendorff_alpha": num(self.krippendorff_alpha),
            "mean_absolute_difference": num(self.mean_absolute_difference),
            "ci": {k: [num(lo), num(hi)] for k, (lo, hi) in self.ci.items()},
            "icc": frame_records(self.icc.rename_axis("type")),
            "bland_altman": frame_records(self.bland_altman.set_index("annotator_a")),
            "annotator_bias": frame_records(self.annotator_bias.rename_axis("annotator")),
            "min_shared": self.min_shared,
        }


def _bland_altman(enc: _numeric.NumericAnnotations, pairs: Any, min_shared: int) -> pd.DataFrame:
    """Bias and limits of agreement of every annotator pair with enough shared items."""
    n_ann = len(enc.annotators)
    present, inv = pair_index(pairs, n_ann)
    d = enc.value[pairs.lab_a] - enc.value[pairs.lab_b]
    p = len(present)
    n = np.bincount(inv, minlength=p).astype(np.float64)
    mean = np.bincount(inv, weights=d, minlength=p) / np.maximum(n, 1)
    dev = d - mean[inv]
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.bincount(inv, weights=dev * dev, minlength=p) / (n - 1))
    mad = np.bincount(inv, weights=np.abs(d), minlength=p) / np.maximum(n, 1)
    keep = n >= min_shared
    a, b = present // n_ann, present % n_ann
    out = pd.DataFrame({
        "annotator_a": enc.annotators[a], "annotator_b": enc.annotators[b],
        "n_items": n.astype(np.int64), "bias": mean, "sd": sd,
        "lower": mean - LOA_Z * sd, "upper": mean + LOA_Z * sd, "mean_abs_diff": mad,
    })[keep]
    return out.sort_values("n_items", ascending=False, kind="stable").reset_index(drop=True)


def _annotator_bias(enc: _numeric.NumericAnnotations) -> pd.DataFrame:
    """Each annotator's offset and scale against the mean of the others on the same items."""
    m = enc.sizes().astype(np.float64)
    total = np.bincount(enc.item, weights=enc.value, minlength=enc.n_items)
    mi = m[enc.item]
    shared = mi >= 2
    x = enc.value[shared]
    others = (total[enc.item][shared] - x) / (mi[shared] - 1)
    ann = enc.annotator[shared]
    k = len(enc.annotators)

    def per(values: np.ndarray) -> np.ndarray:
        return np.bincount(ann, weights=values, minlength=k)

    n = per(np.ones(len(x)))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x, mean_o = per(x) / n, per(others) / n
        dx, do = x - mean_x[ann], others - mean_o[ann]
        var_o = per(do * do)
        scale = np.where(var_o > 1e-12 * np.maximum(per(dx * dx), 1e-300),
                         per(dx * do) / var_o, np.nan)
        offset = mean_x - mean_o
        mad = per(np.abs(x - others)) / n
    return pd.DataFrame({
        "n_annotations": np.bincount(enc.annotator, minlength=k), "n_shared": n.astype(np.int64),
        "offset": offset, "scale": scale, "mean_abs_diff": mad,
    }, index=pd.Index(enc.annotators, name="annotator"))


def _alpha(enc: _numeric.NumericAnnotations, level: str, pairs: Any, ci: bool, n_boot: int,
           seed: int) -> tuple[float, dict[str, tuple[float, float]]]:
    if level == "ratio" and not ci:  # no per-item integration columns needed
        totals = ratio_totals(enc, (pairs.lab_a, pairs.lab_b))
        return float(_numeric.alpha_from_sums(totals[None, :], level)[0]), {}
    keep, features = _numeric.item_features(enc, level, (pairs.lab_a, pairs.lab_b))
    m = len(keep)
    width = features(0, 1).shape[1]
    step = max(1, 20_000_000 // width)
    total = sum(features(lo, min(m, lo + step)).sum(axis=0) for lo in range(0, m, step))
    alpha = float(_numeric.alpha_from_sums(np.asarray(total)[None, :], level)[0])
    if not ci:
        return alpha, {}
    interval = bootstrap_interval(
        m, features, lambda sums: _numeric.alpha_from_sums(sums, level),
        n_boot=n_boot, seed=seed, width=width)
    return alpha, {"krippendorff_alpha": interval}


@validate_params({
    "level": [Options(NUMERIC_LEVELS)],
    "n_boot": [Interval(Integral, 1, None)],
    "seed": [Interval(Integral, 0, None)],
    "min_shared": [Interval(Integral, 1, None)],
})
def numeric_agreement(
    df: pd.DataFrame,
    *,
    level: str = "interval",
    ci: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    min_shared: int = 10,
) -> NumericAgreementReport:
    """Measure how closely annotators agree on numeric labels.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        Long format: ``item``, ``annotator``, ``label`` (or ``task``, ``worker``,
        ``label``), the labels finite numbers. An annotator who rated an item twice
        counts once (the last row, with a warning).
    level : {"interval", "ratio"}, default "interval"
        Krippendorff's metric: interval ``(x - y)^2``, ratio ``((x - y) / (x + y))^2``
        (non-negative labels).
    ci : bool, default True
        A percentile bootstrap 95% interval on alpha (``n_boot`` resamples of the items
        with at least two ratings).
    n_boot : int, default 1000
    seed : int, default 0
    min_shared : int, default 10
        Annotator pairs sharing fewer items get no Bland-Altman row.

    Returns
    -------
    NumericAgreementReport

    Raises
    ------
    InputError
        Missing columns or labels, labels that are not finite numbers (NaN, inf, text,
        lists: named by row), negative labels at the ratio level, or no item rated twice.

    Notes
    -----
    Alpha equals the ``krippendorff`` package's (``level_of_measurement="interval"`` or
    ``"ratio"``) on any design, computed from per-item sums (:mod:`assay.collect._numeric`)
    in ``O(n_annotations)``. ICC(2,1) and ICC(3,1) need a complete design and are
    computed on the largest complete block of items x raters (see
    :mod:`assay.collect._icc`). Items with a single rating are left out, with a warning.
    """
    enc = _numeric.encode_numeric(df, level=level)
    sizes = enc.sizes()
    n_single = int((sizes < 2).sum())
    if n_single == enc.n_items:
        raise InputError(
            "no item has ratings from two annotators, so agreement is undefined; "
            "have a second annotator rate a sample (see assay.plan_sample)."
        )
    if n_single:
        warn(f"{n_single} item(s) have a single rating and are left out of agreement.")
    pairs = annotation_pairs(enc.item, enc.annotator, np.arange(len(enc.item)))
    alpha, intervals = _alpha(enc, level, pairs, ci, n_boot, seed)
    table, raters = complete_block(enc.item, enc.annotator, enc.value, enc.n_items,
                                   len(enc.annotators))
    return NumericAgreementReport(
        level=level, n_items=enc.n_items, n_annotations=len(enc.item),
        n_annotators=len(enc.annotators), n_single=n_single, krippendorff_alpha=alpha,
        mean_absolute_difference=float(np.mean(np.abs(
            enc.value[pairs.lab_a] - enc.value[pairs.lab_b]))),
        icc=icc_table(table, [str(a) for a in enc.annotators[raters]]),
        bland_altman=_bland_altman(enc, pairs, min_shared),
        annotator_bias=_annotator_bias(enc), ci=intervals, min_shared=min_shared,
    )
