"""Evaluate and compare regression models: MAE, RMSE and R² with bootstrap intervals.

:func:`score_regression` gives the three metrics with 95% percentile-bootstrap
intervals (seeded, vectorised: one matrix product per chunk of resamples, see
:func:`assay.train.evaluate._paired.resample_weights`); the point values are
scikit-learn's ``mean_absolute_error``, ``root_mean_squared_error`` and ``r2_score``.
:func:`evaluate_regression` adds the residual summary (bias, spread, tail of the absolute
errors) and a table per tag value of the absolute and squared error with intervals.
:func:`compare_regression` pairs two evaluations of the same items: a paired bootstrap
on the absolute errors (the interval of the MAE difference and its two-sided p-value),
the same resamples giving the RMSE and R² differences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from assay.exceptions import InputError
from assay.train.evaluate._paired import (
    PairedComparison,
    align_items,
    bootstrap_p_value,
    check_ids,
    interval,
    resample_weights,
    tag_deltas,
    tag_frame,
)
from assay.train.evaluate._result import _py, _records

__all__ = [
    "REGRESSION_METRICS",
    "RegressionEvaluation",
    "compare_regression",
    "evaluate_regression",
    "residual_summary",
    "score_regression",
]

#: The metrics of a regression, the headline (lower is better) first.
REGRESSION_METRICS = ("mae", "rmse", "r2")
_TAG_COLUMNS = ["tag", "value", "n", "mae", "mae_low", "mae_high", "mse", "mse_low", "mse_high",
                "bias", "hlp", "gap"]


def _check_numbers(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two finite float vectors of the same length (at least one item)."""
    try:
        t = np.asarray(y_true, dtype=np.float64)
        p = np.asarray(y_pred, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            "y_true and y_pred must be numbers for a regression; give numeric arrays."
        ) from exc
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise InputError(
            f"y_true has shape {t.shape} and y_pred {p.shape}; give two non-empty 1-d arrays "
            "with one number per evaluation item."
        )
    for name, arr in (("y_true", t), ("y_pred", p)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InputError(
                f"{name} is NaN or infinite at position {int(np.argmax(bad))} (0-based, "
                f"{int(bad.sum())} in all); give finite numbers."
            )
    return t, p


def _r2(ss_res: np.ndarray, ss_tot: np.ndarray) -> np.ndarray:
    """R² with scikit-learn's ``force_finite``: 1 if perfect, 0 if y_true is constant."""
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    r2 = 1.0 - ss_res / safe
    return np.where(ss_tot > 0, r2, np.where(ss_res > 0, 0.0, 1.0))


def _replicates(t: np.ndarray, p: np.ndarray, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Bootstrap replicates of MAE, RMSE and R², each of shape (n_boot,)."""
    n = t.shape[0]
    err = p - t
    columns = np.column_stack([np.abs(err), err**2, t, t**2])
    sums = np.vstack([w @ columns for w in resample_weights(n, n_boot, seed)])
    ss_tot = np.clip(sums[:, 3] - sums[:, 2] ** 2 / n, 0.0, None)
    return {
        "mae": sums[:, 0] / n,
        "rmse": np.sqrt(sums[:, 1] / n),
        "r2": _r2(sums[:, 1], ss_tot),
    }


def score_regression(
    y_true: Any, y_pred: Any, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """MAE, RMSE and R² with 95% percentile-bootstrap intervals.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted numbers (finite).
    n_boot : int, default=1000
        Bootstrap resamples (of the items).
    seed : int, default=0
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``{"mae" | "rmse" | "r2": {"value", "low", "high", "method"}}``; the values equal
        scikit-learn's ``mean_absolute_error``, ``root_mean_squared_error`` and
        ``r2_score``.

    Raises
    ------
    InputError
        Shapes differ, an array is empty, or a value is not a finite number.
    """
    t, p = _check_numbers(y_true, y_pred)
    values = {
        "mae": float(mean_absolute_error(t, p)),
        "rmse": float(root_mean_squared_error(t, p)),
        "r2": float(r2_score(t, p)) if t.size > 1 else float("nan"),
    }
    reps = _replicates(t, p, int(n_boot), int(seed))
    out: dict[str, dict[str, Any]] = {}
    for name in REGRESSION_METRICS:
        low, high = interval(reps[name])
        out[name] = {"value": values[name], "low": low, "high": high, "method": "bootstrap"}
    return out


def mae(y_true: Any, y_pred: Any) -> float:
    """The mean absolute error (a metric for :func:`assay.train.slices.slice_table`)."""
    return float(mean_absolute_error(y_true, y_pred))


def residual_summary(y_true: Any, y_pred: Any) -> dict[str, float]:
    """How the model errs: bias, spread and tail of the residuals ``y_pred - y_true``.

    Returns
    -------
    dict
        ``bias`` (mean residual: > 0 over-predicts), ``residual_std``,
        ``median_absolute_error``, ``p90_absolute_error``, ``max_absolute_error``,
        ``share_over`` and ``share_under`` (items predicted above / below their label).
    """
    t, p = _check_numbers(y_true, y_pred)
    res = p - t
    abs_err = np.abs(res)
    return {
        "bias": float(res.mean()),
        "residual_std": float(res.std(ddof=1)) if res.size > 1 else 0.0,
        "median_absolute_error": float(np.median(abs_err)),
        "p90_absolute_error": float(np.quantile(abs_err, 0.9)),
        "max_absolute_error": float(abs_err.max()),
        "share_over": float((res > 0).mean()),
        "share_under": float((res < 0).mean()),
    }


def _per_tag(
    t: np.ndarray, p: np.ndarray, tags: pd.DataFrame | None, hlp: float | None,
    n_boot: int, seed: int,
) -> pd.DataFrame:
    """Per tag value: absolute and squared error with bootstrap intervals, bias, gap."""
    if tags is None:
        return pd.DataFrame(columns=_TAG_COLUMNS)
    err = p - t
    values = np.column_stack([np.abs(err), err**2])
    rows = []
    for name, column in tags.items():
        groups = pd.Series(np.arange(t.size)).groupby(column.to_numpy(), dropna=True, sort=True)
        for value, members in groups:
            idx = members.to_numpy()
            m = idx.size
            sums = np.vstack([w @ values[idx] for w in resample_weights(m, n_boot, seed)]) / m
            mae, mse = values[idx].mean(axis=0)
            (mae_lo, mae_hi), (mse_lo, mse_hi) = interval(sums[:, 0]), interval(sums[:, 1])
            gap = float("nan") if hlp is None else float(mae - hlp)
            rows.append([str(name), _py(value), m, mae, mae_lo, mae_hi, mse, mse_lo, mse_hi,
                         float(err[idx].mean()), float("nan") if hlp is None else hlp, gap])
    table = pd.DataFrame(rows, columns=_TAG_COLUMNS)
    return table.sort_values("mae", ascending=False, kind="stable").reset_index(drop=True)


@dataclass
class RegressionEvaluation:
    """Metrics of one fitted regression model on one evaluation set.

    Attributes
    ----------
    overall : dict
        ``{"mae" | "rmse" | "r2": {"value", "low", "high", "method"}}``.
    residuals : dict
        :func:`residual_summary` of the evaluation items.
    per_tag : DataFrame
        ``tag, value, n, mae, mae_low, mae_high, mse, mse_low, mse_high, bias, hlp,
        gap`` (``gap``: MAE minus the human-level MAE), largest MAE first.
    y_true, y_pred : ndarray of shape (n_samples,)
        Given and predicted numbers, in input order.
    ids : ndarray of shape (n_samples,) or None
        Evaluation item ids, used to pair two evaluations.
    hlp : float or None
        Human-level MAE (from annotator disagreement), when known.
    duration_s : float or None
        Seconds spent fitting.
    info : dict
        Provenance: ``n_boot``, ``seed``, and e.g. ``recipe_hash``, ``n_train``.
    """

    kind: ClassVar[str] = "regression"

    overall: dict[str, dict[str, Any]]
    residuals: dict[str, float]
    per_tag: pd.DataFrame
    y_true: np.ndarray
    y_pred: np.ndarray
    ids: np.ndarray | None = None
    hlp: float | None = None
    duration_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """The number of evaluation items."""
        return int(self.y_true.shape[0])

    @property
    def item_errors(self) -> np.ndarray:
        """Absolute error per item, shape (n_samples,) (what slices are searched on)."""
        return np.abs(np.asarray(self.y_pred, float) - np.asarray(self.y_true, float))

    def tables(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """What a face shows beside the metrics: (title, header, rows) per table."""
        r = self.residuals
        rows = [[k.replace("_", " "), f"{v:.4g}"] for k, v in r.items()]
        out = [("residuals (prediction - label)", ["statistic", "value"], rows)]
        if len(self.per_tag):
            tag_rows = [
                [t["tag"], t["value"], t["n"],
                 f"{t['mae']:.3f} [{t['mae_low']:.3f}, {t['mae_high']:.3f}]",
                 f"{t['bias']:+.3f}"]
                for t in self.per_tag.head(10).to_dict(orient="records")
            ]
            out.append(("absolute error per tag", ["tag", "value", "n", "MAE [95%]", "bias"],
                        tag_rows))
        return out

    def summary(self) -> str:
        """A few lines of plain text: metrics with intervals, residuals, weakest tags."""
        lines = [f"{self.n} evaluation items (regression)"]
        for name in REGRESSION_METRICS:
            m = self.overall[name]
            lines.append(f"  {name:<6} {m['value']:.4f}  [{m['low']:.4f}, {m['high']:.4f}]")
        r = self.residuals
        lines.append(f"  bias {r['bias']:+.4g}, median |error| {r['median_absolute_error']:.4g}, "
                     f"90% of |error| <= {r['p90_absolute_error']:.4g}")
        if self.hlp is not None:
            lines.append(f"  human-level MAE {self.hlp:.4g}")
        for t in self.per_tag.head(3).to_dict(orient="records"):
            lines.append(f"  {t['tag']}={t['value']}: MAE {t['mae']:.3f} (n={t['n']})")
        if self.duration_s is not None:
            lines.append(f"  fit took {self.duration_s:.2f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (NaN as None); :meth:`from_dict` restores the object."""
        return {
            "kind": self.kind,
            "overall": {k: {kk: _py(vv) for kk, vv in v.items()} for k, v in self.overall.items()},
            "residuals": {k: _py(v) for k, v in self.residuals.items()},
            "per_tag": _records(self.per_tag),
            "y_true": [_py(v) for v in np.asarray(self.y_true).tolist()],
            "y_pred": [_py(v) for v in np.asarray(self.y_pred).tolist()],
            "ids": None if self.ids is None else [_py(v) for v in self.ids],
            "hlp": _py(self.hlp),
            "duration_s": _py(self.duration_s),
            "info": {k: _py(v) for k, v in self.info.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegressionEvaluation:
        """Rebuild from :meth:`to_dict` output."""
        overall = {
            k: {kk: (vv if kk == "method" else _nan(vv)) for kk, vv in v.items()}
            for k, v in data["overall"].items()
        }
        return cls(
            overall=overall,
            residuals={k: _nan(v) for k, v in (data.get("residuals") or {}).items()},
            per_tag=pd.DataFrame(data.get("per_tag") or [], columns=_TAG_COLUMNS),
            y_true=np.asarray(data.get("y_true") or [], dtype=np.float64),
            y_pred=np.asarray(data.get("y_pred") or [], dtype=np.float64),
            ids=None if data.get("ids") is None else np.asarray(data["ids"], dtype=object),
            hlp=None if data.get("hlp") is None else float(data["hlp"]),
            duration_s=None if data.get("duration_s") is None else float(data["duration_s"]),
            info=dict(data.get("info") or {}),
        )


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def evaluate_regression(
    y_true: Any,
    y_pred: Any,
    *,
    tags: pd.DataFrame | Mapping[str, Any] | None = None,
    ids: Sequence[Any] | np.ndarray | None = None,
    hlp: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> RegressionEvaluation:
    """Evaluate regression predictions: metrics, residuals, error per tag value.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Given and predicted numbers.
    tags : DataFrame or mapping of str to array of shape (n_samples,), optional
        Tag columns: absolute and squared error per tag value, with intervals.
    ids : array-like of shape (n_samples,), optional
        Item ids, kept to pair this evaluation with another one.
    hlp : float, optional
        Human-level MAE, e.g. the mean absolute difference between annotators
        (:meth:`assay.tasks.Task.human_level`); each tag's ``gap`` is measured to it.
    n_boot, seed : int
        Bootstrap resamples and seed of the intervals.

    Returns
    -------
    RegressionEvaluation
    """
    t, p = _check_numbers(y_true, y_pred)
    if hlp is not None and not (np.isfinite(hlp) and hlp >= 0):
        raise InputError(f"hlp is {hlp!r}; a human-level MAE is a finite number >= 0.")
    return RegressionEvaluation(
        overall=score_regression(t, p, n_boot=n_boot, seed=seed),
        residuals=residual_summary(t, p),
        per_tag=_per_tag(t, p, tag_frame(tags, t.size), hlp, min(int(n_boot), 500), seed),
        y_true=t,
        y_pred=p,
        ids=check_ids(ids, t.size),
        hlp=None if hlp is None else float(hlp),
        info={"n_boot": int(n_boot), "seed": int(seed)},
    )


def _paired_arrays(
    a: RegressionEvaluation, b: RegressionEvaluation
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = align_items(a, b)
    t, tb = np.asarray(a.y_true, float), np.asarray(b.y_true, float)[pos]
    differ = t != tb
    if differ.any():
        raise InputError(
            f"{int(differ.sum())} items have different labels in A and B (first at position "
            f"{int(np.argmax(differ))}, 0-based); compare evaluations on the same frozen "
            "evaluation set, with the same labels."
        )
    return t, np.asarray(a.y_pred, float), np.asarray(b.y_pred, float)[pos]


def _closer_table(ea: np.ndarray, eb: np.ndarray) -> pd.DataFrame:
    """Items where B's absolute error is smaller, larger or equal, and by how much."""
    diff = eb - ea
    rows = []
    for name, mask in (("B closer", diff < 0), ("A closer", diff > 0), ("tie", diff == 0)):
        k = int(mask.sum())
        rows.append([name, k, float(diff[mask].mean()) if k else 0.0])
    return pd.DataFrame(rows, columns=["items", "n", "mean_change"])


def compare_regression(
    eval_a: RegressionEvaluation,
    eval_b: RegressionEvaluation,
    *,
    names: tuple[str, str] = ("A", "B"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> PairedComparison:
    """Paired comparison of two regression evaluations of the same items.

    The items are resampled once for both models: the interval of each metric's
    difference is the paired bootstrap's, and the p-value is that of the MAE difference
    (a paired bootstrap on the absolute errors, see
    :func:`assay.train.evaluate._paired.bootstrap_p_value`).

    Parameters
    ----------
    eval_a, eval_b : RegressionEvaluation
        Paired by ``ids`` when both have ids, else by position.
    names : tuple of str
    n_boot, seed : int
    alpha : float
        Significance level.

    Returns
    -------
    PairedComparison
    """
    t, pa, pb = _paired_arrays(eval_a, eval_b)
    rep_a = _replicates(t, pa, int(n_boot), int(seed))
    rep_b = _replicates(t, pb, int(n_boot), int(seed))  # the same resamples
    score_a = score_regression(t, pa, n_boot=1, seed=seed)
    score_b = score_regression(t, pb, n_boot=1, seed=seed)
    metrics = {}
    for name in REGRESSION_METRICS:
        va, vb = score_a[name]["value"], score_b[name]["value"]
        low, high = interval(rep_b[name] - rep_a[name])
        metrics[name] = {"a": va, "b": vb, "delta": vb - va, "low": low, "high": high}
    delta = rep_b["mae"] - rep_a["mae"]
    ea, eb = np.abs(pa - t), np.abs(pb - t)
    return PairedComparison(
        names=(str(names[0]), str(names[1])),
        n=int(t.size),
        test="paired bootstrap (MAE)",
        p_value=bootstrap_p_value(delta, metrics["mae"]["delta"]),
        metrics=metrics,
        headline="mae",
        per_group=_closer_table(ea, eb),
        per_tag=tag_deltas(eval_a.per_tag, eval_b.per_tag, "mae"),
        alpha=float(alpha),
        notes=[f"B is closer on {int((eb < ea).sum())} items, A on {int((ea < eb).sum())}."],
        info={"n_boot": int(n_boot), "seed": int(seed)},
    )
