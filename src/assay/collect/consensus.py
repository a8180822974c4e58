"""Consensus labels from several annotators: majority vote and Dawid-Skene.

:func:`consensus` returns a :class:`ConsensusResult` whose ``labels`` table is indexed by
item with ``label``, ``quality`` (in [0, 1]; low = suspicious), ``n_annotations`` and
``agreement`` (share of the item's annotators who chose ``label``), plus per-annotator
quality and estimated confusion matrices.

**Tie-breaking** is deterministic: among classes with the same vote count (majority) or
the same posterior (Dawid-Skene), the class that is more frequent among all annotations
wins; if that ties too, the class that comes first in ``classes`` (sorted labels by
default) wins. The first rule is the Bayes decision under the one-coin model (every
annotator right with the same probability, errors spread evenly) with the class prior
estimated from the annotations; unlike "first class seen in the file" it does not depend
on the row order of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from assay._validation import (
    Integral,
    Interval,
    Options,
    Real,
    check_in,
    check_pred_probs,
    validate_params,
    warn,
)
from assay.collect import _stats
from assay.collect._dawid_skene import INFERENCE, DSFit, fit_dawid_skene
from assay.collect._memory import CLASSES_FIX, MAX_MEMORY, check_memory
from assay.collect.annotations import EncodedAnnotations, encode_annotations
from assay.exceptions import InputError

__all__ = ["ConsensusResult", "consensus"]

METHODS = ("majority", "dawid_skene")
MODEL_VOTER = "__model__"
#: How a model (``pred_probs``) takes part in Dawid-Skene.
MODEL_VOTES = ("calibrated", "soft")


@dataclass
class ConsensusResult:
    """Consensus labels (see :func:`consensus`).

    Attributes
    ----------
    labels : DataFrame of shape (n_items, 4), indexed by item
        ``label``, ``quality``, ``n_annotations``, ``agreement``.
    probas : DataFrame of shape (n_items, n_classes)
        Posterior class probabilities per item.
    annotators : DataFrame of shape (n_annotators, 3), indexed by annotator
        ``n_annotations``, ``agreement`` (share of their labels equal to the consensus)
        and ``quality`` (estimated accuracy: ``sum_k prior_k confusion[a, k, k]``).
        With ``pred_probs``, the model is the row ``"__model__"``.
    confusion : ndarray of shape (n_annotators, n_classes, n_classes)
        ``confusion[a, k, l]`` = P(annotator ``a`` says ``l`` | true class ``k``).
    priors : Series of shape (n_classes,)
    method : str
    n_iter : int
    converged : bool
    log_likelihood : float
        NaN for majority vote.
    pool_strength : float
        Dawid-Skene: strength of the pooled prior that was used (estimated when
        ``pool_strength="auto"``); NaN for majority vote.
    model_temperature : float or None
        Dawid-Skene with ``pred_probs`` (``model_vote="calibrated"``): the temperature
        the model's log-probabilities were scaled by (> 1: the model was under-confident).
    """

    labels: pd.DataFrame
    probas: pd.DataFrame
    annotators: pd.DataFrame
    confusion: np.ndarray
    priors: pd.Series
    method: str
    n_iter: int = 0
    converged: bool = True
    log_likelihood: float = float("nan")
    pool_strength: float = float("nan")
    model_temperature: float | None = None

    def summary(self, threshold: float = 0.5) -> str:
        """A few lines of plain text: method, convergence, low-quality items."""
        lab = self.labels
        below = lab["quality"] < threshold
        low = int(below.sum())
        wrong = f" (expected wrong: {(1 - lab.loc[below, 'quality']).mean():.0%})" if low else ""
        head = f"{self.method}: {len(lab)} items"
        if self.method == "dawid_skene":
            state = "converged" if self.converged else "stopped at max_iter"
            head += f", {self.n_iter} iterations ({state})"
        worst = self.annotators["quality"].nsmallest(3)
        return "\n".join([
            head,
            f"  mean quality {lab['quality'].mean():.3f}; {low} items below {threshold}{wrong}",
            f"  unanimous items: {int((lab['agreement'] == 1).sum())}",
            "  lowest-quality annotators: "
            + ", ".join(f"{a} ({q:.2f})" for a, q in worst.items()),
        ])

    def annotator_confusion(self, annotator: Any) -> pd.DataFrame:
        """One annotator's estimated confusion matrix (rows: true class, columns: said)."""
        pos = self.annotators.index.get_indexer(pd.Index([annotator]))[0]
        if pos < 0:
            raise InputError(f"no annotator {annotator!r}; pick one of result.annotators.index.")
        cls = self.priors.index
        return pd.DataFrame(self.confusion[pos], index=cls, columns=cls)


