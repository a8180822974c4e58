"""Automatic slice discovery: where does the model err most?

:func:`find_slices` runs SliceLine (:mod:`assay.train.slices.sliceline`) over the metadata and,
when embeddings are given, clusters the error-weighted embeddings. Every slice comes
with its size, error rate against the overall rate, score, a 95% Wilson interval, a
one-sided p-value and a Benjamini-Hochberg q-value.

Multiple testing: the p-value of a slice tests "its error rate exceeds the overall
rate" (exact binomial test for 0/1 errors, z-test for real-valued errors). The
Benjamini-Hochberg adjustment runs over *every* slice the search evaluated with at
least ``min_support`` rows (not only the ``k`` returned), so the q-values account for
the search; ``is_significant`` is ``q_value <= fdr``. The test treats the slice as
fixed, so slices picked for their high error rate remain somewhat optimistic; confirm a
slice on fresh data before acting on a borderline one.

Default ``alpha``: 0.9, chosen by measurement (``benchmarks/slices.py``, planted
slices on the digits, 20 runs): precision@1 is 1.0 at 0.8-0.925, drops at 0.95 (lucky
small sub-slices such as "source = s1 AND scanner = A" start to win) and is 0 at 0.6,
the published default, where the size penalty outweighs even a 4x error rate on 1/8 of
the data and no slice scores above 0.

The tag table (:func:`assay.train.slices.slice_table`) and the recommendations
(:func:`assay.train.slices.recommend`) are exported by the package.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import (
    InstanceOf,
    Integral,
    Interval,
    Real,
    index_of,
    name_rows,
    plain_value,
    validate_params,
)
from assay.exceptions import InputError
from assay.train._table_report import TableReport
from assay.train.slices._embedding import embedding_slices
from assay.train.slices._stats import bh_adjust, error_interval, error_rate_pvalues
from assay.train.slices.sliceline import EncodedMetadata, encode_metadata, sliceline_search

__all__ = ["SliceReport", "find_slices"]

_FUNC = "find_slices"
DEFAULT_ALPHA = 0.9


class SliceReport(TableReport):
    """The slices :func:`find_slices` found, best first.

    Attributes
    ----------
    table : DataFrame
        One row per slice: ``slice`` (predicate or description), ``kind``
        ("metadata" or "embedding"), ``n_predicates``, ``size``, ``share``, ``errors``,
        ``error_rate`` (the mean error: a rate for 0/1 errors, a mean loss otherwise),
        ``error_rate_low``, ``error_rate_high`` (95%: Wilson's for a rate, the normal
        interval of the mean for a loss),
        ``overall_error_rate``, ``lift``, ``score``, ``p_value``, ``q_value``,
        ``is_significant``, ``examples`` (embedding slices: typical error rows),
        ``note``.
    masks : ndarray of shape (n_slices, n_samples), bool
        Row membership of each slice, in the order of ``table``.
    index : Index of length n_samples
        The input's row labels.
    notes : list of str
        Remarks about the input (e.g. no errors at all).
    """

    title = "Slices where the model errs most"

    def __init__(
        self, table: pd.DataFrame, masks: np.ndarray, index: pd.Index, notes: list[str],
        params: dict[str, Any],
    ) -> None:
        self.table = table
        self.masks = masks
        self.index = index
        self.notes = notes
        self.params = params

    @property
    def losses(self) -> bool:
        """Whether the errors were real-valued losses (``error_rate`` is then a mean
        loss), not 0/1."""
        return self.params.get("errors", "0/1") == "loss"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (see :class:`TableReport`), with ``errors``: "0/1" or
        "loss"."""
        return {**super().to_dict(), "errors": "loss" if self.losses else "0/1"}

    def mask(self, i: int) -> np.ndarray:
        """Boolean mask of shape (n_samples,) of the rows in slice ``i``."""
        return np.asarray(self.masks[i], dtype=bool)

    def rows(self, i: int) -> pd.Index:
        """Row labels of slice ``i``."""
        return self.index[self.mask(i)]

    def summary(self) -> str:
        """Plain-text summary: the overall error (a rate, or a mean loss) and the top
        slices."""
        lines = list(self.notes)
        if len(self.table) == 0:
            return "\n".join(lines or ["no slice scores above the overall error"])
        rate = not self.losses
        show = (lambda v: f"{v:.1%}") if rate else (lambda v: f"{v:.4g}")
        what = "error rate" if rate else "mean error"
        overall = float(self.table["overall_error_rate"].iloc[0])
        lines.append(f"overall {what} {show(overall)}; {len(self.table)} slices")
        for _, r in self.table.head(5).iterrows():
            sig = "significant" if r["is_significant"] else "not significant"
            lines.append(
                f"- {r['slice']}: n={int(r['size'])}, {what} {show(r['error_rate'])} "
                f"[{show(r['error_rate_low'])}, {show(r['error_rate_high'])}], "
                f"x{r['lift']:.2f}, q={r['q_value']:.2g} ({sig})"
            )
        return "\n".join(lines)


