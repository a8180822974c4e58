"""Evaluate a fixed recipe on a frozen evaluation set, and refuse a dishonest one.

:func:`evaluate` predicts the evaluation set and returns an :class:`Evaluation`: accuracy
(Wilson 95% interval), macro F1 and balanced accuracy (percentile bootstrap 95%
intervals), precision / recall / F1 / support per class, accuracy per tag value (Wilson),
the confusion matrix, and the predictions themselves, kept so that two evaluations on
the same items can be compared pairwise (:func:`assay.train.evaluate.compare`).

The evaluation set must stay honest across the loop, so the checks refuse:

- training rows that are also evaluation rows, by id or by identical feature content
  (:func:`check_leakage`); given content digests (e.g. of media files), an id counts
  only when the content is the same too, so two corpora that both hold a file named
  ``cat/001.png`` do not collide (:func:`find_id_collisions` lists such names);
- evaluation classes that never occur in training (:func:`check_eval_classes`);
- augmented rows (an ``augmented`` column that is True, see :mod:`assay.train.augment`)
  in an evaluation set (:func:`check_not_augmented`).

:func:`compare` pairs two evaluations on the same items: metric deltas with paired
bootstrap intervals and McNemar's exact test on paired correctness.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import precision_recall_fscore_support

from assay._stats import bootstrap_indices, percentile_interval, wilson_interval
from assay._validation import Integral, Interval, Satisfies, check_labels, validate_params
from assay.exceptions import InputError
from assay.tasks import Task, get_task, registered_tasks
from assay.train.evaluate._checks import (
    AUGMENTED_COLUMN,
    check_eval_classes,
    check_leakage,
    check_not_augmented,
    find_id_collisions,
    find_leakage,
    row_hashes,
)
from assay.train.evaluate._compare import Comparison, compare
from assay.train.evaluate._missing import check_missing_accepted
from assay.train.evaluate._result import (
    _TAG_COLUMNS,
    METRICS,
    Evaluation,
    _py,
)
from assay.train.evaluate._stats import (
    balanced_accuracy_from_confusion,
    confusions,
    macro_f1_from_confusion,
)

__all__ = [
    "AUGMENTED_COLUMN",
    "METRICS",
    "Comparison",
    "Evaluation",
    "check_eval_classes",
    "check_leakage",
    "check_not_augmented",
    "compare",
    "evaluate",
    "evaluate_predictions",
    "find_id_collisions",
    "find_leakage",
    "fit_and_evaluate",
    "row_hashes",
]


# -- evaluation ---------------------------------------------------------------------
#: The bootstrap parameters of :func:`evaluate` and :func:`fit_and_evaluate`.
_BOOT_PARAMS: dict[str, list[Any]] = {
    "n_boot": [Interval(Integral, 1, None)],
    "seed": [Interval(Integral, 0, None)],
    "task": [None, Satisfies(lambda t: isinstance(t, Task) or t in registered_tasks(),
                             "a Task or a registered task kind", bad=["no-such-task"])],
}
_PREDICTION_PARAMS = {k: v for k, v in _BOOT_PARAMS.items() if k != "task"}


def _task(task: Task | str | None) -> Task:
    """The task (default: classification) from a Task or its kind."""
    return task if isinstance(task, Task) else get_task(task)


@validate_params(_BOOT_PARAMS, prefer_skip_nested_validation=True)
def evaluate(
    estimator: Any,
    X_eval: Any,
    y_eval: Any,
    *,
    tags: pd.DataFrame | Mapping[str, Any] | None = None,
    ids: Sequence[Any] | np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    task: Task | str | None = None,
) -> Any:
    """Evaluate a fitted model on an evaluation set, in its task's metrics.

    Parameters
    ----------
    estimator : fitted scikit-learn classifier
        Anything with ``predict``.
    X_eval : array-like of shape (n_samples, n_features) or DataFrame
        Evaluation features. A DataFrame with an ``augmented`` column that is True on any
        row is refused: augmented rows never enter evaluation sets.
    y_eval : array-like of shape (n_samples,)
        True labels.
    tags : DataFrame or mapping of str to array of shape (n_samples,), optional
        Tag columns (e.g. ``{"noise": [...], "speaker": [...]}``): accuracy is reported
        per tag value.
    ids : array-like of shape (n_samples,), optional
        Item ids, kept to pair this evaluation with another one.
    classes : sequence, optional
        The classes, in confusion-matrix order; defaults to the sorted union of the
        given and predicted labels.
    n_boot : int, default=1000
        Bootstrap resamples for the macro F1 and balanced-accuracy intervals.
    seed : int, default=0
        Seed of the bootstrap.
    task : Task or str, optional
        The kind of label (default ``"classification"``): ``"regression"`` (a regressor,
        ``y_eval`` numbers: MAE, RMSE, R²) or ``"multilabel"`` (``y_eval`` label sets or an
        (n, k) 0/1 matrix, the estimator predicting (n, k) 0/1 with columns in ``classes``
        order: micro / macro F1, Hamming loss).

    Returns
    -------
    Evaluation, RegressionEvaluation or MultilabelEvaluation
        The task's evaluation (:meth:`assay.tasks.Task.evaluate_predictions`).
    """
    if isinstance(X_eval, pd.DataFrame):
        check_not_augmented(X_eval)
    check_missing_accepted(estimator, X_eval, where="the evaluation data")
    y_pred = np.asarray(estimator.predict(X_eval))
    return _task(task).evaluate_predictions(
        y_eval, y_pred, tags=tags, ids=ids, classes=classes, n_boot=n_boot, seed=seed
    )


@validate_params(_PREDICTION_PARAMS, name="evaluate")
def evaluate_predictions(
    y_true: Any,
    y_pred: Any,
    *,
    tags: pd.DataFrame | Mapping[str, Any] | None = None,
    ids: Sequence[Any] | np.ndarray | None = None,
    classes: Sequence[Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Evaluation:
    """Build an :class:`Evaluation` from labels and predictions (see :func:`evaluate`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    """
    func = "evaluate"
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size == 0:
        raise InputError(
            f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}; give two non-empty "
            "1-d arrays with one label per evaluation item."
        )
    if classes is None:
        classes = _default_classes(y_true, y_pred)
    t, classes_arr = check_labels(y_true, classes, func=func)
    p, _ = check_labels(y_pred, list(classes_arr), func=func)
    k = len(classes_arr)
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return Evaluation(
        classes=[_py(c) for c in classes_arr],
        overall=_overall(t, p, cm, n_boot=n_boot, seed=seed),
        per_class=_per_class(t, p, classes_arr),
        per_tag=_per_tag(t == p, tags, n=t.shape[0]),
        confusion=cm,
        y_true=y_true,
        y_pred=y_pred,
        ids=None if ids is None else _check_ids(ids, t.shape[0]),
        info={"n_boot": int(n_boot), "seed": int(seed)},
    )


def _default_classes(y_true: np.ndarray, y_pred: np.ndarray) -> list[Any]:
    values = pd.unique(np.concatenate([y_true.astype(object), y_pred.astype(object)]))
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _check_ids(ids: Any, n: int) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.shape != (n,):
        raise InputError(f"ids has shape {arr.shape}; give one id per evaluation item ({n}).")
    if pd.Series(arr).duplicated().any():
        dup = pd.Series(arr)[pd.Series(arr).duplicated()].iloc[0]
        raise InputError(f"evaluation id {dup!r} occurs more than once; ids must be unique.")
    return arr


def _overall(
    t: np.ndarray, p: np.ndarray, cm: np.ndarray, *, n_boot: int, seed: int
) -> dict[str, dict[str, Any]]:
    n, k = t.shape[0], cm.shape[0]
    f1_labels = np.flatnonzero(cm.sum(axis=0) + cm.sum(axis=1) > 0)
    ba_labels = np.flatnonzero(cm.sum(axis=1) > 0)
    correct = int(np.trace(cm))
    low, high = wilson_interval(correct, n)
    boot_f1, boot_ba = [], []
    for idx in bootstrap_indices(n, n_boot, seed):
        cms = confusions(t, p, idx, k)
        boot_f1.append(macro_f1_from_confusion(cms, f1_labels))
        boot_ba.append(balanced_accuracy_from_confusion(cms, ba_labels))
    f1_ci = percentile_interval(np.concatenate(boot_f1))
    ba_ci = percentile_interval(np.concatenate(boot_ba))
    return {
        "accuracy": {"value": correct / n, "low": low, "high": high, "method": "wilson"},
        "macro_f1": {
            "value": float(macro_f1_from_confusion(cm, f1_labels)),
            "low": f1_ci[0],
            "high": f1_ci[1],
            "method": "bootstrap",
        },
        "balanced_accuracy": {
            "value": float(balanced_accuracy_from_confusion(cm, ba_labels)),
            "low": ba_ci[0],
            "high": ba_ci[1],
            "method": "bootstrap",
        },
    }


def _per_class(t: np.ndarray, p: np.ndarray, classes: np.ndarray) -> pd.DataFrame:
    precision, recall, f1, support = precision_recall_fscore_support(
        t, p, labels=np.arange(len(classes)), zero_division=0
    )
    return pd.DataFrame(
        {
            "class": [_py(c) for c in classes],
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support.astype(np.int64),
        }
    )


def _tag_frame(tags: pd.DataFrame | Mapping[str, Any], n: int) -> pd.DataFrame:
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


def _per_tag(
    correct: np.ndarray, tags: pd.DataFrame | Mapping[str, Any] | None, *, n: int
) -> pd.DataFrame:
    if tags is None:
        return pd.DataFrame(columns=_TAG_COLUMNS)
    rows = []
    for name, column in _tag_frame(tags, n).items():
        groups = pd.Series(correct).groupby(column.to_numpy(), dropna=True, sort=True)
        for value, hits in groups:
            k, m = int(hits.sum()), int(hits.size)
            low, high = wilson_interval(k, m)
            rows.append([str(name), _py(value), m, k, k / m, low, high])
    return pd.DataFrame(rows, columns=_TAG_COLUMNS)


# -- train and evaluate -------------------------------------------------------------
@validate_params(_BOOT_PARAMS, prefer_skip_nested_validation=True)
def fit_and_evaluate(
    recipe: Any,
    X_train: Any,
    y_train: Any,
    X_eval: Any,
    y_eval: Any,
    *,
    train_ids: Any = None,
    eval_ids: Any = None,
    train_parent_ids: Any = None,
    train_digests: Any = None,
    eval_digests: Any = None,
    tags: pd.DataFrame | Mapping[str, Any] | None = None,
    classes: Sequence[Any] | None = None,
    check_content: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    task: Task | str | None = None,
) -> Any:
    """Check the evaluation set, fit the recipe (timed), and evaluate it.

    Parameters
    ----------
    recipe : Recipe or unfitted scikit-learn estimator
        The fixed model; an estimator is cloned, a Recipe is built.
    X_train, y_train : training features (n_train, ...) and labels (n_train,)
    X_eval, y_eval : evaluation features (n_eval, ...) and labels (n_eval,)
    train_ids, eval_ids : arrays of shape (n_train,) and (n_eval,), optional
        Item ids for the id-based leakage check and for pairing evaluations.
    train_parent_ids : array of shape (n_train,), optional
        The training rows' ``parent_id`` provenance: augmented copies of evaluation
        items in the training data are refused as leakage.
    train_digests, eval_digests : arrays of shape (n_train,) and (n_eval,), optional
        Content digests aligned with ``train_ids`` and ``eval_ids`` (e.g. SHA-256 of the
        media files): ids then leak only with the same content, and the same content
        leaks under any id (see :func:`find_leakage`).
    tags, classes, n_boot, seed, task
        As in :func:`evaluate` (the task also says what the estimator is fitted on:
        :meth:`assay.tasks.Task.fit_targets`, e.g. a 0/1 matrix for multi-label).
    check_content : bool, default=True
        Also refuse evaluation rows whose features equal a training row's.

    Returns
    -------
    Evaluation
        With ``duration_s`` (fit seconds) and ``info`` holding ``recipe_hash``,
        ``n_train`` and ``predict_seconds``.
    """
    kind = _task(task)
    if isinstance(X_eval, pd.DataFrame):
        check_not_augmented(X_eval, ids=eval_ids)
    kind.check_eval_labels(y_train, y_eval)
    if eval_ids is not None and (train_ids is not None or train_parent_ids is not None):
        check_leakage(
            train_ids,
            eval_ids,
            train_parent_ids=train_parent_ids,
            train_digests=train_digests,
            eval_digests=eval_digests,
        )
    if check_content:
        check_leakage(X_train=X_train, X_eval=X_eval, eval_ids=eval_ids)
    estimator = kind.model_for(recipe.build() if hasattr(recipe, "build") else clone(recipe))
    check_missing_accepted(estimator, X_train, where="the training data")
    check_missing_accepted(estimator, X_eval, where="the evaluation data")
    y_fit, fit_classes = kind.fit_targets(y_train)
    start = time.perf_counter()
    estimator.fit(X_train, y_fit)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = evaluate(
        estimator,
        X_eval,
        y_eval,
        tags=tags,
        ids=eval_ids,
        classes=fit_classes if classes is None else classes,
        n_boot=n_boot,
        seed=seed,
        task=kind,
    )
    result.duration_s = fit_seconds
    result.info.update(
        recipe_hash=getattr(recipe, "hash", None),
        n_train=len(y_train),
        predict_seconds=time.perf_counter() - start,
    )
    return result
