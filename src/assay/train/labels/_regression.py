"""Label issues of a regression: numeric labels far from what the model and neighbours say.

:func:`find_regression_issues` scores every label by its robustly scaled residual
against an estimate of the true value, and flags the residuals that a two-component
mixture attributes to the wide (error) component. Every choice is made from the data,
without ground truth (measured in ``benchmarks/label_issues_kinds.py``, results in
``benchmarks/results/label_issues_kinds.md``):

1. **The estimate.** The model's out-of-sample ``predictions``, or, when ``features``
   (or precomputed ``neighbors``) are given, the blend ``(1 - w) * prediction + w *
   knn_mean`` where ``knn_mean`` is the mean label of each item's ``n_neighbors`` nearest
   neighbours (itself excluded, so it is out-of-sample too). The neighbours help where
   the model is weak (a ridge on wine-white: AUPRC 0.41 -> 0.46) and are left out where
   it is strong (gradient boosting on bike sharing).
2. **The scale.** One robust scale for all items (``1.4826 * median |residual|``), or a
   local one per quantile bin of the estimate (heteroscedastic targets such as counts:
   a rental count of 500 errs more than one of 5).
3. ``w`` and the scale model are the pair with the lowest cross-fitted Laplace
   log-likelihood of the residuals (each half of every bin scaled by the other half;
   each item's term capped, so that the label errors themselves do not decide).
4. **The estimate's own uncertainty.** Where the blend uses both estimates
   (``0 < w < 1``), their disagreement says how sure the estimate is for this item: if
   the two err independently and ``w`` weighs them optimally, the blend's error variance
   is ``w (1 - w) (prediction - knn_mean)^2``. That per-item (epistemic) variance is added
   to the scale's square, and its median taken off the shared part, so that the typical
   scale stays the robust one and items where the two estimates disagree are judged
   less harshly (wine-red AUPRC 0.508 -> 0.519, wine-white 0.518 -> 0.522; as
   cleanlab's CleanLearning adds an epistemic term, there from bootstrap refits).

5. **How usual the label is at this estimate.** The residual alone ranks a 9 on a wine
   predicted 7.5 like a 6 on one predicted 4.5; but no wine with an estimate near 7.5
   scores 9, while many near 4.5 score 6. :func:`label_surprise` is ``-log`` of a kernel
   density of the label among the labels of the ``3 sqrt(n)`` items of nearest estimate
   (bandwidth 0.7 robust scales), and the score adds a quarter of it (less its median)
   to ``z^2 / 2``, a Gaussian residual log-likelihood plus a nonparametric one, as
   cleanlab's OUTRE scores the residual jointly with the label. Paired AUPRC minus
   cleanlab's over 10 development seeds (100-109; 5 on wine-white): wine-red +0.0010 ->
   +0.0014 +- 0.0004, diabetes -0.0033 -> +0.0044 +- 0.0014, wine-white +0.0023 ->
   +0.0022 +- 0.0003; held-out seeds 1..5 in ``label_issues_kinds_seeds.md``.

``label_quality = 1 / (1 + (z / cut)^2)`` of the z-score ``z = sqrt(|residual|^2 /
scale^2 + 2 * 0.25 * (surprise - median))``: in [0, 1], lower = more suspicious, and below 0.5 exactly for the flagged items.
The ``cut`` comes from a two-component mixture of the z-scores (a half-normal core of
correct labels and a wide half-normal of errors, fitted by EM): an item is flagged where
the error component is the more likely one, and never below ``z = 3``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import index_of, name_rows
from assay.exceptions import InputError

__all__ = ["RegressionFit", "find_regression_issues", "mixture_cut", "numeric_labels"]

#: Normal-consistent factor of the median absolute deviation.
MAD_SCALE = 1.4826
#: Items per bin of the local scale, at least (fewer items: one global scale).
MIN_PER_BIN = 500
#: A robust z-score below this is never flagged, whatever the mixture says.
MIN_CUT = 3.0
#: Weight of the conditional label density's surprise in the score (see
#: :func:`label_surprise`), and its kernel bandwidth in robust residual scales.
DENSITY_WEIGHT = 0.25
DENSITY_BANDWIDTH = 0.7
#: Neighbours by estimate in the conditional label density: ``3 sqrt(n)``, clipped.
_DENSITY_K = (30, 300)
#: Each item's term of the selection log-likelihood is capped at this many scales.
_NLL_CAP = 20.0
_TINY = 1e-12


@dataclass(frozen=True)
class RegressionFit:
    """What :func:`find_regression_issues` chose (also in the table's ``attrs``).

    Attributes
    ----------
    knn_weight : float
        Weight of the neighbours' mean label in the estimate (0 without neighbours).
    scale : {"global", "local"}
        One robust scale for all items, or one per quantile bin of the estimate.
    cut : float
        Robust z-score above which a label is flagged.
    error_share : float
        The mixture's estimated share of wrong labels.
    """

    knn_weight: float
    scale: str
    cut: float
    error_share: float


def numeric_labels(values: Any, what: str, n: int | None = None) -> np.ndarray:
    """``values`` as a finite float vector of shape (n,).

    Raises
    ------
    InputError
        One line on NaN/inf, a wrong shape or length, or values that are not numbers.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{what} must be numbers for a regression; got values such as "
            f"{np.asarray(values, dtype=object).ravel()[:3].tolist()!r}."
        ) from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InputError(f"{what} must be 1-d (n_samples,); got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise InputError(
            f"{what} has {arr.shape[0]} values but there are {n} labels; give one per label, "
            "in the same order."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = name_rows(np.flatnonzero(bad), index_of(values))
        raise InputError(
            f"{what} at {rows} is NaN or infinite; give finite numbers, or drop those rows."
        )
    return arr


def _neighbor_rows(features: Any, n: int, k: int) -> np.ndarray:
    """Each row's ``k`` nearest neighbours (itself excluded) on robustly scaled features."""
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != n:
        raise InputError(
            f"features must be 2-d with one row per label ({n}); got shape {X.shape}."
        )
    if not np.isfinite(X).all():
        raise InputError("features contain NaN or inf; impute or drop them first.")
    center = np.median(X, axis=0)
    spread = np.subtract(*np.percentile(X, [75, 25], axis=0))
    spread = np.where(spread > 0, spread, X.std(axis=0))
    X = (X - center) / np.where(spread > 0, spread, 1.0)
    k = min(k, n - 1)
    return np.asarray(NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False))


