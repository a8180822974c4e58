"""Consensus of numeric labels: an EM model of annotator bias and noise, mean, median.

:func:`numeric_consensus` estimates one number per item from several annotators.

**The model** (``method="em"``): annotator ``a`` reports item ``i`` as

    y_ia = t_i + b_a + e_ia,   e_ia ~ N(0, s_a^2),   t_i ~ N(mu, tau^2)

with a per-annotator additive bias ``b_a`` and noise variance ``s_a^2``, and a normal
population of true values. The biases are identified by fixing their unweighted mean
over annotators at 0 (the annotators are right *on average*; without gold values no
method can tell a bias shared by everyone from the truth). The parameters
``(mu, tau, b, s)`` are fitted by expectation conditional maximisation (ECM: EM whose
M-step updates ``mu, tau``, then ``b`` under the constraint, then ``s``, each exactly),
which never lowers the marginal log-likelihood of the annotations; it stops when the
gain per annotation falls below ``tol``. The label is the posterior mean of ``t_i`` and
``sd`` its posterior standard deviation.

**Columns** of ``labels`` (one row per item):

* ``label``: the consensus value (posterior mean; mean or median of the annotations
  for the other methods).
* ``sd``: the posterior standard deviation of the true value (mean: the standard error
  ``s_w / sqrt(n_i)`` with ``s_w`` the pooled within-item standard deviation; median:
  ``sqrt(pi / 2)`` times that, its large-sample value under normal noise).
* ``quality`` = ``1 - sd^2 / tau^2`` in [0, 1]: the share of the spread of true values
  (``tau^2``, the variance of the items' true values) that the item's annotations pin
  down, the reliability of its label. 1: the value is known exactly; 0: the annotations
  say no more than the population does. Higher is surer.
* ``n_annotations``: how many annotators labelled the item.
* ``agreement`` = ``max(0, 1 - sd_item / sd_all)`` in [0, 1]: how close the item's raw
  annotations are to each other, with ``sd_item`` their standard deviation and
  ``sd_all`` that of all annotations. 1: unanimous (and items with one annotation);
  0: they spread as widely as the whole data set.

``annotators`` has one row per annotator: ``n_annotations``, ``bias`` (``b_a``; mean
and median: the mean of the annotator's value minus the consensus), ``noise_sd``
(``s_a``; the others: the standard deviation of that difference) and ``quality`` =
``tau^2 / (tau^2 + noise_sd^2)``, the reliability of one bias-corrected annotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import Integral, Interval, Options, Real, validate_params
from assay.collect.annotations import normalize_annotations
from assay.exceptions import InputError

__all__ = ["NumericConsensusResult", "numeric_consensus"]

METHODS = ("em", "mean", "median")
#: Variances are kept above this share of the annotations' variance (numerical floor).
_FLOOR = 1e-9


@dataclass
class NumericConsensusResult:
    """Consensus values of numeric labels (see :func:`numeric_consensus`).

    Attributes
    ----------
    labels : DataFrame of shape (n_items, 5), indexed by item
        ``label``, ``quality``, ``n_annotations``, ``agreement``, ``sd``.
    annotators : DataFrame of shape (n_annotators, 4), indexed by annotator
        ``n_annotations``, ``bias``, ``noise_sd``, ``quality``.
    method : str
    n_iter : int
        EM iterations (0 for mean and median).
    converged : bool
    log_likelihood : float
        The marginal log-likelihood of the annotations under the fitted model (NaN for
        mean and median).
    truth_mean, truth_sd : float
        ``mu`` and ``tau``: the mean and standard deviation of the items' true values.
    history : ndarray of shape (n_iter + 1,)
        The log-likelihood before each iteration and after the last (EM only).
    """

    labels: pd.DataFrame
    annotators: pd.DataFrame
    method: str
    n_iter: int = 0
    converged: bool = True
    log_likelihood: float = float("nan")
    truth_mean: float = float("nan")
    truth_sd: float = float("nan")
    history: np.ndarray | None = None

    def summary(self, threshold: float = 0.5) -> str:
        """A few lines of plain text: method, convergence, uncertain items, annotators."""
        lab, ann = self.labels, self.annotators
        head = f"{self.method}: {len(lab)} items"
        if self.method == "em":
            state = "converged" if self.converged else "stopped at max_iter"
            head += f", {self.n_iter} iterations ({state})"
        low = int((lab["quality"] < threshold).sum())
        worst = ann["quality"].nsmallest(3)
        big = ann["bias"].abs().nlargest(3).index
        biased = ann["bias"].loc[big]
        return "\n".join([
            head,
            f"  mean quality {lab['quality'].mean():.3f}; {low} items below {threshold}; "
            f"median sd {lab['sd'].median():.4g}",
            f"  true values: mean {self.truth_mean:.4g}, sd {self.truth_sd:.4g}",
            "  lowest-quality annotators: "
            + ", ".join(f"{a} ({q:.2f})" for a, q in worst.items()),
            "  largest biases: "
            + ", ".join(f"{a} ({b:+.3g})" for a, b in biased.items()),
        ])

    def to_dict(self, max_items: int = 1000) -> dict[str, Any]:
        """JSON-able form: the run, the annotators, and the first ``max_items`` items."""
        def rows(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
            out = frame.reset_index().rename(columns={frame.index.name or "index": key})
            return [{str(k): _plain(v) for k, v in r.items()} for r in out.to_dict("records")]

        return {
            "kind": "regression",
            "method": self.method,
            "n_items": len(self.labels),
            "n_iter": self.n_iter,
            "converged": self.converged,
            "log_likelihood": _plain(self.log_likelihood),
            "truth_mean": _plain(self.truth_mean),
            "truth_sd": _plain(self.truth_sd),
            "annotators": rows(self.annotators, "annotator"),
            "labels": rows(self.labels.head(max_items), "item"),
        }


def _plain(value: Any) -> Any:
    """A numpy scalar as a Python value, NaN and infinity as None (JSON has neither)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class _Data:
    """Annotations as arrays: values, item and annotator codes, and their names."""

    y: np.ndarray
    item: np.ndarray
    ann: np.ndarray
    items: pd.Index
    annotators: pd.Index

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_annotators(self) -> int:
        return len(self.annotators)

    def per_item(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.item, values, self.n_items)

    def per_annotator(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.ann, values, self.n_annotators)


