"""Clean vs collect: is it better to fix the labels or to gather more data?

The noise is estimated from out-of-sample model output by the task's label-issue method
(:meth:`assay.tasks.Task.find_label_issues`: confident learning for classes, robust
residuals for numbers, per-label confident learning for label sets); ``noise_rate`` =
fraction flagged. Two learning curves share their splits: one trained on every row as
labelled, one trained without the flagged rows (a stand-in for the reviewed data).

- Class targets (accuracy): both are scored on all held-out rows against the given
  labels and corrected for symmetric label noise at the estimated rate
  (:func:`assay.train.curves.correct_for_noise`), so both estimate accuracy against
  the true labels.
- Other kinds (MAE, micro F1): no noise model corrects their metric, so both curves
  are scored on all held-out rows against the labels as given. That understates what
  cleaning gains (part of the cleaned model's better answers are counted as errors
  against wrong labels), so a ``clean`` verdict is conservative. Scoring only the
  unflagged rows was rejected: they are the easy items (on yeast 67% of the items are
  flagged), which favours the curve trained on them. Cleaning drops the flagged rows
  from training rather than relabelling them with the suggested labels: the
  suggestions come from the same model's out-of-sample predictions, and training on
  them would score the model against its own opinion.

The score after cleaning is the clean curve at ``n``; after collecting, the noisy curve
at ``n + extra``; the equivalent sample size solves ``noisy(n + N) = clean(n)`` per
paired bootstrap replicate, in the metric's direction (``verdict``: ``clean`` when
cleaning scores at least as well as collecting). When a curve cannot be fitted (for
example cleaning flags so many items that fewer than three training sizes remain) the
verdict is ``none`` and ``no_verdict_`` says why: a verdict is never drawn from a
missing score.

Validated by ``benchmarks/curves.py`` (digits, 12% noise, both actions actually done).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay._charts import line_chart
from assay._validation import Integral, Interval, Real, validate_params
from assay.tasks import Task
from assay.train._table_report import TableReport
from assay.train.curves._fit import curve_value, size_reaching
from assay.train.curves._learning import LearningCurve, _task, learning_curve
from assay.train.evaluate._missing import check_missing_accepted
from assay.train.labels import estimate_noise

__all__ = ["CleanVsCollect", "clean_vs_collect", "equivalence_text", "tie_text"]


class CleanVsCollect(TableReport):
    """A score after cleaning the estimated label noise vs after collecting more data.

    Attributes
    ----------
    table : DataFrame
        Rows "now (as labelled)", "after cleaning", "after collecting m more"; columns
        ``scenario, n_train, <metric>, low, high`` (the task's headline metric).
    noisy_, clean_ : LearningCurve
        Curves trained on all rows as labelled and on the rows not flagged (see the
        module docstring for what they are scored on).
    issues_ : DataFrame
        The output of the task's ``find_label_issues``.
    noise_ : NoiseEstimate or None
        The output of ``estimate_noise`` (class targets only).
    noise_rate_ : float
        Fraction of items flagged.
    equivalent_extra_ : tuple of float
        ``(estimate, low, high)``: cleaning is worth about this many more examples of the
        current quality (``inf``: more noisy data never reaches the cleaned score).
    n_, extra_ : int
        Current number of examples and the ``extra`` examples considered for collection.
    metric_ : str
    greater_is_better_ : bool
    no_verdict_ : str or None
        Why there is no verdict (a curve that cannot be fitted), else None.

    The verdict itself is :attr:`verdict`; :attr:`settled` says whether the bootstrap
    interval backs it.
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
        self.metric_, self.greater_is_better_ = noisy.metric_, noisy.sign_ > 0
        self.noise_rate_ = float(np.mean(issues["is_label_issue"]))
        self.noise_: Any = None
        self.scored_on_ = "all held-out rows, corrected for the noise"
        now = noisy.predict(n, n_test=n_test)
        cleaned = clean.predict(n, n_test=n_test)
        collected = noisy.predict(n + extra, n_test=n_test)
        self.table = pd.concat([now, cleaned, collected], ignore_index=True).rename(
            columns={"n": "n_train"}
        )
        self.table.insert(
            0, "scenario", ["now (as labelled)", "after cleaning", f"after collecting {extra} more"]
        )
        self.no_verdict_ = self._no_verdict(int(issues["is_label_issue"].sum()))
        self.equivalent_extra_ = self._equivalent()

    @property
    def verdict(self) -> str:
        """``clean`` when the score after cleaning is at least as good as after
        collecting (in the metric's direction), ``collect`` when it is worse, ``none``
        when either score is missing (``no_verdict_`` says why)."""
        cleaned, collected = (float(v) for v in self.table[self.metric_].iloc[1:3])
        if self.no_verdict_ is not None or np.isnan(cleaned) or np.isnan(collected):
            return "none"
        better = cleaned >= collected if self.greater_is_better_ else cleaned <= collected
        return "clean" if better else "collect"

    @property
    def settled(self) -> bool | None:
        """Whether the verdict holds across the paired bootstrap: the 95% interval of
        what cleaning is worth in examples lies wholly at or above the ``extra``
        examples collecting adds (``clean``) or wholly below them (``collect``).
        ``False``: the interval straddles ``extra``, so the two actions are a tie at
        this precision. ``None`` when there is no verdict or no interval (one split)."""
        _, low, high = self.equivalent_extra_
        if self.verdict == "none" or np.isnan(low) or np.isnan(high):
            return None
        if self.verdict == "clean":
            return bool(low >= self.extra_)
        return bool(high < self.extra_)

    def _no_verdict(self, flagged: int) -> str | None:
        """Why a curve has no fit (too few training sizes, or no score), else None."""
        for curve, name in ((self.noisy_, "as labelled"), (self.clean_, "after cleaning")):
            if np.isfinite(curve.params_).all():
                continue
            sizes = curve.sizes_
            if len(sizes) < 3:
                left = f"{int(sizes[-1])} training examples per split" if len(sizes) else "none"
                held = f" ({flagged} of {self.n_} flagged)" if name == "after cleaning" else ""
                return (
                    f"the curve {name} cannot be drawn: {left} left{held}, fewer than "
                    "the 3 training sizes a curve needs"
                )
            return (
                f"the curve {name} cannot be drawn: fewer than 3 training sizes have "
                "a held-out score (for classes, a noise estimate too high to correct "
                "the accuracy for leaves none)"
            )
        return None

    def _equivalent(self) -> tuple[float, float, float]:
        """Extra noisy examples that reach the cleaned score, with a paired bootstrap
        (no interval from a single split)."""
        if self.no_verdict_ is not None:
            return np.nan, np.nan, np.nan
        sign = self.noisy_.sign_
        params = np.vstack([self.clean_.params_, self.clean_.boot_params_])
        target = np.array([curve_value(self.n_, p, sign) for p in params]).ravel()
        noisy = np.vstack([self.noisy_.params_, self.noisy_.boot_params_])
        m = min(len(target), len(noisy))
        size = size_reaching(target[:m], noisy[:m], sign)
        extra = np.maximum(size - self.n_, 0.0)
        ok = ~np.isnan(extra[1:])
        if not ok.any() or self.noisy_.scores_.shape[0] < 2:
            return float(extra[0]), np.nan, np.nan
        low, high = np.quantile(extra[1:][ok], [0.025, 0.975], method="inverted_cdf")
        return float(extra[0]), float(low), float(high)

    def summary(self) -> str:
        """Plain text: noise estimate, the three scores and the equivalent size."""
        lines = [
            f"estimated label noise {self.noise_rate_:.1%} "
            f"({int(self.issues_['is_label_issue'].sum())} of {self.n_} flagged)",
            f"{self.metric_} ({'higher' if self.greater_is_better_ else 'lower'} is better) "
            f"on {self.scored_on_}",
        ]
        for _, r in self.table.iterrows():
            lines.append(f"- {r['scenario']} (n={int(r['n_train'])}): {_score(r, self.metric_)}")
        if self.noisy_.scores_.shape[0] < 2:
            lines.append("(no intervals from a single split: 2 or more repeats give them)")
        lines.append(equivalence_text(self.equivalent_extra_, self.n_))
        return "\n".join(lines)

    def to_svg(self) -> str:
        """Both curves (score vs training examples, clean vs noisy) as inline SVG."""
        up_to = self.n_ + self.extra_
        return line_chart(
            self.clean_.series(up_to, "#2ca02c") + self.noisy_.series(up_to, "#d62728"),
            title="Clean vs collect",
            log_x=True,
            x_label="number of training examples",
            y_label=self.metric_,
        )

    def to_html(self) -> str:
        """Summary, chart and table as an HTML fragment."""
        return super().to_html().replace("</h3>", "</h3>" + self.to_svg(), 1)


def _score(row: pd.Series, metric: str) -> str:
    """``map 0.223 [0.101, 0.345]``; no interval when it is missing; ``cannot be drawn``
    for a missing score."""
    value = row[metric]
    if value is None or not np.isfinite(value):
        return f"{metric} cannot be drawn (see below)"
    if row["low"] is None or not (np.isfinite(row["low"]) and np.isfinite(row["high"])):
        return f"{metric} {value:.3f}"
    return f"{metric} {value:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


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
    if est is None or np.isnan(est):
        return "what cleaning is worth in examples is unknown: a curve is missing"
    if low is None or high is None or np.isnan(low) or np.isnan(high):
        text = f"cleaning ≈ collecting {_count(est)} more examples (no interval)"
    else:
        text = (
            f"cleaning ≈ collecting {_count(est)} more examples "
            f"[95% interval {_count(low)}, {_count(high)}]"
        )
    if est is not None and np.isfinite(est) and n > 0:
        text += f", {est / n:.1f}x the current {n:,}"
        if est > 2 * n:
            text += " (extrapolated beyond the measured sizes: read it as 'far more than doubling')"
    return text


def tie_text(extra: Sequence[float | None], collected: int) -> str:
    """The sentence for a verdict its interval does not back (:attr:`CleanVsCollect.
    settled` is False): the interval of what cleaning is worth straddles the
    ``collected`` examples that collecting adds.

    Parameters
    ----------
    extra : (estimate, low, high)
        The equivalent number of extra examples and its 95% interval.
    collected : int
        The examples the "after collecting" scenario adds.
    """
    _, low, high = extra
    bounds = (
        f"{_count(low)} examples or more"
        if high is None or np.isinf(high)
        else f"{_count(low)} to {_count(high)} examples"
    )
    return (
        f"not settled: what cleaning is worth (95% interval {bounds}) includes the "
        f"{collected:,} that collecting adds; read it as a tie"
    )


@validate_params(
    {
        "extra": [None, Interval(Integral, 1, None)],
        "repeats": [Interval(Integral, 1, None)],
        "test_size": [Interval(Real, 0.05, 0.9)],
        "cv": [Interval(Integral, 2, None)],
        "n_boot": [Interval(Integral, 0, None)],
    }
)
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
    task: Task | str | None = None,
    classes: Sequence[Any] | None = None,
) -> CleanVsCollect:
    """Compare cleaning the estimated label noise with collecting more data.

    The noise is estimated by the task's label-issue method on out-of-sample model
    output. Two learning curves share their splits: one trained on all rows as
    labelled, one without the flagged rows; see the module docstring for how each kind
    is scored. The score after cleaning is the clean curve at ``n``; after collecting,
    the noisy curve at ``n + extra``; the equivalent sample size solves
    ``noisy(n + N) = clean(n)``, with a paired bootstrap interval.

    Parameters
    ----------
    model : scikit-learn estimator of the task's kind
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Labels as given (noisy), as the model is fitted on them
        (:meth:`assay.tasks.Task.fit_targets`).
    pred_probs : array-like, optional
        Out-of-sample model output (class probabilities in sorted class order, numbers,
        or per-label probabilities); computed by ``cv``-fold cross-validation
        (:meth:`assay.tasks.Task.out_of_sample`) when missing.
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
    task : Task or str, optional
        The kind of label (default classification): its headline metric, direction and
        label-issue method.
    classes : sequence, optional
        The label names of the columns of a multi-label ``y``.

    Returns
    -------
    CleanVsCollect
    """
    kind = _task(task)
    check_missing_accepted(model, X, where="the data")
    y_arr = np.asarray(y)
    n = len(y_arr)
    extra = n if extra is None else int(extra)
    if kind.class_targets:
        classes = list(np.unique(y_arr))
    output = (
        kind.out_of_sample(model, X, y_arr, cv=cv, seed=seed, n_jobs=n_jobs)[0]
        if pred_probs is None
        else pred_probs
    )
    issues = kind.find_label_issues(y_arr, output, classes=classes)
    flagged = issues["is_label_issue"].to_numpy(dtype=bool)
    common: dict[str, Any] = {
        "sizes": sizes,
        "repeats": repeats,
        "test_size": test_size,
        "n_boot": n_boot,
        "seed": seed,
        "n_jobs": n_jobs,
        "task": kind,
    }
    if kind.class_targets:
        common["noise_rate"] = float(flagged.mean())
    noisy = learning_curve(model, X, y_arr, label="as labelled", **common)
    clean = learning_curve(model, X, y_arr, train_mask=~flagged, label="cleaned", **common)
    report = CleanVsCollect(noisy, clean, issues, n, extra, n_test)
    if kind.class_targets:
        report.noise_ = estimate_noise(y_arr, output, classes=classes)
    else:
        report.scored_on_ = "all held-out rows, as labelled"
    return report
