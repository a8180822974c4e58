"""Fast two-sample statistics for drift checks (numpy + scipy, no pandas in hot loops).

* :func:`ks_wasserstein` computes the two-sample KS statistic and the 1-Wasserstein
  distance exactly from two sorted arrays in one linear merge (one ``np.searchsorted``
  of the reference into the current batch, then cumulative counts), the same values as ``scipy.stats.ks_2samp`` and
  ``scipy.stats.wasserstein_distance`` give.
* :func:`ks_pvalue` uses scipy's exact distribution for small samples and the
  asymptotic one (as ``ks_2samp(method="asymp")``) otherwise, and the limiting
  Kolmogorov distribution for very large samples.
* :func:`constant_reference`: the test and effect size used instead of KS and
  Wasserstein / std when the reference is constant (its std is zero).
* :func:`psi`, :func:`chi_square_js`, :func:`two_proportion_test`,
  :func:`adjust_pvalues` (Benjamini-Hochberg or Holm).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

__all__ = [
    "adjust_pvalues",
    "chi_square_js",
    "constant_reference",
    "ks_pvalue",
    "ks_wasserstein",
    "psi",
    "two_proportion_test",
]

#: Below this ``n_ref * n_cur`` the KS p-value uses scipy's exact computation.
EXACT_KS_LIMIT = 10_000
#: Above this effective size ``n_ref n_cur / (n_ref + n_cur)`` the KS p-value uses the
#: limiting Kolmogorov distribution (as fast, and within 1e-3 of ``kstwo`` there).
ASYMPTOTIC_KS_N = 10_000
#: Bin shares are clipped to this floor in PSI so that empty bins stay finite.
PSI_EPS = 1e-4


def ks_wasserstein(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """KS statistic and 1-Wasserstein distance of two sorted, non-empty samples.

    Parameters
    ----------
    ref : ndarray of shape (n_ref,), sorted
    cur : ndarray of shape (n_cur,), sorted

    Returns
    -------
    ks : float
        ``sup |F_ref - F_cur|``.
    wasserstein : float
        ``integral |F_ref - F_cur| dx``.
    """
    n, m = len(ref), len(cur)
    # Merge without sorting: with ties, reference values go first (a stable merge).
    pos_ref = np.searchsorted(cur, ref, side="left")
    pos_ref += np.arange(n)
    is_ref = np.zeros(n + m, dtype=bool)
    is_ref[pos_ref] = True
    union = np.empty(n + m)
    union[pos_ref] = ref
    union[np.flatnonzero(~is_ref)] = cur
    # n*m*|F_ref - F_cur| after k merged values = |seen_ref*(n+m) - k*n|, in place
    gap = np.cumsum(is_ref, dtype=np.int64) * float(n + m)
    gap -= np.arange(1, n + m + 1, dtype=np.float64) * n
    np.abs(gap, out=gap)
    step = np.diff(union)
    # Inside a run of ties only the last position is a real value of both CDFs.
    ks = max(float(gap[:-1][step > 0].max(initial=0.0)), float(gap[-1])) / (n * m)
    wasserstein = float(np.sum(gap[:-1] * step)) / (n * m)
    return ks, wasserstein


def ks_pvalue(ks: float, n_ref: int, n_cur: int, ref: np.ndarray, cur: np.ndarray) -> float:
    """Two-sided p-value of the KS statistic (exact for small samples)."""
    if n_ref * n_cur <= EXACT_KS_LIMIT:
        return float(stats.ks_2samp(ref, cur, method="exact").pvalue)
    en = n_ref * n_cur / (n_ref + n_cur)
    if en <= ASYMPTOTIC_KS_N:
        return float(np.clip(stats.kstwo.sf(ks, np.round(en)), 0.0, 1.0))
    return float(np.clip(stats.kstwobign.sf(ks * np.sqrt(en)), 0.0, 1.0))


def constant_reference(value: float, tol: float, n_ref: int,
                       cur: np.ndarray) -> tuple[float, float, float]:
    """Test a sorted current sample against a constant reference (all values ``value``).

    The reference standard deviation is zero, so the Wasserstein distance cannot be
    normalised by it (floating-point noise in a computed std of ~1e-17 gave effect sizes
    of ~1e15). Instead:

    * the test is Fisher's exact test of the share of values that differ from ``value``
      (by more than ``tol``): 0 of ``n_ref`` in the reference, ``k`` of ``n_cur`` now;
    * the effect size is the 1-Wasserstein distance ``mean |x - value|`` divided by the
      standard deviation of the equal-weight mixture of both distributions,
      ``sqrt(var_cur / 2 + (mean_cur - value)**2 / 4)``. It is unit-free and bounded by
      2 (a current batch constant at another value); when a share ``p`` of the values
      moves by any amount it is ``2 sqrt(p / (2 - p))``, so the default threshold 0.1
      means about 0.5% of the values left the constant.

    Parameters
    ----------
    value : float
        The reference constant.
    tol : float
        Values within ``tol`` of ``value`` count as equal to it (floating-point noise).
    n_ref : int
        Finite reference values.
    cur : ndarray of shape (n_cur,), sorted, non-empty

    Returns
    -------
    share, p_value, effect : float
        Share of current values that differ, the p-value and the effect size (0 and 1.0
        and 0 when no value differs).
    """
    n_cur = len(cur)
    same = np.searchsorted(cur, value + tol, side="right") - np.searchsorted(
        cur, value - tol, side="left")
    k = int(n_cur - same)
    if k == 0:
        return 0.0, 1.0, 0.0
    p_value = float(stats.fisher_exact([[0, max(n_ref, 1)], [k, n_cur - k]]).pvalue)
    gap = cur - value
    w1 = float(np.abs(gap).mean())
    scale = float(np.sqrt(gap.var() / 2 + gap.mean() ** 2 / 4))
    return k / n_cur, p_value, min(w1 / scale, 2.0) if scale > 0 else 2.0


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index over the same bins (shares clipped at 1e-4).

    Parameters
    ----------
    ref_counts, cur_counts : ndarray of shape (n_bins,)
    """
    p = np.clip(ref_counts / max(ref_counts.sum(), 1), PSI_EPS, None)
    q = np.clip(cur_counts / max(cur_counts.sum(), 1), PSI_EPS, None)
    return float(np.sum((q - p) * np.log(q / p)))


