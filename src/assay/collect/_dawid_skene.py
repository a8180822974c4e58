"""Dawid-Skene on a sparse one-hot design, in log space, with an empirical-Bayes prior.

Model: item ``i`` has a true class ``z_i ~ Categorical(rho)``; voter ``a`` reports ``l``
with probability ``pi[a, l, k]`` when ``z_i = k``; ``pi[a, :, k] ~ Dirichlet(alpha[:, k])``
and ``rho ~ Dirichlet(smoothing)``. With the sparse design ``X[i, a * K + l] = 1`` (voter
``a`` gave ``l`` to ``i``) both updates are one sparse-dense product, so an iteration
costs ``O(n_annotations * K)``:

* ``inference="variational"`` (default; variational Bayes, as in IBCC, Kim & Ghahramani
  2012): ``q(pi[a, :, k]) = Dirichlet(c[a, :, k])`` with ``c = X^T T + alpha``, and
  ``log q(z_i = k) = E[log rho_k] + (X @ E[log pi])[i, k] + const`` where ``E[log pi] =
  digamma(c) - digamma(c.sum(l))``. Voters with few labels get wide posteriors, so their
  votes count for less than their point estimate would suggest. The objective is the
  evidence lower bound (ELBO): ``sum_i log-normaliser_i - KL(q(pi) || p(pi)) -
  KL(q(rho) || p(rho))``, which every iteration increases.
* ``inference="point"``: EM with posterior-mean point estimates ``pi ∝ X^T T + alpha``
  (``alpha = smoothing`` and ``pool_strength=0`` give classic Dawid & Skene 1979, step
  for step what crowd-kit computes); the objective is log-likelihood + log prior.

**Prior.** Each voter's confusion row ``pi[a, :, k]`` has a Dirichlet prior centred on
the *pooled* confusion matrix of all voters, ``alpha[:, k] = smoothing + strength *
pooled[:, k]``: voters with few labels are shrunk toward the average voter, voters with
many labels are hardly affected (as in community Dawid-Skene). ``pooled`` is computed
once, from the voters' confusion counts against the initial majority vote with **ties
split evenly** (an item whose top classes tie counts ``1/m`` for each of its ``m`` top
classes; gold items count for their class). Counting against majority labels whose ties
are broken toward one class centres the prior on voters who never err on that class:
with two voters every disagreement is then blamed on the other class and every tie
resolves to it with posterior ~1.0 (``benchmarks/consensus_calibration.py``;
``prior_from="hard"`` keeps that rule). Counting against the full vote shares instead
blurs every voter's row toward the others' and over-estimates ``strength`` (spammers
are then shrunk toward the good voters),
and ``strength`` (pseudo-labels per true class) is by default estimated from the same
counts by maximising the Dirichlet-multinomial marginal likelihood of the voters' rows
(empirical Bayes, type-II maximum likelihood): it measures how much voters differ from
one another, from the annotations alone. Both are then held fixed. With a model
(``model_log``), :func:`assay.consensus` counts them on the items with two or more labels
only (``prior_rows``): an item's single label is its own initial vote, so such items
made every voter look perfect (``benchmarks/consensus_with_model.py``, amendment 2).
The strength still often reaches its bound there (a two-label disagreement is a split
tie that counts both voters half right, so good and bad voters look alike); estimating
it from each label against the other labels of its item (``strength_from_others``,
amendment 3) separates them, but did not pass its pre-stated rule, so it is not the
default.

**Stopping.** Iteration stops when the objective gains less than ``tol`` per annotation
(the scale of crowd-kit's ``tol``, which is in nats per label).

An optional model (``pred_probs``) takes part as a **calibrated expert**
(``model_log``): the E-step adds ``w * log p_model(k | x_i)`` to each item's log-scores
(and leaves the class prior to the model, whose probabilities carry it), and the
temperature ``w`` is re-estimated at every iteration by maximising
``sum_ik q(z_i = k) log softmax(w * log p_model(x_i))_k``: temperature scaling of the
model against the current consensus. A model trained on noisy labels is under-confident
and gets ``w > 1``; a model no better than chance gets ``w`` near 0. The alternative,
the model as one more voter whose probability row replaces a one-hot row (the design
column; ``model_vote="soft"`` of :func:`assay.consensus`), rates a model by its mean
confidence rather than its accuracy and loses to CROWDLAB by 0.07-0.11 accuracy when
items have one or two labels (``benchmarks/consensus_with_model.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import digamma, gammaln, log_softmax

__all__ = [
    "INFERENCE",
    "DSFit",
    "estimate_strength",
    "fit_dawid_skene",
    "fit_temperature",
]

INFERENCE = ("variational", "point")

STRENGTH_BOUNDS = (1e-3, 1e5)


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
        The objective at the last iteration: the evidence lower bound (variational) or
        the marginal log-likelihood of the annotations (point estimates).
    n_iter : int
    converged : bool
    pool_strength : float
        Strength of the pooled prior that was used (estimated or given).
    model_temperature : float or None
        With ``model_log``: the temperature ``w`` of the model's log-probabilities.
    """

    posterior: np.ndarray
    confusion: np.ndarray
    prior: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool
    pool_strength: float
    model_temperature: float | None = None


