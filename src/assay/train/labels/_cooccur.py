"""Multi-label probabilities that know the other tags, and how many label sets are wrong.

Two steps of :func:`assay.train.labels.find_multilabel_issues`:

* :func:`refine_probs` re-estimates each label's probability from the model's own logit
  and the item's *other given labels* (a penalised logistic regression per label,
  cross-fitted so that no item's probability comes from a fit that saw it). Tags
  co-occur (a set of tags is rarely arbitrary), so a dropped or added tag breaks a
  pattern that a per-label model cannot see: on MULAN yeast with planted errors the
  AUPRC of the set-level score goes from 0.20 to about 0.8
  (``benchmarks/label_issues_kinds.py``).
* :func:`expected_wrong_sets` estimates, per label and given value, the flip rate from
  the items the model is most sure about (the 10% of each given class with the most
  extreme probability, where a given label that disagrees is most likely a flip), turns
  it into a posterior probability that each entry is wrong, and sums over items the
  probability that at least one entry of the set is wrong: the expected number of wrong
  label sets, the size of the review queue.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

__all__ = ["entry_doubt", "expected_wrong_sets", "refine_probs"]

#: Folds of the cross-fitting.
N_FOLDS = 5
#: Rows each fold's model is fitted on, at most (sampled from the other folds).
MAX_FIT_ROWS = 2000
#: Other labels a label's model may use, at most (the most correlated ones).
MAX_PARTNERS = 30
#: Prior variance of every coefficient (a Gaussian prior centred on "the model's logit").
PRIOR_VAR = 1.0
#: Share of each given class, most extreme by probability, that estimates its flip rate.
ANCHOR_SHARE = 0.1
_EPS = 1e-9


def _logit(probs: np.ndarray) -> np.ndarray:
    p = np.clip(probs, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _penalised_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, pen: np.ndarray,
                    centre: np.ndarray) -> float:
    z = X @ w
    return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.sum(pen * (w - centre) ** 2))


def _fit_logistic(X: np.ndarray, y: np.ndarray, n_iter: int = 30) -> np.ndarray:
    """Newton's method with step halving for a logistic regression of ``y`` on ``X``.

    ``X`` is (m, d) with the model's logit in column ``d - 2`` and a constant in column
    ``d - 1``; the prior is centred on "keep the logit as it is" (weight 1, others 0)
    and barely constrains the intercept.
    """
    d = X.shape[1]
    centre = np.zeros(d)
    centre[-2] = 1.0
    pen = np.full(d, 1.0 / PRIOR_VAR)
    pen[-1] = 1e-4
    w = centre.copy()
    loss = _penalised_loss(X, y, w, pen, centre)
    for _ in range(n_iter):
        p = expit(X @ w)
        grad = X.T @ (p - y) + pen * (w - centre)
        hess = (X * (p * (1 - p))[:, None]).T @ X + np.diag(pen)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-4:
            new_loss = _penalised_loss(X, y, w - t * step, pen, centre)
            if new_loss <= loss:
                break
            t /= 2
        if new_loss > loss:
            break
        w, loss = w - t * step, new_loss
        if np.max(np.abs(t * step)) < 1e-4:
            break
    return w


def _partners(Y: np.ndarray, j: int) -> np.ndarray:
    """The other labels most correlated with label ``j`` (all when there are few)."""
    others = np.delete(np.arange(Y.shape[1]), j)
    if others.shape[0] <= MAX_PARTNERS:
        return others
    centred = Y - Y.mean(axis=0)
    cov = np.abs(centred[:, others].T @ centred[:, j])
    scale = np.sqrt((centred[:, others] ** 2).sum(axis=0) * (centred[:, j] ** 2).sum()) + _EPS
    return others[np.argsort(-cov / scale, kind="stable")[:MAX_PARTNERS]]


def refine_probs(labels: np.ndarray, probs: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Cross-fitted probabilities of each label given the model's logit and the other labels.

    Parameters
    ----------
    labels : ndarray of shape (n, k) of 0/1
        Given labels.
    probs : ndarray of shape (n, k)
        The model's out-of-sample probabilities.
    seed : int, default=0
        Seeds the folds and the fitting sample.

    Returns
    -------
    ndarray of shape (n, k)
        Probabilities in [1e-9, 1 - 1e-9]; a label given to every item or to none keeps
        the model's probability.
    """
    Y = labels.astype(np.float64)
    logits = _logit(probs)
    n = Y.shape[0]
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % min(N_FOLDS, n)
    held = [np.flatnonzero(fold == f) for f in range(N_FOLDS)]
    fit_rows = [
        rng.permutation(np.flatnonzero(fold != f))[:MAX_FIT_ROWS] for f in range(N_FOLDS)
    ]
    out = np.array(probs, dtype=np.float64)
    # one BLAS thread: the matrices are small, and threads fighting over them are 10x slower
    with threadpool_limits(limits=1, user_api="blas"):
        _fit_columns(Y, logits, held, fit_rows, out)
    return np.clip(out, _EPS, 1 - _EPS)