def chi_square_js(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float, float]:
    """Chi-square test of homogeneity and Jensen-Shannon distance (base 2, in [0, 1]).

    Parameters
    ----------
    ref_counts, cur_counts : ndarray of shape (n_categories,)
        Counts over the same categories (the union of both sides).

    Returns
    -------
    chi2, p_value, js_distance : float
    """
    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]]).astype(np.float64)
    if table.shape[1] < 2 or table[0].sum() == 0 or table[1].sum() == 0:
        return 0.0, 1.0, 0.0 if table.shape[1] < 2 else 1.0
    chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    js = float(jensenshannon(table[0], table[1], base=2))
    return float(chi2), float(p_value), js


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Two-sided pooled z-test of ``k1/n1 == k2/n2``.

    Returns
    -------
    z, p_value : float
        ``(0.0, 1.0)`` when a side is empty or the pooled rate is 0 or 1.
    """
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 0.0, 1.0
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k2 / n2 - k1 / n1) / se
    return float(z), float(2 * stats.norm.sf(abs(z)))


def adjust_pvalues(p_values: np.ndarray, method: str) -> np.ndarray:
    """Adjust p-values for multiple testing; NaN entries are left out and kept NaN.

    Parameters
    ----------
    p_values : ndarray of shape (n_tests,)
    method : {"bh", "holm", "none"}
        Benjamini-Hochberg (false discovery rate), Holm (family-wise error), or none.
    """
    out = np.full(len(p_values), np.nan)
    ok = ~np.isnan(p_values)
    p = p_values[ok]
    if len(p) == 0 or method == "none":
        out[ok] = p
        return out
    if method == "bh":
        out[ok] = stats.false_discovery_control(p, method="bh")
        return out
    order = np.argsort(p)
    holm = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty(len(p))
    adjusted[order] = np.minimum(holm, 1.0)
    out[ok] = adjusted
    return out