def memory_needed(
    n_items: int, n_classes: int, n_voters: int, method: str, n_labels: int | None = None
) -> int:
    """Bytes consensus needs at its peak, about (measured with tracemalloc, rounded up).

    Both methods keep a ``k x k`` confusion matrix per voter (``k = n_classes``; the
    annotators, and the model when ``pred_probs`` is given) and dense ``n_items x k``
    tables (vote counts, posteriors, the probabilities returned), all float64, and a
    few arrays per annotation; Dawid-Skene keeps several copies of the confusion
    matrices through an iteration. ``n_labels`` is the number of labels (the model's
    included); by default every voter labels every item.
    """
    k, k2 = n_classes, n_classes * n_classes
    n_labels = n_items * n_voters if n_labels is None else n_labels
    if method == "majority":  # + leave-one-out agreement, in chunks of 4M item x class cells
        return 8 * (2 * n_voters * k2 + 5 * n_items * k + 16 * n_labels
                    + 3 * min(n_labels * k, 4_000_000))
    return 8 * (8 * n_voters * k2 + 9 * n_items * k + 20 * n_labels + 2 * k2)


def _check_memory(enc: EncodedAnnotations, n_voters: int, method: str, model: bool) -> None:
    k, m = enc.n_classes, n_voters
    n_labels = len(enc.item) + (enc.n_items if model else 0)  # the model labels every item
    check_memory(
        memory_needed(enc.n_items, k, m, method, n_labels),
        limit=MAX_MEMORY,
        what=f"consensus ({method}) over {k} classes",
        why=f"a {k} x {k} confusion matrix for each of {m} annotator(s) and "
        f"{enc.n_items} x {k} tables of items by class",
        fix=CLASSES_FIX,
    )


def _priority(enc: EncodedAnnotations) -> np.ndarray:
    """Tie-break priority per class: higher wins (frequency, then earlier class)."""
    freq = np.bincount(enc.label, minlength=enc.n_classes)
    order = np.lexsort((np.arange(enc.n_classes), -freq))  # best first
    prio = np.empty(enc.n_classes, dtype=np.int64)
    prio[order] = np.arange(enc.n_classes)[::-1]
    return prio


def _argmax_ties(scores: np.ndarray, priority: np.ndarray) -> np.ndarray:
    is_max = scores == scores.max(axis=1, keepdims=True)
    return np.where(is_max, priority[None, :], -1).argmax(axis=1)


def _majority_posterior(counts: np.ndarray, enc: EncodedAnnotations) -> np.ndarray:
    """One-coin posterior: every annotator right with one shared accuracy ``p``.

    ``p`` is the mean leave-one-out agreement with the other annotators' majority;
    errors are spread evenly over the other classes and the prior is uniform.
    """
    k = counts.shape[1]
    credit, _, _ = _stats.leave_one_out(counts, enc.item, enc.label)
    p = float(np.nanmean(credit)) if np.isfinite(credit).any() else 1.0
    p = min(max(p, 1.0 / k + 1e-6), 1.0 - 1e-6) if k > 1 else 1.0
    return one_coin(counts, p)