def _check_errors(errors: Any, n: int) -> np.ndarray:
    arr = np.asarray(errors)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(
            f"errors has shape {arr.shape} but the metadata has {n} rows; give one error "
            "(0/1 or a non-negative loss) per row, in the same order."
        )
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError("errors must be numbers: 0/1, booleans or non-negative losses.") from exc
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(
            f"errors {name_rows(row, index_of(errors))} is {plain_value(arr[row])!r}; errors must "
            "be finite and non-negative (1 = wrong, 0 = right, or a loss)."
        )
    return out


def _resolve_support(min_support: float, n: int) -> int:
    if isinstance(min_support, float) and min_support < 1:
        return max(10, math.ceil(min_support * n)) if n >= 20 else max(1, math.ceil(n / 2))
    return max(1, int(min_support))


def _stats_frame(
    sizes: np.ndarray, errs: np.ndarray, sq: np.ndarray | None, n: int, mean_err: float,
) -> pd.DataFrame:
    """Per-slice statistics shared by metadata and embedding slices."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = errs / sizes
    low, high = error_interval(errs, sizes, sq)
    var = float(np.var(errs / np.maximum(sizes, 1))) if sq is not None else None
    pvals = error_rate_pvalues(errs, sizes, mean_err, sq_errors=sq, overall_var=var)
    return pd.DataFrame({
        "size": sizes.astype(np.int64), "share": sizes / n, "errors": errs,
        "error_rate": rate, "error_rate_low": low, "error_rate_high": high,
        "overall_error_rate": mean_err, "lift": rate / mean_err if mean_err > 0 else np.nan,
        "p_value": pvals,
    })


def _metadata_slices(
    data: EncodedMetadata, errors: np.ndarray, *, alpha: float, k: int, max_predicates: int,
    min_support: int, binary: bool,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Top-k metadata slices; returns (table, masks, p-values of every tested slice)."""
    n = len(errors)
    res = sliceline_search(
        data, errors, alpha=alpha, k=k, max_predicates=max_predicates, min_support=min_support
    )
    mean_err = float(errors.mean())
    tested = res.sizes >= min_support
    frame = _stats_frame(res.sizes, res.errors, None if binary else res.sq_errors, n, mean_err)
    frame["score"] = res.scores
    frame["n_predicates"] = res.level
    order = np.lexsort((-res.sizes, res.level, -res.scores))
    top = _distinct_top([i for i in order if tested[i] and res.scores[i] > 0], res, k)
    table = frame.iloc[top].reset_index(drop=True)
    table.insert(0, "slice", [data.describe(res.slices[i]) for i in top])
    table.insert(1, "kind", "metadata")
    masks = np.array([data.mask(res.slices[i]) for i in top]).reshape(len(top), n)
    return table, masks, frame["p_value"].to_numpy()[tested]


def _distinct_top(order: list[int], res: Any, k: int) -> list[int]:
    """The first k slices, skipping those that only add predicates which remove no row."""
    chosen: list[int] = []
    for i in order:
        used = res.slices[i] >= 0
        redundant = any(
            res.sizes[j] == res.sizes[i] and res.errors[j] == res.errors[i]
            and np.all(res.slices[i][res.slices[j] >= 0] == res.slices[j][res.slices[j] >= 0])
            and used.sum() > (res.slices[j] >= 0).sum()
            for j in chosen
        )
        if not redundant:
            chosen.append(i)
        if len(chosen) == k:
            break
    return chosen


