"""Find label errors with confident learning and label-quality scores.

Two public functions:

* :func:`find_label_issues` flags likely mislabelled examples and scores every label;
* :func:`estimate_noise` estimates the noise process (confident joint, noise matrices).

Both need out-of-sample predicted probabilities, e.g. from
:func:`assay.train.predict.cross_val_predict_proba`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._dask import is_dask_collection
from assay._validation import Integral, Interval, Options, validate_params
from assay.exceptions import InputError
from assay.tasks import get_task, registered_tasks
from assay.train.labels._dask import find_label_issues_dask
from assay.train.labels._joint import calibrate_joint, confident_joint, warn_empty_classes
from assay.train.labels._prune import PRUNE_RULES, PruneContext, off_diagonals
from assay.train.labels._scores import NEEDS, SCORES
from assay.train.labels._stats import check_shape, decode_labels, encode_labels, scan_pred_probs

__all__ = [
    "NoiseEstimate",
    "estimate_noise",
    "find_classification_issues",
    "find_label_issues",
    "summarize_label_issues",
]


def _confident_learning(
    labels: Any,
    pred_probs: Any,
    classes: Sequence[Any] | None,
    *,
    score: str = "self_confidence",
    min_per_class: int = 1,
    func: str,
) -> tuple[PruneContext, np.ndarray]:
    """Validate, compute the row statistics, and build the calibrated confident joint."""
    n_labels = len(labels) if hasattr(labels, "__len__") else np.size(labels)
    pred_probs = check_shape(pred_probs, n_labels, func)
    codes, found = encode_labels(labels, pred_probs.shape[1], classes, func=func)
    counts = np.bincount(codes, minlength=len(found))
    if np.count_nonzero(counts) < 2:
        raise InputError(
            f"every label is {found[codes[0]].tolist()!r}; finding label issues needs examples "
            "of at least 2 classes."
        )
    margin, entropy = NEEDS[score]
    stats = scan_pred_probs(pred_probs, codes, counts, margin=margin, entropy=entropy, func=func)
    warn_empty_classes(counts)
    joint = calibrate_joint(confident_joint(stats, counts), counts)
    ctx = PruneContext(stats, counts, joint, min_per_class)
    return ctx, found


#: The classification options of :func:`find_label_issues` and their defaults.
_CLASSIFICATION_DEFAULTS: dict[str, Any] = {
    "method": "prune_by_noise_rate",
    "score": "self_confidence",
    "min_examples_per_class": 1,
}


@validate_params({
    "method": [Options(PRUNE_RULES)],
    "score": [Options(SCORES)],
    "min_examples_per_class": [Interval(Integral, 0, None)],
    "task": [Options(registered_tasks())],
})
def find_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    classes: Sequence[Any] | None = None,
    method: str = "prune_by_noise_rate",
    score: str = "self_confidence",
    min_examples_per_class: int = 1,
    task: str = "classification",
) -> pd.DataFrame:
    """Flag likely label errors and score the quality of every label, for any task.

    ``task`` names the kind of label (:func:`assay.tasks.get_task`) whose engine runs:
    ``"classification"`` (default, below), ``"regression"`` (``pred_probs`` are the
    model's out-of-sample predictions, shape (n,):
    :func:`assay.train.labels._regression.find_regression_issues`) or ``"multilabel"``
    (``labels`` an (n, k) 0/1 array or a list of label sets, ``pred_probs`` (n, k):
    :func:`assay.train.labels._multilabel.find_multilabel_issues`). Every task returns
    the same table contract; ``method``, ``score`` and ``min_examples_per_class`` are
    options of classification only.

    Dask arrays (``pred_probs`` chunked by rows, ``labels`` a Dask or in-memory array)
    stay on the cluster: classification runs in passes over the partitions
    (:mod:`assay.train.labels._dask`) and returns a lazy **Dask DataFrame** with the same
    columns, indexed by row position; write it (``to_parquet``) or compute what you need.

    Raises
    ------
    InputError
        Bad input (see below and the task's engine), or a classification option given
        to a task that does not take it.
    """
    if is_dask_collection(labels) or is_dask_collection(pred_probs):
        return _on_dask(labels, pred_probs, classes, task, method, score, min_examples_per_class)
    chosen = get_task(task)
    given = {"method": method, "score": score, "min_examples_per_class": min_examples_per_class}
    options = {k: v for k, v in given.items() if v != _CLASSIFICATION_DEFAULTS[k]}
    refused = sorted(set(options) - set(chosen.label_issue_options))
    if refused:
        takes = ", ".join(chosen.label_issue_options) or "no options"
        named = ", ".join(f"{name}=" for name in refused)
        raise InputError(
            f"{named} is an option of classification; {task} label issues take {takes}. "
            "Leave it out."
        )
    return chosen.find_label_issues(labels, pred_probs, classes=classes, **options)


def _on_dask(labels: Any, pred_probs: Any, classes: Sequence[Any] | None, task: str,
             method: str, score: str, min_per_class: int) -> Any:
    """Classification label issues of Dask arrays (a lazy Dask DataFrame)."""
    if task != "classification":
        raise InputError(f"label issues of Dask arrays are for classification, not {task}; "
                         "compute the arrays (.compute()) or use task='classification'.")
    return find_label_issues_dask(labels, pred_probs, classes=classes, method=method,
                                  score=score, min_examples_per_class=min_per_class)


@validate_params({
    "method": [Options(PRUNE_RULES)],
    "score": [Options(SCORES)],
    "min_examples_per_class": [Interval(Integral, 0, None)],
}, name="find_label_issues")
def find_classification_issues(
    labels: Any,
    pred_probs: Any,
    *,
    classes: Sequence[Any] | None = None,
    method: str = "prune_by_noise_rate",
    score: str = "self_confidence",
    min_examples_per_class: int = 1,
) -> pd.DataFrame:
    """Flag likely label errors and score the quality of every label (one class per item).

    Confident learning (Northcutt, Jiang & Chuang, JAIR 2021): a class's threshold is
    the mean predicted probability of that class over the examples labelled with it;
    examples whose probability of another class reaches that class's threshold are
    counted in the confident joint ``C[given, true]``, which is calibrated to the label
    counts; then ``method`` decides which examples to flag:

    * ``"prune_by_noise_rate"``: per (given k, true j), the ``C[k, j]`` examples given
      ``k`` with the largest margin ``p_j - p_k``;
    * ``"prune_by_class"``: per class k, the ``n_k - C[k, k]`` lowest ``p_k``;
    * ``"both"``: flagged by both rules;
    * ``"confident_learning"``: every example counted off the diagonal of ``C``.

    In every case an example whose given label is the predicted class is not flagged.
    ``label_quality`` is one of the ``score`` functions: ``"self_confidence"``
    (``p[given]``), ``"normalized_margin"`` (``(p[given] - max_other + 1) / 2``) or
    ``"confidence_weighted_entropy"``.

    Defaults, chosen by measurement (``benchmarks/label_issues.py``, results in
    ``benchmarks/results/label_issues.md``) on 8 sets with known errors (the
    human-verified errors of the MNIST and CIFAR-10 test sets; digits, breast_cancer and
    wine with 12% and 25% planted class-conditional noise): ``method="prune_by_noise_rate"``
    and ``score="self_confidence"`` are the only choices that are at least as good as
    cleanlab's defaults on every set (they are the same rules, and give the same flags and
    scores). The alternatives trade wins and losses: ``"normalized_margin"`` ranks real
    CIFAR-10 errors better (AUPRC 0.285 vs 0.236) and wine, but digits worse (0.884 vs
    0.901); ``method="both"`` has a better F1 on CIFAR-10 and digits, a worse one on wine;
    ``"confidence_weighted_entropy"`` fails on MNIST (AUPRC 0.003).

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Given labels, ints (column indices of ``pred_probs`` unless ``classes`` is given)
        or strings.
    pred_probs : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities (rows within 1e-4 of summing to 1 are
        renormalised; float32 is promoted to float64 chunk by chunk).
    classes : sequence of length n_classes, optional
        The class of each column of ``pred_probs``. Defaults to ``range(n_classes)`` for
        integer labels and to the sorted distinct labels otherwise.
    method : {"prune_by_noise_rate", "prune_by_class", "both", "confident_learning"}
        Which examples to flag (see above).
    score : {"self_confidence", "normalized_margin", "confidence_weighted_entropy"}
        The ``label_quality`` score.
    min_examples_per_class : int, default=1
        Never flag so many examples of a class that fewer than this many remain.

    Returns
    -------
    pandas.DataFrame with one row per example, in input order (index of ``labels`` when
    it is a pandas Series), and columns ``is_label_issue`` (bool), ``label_quality``
    (float in [0, 1], low = likely wrong), ``given_label`` and ``suggested_label`` (the
    predicted class), both as original label values.

    Raises
    ------
    InputError
        On bad input: probabilities with NaN/inf, negative values or rows not summing to 1,
        a shape that does not match the labels, labels outside the classes, a single class.
        A class without examples only warns.
    """
    func = "find_label_issues"
    ctx, found = _confident_learning(
        labels,
        pred_probs,
        classes,
        score=score,
        min_per_class=min_examples_per_class,
        func=func,
    )
    index = labels.index if isinstance(labels, pd.Series) else None
    return pd.DataFrame(
        {
            "is_label_issue": PRUNE_RULES[method](ctx),
            "label_quality": SCORES[score](ctx.stats),
            "given_label": decode_labels(found, ctx.stats.codes),
            "suggested_label": decode_labels(found, ctx.stats.argmax),
        },
        index=index,
        copy=False,  # every column is a new array (no consolidating copy)
    )


def summarize_label_issues(issues: pd.DataFrame) -> pd.DataFrame:
    """Count the flagged examples per (given label, suggested label), most frequent first.

    Parameters
    ----------
    issues : DataFrame
        The result of :func:`find_label_issues`.

    Returns
    -------
    DataFrame with columns ``given_label``, ``suggested_label``, ``n_issues`` and
    ``share`` (of all flagged examples), one row per confused pair.
    """
    flagged = issues.loc[issues["is_label_issue"], ["given_label", "suggested_label"]]
    counts = flagged.value_counts(sort=True).rename("n_issues").reset_index()
    counts["share"] = counts["n_issues"] / max(len(flagged), 1)
    return counts


@dataclass(frozen=True)
class NoiseEstimate:
    """The estimated label-noise process of a dataset (see :func:`estimate_noise`).

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
    confident_joint : ndarray of shape (n_classes, n_classes) of int
        Calibrated confident joint: ``[i, j]`` = examples given ``i`` estimated truly ``j``;
        row ``i`` sums to the number of examples given ``i``.
    noise_matrix : ndarray of shape (n_classes, n_classes)
        ``P(given = i | true = j)`` at ``[i, j]``; columns sum to 1.
    inverse_noise_matrix : ndarray of shape (n_classes, n_classes)
        ``P(true = j | given = i)`` at ``[j, i]``; columns sum to 1 (cleanlab's layout).
    noise_rates : ndarray of shape (n_classes,)
        ``P(given != k | true = k)``: how often a truly-``k`` example carries another label.
    prior : ndarray of shape (n_classes,)
        Estimated distribution of the true classes.
    num_issues : int
        Estimated number of label errors: examples off the diagonal of the (uncalibrated)
        confident joint whose given label is not the predicted class.
    """

    classes: np.ndarray
    confident_joint: np.ndarray
    noise_matrix: np.ndarray
    inverse_noise_matrix: np.ndarray
    noise_rates: np.ndarray
    prior: np.ndarray
    num_issues: int

    def to_frame(self) -> pd.DataFrame:
        """One row per class: examples given it, estimated truly it, and noise rates."""
        return pd.DataFrame(
            {
                "n_given": self.confident_joint.sum(axis=1),
                "n_true": self.confident_joint.sum(axis=0),
                "prior": self.prior,
                "noise_rate": self.noise_rates,
                "issue_rate": 1.0 - self.inverse_noise_matrix.diagonal(),
            },
            index=pd.Index(self.classes, name="class"),
        )


def estimate_noise(
    labels: Any, pred_probs: Any, *, classes: Sequence[Any] | None = None
) -> NoiseEstimate:
    """Estimate the noise matrix and per-class noise rates by confident learning.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Given labels, as for :func:`find_label_issues`.
    pred_probs : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted probabilities.
    classes : sequence of length n_classes, optional
        The class of each column of ``pred_probs``.

    Returns
    -------
    NoiseEstimate
    """
    ctx, found = _confident_learning(labels, pred_probs, classes, func="estimate_noise")
    joint = ctx.joint.astype(np.float64)
    true_counts, given_counts = joint.sum(axis=0), joint.sum(axis=1)
    noise = _clip_noise(joint / np.clip(true_counts, 1e-100, None))
    inverse = _clip_noise(joint.T / np.clip(given_counts, 1e-100, None))
    prior = np.clip(true_counts / max(joint.sum(), 1.0), 1e-6, 1.0)
    return NoiseEstimate(
        classes=found,
        confident_joint=ctx.joint,
        noise_matrix=noise,
        inverse_noise_matrix=inverse,
        noise_rates=1.0 - noise.diagonal(),
        prior=prior / prior.sum(),
        num_issues=int(np.count_nonzero(off_diagonals(ctx))),
    )


def _clip_noise(matrix: np.ndarray) -> np.ndarray:
    """Clip off-diagonal rates to [0, 0.9999] and renormalise columns (as cleanlab)."""
    diag = matrix.diagonal().copy()
    out = np.clip(matrix, 0.0, 0.9999)
    np.fill_diagonal(out, diag)
    return out / np.clip(out.sum(axis=0), 1e-100, None)
