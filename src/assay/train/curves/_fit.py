"""Fitting machinery of learning curves: power law, (stratified) nested subsamples, bootstrap.

A higher-is-better metric (accuracy, F1) is fitted as ``a - b * n ** (-c)`` with the
plateau ``a`` in [0, 1]; a lower-is-better one (MAE, a loss) as ``a + b * n ** (-c)``
with ``a >= 0``. Both are the same fit of ``sign * score`` (``sign`` = +1 or -1).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit
from sklearn.base import clone
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

__all__ = ["bootstrap_params", "curve_value", "default_sizes", "fit_power_law", "fit_score",
           "power_law", "size_reaching", "splits", "stratified_order"]


def power_law(n: np.ndarray | float, a: float, b: float, c: float) -> np.ndarray:
    """``a - b * n ** (-c)``: accuracy approaching ``a`` as the training set grows."""
    return np.asarray(a - b * np.power(np.asarray(n, dtype=np.float64), -c))


def curve_value(n: np.ndarray | float, params: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """``a - sign * b * n ** (-c)`` (``sign`` -1: an error decreasing to ``a``)."""
    a, b, c = params
    return np.asarray(a - sign * b * np.power(np.asarray(n, dtype=np.float64), -c))


def size_reaching(target: np.ndarray | float, params: np.ndarray, sign: float = 1.0
                  ) -> np.ndarray:
    """Training-set size at which :func:`curve_value` reaches ``target`` (inf if never).

    Parameters
    ----------
    target : float or array of shape (m,)
    params : array of shape (3,) or (m, 3)
    """
    p = np.atleast_2d(params)
    a, b, c = p[:, 0], p[:, 1], p[:, 2]
    gap = sign * (a - np.asarray(target, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(gap > 0, (b / gap) ** (1 / c), np.inf))


def fit_power_law(sizes: np.ndarray, scores: np.ndarray, sign: float = 1.0) -> np.ndarray:
    """Least-squares fit of :func:`curve_value` to mean scores; returns ``(a, b, c)``.

    Parameters
    ----------
    sizes : array of shape (n_sizes,)
    scores : array of shape (n_sizes,)
        NaN entries are ignored.
    sign : {1, -1}
        1: higher is better, plateau in [0, 1]; -1: lower is better, plateau >= 0.
    """
    ok = np.isfinite(scores)
    x, y = sizes[ok].astype(np.float64), sign * scores[ok]
    if len(x) < 3:
        return np.array([np.nan, np.nan, np.nan])
    spread = float(y.max() - y.min())
    if sign > 0:
        top, low_a, high_a = float(min(1.0, y.max() + 0.02)), 0.0, 1.0
    else:
        top, low_a, high_a = float(min(0.0, y.max() + 0.02 * spread)), -np.inf, 0.0
    floor = 1e-3 if sign > 0 else 1e-3 * max(spread, 1e-3)
    p0 = (top, max((top - y.min()) * x.min() ** 0.5, floor), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            params, _ = curve_fit(power_law, x, y, p0=p0,
                                  bounds=([low_a, 0, 0.05], [high_a, np.inf, 3]), maxfev=5000)
        except (RuntimeError, ValueError):
            return np.array([np.nan, np.nan, np.nan])
    params = np.asarray(params, dtype=np.float64)
    params[0] *= sign
    return params


def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation whose every prefix holds the classes in about their proportions."""
    keys = np.empty(len(y))
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        perm = rng.permutation(len(idx))
        keys[idx[perm]] = (np.arange(len(idx)) + rng.random(len(idx))) / len(idx)
    return np.argsort(keys, kind="stable")


def default_sizes(n_train: int, n_classes: int, start: int = 20) -> np.ndarray:
    low = min(max(5 * n_classes, start), n_train)
    return np.unique(np.geomspace(low, n_train, 8).astype(int))


def splits(y: np.ndarray, repeats: int, test_size: float, seed: int, *, stratify: bool = True
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``repeats`` seeded train/test splits, stratified by ``y`` when ``stratify`` and
    every class has two rows."""
    if stratify and np.ndim(y) == 1:
        _, counts = np.unique(y, return_counts=True)
        stratify = bool(counts.min() >= 2)
    splitter: Any = (StratifiedShuffleSplit if stratify and np.ndim(y) == 1 else ShuffleSplit)(
        n_splits=repeats, test_size=test_size, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y if np.ndim(y) == 1 else None))


def fit_score(model: Any, X: Any, y: np.ndarray, y_eval: np.ndarray, train: np.ndarray,
              test: np.ndarray, score: Callable[[Any, Any], float] | None = None,
              needs_classes: bool = True) -> float:
    """Held-out score (against ``y_eval``) of a fresh clone fitted on ``train``.

    ``score(y_true, y_pred)`` defaults to accuracy; with ``needs_classes`` a training
    subset of a single class scores NaN (a classifier cannot be fitted on it).
    """
    if needs_classes and len(np.unique(y[train])) < 2:
        return np.nan
    try:
        fitted = clone(model).fit(_take(X, train), y[train])
        pred = np.asarray(fitted.predict(_take(X, test)))
    except ValueError:
        return np.nan
    if score is None:
        return float(np.mean(pred == y_eval[test]))
    return float(score(y_eval[test], pred))


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, (pd.DataFrame, pd.Series)) else X[idx]


def bootstrap_params(
    sizes: np.ndarray, scores: np.ndarray, n_boot: int, seed: int,
    transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    sign: float = 1.0,
) -> np.ndarray:
    """Power-law parameters refitted on curves resampled over repeats.

    ``transform(scores, rng)``, if given, maps each resampled score matrix before the
    fit (e.g. a noise correction with a resampled noise rate).
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(n_boot):
            rows = rng.integers(0, scores.shape[0], scores.shape[0])
            sample = scores[rows] if transform is None else transform(scores[rows], rng)
            out[b] = fit_power_law(sizes, np.nanmean(sample, axis=0), sign)
    return out  # failed fits stay as NaN rows so that replicates of two curves stay paired
