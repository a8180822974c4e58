"""Learning curves with a power-law fit, and the clean-vs-collect comparison.

:func:`learning_curve` trains the fixed recipe on nested, stratified subsamples of the
training part of ``repeats`` stratified train/test splits, scores each fit on the
held-out part, and fits ``acc(n) = a - b * n ** (-c)`` to the mean curve. With
``task=`` the score is the task's headline metric (:meth:`assay.tasks.Task.headline_score`:
MAE for regression, micro F1 for multi-label); a lower-is-better metric is fitted as
``a + b * n ** (-c)``, and splits are stratified only for class targets. Uncertainty
comes from a bootstrap over the repeats (each replicate resamples whole curves, which
keeps the correlation between nested subsamples, and refits the power law);
:meth:`LearningCurve.predict` gives the fitted accuracy at any ``n`` with a 95%
interval ``fit +- t(repeats - 1) * bootstrap standard error`` (the Student-t quantile
accounts for estimating the spread from only ``repeats`` curves; plain bootstrap
percentiles covered 80-90% instead of 95% in ``benchmarks/curves.py``), optionally
widened by the binomial noise of a test set of ``n_test`` examples (a prediction
interval for an accuracy you will measure).

:func:`clean_vs_collect` (in :mod:`assay.train.curves._clean_collect`) compares
cleaning the estimated label noise with collecting more data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from assay._charts import LineSeries, line_chart
from assay._validation import Integral, Interval, Real, param_error, validate_params
from assay.exceptions import InputError
from assay.tasks import Task, get_task
from assay.train._table_report import TableReport
from assay.train.curves._fit import (
    bootstrap_params,
    curve_value,
    default_sizes,
    fit_power_law,
    fit_score,
    size_reaching,
    splits,
    stratified_order,
)
from assay.train.evaluate._missing import check_missing_accepted

__all__ = ["LearningCurve", "correct_for_noise", "learning_curve"]

_FUNC = "learning_curve"


class LearningCurve(TableReport):
    """A score against training-set size, with a power-law fit and its uncertainty.

    The score is accuracy, or the task's headline metric (``metric_``); ``sign_`` is
    +1 when higher is better (fit ``a - b n^-c``), -1 when lower is (``a + b n^-c``).

    Attributes
    ----------
    sizes_ : ndarray of shape (n_sizes,)
        Training-set sizes.
    scores_ : ndarray of shape (repeats, n_sizes)
        Held-out score of each repeat at each size (NaN where a fit failed).
    params_ : ndarray of shape (3,)
        Fitted ``(a, b, c)``.
    boot_params_ : ndarray of shape (n_boot, 3)
        Bootstrap replicates of the parameters.
    n_test_ : int
        Held-out examples per repeat.
    metric_ : str
        The score's name (``accuracy``, ``mae``, ``micro_f1``).
    sign_ : float
        +1 (higher is better) or -1.
    table : DataFrame
        ``n, <metric>_mean, <metric>_std, fit`` per size.
    """

    title = "Learning curve"

    def __init__(self, sizes: np.ndarray, scores: np.ndarray, params: np.ndarray,
                 boot_params: np.ndarray, n_test: int, label: str = "learning curve",
                 *, metric: str = "accuracy", sign: float = 1.0, binomial: bool = True
                 ) -> None:
        self.sizes_ = sizes
        self.scores_ = scores
        self.params_ = params
        self.boot_params_ = boot_params
        self.n_test_ = n_test
        self.label = label
        self.metric_, self.sign_, self._binomial = metric, float(sign), binomial
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.table = pd.DataFrame({
                "n": sizes, f"{metric}_mean": np.nanmean(scores, axis=0),
                f"{metric}_std": np.nanstd(scores, axis=0),
                "fit": curve_value(sizes, params, self.sign_),
            })

    def predict(self, n: Any, *, n_test: int | None = None, confidence: float = 0.95
                ) -> pd.DataFrame:
        """Fitted score at training-set size(s) ``n`` with an interval.

        Parameters
        ----------
        n : int or array-like of int
        n_test : int, optional
            If given, the interval also covers the noise of measuring the score on a
            fresh test set of ``n_test`` examples: binomial for accuracy; otherwise the
            spread of the repeats at the largest size scaled by ``n_test_ / n_test`` (an
            upper bound: that spread also holds the training-set noise).
        confidence : float

        Returns
        -------
        DataFrame with columns ``n, <metric>, low, high``
        """
        ns = np.atleast_1d(np.asarray(n, dtype=np.float64))
        fit = curve_value(ns, self.params_, self.sign_)
        draws = np.array([curve_value(ns, p, self.sign_) for p in self.boot_params_])
        draws = draws.reshape(-1, len(ns))
        draws = draws[np.isfinite(draws).all(axis=1)]
        repeats = self.scores_.shape[0]
        if len(draws) < 2 or repeats < 2:
            nan = np.full(len(ns), np.nan)
            return pd.DataFrame({"n": ns, self.metric_: fit, "low": nan, "high": nan})
        t = stats.t.ppf(0.5 + confidence / 2, repeats - 1)
        half_sq = (t * draws.std(axis=0, ddof=1)) ** 2
        if n_test is not None:
            z = stats.norm.ppf(0.5 + confidence / 2)
            half_sq = half_sq + z**2 * self._test_variance(fit, n_test)
        half = np.sqrt(half_sq)
        low, high = fit - half, fit + half
        if self.sign_ > 0:
            low, high = np.clip(low, 0, 1), np.clip(high, 0, 1)
        else:
            low, high = np.clip(low, 0, None), np.clip(high, 0, None)
        return pd.DataFrame({"n": ns, self.metric_: fit, "low": low, "high": high})

    def _test_variance(self, fit: np.ndarray, n_test: int) -> np.ndarray:
        """Variance of the score measured on ``n_test`` fresh examples."""
        if self._binomial:
            return np.asarray(np.clip(fit * (1 - fit), 0, None) / n_test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spread = float(np.nanvar(self.scores_[:, -1], ddof=1))
        return np.full(len(fit), (spread if np.isfinite(spread) else 0.0) * self.n_test_ / n_test)

    def size_for(self, score: float) -> np.ndarray:
        """Training-set size at which each bootstrap fit reaches ``score`` (inf if never).

        Returns
        -------
        ndarray of shape (n_boot + 1,): the point estimate first, then the replicates.
        """
        params = np.vstack([self.params_, self.boot_params_])
        return size_reaching(score, params, self.sign_)

    def summary(self) -> str:
        """Plain text: the fit and the score at the largest size."""
        a, b, c = self.params_
        m = self.metric_
        last = self.predict(self.sizes_[-1])
        op = "-" if self.sign_ > 0 else "+"
        name = "acc" if m == "accuracy" else m
        return (f"{self.label}: {name}(n) = {a:.3f} {op} {b:.3g} n^-{c:.2f}; at "
                f"n={int(self.sizes_[-1])} {last[m][0]:.3f} [{last['low'][0]:.3f}, "
                f"{last['high'][0]:.3f}]; plateau {a:.3f}")

    def series(self, up_to: float | None = None, color: str | None = None) -> list[Any]:
        """Chart series: the measured means (markers) and the fit with its band."""
        grid = np.geomspace(self.sizes_[0], max(up_to or 0, self.sizes_[-1]), 40)
        pred = self.predict(grid)
        return [
            LineSeries(self.sizes_, self.table[f"{self.metric_}_mean"],
                       f"{self.label} (measured)", markers=True, color=color),
            LineSeries(grid, pred[self.metric_], f"{self.label} (fit, 95% band)",
                       low=pred["low"], high=pred["high"], dashed=True, color=color),
        ]

    def to_svg(self, *, up_to: float | None = None) -> str:
        """The curve as an inline SVG chart."""
        return line_chart(self.series(up_to), title=self.title, log_x=True,
                          x_label="number of training examples", y_label=self.metric_)

    def to_html(self) -> str:
        """Summary, chart and table as an HTML fragment."""
        return super().to_html().replace("</h3>", "</h3>" + self.to_svg(), 1)


def _check_sizes(sizes: Sequence[int] | None, n_train: int, n_classes: int,
                 start: int = 20) -> np.ndarray:
    if sizes is None:
        return default_sizes(n_train, n_classes, start)
    arr = np.unique(np.asarray(sizes, dtype=np.int64))
    if len(arr) < 3 or arr.min() < 2 or arr.max() > n_train:
        raise param_error("sizes", _FUNC, f"at least 3 distinct ints in [2, {n_train}] "
                          "(the training part of each split)", list(sizes))
    return arr


def correct_for_noise(accuracy: np.ndarray, noise_rate: float, n_classes: int) -> np.ndarray:
    """Accuracy against the true labels from accuracy against labels with symmetric noise.

    If each evaluation label is wrong with probability ``rho``, uniformly among the other
    ``K - 1`` classes, independently of the model's mistakes, then
    ``acc_obs = acc (1 - rho) + (1 - acc) rho / (K - 1)``; this inverts it.

    Parameters
    ----------
    accuracy : array of any shape
    noise_rate : float in [0, 1)
    n_classes : int
    """
    rho, k = float(noise_rate), max(int(n_classes), 2)
    denom = 1 - rho - rho / (k - 1)
    if denom <= 0:
        return np.full(np.shape(accuracy), np.nan)
    return np.clip((np.asarray(accuracy) - rho / (k - 1)) / denom, 0.0, 1.0)


def _check_inputs(X: Any, y: Any, mask: Any, name: str = "train_mask", *,
                  matrix: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as an array (2-D only if ``matrix``) and ``mask`` as bools, one per row."""
    y_arr = np.asarray(y)
    if y_arr.ndim not in ((1, 2) if matrix else (1,)) or len(y_arr) != len(X):
        raise InputError(f"y has shape {y_arr.shape} for {len(X)} rows of X; give one label "
                         "per row of X.")
    keep = np.ones(len(y_arr), bool) if mask is None else np.asarray(mask, bool)
    if keep.shape != (len(y_arr),):
        raise InputError(f"{name} has shape {keep.shape}; give one bool per row of X.")
    return y_arr, keep


