"""Delta-method 95% intervals for the agreement statistics: no resampling.

Every statistic ``theta`` of :mod:`assay.collect._bootstrap` is a smooth function
``h(S)`` of sums over items, ``S = sum_i w_i F_i`` (unit weights for the data). The
item bootstrap re-weights the items by multinomial counts, whose covariance is
``I - 11^T / m``; to first order its variance is therefore ``sum_i (U_i - U_bar)^2``
with the item influence ``U_i = grad h(S) . F_i`` (the infinitesimal jackknife).
The gradients are analytic (one vector per statistic), so the whole interval costs a
sparse matrix-vector product per statistic instead of hundreds of resamples; the
interval is ``theta +- 1.96 se``.

It estimates the same spread as the percentile bootstrap and agrees with it when the
bootstrap distribution is close to normal, i.e. with many items; with few items, or
a statistic near its bound (kappa near 1), the percentile bootstrap (asymmetric) is
the better interval (the delta interval is clipped to the statistic's range), which is why :func:`assay.collect.agreement.agreement` keeps it
as its default. ``tests/collect/test_agreement_delta.py`` compares the two on real
crowd data.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from assay.collect._bootstrap import Features, replicate_stats
from assay.collect._stats import alpha_distance

__all__ = ["cohen_delta_interval", "delta_intervals"]

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054


def _fleiss_influence(f: Features, p_bar: float) -> np.ndarray:
    m = len(f.p_item)
    mass = np.asarray(f.counts.sum(axis=0)).ravel()
    total = mass.sum()
    p_c = mass / total
    p_e = float(p_c @ p_c)
    n_i = np.asarray(f.counts.sum(axis=1)).ravel()
    d_pbar = (f.p_item - p_bar) / m
    d_pe = 2.0 * (f.counts @ p_c - p_e * n_i) / total
    return np.asarray(d_pbar / (1 - p_e) + (p_bar - 1) / (1 - p_e) ** 2 * d_pe)


def _alpha_value(o: np.ndarray, nu: np.ndarray, level: str, values: np.ndarray | None) -> float:
    """Alpha of the coincidences ``o`` with the distances of the marginals ``nu``."""
    dist = alpha_distance(level, nu, values)
    n_c = o.sum(axis=1)
    expected = float(n_c @ dist @ n_c)
    return 1.0 - (n_c.sum() - 1.0) * float(np.sum(o * dist)) / expected


def _alpha_gradient(f: Features, level: str, values: np.ndarray | None) -> np.ndarray:
    """d alpha / d o_ab, flattened (``k * k``), distances depending on the marginals
    (the ordinal metric) differentiated numerically."""
    k = f.n_classes
    o = np.asarray(f.coinc.sum(axis=0)).reshape(k, k)
    n_c = o.sum(axis=1)
    n_tot = n_c.sum()
    dist = alpha_distance(level, n_c, values)
    d_o = float(np.sum(o * dist))
    d_e = float(n_c @ dist @ n_c)
    dn = dist @ n_c
    grad = -(d_o / d_e + (n_tot - 1) * dist / d_e - (n_tot - 1) * d_o * 2 * dn[:, None] / d_e**2)
    if level == "ordinal":
        step = 1e-6 * max(n_tot, 1.0)
        for a in range(k):
            up, down = n_c.copy(), n_c.copy()
            up[a] += step
            down[a] -= step
            slope = _alpha_value(o, up, level, values) - _alpha_value(o, down, level, values)
            grad[a, :] += slope / (2 * step)  # o_ab feeds the marginal nu_a
    return grad.ravel()


def _cohen_gradient(f: Features) -> tuple[float, np.ndarray]:
    """The weighted mean kappa over the fixed pairs and its gradient by confusion cell."""
    k = f.n_classes
    conf = np.asarray(f.cohen.sum(axis=0)).reshape(f.n_pairs, k, k)
    n = conf.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        rows, cols = conf.sum(axis=2), conf.sum(axis=1)
        po = np.trace(conf, axis1=1, axis2=2) / n
        pe = np.einsum("pk,pk->p", rows, cols) / (n * n)
        kappa = (po - pe) / (1 - pe)
        ok = np.isfinite(kappa) & (n > 0) & (pe < 1)
        total = n[ok].sum()
        mean = float((kappa[ok] * n[ok]).sum() / total) if total else np.nan
        eye = np.eye(k)[None]
        d_po = (eye - po[:, None, None]) / n[:, None, None]
        d_pe = (cols[:, :, None] + rows[:, None, :]) / (n * n)[:, None, None] - (2 * pe / n)[
            :, None, None
        ]
        d_kappa = d_po / (1 - pe)[:, None, None] + ((po - 1) / (1 - pe) ** 2)[:, None, None] * d_pe
        grad = (kappa[:, None, None] + n[:, None, None] * d_kappa - mean) / total
    grad[~ok] = 0.0
    return mean, np.nan_to_num(grad).ravel()


#: The range of each statistic: an interval never leaves it (percent agreement is a
#: share; the kappas and alpha are at most 1 and, for these intervals, at least -1).
BOUNDS = {
    "percent_agreement": (0.0, 1.0),
    "fleiss_kappa": (-1.0, 1.0),
    "krippendorff_alpha": (-1.0, 1.0),
    "cohen_kappa": (-1.0, 1.0),
}


def _interval(theta: float, influence: np.ndarray, key: str) -> tuple[float, float]:
    """``theta +- 1.96 se``, clipped to the statistic's range (:data:`BOUNDS`)."""
    if not np.isfinite(theta) or not np.all(np.isfinite(influence)):
        return (np.nan, np.nan)
    se = float(np.sqrt(np.sum((influence - influence.mean()) ** 2)))
    low, high = BOUNDS[key]
    return (max(low, theta - Z95 * se), min(high, theta + Z95 * se))


