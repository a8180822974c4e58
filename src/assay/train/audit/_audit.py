"""The dataset audit: run every data check once and collect one report.

>>> report = audit(df, label="digit", model=LogisticRegression())   # doctest: +SKIP
>>> report.summary["label"]["rate"], report.worst("label", 5)        # doctest: +SKIP
>>> report.exceeds(["label_issue>5%"])                               # doctest: +SKIP

The checks live in a registry (:func:`register_check`, see :mod:`assay.train.audit._checks`):
``label``, ``outlier``, ``near_duplicate``, ``exact_duplicate``, ``class_imbalance`` and
``leakage``. Each returns cleanlab's issue contract; the report joins them into one table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from assay._progress import stage
from assay._validation import (
    Options,
    check_columns,
    check_labels,
    check_non_empty,
    check_pred_probs,
    validate_params,
    warn,
)
from assay.exceptions import InputError
from assay.modalities import get_modality
from assay.tasks import get_task, registered_tasks
from assay.train.audit import _label_kinds  # noqa: F401  (registers the label check's kinds)
from assay.train.audit._checks import (
    AuditContext,
    Check,
    available_checks,
    get_check,
    register_check,
    resolve_check,
)
from assay.train.audit._knn import BACKENDS
from assay.train.audit._report import AuditReport
from assay.train.audit._result import CheckResult, make_result
from assay.train.audit._thresholds import Threshold, parse_threshold
from assay.train.audit.neighbors import check_features
from assay.train.audit.target_leakage import TargetLeak, find_target_leakage, leak_advice
from assay.train.labels._multilabel import label_matrix
from assay.train.labels._regression import numeric_labels

__all__ = [
    "AuditReport",
    "Check",
    "CheckResult",
    "Threshold",
    "audit",
    "available_checks",
    "check_thresholds",
    "make_result",
    "parse_threshold",
    "register_check",
    "resolve_check",
]

ChecksArg = Sequence[str | Check] | Mapping[str, Mapping[str, Any]] | None


def check_thresholds(
    thresholds: Iterable[str | Threshold],
    checks: Sequence[str] | None = None,
    *,
    source: str = "the threshold",
) -> list[Threshold]:
    """Parse gating rules and check their names against the registry, before any work.

    Parameters
    ----------
    thresholds : iterable of str or Threshold
        E.g. ``["label_issue>5%"]``.
    checks : sequence of str, optional
        The checks that will run (``NAME`` or ``NAME_issue``); a rule on another check
        is an error. None: any registered check.
    source : str, default="the threshold"
        What to call a rule in messages (the CLI says ``--fail-on``).

    Returns
    -------
    list of Threshold
        With registered check names (``"label"`` for ``label_issue``).

    Raises
    ------
    InputError
        For an unreadable rule, an unknown check (with the list and the closest name) or
        a check that ``checks`` leaves out.
    """
    chosen = None if checks is None else [resolve_check(c, where="--checks") for c in checks]
    rules = []
    for item in thresholds:
        rule = parse_threshold(item) if isinstance(item, str) else item
        name = resolve_check(rule.check, where=f"{source} {str(item)!r}")
        if chosen is not None and name not in chosen:
            raise InputError(
                f"{source} {str(item)!r} is on the check {name!r}, but the checks to run are "
                f"{', '.join(chosen)}; add {name} to them or drop the threshold."
            )
        rules.append(replace(rule, check=name))
    return rules


def _column_or_array(df: pd.DataFrame, value: Any, what: str) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, str):
        check_columns(df, [value], where="the data")
        return df[value].to_numpy()
    arr = np.asarray(value)
    if arr.shape[0] != len(df):
        raise InputError(f"{what} has {arr.shape[0]} entries but the data has {len(df)} rows.")
    return arr


def _feature_table(df: pd.DataFrame, features: Any, skip: list[str]) -> pd.DataFrame | None:
    """The tabular features as named columns: the columns ``features`` names, the frame
    it is, or (None) every column of ``df`` but ``skip``; None for an array."""
    if isinstance(features, (list, tuple)) and all(isinstance(c, str) for c in features):
        check_columns(df, list(features), where="the data")
        return df[list(features)]
    if features is None:
        return df.drop(columns=[c for c in skip if c in df.columns])
    return features if isinstance(features, pd.DataFrame) else None


def _features(
    df: pd.DataFrame, features: Any, table: pd.DataFrame | None, embeddings: Any,
    modality: str,
) -> tuple[np.ndarray | None, str]:
    """The matrix the neighbour checks and the model use, and its neighbour space.

    Embeddings are searched as they are; tabular features (``table``, from
    :func:`_feature_table`, or an array given as ``features`` of tabular data) on
    robustly standardised columns.
    """
    if embeddings is not None:
        return check_features(embeddings, name="embeddings", n_samples=len(df)), "embedding"
    if features is None and table is not None and table.shape[1] == 0:
        return None, "tabular"
    if table is not None:
        features, modality = get_modality("tabular").featurize(table), "tabular"
    space = "tabular" if modality == "tabular" else "embedding"
    return check_features(features, n_samples=len(df)), space


def _integer_classes(values: np.ndarray, n_columns: int) -> np.ndarray | None:
    """Integer labels index the columns of ``pred_probs``: ``range(n_columns)``, checked."""
    if not pd.api.types.is_integer_dtype(pd.Series(values)):
        return None
    outside = (values < 0) | (values >= n_columns)
    if outside.any():
        row = int(np.argmax(outside))
        raise InputError(
            f"pred_probs has {n_columns} columns (classes 0..{n_columns - 1}) but label "
            f"{values[row].item()!r} at row {row} is outside them; give one column per class "
            "(integer labels are column indices), or pass classes= in pred_probs column order."
        )
    return np.arange(n_columns)


def _label_inputs(
    label: str, values: np.ndarray, classes: Sequence[Any] | None, pred_probs: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Encode the labels and check ``pred_probs`` against them (issue 4's bad input).

    Returns
    -------
    codes : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
        ``classes=`` as given; else ``range(n_columns)`` for integer labels with
        ``pred_probs``, ``range(max + 1)`` for integer labels without, the sorted
        distinct labels otherwise.
    probs : ndarray of shape (n_samples, n_classes) or None
        Rows renormalised when within 1e-4 of summing to 1.
    """
    if pred_probs is None:
        codes, found = check_labels(values, classes, func="audit")
        return codes, found, None
    probs = check_pred_probs(pred_probs, n_samples=len(values), func="audit")
    if classes is None:
        default = _integer_classes(values, probs.shape[1])
        classes = None if default is None else list(default)
    codes, found = check_labels(values, classes, func="audit")
    _check_two_classes(label, codes, found, ["label"])  # pred_probs serve the label check
    if probs.shape[1] != len(found):
        names = ", ".join(map(str, found[:10])) + (", ..." if len(found) > 10 else "")
        raise InputError(
            f"pred_probs has {probs.shape[1]} columns but the labels have {len(found)} classes "
            f"({names}); give one column per class, in the order of classes= (default: the "
            "sorted labels)."
        )
    return codes, found, probs


