"""Consensus of label sets (multi-label): one binary consensus per label, then the set.

:func:`set_consensus` reads each annotation (a set of label names) as one yes/no answer
per label: annotator ``a`` said *yes* to label ``l`` on item ``i`` when ``l`` is in the
set, *no* otherwise. Each label is then an ordinary two-class consensus problem, solved
by :func:`assay.collect.consensus.consensus` (Dawid-Skene with a 2 x 2 confusion matrix
per annotator and label, i.e. a sensitivity and a specificity, or majority vote), which
gives ``P(l in set_i)`` for every item and label.

**The joint set** of an item is the labels whose posterior is at least 0.5 (the set
that maximises the posterior under per-label independence, and the Bayes decision
under Hamming loss); it may be empty. At exactly 0.5 (a tie, e.g. one yes and one no
under majority vote) the per-label engine's tie-break decides: the answer given more
often to that label over all items wins (usually *no*). Its posterior probability, reported as
``quality``, is the product over all labels of ``p`` for a chosen label and ``1 - p``
for a left-out one: the probability that the whole set is exactly right, under the
model's assumption that the labels are decided independently given the annotators.

**Columns** of ``labels`` (one row per item): ``label`` (the set, a sorted list of
names), ``quality`` (above), ``n_annotations`` (annotators of the item) and
``agreement`` (the mean Jaccard similarity between each annotator's set and the
consensus set, 1 when both are empty: 1 = every annotator gave exactly that set).
``probas`` holds ``P(label in set)`` per item (rows) and label (columns).
``annotators``: ``n_annotations``, ``sensitivity`` and ``specificity`` (the estimated
``P(yes | label applies)`` and ``P(no | label does not apply)``, averaged over the
labels), ``agreement`` (mean Jaccard similarity of their sets with the consensus) and
``quality`` (their balanced accuracy, the mean of sensitivity and specificity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import Integral, Interval, Options, Real, validate_params
from assay.collect.annotations import normalize_annotations
from assay.collect.consensus import ConsensusResult, consensus
from assay.exceptions import InputError
from assay.tasks.multilabel import as_label_set

__all__ = ["SetConsensusResult", "set_consensus"]

METHODS = ("dawid_skene", "majority")


@dataclass
class SetConsensusResult:
    """Consensus label sets (see :func:`set_consensus`).

    Attributes
    ----------
    labels : DataFrame of shape (n_items, 4), indexed by item
        ``label`` (sorted list of names), ``quality``, ``n_annotations``, ``agreement``.
    probas : DataFrame of shape (n_items, n_labels)
        ``P(label in the item's set)``.
    annotators : DataFrame of shape (n_annotators, 5), indexed by annotator
        ``n_annotations``, ``sensitivity``, ``specificity``, ``agreement``, ``quality``.
    per_label : dict of str to ConsensusResult
        The binary consensus of each label (classes ``False``, ``True``).
    method : str
    n_iter : int
        The most iterations any label's Dawid-Skene took (0 for majority).
    converged : bool
        Whether every label's Dawid-Skene converged.
    """

    labels: pd.DataFrame
    probas: pd.DataFrame
    annotators: pd.DataFrame
    per_label: dict[str, ConsensusResult]
    method: str
    n_iter: int = 0
    converged: bool = True

    def summary(self, threshold: float = 0.5) -> str:
        """A few lines of plain text: method, uncertain items and labels, annotators."""
        lab, ann = self.labels, self.annotators
        head = f"{self.method}: {len(lab)} items, {self.probas.shape[1]} labels"
        if self.method == "dawid_skene":
            state = "converged" if self.converged else "some stopped at max_iter"
            head += f", up to {self.n_iter} iterations ({state})"
        low = int((lab["quality"] < threshold).sum())
        unsure = (self.probas - 0.5).abs().lt(0.25).sum().nlargest(3)
        worst = ann["quality"].nsmallest(3)
        sizes = lab["label"].map(len)
        return "\n".join([
            head,
            f"  mean set quality {lab['quality'].mean():.3f}; {low} items below {threshold}; "
            f"mean set size {sizes.mean():.2f}",
            f"  unanimous items: {int((lab['agreement'] == 1).sum())}",
            "  most uncertain labels: "
            + ", ".join(f"{name} ({int(n)} items)" for name, n in unsure.items()),
            "  lowest-quality annotators: "
            + ", ".join(f"{a} ({q:.2f})" for a, q in worst.items()),
        ])

    def to_dict(self, max_items: int = 1000) -> dict[str, Any]:
        """JSON-able form: the run, the annotators, and the first ``max_items`` items."""
        labels = self.labels.head(max_items)
        probas = self.probas.loc[labels.index].to_numpy()
        names = [str(c) for c in self.probas.columns]
        items = [
            {"item": _plain(i), "label": list(s), "quality": float(q),
             "n_annotations": int(n), "agreement": float(g),
             "probas": dict(zip(names, map(float, p), strict=True))}
            for i, s, q, n, g, p in zip(
                labels.index, labels["label"], labels["quality"], labels["n_annotations"],
                labels["agreement"], probas, strict=True)
        ]
        annotators = [
            {"annotator": _plain(a), **{k: _plain(v) for k, v in r.items()}}
            for a, r in self.annotators.iterrows()
        ]
        return {
            "kind": "multilabel", "method": self.method, "n_items": len(self.labels),
            "label_names": list(self.probas.columns), "n_iter": self.n_iter,
            "converged": self.converged, "annotators": annotators, "labels": items,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _label_sets(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """``df`` with each label as a sorted tuple of names (hashable), checked."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{where} must be a pandas DataFrame, got {type(df).__name__}.")
    if "label" not in df.columns:
        return normalize_annotations(df, where=where)  # names the missing column
    sets = [as_label_set(v) for v in df["label"].tolist()]
    return normalize_annotations(df.assign(label=pd.Series(sets, index=df.index, dtype=object)),
                                 where=where)


