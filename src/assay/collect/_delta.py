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
the better interval (the delta interval is clipped to the statistic's range), which is
why :func:`assay.collect.agreement.agreement` keeps it as its default.
``tests/collect/test_agreement_delta.py`` compares the two on real crowd data.

The computation has two passes, so it runs where the items do not fit in memory (one
Dask partition at a time): the sums ``S`` (:class:`Totals`) give the estimates and the
gradients (:func:`linearise`); the item influences then only need to be summarised,
by count, mean and sum of squared deviations (:class:`Moments`), which merge exactly
across partitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from assay.collect._bootstrap import Features
from assay.collect._stats import alpha_distance

__all__ = ["KEYS", "Linearisation", "Moments", "Totals", "cohen_delta_interval",
           "delta_intervals", "influence_moments", "intervals_from", "linearise",
           "point_estimates"]

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054

#: The statistics, in the order of :class:`Moments`' entries.
KEYS = ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "cohen_kappa")

#: The range of each statistic: an interval never leaves it (percent agreement is a
#: share; the kappas and alpha are at most 1 and, for these intervals, at least -1).
BOUNDS = {
    "percent_agreement": (0.0, 1.0),
    "fleiss_kappa": (-1.0, 1.0),
    "krippendorff_alpha": (-1.0, 1.0),
    "cohen_kappa": (-1.0, 1.0),
}


@dataclass(frozen=True)
class Totals:
    """The sums over the items with two or more labels that the statistics are
    functions of.

    Attributes
    ----------
    m : int
        Items with two or more labels.
    p_sum : float
        Sum of their item agreements ``P_i``.
    mass : ndarray of shape (k,)
        Labels per class.
    coinc : ndarray of shape (k, k)
        Krippendorff's coincidence matrix.
    cohen : ndarray of shape (n_pairs, k, k)
        Confusion matrices of the annotator pairs in the mean Cohen's kappa.
    """

    m: int
    p_sum: float
    mass: np.ndarray
    coinc: np.ndarray
    cohen: np.ndarray

    @classmethod
    def of(cls, f: Features) -> Totals:
        """The totals of the per-item features ``f``."""
        k = f.n_classes
        return cls(len(f.p_item), float(f.p_item.sum()),
                   np.asarray(f.counts.sum(axis=0)).ravel(),
                   np.asarray(f.coinc.sum(axis=0)).reshape(k, k),
                   np.asarray(f.cohen.sum(axis=0)).reshape(f.n_pairs, k, k))


@dataclass(frozen=True)
class Linearisation:
    """The estimates and what their item influences need (see :func:`influence_moments`).

    Attributes
    ----------
    point : dict of str -> float
        The four statistics (:data:`KEYS`).
    m : int
        Items with two or more labels.
    p_c : ndarray of shape (k,)
        Class shares among their labels.
    total : float
        Their labels.
    alpha : ndarray of shape (k * k,)
        d alpha / d coincidence cell (zero where alpha is undefined).
    cohen : ndarray of shape (n_pairs * k * k,)
        d mean kappa / d confusion cell.
    """

    point: dict[str, float]
    m: int
    p_c: np.ndarray
    total: float
    alpha: np.ndarray
    cohen: np.ndarray


@dataclass(frozen=True)
class Moments:
    """Count, mean and sum of squared deviations of each statistic's item influences
    (entries in the order of :data:`KEYS`); ``a + b`` merges two sets of items exactly
    (Chan, Golub and LeVeque's pairwise update)."""

    n: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, influence: np.ndarray) -> Moments:
        """The moments of an (n_items, 4) array of influences."""
        if not len(influence):
            return cls(0, np.zeros(len(KEYS)), np.zeros(len(KEYS)))
        mean = influence.mean(axis=0)
        return cls(len(influence), mean, ((influence - mean) ** 2).sum(axis=0))

    def __add__(self, other: Moments) -> Moments:
        if not self.n or not other.n:
            return other if not self.n else self
        n = self.n + other.n
        step = other.mean - self.mean
        return Moments(n, self.mean + step * other.n / n,
                       self.m2 + other.m2 + step**2 * self.n * other.n / n)


def _fleiss(t: Totals) -> tuple[float, np.ndarray, float, float]:
    """Fleiss' kappa, the class shares, chance agreement and total labels."""
    total = float(t.mass.sum())
    p_c = t.mass / total
    p_e = float(p_c @ p_c)
    p_bar = t.p_sum / t.m
    return ((p_bar - p_e) / (1 - p_e) if p_e < 1 else np.nan), p_c, p_e, total


def _alpha_value(o: np.ndarray, nu: np.ndarray, level: str, values: np.ndarray | None) -> float:
    """Alpha of the coincidences ``o`` with the distances of the marginals ``nu``."""
    dist = alpha_distance(level, nu, values)
    n_c = o.sum(axis=1)
    expected = float(n_c @ dist @ n_c)
    return 1.0 - (n_c.sum() - 1.0) * float(np.sum(o * dist)) / expected if expected > 0 \
        else np.nan


