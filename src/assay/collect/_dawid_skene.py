"""Dawid-Skene EM on a sparse one-hot design, in log space.

Model: item ``i`` has a true class ``z_i ~ Categorical(prior)``; annotator ``a`` reports
``l`` with probability ``pi[a, l, k]`` when ``z_i = k``. With the sparse design
``X[i, a * K + l] = 1`` (annotator ``a`` gave ``l`` to ``i``):

* E-step: ``log p(z_i = k | labels) = log prior_k + (X @ log pi)[i, k] - logsumexp``;
* M-step (MAP): ``pi[a, :, k] proportional to (X^T @ T)[a, :, k] + smoothing +
  pool_strength * pooled[:, k]``, where ``pooled`` is the confusion matrix of all voters
  together, and ``prior proportional to T.sum(0) + smoothing``. The pooled term is a
  Dirichlet prior that shrinks voters with few labels toward the average voter
  (empirical Bayes, as in community Dawid-Skene); voters with many labels are hardly
  affected.

Both steps are one sparse-dense product, so an iteration costs ``O(n_annotations * K)``.
An optional model (``pred_probs``) votes softly like one more annotator: its row of
probabilities replaces the one-hot row, so it gets its own confusion matrix (the
model-as-annotator idea of CROWDLAB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

__all__ = ["DSFit", "fit_dawid_skene"]


@dataclass(frozen=True)
class DSFit:
    """Result of :func:`fit_dawid_skene`.

    Attributes
    ----------
    posterior : ndarray of shape (n_items, n_classes)
    confusion : ndarray of shape (n_voters, n_classes, n_classes)
        ``confusion[a, k, l]`` = P(voter ``a`` says ``l`` | true class ``k``); rows sum
        to 1. When ``pred_probs`` was given, the model is the last voter.
    prior : ndarray of shape (n_classes,)
    log_likelihood : float
        Marginal log-likelihood at the last E-step.
    n_iter : int
    converged : bool
    """

    posterior: np.ndarray
    confusion: np.ndarray
    prior: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool


def _m_step(
    design_t: sparse.csr_matrix, t: np.ndarray, n_voters: int, k: int, smoothing: float,
    pool_strength: float,
) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(design_t @ t).reshape(n_voters, k, k)  # (voter, observed, true)
    pooled = counts.sum(axis=0) + smoothing
    counts += smoothing + pool_strength * pooled / pooled.sum(axis=0, keepdims=True)
    log_pi = np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))
    prior = t.sum(axis=0) + smoothing
    return log_pi, np.log(prior / prior.sum())


def _normalise(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise softmax of log-scores and the log normaliser (logsumexp), stably."""
    scores = np.asfortranarray(scores)  # row reductions over few columns are faster
    top = scores.max(axis=1)
    expd = np.exp(scores - top[:, None])
    total = expd @ np.ones(expd.shape[1])
    return np.ascontiguousarray(expd / total[:, None]), top + np.log(total)


def _clamp(t: np.ndarray, gold_rows: np.ndarray, gold_codes: np.ndarray) -> np.ndarray:
    if len(gold_rows):
        t[gold_rows] = 0.0
        t[gold_rows, gold_codes] = 1.0
    return t


def fit_dawid_skene(
    design: sparse.csr_matrix,
    init: np.ndarray,
    *,
    gold_rows: np.ndarray,
    gold_codes: np.ndarray,
    smoothing: float,
    pool_strength: float,
    max_iter: int,
    tol: float,
) -> DSFit:
    """Run EM from an initial posterior.

    Parameters
    ----------
    design : csr_matrix of shape (n_items, n_voters * n_classes)
        ``design[i, a * K + l]`` = weight of voter ``a`` saying ``l`` on item ``i`` (1 for
        an annotation, a probability for the model voter).
    init : ndarray of shape (n_items, n_classes)
        Initial posterior (e.g. majority-vote shares).
    gold_rows, gold_codes : ndarray of shape (n_gold,)
        Items whose class is known, and that class; their posterior is clamped.
    smoothing : float
        Pseudo-count added to every confusion-matrix cell and class prior.
    pool_strength : float
        Weight (in pseudo-labels per true class) of the pooled confusion matrix prior.
    max_iter : int
    tol : float
        Stop when no posterior probability changes by more than ``tol``.
    """
    k = init.shape[1]
    n_voters = design.shape[1] // k
    t = _clamp(init.copy(), gold_rows, gold_codes)
    design_t = design.T.tocsr()
    ll, converged, it = -np.inf, False, 0
    for it in range(1, max_iter + 1):  # noqa: B007
        log_pi, log_prior = _m_step(design_t, t, n_voters, k, smoothing, pool_strength)
        new, norm = _normalise(design @ log_pi.reshape(n_voters * k, k) + log_prior)
        new = _clamp(new, gold_rows, gold_codes)
        ll = float(norm.sum())
        change = float(np.abs(new - t).max(initial=0.0))
        t = new
        if change < tol:
            converged = True
            break
    confusion = np.exp(log_pi).transpose(0, 2, 1)
    return DSFit(t, confusion, np.exp(log_prior), ll, it, converged)
