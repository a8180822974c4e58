"""Mergeable per-chunk summaries behind :mod:`assay.deploy.profile`.

Each chunk gives a small state per column (exact counts, Chan's mergeable mean and
sum of squares, min/max, a bottom-k sample keyed by seeded uniform numbers, category
counts). States merge exactly, in any grouping, so Parquet batches and Dask partitions
produce the same profile as one pass over the whole table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay.deploy._columns import category_counts, dtype_family, numeric_values
from assay.exceptions import InputError

__all__ = ["finalize_column", "merge_states", "partial_state", "psi_bins"]

N_PSI_BINS = 10
#: Categories kept per column; rarer ones are lumped under :data:`OTHER` so that ID-like
#: columns do not blow up the profile.
MAX_CATEGORIES = 10_000
OTHER = "__other__"


def partial_state(chunk: pd.DataFrame, kinds: dict[str, str], params: dict[str, Any],
                  index: int) -> dict[str, dict[str, Any]]:
    """Summarise one chunk (``index`` seeds its sample keys)."""
    rng = np.random.default_rng([int(params["seed"]), int(index)])
    keys = rng.random(len(chunk))
    out: dict[str, dict[str, Any]] = {}
    for name, kind in kinds.items():
        series = chunk[name]
        state: dict[str, Any] = {"kind": kind, "dtype": dtype_family(series.dtype),
                                 "n": len(series)}
        if kind == "numeric":
            state.update(_numeric_state(series, keys, int(params["max_sample"])))
        elif kind == "categorical":
            state["counts"], state["n_missing"] = category_counts(series)
        else:
            state.update(_sample_state(series, keys, int(params["max_text_sample"])))
        out[name] = state
    return out


def _bottom_k(keys: np.ndarray, k: int) -> np.ndarray:
    if len(keys) <= k:
        return np.arange(len(keys))
    return np.argpartition(keys, k - 1)[:k]


def _numeric_state(series: pd.Series, keys: np.ndarray, k: int) -> dict[str, Any]:
    arr = series.to_numpy(dtype=np.float64, na_value=np.nan) if (
        pd.api.types.is_numeric_dtype(series.dtype)
        and not pd.api.types.is_bool_dtype(series.dtype)) else None
    if arr is None:
        values, n_missing, n_inf = numeric_values(series)
        finite_keys = keys[: len(values)]  # unparseable rows: keys only need to be uniform
    else:
        finite = np.isfinite(arr)
        values, finite_keys = arr[finite], keys[finite]
        n_missing = int(np.isnan(arr).sum())
        n_inf = int(len(arr) - finite.sum() - n_missing)
    take = _bottom_k(finite_keys, k)
    count = len(values)
    mean = float(values.mean()) if count else 0.0
    return {
        "n_missing": n_missing, "n_inf": n_inf, "count": count, "mean": mean,
        "m2": float(((values - mean) ** 2).sum()) if count else 0.0,
        "min": float(values.min()) if count else np.inf,
        "max": float(values.max()) if count else -np.inf,
        "keys": finite_keys[take], "values": values[take],
    }


def _sample_state(series: pd.Series, keys: np.ndarray, k: int) -> dict[str, Any]:
    present = series.notna().to_numpy()
    values = series[present].tolist()
    present_keys = keys[present]
    take = _bottom_k(present_keys, k)
    return {"n_missing": int((~present).sum()), "keys": present_keys[take],
            "values": [values[i] for i in take]}


def merge_states(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]],
                 params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Merge two chunk summaries column by column."""
    return {name: _merge_column(a[name], b[name], params) for name in a}


