"""Inter-annotator agreement: how consistently do labelers apply the label book?

:func:`agreement` returns an :class:`AgreementReport` with

* ``percent_agreement``: the mean over items (with at least two labels) of the share of
  annotator pairs that agree, ``P_i = sum_c n_ic (n_ic - 1) / (n_i (n_i - 1))``;
* ``cohen_kappa``: Cohen's kappa for every pair of annotators on the items they share
  (``cohen_n`` holds the number of shared items; ``mean_cohen_kappa`` is their mean
  weighted by that number, over the pairs sharing at least ``min_shared`` items);
* ``fleiss_kappa``: Fleiss' kappa, generalised to items with different numbers of labels
  (see :func:`agreement`);
* ``krippendorff_alpha``: Krippendorff's alpha (nominal, ordinal or interval);
* ``ci``: percentile bootstrap 95% intervals, resampling items;
* ``per_class``, ``confusion``, ``disagreements``, ``annotators``, and human-level
  performance ``hlp`` (each annotator against the majority of the *others*).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import Integral, Interval, Options, param_error, validate_params, warn
from assay.collect import _stats
from assay.collect._bootstrap import bootstrap_intervals, item_features
from assay.collect._delta import delta_intervals
from assay.collect._memory import CLASSES_FIX, MAX_MEMORY, check_memory
from assay.collect._render import report_html, report_summary
from assay.collect._tables import (
    annotator_table,
    disagreement_table,
    per_class_table,
    weighted_mean_kappa,
)
from assay.collect.annotations import EncodedAnnotations, encode_annotations
from assay.exceptions import InputError

__all__ = [
    "MAX_MEMORY", "AgreementReport", "agreement", "classes_to_revise", "label_kind",
    "memory_needed",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")
#: The kinds of label :func:`agreement` dispatches on (``task=``), see :func:`label_kind`.
TASKS = ("classification", "regression", "multilabel")
#: How :func:`agreement` computes its intervals (``ci_method=``).
CI_METHODS = ("bootstrap", "delta")


def label_kind(labels: pd.Series, level: str | None, task: str | None = None) -> str:
    """Which agreement engine a label column needs: the task's, or one read from the data.

    ``task`` decides when given. Otherwise lists (or JSON lists as text) are label sets
    (``"multilabel"``); ``level="ratio"`` on numeric labels, or floating-point labels
    at ``level="interval"`` or no level given, are numbers (``"regression"``); anything else, integer ratings at the
    interval level included, is classes (``"classification"``), which keeps the class
    tables (per-class agreement, confusion) for ratings on a short scale.
    """
    from assay.collect._sets import is_set_column

    if task is not None:
        return task
    if is_set_column(labels):
        return "multilabel"
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    if (level == "ratio" and numeric) or (
            level in (None, "interval") and pd.api.types.is_float_dtype(labels)):
        return "regression"
    return "classification"


def memory_needed(n_items: int, n_classes: int, n_pairs: int) -> int:
    """Bytes the agreement statistics need at their peak, about.

    Each of the ``n_pairs`` annotator pairs that share an item gets a ``k x k``
    confusion matrix (counted twice: built, then converted), the items a dense
    ``n_items x k`` count table, and Krippendorff's coincidences, distances and the
    class confusion a few ``k x k`` tables (``k = n_classes``), all float64.
    """
    k2 = n_classes * n_classes
    return 8 * (2 * n_pairs * k2 + n_items * n_classes + 6 * k2)


def _check_memory(n_items: int, n_classes: int, pairs: _stats.Pairs, n_annotators: int) -> None:
    n_pairs = _stats.count_pairs(pairs, n_annotators)
    check_memory(
        memory_needed(n_items, n_classes, n_pairs),
        limit=MAX_MEMORY,
        what=f"agreement over {n_classes} classes",
        why=f"a {n_classes} x {n_classes} table for each of {n_pairs} annotator pair(s)",
        fix=CLASSES_FIX,
    )


@dataclass
class AgreementReport:
    """Agreement statistics of one annotation table (see :func:`agreement`).

    Attributes
    ----------
    percent_agreement, fleiss_kappa, krippendorff_alpha : float
    mean_cohen_kappa : float
        Pairwise Cohen's kappas averaged with the number of shared items as weights, over
        the ``n_cohen_pairs`` annotator pairs that share at least ``cohen_min_shared``
        items (see :func:`agreement`).
    hlp : float
        Human-level performance: the mean agreement of an annotation with the majority
        of the other annotations of its item (ties give fractional credit).
    cohen_kappa, cohen_n : DataFrame of shape (n_annotators, n_annotators)
        Pairwise kappa (NaN where undefined or no shared item) and shared items.
    pairs : DataFrame
        The same in long form: ``annotator_a``, ``annotator_b``, ``n_items``,
        ``percent_agreement``, ``cohen_kappa``.
    per_class : DataFrame, indexed by class
        See :func:`assay.collect._tables.per_class_table`: ``n_labels``, ``n_items``,
        ``agreement`` (specific agreement), ``confused_with``, ``confused_share``,
        ``hlp``, ``examples``.
    confusion : DataFrame of shape (n_classes, n_classes)
        Ordered pairs of different annotators on the same item, by (first, second)
        label; symmetric.
    disagreements : DataFrame, indexed by item
        The most disagreed-on items with their labels.
    annotators : DataFrame, indexed by annotator
        ``n_annotations``, ``n_shared``, ``agreement_with_others``,
        ``mean_cohen_kappa``, ``agreement_with_consensus``.
    ci : dict of str -> (low, high)
        Bootstrap 95% intervals of ``percent_agreement``, ``fleiss_kappa``,
        ``krippendorff_alpha`` and ``cohen_kappa`` (the mean pairwise kappa); empty when
        ``ci=False``.
    cohen_min_shared : int
        The shared items a pair needed to enter ``mean_cohen_kappa``.
    n_cohen_pairs : int
        The annotator pairs in ``mean_cohen_kappa``.
    """

    level: str
    n_items: int
    n_annotations: int
    n_annotators: int
    n_single: int
    classes: list[Any]
    percent_agreement: float
    fleiss_kappa: float
    krippendorff_alpha: float
    mean_cohen_kappa: float
    hlp: float
    cohen_kappa: pd.DataFrame
    cohen_n: pd.DataFrame
    pairs: pd.DataFrame
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    disagreements: pd.DataFrame
    annotators: pd.DataFrame
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    cohen_min_shared: int = 1
    n_cohen_pairs: int = 0

    @property
    def hlp_per_class(self) -> pd.Series:
        """Human-level performance per class (the ``hlp`` column of :attr:`per_class`)."""
        return self.per_class["hlp"]

    def summary(self) -> str:
        """A plain-text summary (a few lines), for the CLI and logs."""
        return report_summary(self)

    def to_html(self) -> str:
        """A self-contained HTML fragment with tables and an agreement heat map."""
        return report_html(self)

    def _repr_html_(self) -> str:
        """Jupyter: agreement per class and the labelers' confusion as the web page
        draws them (:mod:`assay._charts`), then the tables."""
        from assay._charts import matrix_figure, paired_class_figure

        charts = ""
        if "agreement" in self.per_class:
            per = {str(k): v for k, v in self.per_class["agreement"].items()}
            charts += paired_class_figure({"agreement": per}, what="agreement")
        if len(self.confusion):
            charts += matrix_figure(
                self.confusion.to_numpy().tolist(), [str(c) for c in self.confusion.index],
                caption="labels two labelers gave the same item", name="confusion")
        return charts + self.to_html()

    def to_revise(self, k: int = 5) -> pd.DataFrame:
        """The classes whose instructions most need revision (:func:`classes_to_revise`)."""
        return classes_to_revise(self, k=k).rename_axis("class")

    def to_dict(self) -> dict[str, Any]:
        """The scalar statistics and intervals, JSON-serialisable."""
        keys = ("level", "n_items", "n_annotations", "n_annotators", "n_single",
                "percent_agreement", "fleiss_kappa", "krippendorff_alpha",
                "mean_cohen_kappa", "hlp", "cohen_min_shared", "n_cohen_pairs")
        out: dict[str, Any] = {k: _plain(getattr(self, k)) for k in keys}
        out["classes"] = [_plain(c) for c in self.classes]
        out["ci"] = {k: [float(lo), float(hi)] for k, (lo, hi) in self.ci.items()}
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _class_values(classes: pd.Index, level: str) -> np.ndarray | None:
    if level != "interval":
        return None
    values = pd.to_numeric(pd.Series(classes), errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        bad = [c for c, v in zip(classes, values, strict=True) if np.isnan(v)][:10]
        raise InputError(
            f"level='interval' needs numeric labels; {bad} are not numbers. "
            "Use level='nominal', or level='ordinal' with classes= in their order."
        )
    return values


def _bootstrap(
    enc: EncodedAnnotations, counts: Any, p_item: np.ndarray, n_item: np.ndarray,
    pairs: _stats.Pairs, cohen_pairs: np.ndarray, level: str, values: np.ndarray | None,
    n_boot: int, seed: int, method: str = "bootstrap",
) -> dict[str, tuple[float, float]]:
    _, inv = _stats.pair_index(pairs, len(enc.annotators))
    position = np.full(len(cohen_pairs), -1, dtype=np.int64)
    position[cohen_pairs] = np.arange(int(cohen_pairs.sum()))
    feats = item_features(counts, p_item, n_item, pairs, position[inv], int(cohen_pairs.sum()))
    if method == "delta":
        return delta_intervals(feats, level, values)
    return bootstrap_intervals(feats, level, values, n_boot, seed)


def _cohen_pairs(conf: np.ndarray, min_shared: int) -> tuple[np.ndarray, int]:
    """The annotator pairs in the mean Cohen's kappa, and the threshold that chose them.

    Pairs sharing at least ``min_shared`` items; when no pair shares that many, the
    pairs sharing the most items (so a small complete design keeps every pair).
    """
    n = conf.sum(axis=(1, 2))
    threshold = int(min(min_shared, n.max())) if len(n) else int(min_shared)
    return n >= threshold, threshold


def _pairwise_frames(
    enc: EncodedAnnotations, pairs: _stats.Pairs
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    a, b, conf = _stats.pair_confusions(pairs, len(enc.annotators), enc.n_classes)
    kappa, po, n = _stats.kappa_from_confusions(conf)
    m = len(enc.annotators)
    kap = np.full((m, m), np.nan)
    cnt = np.zeros((m, m), dtype=np.int64)
    kap[a, b] = kap[b, a] = kappa
    cnt[a, b] = cnt[b, a] = n.astype(np.int64)
    names = enc.annotators
    pair_df = pd.DataFrame({
        "annotator_a": names[a], "annotator_b": names[b], "n_items": n.astype(np.int64),
        "percent_agreement": po, "cohen_kappa": kappa,
    })
    return (pd.DataFrame(kap, index=names, columns=names),
            pd.DataFrame(cnt, index=names, columns=names), pair_df, conf)


@validate_params({
    "level": [Options(LEVELS), None],
    "min_shared": [Interval(Integral, 1, None)],
    "n_boot": [Interval(Integral, 1, None)],
    "seed": [Interval(Integral, 0, None)],
    "task": [Options(TASKS), None],
    "ci_method": [Options(CI_METHODS)],
})
def agreement(
    df: pd.DataFrame,
    *,
    level: str | None = None,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
    ci: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    n_examples: int = 3,
    max_disagreements: int = 1000,
    min_shared: int = 10,
    task: str | None = None,
    ci_method: str = "bootstrap",
) -> Any:
    """Measure how consistently annotators label the same items.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        Long format: ``item``, ``annotator``, ``label`` (or ``task``, ``worker``,
        ``label``). An annotator who labelled an item twice counts once (the last row).
    level : {"nominal", "ordinal", "interval", "ratio"}, optional
        Level of measurement for Krippendorff's alpha: by default nominal for classes
        and interval for floating-point labels. Ordinal uses the order of
        ``classes`` (else the sorted labels); interval needs numeric labels. Cohen's and
        Fleiss' kappa are always nominal (unweighted). ``"ratio"``, and ``"interval"``
        on floating-point labels, measure numeric labels with
        :func:`~assay.collect.agreement_numeric.numeric_agreement`.
    classes : sequence, optional
        The label book's classes; labels outside them raise unless ``allow_new``.
    allow_new : bool, default False
    ci : bool, default True
        Compute percentile bootstrap 95% intervals (``n_boot`` resamples of the items
        with at least two labels). Items with equal label counts are resampled as one
        group (a multinomial draw over the groups, the same distribution at a cost
        that does not grow with the items); the mean Cohen's kappa, whose items rarely
        repeat, takes its delta-method interval when ``n_boot`` times its distinct
        items exceeds 50 million (about 50,000 items at 1,000 resamples), where the
        bootstrap distribution is normal.
    n_boot : int, default 1000
    seed : int, default 0
    n_examples : int, default 3
        Example items per class in :attr:`AgreementReport.per_class`.
    max_disagreements : int, default 1000
        Rows of :attr:`AgreementReport.disagreements` (the most disagreed-on items).
    min_shared : int, default 10
        Annotator pairs sharing fewer items are left out of ``mean_cohen_kappa`` and of
        its interval (they stay in ``cohen_kappa`` and ``pairs``); when no pair shares
        that many items, the pairs sharing the most items are used.
    task : {"classification", "regression", "multilabel"}, optional
        The kind of label, which chooses the engine (see :func:`label_kind`); by default
        read from the labels: lists (or JSON lists) are label sets, measured by
        :func:`~assay.collect.agreement_sets.set_agreement` (``classes`` is then the
        label book's labels); floating-point labels at ``level="interval"`` (and any
        labels at ``"ratio"``) are numbers, measured by
        :func:`~assay.collect.agreement_numeric.numeric_agreement`.
    ci_method : {"bootstrap", "delta"}, default "bootstrap"
        How the intervals of classes are computed: the percentile bootstrap
        (``n_boot`` resamples), or the delta method (``estimate +- 1.96 se`` with an
        analytic standard error, no resampling: for many items, e.g. a live view). On
        real crowd data (1,000 to 11,000 items) its endpoints for percent agreement,
        Fleiss' kappa and alpha lie within 6% of the interval's width of the
        1,000-resample bootstrap's; for the mean Cohen's kappa its width is within 10%
        and it is centred on the estimate, where the bootstrap's is shifted down by the
        small-sample bias of kappa that resampling repeats. It is symmetric, so near a
        bound or with few items keep the bootstrap. Numbers and label sets always use
        the bootstrap.

    A Dask DataFrame of classes (larger than memory) is measured by sums over
    partitions of whole items (:mod:`assay.collect._dask`): the same statistics and
    tables; the bootstrap intervals of percent agreement, Fleiss' kappa and alpha are
    drawn over the items' class-count patterns (the in-memory intervals with the same
    seed whenever those are drawn over patterns too), and the mean Cohen's kappa takes
    its delta-method interval (as in memory past 50,000 distinct items); the
    ``ci_method="delta"`` intervals equal the in-memory ones.

    Returns
    -------
    AgreementReport, NumericAgreementReport or SetAgreementReport
        Each has ``krippendorff_alpha``, ``summary()``, ``to_dict()``, ``to_html()``
        and ``to_revise(k)``; the :class:`AgreementReport` of classes unless the labels
        or ``task`` say otherwise.

    Raises
    ------
    InputError
        Bad parameters or annotations; no item with two labels; or so many classes that
        the statistics would need more than :data:`MAX_MEMORY` (see
        :func:`memory_needed`), refused before any of it is used.

    Notes
    -----
    **Fleiss' kappa with varying numbers of labels.** With ``n_i`` labels on item ``i``
    and ``n_ic`` of them in class ``c``, the observed agreement is the unweighted mean
    over items with ``n_i >= 2`` of ``P_i = sum_c n_ic (n_ic - 1) / (n_i (n_i - 1))``,
    and the chance agreement is ``P_e = sum_c p_c^2`` with ``p_c`` the share of class
    ``c`` among all labels of those items; ``kappa = (P - P_e) / (1 - P_e)``. When every
    item has the same number of labels this is exactly Fleiss (1971) (statsmodels'
    ``fleiss_kappa``). Items with a single label are left out of every statistic (with a
    warning that counts them).

    **Mean Cohen's kappa in sparse designs.** With many annotators who each label a few
    items (crowdsourcing), most annotator pairs share a handful of items, and a pair's
    kappa on ``n`` items is biased towards 0 by about ``1/n`` (its chance agreement is
    estimated from those same items). ``mean_cohen_kappa`` therefore averages, weighted
    by shared items, the pairs that share at least ``min_shared`` items, and its
    bootstrap interval averages over exactly the same pairs in every replicate (see
    :mod:`assay.collect._bootstrap`), so the point estimate and the interval come from
    one estimator. On a complete design every pair shares all items and nothing is left
    out.
    """
    if type(df).__module__.startswith("dask"):
        return _on_dask(df, level=level, task=task, classes=classes, allow_new=allow_new,
                        n_examples=n_examples, max_disagreements=max_disagreements,
                        min_shared=min_shared, ci=ci, n_boot=n_boot, seed=seed,
                        ci_method=ci_method)
    if isinstance(df, pd.DataFrame) and "label" in df.columns:
        kind = label_kind(df["label"], level, task)
    else:
        kind = task or "classification"
    if kind != "classification":
        return _other_kind(df, kind, level=level, classes=classes, allow_new=allow_new, ci=ci,
                           n_boot=n_boot, seed=seed, min_shared=min_shared)
    level = level or "nominal"
    if level == "ratio":
        raise param_error("level", "agreement", "one of 'nominal', 'ordinal', 'interval' "
                          "for labels that are classes ('ratio' needs numeric labels)", level)
    enc = encode_annotations(df, classes=classes, allow_new=allow_new)
    counts = enc.counts()
    p_item, n_item = _stats.item_agreement(counts)
    n_single = int((n_item < 2).sum())
    if n_single == enc.n_items:
        raise InputError(
            "no item has labels from two annotators, so agreement is undefined; "
            "have a second annotator label a sample (see assay.plan_sample)."
        )
    if n_single:
        warn(f"{n_single} item(s) have a single label and are left out of agreement.")
    pairs = _stats.annotation_pairs(enc.item, enc.annotator, enc.label)
    _check_memory(enc.n_items, enc.n_classes, pairs, len(enc.annotators))
    values = _class_values(enc.classes, level)
    scal = _stats.scalar_stats(counts, p_item, n_item, np.ones(enc.n_items), level, values)
    kappa_df, n_df, pair_df, conf = _pairwise_frames(enc, pairs)
    cohen_pairs, min_shared = _cohen_pairs(conf, min_shared)
    dense = counts.toarray()
    credit, cw, ch = _stats.leave_one_out(dense, enc.item, enc.label)
    total = conf.sum(axis=0)
    confusion = pd.DataFrame(total + total.T, index=enc.classes, columns=enc.classes)
    per_class = per_class_table(enc, dense, p_item, confusion, cw, ch, n_examples)
    return AgreementReport(
        level=level, n_items=enc.n_items, n_annotations=len(enc.item),
        n_annotators=len(enc.annotators), n_single=n_single, classes=list(enc.classes),
        percent_agreement=scal["percent_agreement"], fleiss_kappa=scal["fleiss_kappa"],
        krippendorff_alpha=scal["krippendorff_alpha"],
        mean_cohen_kappa=weighted_mean_kappa(conf[cohen_pairs]),
        hlp=float(np.nanmean(credit)),
        cohen_kappa=kappa_df, cohen_n=n_df, pairs=pair_df, per_class=per_class,
        confusion=confusion,
        disagreements=disagreement_table(enc, dense, p_item, max_disagreements),
        annotators=annotator_table(enc, pairs, pair_df, credit),
        ci=_bootstrap(enc, counts, p_item, n_item, pairs, cohen_pairs, level, values, n_boot,
                      seed, ci_method) if ci else {},
        cohen_min_shared=min_shared, n_cohen_pairs=int(cohen_pairs.sum()),
    )


def _on_dask(df: Any, *, level: str | None, task: str | None, **options: Any) -> AgreementReport:
    """Agreement of a Dask DataFrame of classes (sums over partitions of whole items)."""
    from assay.collect._dask import dask_agreement

    meta = df._meta
    labels = meta["label"] if "label" in meta.columns else pd.Series([], dtype=object)
    kind = label_kind(labels, level, task)
    if kind != "classification" or level == "ratio":
        raise InputError(f"agreement of a Dask DataFrame measures classes, not {kind} labels; "
                         "compute the table (.compute()) for numbers or label sets.")
    return dask_agreement(df, level=level or "nominal", **options)


def _other_kind(df: pd.DataFrame, kind: str, *, level: str | None, classes: Sequence[Any] | None,
                allow_new: bool, ci: bool, n_boot: int, seed: int, min_shared: int) -> Any:
    """Agreement of numbers or label sets, by the engine of that kind."""
    common: dict[str, Any] = {"ci": ci, "n_boot": n_boot, "seed": seed,
                              "min_shared": min_shared}
    if kind == "regression":
        from assay.collect.agreement_numeric import numeric_agreement

        return numeric_agreement(df, level=level or "interval", **common)
    if level is not None:
        raise InputError(f"level={level!r} does not apply to label sets (measured with the "
                         "MASI distance); leave out the level.")
    from assay.collect.agreement_sets import set_agreement

    return set_agreement(df, labels=classes, allow_new=allow_new, **common)


@validate_params({"k": [Interval(Integral, 1, None)]})
def classes_to_revise(report: AgreementReport, k: int = 5) -> pd.DataFrame:
    """The classes whose labeling instructions most need revision.

    Parameters
    ----------
    report : AgreementReport
    k : int, default 5
        How many classes to return.

    Returns
    -------
    DataFrame of shape (<= k, 5)
        The ``k`` classes with the lowest ``agreement`` (with at least one label on an
        item with two labels), with ``n_labels``, ``agreement``, ``confused_with``,
        ``hlp`` and ``examples``, lowest agreement first.
    """
    pc = report.per_class
    cols = ["n_labels", "agreement", "confused_with", "hlp", "examples"]
    ranked = pc[pc["agreement"].notna()].sort_values(["agreement", "n_labels"],
                                                     ascending=[True, False], kind="stable")
    return ranked[cols].head(k)