def _check_neighbors(neighbors: Any, n: int) -> np.ndarray:
    idx = np.asarray(neighbors)
    if idx.ndim != 2 or idx.shape[0] != n or idx.shape[1] < 1 or idx.dtype.kind not in "iu":
        raise InputError(
            f"neighbors must be an integer array (n_samples={n}, k); got shape {idx.shape}."
        )
    if idx.min() < 0 or idx.max() >= n:
        raise InputError(f"neighbors holds row numbers outside 0..{n - 1}.")
    return idx


def _bins(estimate: np.ndarray) -> list[np.ndarray]:
    """Equal-count bins of the items by their estimate (one bin when there are few)."""
    n_bins = min(10, estimate.shape[0] // MIN_PER_BIN)
    order = np.argsort(estimate, kind="stable")
    return np.array_split(order, max(n_bins, 1))


def _robust_scale(abs_res: np.ndarray) -> float:
    """``1.4826 * median |r|``; the mean-based scale when more than half are exact."""
    scale = MAD_SCALE * float(np.median(abs_res))
    if scale <= _TINY:
        scale = float(np.mean(abs_res)) * np.sqrt(np.pi / 2)
    return max(scale, _TINY)


def _scales(abs_res: np.ndarray, bins: list[np.ndarray], local: bool) -> tuple[np.ndarray, float]:
    """Per-item scale, and the cross-fitted capped Laplace log-loss of the residuals."""
    n = abs_res.shape[0]
    scale, held = np.empty(n), np.empty(n)
    groups = bins if local else [np.concatenate(bins)]
    for rows in groups:
        even, odd = rows[0::2], rows[1::2]
        scale[rows] = _robust_scale(abs_res[rows])
        held[even] = _robust_scale(abs_res[odd]) if len(odd) else scale[even]
        held[odd] = _robust_scale(abs_res[even])
    b = held / (MAD_SCALE * np.log(2))  # the Laplace scale of a median |r|
    loss = float(np.mean(np.log(b) + np.minimum(abs_res / b, _NLL_CAP)))
    return scale, loss


def _choose(
    y: np.ndarray, pred: np.ndarray, knn_mean: np.ndarray | None, weights: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, float, str]:
    """The estimate and scale with the lowest selection loss: (estimate, scale, w, model)."""
    best: tuple[float, np.ndarray, np.ndarray, float, str] | None = None
    for w in weights if knn_mean is not None else (0.0,):
        estimate = pred if w == 0 or knn_mean is None else (1 - w) * pred + w * knn_mean
        abs_res = np.abs(y - estimate)
        bins = _bins(estimate)
        for model in ("global", "local") if len(bins) > 1 else ("global",):
            scale, loss = _scales(abs_res, bins, model == "local")
            if best is None or loss < best[0] - 1e-12:
                best = (loss, estimate, scale, float(w), model)
    assert best is not None
    return best[1], best[2], best[3], best[4]


def _with_epistemic(scale: np.ndarray, epistemic: np.ndarray) -> np.ndarray:
    """Per-item scale whose square is the shared part (less the median per-item
    variance, floored at a quarter) plus the per-item ``epistemic`` variance, shape (n,)."""
    shared = np.maximum(scale**2 - float(np.median(epistemic)), scale**2 / 4)
    return np.sqrt(shared + epistemic)


def label_surprise(y: np.ndarray, estimate: np.ndarray, bandwidth: float,
                   *, chunk: int = 4096) -> np.ndarray:
    """``-log`` of a kernel density of each label among the labels of its neighbours by
    estimate, shape (n,).

    The ``k`` items whose estimate is nearest (``k = 3 sqrt(n)`` within
    :data:`_DENSITY_K`; the item itself left out) stand for the labels one sees at this
    estimate; a Gaussian kernel of ``bandwidth`` says how usual ``y`` is among them. A
    label no item with a similar estimate carries (a 9 where wines score 3-8) is
    surprising even when its residual is moderate.
    """
    n = y.shape[0]
    k = int(np.clip(3 * np.sqrt(n), *_DENSITY_K))
    k = min(k, n - 1)
    order = np.argsort(estimate, kind="stable")
    ys = y[order]
    out = np.empty(n)
    offsets = np.arange(k + 1)
    for start in range(0, n, chunk):
        pos = np.arange(start, min(start + chunk, n))
        lo = np.clip(pos - k // 2, 0, n - k - 1)
        idx = lo[:, None] + offsets
        kernel = np.exp(-0.5 * ((ys[idx] - ys[pos, None]) / bandwidth) ** 2)
        kernel[idx == pos[:, None]] = 0.0  # the item itself
        out[order[pos]] = -np.log(kernel.sum(axis=1) / k + 1e-300)
    return out


def _with_surprise(z: np.ndarray, surprise: np.ndarray) -> np.ndarray:
    """The z-score whose half-square also counts the label's surprise, shape (n,):
    ``z'^2 / 2 = z^2 / 2 + w (s - median s)`` (floored at 0), w = :data:`DENSITY_WEIGHT`."""
    extra = 2 * DENSITY_WEIGHT * (surprise - float(np.median(surprise)))
    return np.sqrt(np.maximum(z**2 + extra, 0.0))


def _halfnorm_logpdf(z2: np.ndarray, scale: float) -> np.ndarray:
    """Log-density of a half-normal of ``scale`` at ``z`` (given ``z**2``)."""
    return 0.5 * np.log(2 / np.pi) - np.log(scale) - z2 / (2 * scale**2)


def mixture_cut(z: np.ndarray, *, n_iter: int = 50) -> tuple[float, float]:
    """The z-score where a wide half-normal (errors) overtakes the core (correct labels).

    Two half-normals on ``z >= 0`` fitted by EM: the core starts at scale 1 (``z`` is
    already robustly scaled), the wide one at the spread of the z-scores beyond 3.

    Returns
    -------
    cut : float
        The smallest z (>= :data:`MIN_CUT`) where the wide component's posterior
        exceeds one half; ``inf`` when no item is that far.
    share : float
        The wide component's weight.
    """
    tail = z[z > MIN_CUT]
    if tail.shape[0] == 0:
        return float("inf"), 0.0
    z2 = z**2
    s0, s1 = 1.0, max(float(np.sqrt(np.mean(tail**2))), 2 * MIN_CUT)
    pi = min(max(tail.shape[0] / z.shape[0], 1e-4), 0.5)
    for _ in range(n_iter):
        log0 = np.log1p(-pi) + _halfnorm_logpdf(z2, s0)
        log1 = np.log(pi) + _halfnorm_logpdf(z2, s1)
        post = np.exp(log1 - np.logaddexp(log0, log1))
        pi = float(np.clip(post.mean(), 1e-6, 0.5))
        s0 = max(float(np.sqrt(np.sum((1 - post) * z2) / max(np.sum(1 - post), _TINY))), _TINY)
        s1 = max(float(np.sqrt(np.sum(post * z2) / max(np.sum(post), _TINY))), s0 * 1.01)
    # log-density ratio is quadratic in z: solve pi*f1(z) = (1-pi)*f0(z)
    a = 0.5 * (1 / s0**2 - 1 / s1**2)
    c = np.log((1 - pi) / pi) + np.log(s1 / s0)
    cut = float(np.sqrt(max(c, 0.0) / a))
    return max(cut, MIN_CUT), pi


def find_regression_issues(
    labels: Any,
    predictions: Any,
    *,
    features: Any = None,
    neighbors: Any = None,
    n_neighbors: int = 10,
    knn_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75),
) -> pd.DataFrame:
    """Flag likely wrong numeric labels and score the quality of every label.

    See the module docstring for the method (robust residuals, neighbour blend, local
    scale, mixture threshold), all chosen from the data.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Given numeric labels (finite).
    predictions : array-like of shape (n_samples,)
        Out-of-sample predictions of a regressor (e.g. by cross-validation).
    features : array-like of shape (n_samples, n_features), optional
        Numeric features: the neighbours' mean label joins the estimate (robustly
        standardised columns, euclidean distance).
    neighbors : int array of shape (n_samples, k), optional
        Precomputed neighbour rows of each item (itself excluded), instead of
        ``features``.
    n_neighbors : int, default=10
        Neighbours per item when ``features`` are given.
    knn_weights : tuple of float, default=(0.0, 0.25, 0.5, 0.75)
        Candidate weights of the neighbours' mean in the estimate.

    Returns
    -------
    DataFrame of shape (n_samples, 5)
        Indexed like ``labels`` (a Series) or 0..n-1: ``is_label_issue`` (bool),
        ``label_quality`` (float in [0, 1], lower = more suspicious), ``given_label``,
        ``suggested_label`` (the estimate within the range of the given labels, rounded
        when every label is a whole number: an integer column, or floats such as quality
        scores 3.0-8.0) and ``residual``
        (given - estimate). ``attrs["fit"]`` holds the :class:`RegressionFit`.

    Raises
    ------
    InputError
        NaN/inf or non-numeric labels or predictions, mismatched lengths, fewer than 3
        labels, bad features or neighbours.
    """
    y = numeric_labels(labels, "labels")
    if y.shape[0] < 3:
        raise InputError(f"finding label issues needs at least 3 labels; got {y.shape[0]}.")
    pred = numeric_labels(predictions, "predictions", y.shape[0])
    knn_mean = None
    if neighbors is not None or features is not None:
        idx = (
            _check_neighbors(neighbors, y.shape[0]) if neighbors is not None
            else _neighbor_rows(features, y.shape[0], n_neighbors)
        )
        knn_mean = y[idx].mean(axis=1)
    estimate, scale, weight, model = _choose(y, pred, knn_mean, tuple(knn_weights))
    if knn_mean is not None and 0 < weight < 1:
        scale = _with_epistemic(scale, weight * (1 - weight) * (pred - knn_mean) ** 2)
    z = np.abs(y - estimate) / scale
    if y.shape[0] > 3:
        bandwidth = DENSITY_BANDWIDTH * _robust_scale(np.abs(y - estimate))
        z = _with_surprise(z, label_surprise(y, estimate, bandwidth))
    cut, share = mixture_cut(z)
    quality = 1.0 / (1.0 + (z / (cut if np.isfinite(cut) else 2 * max(z.max(), MIN_CUT))) ** 2)
    integer = np.asarray(labels).dtype.kind in "iu"
    whole = integer or bool(np.array_equal(y, np.round(y)))  # y is finite (checked)
    # a value no label has (a count of -27 bikes) is not a relabel anyone should accept
    suggested = np.clip(estimate, y.min(), y.max()) + 0.0  # + 0.0: no -0.0
    table = pd.DataFrame(
        {
            "is_label_issue": z > cut,
            "label_quality": quality,
            "given_label": np.asarray(labels) if integer else y,
            "suggested_label": (
                np.round(suggested).astype(np.int64) if integer
                else np.round(suggested) + 0.0 if whole else suggested
            ),
            "residual": y - estimate,
        },
        index=labels.index if isinstance(labels, pd.Series) else None,
    )
    table.attrs["fit"] = RegressionFit(weight, model, cut, share)
    return table
