"""Clean vs collect: is it better to fix the labels or to gather more data?

The noise is estimated by confident learning on out-of-sample predicted probabilities
(``find_label_issues``; ``noise_rate`` = fraction flagged). Two learning curves share
their splits: one trained on every row as labelled, one trained without the flagged
rows (a stand-in for the reviewed data). Both are scored on all held-out rows against
the given labels and corrected for symmetric label noise at the estimated rate
(:func:`assay.train.curves.correct_for_noise`), so both estimate accuracy against the
true labels. The accuracy after cleaning is the clean curve at ``n``; after
collecting, the noisy curve at ``n + extra``; the equivalent sample size solves
``noisy(n + N) = clean(n)`` per paired bootstrap replicate.

Validated by ``benchmarks/curves.py`` (digits, 12% noise, both actions actually done).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay._charts import line_chart
from assay._validation import Integral, Interval, Real, validate_params
from assay.train._table_report import TableReport
from assay.train.curves._fit import power_law
from assay.train.curves._learning import LearningCurve, learning_curve
from assay.train.evaluate._missing import check_missing_accepted
from assay.train.labels import estimate_noise, find_label_issues
from assay.train.predict import cross_val_predict_proba

__all__ = ["CleanVsCollect", "clean_vs_collect", "equivalence_text"]


class CleanVsCollect(TableReport):
    """Accuracy after cleaning the estimated label noise vs after collecting more data.

    Attributes
    ----------
    table : DataFrame
        Rows "now (as labelled)", "after cleaning", "after collecting m more"; columns
        ``scenario, n_train, accuracy, low, high``.
    noisy_, clean_ : LearningCurve
        Curves trained on all rows as labelled and on the rows not flagged; both are
        scored on all held-out rows, corrected for the estimated label noise.
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

    def __init__(
        self,
        noisy: LearningCurve,
        clean: LearningCurve,
        issues: pd.DataFrame,
        n: int,
        extra: int,
        n_test: int | None,
    ) -> None:
        self.noisy_, self.clean_, self.issues_ = noisy, clean, issues
        self.n_, self.extra_ = n, extra
        self.noise_rate_ = float(np.mean(issues["is_label_issue"]))
        self.noise_: Any = None
        now = noisy.predict(n, n_test=n_test)
        cleaned = clean.predict(n, n_test=n_test)
        collected = noisy.predict(n + extra, n_test=n_test)
        self.table = pd.concat([now, cleaned, collected], ignore_index=True).rename(
            columns={"n": "n_train"}
        )
        self.table.insert(
            0, "scenario", ["now (as labelled)", "after cleaning", f"after collecting {extra} more"]
        )
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
        lines = [
            f"estimated label noise {self.noise_rate_:.1%} "
            f"({int(self.issues_['is_label_issue'].sum())} of {self.n_} flagged)"
        ]
        for _, r in self.table.iterrows():
            lines.append(
                f"- {r['scenario']} (n={int(r['n_train'])}): accuracy "
                f"{r['accuracy']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
            )
        lines.append(equivalence_text(self.equivalent_extra_, self.n_))
        return "\n".join(lines)

    def to_svg(self) -> str:
        """Both curves (accuracy vs training examples, clean vs noisy) as inline SVG."""
        up_to = self.n_ + self.extra_
        return line_chart(
            self.clean_.series(up_to, "#2ca02c") + self.noisy_.series(up_to, "#d62728"),
            title="Clean vs collect",
            log_x=True,
            x_label="number of training examples",
            y_label="accuracy",
        )

    def to_html(self) -> str:
        """Summary, chart and table as an HTML fragment."""
        return super().to_html().replace("</h3>", "</h3>" + self.to_svg(), 1)


def _count(v: float | None) -> str:
    if v is None or np.isnan(v):
        return "?"
    return "inf" if np.isinf(v) else f"{v:,.0f}"


def equivalence_text(extra: Sequence[float | None], n: int) -> str:
    """ "cleaning ~ collecting N more examples [interval]", with the ratio to the data size.

    Parameters
    ----------
    extra : (estimate, low, high)
        The equivalent number of extra examples and its 95% interval.
    n : int
        The current number of training examples.

    Beyond twice the current size the number comes from extrapolating the power law past
    the measured sizes, and the sentence says so.
    """
    est, low, high = extra
    text = (
        f"cleaning ≈ collecting {_count(est)} more examples "
        f"[95% interval {_count(low)}, {_count(high)}]"
    )
    if est is not None and np.isfinite(est) and n > 0:
        text += f", {est / n:.1f}x the current {n:,}"
        if est > 2 * n:
            text += " (extrapolated beyond the measured sizes: read it as 'far more than doubling')"
    return text


def _out_of_sample_probs(
    model: Any, X: Any, y: np.ndarray, cv: int, seed: int, n_jobs: int | None
) -> np.ndarray:
    """Out-of-sample predicted probabilities (:func:`~assay.train.predict.cross_val_predict_proba`)."""
    return np.asarray(cross_val_predict_proba(model, X, y, cv=cv, n_jobs=n_jobs, seed=seed))


@validate_params({
    "extra": [None, Interval(Integral, 1, None)],
    "repeats": [Interval(Integral, 1, None)],
    "test_size": [Interval(Real, 0.05, 0.9)],
    "cv": [Interval(Integral, 2, None)],
    "n_boot": [Interval(Integral, 0, None)],
})
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
    (``find_label_issues``). Two learning curves share their splits: one trained on all
    rows as labelled, one without the flagged rows; both are scored on every held-out
    row and corrected for symmetric noise at the flagged rate, to estimate accuracy
    against the true labels (see the module docstring). The accuracy after cleaning is
    the clean curve at ``n``; after collecting, the noisy curve at ``n + extra``; the
    equivalent sample size solves ``noisy(n + N) = clean(n)``, with a paired bootstrap
    interval.

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
    check_missing_accepted(model, X, where="the data")
    y_arr = np.asarray(y)
    n = len(y_arr)
    extra = n if extra is None else int(extra)
    classes = np.unique(y_arr)
    probs = (
        _out_of_sample_probs(model, X, y_arr, cv, seed, n_jobs)
        if pred_probs is None
        else pred_probs
    )
    issues = find_label_issues(y_arr, probs, classes=list(classes))
    flagged = issues["is_label_issue"].to_numpy(dtype=bool)
    common: dict[str, Any] = {
        "sizes": sizes,
        "repeats": repeats,
        "test_size": test_size,
        "n_boot": n_boot,
        "noise_rate": float(flagged.mean()),
        "seed": seed,
        "n_jobs": n_jobs,
    }
    noisy = learning_curve(model, X, y_arr, label="as labelled", **common)
    clean = learning_curve(model, X, y_arr, train_mask=~flagged, label="cleaned", **common)
    report = CleanVsCollect(noisy, clean, issues, n, extra, n_test)
    report.noise_ = estimate_noise(y_arr, probs, classes=list(classes))
    return report