def estimate_strength(counts: np.ndarray, pooled: np.ndarray) -> float:
    """Dirichlet concentration that best explains the voters' confusion rows.

    Parameters
    ----------
    counts : ndarray of shape (n_voters, n_classes, n_classes)
        ``counts[a, l, k]`` = (soft) number of items of true class ``k`` voter ``a``
        labelled ``l``.
    pooled : ndarray of shape (n_classes, n_classes)
        Pooled confusion matrix; columns (true classes) sum to 1.

    Returns
    -------
    float
        ``s`` maximising ``sum_{a, k} log DirMult(counts[a, :, k] | s * pooled[:, k])``,
        searched on a log scale within ``STRENGTH_BOUNDS``.
    """
    totals = counts.sum(axis=1)

    def neg_log_marginal(log_s: float) -> float:
        s = float(np.exp(log_s))
        alpha = s * pooled[None]
        per_row = gammaln(s) - gammaln(totals + s)
        per_row += (gammaln(counts + alpha) - gammaln(alpha)).sum(axis=1)
        return -float(per_row.sum())

    from scipy.optimize import minimize_scalar  # here: SciPy's optimize is slow to import

    lo, hi = np.log(STRENGTH_BOUNDS)
    res = minimize_scalar(neg_log_marginal, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-3})
    return float(np.exp(res.x))