def delta_intervals(
    f: Features, level: str, values: np.ndarray | None
) -> dict[str, tuple[float, float]]:
    """Delta-method 95% intervals of ``percent_agreement``, ``fleiss_kappa``,
    ``krippendorff_alpha`` and ``cohen_kappa`` (the mean over the fixed pairs), keyed
    as :func:`assay.collect._bootstrap.bootstrap_intervals` keys them.

    Parameters
    ----------
    f : Features
        The per-item features of :func:`assay.collect._bootstrap.item_features`.
    level : {"nominal", "ordinal", "interval"}
    values : ndarray of shape (n_classes,), optional
        Numeric class values (interval level).

    Returns
    -------
    dict of str -> (low, high)
        NaN where a statistic is undefined.
    """
    m = len(f.p_item)
    if m < 2:
        return {
            k: (np.nan, np.nan)
            for k in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "cohen_kappa")
        }
    point = {k: float(v[0]) for k, v in replicate_stats(f, np.ones((1, m)), level, values).items()}
    out = {}
    p_bar = point["percent_agreement"]
    out["percent_agreement"] = _interval(p_bar, (f.p_item - p_bar) / m, "percent_agreement")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["fleiss_kappa"] = _interval(
            point["fleiss_kappa"], _fleiss_influence(f, p_bar), "fleiss_kappa"
        )
        alpha = point["krippendorff_alpha"]
        influence = f.coinc @ _alpha_gradient(f, level, values) if np.isfinite(alpha) else None
        out["krippendorff_alpha"] = (
            _interval(alpha, np.asarray(influence), "krippendorff_alpha")
            if influence is not None
            else (np.nan, np.nan)
        )
        out["cohen_kappa"] = cohen_delta_interval(f)
    return out


def cohen_delta_interval(f: Features) -> tuple[float, float]:
    """Delta-method 95% interval of the mean Cohen's kappa over the fixed pairs.

    Parameters
    ----------
    f : Features
        The per-item features (``f.cohen`` of shape (m, n_pairs * k * k)).

    Returns
    -------
    (low, high)
        NaN when the mean kappa is undefined.
    """
    m = len(f.p_item)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, grad = _cohen_gradient(f)
        influence = sparse.csr_matrix(f.cohen) @ grad if f.n_pairs else np.full(m, np.nan)
        return _interval(mean, np.asarray(influence), "cohen_kappa")
