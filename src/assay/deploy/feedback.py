"""Flow production data back for labeling: targeted, with a random share kept honest.

:func:`sample_for_labeling` draws in two stages:

1. a simple random sample of ``round(n * random_share)`` rows of the batch
   (``random=True``, inclusion probability ``n_random / n_rows``): labelling those gives
   unbiased estimates (e.g. of accuracy) through :func:`horvitz_thompson_mean`;
2. from the other rows, a systematic probability-proportional-to-size sample of the rest
   of ``n``, with probabilities proportional to a priority score (capped at 1):
   the mean of the drift score (e.g. :func:`domain_classifier_scores`, the probability
   that a row comes from the current batch rather than the reference) and the
   uncertainty ``1 - confidence`` of the model. Every row keeps a small positive
   probability, so the targeted rows carry exact inclusion probabilities too
   (conditional on stage 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from assay._validation import Integral, Interval, Real, validate_params
from assay.exceptions import InputError

__all__ = ["domain_classifier_scores", "horvitz_thompson_mean", "sample_for_labeling"]

#: Priority floor, so that every row can be drawn in the targeted stage.
MIN_PRIORITY = 1e-3


def _component(batch: pd.DataFrame, values: Any, name: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, str):
        if values not in batch.columns:
            raise InputError(f"{name}={values!r} is not a column of the batch; its columns "
                             f"are: {', '.join(map(str, batch.columns[:20]))}.")
        values = batch[values]
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (len(batch),):
        raise InputError(f"{name} has shape {arr.shape}; give one score per batch row "
                         f"({len(batch)}).")
    if np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any():
        raise InputError(f"{name} must hold numbers in [0, 1] without NaN; rescale it "
                         "(e.g. probabilities).")
    return arr


def _priority(drift: np.ndarray | None, conf: np.ndarray | None,
              n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Priority score per row and the reason (which component dominates)."""
    parts = {"drift": drift, "low_confidence": None if conf is None else 1 - conf}
    given = {k: v for k, v in parts.items() if v is not None}
    if not given:
        return np.zeros(n_rows), np.full(n_rows, "random", dtype=object)
    stacked = np.vstack(list(given.values()))
    names = np.array(list(given), dtype=object)
    return stacked.mean(axis=0), names[stacked.argmax(axis=0)]


def _pps_probabilities(score: np.ndarray, n: int) -> np.ndarray:
    """Inclusion probabilities proportional to ``score``, summing to ``n``, capped at 1."""
    pi = np.zeros(len(score))
    free = np.ones(len(score), dtype=bool)
    remaining = n
    while remaining > 0 and free.any():
        pi[free] = remaining * score[free] / score[free].sum()
        over = free & (pi >= 1)
        if not over.any():
            break
        pi[over] = 1.0
        free &= ~over
        remaining = n - int((~free).sum())
    return np.minimum(pi, 1.0)