def one_coin(counts: np.ndarray, p: float) -> np.ndarray:
    """Posterior of every class per item when every annotator is right with chance ``p``
    (errors spread evenly over the other classes, a uniform prior)."""
    k = counts.shape[1]
    if k == 1:
        return np.ones_like(counts, dtype=np.float64)
    n = counts.sum(axis=1, keepdims=True)
    logp = counts * np.log(p) + (n - counts) * np.log((1 - p) / (k - 1))
    logp -= logp.max(axis=1, keepdims=True)
    post = np.exp(logp)
    return post / post.sum(axis=1, keepdims=True)


def _told_apart(counts: np.ndarray, gold_rows: np.ndarray) -> np.ndarray:
    """Items that can tell annotators apart: two or more labels, or gold (shape
    (n_items,)); the pooled prior is counted on them when a model takes part
    (``benchmarks/consensus_with_model.py``, amendment 2)."""
    rows = counts.sum(axis=1) >= 2
    rows[gold_rows] = True
    return rows


def _design(enc: EncodedAnnotations, pred_probs: np.ndarray | None) -> sparse.csr_matrix:
    k, m = enc.n_classes, len(enc.annotators)
    cols = enc.annotator * k + enc.label
    shape = (enc.n_items, (m + (pred_probs is not None)) * k)
    design = sparse.csr_matrix((np.ones(len(cols)), (enc.item, cols)), shape=shape)
    if pred_probs is not None:
        model = sparse.csr_matrix(pred_probs)
        model = sparse.hstack([sparse.csr_matrix((enc.n_items, m * k)), model]).tocsr()
        design = (design + model).tocsr()
    return design


def _gold_codes(
    gold: pd.Series | dict[Any, Any] | None, enc: EncodedAnnotations
) -> tuple[np.ndarray, np.ndarray]:
    if gold is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    g = pd.Series(gold).dropna()
    rows = enc.items.get_indexer(g.index)
    codes = enc.classes.get_indexer(pd.Index(g.to_numpy()))
    if (codes < 0).any():
        bad = sorted(set(map(str, g.to_numpy()[codes < 0])))[:10]
        raise InputError(f"gold labels {bad} are not among the classes {list(enc.classes)}.")
    if (rows < 0).any():
        warn(f"{int((rows < 0).sum())} gold item(s) have no annotations and are ignored.")
    keep = rows >= 0
    return rows[keep].astype(np.int64), codes[keep].astype(np.int64)


def _check_pred_probs(pred_probs: Any, enc: EncodedAnnotations) -> np.ndarray | None:
    if pred_probs is None:
        return None
    if isinstance(pred_probs, pd.DataFrame):
        pred_probs = pred_probs.reindex(index=enc.items, columns=enc.classes)
        if pred_probs.isna().any().any():
            raise InputError(
                "pred_probs (DataFrame) must have a row for every annotated item and a "
                "column for every class; reindex it to (items, classes)."
            )
    arr = check_pred_probs(pred_probs, n_samples=enc.n_items, func="consensus")
    if arr.shape[1] != enc.n_classes:
        raise InputError(
            f"pred_probs has {arr.shape[1]} columns but there are {enc.n_classes} classes; "
            "give one column per class, in the order of classes=."
        )
    return arr


def _strength(value: Any) -> float | None:
    """``None`` for ``"auto"`` (estimate it), else the number (declared >= 0)."""
    return None if isinstance(value, str) else float(value)


def _result(
    enc: EncodedAnnotations, counts: np.ndarray, code: np.ndarray, post: np.ndarray,
    conf: np.ndarray, prior: np.ndarray, method: str, fit: DSFit | None, model: bool,
) -> ConsensusResult:
    n = counts.sum(axis=1)
    rows = np.arange(enc.n_items)
    labels = pd.DataFrame(
        {"label": enc.classes[code], "quality": post[rows, code],
         "n_annotations": n.astype(np.int64), "agreement": counts[rows, code] / n},
        index=pd.Index(enc.items, name="item"),
    )
    m = len(enc.annotators)
    hit = (code[enc.item] == enc.label).astype(np.float64)
    n_ann = np.bincount(enc.annotator, minlength=m)
    names = list(enc.annotators) + ([MODEL_VOTER] if model else [])
    agree = np.bincount(enc.annotator, hit, m) / np.maximum(n_ann, 1)
    ann = pd.DataFrame(
        {"n_annotations": np.append(n_ann, enc.n_items) if model else n_ann,
         "agreement": np.append(agree, np.nan) if model else agree,
         "quality": np.einsum("k,akk->a", prior, conf)},
        index=pd.Index(names, name="annotator"),
    )
    return ConsensusResult(
        labels=labels, probas=pd.DataFrame(post, index=labels.index, columns=enc.classes),
        annotators=ann, confusion=conf, priors=pd.Series(prior, index=enc.classes),
        method=method, n_iter=fit.n_iter if fit else 0,
        converged=fit.converged if fit else True,
        log_likelihood=fit.log_likelihood if fit else float("nan"),
        pool_strength=fit.pool_strength if fit else float("nan"),
        model_temperature=fit.model_temperature if fit else None,
    )


