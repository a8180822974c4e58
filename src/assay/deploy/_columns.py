"""Column kinds and value extraction shared by profiling and drift checks.

A column is one of five kinds:

``numeric``
    float columns, and integer columns with more than ``categorical_threshold``
    distinct values; tested with KS + normalised Wasserstein distance.
``categorical``
    bool, ``category``, short strings, and integers with few distinct values;
    tested with chi-square + Jensen-Shannon distance.
``text``
    strings that look like prose (long, several words, mostly distinct).
``embedding``
    cells that hold equal-length vectors (lists or arrays of floats).
``empty``
    no non-missing value to infer a kind from (skipped, reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import check_in, whole_text

__all__ = ["KINDS", "NULL_TOKENS", "category_key", "infer_kind", "numeric_values",
           "string_numbers"]

KINDS = ("numeric", "categorical", "text", "embedding", "empty")

#: A string column is ``text`` when its mean length and word count reach these values
#: and at least half of its (sampled) values are distinct.
TEXT_MIN_CHARS = 20
TEXT_MIN_WORDS = 3
#: Strings that mean "no value" (the default null markers of pandas and pyarrow CSV
#: readers, compared stripped and lower-cased): missing values, not unparseable ones.
NULL_TOKENS = frozenset({
    "", "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan",
    "<na>", "n/a", "na", "nan", "null", "none",
})


def infer_kind(series: pd.Series, *, categorical_threshold: int = 20) -> str:
    """Infer the kind of a column from its dtype and (a sample of) its values.

    Parameters
    ----------
    series : pandas Series of shape (n_rows,)
    categorical_threshold : int
        Integer columns with at most this many distinct values are categorical.

    Returns
    -------
    str
        One of :data:`KINDS`.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "numeric"
    if pd.api.types.is_float_dtype(dtype):
        return "numeric"
    if pd.api.types.is_integer_dtype(dtype):
        n_unique = series.head(100_000).nunique(dropna=True)
        return "categorical" if n_unique <= categorical_threshold else "numeric"
    values = series.dropna()
    if len(values) == 0:
        return "empty"
    return _infer_object_kind(values.head(2_000), categorical_threshold)


def _infer_object_kind(values: pd.Series, categorical_threshold: int) -> str:
    first = values.iloc[0]
    if isinstance(first, (list, tuple, np.ndarray)):
        return "embedding"
    if not all(isinstance(v, str) for v in values.head(200)):
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all():
            return infer_kind(numeric.astype(float), categorical_threshold=categorical_threshold)
        return "categorical"
    text = values.astype(str)
    n_unique = text.nunique()
    if n_unique <= categorical_threshold:
        return "categorical"
    long = text.str.len().mean() >= TEXT_MIN_CHARS
    wordy = text.str.count(" ").mean() + 1 >= TEXT_MIN_WORDS
    return "text" if long and wordy and n_unique >= 0.5 * len(text) else "categorical"


def resolve_kinds(
    df: pd.DataFrame,
    columns: list[str],
    column_types: Mapping[str, str] | None,
    categorical_threshold: int,
    func: str,
) -> dict[str, str]:
    """Return ``{column: kind}``, honouring user overrides in ``column_types``."""
    overrides = dict(column_types or {})
    for name, kind in overrides.items():
        check_in(kind, KINDS[:4], name=f"column_types[{name!r}]", func=func,
                 param="column_types")
    return {
        c: overrides.get(c) or infer_kind(df[c], categorical_threshold=categorical_threshold)
        for c in columns
    }


def numeric_values(series: pd.Series) -> tuple[np.ndarray, int, int]:
    """Return the finite values of a column as float64, the missing and the inf counts.

    Strings that do not parse as numbers count as missing (a dtype change is reported
    separately by the caller). Datetimes become seconds since the epoch.

    Returns
    -------
    finite : ndarray of shape (n_finite,), float64
    n_missing : int
        NaN / None / unparseable values.
    n_inf : int
        +inf and -inf values (also excluded from ``finite``).
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        arr = series.astype("datetime64[ns]").to_numpy(dtype="datetime64[ns]")
        mask = ~np.isnat(arr)
        return arr[mask].astype(np.int64).astype(np.float64) / 1e9, int((~mask).sum()), 0
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        series = series.dt.total_seconds()
    if not (pd.api.types.is_numeric_dtype(series.dtype) and not
            pd.api.types.is_bool_dtype(series.dtype)):
        series = pd.to_numeric(series.astype(object), errors="coerce")
    arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite_mask = np.isfinite(arr)
    if finite_mask.all():
        return arr, 0, 0
    nan = np.isnan(arr)
    n_inf = int(len(arr) - finite_mask.sum() - nan.sum())
    return arr[finite_mask], int(nan.sum()), n_inf


@dataclass(frozen=True)
class StringNumbers:
    """Strings found in a column that should hold numbers (see :func:`string_numbers`).

    Attributes
    ----------
    n_strings : int
        Non-missing values that are strings (null markers such as ``"n/a"`` excluded).
    n_unparsed : int
        Those of them that do not parse as numbers.
    examples : tuple of str
        Up to three distinct unparseable values, in order of appearance.
    """

    n_strings: int
    n_unparsed: int
    examples: tuple[str, ...]


def string_numbers(series: pd.Series, n_examples: int = 3) -> StringNumbers:
    """Count the strings of a column, and those that do not parse as numbers.

    Numeric, boolean, datetime and timedelta columns hold no strings. Values equal to
    one of :data:`NULL_TOKENS` are missing values, neither strings nor unparseable.
    Only string and object columns are scanned (never the numeric fast path).

    Parameters
    ----------
    series : pandas Series of shape (n_rows,)
    n_examples : int
        How many distinct unparseable values to keep as examples.

    Returns
    -------
    StringNumbers
    """
    if dtype_family(series.dtype) != "string":
        return StringNumbers(0, 0, ())
    values = series[series.notna()]
    if not isinstance(values.dtype, pd.StringDtype):  # object: keep the str values only
        values = values[[isinstance(v, str) for v in values.tolist()]]
    text = values.astype(object)
    text = text[~text.str.strip().str.lower().isin(NULL_TOKENS)]
    bad = text[pd.to_numeric(text, errors="coerce").isna().to_numpy()]
    examples = tuple(str(v) for v in bad.drop_duplicates().head(n_examples).tolist())
    return StringNumbers(len(text), len(bad), examples)


def category_key(value: Any) -> str:
    """Normalise a category value to a string key (``1``, ``1.0`` and ``"1"`` agree)."""
    return whole_text(value)


def category_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    """Count the non-missing categories of a column by normalised key.

    Returns
    -------
    counts : dict of str to int
    n_missing : int
    """
    counts = series.value_counts(dropna=True, sort=False)
    n_missing = int(len(series) - counts.sum())
    out: dict[str, int] = {}
    for value, count in zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True):
        key = category_key(value)
        out[key] = out.get(key, 0) + int(count)
    return out, n_missing


def dtype_family(dtype: Any) -> str:
    """A coarse dtype family used to report dtype changes: number, bool, string, other."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return "other"