def _names(sets: pd.Series, labels: Sequence[str] | None, allow_new: bool) -> list[str]:
    seen = sorted({name for s in sets for name in s})
    if labels is None:
        return seen
    names = [str(n) for n in labels]
    if len(set(names)) != len(names):
        raise InputError(f"labels contains duplicates ({names}); give each label once.")
    unknown = [n for n in seen if n not in set(names)]
    if unknown and not allow_new:
        shown = ", ".join(repr(n) for n in unknown[:10])
        raise InputError(
            f"the annotations use {len(unknown)} label(s) not in labels=: {shown}; fix the "
            "annotations, add them to labels=, or pass allow_new=True."
        )
    return names + unknown


def _indicators(sets: pd.Series, names: list[str]) -> np.ndarray:
    """(n_annotations, n_labels) bool: whether each annotation's set holds each label."""
    col = {n: j for j, n in enumerate(names)}
    out = np.zeros((len(sets), len(names)), dtype=bool)
    rows = [(r, col[n]) for r, s in enumerate(sets) for n in s]
    if rows:
        r, c = np.asarray(rows).T
        out[r, c] = True
    return out


def _jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Jaccard similarity of two bool matrices (1 when both rows are empty)."""
    inter = (a & b).sum(axis=1)
    union = (a | b).sum(axis=1)
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


@dataclass(frozen=True)
class _Fits:
    probas: np.ndarray  # (n_items, n_labels)
    chosen: np.ndarray  # (n_items, n_labels) bool: the per-label consensus says yes
    sens: np.ndarray  # (n_annotators, n_labels)
    spec: np.ndarray
    results: dict[str, ConsensusResult]


def _fit_labels(
    frame: pd.DataFrame, yes: np.ndarray, names: list[str], method: str,
    items: pd.Index, annotators: pd.Index, options: dict[str, Any],
) -> _Fits:
    base = frame[["item", "annotator"]]
    probas = np.empty((len(items), len(names)))
    chosen = np.empty((len(items), len(names)), dtype=bool)
    sens = np.empty((len(annotators), len(names)))
    spec = np.empty_like(sens)
    results: dict[str, ConsensusResult] = {}
    for j, name in enumerate(names):
        res = consensus(base.assign(label=yes[:, j]), method, classes=[False, True],
                        **options)
        probas[:, j] = res.probas[True].reindex(items).to_numpy()
        chosen[:, j] = res.labels["label"].reindex(items).to_numpy(dtype=bool)
        pos = res.annotators.index.get_indexer(annotators)
        sens[:, j] = res.confusion[pos, 1, 1]
        spec[:, j] = res.confusion[pos, 0, 0]
        results[name] = res
    return _Fits(probas, chosen, sens, spec, results)


def _result(
    frame: pd.DataFrame, yes: np.ndarray, names: list[str], fits: _Fits, method: str,
    items: pd.Index, annotators: pd.Index,
) -> SetConsensusResult:
    chosen = fits.chosen
    quality = np.where(chosen, fits.probas, 1.0 - fits.probas).prod(axis=1)
    item = items.get_indexer(pd.Index(frame["item"]))
    ann = annotators.get_indexer(pd.Index(frame["annotator"]))
    jac = _jaccard(yes, chosen[item])
    n_i = np.bincount(item, minlength=len(items))
    n_a = np.bincount(ann, minlength=len(annotators))
    arr = np.asarray(names, dtype=object)
    labels = pd.DataFrame(
        {"label": [sorted(arr[row]) for row in chosen], "quality": quality,
         "n_annotations": n_i.astype(np.int64),
         "agreement": np.bincount(item, jac, len(items)) / n_i},
        index=items,
    )
    sens, spec = fits.sens.mean(axis=1), fits.spec.mean(axis=1)
    ann_frame = pd.DataFrame(
        {"n_annotations": n_a.astype(np.int64), "sensitivity": sens, "specificity": spec,
         "agreement": np.bincount(ann, jac, len(annotators)) / n_a,
         "quality": (sens + spec) / 2},
        index=annotators,
    )
    ds = [r for r in fits.results.values() if r.method == "dawid_skene"]
    return SetConsensusResult(
        labels=labels, probas=pd.DataFrame(fits.probas, index=items, columns=names),
        annotators=ann_frame, per_label=fits.results, method=method,
        n_iter=max((r.n_iter for r in ds), default=0),
        converged=all(r.converged for r in ds),
    )


@validate_params({
    "method": [Options(METHODS)],
    "max_iter": [Interval(Integral, 1, None)],
    "tol": [Interval(Real, 0, None)],
})
def set_consensus(
    df: pd.DataFrame,
    *,
    labels: Sequence[str] | None = None,
    method: str = "dawid_skene",
    allow_new: bool = False,
    max_iter: int = 100,
    tol: float = 1e-5,
    **options: Any,
) -> SetConsensusResult:
    """Estimate one label set per item from several annotators' label sets.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (or crowd-kit's ``task``, ``worker``); a label
        is a list (tuple, set, array) of label names or its JSON text (``'["a", "b"]'``);
        ``[]`` says no label applies.
    labels : sequence of str, optional
        Every label name (the label book's classes), in order; labels no annotator gave
        are then still columns of ``probas``. Default: the names found in ``df``, sorted.
    method : {"dawid_skene", "majority"}, default "dawid_skene"
        The two-class consensus run for each label
        (:func:`assay.collect.consensus.consensus`).
    allow_new : bool, default False
        Accept label names outside ``labels`` (appended, sorted) instead of raising.
    max_iter, tol : int, float
        Passed to each label's Dawid-Skene.
    **options
        Further options of :func:`~assay.collect.consensus.consensus` (``smoothing``,
        ``pool_strength``, ``inference``).

    Returns
    -------
    SetConsensusResult
        See the module docstring for the columns and the joint set.

    Raises
    ------
    InputError
        A column is missing, a label is not a list of names, or names a label outside
        ``labels``.
    """
    frame = _label_sets(df, "the annotations")
    names = _names(frame["label"], labels, allow_new)
    if not names:
        raise InputError(
            "no annotation names any label and labels= is not given; give labels= (the "
            "label names) to estimate sets that are all empty."
        )
    yes = _indicators(frame["label"], names)
    items = pd.Index(pd.unique(frame["item"]), name="item")
    annotators = pd.Index(sorted(pd.unique(frame["annotator"]), key=_sort_key),
                          name="annotator")
    if method == "dawid_skene":
        options = {"max_iter": max_iter, "tol": tol, **options}
    fits = _fit_labels(frame, yes, names, method, items, annotators, options)
    return _result(frame, yes, names, fits, method, items, annotators)


def _sort_key(value: Any) -> Any:
    return (0, value) if isinstance(value, (int, float, np.number)) else (1, str(value))
