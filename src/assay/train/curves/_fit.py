"""Fitting machinery of learning curves: power law, stratified nested subsamples, bootstrap."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit
from sklearn.base import clone
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

__all__ = ["bootstrap_params", "default_sizes", "fit_power_law", "fit_score", "power_law",
           "splits", "stratified_order"]


def power_law(n: np.ndarray | float, a: float, b: float, c: float) -> np.ndarray:
    """``a - b * n ** (-c)``: accuracy approaching ``a`` as the training set grows."""
    return np.asarray(a - b * np.power(np.asarray(n, dtype=np.float64), -c))


def fit_power_law(sizes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Least-squares fit of :func:`power_law` to mean scores; returns ``(a, b, c)``.

    Parameters
    ----------
    sizes : array of shape (n_sizes,)
    scores : array of shape (n_sizes,)
        NaN entries are ignored.
    """
    ok = np.isfinite(scores)
    x, y = sizes[ok].astype(np.float64), scores[ok]
    if len(x) < 3:
        return np.array([np.nan, np.nan, np.nan])
    top = float(min(1.0, y.max() + 0.02))
    p0 = (top, max((top - y.min()) * x.min() ** 0.5, 1e-3), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            params, _ = curve_fit(power_law, x, y, p0=p0, bounds=([0, 0, 0.05], [1, np.inf, 3]),
                                  maxfev=5000)
        except (RuntimeError, ValueError):
            return np.array([np.nan, np.nan, np.nan])
    return np.asarray(params)


def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation whose every prefix holds the classes in about their proportions."""
    keys = np.empty(len(y))
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        perm = rng.permutation(len(idx))
        keys[idx[perm]] = (np.arange(len(idx)) + rng.random(len(idx))) / len(idx)
    return np.argsort(keys, kind="stable")


def default_sizes(n_train: int, n_classes: int) -> np.ndarray:
    low = min(max(5 * n_classes, 20), n_train)
    return np.unique(np.geomspace(low, n_train, 8).astype(int))


def splits(y: np.ndarray, repeats: int, test_size: float, seed: int
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    _, counts = np.unique(y, return_counts=True)
    splitter: Any = (StratifiedShuffleSplit if counts.min() >= 2 else ShuffleSplit)(
        n_splits=repeats, test_size=test_size, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def fit_score(model: Any, X: Any, y: np.ndarray, y_eval: np.ndarray, train: np.ndarray,
               test: np.ndarray) -> float:
    """Held-out accuracy (against ``y_eval``) of a fresh clone fitted on ``train``."""
    if len(np.unique(y[train])) < 2:
        return np.nan
    try:
        fitted = clone(model).fit(_take(X, train), y[train])
        pred = fitted.predict(_take(X, test))
    except ValueError:
        return np.nan
    return float(np.mean(pred == y_eval[test]))


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if isinstance(X, (pd.DataFrame, pd.Series)) else X[idx]


def bootstrap_params(
    sizes: np.ndarray, scores: np.ndarray, n_boot: int, seed: int,
    transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
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
            out[b] = fit_power_law(sizes, np.nanmean(sample, axis=0))
    return out  # failed fits stay as NaN rows so that replicates of two curves stay paired
