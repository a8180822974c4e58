"""Data drift between a reference (table or :class:`Profile`) and a current batch.

Tests and thresholds
--------------------
Each column gets one distribution test and one effect size; a column's distribution
is flagged only when **both** the multiple-testing-adjusted p-value is below ``alpha``
(statistical significance) **and** the effect size reaches its threshold (practical
significance), so that large batches do not alarm on trivial shifts.

========================  ===================================  =========================
kind                      test (p-value)                       effect size (threshold)
========================  ===================================  =========================
numeric                   two-sample Kolmogorov-Smirnov        Wasserstein-1 / reference
                                                               std (0.1); PSI reported
categorical               chi-square test of homogeneity       Jensen-Shannon distance,
                                                               base 2 (0.1)
text, embedding           MMD, RBF kernel, median heuristic,   domain-classifier AUC
                          permutation null (Gamma tail)        (permutation-calibrated,
                                                               at least 0.55)
missing values (any)      two-proportion z-test                absolute change in the
                                                               missing rate (0.05)
========================  ===================================  =========================

Numeric tests compare the whole current batch with the reference profile's sorted
sample (every finite value up to ``max_sample`` = 100,000 rows, a uniform sample
beyond), so the KS p-value's reference size is the sample size; the Wasserstein
distance is normalised by the exact reference standard deviation.

**Constant reference columns** (exact min equals max, up to a relative 1e-12 of
floating-point noise) have no standard deviation to normalise by (a computed std of
~1e-17 used to give effect sizes of ~1e15). They are tested instead (method
``constant+fisher``) with Fisher's exact test of the share of current values that
differ from the constant, and the effect size is the Wasserstein distance divided by
the standard deviation of the equal-weight mixture of both sides
(:func:`assay.deploy._stats.constant_reference`): 0 when the batch holds the same
constant, 2 when it is constant at another value, ``2 sqrt(p / (2 - p))`` when a share
``p`` of the values left the constant (the 0.1 threshold is about 0.5% of the rows).
So a column that was constant and now varies is drift; one constant at the same value
is not. (Evidently instead floors the reference std at 0.001, in the column's units,
and switches to Jensen-Shannon when the pooled data hold at most 5 distinct values.)

Every p-value of the report (distribution and missing-rate tests of all columns) forms
one family, adjusted with Benjamini-Hochberg (``correction="bh"``, false discovery
rate, the default) or Holm (``"holm"``, family-wise error).

**Schema drift** (table column ``schema_drift``, named in ``schema``): a reference
column missing from the current batch (``"missing column"``), a numeric column whose
values arrive as strings (``"type changed: number -> string"``; the note counts the
strings and those that do not parse as numbers, with examples; parseable ones are still
tested, unparseable ones are counted in ``n_unparsed``, not as missing values; null
markers such as ``"n/a"`` are missing values), an embedding whose vector length changed.
Columns the reference does not have are listed (``"new column"``), not tested and not
drift. :attr:`DriftReport.schema_changes` groups the names.

A column is ``drifted`` when its distribution or its missing rate is flagged, or when
it has schema drift. The **dataset** is drifted when the share of drifted reference
columns (new columns do not count) is at least ``drift_share`` (0.5), when any column
has schema drift, or when any key column (``key_columns`` and every ``prediction``
column) is drifted.

Bad input never crashes a check: missing and extra columns, dtype changes, all-null
columns, NaN/inf and unseen categories become rows and notes in the table. An empty
current batch, an empty reference and invalid parameters raise
:class:`~assay.exceptions.InputError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import (
    Integral,
    Interval,
    Options,
    Real,
    check_in,
    check_number,
    validate_params,
)
from assay.deploy import _dask_drift as _dask_part
from assay.deploy import _stats
from assay.deploy._checks import CheckOptions, check_column, schema_row
from assay.deploy._columns import infer_kind
from assay.deploy.profile import Profile, profile
from assay.deploy.report import DriftReport
from assay.exceptions import InputError

__all__ = ["DEFAULT_THRESHOLDS", "drift"]

#: Effect-size thresholds per kind, and for the absolute missing-rate change.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "numeric": 0.1, "categorical": 0.1, "text": 0.55, "embedding": 0.55, "missing": 0.05,
}
FUNC = "drift"
#: Column order of :attr:`DriftReport.columns` (``role`` is inserted second).
TABLE_COLUMNS = [
    "type", "method", "statistic", "p_value", "p_adjusted", "effect_name", "effect_size",
    "threshold", "distribution_drifted", "psi", "missing_ref", "missing_cur",
    "missing_p_value", "missing_p_adjusted", "missing_drifted", "unseen", "schema",
    "n_unparsed", "n_ref", "n_cur", "schema_drift", "drifted", "finding",
]


def _limits(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    """:data:`DEFAULT_THRESHOLDS` with ``thresholds`` (checked key by key) applied."""
    merged = dict(DEFAULT_THRESHOLDS)
    for key, value in (thresholds or {}).items():
        check_in(key, list(DEFAULT_THRESHOLDS), name="thresholds key", func=FUNC,
                 param="thresholds")
        merged[key] = check_number(value, name=f"thresholds[{key!r}]", func=FUNC, low=0.0,
                                   param="thresholds")
    return merged


def _reference_profile(reference: Any, columns: Sequence[str] | None,
                       column_types: Mapping[str, str] | None, seed: int,
                       embedding_sample: int) -> Profile:
    if isinstance(reference, Profile):
        return reference
    if isinstance(reference, pd.DataFrame) and len(reference) == 0:
        raise InputError("the reference data has no rows; give a reference with rows.")
    if columns is not None and isinstance(reference, pd.DataFrame):
        missing = [c for c in columns if c not in reference.columns]
        if missing:
            raise InputError(
                f"the reference has no column {', '.join(map(repr, missing))}; its columns "
                f"are: {', '.join(map(str, list(reference.columns)[:20]))}"
                f"{' ...' if len(reference.columns) > 20 else ''}."
            )
    return profile(reference, columns=columns, column_types=column_types, seed=seed,
                   max_text_sample=max(embedding_sample, 2))


def _check_current(current: Any) -> Any:
    """The batch: a pandas DataFrame, or a Dask DataFrame (a Parquet folder is read)."""
    if isinstance(current, (str, os.PathLike)) and Path(current).is_dir():
        current = _dask_part.read_parquet_folder(Path(current))
    if _dask_part.is_dask_frame(current):
        return current
    if isinstance(current, Profile):
        if current.n_rows == 0:
            raise InputError("the current batch has no rows; send a batch with at least one "
                             "row.")
        return current
    if not isinstance(current, pd.DataFrame):
        raise InputError(
            f"the current batch must be a pandas or Dask DataFrame (or a folder of Parquet "
            f"files), got {type(current).__name__}; wrap it with pd.DataFrame(...)."
        )
    if len(current) == 0:
        raise InputError("the current batch has no rows; send a batch with at least one row.")
    return current


@validate_params({
    "alpha": [Interval(Real, 0.0, 1.0)],
    "correction": [Options(("bh", "holm", "none"))],
    "drift_share": [Interval(Real, 0.0, 1.0)],
    "n_jobs": [Interval(Integral, 1, None)],
})
def drift(
    reference: pd.DataFrame | Profile,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    column_types: Mapping[str, str] | None = None,
    prediction: Sequence[str] | str | None = None,
    key_columns: Sequence[str] | None = None,
    alpha: float = 0.05,
    correction: str = "bh",
    thresholds: Mapping[str, float] | None = None,
    column_thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
    embedding_sample: int = 500,
    n_permutations: int = 10,
    n_mmd_permutations: int = 200,
    text_embedder: Any = None,
    seed: int = 0,
    n_jobs: int = 1,
) -> DriftReport:
    """Test every column of ``current`` for drift against ``reference``.

    Parameters
    ----------
    reference : pandas DataFrame of shape (n_ref, n_columns), or Profile
        The reference data, or its profile from :func:`assay.profile` (faster: the
        reference is not read again).
    current : pandas DataFrame of shape (n_cur, n_columns), Dask DataFrame, folder, or Profile
        The production batch. A Dask DataFrame (or a folder of Parquet files, read
        with Dask) is profiled partition by partition on the cluster and the partial
        profiles merged; only the merged profile reaches this process. Category counts,
        missing rates and row counts are then exact; the numeric tests compare the
        reference sample with a uniform sample of up to 100,000 current values per
        column (so p-values reflect that sample's size), text and embedding tests use
        ``embedding_sample`` rows as for pandas. A :class:`Profile` of the batch (e.g.
        built chunk by chunk with :class:`ProfileBuilder`) is tested the same way.
    columns : sequence of str, optional
        Columns to test (default: every reference column).
    column_types : dict of str to str, optional
        Kind overrides when ``reference`` is a DataFrame.
    prediction : str or sequence of str, optional
        Model-output columns (predicted classes or probabilities); their drift is
        prediction drift and always counts for the dataset-level flag.
    key_columns : sequence of str, optional
        Columns whose drift alone makes the dataset drifted.
    alpha : float
        Significance level after multiple-testing correction.
    correction : {"bh", "holm", "none"}
    thresholds : dict, optional
        Overrides of :data:`DEFAULT_THRESHOLDS` (keys numeric, categorical, text,
        embedding, missing).
    column_thresholds : dict of str to float, optional
        Per-column effect-size thresholds (win over ``thresholds``).
    drift_share : float
        Share of drifted columns that makes the dataset drifted.
    embedding_sample : int
        Rows per side used for text and embedding tests.
    n_permutations, n_mmd_permutations : int
        Domain-classifier refits that calibrate its threshold; MMD permutations.
    text_embedder : callable, optional
        List of strings -> array (n, d); default hashed TF-IDF.
    seed : int
    n_jobs : int
        Threads checking columns in parallel (numpy releases the GIL in the sorts and
        searches); 1 by default so as not to oversubscribe shared machines.

    Returns
    -------
    DriftReport
    """
    limits = _limits(thresholds)
    current = _check_current(current)
    predictions = [prediction] if isinstance(prediction, str) else list(prediction or [])
    ref = _reference_profile(reference, columns, column_types, seed, embedding_sample)
    names = _tested_columns(ref, columns)
    options = CheckOptions(alpha, embedding_sample, n_permutations, n_mmd_permutations,
                           limits["text"], text_embedder, seed)
    if isinstance(current, Profile):
        rows, charts = _dask_part.checks_against(ref, current, names, options,
                                                 extra=columns is None)
        n_cur = current.n_rows
    elif _dask_part.is_dask_frame(current):
        rows, charts, n_cur = _dask_part.run_checks(ref, current, names, options,
                                                    extra=columns is None, seed=seed)
    else:
        rows, charts = _run_checks(ref, current, names, options, extra=columns is None,
                                   n_jobs=n_jobs)
        n_cur = len(current)
    table = _flag(rows, limits, dict(column_thresholds or {}), alpha, correction)
    table.insert(1, "role", ["prediction" if c in predictions else "feature"
                             for c in table.index])
    keys = set(key_columns or []) | set(predictions)
    return DriftReport.build(table, charts, keys, drift_share,
                             {"alpha": alpha, "correction": correction, "thresholds": limits,
                              "n_ref": ref.n_rows, "n_cur": n_cur})


def _tested_columns(ref: Profile, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(ref.columns)
    missing = [c for c in columns if c not in ref.columns]
    if missing:
        raise InputError(
            f"the reference has no column {', '.join(map(repr, missing))}; its columns are: "
            f"{', '.join(list(ref.columns)[:20])}. Profile those columns or drop them."
        )
    return list(columns)


def _run_checks(ref: Profile, current: pd.DataFrame, names: list[str],
                options: CheckOptions, *, extra: bool,
                n_jobs: int) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    rows: dict[str, dict[str, Any]] = {}
    charts: dict[str, dict[str, Any]] = {}
    present = [n for n in names if n in current.columns]
    for name in names:
        if name not in current.columns:
            col = ref.columns[name]
            rows[name] = schema_row(col.kind, col.n, 0, "missing column",
                                    "missing from the current batch (schema drift)", True)

    def one(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return check_column(ref.columns[name], current[name], options)

    if n_jobs > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            results = list(pool.map(one, present))
    else:
        results = [one(name) for name in present]
    for name, (row, chart) in zip(present, results, strict=True):
        rows[name], charts[name] = row, chart
    rows = {name: rows[name] for name in names}  # reference column order
    if extra:
        for name in current.columns:
            if str(name) not in ref.columns:
                kind = infer_kind(current[name])
                rows[str(name)] = schema_row(kind, 0, len(current), "new column",
                                             "not in the reference: new column, not tested",
                                             False)
    return rows, charts


def _flag(rows: dict[str, dict[str, Any]], limits: dict[str, float],
          per_column: dict[str, float], alpha: float, correction: str) -> pd.DataFrame:
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "column"
    if "auc_threshold" not in table.columns:
        table["auc_threshold"] = np.nan
    n = len(table)
    pvals = np.r_[table["p_value"].to_numpy(float), table["missing_p_value"].to_numpy(float)]
    adjusted = _stats.adjust_pvalues(pvals, correction)
    table["p_adjusted"], table["missing_p_adjusted"] = adjusted[:n], adjusted[n:]
    table["threshold"] = [
        per_column.get(str(c), _kind_threshold(kind, limits, auc))
        for c, kind, auc in zip(table.index, table["type"], table["auc_threshold"], strict=True)
    ]
    significant = np.nan_to_num(table["p_adjusted"].to_numpy(float), nan=1.0) < alpha
    effect = np.nan_to_num(table["effect_size"].to_numpy(float), nan=0.0)
    table["distribution_drifted"] = significant & (effect >= table["threshold"].to_numpy(float))
    change = np.abs(table["missing_cur"].to_numpy(float) - table["missing_ref"].to_numpy(float))
    miss_sig = np.nan_to_num(table["missing_p_adjusted"].to_numpy(float), nan=1.0) < alpha
    table["missing_drifted"] = miss_sig & (np.nan_to_num(change) >= limits["missing"])
    table["schema_drift"] = table["schema_drift"].astype(bool)
    table["drifted"] = (table["distribution_drifted"] | table["missing_drifted"]
                        | table["schema_drift"])
    table["finding"] = [_finding({str(k): v for k, v in r.items()})
                        for r in table.to_dict("records")]
    return table[TABLE_COLUMNS]


def _kind_threshold(kind: str, limits: dict[str, float], auc_threshold: float) -> float:
    if kind in ("text", "embedding") and np.isfinite(auc_threshold):
        return max(float(auc_threshold), limits[kind])
    return limits.get(kind, np.nan)


def _finding(row: dict[str, Any]) -> str:
    parts = []
    if row["distribution_drifted"]:
        parts.append(f"distribution drift ({row['effect_name']} {row['effect_size']:.3g} "
                     f">= {row['threshold']:.3g})")
    if row["missing_drifted"]:
        parts.append(f"missing rate {row['missing_ref']:.1%} -> {row['missing_cur']:.1%}")
    notes = list(row["notes"])
    return "; ".join(notes + parts if row["schema_drift"] else parts + notes)
