"""One drift check per column kind; each returns a result row and data for charts.

A row holds the raw (unadjusted) p-values; :func:`assay.deploy.drift.drift` adjusts
them across columns and sets the flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay.deploy import _domain, _stats
from assay.deploy._columns import category_counts, dtype_family, numeric_values, string_numbers
from assay.deploy._partial import OTHER, bin_counts_sorted
from assay.deploy.profile import ColumnProfile

__all__ = ["CheckOptions", "check_column", "schema_row"]

N_CHART_BINS = 20
N_CHART_CATEGORIES = 10
#: Fewer current rows than this get a "low power" note.
MIN_ROWS = 30
#: A numeric reference whose range is within this share of its magnitude is constant
#: (floating-point noise), and is checked with :func:`_stats.constant_reference`.
CONSTANT_RTOL = 1e-12


@dataclass
class CheckOptions:
    """Options shared by the per-column checks (see :func:`assay.drift`)."""

    alpha: float
    embedding_sample: int
    n_permutations: int
    n_mmd_permutations: int
    min_auc: float
    text_embedder: Any
    seed: int


def _base_row(col: ColumnProfile, series: pd.Series) -> dict[str, Any]:
    notes = []
    cur_dtype = dtype_family(series.dtype)
    # numeric columns holding strings are a type change, reported by _type_change
    text_in_numeric = col.kind == "numeric" and cur_dtype == "string"
    if (col.dtype != cur_dtype and col.kind != "empty" and not text_in_numeric
            and series.notna().any()):
        notes.append(f"dtype changed from {col.dtype} to {cur_dtype}")
    if len(series) < MIN_ROWS:
        notes.append(f"only {len(series)} current rows: low power")
    return {
        "type": col.kind, "method": "none", "statistic": np.nan, "p_value": np.nan,
        "effect_size": np.nan, "effect_name": "", "psi": np.nan,
        "missing_ref": col.missing_rate, "n_ref": col.n, "n_cur": len(series),
        "unseen": "", "notes": notes, "schema_drift": False, "schema": "", "n_unparsed": 0,
    }


def _finish_missing(row: dict[str, Any], col: ColumnProfile, n_missing_cur: int) -> None:
    n_cur = row["n_cur"]
    row["missing_cur"] = n_missing_cur / n_cur if n_cur else 0.0
    _, p = _stats.two_proportion_test(col.n_missing + col.n_inf, col.n, n_missing_cur, n_cur)
    row["missing_p_value"] = p
    if n_cur and n_missing_cur == n_cur:
        row["notes"].append("all values missing in the current batch")


def check_column(col: ColumnProfile, series: pd.Series,
                 options: CheckOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compare one current column with its reference profile.

    Returns
    -------
    row : dict
        Result fields (raw p-values, effect size, notes).
    chart : dict
        Data for the inline histogram (may be empty).
    """
    row = _base_row(col, series)
    if col.kind == "numeric":
        return row, _check_numeric(col, series, row)
    if col.kind == "categorical":
        return row, _check_categorical(col, series, row)
    n_missing = int(series.isna().sum())
    _finish_missing(row, col, n_missing)
    if col.kind == "empty":
        row["notes"].append("all values missing in the reference: not tested")
    else:
        _check_vectors(col, series, row, options)
    return row, {}


def _check_numeric(col: ColumnProfile, series: pd.Series, row: dict[str, Any]) -> dict[str, Any]:
    values, n_missing, n_inf = numeric_values(series)  # unparseable strings: in n_missing
    n_missing -= _type_change(col, series, row)
    _finish_missing(row, col, n_missing + n_inf)
    if n_inf:
        row["notes"].append(f"{n_inf} infinite values in the current batch (counted as missing)")
    ref = col.sample
    if ref is None or len(ref) == 0:
        row["notes"].append("no finite values in the reference: not tested")
        return {}
    if len(values) == 0:
        if row["n_unparsed"]:
            row["notes"].append("no value parses as a number: distribution not tested")
        return {}
    cur = np.sort(values)
    row.update(_numeric_test(col, ref, cur, row["notes"]))
    if col.bin_edges is not None and col.bin_counts is not None:
        row["psi"] = _stats.psi(col.bin_counts, bin_counts_sorted(cur, col.bin_edges))
    return _numeric_chart(ref, cur)


