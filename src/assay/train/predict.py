"""Out-of-sample predicted probabilities by cross-validation, for any classifier.

Label-issue detection needs, for every example, the class probabilities of a model that
never saw that example. :func:`cross_val_predict_proba` fits a clone of the model on each
training fold (stratified) and predicts the held-out fold. Folds run through joblib, so::

    with joblib.parallel_backend("dask"):
        pred_probs = cross_val_predict_proba(model, X, y, n_jobs=-1)

runs them on a Dask cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import _safe_indexing

from assay._progress import reporting, stage
from assay._validation import (
    Integral,
    Interval,
    Satisfies,
    check_in,
    check_labels,
    check_number,
    param_error,
    validate_params,
    warn,
)
from assay.exceptions import InputError

__all__ = [
    "MODALITIES",
    "cross_val_predict_multilabel",
    "cross_val_predict_proba",
    "cross_val_predict_values",
    "default_model",
    "default_regressor",
    "fold_count",
]

#: Modalities with a default model recipe.
MODALITIES = ("tabular", "embeddings", "text", "image", "audio")
#: Probability given to a class that a fold's training data lacked (before renormalising).
MISSING_CLASS_FLOOR = 1e-12

ProgressHook = Callable[[int, int], None]


def default_model(modality: str = "tabular", *, seed: int = 0) -> Any:
    """The default classifier recipe for a modality (an unfitted scikit-learn estimator).

    Parameters
    ----------
    modality : {"tabular", "embeddings", "text", "image", "audio"}
        ``"tabular"``: a seeded ``HistGradientBoostingClassifier`` (handles raw, unscaled,
        mixed-scale features and missing values). The others are embeddings or extracted
        features: a standardised ``LogisticRegression``.
    seed : int, default=0
        Random seed of the model.
    """
    check_in(modality, MODALITIES, name="modality", func="default_model")
    if modality == "tabular":
        return HistGradientBoostingClassifier(random_state=seed)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))


def _is_classifier(model: Any) -> bool:
    return hasattr(model, "fit") and hasattr(model, "predict_proba")


#: A model assay can get out-of-sample probabilities from.
CLASSIFIER = Satisfies(
    _is_classifier, "a scikit-learn classifier with predict_proba (e.g. SVC(probability=True))",
    bad=[3.5],
)


def fold_count(codes: np.ndarray, classes: np.ndarray, cv: int = 5) -> int:
    """The number of stratified folds: ``cv``, or fewer when the smallest class is smaller.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Integer class codes into ``classes``.
    classes : ndarray of shape (n_classes,)
        Class names, for the messages (classes without examples are ignored).
    cv : int, default=5
        The requested number of folds (>= 2).

    Returns
    -------
    int
        ``min(cv, examples of the smallest class)``; a reduction is warned about once.

    Raises
    ------
    InputError
        When fewer than two classes have examples, or a class has a single example.
    """
    check_number(cv, name="cv", func="cross_val_predict_proba", low=2, integer=True)
    present, counts = np.unique(codes, return_counts=True)
    if len(present) < 2:
        name = classes[int(present[0])].tolist() if len(present) else None
        raise InputError(
            f"the labels have only one class ({name!r}); out-of-sample probabilities and "
            "label issues need at least two classes. Label examples of another class."
        )
    smallest, rarest = int(counts.min()), classes[int(present[counts.argmin()])].tolist()
    if smallest < 2:
        raise InputError(
            f"class {rarest!r} has {smallest} example; out-of-sample probabilities need at "
            "least 2 examples per class. Label more examples of it, or drop or merge that class."
        )
    if smallest < cv:
        warn(
            f"class {rarest!r} has only {smallest} examples, fewer than cv={cv} folds; "
            f"using {smallest} folds instead."
        )
    return min(int(cv), smallest)


def _folds(codes: np.ndarray, classes: np.ndarray, cv: Any, seed: int) -> Any:
    """A seeded StratifiedKFold, with fewer folds when the smallest class is too small."""
    if hasattr(cv, "split"):
        return cv
    n_splits = fold_count(codes, classes, cv)
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def _fit_predict(
    model: Any, X_train: Any, y_train: np.ndarray, X_test: Any, n_classes: int
) -> np.ndarray:
    """Fit one fold and return its held-out probabilities in the full class order."""
    model.fit(X_train, y_train)
    proba = np.asarray(model.predict_proba(X_test), dtype=np.float64)
    fold_classes = np.asarray(model.classes_, dtype=np.int64)
    if len(fold_classes) == n_classes:
        return proba
    full = np.full((proba.shape[0], n_classes), MISSING_CLASS_FLOOR)
    full[:, fold_classes] = proba
    return full / full.sum(axis=1, keepdims=True)


def _progress_hook(progress: bool | ProgressHook, total: int) -> tuple[ProgressHook, Any]:
    """Turn ``progress`` into a ``(done, total)`` callback and a closer."""
    if callable(progress):
        return progress, None
    if not progress:
        return (lambda done, total: None), None
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("cross-validating", total=total)
    bar.start()
    return (lambda done, total: bar.update(task, completed=done)), bar


@validate_params({
    "model": [None, CLASSIFIER],
    "cv": [Interval(Integral, 2, None),
           Satisfies(lambda cv: hasattr(cv, "split"), "a cross-validation splitter")],
    "seed": [Interval(Integral, None, None)],
})
def cross_val_predict_proba(
    model: Any = None,
    X: Any = None,
    y: Any = None,
    *,
    cv: Any = 5,
    n_jobs: int | None = None,
    seed: int = 0,
    modality: str = "tabular",
    progress: bool | ProgressHook = False,
) -> np.ndarray:
    """Out-of-sample predicted class probabilities by stratified cross-validation.

    Parameters
    ----------
    model : scikit-learn classifier, optional
        Any estimator with ``fit`` and ``predict_proba``; a clone is fitted per fold and
        the model itself is left unfitted. ``None`` uses :func:`default_model(modality)`.
    X : array-like or DataFrame of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Labels, ints or strings.
    cv : int or cross-validation splitter, default=5
        Number of stratified, shuffled folds (seeded), or a scikit-learn splitter. When
        the smallest class has fewer examples than folds, the number of folds drops to
        that count with a warning (see :func:`fold_count`); a class with a single
        example, or labels of a single class, are an InputError.
    n_jobs : int, optional
        Folds run in parallel through joblib (any backend, e.g. ``"dask"``).
    seed : int, default=0
        Seeds the folds and the default model.
    modality : str, default="tabular"
        Picks the default model when ``model`` is None.
    progress : bool or callable, default=False
        ``True`` shows a Rich progress bar; a callable is called as ``hook(done, total)``
        after each fold.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
        Columns follow ``np.unique(y)`` (scikit-learn's ``classes_`` order). A class
        missing from a fold's training data gets probability ~0 (1e-12 before rows are
        renormalised) for that fold's examples.
    """
    func = "cross_val_predict_proba"
    if X is None or y is None:
        raise InputError(f"{func} needs X (features) and y (labels).")
    model = default_model(modality, seed=seed) if model is None else model
    raw = _check_shapes(X, y)
    codes, classes = check_labels(raw, list(_sorted_classes(raw)), func=func)
    folds = list(_folds(codes, classes, cv, seed).split(np.zeros(len(codes)), codes))
    return _run_folds(model, X, codes, folds, len(classes), n_jobs, progress)


def _n_rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def _check_shapes(X: Any, y: Any) -> np.ndarray:
    """Return ``y`` as a 1-d array after checking it against ``X`` (2-d, same rows)."""
    func = "cross_val_predict_proba"
    raw = np.asarray(y)
    if raw.ndim != 1:
        raise param_error("y", func, "a 1-d array of labels (n_samples,)", raw.shape)
    shape = tuple(X.shape) if hasattr(X, "shape") else np.shape(X)
    if len(shape) != 2:
        raise param_error("X", func, "2-d (n_samples, n_features), e.g. x.reshape(-1, 1)", shape)
    if len(raw) != _n_rows(X):
        raise InputError(
            f"X has {_n_rows(X)} rows but y has {len(raw)} labels; give one label per row."
        )
    return raw


def _sorted_classes(raw: np.ndarray) -> np.ndarray:
    """``np.unique`` of the labels (missing labels are caught by ``check_labels`` next)."""
    try:
        return np.unique(raw)
    except TypeError as exc:
        raise InputError(
            f"labels mix types that cannot be ordered ({exc}); use one type for all labels."
        ) from exc


def _run_folds(
    model: Any,
    X: Any,
    codes: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    n_jobs: int | None,
    progress: bool | ProgressHook,
) -> np.ndarray:
    """Fit and predict every fold through joblib; assemble the held-out rows."""
    tasks: Iterator[Any] = (
        delayed(_fit_predict)(
            clone(model),
            _safe_indexing(X, train),
            codes[train],
            _safe_indexing(X, test),
            n_classes,
        )
        for train, test in folds
    )
    hook, bar = _progress_hook(progress, len(folds))
    out = np.empty((len(codes), n_classes))
    try:
        with stage(f"cross-validating {len(folds)} folds", total=len(folds)) as advance:
            results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
            for done, ((_, test), proba) in enumerate(zip(folds, results, strict=True), 1):
                out[test] = proba
                hook(done, len(folds))
                advance(1)
    finally:
        if bar is not None:
            bar.stop()
    return out


def default_regressor(modality: str = "tabular", *, seed: int = 0) -> Any:
    """The default regressor recipe for a modality (unfitted): gradient boosting for
    tabular features, a standardised ridge for embeddings and extracted features."""
    check_in(modality, MODALITIES, name="modality", func="default_regressor")
    if modality == "tabular":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(random_state=seed)
    from sklearn.linear_model import RidgeCV

    return make_pipeline(StandardScaler(), RidgeCV())


def cross_val_predict_values(
    model: Any, X: Any, y: Any, *, cv: int = 5, seed: int = 0, n_jobs: int | None = None
) -> np.ndarray:
    """Out-of-sample predictions of a regressor by shuffled, seeded K-fold.

    Parameters
    ----------
    model : scikit-learn regressor
        Cloned for every fold.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Finite numbers.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    from sklearn.model_selection import KFold, cross_val_predict

    if not (hasattr(model, "fit") and hasattr(model, "predict")):
        raise InputError(f"model must be a scikit-learn regressor; got {type(model).__name__}.")
    target = np.asarray(y, dtype=np.float64)
    folds = KFold(n_splits=min(cv, len(target)), shuffle=True, random_state=seed)
    pred = cross_val_predict(clone(model), X, target, cv=folds, n_jobs=n_jobs)
    return np.asarray(pred, dtype=np.float64)