def _numbers(labels: pd.Series, where: str) -> np.ndarray:
    values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where}: {int(bad.sum())} label(s) are not finite numbers (the first is "
            f"{labels.iloc[first]!r}, row {first}); numeric consensus needs a number in "
            "every row."
        )
    return values


def _encode(df: pd.DataFrame, where: str = "the annotations") -> _Data:
    frame = normalize_annotations(df, where=where)
    y = _numbers(frame["label"], where)
    item, items = pd.factorize(frame["item"], sort=False)
    ann, annotators = pd.factorize(frame["annotator"], sort=True)
    return _Data(y, item.astype(np.int64), ann.astype(np.int64), pd.Index(items, name="item"),
                 pd.Index(annotators, name="annotator"))


# -- the model ------------------------------------------------------------------------


@dataclass
class _Params:
    mu: float
    tau2: float
    bias: np.ndarray
    noise2: np.ndarray


def _posterior(d: _Data, p: _Params) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and variance of each item's true value, shape (n_items,) each."""
    w = 1.0 / p.noise2[d.ann]
    prec = 1.0 / p.tau2 + d.per_item(w)
    mean = (p.mu / p.tau2 + d.per_item(w * (d.y - p.bias[d.ann]))) / prec
    return mean, 1.0 / prec


def _log_likelihood(d: _Data, p: _Params) -> float:
    """Marginal log-likelihood: item ``i``'s annotations ~ N(mu + b, tau^2 11' + diag s^2).

    With ``r = y - mu - b`` and ``w = 1 / s^2`` (Sherman-Morrison and the determinant
    lemma): ``-1/2 [n log 2pi + sum log s^2 + log(1 + tau^2 sum w)
    + sum w r^2 - tau^2 (sum w r)^2 / (1 + tau^2 sum w)]`` per item.
    """
    w = 1.0 / p.noise2[d.ann]
    r = d.y - p.mu - p.bias[d.ann]
    sw, swr, swr2 = d.per_item(w), d.per_item(w * r), d.per_item(w * r * r)
    c = 1.0 + p.tau2 * sw
    quad = swr2 - p.tau2 * swr * swr / c
    logdet = float(np.log(p.noise2[d.ann]).sum() + np.log(c).sum())
    return -0.5 * (len(d.y) * np.log(2 * np.pi) + logdet + float(quad.sum()))


