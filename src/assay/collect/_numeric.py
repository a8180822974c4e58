"""Numeric annotations: checked input and Krippendorff's alpha at interval/ratio level.

Everything is a sum over items, computed with ``np.bincount`` on integer codes (no
Python loop over items), so that a bootstrap replicate, a multinomial re-weighting of
the items, is a product with a few per-item feature columns.

**Interval alpha.** With ``m_u`` values on item ``u`` (items with ``m_u >= 2``, ``n``
values in all), ``SS_u`` their sum of squares about the item mean and ``SS`` the sum of
squares of all those values about their mean, the observed disagreement is
``D_o = (1/n) sum_u 2 m_u SS_u / (m_u - 1)`` and the expected ``D_e = 2 SS / (n - 1)``,
so ``alpha = 1 - (n - 1) D_o / D_e``. Values are centred
first, so large values (counts in the thousands) lose no precision.

**Ratio alpha.** ``delta^2(x, y) = ((x - y) / (x + y))^2`` (0 when ``x = y = 0``), for
non-negative values. The observed part sums ``delta^2`` over the pairs of each item.
The expected part needs every pair of values; with ``1 / (x + y)^2 = int_0^inf t
e^{-t (x + y)} dt`` it is ``sum_ij x_i x_j / (x_i + x_j)^2 = int (sum_i t x_i
e^{-t x_i})^2 d(log t)``, a one-dimensional integral of a smooth, doubly decaying
function, which the trapezoidal rule in ``log t`` (step 0.25) computes to about
``1e-14`` relative error in ``O(n x 150)`` operations instead of ``O(n^2)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assay._validation import name_rows, warn
from assay.collect.annotations import _duplicate_mask, _factorize_sorted, _prepare
from assay.exceptions import InputError

__all__ = ["NumericAnnotations", "alpha_from_sums", "encode_numeric", "item_features"]

#: Step of the trapezoidal rule in log t (ratio alpha); see the module's notes.
_STEP = 0.25


@dataclass(frozen=True)
class NumericAnnotations:
    """Numeric annotations as codes and values (one row per (item, annotator)).

    Attributes
    ----------
    item, annotator : ndarray of shape (n_annotations,), int64
        Codes into :attr:`items` and :attr:`annotators`.
    value : ndarray of shape (n_annotations,), float64
    items, annotators : pandas.Index
    """

    item: np.ndarray
    annotator: np.ndarray
    value: np.ndarray
    items: pd.Index
    annotators: pd.Index

    @property
    def n_items(self) -> int:
        """The number of distinct items."""
        return len(self.items)

    def sizes(self) -> np.ndarray:
        """Values per item, shape (n_items,)."""
        return np.bincount(self.item, minlength=self.n_items)


def _numbers(labels: pd.Series, where: str) -> np.ndarray:
    """The labels as finite floats; InputError naming the rows that are not."""
    if pd.api.types.is_bool_dtype(labels):
        raise InputError(f"{where}: the labels are true/false, not numbers; "
                         "numeric agreement needs a number per annotation.")
    values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        positions = np.flatnonzero(bad)
        shown = name_rows(positions.tolist(), labels.index)
        first = labels.iloc[int(positions[0])]
        what = "not finite" if isinstance(first, (int, float, np.number)) else "not numbers"
        raise InputError(
            f"{where}: {len(positions)} label(s) are {what} ({shown}, e.g. {first!r}); "
            "numeric agreement needs a finite number in every row (mixed kinds in one "
            "column are refused)."
        )
    return values


def encode_numeric(
    df: pd.DataFrame, *, level: str = "interval", where: str = "the annotations"
) -> NumericAnnotations:
    """Check a long-format table of numeric labels and encode it.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (or crowd-kit's ``task``, ``worker``).
    level : {"interval", "ratio"}
        Ratio labels must be non-negative.
    where : str
        How to name the table in messages.

    Returns
    -------
    NumericAnnotations
        An annotator who rated an item twice counts once (the last row, with a warning).
    """
    df = _prepare(df, where)
    values = _numbers(df["label"], where)
    if level == "ratio" and (values < 0).any():
        positions = np.flatnonzero(values < 0).tolist()
        raise InputError(
            f"{where}: level='ratio' needs non-negative labels; {len(positions)} are "
            f"negative ({name_rows(positions, df.index)}). Use level='interval'."
        )
    item, items = pd.factorize(df["item"], sort=False)
    ann, annotators = _factorize_sorted(df["annotator"])
    dup = _duplicate_mask(item, ann, len(annotators))
    if dup.any():
        warn(f"{where}: {int(dup.sum())} annotation(s) repeat an (item, annotator) pair; "
             "kept the last one of each. Remove the repeats to silence this warning.")
        keep = ~dup
        item, ann, values = item[keep], ann[keep], values[keep]
    return NumericAnnotations(np.asarray(item, dtype=np.int64), np.asarray(ann, dtype=np.int64),
                              values, pd.Index(items), pd.Index(annotators))


def _pair_ratio_sums(
    item: np.ndarray, value: np.ndarray, n_items: int, pairs: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Per item, the sum of ``delta^2`` (ratio) over its unordered pairs."""
    a, b = pairs
    va, vb = value[a], value[b]
    total = va + vb
    with np.errstate(invalid="ignore", divide="ignore"):
        d2 = np.where(total > 0, ((va - vb) / np.where(total > 0, total, 1.0)) ** 2, 0.0)
    return np.bincount(item[a], weights=d2, minlength=n_items)


def _log_nodes(positive: np.ndarray) -> np.ndarray:
    """Nodes ``t`` of the trapezoidal rule in log t covering the positive values."""
    if len(positive) == 0:
        return np.zeros(0)
    lo = -np.log(positive.max()) - 18.0
    hi = np.log(50.0 / positive.min())
    return np.exp(np.arange(lo, hi + _STEP, _STEP))


def item_features(
    enc: NumericAnnotations, level: str, pairs: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, Callable[[int, int], np.ndarray]]:
    """Per-item sums from which alpha (and each bootstrap replicate) follows.

    Parameters
    ----------
    enc : NumericAnnotations
    level : {"interval", "ratio"}
    pairs : (ndarray, ndarray)
        Row positions of the two annotations of every within-item pair.

    Returns
    -------
    keep : ndarray of shape (n_pairable,)
        The items with at least two values.
    features : callable (start, stop) -> ndarray of shape (stop - start, n_features)
        The feature columns of pairable items ``keep[start:stop]`` (computed by blocks,
        since the ratio level has one column per integration node).
    """
    m = enc.sizes().astype(np.float64)
    keep = np.flatnonzero(m >= 2)
    ok = m[enc.item] >= 2
    item, value = enc.item[ok], enc.value[ok]
    value = value - value.mean() if level == "interval" and len(value) else value
    s1 = np.bincount(item, weights=value, minlength=enc.n_items)
    s2 = np.bincount(item, weights=value * value, minlength=enc.n_items)
    if level == "interval":
        with np.errstate(invalid="ignore", divide="ignore"):
            ss = np.maximum(s2 - s1 * s1 / m, 0.0)
            within = np.where(m >= 2, 2.0 * m * ss / np.maximum(m - 1, 1), 0.0)
        base = np.column_stack([m, within, s1, s2])[keep]
        return keep, lambda lo, hi: base[lo:hi]
    within = 2.0 * _pair_ratio_sums(enc.item, enc.value, enc.n_items, pairs)
    within = np.where(m >= 2, within / np.maximum(m - 1, 1), 0.0)
    zeros = np.bincount(item, weights=(value == 0).astype(np.float64), minlength=enc.n_items)
    base = np.column_stack([m, within, zeros])[keep]
    nodes = _log_nodes(value[value > 0])
    row = np.full(enc.n_items, -1, dtype=np.int64)
    row[keep] = np.arange(len(keep))
    order = np.argsort(row[item], kind="stable")
    sorted_rows, sorted_values = row[item][order], value[order]
    bounds = np.searchsorted(sorted_rows, np.arange(len(keep) + 1))

    def features(lo: int, hi: int) -> np.ndarray:
        r, v = sorted_rows[bounds[lo]:bounds[hi]] - lo, sorted_values[bounds[lo]:bounds[hi]]
        u = v[:, None] * nodes[None, :]
        g = np.zeros((hi - lo, len(nodes)))
        if len(r):
            _scatter(g, r, u * np.exp(-u))
        return np.hstack([base[lo:hi], g])

    return keep, features


def _scatter(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``out[rows] += values`` with repeated rows, by sorted segments (rows sorted)."""
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    out[rows[starts]] += np.add.reduceat(values, starts, axis=0)


def alpha_from_sums(sums: np.ndarray, level: str) -> np.ndarray:
    """Alpha of each row of the (weighted) feature sums.

    Parameters
    ----------
    sums : ndarray of shape (b, n_features)
        ``w @ features`` for ``b`` item weightings.
    level : {"interval", "ratio"}

    Returns
    -------
    ndarray of shape (b,)
        NaN when there is no expected disagreement (a single value throughout).
    """
    n, within = sums[:, 0], sums[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        if level == "interval":
            s1, s2 = sums[:, 2], sums[:, 3]
            total = np.maximum(s2 - s1 * s1 / n, 0.0)  # sum of squares about the mean
            expected = 2.0 * n * total  # ordered pairs: sum_ij (x_i - x_j)^2
        else:
            zeros = sums[:, 2]
            positive = n - zeros
            cross = _STEP * np.sum(sums[:, 3:] ** 2, axis=1)  # sum_ij x_i x_j / (x_i+x_j)^2
            expected = 2.0 * zeros * positive + positive * positive - 4.0 * cross
        scale = np.abs(expected).max() if len(expected) else 0.0
        ok = expected > 1e-12 * max(scale, 1e-300)
        return np.where(ok, 1.0 - (n - 1.0) * within / np.where(ok, expected, 1.0), np.nan)
