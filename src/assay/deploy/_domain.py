"""Drift of text and embedding columns: a domain classifier and MMD.

* **Domain classifier**: logistic regression learns to tell reference rows from current
  rows; its cross-validated ROC AUC is the effect size (0.5 = indistinguishable). The
  threshold is calibrated by permutation: the classifier is refit ``n_permutations``
  times on shuffled domain labels and the threshold is the ``1 - alpha`` quantile of
  those null AUCs, floored at ``min_auc`` (practical significance).
* **MMD**: maximum mean discrepancy with an RBF kernel whose bandwidth is the median
  pairwise distance of the pooled sample; its p-value (permutation null, tail fitted
  by a Gamma distribution) is the statistical test.

Text is embedded by ``text_embedder`` when given (any callable from a list of strings to
an array of shape (n, d)), else by l2-normalised hashed TF-IDF word features (no model
download).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import sparse, stats
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

__all__ = ["domain_auc", "embed_text", "mmd_test"]

TextEmbedder = Callable[[Sequence[str]], Any]


def embed_text(ref: Sequence[str], cur: Sequence[str],
               embedder: TextEmbedder | None) -> tuple[Any, Any]:
    """Embed two lists of strings the same way; returns two (n, d) matrices."""
    if embedder is not None:
        return (np.asarray(embedder(list(ref)), dtype=np.float64),
                np.asarray(embedder(list(cur)), dtype=np.float64))
    hasher = HashingVectorizer(n_features=2**12, alternate_sign=False, norm=None)
    counts = hasher.transform(list(ref) + list(cur))
    tfidf = TfidfTransformer(norm="l2").fit_transform(counts)
    return tfidf[: len(ref)], tfidf[len(ref):]


def _stack(ref: Any, cur: Any) -> tuple[Any, np.ndarray]:
    if sparse.issparse(ref):
        x = sparse.vstack([ref, cur]).tocsr()
    else:
        x = np.vstack([np.asarray(ref), np.asarray(cur)])
    y = np.r_[np.zeros(ref.shape[0]), np.ones(cur.shape[0])]
    return x, y


def _cv_auc(x: Any, y: np.ndarray, seed: int) -> float:
    folds = int(min(5, np.bincount(y.astype(int)).min()))
    if folds < 2:
        return 0.5
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    model = LogisticRegression(solver="liblinear", max_iter=300)
    scores = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def domain_auc(ref: Any, cur: Any, *, n_permutations: int, alpha: float, min_auc: float,
               seed: int) -> tuple[float, float]:
    """Cross-validated AUC of a reference-vs-current classifier and its threshold.

    Parameters
    ----------
    ref : array or sparse matrix of shape (n_ref, d)
    cur : array or sparse matrix of shape (n_cur, d)
    n_permutations : int
        Refits on shuffled domain labels that calibrate the threshold.
    alpha : float
    min_auc : float
        Floor of the threshold (an AUC below it is not practically significant).
    seed : int

    Returns
    -------
    auc, threshold : float
    """
    x, y = _stack(ref, cur)
    auc = _cv_auc(x, y, seed)
    rng = np.random.default_rng(seed)
    null = [_cv_auc(x, rng.permutation(y), seed + i + 1) for i in range(n_permutations)]
    threshold = float(np.quantile(null, 1 - alpha)) if null else min_auc
    return auc, max(threshold, min_auc)


def _sq_distances(x: Any) -> np.ndarray:
    gram = x @ x.T
    gram = gram.toarray() if sparse.issparse(gram) else np.asarray(gram)
    norms = np.diag(gram)
    return np.maximum(norms[:, None] + norms[None, :] - 2 * gram, 0.0)


def mmd_test(ref: Any, cur: Any, *, n_permutations: int, seed: int) -> tuple[float, float]:
    """MMD with an RBF kernel (median heuristic) and its permutation p-value.

    Parameters
    ----------
    ref : array or sparse matrix of shape (n_ref, d)
    cur : array or sparse matrix of shape (n_cur, d)
    n_permutations : int
    seed : int

    Returns
    -------
    mmd, p_value : float
        ``mmd`` is the square root of the biased MMD^2 estimate; ``p_value`` comes from
        a Gamma fitted to the permutation null (see :func:`_gamma_tail`).
    """
    x, _ = _stack(ref, cur)
    n_ref, n = ref.shape[0], x.shape[0]
    d2 = _sq_distances(x)
    positive = d2[np.triu_indices(n, 1)]
    positive = positive[positive > 0]
    bandwidth2 = float(np.median(positive)) if len(positive) else 1.0
    kernel = np.exp(-d2 / bandwidth2)
    rng = np.random.default_rng(seed)
    labels = np.vstack([np.r_[np.ones(n_ref), np.zeros(n - n_ref)]]
                       + [rng.permutation(np.r_[np.ones(n_ref), np.zeros(n - n_ref)])
                          for _ in range(n_permutations)])
    weights = labels / n_ref - (1 - labels) / (n - n_ref)
    mmd2 = np.einsum("bi,bi->b", weights @ kernel, weights)
    observed = max(float(mmd2[0]), 0.0)
    return float(np.sqrt(observed)), _gamma_tail(observed, mmd2[1:])


def _gamma_tail(observed: float, null: np.ndarray) -> float:
    """P-value from a Gamma fitted (by moments) to the permutation null of MMD^2.

    The empirical permutation p-value cannot go below ``1 / (n_permutations + 1)``,
    which multiple-testing correction across many columns would make useless; the
    Gamma approximation of the null (Gretton et al., 2009) gives a smooth tail.
    """
    mean, var = float(np.mean(null)), float(np.var(null))
    if mean <= 0 or var <= 0:
        return float((1 + np.sum(null >= observed)) / (1 + len(null)))
    return float(stats.gamma.sf(observed, a=mean**2 / var, scale=var / mean))