def _majority_confusion(
    enc: EncodedAnnotations, code: np.ndarray, smoothing: float
) -> np.ndarray:
    k, m = enc.n_classes, len(enc.annotators)
    key = (enc.annotator * k + code[enc.item]) * k + enc.label
    cnt = np.bincount(key, minlength=m * k * k).reshape(m, k, k) + smoothing
    return cnt / cnt.sum(axis=2, keepdims=True)


def _majority(
    enc: EncodedAnnotations, counts: np.ndarray, probs: np.ndarray | None,
    gold_rows: np.ndarray, gold_codes: np.ndarray, smoothing: float,
) -> ConsensusResult:
    votes = counts + (probs if probs is not None else 0.0)
    votes[gold_rows] = 0.0
    votes[gold_rows, gold_codes] = 1.0
    code = _argmax_ties(votes, _priority(enc))
    post = _majority_posterior(counts, enc)
    post[gold_rows] = votes[gold_rows]
    conf = _majority_confusion(enc, code, smoothing)
    prior = np.bincount(code, minlength=enc.n_classes) / enc.n_items
    return _result(enc, counts, code, post, conf, prior, "majority", None, False)


#: Arguments of :func:`consensus` that only single-label classification takes, with
#: their defaults: another task's engine is handed ``method`` (and ``max_iter`` /
#: ``tol`` when given) only.
_CLASSIFICATION_ONLY = {
    "classes": None, "allow_new": False, "gold": None, "pred_probs": None,
    "smoothing": 0.01, "pool_strength": "auto", "inference": "variational",
    "model_vote": "calibrated",
}


def _hand_off(
    task: str, df: pd.DataFrame, method: str | None, given: dict[str, Any],
    max_iter: int, tol: float,
) -> Any:
    """Run the consensus engine of ``task`` (not this function), or None if it is this."""
    from assay.tasks import get_task

    kind = get_task(task)
    engine = kind.consensus
    if engine is consensus:
        return None
    extra = [k for k, v in given.items() if not _same(v, _CLASSIFICATION_ONLY[k])]
    if extra:
        raise InputError(
            f"{', '.join(f'{k}=' for k in extra)} apply to single-label classification, "
            f"not to task={task!r}; call its engine ({engine.__module__}.{engine.__name__}) "
            "for its own options."
        )
    options: dict[str, Any] = {"method": method or kind.consensus_method}
    if max_iter != 100:
        options["max_iter"] = max_iter
    if tol != 1e-5:
        options["tol"] = tol
    return engine(df, **options)


def _same(value: Any, default: Any) -> bool:
    return value is default or (isinstance(value, (str, bool, float)) and value == default)


def _on_dask(df: Any, method: str | None, task: str | None, gold: Any, pred_probs: Any,
             **options: Any) -> ConsensusResult:
    """Consensus of a Dask DataFrame (map-reduce, :mod:`assay.collect._dask`)."""
    from assay.collect._dask import dask_consensus

    if task not in (None, "classification") or gold is not None or pred_probs is not None:
        raise InputError("consensus of a Dask DataFrame takes classes (no task=, gold= or "
                         "pred_probs=); compute the table (.compute()) for those.")
    method = check_in("majority" if method is None else method, METHODS, name="method",
                      func="consensus")
    return dask_consensus(df, method, **options)


