"""Reference profiles: everything a drift check needs, computed once.

A :class:`Profile` holds, per column, exact counts and moments plus a uniform random
sample of values, so that checking a new batch never re-reads the reference data:

* numeric: row count, missing and inf counts, exact mean / std / min / max, a sorted
  uniform sample of up to ``max_sample`` finite values (all of them when there are fewer;
  the KS test and the Wasserstein distance use it), and decile bins for PSI;
* categorical: exact counts per category (keys normalised to strings);
* text and embedding: a uniform sample of up to ``max_text_sample`` values.

The sample is a *bottom-k* sample: every row gets a seeded uniform key and the ``k``
rows with the smallest keys are kept. Bottom-k samples of chunks merge exactly into a
bottom-k sample of the whole, which is how Parquet files larger than memory
(:func:`profile_parquet`) and Dask DataFrames are profiled chunk by chunk.

Profiles serialise to JSON-safe dicts (:meth:`Profile.to_dict`), never with pickle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import Integral, Interval, name_rows, validate_params
from assay.deploy import _partial as part
from assay.deploy._columns import resolve_kinds
from assay.exceptions import InputError

__all__ = [
    "ColumnProfile", "Profile", "ProfileBuilder", "profile", "profile_parquet",
    "schema_problems",
]

FORMAT_VERSION = 1


@dataclass
class ColumnProfile:
    """What a drift check needs to know about one reference column.

    Attributes
    ----------
    name, kind, dtype : str
        Column name, kind (numeric, categorical, text, embedding, empty), dtype family.
    n, n_missing, n_inf : int
        Rows, missing values (NaN/None/unparseable), infinities (numeric only).
    mean, std, min, max : float or None
        Exact moments of the finite values (numeric only).
    sample : ndarray or list or None
        Sorted finite values (numeric), strings (text), array (n, d) (embedding).
    categories : dict of str to int
        Exact category counts (categorical only).
    bin_edges, bin_counts : ndarray or None
        Inner decile edges of the sample and the sample's counts per bin (for PSI).
    """

    name: str
    kind: str
    dtype: str
    n: int
    n_missing: int
    n_inf: int = 0
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    sample: Any = None
    categories: dict[str, int] = field(default_factory=dict)
    bin_edges: np.ndarray | None = None
    bin_counts: np.ndarray | None = None

    @property
    def missing_rate(self) -> float:
        """Share of rows that are missing or infinite."""
        return (self.n_missing + self.n_inf) / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (lists and plain numbers, NaN as None)."""
        out: dict[str, Any] = {
            k: _plain(getattr(self, k))
            for k in ("name", "kind", "dtype", "n", "n_missing", "n_inf", "mean", "std",
                      "min", "max", "bin_edges", "bin_counts")
        }
        out["categories"] = dict(self.categories)
        out["sample"] = _plain(self.sample)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        """Rebuild a column profile from :meth:`to_dict` output."""
        kind = data["kind"]
        sample = data.get("sample")
        if sample is not None and kind in ("numeric", "embedding"):
            sample = np.asarray(sample, dtype=np.float64)
        edges, counts = data.get("bin_edges"), data.get("bin_counts")
        return cls(
            name=data["name"], kind=kind, dtype=data["dtype"], n=int(data["n"]),
            n_missing=int(data["n_missing"]), n_inf=int(data.get("n_inf", 0)),
            mean=data.get("mean"), std=data.get("std"), min=data.get("min"),
            max=data.get("max"), sample=sample,
            categories={str(k): int(v) for k, v in (data.get("categories") or {}).items()},
            bin_edges=None if edges is None else np.asarray(edges, dtype=np.float64),
            bin_counts=None if counts is None else np.asarray(counts, dtype=np.int64),
        )


@dataclass
class Profile:
    """A reference profile: one :class:`ColumnProfile` per column.

    Attributes
    ----------
    columns : dict of str to ColumnProfile
    n_rows : int
    params : dict
        The parameters it was built with (``max_sample``, ``seed``, ...).
    """

    columns: dict[str, ColumnProfile]
    n_rows: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def kinds(self) -> dict[str, str]:
        """``{column: kind}``."""
        return {name: col.kind for name, col in self.columns.items()}

    def __repr__(self) -> str:
        return f"Profile(n_rows={self.n_rows}, columns={self.kinds})"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; ``json.dumps(profile.to_dict())`` works."""
        return {
            "format_version": FORMAT_VERSION,
            "n_rows": self.n_rows,
            "params": dict(self.params),
            "columns": [col.to_dict() for col in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Rebuild a profile from :meth:`to_dict` output."""
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise InputError(
                f"profile format_version is {version!r}, this assay reads {FORMAT_VERSION}; "
                "re-create the profile with assay.profile()."
            )
        cols = [ColumnProfile.from_dict(c) for c in data["columns"]]
        return cls({c.name: c for c in cols}, int(data["n_rows"]), dict(data["params"]))