def _m_step(d: _Data, p: _Params, mean: np.ndarray, var: np.ndarray, floor: float) -> _Params:
    """One ECM step: (mu, tau^2), then the biases (mean 0), then the noise variances."""
    mu = float(mean.mean())
    tau2 = max(float(((mean - mu) ** 2 + var).mean()), floor)
    n_a = np.bincount(d.ann, minlength=d.n_annotators).astype(float)
    resid = d.y - mean[d.item]
    rbar = d.per_annotator(resid) / n_a
    spread = p.noise2 / n_a  # the constraint sum(b) = 0 moves b_a in proportion to this
    bias = rbar - spread * (rbar.sum() / spread.sum())
    sq = (resid - bias[d.ann]) ** 2 + var[d.item]
    noise2 = np.maximum(d.per_annotator(sq) / n_a, floor)
    return _Params(mu, tau2, bias, noise2)


def _pooled_noise(d: _Data, center: np.ndarray) -> float:
    """Pooled within-item variance of the annotations around ``center`` (per item)."""
    n_i = np.bincount(d.item, minlength=d.n_items)
    dof = float((n_i - 1).clip(0).sum())
    if dof <= 0:
        return float("nan")
    return float(((d.y - center[d.item]) ** 2).sum() / dof)


def _initial(d: _Data, floor: float) -> _Params:
    n_i = np.bincount(d.item, minlength=d.n_items)
    means = d.per_item(d.y) / n_i
    within = _pooled_noise(d, means)
    total = float(d.y.var())
    if not np.isfinite(within):
        within = 0.5 * total
    tau2 = max(float(means.var()) - within * float(np.mean(1.0 / n_i)), 0.1 * total, floor)
    noise2 = np.full(d.n_annotators, max(within, floor))
    return _Params(float(means.mean()), tau2, np.zeros(d.n_annotators), noise2)


def _fit_em(d: _Data, max_iter: int, tol: float) -> tuple[_Params, np.ndarray, bool]:
    floor = max(_FLOOR * float(d.y.var()), 1e-12)
    params = _initial(d, floor)
    history = [_log_likelihood(d, params)]
    converged = False
    for _ in range(max_iter):
        mean, var = _posterior(d, params)
        params = _m_step(d, params, mean, var, floor)
        history.append(_log_likelihood(d, params))
        if history[-1] - history[-2] < tol * len(d.y):
            converged = True
            break
    return params, np.asarray(history), converged


# -- the result ------------------------------------------------------------------------


def _agreement(d: _Data) -> np.ndarray:
    n_i = np.bincount(d.item, minlength=d.n_items).astype(float)
    means = d.per_item(d.y) / n_i
    sd_item = np.sqrt(d.per_item((d.y - means[d.item]) ** 2) / n_i)
    sd_all = float(d.y.std())
    if sd_all == 0:
        return np.ones(d.n_items)
    return np.clip(1.0 - sd_item / sd_all, 0.0, 1.0)


def _labels(d: _Data, label: np.ndarray, var: np.ndarray, tau2: float) -> pd.DataFrame:
    n_i = np.bincount(d.item, minlength=d.n_items)
    return pd.DataFrame(
        {"label": label, "quality": np.clip(1.0 - var / tau2, 0.0, 1.0),
         "n_annotations": n_i.astype(np.int64), "agreement": _agreement(d),
         "sd": np.sqrt(var)},
        index=d.items,
    )