@validate_params({
    "method": [str, None],
    "task": [str, None],
    "smoothing": [Interval(Real, 0, None)],
    "pool_strength": [Options(("auto",)), Interval(Real, 0, None)],
    "max_iter": [Interval(Integral, 1, None)],
    "tol": [Interval(Real, 0, None)],
    "inference": [Options(INFERENCE)],
    "model_vote": [Options(MODEL_VOTES)],
})
def consensus(
    df: pd.DataFrame,
    method: str | None = None,
    *,
    task: str | None = None,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
    gold: pd.Series | dict[Any, Any] | None = None,
    pred_probs: Any = None,
    smoothing: float = 0.01,
    pool_strength: float | Literal["auto"] = "auto",
    max_iter: int = 100,
    tol: float = 1e-5,
    inference: Literal["variational", "point"] = "variational",
    model_vote: Literal["calibrated", "soft"] = "calibrated",
) -> Any:
    """Estimate one label per item from several annotators.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (or crowd-kit's ``task``, ``worker``).
    method : {"majority", "dawid_skene"}, optional
        Default ``"majority"`` (for another ``task``: its engine's methods, default its
        :attr:`~assay.tasks.Task.consensus_method`).
        ``"majority"``: the most frequent label; ``quality`` is its posterior under a
        one-coin model (every annotator right with one shared accuracy, estimated as the
        mean leave-one-out agreement). ``"dawid_skene"``: EM over per-annotator confusion
        matrices (Dawid & Skene 1979), initialised with majority-vote shares, with a
        Dirichlet prior that shrinks each annotator toward the pooled annotator (see
        ``pool_strength``) and, by default, variational Bayes inference (see
        ``inference``); ``quality`` is the posterior of the chosen label.
    classes : sequence, optional
        The classes, in order (labels outside them raise unless ``allow_new``).
    allow_new : bool, default False
    gold : Series or dict, optional
        Known labels by item; Dawid-Skene clamps their posterior to the gold class (they
        teach it the annotators' confusion matrices); majority vote uses them as the label.
    pred_probs : array-like of shape (n_items, n_classes) or DataFrame, optional
        A model's out-of-sample probabilities, in the order of first appearance of the
        items in ``df`` (or a DataFrame indexed by item with one column per class). With
        majority vote it adds its probabilities as one fractional vote; with
        Dawid-Skene see ``model_vote``. It is reported as the annotator ``"__model__"``.
    model_vote : {"calibrated", "soft"}, default "calibrated"
        Dawid-Skene with ``pred_probs``: ``"calibrated"`` multiplies the annotators'
        evidence by the model's probabilities raised to a temperature fitted at every
        iteration against the consensus (``model_temperature``); ``"soft"`` (the rule
        before) makes the model one more annotator whose probability row replaces a
        one-hot row, which rates it by its mean confidence rather than its accuracy.
        Against CROWDLAB (``benchmarks/consensus_with_model.py``) "soft" lost by
        0.07-0.11 accuracy when items have one or two labels.
    smoothing : float, default 0.01
        Pseudo-count added to every cell of the confusion matrices and to the class prior
        (keeps rare classes and one-off annotators from getting zero probabilities).
    pool_strength : float or "auto", default "auto"
        Dawid-Skene only: strength, in pseudo-labels per true class, of a Dirichlet prior
        that shrinks each annotator's confusion matrix toward the pooled one of all
        annotators (helps annotators with few labels; 0 gives classic maximum-likelihood
        DS). ``"auto"`` estimates it from the annotations (empirical Bayes: the value that
        maximises the Dirichlet-multinomial marginal likelihood of the annotators'
        majority-vote confusion counts); gold labels are not used for it.
    max_iter : int, default 100
    tol : float, default 1e-5
        Dawid-Skene stops when its objective gains less than ``tol`` per annotation in
        one step (crowd-kit's ``tol`` is on the same per-label scale). ``tol=0`` runs
        ``max_iter`` steps unless the objective stops increasing.
    inference : {"variational", "point"}, default "variational"
        Dawid-Skene only. ``"variational"``: variational Bayes over the confusion
        matrices (IBCC-style; annotators with few labels get uncertain confusion
        matrices and count for less), objective = evidence lower bound. ``"point"``: EM
        with point estimates, objective = log-likelihood + log prior; with
        ``pool_strength=0`` and a tiny ``smoothing`` it is classic Dawid-Skene, step for
        step crowd-kit's ``DawidSkene``. The default was chosen without gold labels, on
        semi-synthetic data (benchmarks/consensus_selection.py).
    task : str, optional
        The kind of label (:func:`assay.tasks.get_task`); default single-label
        classification. Another kind hands ``df`` to that task's consensus engine:
        ``"regression"`` (numbers) runs
        :func:`assay.collect.consensus_numeric.numeric_consensus` (``method`` "em",
        "mean" or "median"), ``"multilabel"`` (lists of label names) runs
        :func:`assay.collect.consensus_sets.set_consensus` (Dawid-Skene or majority per
        label). Only ``method``, ``max_iter`` and ``tol`` are passed on; the arguments
        of classification (``classes``, ``gold``, ``pred_probs``, ...) are refused.

    A Dask DataFrame (larger than memory) runs majority vote or Dawid-Skene as
    map-reduce over partitions of whole items (:mod:`assay.collect._dask`; no ``gold``,
    ``pred_probs`` or other ``task``): the same numbers, with ``labels`` and ``probas``
    as lazy Dask DataFrames.

    Returns
    -------
    ConsensusResult
        For another ``task``, its engine's result (e.g. ``NumericConsensusResult``,
        ``SetConsensusResult``): ``labels`` indexed by item with ``label``,
        ``quality``, ``n_annotations``, ``agreement``, and ``annotators``.
    """
    if type(df).__module__.startswith("dask"):
        return _on_dask(df, method, task, gold, pred_probs, classes=classes,
                        allow_new=allow_new, smoothing=smoothing,
                        pool_strength=_strength(pool_strength), max_iter=max_iter, tol=tol,
                        inference=inference)
    if task is not None:
        given = {"classes": classes, "allow_new": allow_new, "gold": gold,
                 "pred_probs": pred_probs, "smoothing": smoothing,
                 "pool_strength": pool_strength, "inference": inference,
                 "model_vote": model_vote}
        handed = _hand_off(task, df, method, given, max_iter, tol)
        if handed is not None:
            return handed
    method = check_in("majority" if method is None else method, METHODS, name="method",
                      func="consensus")
    strength = _strength(pool_strength)
    enc = encode_annotations(df, classes=classes, allow_new=allow_new)
    probs = _check_pred_probs(pred_probs, enc)
    gold_rows, gold_codes = _gold_codes(gold, enc)
    _check_memory(enc, len(enc.annotators) + (probs is not None), method, probs is not None)
    counts = enc.counts().toarray().astype(np.float64)
    if method == "majority":
        return _majority(enc, counts, probs, gold_rows, gold_codes, smoothing)
    init = counts / counts.sum(axis=1, keepdims=True)
    hard = _argmax_ties(counts, _priority(enc))  # majority vote: centre of the prior
    hard[gold_rows] = gold_codes
    expert = None  # the model's log-probabilities, when it joins as a calibrated expert
    if probs is not None and model_vote == "calibrated":
        expert = np.log(np.clip(probs, 1e-12, 1.0))
    fit = fit_dawid_skene(_design(enc, None if expert is not None else probs), init,
                          init_codes=hard, gold_rows=gold_rows, gold_codes=gold_codes,
                          smoothing=smoothing, pool_strength=strength, max_iter=max_iter,
                          tol=tol, inference=inference, model_log=expert,
                          prior_rows=None if expert is None else _told_apart(counts, gold_rows))
    code = _argmax_ties(fit.posterior, _priority(enc))
    return _result(enc, counts, code, fit.posterior, fit.confusion, fit.prior, method, fit,
                   probs is not None)