def _type_change(col: ColumnProfile, series: pd.Series, row: dict[str, Any]) -> int:
    """Flag strings in a numeric column as a type change; return how many do not parse."""
    found = string_numbers(series)
    if found.n_strings == 0:
        return 0
    row.update(schema_drift=True, schema=f"type changed: {col.dtype} -> string",
               n_unparsed=found.n_unparsed)
    if found.n_unparsed:
        shown = ", ".join(map(repr, found.examples))
        detail = (f"{found.n_unparsed} do not parse as numbers (e.g. {shown}) and are left "
                  "out of the tests")
    else:
        detail = "all parse as numbers and are tested as numbers"
    row["notes"].insert(0, f"type changed: {col.dtype} in the reference, text in the current "
                           f"batch ({found.n_strings} of {len(series)} values are strings; "
                           f"{detail})")
    return found.n_unparsed


def _constant_value(col: ColumnProfile, ref: np.ndarray,
                    std: float) -> tuple[float, float] | None:
    """The reference constant and its tolerance, or None when the reference varies.

    The exact min and max decide (a computed std of a constant column is often ~1e-17,
    not 0): a range within ``CONSTANT_RTOL`` of the magnitude is floating-point noise.
    """
    low = float(ref[0]) if col.min is None else float(col.min)
    high = float(ref[-1]) if col.max is None else float(col.max)
    tol = CONSTANT_RTOL * max(abs(low), abs(high))
    return (low, tol) if high - low <= tol or not std > 0 else None


def _numeric_test(col: ColumnProfile, ref: np.ndarray, cur: np.ndarray,
                  notes: list[str]) -> dict[str, Any]:
    std = col.std if col.std is not None else float(np.std(ref))
    constant = _constant_value(col, ref, std)
    if constant is None:
        ks, w1 = _stats.ks_wasserstein(ref, cur)
        return {"method": "ks+wasserstein", "statistic": ks,
                "p_value": _stats.ks_pvalue(ks, len(ref), len(cur), ref, cur),
                "effect_size": w1 / std, "effect_name": "wasserstein/std"}
    value, tol = constant
    n_ref = col.n - col.n_missing - col.n_inf
    share, p_value, effect = _stats.constant_reference(value, tol, n_ref, cur)
    if share > 0:
        now = (f"now constant at {cur[0]:.6g}" if cur[-1] - cur[0] <= tol
               else f"{share:.1%} of current values differ")
        notes.append(f"constant reference ({value:.6g}): {now}")
    return {"method": "constant+fisher", "statistic": share, "p_value": p_value,
            "effect_size": effect, "effect_name": "wasserstein/mixture std"}


