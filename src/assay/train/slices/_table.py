"""The tag table: accuracy per tag against human-level performance (HLP).

One row per tag value. Tags may overlap and be multi-valued: a column of lists, a
column of delimiter-separated strings (``sep=``), boolean tag columns (the tag is the
column name) or ordinary categorical columns. Each row gives the slice's size and share
of the data and of the errors, its metric with a 95% interval (Wilson for accuracy,
bootstrap otherwise), its HLP, the gap to HLP and the potential gain
``gap x share`` (bootstrap 95% interval), sorted by gain: the slice where closing the
gap to HLP would add the most accuracy overall comes first.

A slice whose HLP is itself low (below ``low_hlp``, or for per-row agreement,
significantly below the overall agreement) is flagged ``is_low_hlp``: its labels are
ambiguous, and clarifying the label definition beats collecting more of the same.

Degenerate input never raises: a tag column with one value, a slice without errors,
slices below ``min_support`` and metrics undefined on a slice are explained in ``note``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from assay._stats import wilson_interval
from assay._validation import (
    InstanceOf,
    Integral,
    Interval,
    Real,
    Satisfies,
    check_columns,
    index_of,
    name_rows,
    param_error,
    validate_params,
)
from assay.exceptions import InputError
from assay.train._table_report import TableReport

__all__ = ["SliceTable", "slice_table"]

_FUNC = "slice_table"
_METRICS: dict[str, Callable[..., float]] = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "matthews_corrcoef": skm.matthews_corrcoef,
    "cohen_kappa": skm.cohen_kappa_score,
    **{f"{m}_{avg}": partial(f, average=avg, zero_division=np.nan)
       for m, f in (("f1", skm.f1_score), ("precision", skm.precision_score),
                    ("recall", skm.recall_score))
       for avg in ("macro", "micro", "weighted")},
}
_NEEDS_TWO_CLASSES = {"balanced_accuracy", "matthews_corrcoef", "cohen_kappa"}


@dataclass
class _Tag:
    column: str
    value: str
    mask: np.ndarray
    note: str = ""

    @property
    def name(self) -> str:
        return self.column if self.value == "" else f"{self.column}={self.value}"


class SliceTable(TableReport):
    """Per-tag metric, HLP, gap and potential gain, sorted by gain.

    Attributes
    ----------
    table : DataFrame
        Columns ``tag, column, value, n, share, errors, error_share, metric,
        metric_low, metric_high, hlp, hlp_low, hlp_high, gap, gain, gain_low,
        gain_high, is_low_hlp, note``.
    metric : str
        Name of the metric in the ``metric`` columns.
    overall : dict
        The metric and HLP over all rows.
    masks : dict of str to bool ndarray of shape (n_samples,)
        Rows of each tag (key: the ``tag`` column).
    notes : list of str
        Remarks that concern the whole table.
    """

    title = "Tag table: performance against human-level performance"

    def __init__(self, table: pd.DataFrame, metric: str, overall: dict[str, float],
                 masks: dict[str, np.ndarray], notes: list[str],
                 greater_is_better: bool = True) -> None:
        self.table = table
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.overall = overall
        self.masks = masks
        self.notes = notes

    def _repr_html_(self) -> str:
        """Jupyter: a bar per tag with its interval and the human-level line (the web
        page's chart, :func:`assay._charts.slices_figure`), then the table."""
        from assay._charts import slices_figure

        rows = [{str(k): v for k, v in r.items()} for r in self.table.to_dict("records")]
        figure = slices_figure(rows, metric=self.metric, hlp=self.overall.get("hlp"))
        return figure + self.to_html()

    def summary(self) -> str:
        """Plain text: overall metric and the top rows by potential gain."""
        lines = [f"overall {self.metric} {self.overall['metric']:.3f}"
                 + (f", HLP {self.overall['hlp']:.3f}" if np.isfinite(self.overall["hlp"])
                    else "")] + list(self.notes)
        fmt = ".2%" if self.greater_is_better else ".3g"  # accuracy points, or error units
        for _, r in self.table.head(5).iterrows():
            flag = " [low HLP: clarify labels]" if r["is_low_hlp"] else ""
            note = f" ({r['note']})" if r["note"] else ""
            lines.append(
                f"- {r['tag']}: n={int(r['n'])}, {self.metric} {r['metric']:.3f}, "
                f"HLP {r['hlp']:.3f}, gain {r['gain']:{fmt}} "
                f"[{r['gain_low']:{fmt}}, {r['gain_high']:{fmt}}]{flag}{note}"
            )
        return "\n".join(lines)


def _metric_func(metric: str | Callable[..., float]) -> tuple[str, Callable[..., float]]:
    """The metric's name and function (``metric`` is declared on :func:`slice_table`)."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    return metric, _METRICS[metric]


def _non_empty_tags(by: Any) -> bool:
    return isinstance(by, str) or len(list(by)) > 0


def _column_tags(col: pd.Series, name: str, sep: str | None) -> list[_Tag]:
    """One tag per value of a column (lists and ``sep``-joined strings are exploded)."""
    if pd.api.types.is_bool_dtype(col):
        return [_Tag(name, "", col.to_numpy(dtype=bool))]
    values = col
    if values.map(lambda v: isinstance(v, (list, tuple, set, np.ndarray))).any():
        values = values.map(lambda v: list(v) if isinstance(v, (list, tuple, set, np.ndarray))
                            else v)
    elif sep is not None:
        values = values.map(lambda v: [t.strip() for t in v.split(sep)] if isinstance(v, str)
                            else v)
    long = values.explode().reset_index(drop=True)
    rows = np.repeat(np.arange(len(col)), values.map(lambda v: len(v) if isinstance(v, list)
                                                     and v else 1).to_numpy())
    keep = long.notna().to_numpy() & (long.astype(str) != "").to_numpy()
    long, rows = long[keep].astype(str), rows[keep]
    tags = []
    for value in sorted(long.unique()):
        mask = np.zeros(len(col), dtype=bool)
        mask[rows[(long == value).to_numpy()]] = True
        tags.append(_Tag(name, value, mask))
    if len(tags) == 1:
        tags[0].note = f"column '{name}' has a single value: this tag does not separate the data"
    if not tags:
        return [_Tag(name, "(none)", np.zeros(len(col), bool), f"column '{name}' is empty")]
    return tags


def _resolve_vector(values: Any, df: pd.DataFrame, name: str) -> np.ndarray:
    if isinstance(values, str):
        check_columns(df, [values], where=f"the {name} table")
        return df[values].to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) != len(df):
        raise InputError(
            f"{name} has shape {arr.shape} but df has {len(df)} rows; give one value per row "
            "(or the name of a column of df)."
        )
    return arr


def _metric_value(func: Callable[..., float], name: str, yt: np.ndarray, yp: np.ndarray
                  ) -> tuple[float, str]:
    if len(yt) == 0:
        return np.nan, "empty slice"
    if name in _NEEDS_TWO_CLASSES and len(np.unique(yt)) < 2:
        return np.nan, f"{name} undefined: the slice has only class {yt[0]!r}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(func(yt, yp))
        except (ValueError, ZeroDivisionError) as exc:
            return np.nan, f"{name} undefined on this slice: {exc}"
    return value, "" if np.isfinite(value) else f"{name} undefined on this slice"


@dataclass
class _Hlp:
    """HLP of one slice: value, Wilson interval, and (for per-row agreement) the counts."""

    value: float
    low: float = np.nan
    high: float = np.nan
    agreed: float = np.nan
    n: float = np.nan
    note: str = ""


def _slice_hlp(tag: _Tag, hlp: Any, hlp_rows: np.ndarray | None) -> _Hlp:
    if hlp_rows is not None:
        inside = tag.mask & np.isfinite(hlp_rows)
        n_h = int(inside.sum())
        if n_h == 0:
            return _Hlp(np.nan, note="no multiply-annotated items in this slice: HLP unknown")
        k = float(hlp_rows[inside].sum())
        low, high = wilson_interval(k, n_h)
        return _Hlp(k / n_h, float(low), float(high), k, n_h)
    if isinstance(hlp, dict):
        given = hlp.get(tag.name, hlp.get(tag.value))
        value = np.nan if given is None else float(given)
        note = "" if np.isfinite(value) else f"no HLP given for '{tag.name}'"
        return _Hlp(float(value), note=note)
    return _Hlp(float(hlp) if hlp is not None else np.nan)


def _hlp_rows(hlp: Any, n: int, greater: bool = True) -> np.ndarray | None:
    """Per-row 0/1 agreement as float (NaN = not multiply annotated), or None."""
    if hlp is None or isinstance(hlp, (int, float, dict)):
        if isinstance(hlp, (int, float)) and not (0 <= hlp <= (1 if greater else np.inf)):
            raise param_error("hlp", _FUNC, "a number in [0, 1]", hlp)
        return None
    arr = pd.to_numeric(pd.Series(np.asarray(hlp, dtype=object)), errors="coerce")
    if len(arr) != n:
        raise InputError(
            f"hlp has {len(arr)} values but df has {n} rows; give a float, a dict per tag, "
            "or one 0/1 'annotator agreed with consensus' value per row (NaN if unknown)."
        )
    values = arr.to_numpy(dtype=np.float64)
    bad = np.isfinite(values) & ~np.isin(values, (0.0, 1.0))
    if bad.any():
        where = name_rows(int(np.argmax(bad)), index_of(hlp))
        raise InputError(f"hlp {where} is {values[bad][0]}; per-row HLP "
                         "must be 0/1 (annotator agreed with the consensus) or NaN.")
    return values


def _draw_metric(func: Callable[..., float], name: str, yt: np.ndarray, yp: np.ndarray,
                 value: float, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the slice metric (binomial draws for accuracy)."""
    n = len(yt)
    if n == 0 or not np.isfinite(value) or n_boot == 0:
        return np.full(max(n_boot, 1), np.nan)
    if name == "accuracy":
        return rng.binomial(n, value, n_boot) / n
    out = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        out[b], _ = _metric_value(func, name, yt[idx], yp[idx])
    return out


def _row(tag: _Tag, yt: np.ndarray, yp: np.ndarray, func: Callable[..., float], name: str,
         hlp: _Hlp, n_boot: int, rng: np.random.Generator, greater: bool = True
         ) -> dict[str, Any]:
    """All the numbers of one tag row."""
    m = tag.mask
    n, n_all = int(m.sum()), len(m)
    wrong = yt != yp
    errs = int(wrong[m].sum())
    value, note = _metric_value(func, name, yt[m], yp[m])
    if name == "accuracy" and n:
        low, high = (float(v) for v in wilson_interval(n - errs, n))
        draws = _draw_metric(func, name, yt[m], yp[m], value, n_boot, rng)
    else:
        draws = _draw_metric(func, name, yt[m], yp[m], value, n_boot, rng)
        low, high = _percentiles(draws)
    # the best reachable value: HLP, else perfect (1 for a score, 0 for an error)
    ceiling = hlp.value if np.isfinite(hlp.value) or hlp.note else float(greater)
    sign = 1.0 if greater else -1.0
    h_draws = (rng.binomial(int(hlp.n), hlp.value, len(draws)) / hlp.n
               if np.isfinite(hlp.n) else np.full(len(draws), ceiling))
    gain_low, gain_high = _percentiles(sign * (h_draws - draws) * n / n_all)
    notes = [tag.note, note, hlp.note] + ([] if errs else ["no errors in this slice"])
    return {
        "tag": tag.name, "column": tag.column, "value": tag.value, "n": n,
        "share": n / n_all, "errors": errs, "error_share": errs / max(int(wrong.sum()), 1),
        "metric": value, "metric_low": low, "metric_high": high, "hlp": hlp.value,
        "hlp_low": hlp.low, "hlp_high": hlp.high, "gap": sign * (ceiling - value),
        "gain": sign * (ceiling - value) * n / n_all, "gain_low": gain_low,
        "gain_high": gain_high,
        "note": "; ".join(x for x in notes if x),
    }


def _percentiles(draws: np.ndarray) -> tuple[float, float]:
    finite = draws[np.isfinite(draws)]
    if len(finite) < 2:
        return np.nan, np.nan
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(lo), float(hi)


@validate_params({
    "df": [InstanceOf(pd.DataFrame, "a pandas DataFrame")],
    "by": [Satisfies(_non_empty_tags, "a non-empty list of tag columns", bad=[[]])],
    "metric": [Satisfies(lambda m: callable(m) or m in _METRICS,
                         f"a callable or one of {sorted(_METRICS)}", bad=["no-such-metric"])],
    "min_support": [Interval(Integral, 0, None)],
    "low_hlp": [Interval(Real, 0.0, 1.0)],
    "n_boot": [Interval(Integral, 0, None)],
    "greater_is_better": [InstanceOf(bool, "True or False")],
})
def slice_table(
    df: pd.DataFrame,
    y_true: Any,
    y_pred: Any,
    by: str | Sequence[str],
    *,
    hlp: Any = None,
    metric: str | Callable[..., float] = "accuracy",
    sep: str | None = None,
    min_support: int = 30,
    low_hlp: float = 0.8,
    n_boot: int = 500,
    seed: int = 0,
    greater_is_better: bool = True,
) -> SliceTable:
    """Tabulate the metric per tag value against human-level performance.

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_columns)
        Holds the tag columns named in ``by``.
    y_true, y_pred : array-like of shape (n_samples,) or str
        Given labels and model predictions (or names of columns of ``df``).
    by : str or list of str
        Tag columns: categorical, boolean (tag = column name), lists of tags, or
        ``sep``-separated strings of tags.
    hlp : float, dict, or array-like of shape (n_samples,), optional
        Human-level performance: one number for every slice; a dict keyed by tag
        (``"column=value"`` or the value); or per row, 1/0 whether an annotator agreed
        with the consensus (NaN where the item has one annotation), from which each
        slice's HLP and its Wilson interval are computed. Without HLP the gap is to
        perfect accuracy (1.0).
    metric : str or callable
        "accuracy" (default), another name among scikit-learn's classification
        metrics (e.g. "f1_macro", "balanced_accuracy"), or ``f(y_true, y_pred)``.
    sep : str, optional
        Delimiter of multi-valued tags stored as strings, e.g. ``"|"``.
    min_support : int
        Slices with fewer rows are noted and ranked last.
    low_hlp : float
        Slices with HLP below this value are flagged ``is_low_hlp``.
    n_boot : int
        Bootstrap replicates for the gain interval (and non-accuracy metrics).
    seed : int
        Seed of the bootstrap.
    greater_is_better : bool, default=True
        Whether a larger ``metric`` is better (accuracy, F1). False for an error such as
        the mean absolute error: the gap is then ``metric - HLP`` (HLP: an error people
        reach, default 0), the gain the share of the overall error closing it removes,
        and no slice is flagged for low HLP.

    Returns
    -------
    SliceTable
    """
    by_list = [by] if isinstance(by, str) else list(by)
    check_columns(df, by_list, where="the slice_table input")
    name, func = _metric_func(metric)
    yt = _resolve_vector(y_true, df, "y_true")
    yp = _resolve_vector(y_pred, df, "y_pred")
    hlp_rows = _hlp_rows(hlp, len(df), greater_is_better)
    rng = np.random.default_rng(seed)
    tags = [t for col in by_list for t in _column_tags(df[col], str(col), sep)]
    rows = [_row(t, yt, yp, func, name, _slice_hlp(t, hlp, hlp_rows), n_boot, rng,
                 greater_is_better) for t in tags]
    overall = _overall(yt, yp, func, name, hlp, hlp_rows)
    table = _finish(pd.DataFrame(rows), overall, hlp_rows is not None, min_support,
                    low_hlp if greater_is_better else -np.inf)
    notes = _table_notes(yt, yp, hlp, greater_is_better)
    return SliceTable(table, name, overall, {t.name: t.mask for t in tags}, notes,
                      greater_is_better)


def _overall(yt: np.ndarray, yp: np.ndarray, func: Callable[..., float], name: str, hlp: Any,
             hlp_rows: np.ndarray | None) -> dict[str, float]:
    value, _ = _metric_value(func, name, yt, yp)
    if hlp_rows is not None:
        h = float(np.nanmean(hlp_rows)) if np.isfinite(hlp_rows).any() else np.nan
    else:
        h = float(hlp) if isinstance(hlp, (int, float)) else np.nan
    return {"metric": value, "hlp": h, "n": float(len(yt)), "errors": float((yt != yp).sum())}


def _finish(table: pd.DataFrame, overall: dict[str, float], per_row: bool, min_support: int,
            low_hlp: float) -> pd.DataFrame:
    """Flag low HLP and small slices, then sort by gain (small slices last)."""
    low = table["hlp"] < low_hlp
    if per_row and np.isfinite(overall["hlp"]):
        low |= table["hlp_high"] < overall["hlp"]
    table["is_low_hlp"] = low.to_numpy(dtype=bool)
    small = table["n"] < min_support
    msg = f"n below min_support={min_support}: estimates unreliable, ranked last"
    table.loc[small, "note"] = [f"{n}; {msg}" if n else msg for n in table.loc[small, "note"]]
    table["_small"] = small
    table = table.sort_values(["_small", "gain"], ascending=[True, False], na_position="last")
    return table.drop(columns="_small").reset_index(drop=True)


def _table_notes(yt: np.ndarray, yp: np.ndarray, hlp: Any, greater: bool = True) -> list[str]:
    notes = []
    if hlp is None:
        notes.append("no HLP given: gap and gain are measured against perfect accuracy (1.0)"
                     if greater else "no HLP given: gap and gain are measured against no error")
    if not (yt != yp).any():
        notes.append("the model makes no errors: every gap is zero")
    return notes