def _systematic(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic PPS draw in random order; returns positions with exact probability pi."""
    order = rng.permutation(len(pi))
    cum = np.cumsum(pi[order])
    points = rng.random() + np.arange(int(round(cum[-1])))
    hits = np.unique(np.searchsorted(cum, points, side="right"))
    return np.asarray(order[hits[hits < len(pi)]])


@validate_params({
    "n": [Interval(Integral, 1, None)],
    "random_share": [Interval(Real, 0.0, 1.0)],
})
def sample_for_labeling(batch_df: pd.DataFrame, *, n: int, drift_scores: Any = None,
                        confidence: Any = None, random_share: float = 0.2,
                        seed: int = 0) -> pd.DataFrame:
    """Pick production rows for labeling, weighted toward drift and low confidence.

    Parameters
    ----------
    batch_df : pandas DataFrame of shape (n_rows, n_columns)
        The production batch.
    n : int
        Rows to pick (all rows when ``n >= n_rows``).
    drift_scores : array-like of shape (n_rows,) or str, optional
        Per-row drift score in [0, 1] (or a column name), e.g.
        :func:`domain_classifier_scores`.
    confidence : array-like of shape (n_rows,) or str, optional
        The model's confidence (max predicted probability) per row, in [0, 1].
    random_share : float
        Share of ``n`` drawn uniformly at random.
    seed : int

    Returns
    -------
    pandas DataFrame
        The picked rows (original index) plus ``reason`` (random, drift,
        low_confidence), ``score`` (priority), ``random`` (bool) and
        ``inclusion_probability``; targeted rows first, by decreasing score.
    """
    if not isinstance(batch_df, pd.DataFrame) or len(batch_df) == 0:
        raise InputError("sample_for_labeling needs a non-empty DataFrame batch.")
    score, reason = _priority(_component(batch_df, drift_scores, "drift_scores"),
                              _component(batch_df, confidence, "confidence"), len(batch_df))
    rows, n = len(batch_df), min(n, len(batch_df))
    n_random = n if reason[0] == "random" else int(round(n * random_share))
    rng = np.random.default_rng(seed)
    picked_random = rng.choice(rows, n_random, replace=False)
    rest = np.setdiff1d(np.arange(rows), picked_random)
    pi = _pps_probabilities(score[rest] + MIN_PRIORITY, n - n_random)
    picked = rest[_systematic(pi, rng)] if n > n_random else np.empty(0, dtype=np.int64)
    pi_full = np.zeros(rows)
    pi_full[rest] = pi
    pi_full[picked_random] = n_random / rows
    return _sample_frame(batch_df, picked, picked_random, score, reason, pi_full)


def _sample_frame(batch: pd.DataFrame, targeted: np.ndarray, randoms: np.ndarray,
                  score: np.ndarray, reason: np.ndarray, pi: np.ndarray) -> pd.DataFrame:
    targeted = targeted[np.argsort(-score[targeted], kind="stable")]
    positions = np.concatenate([targeted, np.sort(randoms)]).astype(np.int64)
    out = batch.iloc[positions].copy()
    out["reason"] = np.concatenate([reason[targeted], np.full(len(randoms), "random")])
    out["score"] = score[positions]
    out["random"] = np.r_[np.zeros(len(targeted), bool), np.ones(len(randoms), bool)]
    out["inclusion_probability"] = pi[positions]
    return out


def horvitz_thompson_mean(values: ArrayLike, inclusion_probability: ArrayLike,
                          population_size: int) -> float:
    """Horvitz-Thompson estimate of a population mean from a probability sample.

    Parameters
    ----------
    values : array-like of shape (n_sampled,)
        E.g. 1 when the model was right on a labelled row, else 0.
    inclusion_probability : array-like of shape (n_sampled,)
    population_size : int
        Rows in the batch the sample was drawn from.
    """
    y = np.asarray(values, dtype=np.float64)
    pi = np.asarray(inclusion_probability, dtype=np.float64)
    if len(y) != len(pi) or (pi <= 0).any():
        raise InputError("give one inclusion probability > 0 per sampled value.")
    return float(np.sum(y / pi) / population_size)


def domain_classifier_scores(reference: pd.DataFrame, current: pd.DataFrame, *,
                             columns: Sequence[str] | None = None, seed: int = 0,
                             max_reference: int = 20_000, n_jobs: int = 1) -> np.ndarray:
    """Out-of-fold probability that each current row comes from the current batch.

    A gradient-boosted classifier (missing values and categories handled natively) is
    trained to tell reference rows from current rows; 0.5 means "looks like the
    reference", values near 1 mark the drifted regions.

    Parameters
    ----------
    reference : pandas DataFrame of shape (n_ref, n_columns)
    current : pandas DataFrame of shape (n_cur, n_columns)
    columns : sequence of str, optional
        Feature columns (default: columns in both tables).
    seed : int
    max_reference : int
        Reference rows used (a uniform sample when there are more).
    n_jobs : int
        Threads for the classifier (OpenMP); 1 avoids oversubscribing shared machines.

    Returns
    -------
    ndarray of shape (n_cur,)
        Scores rescaled by the class balance so that 0.5 means "no evidence of drift".
    """
    names = list(columns) if columns is not None else [
        c for c in current.columns if c in reference.columns]
    if not names:
        raise InputError("reference and current batch share no column to compare.")
    rng = np.random.default_rng(seed)
    ref = reference[names]
    if len(ref) > max_reference:
        ref = ref.iloc[np.sort(rng.choice(len(ref), max_reference, replace=False))]
    both = pd.concat([ref, current[names]], ignore_index=True)
    x = _encode(both)
    y = np.r_[np.zeros(len(ref)), np.ones(len(current))]
    folds = int(min(5, len(ref), len(current)))
    if folds < 2:
        return np.full(len(current), 0.5)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    with threadpool_limits(limits=n_jobs):
        prob = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[len(ref):, 1]
    prior = len(current) / len(y)
    odds = (prob / np.clip(1 - prob, 1e-12, None)) * ((1 - prior) / prior)
    return np.asarray(odds / (1 + odds))


def _encode(frame: pd.DataFrame) -> np.ndarray:
    cols = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
                series.dtype):
            arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
            cols.append(np.where(np.isfinite(arr), arr, np.nan))
        else:
            codes = pd.factorize(series.astype(str), use_na_sentinel=True)[0].astype(float)
            cols.append(np.where(codes < 0, np.nan, codes))
    return np.column_stack(cols)