def _annotators(d: _Data, bias: np.ndarray, noise2: np.ndarray, tau2: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"n_annotations": np.bincount(d.ann, minlength=d.n_annotators).astype(np.int64),
         "bias": bias, "noise_sd": np.sqrt(noise2), "quality": tau2 / (tau2 + noise2)},
        index=d.annotators,
    )


def _em_result(d: _Data, max_iter: int, tol: float) -> NumericConsensusResult:
    params, history, converged = _fit_em(d, max_iter, tol)
    mean, var = _posterior(d, params)
    return NumericConsensusResult(
        labels=_labels(d, mean, var, params.tau2),
        annotators=_annotators(d, params.bias, params.noise2, params.tau2),
        method="em", n_iter=len(history) - 1, converged=converged,
        log_likelihood=float(history[-1]), truth_mean=params.mu,
        truth_sd=float(np.sqrt(params.tau2)), history=history,
    )


def _simple_result(d: _Data, method: str) -> NumericConsensusResult:
    frame = pd.DataFrame({"item": d.item, "y": d.y})
    grouped = frame.groupby("item", sort=True)["y"]
    label = (grouped.mean() if method == "mean" else grouped.median()).to_numpy(dtype=float)
    n_i = np.bincount(d.item, minlength=d.n_items).astype(float)
    within = _pooled_noise(d, d.per_item(d.y) / n_i)
    within = within if np.isfinite(within) else 0.0
    var = within / n_i * (np.pi / 2 if method == "median" else 1.0)
    floor = max(_FLOOR * float(d.y.var()), 1e-12)
    tau2 = max(float(label.var()) - float(var.mean()), floor)
    resid = d.y - label[d.item]
    n_a = np.bincount(d.ann, minlength=d.n_annotators).astype(float)
    bias = d.per_annotator(resid) / n_a
    noise2 = d.per_annotator((resid - bias[d.ann]) ** 2) / n_a
    return NumericConsensusResult(
        labels=_labels(d, label, var, tau2),
        annotators=_annotators(d, bias, noise2, tau2),
        method=method, truth_mean=float(label.mean()), truth_sd=float(np.sqrt(tau2)),
    )


@validate_params({
    "method": [Options(METHODS)],
    "max_iter": [Interval(Integral, 1, None)],
    "tol": [Interval(Real, 0, None)],
    "seed": [Interval(Integral, 0, None)],
})
def numeric_consensus(
    df: pd.DataFrame,
    *,
    method: str = "em",
    max_iter: int = 500,
    tol: float = 1e-8,
    seed: int = 0,
) -> NumericConsensusResult:
    """Estimate one number per item from several annotators' numeric labels.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (or crowd-kit's ``task``, ``worker``); every
        label a finite number. A repeated (item, annotator) pair keeps its last row.
    method : {"em", "mean", "median"}, default "em"
        ``"em"``: the model of the module docstring (per-annotator bias and noise
        variance, biases averaging 0), fitted by ECM; the label is the posterior mean.
        ``"mean"`` / ``"median"``: of each item's annotations, as given.
    max_iter : int, default 500
    tol : float, default 1e-8
        EM stops when the log-likelihood gains less than ``tol`` per annotation in one
        iteration (``tol=0``: when it stops rising, or after ``max_iter``).
    seed : int, default 0
        Unused: the EM starts from the items' means (deterministic); accepted so that
        every consensus engine can be called alike.

    Returns
    -------
    NumericConsensusResult
        ``labels`` indexed by item (order of first appearance in ``df``), ``annotators``
        indexed by annotator (sorted); see the module docstring for the columns.

    Raises
    ------
    InputError
        A column is missing, or some label is not a finite number.
    """
    del seed
    data = _encode(df)
    if method == "em":
        return _em_result(data, max_iter, tol)
    return _simple_result(data, method)