def _check_two_classes(
    label: str | None, codes: np.ndarray, classes: np.ndarray, needs: Sequence[str]
) -> None:
    """Label checks (``needs``, non-empty) need examples of at least two classes."""
    present = np.unique(codes)
    if needs and len(present) < 2:
        raise InputError(
            f"label column {label!r} has only one class ({classes[present[0]].item()!r}); "
            "label issues need at least two classes. Label examples of another class, or "
            f"leave the {', '.join(map(repr, needs))} check out (checks=[...])."
        )


def _select_checks(checks: ChecksArg, ctx: AuditContext) -> list[Check]:
    """Instantiate the requested checks; by default every check that applies to the
    task's labels and whose needs are met."""
    kind = ctx.task.kind
    if checks is None:
        chosen = [get_check(n, kind) for n in available_checks()]
        return [
            c for c in chosen if c.applies_to(kind) and all(ctx.has(r) for r in c.requires)
        ]
    if isinstance(checks, Mapping):
        chosen = [get_check(n, kind, **dict(p)) for n, p in checks.items()]
    else:
        chosen = [c if isinstance(c, Check) else get_check(c, kind) for c in checks]
    for check in chosen:
        if not check.applies_to(kind):
            raise InputError(
                f"the {check.name!r} check applies to {', '.join(check.tasks)} labels, not "
                f"{kind}; leave it out of the checks."
            )
        missing = [r for r in check.requires if not ctx.has(r)]
        if missing:
            raise InputError(
                f"the {check.name!r} check needs {' and '.join(missing)}; pass "
                + ", ".join(_HOW[m] for m in missing)
                + " to audit, or leave the check out."
            )
    return chosen


