"""Tabular augmentation: SMOTE-style interpolation within a class.

A new row starts from its parent ``x`` and a neighbour ``z`` drawn uniformly from the
parent's ``k`` nearest rows of the same class (Euclidean distance on the numeric
columns, as in Chawla et al. 2002 and imbalanced-learn's SMOTE), and takes
``x + u (z - x)`` with ``u ~ U(0, 1)`` on every numeric column (integer columns are
rounded); every other column (categorical, boolean, text) is copied from the parent.
Neighbours come from the same class inside the selected slice; when the slice holds
fewer than two rows of a class, from that class in the whole table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from assay.exceptions import InputError

__all__ = ["numeric_columns", "smote_rows"]

#: Tree search: exact like brute force, without the per-call thread start-up that makes
#: scikit-learn's brute-force path slow on the small per-class pools SMOTE queries.
_ALGORITHM = "ball_tree"


def numeric_columns(df: pd.DataFrame, exclude: set[str]) -> list[str]:
    """The numeric, non-boolean columns of ``df`` that are not in ``exclude``."""
    return [
        str(c)
        for c in df.columns
        if c not in exclude
        and pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
    ]


def _neighbour_pool(labels: np.ndarray, in_slice: np.ndarray, cls: object) -> np.ndarray:
    pool = np.flatnonzero(in_slice & (labels == cls))
    if pool.size < 2:
        pool = np.flatnonzero(labels == cls)
    if pool.size < 2:
        raise InputError(
            f"class {cls!r} has a single row, so SMOTE has no neighbour to interpolate "
            "towards; add rows of that class or leave it out of the slice."
        )
    return pool


def smote_rows(
    X: np.ndarray,
    labels: np.ndarray,
    in_slice: np.ndarray,
    parents: np.ndarray,
    seeds: np.ndarray,
    *,
    k_neighbors: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate new rows between parents and same-class neighbours.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), float
        Numeric columns of the whole table (no NaN).
    labels : array of shape (n_samples,)
        Class of each row.
    in_slice : array of shape (n_samples,), bool
        The selected rows (neighbour pool first choice).
    parents : array of shape (n_new,), int
        Row positions of the parents.
    seeds : array of shape (n_new,), int
        One seed per new row.
    k_neighbors : int, default=5
        Neighbours to choose from.

    Returns
    -------
    new_X : array of shape (n_new, n_features)
    neighbours : array of shape (n_new,), int
        Row position of the neighbour used.
    u : array of shape (n_new,)
        Interpolation weights in [0, 1).
    """
    new_X = np.empty((parents.shape[0], X.shape[1]))
    neighbours = np.empty(parents.shape[0], dtype=np.int64)
    u = np.empty(parents.shape[0])
    for cls in pd.unique(labels[parents]):
        rows = np.flatnonzero(labels[parents] == cls)
        pool = _neighbour_pool(labels, in_slice, cls)
        k = min(k_neighbors, pool.size - 1)
        nn = NearestNeighbors(n_neighbors=k + 1, algorithm=_ALGORITHM).fit(X[pool])
        _, idx = nn.kneighbors(X[parents[rows]])
        for row, candidates in zip(rows, idx, strict=True):
            own = pool[candidates] != parents[row]
            choices = pool[candidates][own][:k]
            rng = np.random.default_rng(int(seeds[row]))
            neighbours[row] = choices[int(rng.integers(choices.size))]
            u[row] = rng.random()
    x, z = X[parents], X[neighbours]
    new_X[:] = x + u[:, None] * (z - x)
    return new_X, neighbours, u