def _merge_column(a: dict[str, Any], b: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    out = {"kind": a["kind"], "dtype": a["dtype"], "n": a["n"] + b["n"],
           "n_missing": a["n_missing"] + b["n_missing"]}
    if a["kind"] == "categorical":
        counts = dict(a["counts"])
        for key, count in b["counts"].items():
            counts[key] = counts.get(key, 0) + count
        out["counts"] = counts
        return out
    k = int(params["max_sample" if a["kind"] == "numeric" else "max_text_sample"])
    keys = np.concatenate([a["keys"], b["keys"]])
    take = _bottom_k(keys, k)
    out["keys"] = keys[take]
    if a["kind"] == "numeric":
        out["values"] = np.concatenate([a["values"], b["values"]])[take]
        out.update(_merge_moments(a, b))
    else:
        values = list(a["values"]) + list(b["values"])
        out["values"] = [values[i] for i in take]
    return out


def _merge_moments(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    n = a["count"] + b["count"]
    delta = b["mean"] - a["mean"]
    mean = a["mean"] + delta * b["count"] / n if n else 0.0
    m2 = a["m2"] + b["m2"] + (delta**2 * a["count"] * b["count"] / n if n else 0.0)
    return {"n_inf": a["n_inf"] + b["n_inf"], "count": n, "mean": mean, "m2": m2,
            "min": min(a["min"], b["min"]), "max": max(a["max"], b["max"])}


def psi_bins(sorted_sample: np.ndarray, n_bins: int = N_PSI_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Inner quantile edges of a sorted sample and its counts per bin.

    Returns
    -------
    edges : ndarray of shape (n_edges,)
        Distinct inner quantiles; bin ``i`` holds ``edges[i-1] <= x < edges[i]``.
    counts : ndarray of shape (n_edges + 1,), int64
    """
    if len(sorted_sample) == 0:
        return np.empty(0), np.zeros(1, dtype=np.int64)
    edges = np.unique(np.quantile(sorted_sample, np.arange(1, n_bins) / n_bins))
    return edges, bin_counts_sorted(sorted_sample, edges)


def bin_counts_sorted(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (see :func:`psi_bins`) of already sorted values."""
    below = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate([[0], below, [len(sorted_values)]])).astype(np.int64)


def finalize_column(name: str, state: dict[str, Any]) -> dict[str, Any]:
    """Turn a merged state into :class:`~assay.deploy.profile.ColumnProfile` fields."""
    out: dict[str, Any] = {"name": name, "kind": state["kind"], "dtype": state["dtype"],
                           "n": int(state["n"]), "n_missing": int(state["n_missing"])}
    kind = state["kind"]
    if kind == "categorical":
        out["categories"] = _cap_categories(state["counts"])
    elif kind == "numeric":
        out.update(_finalize_numeric(state))
    elif kind == "embedding":
        out["sample"] = _stack_vectors(name, state["values"])
    elif kind == "text":
        out["sample"] = [str(v) for v in state["values"]]
    return out


def _cap_categories(counts: dict[str, int]) -> dict[str, int]:
    if len(counts) <= MAX_CATEGORIES:
        return dict(sorted(counts.items()))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(sorted(ranked[: MAX_CATEGORIES - 1]))
    kept[OTHER] = kept.get(OTHER, 0) + sum(c for _, c in ranked[MAX_CATEGORIES - 1:])
    return kept


def _finalize_numeric(state: dict[str, Any]) -> dict[str, Any]:
    count = state["count"]
    sample = np.sort(np.asarray(state["values"], dtype=np.float64))
    edges, counts = psi_bins(sample)
    return {
        "n_inf": int(state["n_inf"]),
        "mean": float(state["mean"]) if count else None,
        "std": float(np.sqrt(state["m2"] / count)) if count else None,
        "min": float(state["min"]) if count else None,
        "max": float(state["max"]) if count else None,
        "sample": sample, "bin_edges": edges, "bin_counts": counts,
    }


def _stack_vectors(name: str, values: list[Any]) -> np.ndarray:
    if not values:
        return np.empty((0, 0))
    lengths = {len(v) for v in values}
    if len(lengths) > 1:
        raise InputError(
            f"column {name!r} holds vectors of different lengths {sorted(lengths)[:5]}; "
            "an embedding column needs one vector length."
        )
    return np.asarray(np.vstack([np.asarray(v, dtype=np.float64) for v in values]))