_HOW = {
    "labels": "label=<column>",
    "features": "features= (columns or an array) or embeddings=",
    "split": "split=<column or array>",
    "probs": "pred_probs=, model= or features=",
}


def _label_kind(df: pd.DataFrame, label: str | Sequence[str], task: str | None) -> str:
    """The kind of label: ``task``, else multi-label for several 0/1 columns or a column
    of lists, regression for a float column, classification otherwise."""
    if task is not None:
        return task
    if not isinstance(label, str):
        return "multilabel"
    column = df[label]
    if pd.api.types.is_float_dtype(column.dtype):
        return "regression"
    first = column.dropna().head(1).tolist()
    return "multilabel" if first and isinstance(first[0], (list, tuple, np.ndarray)) else (
        "classification"
    )


def _label_columns(df: pd.DataFrame, label: str | Sequence[str]) -> list[str]:
    columns = [label] if isinstance(label, str) else list(label)
    check_columns(df, columns, where="the data")
    return columns


def _classification_labels(
    ctx: AuditContext, df: pd.DataFrame, label: Any, classes: Any, pred_probs: Any
) -> None:
    if not isinstance(label, str):
        raise InputError("a classification audit takes one label column; give label='col'.")
    ctx.labels, ctx.classes, ctx.pred_probs = _label_inputs(
        label, df[label].to_numpy(), classes, pred_probs
    )


def _regression_labels(
    ctx: AuditContext, df: pd.DataFrame, label: Any, classes: Any, pred_probs: Any
) -> None:
    if not isinstance(label, str):
        raise InputError("a regression audit takes one label column; give label='col'.")
    ctx.labels = numeric_labels(df[label].to_numpy(), f"label column {label!r}")
    if pred_probs is not None:
        ctx.pred_probs = numeric_labels(pred_probs, "pred_probs (the predictions)", len(df))


def _multilabel_labels(
    ctx: AuditContext, df: pd.DataFrame, label: Any, classes: Any, pred_probs: Any
) -> None:
    values = df[label].to_numpy() if isinstance(label, str) else df[list(label)]
    ctx.labels, ctx.label_names = label_matrix(values, classes)
    if pred_probs is not None:
        ctx.pred_probs = np.asarray(pred_probs, dtype=np.float64)


#: How each kind of label is read from the table into the audit's context.
_LABEL_READERS = {
    "classification": _classification_labels,
    "regression": _regression_labels,
    "multilabel": _multilabel_labels,
}