def _task(task: Task | str | None) -> Task:
    """The task (default: classification) from a Task or its kind."""
    return task if isinstance(task, Task) else get_task(task)


@validate_params({
    "repeats": [Interval(Integral, 1, None)],
    "test_size": [Interval(Real, 0.05, 0.9)],
    "noise_rate": [None, Interval(Real, 0.0, 0.99)],
    "n_boot": [Interval(Integral, 0, None)],
})
def learning_curve(
    model: Any,
    X: Any,
    y: Any,
    *,
    sizes: Sequence[int] | None = None,
    repeats: int = 5,
    test_size: float = 0.25,
    train_mask: Any = None,
    eval_mask: Any = None,
    noise_rate: float | None = None,
    n_boot: int = 200,
    seed: int = 0,
    n_jobs: int | None = None,
    label: str = "learning curve",
    task: Task | str | None = None,
) -> LearningCurve:
    """Train the fixed recipe on nested subsamples and fit a power law to its score.

    Parameters
    ----------
    model : scikit-learn estimator of the task's kind
        Cloned for every fit.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        What the model is fitted on (:meth:`assay.tasks.Task.fit_targets`): classes,
        numbers, or a 0/1 label matrix.
    sizes : sequence of int, optional
        Training-set sizes; default 8 sizes spaced geometrically up to the training part.
    repeats : int
        Number of train/test splits (stratified by class for class targets).
    test_size : float
        Held-out fraction of each split.
    train_mask : bool array-like of shape (n_samples,), optional
        Rows that may be used for training (e.g. all but flagged label issues); every
        held-out row is scored. Splits depend only on ``y`` and ``seed``, so two curves
        with the same ``y`` and seed share their test sets.
    eval_mask : bool array-like of shape (n_samples,), optional
        Held-out rows that are scored (default: all), e.g. all but flagged label issues
        when no noise correction applies.
    noise_rate : float, optional
        Estimated rate of (symmetric) noise in ``y``; held-out accuracies are then
        corrected to estimate accuracy against the true labels
        (:func:`correct_for_noise`), and each bootstrap replicate uses a rate resampled
        as ``Binomial(n_samples, noise_rate) / n_samples`` so that the intervals carry
        the uncertainty of the estimated rate. Class targets only (accuracy).
    n_boot : int
        Bootstrap replicates of the fit.
    seed : int
    n_jobs : int, optional
        Parallel fits (joblib).
    label : str
        Name of the curve in summaries and charts.
    task : Task or str, optional
        The kind of label (default classification): the score is its headline metric
        (:meth:`assay.tasks.Task.headline_score`), in its direction.

    Returns
    -------
    LearningCurve

    Raises
    ------
    InputError
        ``noise_rate`` with a task whose labels are not classes.
    """
    kind = _task(task)
    y_arr, mask = _check_inputs(X, y, train_mask, matrix=not kind.class_targets)
    _, scored = _check_inputs(X, y, eval_mask, "eval_mask", matrix=not kind.class_targets)
    if noise_rate is not None and not kind.class_targets:
        raise InputError(f"noise_rate corrects accuracy for class noise; the {kind.kind} task "
                         "has no such correction: leave noise_rate out.")
    check_missing_accepted(model, X, where="the data")
    stratify = kind.class_targets
    folds = splits(y_arr, repeats, test_size, seed, stratify=stratify)
    rng = np.random.default_rng(seed)
    orders = [tr[stratified_order(y_arr[tr], rng)] if stratify else tr[rng.permutation(len(tr))]
              for tr, _ in folds]
    orders = [o[mask[o]] for o in orders]
    tests = [te[scored[te]] for _, te in folds]
    n_classes = len(np.unique(y_arr)) if stratify else 2
    size_arr = _check_sizes(sizes, min(len(o) for o in orders), n_classes, kind.curve_start)
    jobs = [(r, j) for r in range(repeats) for j in range(len(size_arr))]
    results = Parallel(n_jobs=n_jobs)(
        delayed(fit_score)(model, X, y_arr, y_arr, orders[r][: size_arr[j]], tests[r],
                           kind.headline_score, stratify)
        for r, j in jobs
    )
    scores = np.full((repeats, len(size_arr)), np.nan)
    for (r, j), s in zip(jobs, results, strict=True):
        scores[r, j] = s
    sign = 1.0 if kind.greater_is_better else -1.0
    transform = _noise_transform(noise_rate, len(y_arr), n_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corrected = scores if noise_rate is None else correct_for_noise(
            scores, noise_rate, n_classes)
        params = fit_power_law(size_arr, np.nanmean(corrected, axis=0), sign)
    boot = (bootstrap_params(size_arr, scores, n_boot, seed, transform, sign) if repeats > 1
            else params[None, :])
    return LearningCurve(size_arr, corrected, params, boot, len(tests[0]), label,
                         metric=kind.metrics[0], sign=sign, binomial=stratify)


def _noise_transform(noise_rate: float | None, n: int, n_classes: int
                     ) -> Callable[[np.ndarray, np.random.Generator], np.ndarray] | None:
    """Per bootstrap replicate, correct with a noise rate resampled as Binomial(n, rate) / n."""
    if noise_rate is None:
        return None

    def transform(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return correct_for_noise(scores, rng.binomial(n, noise_rate) / n, n_classes)

    return transform