def _fit_columns(Y: np.ndarray, logits: np.ndarray, held: list[np.ndarray],
                 fit_rows: list[np.ndarray], out: np.ndarray) -> None:
    """Fill ``out[held[f]]`` with the probabilities of the label models fitted on
    ``fit_rows[f]`` (rows outside fold ``f``), all labels of a fold in one product."""
    k = Y.shape[1]
    partners = [_partners(Y, j) for j in range(k)]
    for rows, test in zip(fit_rows, held, strict=True):
        if rows.shape[0] == 0 or test.shape[0] == 0:
            continue
        Y_fit, logit_fit = Y[rows], logits[rows]
        coef, slope, intercept = np.zeros((k, k)), np.ones(k), np.zeros(k)
        fitted = np.zeros(k, dtype=bool)
        for j in range(k):
            target = Y_fit[:, j]
            if target.min() == target.max():
                continue
            X = np.column_stack((Y_fit[:, partners[j]], logit_fit[:, j], np.ones(len(rows))))
            w = _fit_logistic(X, target)
            coef[partners[j], j], slope[j], intercept[j], fitted[j] = w[:-2], w[-2], w[-1], True
        z = Y[test] @ coef + logits[test] * slope + intercept
        out[np.ix_(test, np.flatnonzero(fitted))] = expit(z[:, fitted])


def _flip_rates(given: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Empirical flip rates of one label: (P(given 1 | true 0), P(given 0 | true 1)).

    Among the ``ANCHOR_SHARE`` of each given class's count with the lowest (highest)
    probability, the items given 1 (0) are the flips.
    """
    n = p.shape[0]
    m0 = max(int(ANCHOR_SHARE * np.count_nonzero(given == 0)), 1)
    m1 = max(int(ANCHOR_SHARE * np.count_nonzero(given == 1)), 1)
    lowest = np.argpartition(p, m0 - 1)[:m0]
    highest = np.argpartition(p, n - m1)[n - m1:]
    return float(given[lowest].mean()), float(1.0 - given[highest].mean())


def entry_doubt(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Posterior probability that each given entry is a flip, shape (n, k).

    With flip rates ``r0``, ``r1`` of a label, the clean probability is
    ``t = (p - r0) / (1 - r0 - r1)``; an entry given 1 is a flip with probability
    ``r0 (1 - t) / p``, one given 0 with ``r1 t / (1 - p)`` (Bayes' rule).
    """
    doubt = np.zeros(probs.shape)
    for j in range(probs.shape[1]):
        given, p = labels[:, j], probs[:, j]
        if given.min() == given.max():
            continue
        r0, r1 = _flip_rates(given, p)
        clean = np.clip((p - r0) / max(1.0 - r0 - r1, _EPS), 0.0, 1.0)
        doubt[:, j] = np.where(given == 1, r0 * (1 - clean) / p, r1 * clean / (1 - p))
    return np.clip(doubt, 0.0, 1.0)


def expected_wrong_sets(doubt: np.ndarray) -> float:
    """Expected number of items with at least one wrong entry, from :func:`entry_doubt`."""
    return float(np.sum(1.0 - np.prod(1.0 - doubt, axis=1)))