def cross_val_predict_multilabel(
    model: Any, X: Any, Y: Any, *, cv: int = 5, seed: int = 0, n_jobs: int | None = None
) -> np.ndarray:
    """Out-of-sample probability of every label, one binary classifier per label.

    Each column of ``Y`` is its own stratified cross-validation
    (:func:`cross_val_predict_proba`); a label too rare to stratify (fewer than 2
    items carry it, or lack it) gets its share in the data as its probability. One
    progress stage counts the labels (with the time left), not each label's folds.

    A forest fitted on the whole 0/1 matrix at once is faster, but on yeast it ranked
    the labels worse at a few hundred rows, so each label keeps its own model.

    Parameters
    ----------
    model : scikit-learn classifier
        Cloned for every label and fold.
    X : array-like of shape (n_samples, n_features)
    Y : array of shape (n_samples, n_labels) of 0/1

    Returns
    -------
    ndarray of shape (n_samples, n_labels)
    """
    matrix = np.asarray(Y).astype(np.int64)
    positives = matrix.sum(axis=0)
    out = np.tile(positives / max(len(matrix), 1), (len(matrix), 1)).astype(np.float64)
    learnable = np.flatnonzero(np.minimum(positives, len(matrix) - positives) >= 2)
    with stage(f"cross-validating {len(learnable)} labels one by one ({cv} folds each)",
               total=len(learnable)) as advance:
        for j in learnable:
            folds = min(cv, int(positives[j]), len(matrix) - int(positives[j]))
            with reporting(None):  # the labels' count is the progress, not their folds
                out[:, j] = cross_val_predict_proba(
                    model, X, matrix[:, j], cv=folds, seed=seed, n_jobs=n_jobs
                )[:, 1]
            advance(1)
    return out