def _plain(value: Any) -> Any:
    """Convert numpy values to JSON-safe Python values (NaN/inf become None)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype.kind == "f" else (
            value.tolist())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


#: The parameters :func:`profile` and :func:`profile_parquet` share.
_PROFILE_PARAMS = {
    "max_sample": [Interval(Integral, 1, None)],
    "categorical_threshold": [Interval(Integral, 0, None)],
    "chunksize": [Interval(Integral, 1, None)],
    "max_text_sample": [Interval(Integral, 2, None)],
}


def _select_columns(available: Sequence[str], columns: Sequence[str] | None,
                    where: str) -> list[str]:
    if columns is None:
        return [str(c) for c in available]
    missing = [c for c in columns if c not in available]
    if missing:
        raise InputError(
            f"{where} has no column {', '.join(map(repr, missing))}; its columns are: "
            f"{', '.join(map(str, list(available)[:20]))}. Name existing columns."
        )
    return list(columns)


@validate_params(_PROFILE_PARAMS)
def profile(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    column_types: Mapping[str, str] | None = None,
    max_sample: int = 100_000,
    max_text_sample: int = 1_000,
    categorical_threshold: int = 20,
    chunksize: int = 1_000_000,
    seed: int = 0,
) -> Profile:
    """Profile a reference table for later drift checks.

    Parameters
    ----------
    data : pandas DataFrame or dask DataFrame
        The reference data, shape (n_rows, n_columns).
    columns : sequence of str, optional
        Columns to profile (default: all).
    column_types : dict of str to str, optional
        Kind overrides, e.g. ``{"zip": "categorical"}``.
    max_sample : int
        Numeric values kept per column (a uniform sample when there are more).
    max_text_sample : int
        Text strings / embedding vectors kept per column.
    categorical_threshold : int
        Integer columns with at most this many distinct values are categorical.
    chunksize : int
        Rows per chunk for in-memory data (bounds temporary memory).
    seed : int
        Seed of the sample.

    Returns
    -------
    Profile
    """
    func = "profile"
    if type(data).__module__.startswith("dask"):
        return _profile_dask(data, columns, column_types, max_sample, max_text_sample,
                             categorical_threshold, seed)
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"profile() needs a pandas or dask DataFrame, got {type(data).__name__}; "
            "wrap arrays with pd.DataFrame(...)."
        )
    names = _select_columns(list(data.columns), columns, "the reference data")
    kinds = resolve_kinds(data, names, column_types, categorical_threshold, func)
    chunks = (data.iloc[i:i + chunksize] for i in range(0, max(len(data), 1), chunksize))
    params = _params(max_sample, max_text_sample, categorical_threshold, seed)
    return _profile_chunks(chunks, kinds, params)


def _params(max_sample: int, max_text_sample: int, categorical_threshold: int,
            seed: int) -> dict[str, Any]:
    return {"max_sample": max_sample, "max_text_sample": max_text_sample,
            "categorical_threshold": categorical_threshold, "seed": seed}


def _profile_chunks(chunks: Iterable[pd.DataFrame], kinds: dict[str, str],
                    params: dict[str, Any]) -> Profile:
    state: dict[str, dict[str, Any]] | None = None
    for index, chunk in enumerate(chunks):
        partial = part.partial_state(chunk, kinds, params, index)
        state = partial if state is None else part.merge_states(state, partial, params)
    if state is None:
        state = part.partial_state(pd.DataFrame(columns=list(kinds)), kinds, params, 0)
    return _finalize(state, params)


def _finalize(state: dict[str, dict[str, Any]], params: dict[str, Any]) -> Profile:
    columns = {name: ColumnProfile(**part.finalize_column(name, s)) for name, s in state.items()}
    n_rows = max((c.n for c in columns.values()), default=0)
    return Profile(columns, n_rows, params)


@validate_params(_PROFILE_PARAMS)
def profile_parquet(
    path: str,
    *,
    columns: Sequence[str] | None = None,
    column_types: Mapping[str, str] | None = None,
    max_sample: int = 100_000,
    max_text_sample: int = 1_000,
    categorical_threshold: int = 20,
    chunksize: int = 500_000,
    seed: int = 0,
) -> Profile:
    """Profile a Parquet file in chunks of ``chunksize`` rows (for data larger than memory).

    Parameters are those of :func:`profile`; ``path`` is a Parquet file. Column kinds are
    inferred from the first chunk.

    Returns
    -------
    Profile
        The same result :func:`profile` gives on the whole table with the same seed and
        ``chunksize``.
    """
    import pyarrow.parquet as pq

    func = "profile_parquet"
    try:
        file = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read Parquet file {path!r}: {exc}; give a Parquet file."
        ) from exc
    names = _select_columns(file.schema_arrow.names, columns, f"Parquet file {path!r}")
    batches = (b.to_pandas() for b in file.iter_batches(batch_size=chunksize, columns=names))
    first = next(batches, None)
    if first is None:
        first = file.schema_arrow.empty_table().to_pandas()[names]
    kinds = resolve_kinds(first, names, column_types, categorical_threshold, func)
    params = _params(max_sample, max_text_sample, categorical_threshold, seed)
    return _profile_chunks(_chain(first, batches), kinds, params)


def _chain(first: pd.DataFrame, rest: Iterable[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    yield first
    yield from rest


class ProfileBuilder:
    """A profile built chunk by chunk, as the chunks arrive (one in memory at a time).

    The column kinds are settled by the first chunk (``column_types`` first); the result
    equals :func:`profile` of the chunks concatenated with the same ``chunksize``
    boundaries.

    Parameters
    ----------
    columns : sequence of str, optional
        The columns to profile (default: every column of the first chunk).
    column_types : dict of str to str, optional
        Kinds of the columns (the others are inferred from the first chunk).
    max_sample, max_text_sample, categorical_threshold, seed
        As for :func:`profile`.
    """

    def __init__(self, *, columns: Sequence[str] | None = None,
                 column_types: Mapping[str, str] | None = None,
                 max_sample: int = 100_000, max_text_sample: int = 1_000,
                 categorical_threshold: int = 20, seed: int = 0) -> None:
        self.columns = None if columns is None else [str(c) for c in columns]
        self.column_types = dict(column_types or {})
        self.params = _params(max_sample, max_text_sample, categorical_threshold, seed)
        self.kinds: dict[str, str] | None = None
        self.state: dict[str, dict[str, Any]] | None = None
        self.chunks = 0

    def add(self, chunk: pd.DataFrame) -> None:
        """Summarise one chunk of shape (n_rows, n_columns) and merge it in (the
        columns profiled must be in it; others are left out)."""
        if self.kinds is None:
            names = self.columns if self.columns is not None else list(chunk.columns)
            self.kinds = resolve_kinds(chunk, [str(c) for c in names], self.column_types,
                                       int(self.params["categorical_threshold"]), "profile")
        partial = part.partial_state(chunk, self.kinds, self.params, self.chunks)
        self.state = (partial if self.state is None
                      else part.merge_states(self.state, partial, self.params))
        self.chunks += 1

    def result(self) -> Profile:
        """The profile of every chunk added so far."""
        if self.state is None:
            raise InputError("no rows were profiled; give at least one chunk with rows.")
        return _finalize(self.state, self.params)


def _profile_dask(ddf: Any, columns: Sequence[str] | None,
                  column_types: Mapping[str, str] | None, max_sample: int,
                  max_text_sample: int, categorical_threshold: int, seed: int) -> Profile:
    import dask

    names = _select_columns(list(ddf.columns), columns, "the dask DataFrame")
    head = ddf[names].head(10_000, npartitions=-1)
    kinds = resolve_kinds(head, names, column_types, categorical_threshold, "profile")
    params = _params(max_sample, max_text_sample, categorical_threshold, seed)
    level = [dask.delayed(part.partial_state)(chunk, kinds, params, i)
             for i, chunk in enumerate(ddf[names].to_delayed())]
    merge = dask.delayed(part.merge_states)
    while len(level) > 1:  # a tree on the workers: only the merged state comes back
        level = [merge(level[i], level[i + 1], params) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    (state,) = dask.compute(level[0])
    return _finalize(state, params)


def schema_problems(
    reference: Profile, batch: pd.DataFrame, *, rows: Callable[[int], str] | None = None
) -> list[str]:
    """List what makes ``batch`` unfit for comparison with ``reference`` (empty: fine).

    Meant for rejecting ingested batches with a reason (e.g. an HTTP 422): no rows,
    missing or unknown columns, numeric columns whose values do not parse as numbers.

    Parameters
    ----------
    reference : Profile
    batch : pandas DataFrame of shape (n_rows, n_columns)
    rows : callable, optional
        Names the row at a 0-based position in messages (e.g. ``line 5`` of the file the
        batch was read from); by default its index label (``index 'a'``).

    Returns
    -------
    list of str
        One sentence per problem, naming the column and the fix.
    """
    problems = []
    if len(batch) == 0:
        problems.append("the batch has no rows; send at least one row.")
    present = {str(c) for c in batch.columns}
    missing = [c for c in reference.columns if c not in present]
    if missing:
        problems.append(f"missing columns {', '.join(map(repr, missing))}; send every "
                        "reference column (null values are allowed).")
    extra = sorted(present - set(reference.columns))
    if extra:
        problems.append(f"unknown columns {', '.join(map(repr, extra))}; drop them or add "
                        "them to the reference.")
    for name, col in reference.columns.items():
        if col.kind != "numeric" or name not in present or len(batch) == 0:
            continue
        values = batch[name]
        parsed = pd.to_numeric(values.astype(object), errors="coerce")
        bad = parsed.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            row = int(np.argmax(bad))
            where = rows(row) if rows is not None else name_rows(row, batch.index)
            problems.append(f"column {name!r} {where} holds {values.iloc[row]!r}, not a "
                            "number; send numbers (or null) in numeric columns.")
    return problems
