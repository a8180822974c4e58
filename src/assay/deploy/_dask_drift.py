"""Drift of a Dask DataFrame: profile the batch per partition, merge, then test.

The current batch never reaches this process as rows: :func:`assay.profile` summarises
each partition on the cluster (exact counts and moments, a bottom-k uniform sample) and
merges the partial states in a tree, so only the merged profile is gathered. Each
column is then checked by the ordinary checks (:func:`assay.deploy._checks.check_column`)
on a stand-in for the current column built from that profile:

* numeric: the current sample of finite values (uniform, up to ``max_sample``);
* categorical: a pandas Categorical with the exact counts (one byte or two per row);
* text and embedding: the current sample of values.

The row count and the missing rate (missing values and infinities) are then set from
the exact profile counts, so the missing-rate test and ``n_cur`` are those of the
whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._dask import dask_cluster, is_dask_frame, read_parquet_folder
from assay.deploy._checks import MIN_ROWS, CheckOptions, _finish_missing, check_column, schema_row
from assay.deploy.profile import ColumnProfile, Profile, profile
from assay.exceptions import InputError

__all__ = [
    "as_pandas_batch",
    "checks_against",
    "dask_cluster",
    "is_dask_frame",
    "read_parquet_folder",
    "run_checks",
]

#: Current values per numeric column the tests compare (a uniform sample beyond).
CURRENT_SAMPLE = 100_000


def run_checks(
    ref: Profile,
    current: Any,
    names: list[str],
    options: CheckOptions,
    *,
    extra: bool,
    seed: int,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], int]:
    """Check ``names`` of the Dask batch ``current`` against ``ref``.

    Returns
    -------
    rows, charts : dict
        As the pandas checks return them (reference column order).
    n_cur : int
        The batch's row count.
    """
    present = [n for n in names if n in current.columns]
    news = [str(c) for c in current.columns if str(c) not in ref.columns] if extra else []
    kinds = {n: ref.columns[n].kind for n in present}
    kinds.update({n: "auto" for n in news})
    cur = _current_profile(current, present + news, kinds, options, seed)
    rows, charts = checks_against(ref, cur, names, options, extra=extra)
    return rows, charts, cur.n_rows


def checks_against(
    ref: Profile, cur: Profile, names: list[str], options: CheckOptions, *, extra: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Check ``names`` of a batch known by its profile ``cur`` against ``ref``.

    ``cur`` comes from the cluster (:func:`run_checks`) or was built chunk by chunk
    (:class:`assay.deploy.profile.ProfileBuilder`, a streamed monitor window); columns
    of ``cur`` the reference lacks are listed as new when ``extra``.

    Returns
    -------
    rows, charts : dict
        As the pandas checks return them (reference column order).
    """
    present = [n for n in names if n in cur.columns]
    news = [n for n in cur.columns if n not in ref.columns] if extra else []
    if cur.n_rows == 0:
        raise InputError("the current batch has no rows; send a batch with at least one row.")
    rows: dict[str, dict[str, Any]] = {}
    charts: dict[str, dict[str, Any]] = {}
    for name in names:
        col = ref.columns[name]
        if name not in present:
            rows[name] = schema_row(
                col.kind,
                col.n,
                0,
                "missing column",
                "missing from the current batch (schema drift)",
                True,
            )
            continue
        rows[name], charts[name] = _check(col, cur.columns[name], options)
    for name in news:
        rows[name] = schema_row(
            cur.columns[name].kind,
            0,
            cur.n_rows,
            "new column",
            "not in the reference: new column, not tested",
            False,
        )
    return rows, charts


def _current_profile(
    current: Any, names: Sequence[str], kinds: dict[str, str], options: CheckOptions, seed: int
) -> Profile:
    """The batch's profile, computed per partition (with the reference's column kinds)."""
    types = {n: k for n, k in kinds.items() if k not in ("auto", "empty")}
    return profile(
        current[list(names)],
        column_types=types,
        seed=seed,
        max_sample=CURRENT_SAMPLE,
        max_text_sample=max(options.embedding_sample, 2),
    )


def _check(
    col: ColumnProfile, cur: ColumnProfile, options: CheckOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One column: the ordinary check on a stand-in, then the exact counts."""
    row, chart = check_column(col, _stand_in(col.kind, cur), options)
    row["n_cur"] = cur.n
    if col.kind != "categorical":  # the categorical stand-in holds the exact counts
        _finish_missing(row, col, cur.n_missing + cur.n_inf)
    notes = [n for n in row["notes"] if not n.startswith(("dtype changed", "only "))]
    if col.dtype != cur.dtype and col.kind != "empty" and cur.n_missing < cur.n:
        notes.insert(0, f"dtype changed from {col.dtype} to {cur.dtype}")
    if cur.n < MIN_ROWS:
        notes.append(f"only {cur.n} current rows: low power")
    row["notes"] = notes
    return row, chart


def _stand_in(kind: str, cur: ColumnProfile) -> pd.Series:
    """A pandas column the checks can read, built from the current profile."""
    if kind == "categorical":
        keys = list(cur.categories)
        counts = np.fromiter(cur.categories.values(), dtype=np.int64, count=len(keys))
        codes = np.repeat(np.arange(len(keys), dtype=np.int32), counts)
        codes = np.concatenate([codes, np.full(cur.n_missing, -1, dtype=np.int32)])
        return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(keys)))
    sample = cur.sample
    if sample is None:
        return pd.Series([], dtype=float)
    if kind == "embedding":
        return pd.Series(list(np.asarray(sample)))
    return pd.Series(sample)


def as_pandas_batch(batch: Any) -> Any:
    """A monitor batch as pandas: a Dask DataFrame or a Parquet folder is computed.

    A monitor stores every row of a window (with its scores), so the rows are read
    (by the cluster, partitions in parallel) into this process; anything else is
    returned unchanged.
    """
    if isinstance(batch, (str, Path)) and Path(batch).is_dir():
        batch = read_parquet_folder(Path(batch))
    if is_dask_frame(batch):
        return batch.compute().reset_index(drop=True)
    return batch
