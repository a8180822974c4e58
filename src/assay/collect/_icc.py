"""Intraclass correlations ICC(2,1) and ICC(3,1) with their F-distribution intervals.

Shrout & Fleiss (1979), with the confidence intervals of McGraw & Wong (1996), on a
complete items x raters table (the two-way ANOVA without replication):

* ``MSR = k sum_i (xbar_i - xbar)^2 / (n - 1)`` (items), ``MSC = n sum_j (xbar_j -
  xbar)^2 / (k - 1)`` (raters), ``MSE = SSE / ((n - 1)(k - 1))``;
* ICC(2,1), two-way random effects, absolute agreement of single ratings:
  ``(MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)``;
* ICC(3,1), two-way mixed effects, consistency of single ratings:
  ``(MSR - MSE) / (MSR + (k - 1) MSE)``.

**Incomplete designs.** The ANOVA needs every rater on every item. Annotations rarely
are, so the ICCs are computed on the largest complete block: the set of raters that
rated together the most items (each item's exact set of raters, counted; ties go to
the larger set), using those items only. The table says how many items and raters that
is; on a sparse design (many annotators, a few per item) it can be a small share of
the data, and the interval says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["complete_block", "icc_table"]


def _rater_sets(item: np.ndarray, annotator: np.ndarray, n_items: int,
                n_annotators: int) -> tuple[np.ndarray, np.ndarray]:
    """Each item's set of raters as rows of int64 bit words, and its size."""
    words = max(1, -(-n_annotators // 62))
    key = np.zeros((n_items, words), dtype=np.int64)
    word, bit = annotator // 62, annotator % 62
    for w in range(words):  # one pass per 62 annotators, not per item
        sel = word == w
        np.add.at(key[:, w], item[sel], np.left_shift(np.int64(1), bit[sel]))
    return key, np.bincount(item, minlength=n_items)


def complete_block(
    item: np.ndarray, annotator: np.ndarray, value: np.ndarray, n_items: int,
    n_annotators: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The largest complete items x raters table (see the module's notes).

    Returns
    -------
    table : ndarray of shape (n_block_items, k)
        Empty (0, 0) when no two raters share an item.
    raters : ndarray of shape (k,)
        Annotator codes of the columns.
    """
    key, size = _rater_sets(item, annotator, n_items, n_annotators)
    pairable = np.flatnonzero(size >= 2)
    if not len(pairable):
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    uniq, inverse, counts = np.unique(key[pairable], axis=0, return_inverse=True,
                                      return_counts=True)
    inverse = inverse.ravel()
    set_size = np.bincount(inverse, weights=size[pairable], minlength=len(uniq)) / counts
    best = int(np.lexsort((-set_size, -counts))[0])
    chosen = pairable[inverse == best]
    rows = np.full(n_items, -1, dtype=np.int64)
    rows[chosen] = np.arange(len(chosen))
    sel = rows[item] >= 0
    raters = np.unique(annotator[sel])
    col = np.searchsorted(raters, annotator[sel])
    table = np.empty((len(chosen), len(raters)))
    table[rows[item[sel]], col] = value[sel]
    return table, raters


def _anova(table: np.ndarray) -> tuple[float, float, float]:
    """Mean squares of items (MSR), raters (MSC) and error (MSE)."""
    n, k = table.shape
    grand = table.mean()
    ssr = k * np.sum((table.mean(axis=1) - grand) ** 2)
    ssc = n * np.sum((table.mean(axis=0) - grand) ** 2)
    sse = np.sum((table - grand) ** 2) - ssr - ssc
    return ssr / (n - 1), ssc / (k - 1), max(sse, 0.0) / ((n - 1) * (k - 1))


def _icc3(msr: float, mse: float, n: int, k: int) -> tuple[float, float, float, float]:
    icc = (msr - mse) / (msr + (k - 1) * mse)
    f_stat = msr / mse
    df1, df2 = n - 1, (n - 1) * (k - 1)
    fl = f_stat / special.fdtri(df1, df2, 0.975)
    fu = f_stat * special.fdtri(df2, df1, 0.975)
    return icc, (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1), f_stat


def _icc2(msr: float, msc: float, mse: float, n: int, k: int) -> tuple[float, float, float]:
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    fc = msc / mse  # McGraw & Wong (1996), case 2A: Satterthwaite's degrees of freedom
    b = n * (1 + (k - 1) * icc) - k * icc
    v = ((k - 1) * (n - 1) * (k * icc * fc + b) ** 2
         / ((n - 1) * (k * icc * fc) ** 2 + b**2))
    fu = special.fdtri(n - 1, v, 0.975)
    fl = special.fdtri(v, n - 1, 0.975)
    low = n * (msr - fu * mse) / (fu * (k * msc + (k * n - k - n) * mse) + n * msr)
    high = n * (fl * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fl * msr)
    return icc, low, high


def icc_table(table: np.ndarray, raters: list[str]) -> pd.DataFrame:
    """ICC(2,1) and ICC(3,1) of a complete items x raters table, with 95% intervals.

    Parameters
    ----------
    table : ndarray of shape (n_items, k)
    raters : list of str
        The raters of the columns (shown in the table).

    Returns
    -------
    DataFrame indexed by ``"ICC(2,1)"``, ``"ICC(3,1)"``
        ``icc``, ``low``, ``high`` (95%), ``F`` (``MSR / MSE``), ``df1``, ``df2``,
        ``p_value`` (of ``F``), ``n_items``, ``n_raters``, ``raters``. NaN when the
        table has fewer than 2 items or raters, or no error variance.
    """
    n, k = table.shape
    names = ", ".join(map(str, raters))
    nan = {"icc": np.nan, "low": np.nan, "high": np.nan, "F": np.nan, "df1": np.nan,
           "df2": np.nan, "p_value": np.nan}
    rows = {"ICC(2,1)": dict(nan), "ICC(3,1)": dict(nan)}
    if n >= 2 and k >= 2:
        msr, msc, mse = _anova(table)
        if mse > 0:
            icc3, lo3, hi3, f_stat = _icc3(msr, mse, n, k)
            icc2, lo2, hi2 = _icc2(msr, msc, mse, n, k)
            df1, df2 = n - 1, (n - 1) * (k - 1)
            p = float(special.fdtrc(df1, df2, f_stat))
            common = {"F": f_stat, "df1": df1, "df2": df2, "p_value": p}
            rows["ICC(2,1)"] = {"icc": icc2, "low": lo2, "high": hi2, **common}
            rows["ICC(3,1)"] = {"icc": icc3, "low": lo3, "high": hi3, **common}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["n_items"] = n
    out["n_raters"] = k
    out["raters"] = names
    return out