def _prior_alpha(
    counts: np.ndarray, smoothing: float, pool_strength: float | None,
    strength_counts: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Dirichlet pseudo-counts ``alpha[l, k]`` (shared by voters) and the strength used;
    the strength is estimated from ``strength_counts`` when given, else from ``counts``."""
    pooled = counts.sum(axis=0) + smoothing
    pooled /= pooled.sum(axis=0, keepdims=True)
    if pool_strength is None:
        k = counts.shape[1]
        dispersed = counts if strength_counts is None else strength_counts
        pool_strength = estimate_strength(dispersed, pooled) if k > 1 else 0.0
    return smoothing + pool_strength * pooled, pool_strength


def others_counts(design: sparse.csr_matrix, k: int) -> np.ndarray:
    """Each voter's labels counted against the *other* labels of their item.

    Parameters
    ----------
    design : csr_matrix of shape (n_items, n_voters * k)
        One-hot annotations.
    k : int

    Returns
    -------
    ndarray of shape (n_voters, k, k)
        ``[a, l, c]``: voter ``a`` said ``l`` where the item's other labels' top class was
        ``c`` (ties split evenly; items with no other label add nothing). A label never
        confirms itself, so the counts of a good and a bad voter differ as they should.
    """
    coo = design.tocoo()
    item, voter, label = coo.row, coo.col // k, coo.col % k
    counts = np.zeros((design.shape[0], k))
    np.add.at(counts, (item, label), coo.data)
    other = counts[item]
    other[np.arange(len(item)), label] -= coo.data
    top = (other >= other.max(axis=1, keepdims=True) - 1e-12) & (other.sum(axis=1) > 0)[:, None]
    share = top / np.maximum(top.sum(axis=1, keepdims=True), 1)
    out = np.zeros((design.shape[1] // k, k, k))
    np.add.at(out, (voter, label), share)
    return out


def _normalise(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise softmax of log-scores and the log normaliser (logsumexp), stably."""
    scores = np.asfortranarray(scores)  # row reductions over few columns are faster
    top = scores.max(axis=1)
    expd = np.exp(scores - top[:, None])
    # a plain sum, not a BLAS product: OpenBLAS's idle threads spin after each call
    total = expd.sum(axis=1)
    return np.ascontiguousarray(expd / total[:, None]), top + np.log(total)


def _e_step(
    design: sparse.csr_matrix, log_pi: np.ndarray, log_prior: np.ndarray,
    gold_rows: np.ndarray, gold_codes: np.ndarray, expert: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Posterior (gold rows clamped) and the log-likelihood of the annotations;
    ``expert``: the model's tempered log-probabilities, in place of the class prior."""
    scores = design @ log_pi.reshape(-1, log_pi.shape[2])
    scores += log_prior if expert is None else expert
    post, norm = _normalise(scores)
    if len(gold_rows):
        norm[gold_rows] = scores[gold_rows, gold_codes]  # complete-data term: z is known
        post[gold_rows] = 0.0
        post[gold_rows, gold_codes] = 1.0
    return post, float(norm.sum())


def fit_temperature(t: np.ndarray, model_log: np.ndarray) -> float:
    """The temperature ``w`` in [0, 50] maximising ``sum_ik t_ik log softmax(w *
    model_log_i)_k``: how sharp the model's probabilities should be to match the
    posterior ``t`` (n_items, n_classes)."""

    def loss(w: float) -> float:
        return -float(np.einsum("ik,ik->", t, log_softmax(w * model_log, axis=1)))

    from scipy.optimize import minimize_scalar

    return float(minimize_scalar(loss, bounds=(0.0, 50.0), method="bounded",
                                 options={"xatol": 1e-4}).x)


def _model_confusion(t: np.ndarray, model_log: np.ndarray, smoothing: float) -> np.ndarray:
    """The model's argmax against the posterior: (1, true, said), for its reported quality."""
    k = t.shape[1]
    counts = t.T @ np.eye(k)[model_log.argmax(axis=1)] + smoothing
    return (counts / counts.sum(axis=1, keepdims=True))[None]


def _m_step(
    design_t: sparse.csc_matrix, t: np.ndarray, alpha: np.ndarray, smoothing: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Point estimates: log confusion (voter, observed, true), log class prior, log prior density."""
    return m_counts(np.asarray(design_t @ t), t.sum(axis=0), alpha, smoothing)


def m_counts(
    xt: np.ndarray, t_sum: np.ndarray, alpha: np.ndarray, smoothing: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`_m_step` from ``X^T T`` (voters * classes, classes) and ``T.sum(0)``."""
    k = xt.shape[1]
    counts = xt.reshape(-1, k, k) + alpha
    log_pi = np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))
    prior = t_sum + smoothing
    log_prior = np.log(prior / prior.sum())
    density = float((alpha * log_pi).sum() + smoothing * log_prior.sum())
    return log_pi, log_prior, density


def _dirichlet_kl(post: np.ndarray, prior: np.ndarray, axis: int) -> float:
    """Sum of ``KL(Dirichlet(post) || Dirichlet(prior))`` over the vectors along ``axis``."""
    post_sum, prior_sum = post.sum(axis=axis), prior.sum(axis=axis)
    e_log = digamma(post) - np.expand_dims(digamma(post_sum), axis)
    kl = gammaln(post_sum) - gammaln(prior_sum)
    kl += (gammaln(prior) - gammaln(post) + (post - prior) * e_log).sum(axis=axis)
    return float(kl.sum())


def _vb_step(
    design_t: sparse.csc_matrix, t: np.ndarray, alpha: np.ndarray, smoothing: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Variational update of q(pi), q(rho): E[log pi], E[log rho] and minus their KLs."""
    return vb_counts(np.asarray(design_t @ t), t.sum(axis=0), alpha, smoothing)


def vb_counts(
    xt: np.ndarray, t_sum: np.ndarray, alpha: np.ndarray, smoothing: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`_vb_step` from ``X^T T`` (voters * classes, classes) and ``T.sum(0)``."""
    k = xt.shape[1]
    post = xt.reshape(-1, k, k) + alpha
    e_log_pi = digamma(post) - digamma(post.sum(axis=1, keepdims=True))
    rho = t_sum + smoothing
    e_log_rho = digamma(rho) - digamma(rho.sum())
    prior = np.broadcast_to(alpha, post.shape)
    penalty = _dirichlet_kl(post, prior, axis=1)
    penalty += _dirichlet_kl(rho, np.full(k, smoothing), axis=0)
    return e_log_pi, e_log_rho, -penalty


def _prior_centre(t: np.ndarray, init_codes: np.ndarray, prior_from: str) -> np.ndarray:
    """The item-by-class weights the pooled prior's confusion counts are taken against."""
    if prior_from == "hard":
        return np.eye(t.shape[1])[init_codes]
    if prior_from == "shares":
        return t
    top = (t >= t.max(axis=1, keepdims=True) - 1e-12).astype(np.float64)
    return top / top.sum(axis=1, keepdims=True)


def fit_dawid_skene(
    design: sparse.csr_matrix,
    init: np.ndarray,
    *,
    init_codes: np.ndarray,
    gold_rows: np.ndarray,
    gold_codes: np.ndarray,
    smoothing: float,
    pool_strength: float | None,
    max_iter: int,
    tol: float,
    inference: str = "variational",
    prior_from: str = "split",
    model_log: np.ndarray | None = None,
    prior_rows: np.ndarray | None = None,
    strength_from_others: bool = False,
) -> DSFit:
    """Run EM from an initial posterior.

    Parameters
    ----------
    design : csr_matrix of shape (n_items, n_voters * n_classes)
        ``design[i, a * K + l]`` = weight of voter ``a`` saying ``l`` on item ``i`` (1 for
        an annotation, a probability for the model voter).
    init : ndarray of shape (n_items, n_classes)
        Initial posterior (e.g. majority-vote shares).
    init_codes : ndarray of shape (n_items,)
        Initial hard labels (e.g. majority vote, gold clamped): the voters' confusion
        counts against them fix the pooled prior and its estimated strength.
    gold_rows, gold_codes : ndarray of shape (n_gold,)
        Items whose class is known, and that class; their posterior is clamped.
    smoothing : float
        Pseudo-count added to every confusion-matrix cell and class prior.
    pool_strength : float or None
        Pseudo-labels per true class of the pooled prior; None estimates it.
    max_iter : int
    tol : float
        Stop when the objective gains less than ``tol`` per annotation.
    inference : {"variational", "point"}, default "variational"
        Variational Bayes or EM with point estimates (see the module docstring).
    prior_from : {"split", "shares", "hard"}, default "split"
        Count the voters' confusion for the pooled prior against the top classes of
        ``init`` with ties split evenly, against ``init`` itself, or against
        ``init_codes`` (the rule before issue 18); gold rows count for their class.
    model_log : ndarray of shape (n_items, n_classes), optional
        A model's log-probabilities: it joins as a calibrated expert with a fitted
        temperature (see the module docstring); the posterior then stops changing by
        more than ``tol`` instead of the objective (the temperature moves it).
    prior_rows : ndarray of bool, shape (n_items,), optional
        The items whose labels count toward the pooled prior and its strength (default
        all). :func:`assay.consensus` leaves out items with a single label when a model
        takes part: there the initial vote is that label, so they make every voter look
        perfect and alike (the strength then reaches its bound and every annotator gets
        the same confusion matrix).
    strength_from_others : bool, default False
        Estimate the prior's strength from :func:`others_counts` (each label against the
        other labels of its item) instead of the counts that centre it: on an item with
        two labels that disagree, the centre's split tie counts both voters half right,
        which makes good and bad voters look alike and sends the strength to its bound.
        Not a default: amendment 3 of ``benchmarks/consensus_with_model.py`` measured it
        (+0.006 on digits ``sparse-5``, +0.001 on ``sparse-5 hard``, short of its rule).
    """
    k = init.shape[1]
    t = init.copy()
    if len(gold_rows):
        t[gold_rows] = 0.0
        t[gold_rows, gold_codes] = 1.0
    # the transpose kept as CSC: its product streams through t (a CSR copy gathers
    # scattered rows of t, slower per label as t outgrows the cache)
    design_t = design.T
    n_labels = max(float(design.sum()), 1.0)
    centre = _prior_centre(t, init_codes, prior_from)
    if prior_rows is not None and prior_rows.any():
        centre = centre * prior_rows[:, None]
    start = np.asarray(design_t @ centre).reshape(-1, k, k)
    others = others_counts(design, k) if strength_from_others else None
    alpha, strength = _prior_alpha(start, smoothing, pool_strength, others)
    update = _vb_step if inference == "variational" else _m_step
    objective, converged, it = -np.inf, False, 0
    temperature = None
    for it in range(1, max_iter + 1):  # noqa: B007
        t_used = t
        log_pi, log_prior, density = update(design_t, t, alpha, smoothing)
        expert = None
        if model_log is not None:
            temperature = fit_temperature(t, model_log)
            expert = temperature * model_log
        t, ll = _e_step(design, log_pi, log_prior, gold_rows, gold_codes, expert)
        gain, objective = (ll + density - objective) / n_labels, ll + density
        if (gain if model_log is None else np.abs(t - t_used).max()) < tol:
            converged = True
            break
    confusion, prior = _posterior_means(design_t, t_used, alpha, smoothing)
    if model_log is not None:
        confusion = np.concatenate([confusion, _model_confusion(t, model_log, smoothing)])
    reported = objective if inference == "variational" else ll
    return DSFit(t, confusion, prior, reported, it, converged, strength, temperature)


def _posterior_means(
    design_t: sparse.csc_matrix, t: np.ndarray, alpha: np.ndarray, smoothing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Confusion matrices (voter, true, observed) and class prior the last E-step used."""
    return posterior_counts(np.asarray(design_t @ t), t.sum(axis=0), alpha, smoothing)


def posterior_counts(
    xt: np.ndarray, t_sum: np.ndarray, alpha: np.ndarray, smoothing: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_posterior_means` from ``X^T T`` and ``T.sum(0)``."""
    k = xt.shape[1]
    counts = xt.reshape(-1, k, k) + alpha
    confusion = (counts / counts.sum(axis=1, keepdims=True)).transpose(0, 2, 1)
    prior = t_sum + smoothing
    return confusion, prior / prior.sum()