@validate_params({
    "df": [InstanceOf(pd.DataFrame, "a pandas DataFrame of metadata")],
    "max_predicates": [Interval(Integral, 1, None)],
    "alpha": [Interval(Real, 1e-9, 1.0)],
    "min_support": [Interval(Real, 0, None)],
    "k": [Interval(Integral, 1, None)],
    "n_bins": [Interval(Integral, 1, None)],
    "fdr": [Interval(Real, 0.0, 1.0)],
})
def find_slices(
    df: pd.DataFrame,
    errors: Any,
    *,
    embeddings: Any = None,
    max_predicates: int = 3,
    alpha: float = DEFAULT_ALPHA,
    min_support: float = 0.01,
    k: int = 10,
    n_bins: int = 5,
    n_clusters: int = 8,
    fdr: float = 0.05,
    seed: int = 0,
) -> SliceReport:
    """Find the data slices where a model errs most.

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_features)
        Metadata: categorical columns, and numeric columns (cut into ``n_bins``
        quantile bins). May have no columns when ``embeddings`` is given.
    errors : array-like of shape (n_samples,)
        1/True where the model is wrong, 0/False where right (or a non-negative loss).
    embeddings : array-like of shape (n_samples, n_dims), optional
        When given, also clusters the error-weighted embeddings (``n_clusters``).
    max_predicates : int
        Most predicates in a conjunction (SliceLine lattice levels).
    alpha : float in (0, 1]
        Weight of the error term against the size penalty in SliceLine's score;
        0.9 by default (measured; see the module docstring).
    min_support : int or float
        Smallest slice, in rows, or as a fraction of the rows (then at least 10).
    k : int
        Number of metadata slices to return (and at most ``n_clusters`` embedding ones).
    fdr : float
        False-discovery rate for ``is_significant`` (Benjamini-Hochberg).
    seed : int
        Seed of the clustering.

    Returns
    -------
    SliceReport
    """
    err = _check_errors(errors, len(df))
    n = len(err)
    support = _resolve_support(min_support, n)
    params: dict[str, Any] = {
        "alpha": alpha, "k": k, "max_predicates": max_predicates, "min_support": support
    }
    notes = _input_notes(df, err)
    if n == 0 or err.sum() == 0 or err.min() == err.max():
        return SliceReport(_empty_table(), np.zeros((0, n), bool), df.index, notes, params)
    binary = bool(np.isin(err, (0.0, 1.0)).all())
    params["errors"] = "0/1" if binary else "loss"
    tables, masks, pvals = [], [], []
    varying = [c for c in df.columns if df[c].nunique(dropna=False) > 1]
    if varying:
        data = encode_metadata(df[varying], n_bins=n_bins)
        t, m, p = _metadata_slices(data, err, alpha=alpha, k=k, max_predicates=max_predicates,
                                   min_support=support, binary=binary)
        tables.append(t)
        masks.append(m)
        pvals.append(p)
    if embeddings is not None:
        t, m, p = embedding_slices(embeddings, err, df, n_clusters=n_clusters, alpha=alpha,
                                   min_support=support, seed=seed, binary=binary)
        tables.append(t)
        masks.append(m)
        pvals.append(p)
    return _assemble(tables, masks, pvals, fdr, df.index, notes, params)


def _assemble(
    tables: list[pd.DataFrame], masks: list[np.ndarray], pvals: list[np.ndarray], fdr: float,
    index: pd.Index, notes: list[str], params: dict[str, Any],
) -> SliceReport:
    """Join metadata and embedding slices, apply BH over every test, sort by score."""
    if not tables:
        return SliceReport(_empty_table(), np.zeros((0, len(index)), bool), index, notes, params)
    table = pd.concat([t for t in tables if len(t)] or [_empty_table()], ignore_index=True)
    mask = np.concatenate(masks, axis=0)
    table["q_value"] = _qvalues_within(table["p_value"].to_numpy(float), np.concatenate(pvals))
    table["is_significant"] = table["q_value"] <= fdr
    order = np.argsort(-table["score"].to_numpy(), kind="stable")
    table = table.iloc[order].reset_index(drop=True).reindex(columns=_COLUMNS)
    table["note"] = table["note"].astype(object).fillna("")
    table["examples"] = table["examples"].astype(object)
    if len(table) == 0:
        notes.append("no slice has errors high enough to score above 0")
    return SliceReport(table, mask[order], index, notes, params)


def _qvalues_within(p_table: np.ndarray, p_tested: np.ndarray) -> np.ndarray:
    """BH q-values of ``p_table`` (a subset of ``p_tested``) among all ``p_tested`` tests."""
    p_sorted = np.sort(p_tested[np.isfinite(p_tested)])
    if len(p_sorted) == 0:
        return np.full(p_table.shape, np.nan)
    q_sorted = np.sort(bh_adjust(p_sorted))  # BH q-values are monotone in p
    rank = np.searchsorted(p_sorted, p_table, side="right").clip(1, len(p_sorted))
    return np.where(np.isfinite(p_table), q_sorted[rank - 1], np.nan)


_COLUMNS = [
    "slice", "kind", "n_predicates", "size", "share", "errors", "error_rate", "error_rate_low",
    "error_rate_high", "overall_error_rate", "lift", "score", "p_value", "q_value",
    "is_significant", "examples", "note",
]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS})


def _input_notes(df: pd.DataFrame, err: np.ndarray) -> list[str]:
    """Plain-language remarks on degenerate input (explained, never raised)."""
    notes = []
    if len(err) and err.sum() == 0:
        notes.append("the model makes no errors on these rows: there is no slice to find")
    elif len(err) and err.min() == err.max():
        notes.append("every row has the same error: no slice can be worse than the rest")
    single = [str(c) for c in df.columns if df[c].nunique(dropna=False) <= 1]
    if single:
        notes.append(f"columns with a single value cannot define a slice: {', '.join(single)}")
    return notes