def _numeric_chart(ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    low, high = np.quantile(ref, [0.005, 0.995])
    if high <= low:
        low, high = float(ref[0]) - 0.5, float(ref[-1]) + 0.5
    edges = np.linspace(low, high, N_CHART_BINS + 1)

    def shares(x: np.ndarray) -> list[float]:
        counts = np.diff(np.searchsorted(x, edges, side="left")).astype(float)
        return (counts / max(len(x), 1)).tolist()

    return {"kind": "numeric", "edges": edges.tolist(), "ref": shares(ref), "cur": shares(cur)}


def _check_categorical(col: ColumnProfile, series: pd.Series,
                       row: dict[str, Any]) -> dict[str, Any]:
    counts, n_missing = category_counts(series)
    _finish_missing(row, col, n_missing)
    if OTHER in col.categories:  # rare reference categories were lumped: lump alike
        lumped = sum(c for k, c in counts.items() if k not in col.categories or k == OTHER)
        counts = {k: c for k, c in counts.items() if k in col.categories and k != OTHER}
        counts[OTHER] = lumped
        row["notes"].append(f"rare categories lumped as {OTHER!r}: unseen ones not listed")
    keys = list(col.categories) + [k for k in counts if k not in col.categories]
    ref_counts = np.array([col.categories.get(k, 0) for k in keys], dtype=np.float64)
    cur_counts = np.array([counts.get(k, 0) for k in keys], dtype=np.float64)
    unseen = [k for k in counts if k not in col.categories]
    if unseen:
        shown = ", ".join(unseen[:5]) + (", ..." if len(unseen) > 5 else "")
        row["unseen"] = shown
        share = sum(counts[k] for k in unseen) / max(sum(counts.values()), 1)
        row["notes"].append(f"{len(unseen)} unseen categories ({share:.1%} of rows): {shown}")
    if cur_counts.sum() == 0 or ref_counts.sum() == 0:
        return {}
    chi2, p_value, js = _stats.chi_square_js(ref_counts, cur_counts)
    row.update(method="chi2+jensenshannon", statistic=chi2, p_value=p_value,
               effect_size=js, effect_name="jensen-shannon")
    return _categorical_chart(keys, ref_counts, cur_counts)


def _categorical_chart(keys: list[str], ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    p, q = ref / ref.sum(), cur / cur.sum()
    top = np.argsort(-(p + q), kind="stable")[:N_CHART_CATEGORIES]
    return {"kind": "categorical", "labels": [keys[i] for i in top],
            "ref": p[top].tolist(), "cur": q[top].tolist()}


def _current_sample(series: pd.Series, size: int, seed: int) -> list[Any]:
    values = series.dropna()
    if len(values) > size:
        rng = np.random.default_rng(seed)
        values = values.iloc[np.sort(rng.choice(len(values), size, replace=False))]
    return values.tolist()


def _check_vectors(col: ColumnProfile, series: pd.Series, row: dict[str, Any],
                   options: CheckOptions) -> None:
    cur_values = _current_sample(series, options.embedding_sample, options.seed)
    ref_values = col.sample if col.sample is not None else []
    if min(len(cur_values), len(ref_values)) < 10:
        row["notes"].append("fewer than 10 values on a side: not tested")
        return
    if col.kind == "text":
        ref, cur = _domain.embed_text([str(v) for v in ref_values],
                                      [str(v) for v in cur_values], options.text_embedder)
    else:
        ref = np.asarray(ref_values, dtype=np.float64)
        lengths = {len(v) if hasattr(v, "__len__") else -1 for v in cur_values}
        if lengths != {ref.shape[1]}:
            row["notes"].append(f"vector length changed from {ref.shape[1]} to "
                                f"{sorted(lengths)[:3]}: not tested")
            row.update(schema_drift=True, schema="vector length changed")
            return
        cur = np.vstack([np.asarray(v, dtype=np.float64) for v in cur_values])
    _vector_tests(ref, cur, row, options)


def _vector_tests(ref: Any, cur: Any, row: dict[str, Any], options: CheckOptions) -> None:
    auc, threshold = _domain.domain_auc(ref, cur, n_permutations=options.n_permutations,
                                        alpha=options.alpha, min_auc=options.min_auc,
                                        seed=options.seed)
    mmd, p_value = _domain.mmd_test(ref, cur, n_permutations=options.n_mmd_permutations,
                                    seed=options.seed)
    row.update(method="mmd+domain_classifier", statistic=mmd, p_value=p_value,
               effect_size=auc, effect_name="domain_auc", auc_threshold=threshold)


def schema_row(kind: str, n_ref: int, n_cur: int, schema: str, note: str,
               drifted: bool) -> dict[str, Any]:
    """A result row for a column that exists on one side only.

    ``schema`` names the change (``"missing column"``, ``"new column"``); ``drifted``
    says whether it is schema drift (a missing column is, a new one is not).
    """
    return {
        "type": kind, "method": "schema", "statistic": np.nan, "p_value": np.nan,
        "effect_size": np.nan, "effect_name": "", "psi": np.nan, "missing_ref": np.nan,
        "missing_cur": np.nan, "missing_p_value": np.nan, "n_ref": n_ref, "n_cur": n_cur,
        "unseen": "", "notes": [note], "schema_drift": drifted, "schema": schema,
        "n_unparsed": 0,
    }