@validate_params({
    "knn_backend": [Options(BACKENDS)],
    "task": [None, Options(registered_tasks())],
})
def audit(
    df: pd.DataFrame,
    *,
    label: str | Sequence[str] | None,
    classes: Sequence[Any] | None = None,
    features: Any = None,
    model: Any = None,
    pred_probs: Any = None,
    embeddings: Any = None,
    checks: ChecksArg = None,
    split: Any = None,
    seed: int = 0,
    modality: str = "tabular",
    n_jobs: int | None = None,
    knn_backend: str = "auto",
    task: str | None = None,
    fold_jobs: int | None = None,
) -> AuditReport:
    """Run the data checks on a labelled table and return one report.

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_columns)
        One row per example.
    label : str, list of str, or None
        The column of given labels (None: label-based checks are skipped). A float
        column is audited as a regression, a list of 0/1 columns (or a column of lists
        of names) as a multi-label task, anything else as a classification (or as
        ``task`` says). Checks that only make sense for classes (class imbalance) are
        skipped for the other kinds. The label
        check needs at least two classes (else an InputError). With ``model``, a class
        with fewer examples than the 5 folds lowers the folds to its count (one
        warning); a class with a single example is an InputError.
    classes : sequence, optional
        Every class, in the column order of ``pred_probs`` (and of the report). Defaults
        to ``range(n_columns)`` for integer labels with ``pred_probs``, else to the
        sorted distinct labels (``range(max + 1)`` for integer labels). A class without
        examples gives a warning and the audit goes on.
    features : list of str, DataFrame or array of shape (n_samples, n_features), optional
        Defaults to every column but ``label`` and ``split``, numeric as they are and
        categoricals one-hot encoded (the tabular modality). The neighbour checks
        (outliers, near duplicates, leakage, the label check's neighbour votes) compare
        tabular features on robustly standardised columns with euclidean distance, so
        that no column dominates by its units; an array is taken as tabular features
        unless ``modality`` is ``"image"``, ``"text"`` or ``"audio"``.
    model : scikit-learn classifier, optional
        Held fixed; the audit computes out-of-sample probabilities with it, averaged over
        repeated CV splits. Without ``model`` and ``pred_probs`` the modality's default
        model is used.
    pred_probs : array of shape (n_samples, n_classes), optional
        Precomputed out-of-sample probabilities, one column per class in ``classes``
        order. Rows must sum to 1 within 1e-4 (they are renormalised) and be finite.
    embeddings : array of shape (n_samples, n_dims), optional
        Used instead of ``features`` (e.g. text or image embeddings), as they are:
        cosine distance above 3 dimensions, as cleanlab.
    checks : list of names or Check instances, or dict name -> params, optional
        Defaults to every registered check whose inputs are available.
    split : str or array of shape (n_samples,), optional
        A column (or array) naming each example's split; enables the leakage check.
    seed : int, default=0
    modality : str, default="tabular"
        Chooses the default model and, in the report, how items render.
    n_jobs : int, optional
    knn_backend : {"auto", "sklearn", "hnswlib"}, default="auto"
        The neighbour search (see :func:`assay.train.audit.neighbors.knn_graph`): exact below
        20,000 rows, hnswlib above when it is installed.
    task : {"classification", "regression", "multilabel"}, optional
        The kind of label (default: read from ``label``, see above). For a regression,
        ``model`` is a regressor and ``pred_probs`` the out-of-sample predictions of
        shape (n_samples,); for multi-label, ``model`` a classifier fitted per label
        and ``pred_probs`` of shape (n_samples, n_labels).
    fold_jobs : int, optional
        Parallel folds of ``model``'s out-of-sample predictions (default ``n_jobs``).
        Inside ``joblib.parallel_config(backend="dask")`` with a ``distributed.Client``,
        ``fold_jobs=-1`` fits every fold on the Dask cluster (the neighbour checks stay
        local, as ``n_jobs`` says).

    Returns
    -------
    AuditReport
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"audit needs a pandas DataFrame; got {type(df).__name__}.")
    check_non_empty(len(df), where="the data")
    ctx = AuditContext(
        seed=seed, n_jobs=n_jobs, fold_jobs=fold_jobs, modality=modality, model=model,
        knn_backend=knn_backend,
    )
    if label is not None:
        columns = _label_columns(df, label)
        kind = _label_kind(df, label, task)
        ctx.task = get_task(kind)
        reader = _LABEL_READERS.get(kind)
        if reader is None:
            raise InputError(f"audit cannot read labels of the task {kind!r} yet.")
        reader(ctx, df, label, classes, pred_probs)
    elif pred_probs is not None or classes is not None:
        raise InputError("pred_probs= and classes= describe labels; pass label=<column> too.")
    else:
        columns = []
    ctx.split = _column_or_array(df, split, "split")
    skip = columns + ([split] if isinstance(split, str) else [])
    table = None if embeddings is not None else _feature_table(df, features, [c for c in skip if c])
    ctx.features, ctx.space = _features(df, features, table, embeddings, modality)
    leaks = _target_leaks(table, ctx)
    chosen = _select_checks(checks, ctx)
    if ctx.labels is not None and ctx.classes is not None:
        needs = [c.name for c in chosen if "probs" in c.requires]
        _check_two_classes(str(label), ctx.labels, ctx.classes, needs)
    results = {}
    with stage(f"running {len(chosen)} checks", total=len(chosen)) as advance:
        for check in chosen:
            result = check.run(ctx)
            if result.reason is None and check.reason:
                result = replace(result, reason=check.reason)
            results[check.name] = result
            advance(1)
    report = AuditReport.from_results(results, data=df, modality=modality)
    report.target_leaks = leaks
    return report


def _target_leaks(table: pd.DataFrame | None, ctx: AuditContext) -> list[TargetLeak]:
    """Named feature columns (``table``) that (nearly) determine a class or number
    label, each said in a warning (:mod:`~assay.train.audit.target_leakage`)."""
    if table is None or ctx.labels is None or np.ndim(ctx.labels) != 1:
        return []
    leaks = find_target_leakage(table, ctx.labels, kind=ctx.task.kind, seed=ctx.seed)
    for leak in leaks:
        warn(leak_advice(leak))
    return leaks