def _alpha_gradient(o: np.ndarray, level: str, values: np.ndarray | None) -> np.ndarray:
    """d alpha / d o_ab, flattened (``k * k``), distances depending on the marginals
    (the ordinal metric) differentiated numerically."""
    k = len(o)
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
    return np.asarray(grad.ravel())


def _cohen_gradient(conf: np.ndarray) -> tuple[float, np.ndarray]:
    """The weighted mean kappa of the pair confusions ``conf`` (n_pairs, k, k) and its
    gradient by confusion cell, flattened."""
    k = conf.shape[-1]
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


def point_estimates(t: Totals, level: str, values: np.ndarray | None
                    ) -> tuple[float, float, float]:
    """Percent agreement, Fleiss' kappa and Krippendorff's alpha from the totals (NaN
    where undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        fleiss = _fleiss(t)[0]
        alpha = _alpha_value(t.coinc, t.coinc.sum(axis=1), level, values)
    return float(t.p_sum / t.m), float(fleiss), float(alpha)


def linearise(t: Totals, level: str, values: np.ndarray | None) -> Linearisation:
    """The four estimates and their gradients from the totals.

    Parameters
    ----------
    t : Totals
    level : {"nominal", "ordinal", "interval"}
    values : ndarray of shape (k,), optional
        Numeric class values (interval level).
    """
    p_bar, fleiss, alpha = point_estimates(t, level, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        _, p_c, _, total = _fleiss(t)
        alpha_grad = (_alpha_gradient(t.coinc, level, values) if np.isfinite(alpha)
                      else np.zeros(t.coinc.size))
        kappa, cohen_grad = _cohen_gradient(t.cohen)
    point = dict(zip(KEYS, (p_bar, fleiss, alpha, kappa), strict=True))
    return Linearisation(point, t.m, p_c, total, alpha_grad, cohen_grad)


def influence_moments(f: Features, lin: Linearisation) -> Moments:
    """The moments of the item influences of the items in ``f`` (a subset of all).

    The influence of item ``i`` on a statistic ``h(S)`` is ``grad h . F_i``; for
    percent agreement ``(P_i - P_bar) / m``.
    """
    p_bar, p_e = lin.point["percent_agreement"], float(lin.p_c @ lin.p_c)
    n_i = np.asarray(f.counts.sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        d_pbar = (f.p_item - p_bar) / lin.m
        d_pe = 2.0 * (f.counts @ lin.p_c - p_e * n_i) / lin.total
        fleiss = d_pbar / (1 - p_e) + (p_bar - 1) / (1 - p_e) ** 2 * d_pe
    alpha = f.coinc @ lin.alpha
    cohen = sparse.csr_matrix(f.cohen) @ lin.cohen if f.n_pairs else np.zeros(len(f.p_item))
    return Moments.of(np.column_stack([d_pbar, fleiss, alpha, cohen]))


def intervals_from(lin: Linearisation, moments: Moments) -> dict[str, tuple[float, float]]:
    """``theta +- 1.96 se`` of each statistic (``se`` the root of the summed squared
    deviations of its influences), clipped to its range (:data:`BOUNDS`); NaN where a
    statistic or its influences are undefined."""
    out = {}
    for key, m2, mean in zip(KEYS, moments.m2, moments.mean, strict=True):
        spread = float(m2) if lin.m >= 2 and np.isfinite(mean) else np.nan
        out[key] = _bounded(lin.point[key], spread, key)
    return out


def _bounded(theta: float, m2: float, key: str) -> tuple[float, float]:
    """``theta +- 1.96 sqrt(m2)`` clipped to the range of statistic ``key``; NaN when
    either is undefined."""
    if not np.isfinite(theta) or not np.isfinite(m2):
        return (np.nan, np.nan)
    se = float(np.sqrt(m2))
    low, high = BOUNDS[key]
    return (float(max(low, theta - Z95 * se)), float(min(high, theta + Z95 * se)))


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
    if len(f.p_item) < 2:
        return {key: (np.nan, np.nan) for key in KEYS}
    lin = linearise(Totals.of(f), level, values)
    return intervals_from(lin, influence_moments(f, lin))


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
    if len(f.p_item) < 2 or not f.n_pairs:
        return (np.nan, np.nan)
    k = f.n_classes
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, grad = _cohen_gradient(np.asarray(f.cohen.sum(axis=0)).reshape(f.n_pairs, k, k))
        influence = np.asarray(sparse.csr_matrix(f.cohen) @ grad)
        m2 = float(((influence - influence.mean()) ** 2).sum())
    return _bounded(mean, m2, "cohen_kappa")
