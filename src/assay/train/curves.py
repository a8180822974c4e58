"""Learning curves with a power-law fit, and the clean-vs-collect comparison.

:func:`learning_curve` trains the fixed recipe on nested, stratified subsamples of the
training part of ``repeats`` stratified train/test splits, scores each fit on the
held-out part, and fits ``acc(n) = a - b * n ** (-c)`` to the mean curve. Uncertainty
comes from a bootstrap over the repeats (each replicate resamples whole curves, which
keeps the correlation between nested subsamples, and refits the power law);
:meth:`LearningCurve.predict` gives the fitted accuracy at any ``n`` with a 95%
interval, optionally widened by the binomial noise of a test set of ``n_test``
examples (a prediction interval for an accuracy you will measure).

:func:`clean_vs_collect` lives in :mod:`assay.train.clean_collect`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from assay._validation import check_number, param_error
from assay.exceptions import InputError
from assay.train._curve_fit import (
    bootstrap_params,
    default_sizes,
    fit_power_law,
    fit_score,
    power_law,
    splits,
    stratified_order,
)
from assay.train._slice_stats import TableReport

__all__ = ["correct_for_noise", "CleanVsCollect", "LearningCurve", "clean_vs_collect", "learning_curve", "power_law"]

_FUNC = "learning_curve"


class LearningCurve(TableReport):
    """Accuracy against training-set size, with a power-law fit and its uncertainty.

    Attributes
    ----------
    sizes_ : ndarray of shape (n_sizes,)
        Training-set sizes.
    scores_ : ndarray of shape (repeats, n_sizes)
        Held-out accuracy of each repeat at each size (NaN where a fit failed).
    params_ : ndarray of shape (3,)
        Fitted ``(a, b, c)`` of ``a - b * n ** (-c)``.
    boot_params_ : ndarray of shape (n_boot, 3)
        Bootstrap replicates of the parameters.
    n_test_ : int
        Held-out examples per repeat.
    table : DataFrame
        ``n, accuracy_mean, accuracy_std, fit`` per size.
    """

    title = "Learning curve"

    def __init__(self, sizes: np.ndarray, scores: np.ndarray, params: np.ndarray,
                 boot_params: np.ndarray, n_test: int, label: str = "learning curve") -> None:
        self.sizes_ = sizes
        self.scores_ = scores
        self.params_ = params
        self.boot_params_ = boot_params
        self.n_test_ = n_test
        self.label = label
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.table = pd.DataFrame({
                "n": sizes, "accuracy_mean": np.nanmean(scores, axis=0),
                "accuracy_std": np.nanstd(scores, axis=0), "fit": power_law(sizes, *params),
            })

    def predict(self, n: Any, *, n_test: int | None = None, confidence: float = 0.95
                ) -> pd.DataFrame:
        """Fitted accuracy at training-set size(s) ``n`` with an interval.

        Parameters
        ----------
        n : int or array-like of int
        n_test : int, optional
            If given, the interval also covers the binomial noise of measuring the
            accuracy on a fresh test set of ``n_test`` examples.
        confidence : float

        Returns
        -------
        DataFrame with columns ``n, accuracy, low, high``
        """
        ns = np.atleast_1d(np.asarray(n, dtype=np.float64))
        draws = np.array([power_law(ns, *p) for p in self.boot_params_]).reshape(-1, len(ns))
        draws = draws[np.isfinite(draws).all(axis=1)]
        if n_test is not None and len(draws):
            rng = np.random.default_rng(0)
            draws = rng.binomial(int(n_test), np.clip(draws, 0, 1)) / n_test
        tail = 100 * (1 - confidence) / 2
        low, high = (np.percentile(draws, [tail, 100 - tail], axis=0) if len(draws)
                     else (np.full(len(ns), np.nan),) * 2)
        return pd.DataFrame({"n": ns, "accuracy": power_law(ns, *self.params_),
                             "low": low, "high": high})

    def size_for(self, accuracy: float) -> np.ndarray:
        """Training-set size at which each bootstrap fit reaches ``accuracy`` (inf if never).

        Returns
        -------
        ndarray of shape (n_boot + 1,): the point estimate first, then the replicates.
        """
        params = np.vstack([self.params_, self.boot_params_])
        a, b, c = params[:, 0], params[:, 1], params[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            n = np.where(accuracy < a, (b / (a - accuracy)) ** (1 / c), np.inf)
        return np.asarray(n)

    def summary(self) -> str:
        """Plain text: the fit and the accuracy at the largest size."""
        a, b, c = self.params_
        last = self.predict(self.sizes_[-1])
        return (f"{self.label}: acc(n) = {a:.3f} - {b:.3g} n^-{c:.2f}; at n={int(self.sizes_[-1])}"
                f" {last['accuracy'][0]:.3f} [{last['low'][0]:.3f}, {last['high'][0]:.3f}]; "
                f"plateau {a:.3f}")

    def series(self, up_to: float | None = None, color: str | None = None) -> list[Any]:
        """Chart series: the measured means (markers) and the fit with its band."""
        from assay.report.svg import LineSeries

        grid = np.geomspace(self.sizes_[0], max(up_to or 0, self.sizes_[-1]), 40)
        pred = self.predict(grid)
        return [
            LineSeries(self.sizes_, self.table["accuracy_mean"], f"{self.label} (measured)",
                       markers=True, color=color),
            LineSeries(grid, pred["accuracy"], f"{self.label} (fit, 95% band)",
                       low=pred["low"], high=pred["high"], dashed=True, color=color),
        ]

    def to_svg(self, *, up_to: float | None = None) -> str:
        """The curve as an inline SVG chart."""
        from assay.report.svg import line_chart

        return line_chart(self.series(up_to), title=self.title, log_x=True,
                          x_label="number of training examples", y_label="accuracy")

    def to_html(self) -> str:
        """Summary, chart and table as an HTML fragment."""
        return super().to_html().replace("</h3>", "</h3>" + self.to_svg(), 1)


def _check_sizes(sizes: Sequence[int] | None, n_train: int, n_classes: int) -> np.ndarray:
    if sizes is None:
        return default_sizes(n_train, n_classes)
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


def _check_inputs(X: Any, y: Any, train_mask: Any) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y)
    if y_arr.ndim != 1 or len(y_arr) != len(X):
        raise InputError(f"y has shape {y_arr.shape} for {len(X)} rows of X; give one label "
                         "per row of X.")
    mask = np.ones(len(y_arr), bool) if train_mask is None else np.asarray(train_mask, bool)
    if mask.shape != y_arr.shape:
        raise InputError(f"train_mask has shape {mask.shape}; give one bool per row of X.")
    return y_arr, mask


def learning_curve(
    model: Any,
    X: Any,
    y: Any,
    *,
    sizes: Sequence[int] | None = None,
    repeats: int = 5,
    test_size: float = 0.25,
    train_mask: Any = None,
    noise_rate: float | None = None,
    n_boot: int = 200,
    seed: int = 0,
    n_jobs: int | None = None,
    label: str = "learning curve",
) -> LearningCurve:
    """Train the fixed recipe on nested subsamples and fit a power law to its accuracy.

    Parameters
    ----------
    model : scikit-learn classifier
        Cloned for every fit.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Labels.
    sizes : sequence of int, optional
        Training-set sizes; default 8 sizes spaced geometrically up to the training part.
    repeats : int
        Number of stratified train/test splits.
    test_size : float
        Held-out fraction of each split.
    train_mask : bool array-like of shape (n_samples,), optional
        Rows that may be used for training (e.g. all but flagged label issues); every
        held-out row is scored. Splits depend only on ``y`` and ``seed``, so two curves
        with the same ``y`` and seed share their test sets.
    noise_rate : float, optional
        Estimated rate of (symmetric) noise in ``y``; held-out accuracies are then
        corrected to estimate accuracy against the true labels
        (:func:`correct_for_noise`).
    n_boot : int
        Bootstrap replicates of the fit.
    seed : int
    n_jobs : int, optional
        Parallel fits (joblib).
    label : str
        Name of the curve in summaries and charts.

    Returns
    -------
    LearningCurve
    """
    y_arr, mask = _check_inputs(X, y, train_mask)
    check_number(repeats, name="repeats", func=_FUNC, low=1, integer=True)
    check_number(test_size, name="test_size", func=_FUNC, low=0.05, high=0.9)
    check_number(n_boot, name="n_boot", func=_FUNC, low=0, integer=True)
    folds = splits(y_arr, repeats, test_size, seed)
    rng = np.random.default_rng(seed)
    orders = [tr[stratified_order(y_arr[tr], rng)] for tr, _ in folds]
    orders = [o[mask[o]] for o in orders]
    size_arr = _check_sizes(sizes, min(len(o) for o in orders), len(np.unique(y_arr)))
    jobs = [(r, j) for r in range(repeats) for j in range(len(size_arr))]
    results = Parallel(n_jobs=n_jobs)(
        delayed(fit_score)(model, X, y_arr, y_arr, orders[r][: size_arr[j]], folds[r][1])
        for r, j in jobs
    )
    scores = np.full((repeats, len(size_arr)), np.nan)
    for (r, j), s in zip(jobs, results, strict=True):
        scores[r, j] = s
    if noise_rate is not None:
        check_number(noise_rate, name="noise_rate", func=_FUNC, low=0.0, high=0.99)
        scores = correct_for_noise(scores, noise_rate, len(np.unique(y_arr)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = fit_power_law(size_arr, np.nanmean(scores, axis=0))
    boot = bootstrap_params(size_arr, scores, n_boot, seed) if repeats > 1 else params[None, :]
    return LearningCurve(size_arr, scores, params, boot, len(folds[0][1]), label)


class CleanVsCollect(TableReport):
    """Accuracy after cleaning the estimated label noise vs after collecting more data.

    Attributes
    ----------
    table : DataFrame
        Rows "now (as labelled)", "after cleaning", "after collecting m more"; columns
        ``scenario, n_train, accuracy, low, high``.
    noisy_, clean_ : LearningCurve
        Curves trained on the labels as given and on the cleaned labels (flagged items
        relabelled to the suggested label); both are scored against the cleaned labels.
    issues_ : DataFrame
        The output of ``find_label_issues``.
    noise_ : NoiseEstimate or None
        The output of ``estimate_noise`` (noise matrix, per-class noise rates).
    noise_rate_ : float
        Fraction of items flagged.
    equivalent_extra_ : tuple of float
        ``(estimate, low, high)``: cleaning is worth about this many more examples of the
        current quality (``inf``: more noisy data never reaches the cleaned accuracy).
    n_, extra_ : int
        Current number of examples and the ``extra`` examples considered for collection.
    """

    title = "Clean vs collect"

    def __init__(self, noisy: LearningCurve, clean: LearningCurve, issues: pd.DataFrame,
                 n: int, extra: int, n_test: int | None) -> None:
        self.noisy_, self.clean_, self.issues_ = noisy, clean, issues
        self.n_, self.extra_ = n, extra
        self.noise_rate_ = float(np.mean(issues["is_label_issue"]))
        self.noise_: Any = None
        now = noisy.predict(n, n_test=n_test)
        cleaned = clean.predict(n, n_test=n_test)
        collected = noisy.predict(n + extra, n_test=n_test)
        self.table = pd.concat([now, cleaned, collected], ignore_index=True).rename(
            columns={"n": "n_train"})
        self.table.insert(0, "scenario", ["now (as labelled)", "after cleaning",
                                          f"after collecting {extra} more"])
        self.equivalent_extra_ = self._equivalent()

    def _equivalent(self) -> tuple[float, float, float]:
        """Extra noisy examples that reach the cleaned accuracy, with a paired bootstrap."""
        params = np.vstack([self.clean_.params_, self.clean_.boot_params_])
        target = np.array([power_law(self.n_, *p) for p in params]).ravel()
        noisy = np.vstack([self.noisy_.params_, self.noisy_.boot_params_])
        m = min(len(target), len(noisy))
        a, b, c = noisy[:m, 0], noisy[:m, 1], noisy[:m, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            size = np.where(target[:m] < a, (b / (a - target[:m])) ** (1 / c), np.inf)
        extra = np.maximum(size - self.n_, 0.0)
        ok = ~np.isnan(extra[1:])
        if not ok.any():
            return float(extra[0]), np.nan, np.nan
        low, high = np.quantile(extra[1:][ok], [0.025, 0.975], method="inverted_cdf")
        return float(extra[0]), float(low), float(high)

    def summary(self) -> str:
        """Plain text: noise estimate, the three accuracies and the equivalent size."""
        lines = [f"estimated label noise {self.noise_rate_:.1%} "
                 f"({int(self.issues_['is_label_issue'].sum())} of {self.n_} flagged)"]
        for _, r in self.table.iterrows():
            lines.append(f"- {r['scenario']} (n={int(r['n_train'])}): accuracy "
                         f"{r['accuracy']:.3f} [{r['low']:.3f}, {r['high']:.3f}]")
        est, low, high = self.equivalent_extra_
        lines.append(f"cleaning ~ collecting {_count(est)} more examples "
                     f"[95% interval {_count(low)}, {_count(high)}]")
        return "\n".join(lines)

    def to_svg(self) -> str:
        """Both curves (accuracy vs training examples, clean vs noisy) as inline SVG."""
        from assay.report.svg import line_chart

        up_to = self.n_ + self.extra_
        return line_chart(self.clean_.series(up_to, "#2ca02c")
                          + self.noisy_.series(up_to, "#d62728"),
                          title="Clean vs collect", log_x=True,
                          x_label="number of training examples", y_label="accuracy")

    def to_html(self) -> str:
        """Summary, chart and table as an HTML fragment."""
        return super().to_html().replace("</h3>", "</h3>" + self.to_svg(), 1)


def _count(v: float) -> str:
    return "inf" if np.isinf(v) else ("?" if np.isnan(v) else f"{v:,.0f}")


def _out_of_sample_probs(model: Any, X: Any, y: np.ndarray, cv: int, seed: int,
                         n_jobs: int | None) -> np.ndarray:
    """Out-of-sample predicted probabilities (assay's cross_val_predict_proba if present)."""
    try:
        from assay.train.predict import cross_val_predict_proba
    except ImportError:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
        return np.asarray(cross_val_predict(model, X, y, cv=folds, method="predict_proba",
                                            n_jobs=n_jobs))
    return np.asarray(cross_val_predict_proba(model, X, y, cv=cv, n_jobs=n_jobs, seed=seed))


def clean_vs_collect(
    model: Any,
    X: Any,
    y: Any,
    *,
    pred_probs: Any = None,
    sizes: Sequence[int] | None = None,
    extra: int | None = None,
    repeats: int = 5,
    test_size: float = 0.25,
    cv: int = 5,
    n_test: int | None = None,
    n_boot: int = 200,
    seed: int = 0,
    n_jobs: int | None = None,
) -> CleanVsCollect:
    """Compare cleaning the estimated label noise with collecting more data.

    The noise is estimated by confident learning on out-of-sample ``pred_probs``
    (``find_label_issues``). Two learning curves share their splits and subsamples: one
    trained on the labels as given, one on the cleaned labels (flagged items relabelled
    to the suggested label); both are scored against the cleaned labels, the best
    available estimate of the truth. The accuracy after cleaning is the clean curve at
    ``n``; after collecting, the noisy curve at ``n + extra``; the equivalent sample
    size solves ``noisy(n + N) = clean(n)``, with a paired bootstrap interval.

    Parameters
    ----------
    model : scikit-learn classifier
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Labels as given (noisy).
    pred_probs : array-like of shape (n_samples, n_classes), optional
        Out-of-sample probabilities, columns in sorted class order; computed by
        ``cv``-fold cross-validation when missing.
    sizes : sequence of int, optional
        Training-set sizes of the curves.
    extra : int, optional
        Examples to collect; default ``n`` (doubling the data).
    repeats, test_size, n_boot, seed, n_jobs
        As for :func:`learning_curve`.
    cv : int
        Folds for ``pred_probs`` when it is missing.
    n_test : int, optional
        Widen the table's intervals by the noise of a test set of this size.

    Returns
    -------
    CleanVsCollect
    """
    from assay.train.label_issues import estimate_noise, find_label_issues

    y_arr = np.asarray(y)
    n = len(y_arr)
    extra = n if extra is None else int(check_number(extra, name="extra", func="clean_vs_collect",
                                                      low=1, integer=True))
    classes = np.unique(y_arr)
    probs = (_out_of_sample_probs(model, X, y_arr, cv, seed, n_jobs) if pred_probs is None
             else pred_probs)
    issues = find_label_issues(y_arr, probs, classes=list(classes))
    flagged = issues["is_label_issue"].to_numpy(dtype=bool)
    common: dict[str, Any] = {"sizes": sizes, "repeats": repeats, "test_size": test_size,
              "noise_rate": float(flagged.mean()), "n_boot": n_boot, "seed": seed,
              "n_jobs": n_jobs}
    noisy = learning_curve(model, X, y_arr, label="as labelled", **common)
    clean = learning_curve(model, X, y_arr, train_mask=~flagged, label="cleaned", **common)
    report = CleanVsCollect(noisy, clean, issues, n, extra, n_test)
    report.noise_ = estimate_noise(y_arr, probs, classes=list(classes))
    return report
