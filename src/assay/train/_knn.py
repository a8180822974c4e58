"""The k-nearest-neighbour graph that the feature checks share.

The k-nearest-neighbour graph comes from scikit-learn's ``NearestNeighbors`` (exact,
brute force through its chunked, multithreaded ``ArgKmin`` reduction) or, for large data
when the optional ``hnswlib`` package is installed, from an HNSW index. Cosine distance is
half the squared euclidean distance between L2-normalised rows, so one euclidean search
serves both metrics. The choice is by measurement (``benchmarks/knn.py``, results in
``benchmarks/results/knn.md``, 50,000 digits-like rows x 64 features, k=10): on a quiet
machine the exact search took 4.6 s and hnswlib 1.3 s (recall 0.9999); on the shared,
heavily loaded machine exact 30.8 s, hnswlib 12.7 s, cleanlab's own graph 89.8 s.
pynndescent (recall 0.996) was fastest once compiled (2.7 s) but compiles with numba for
30-145 s in every new process, which rules it out for a command-line tool. Below
:data:`HNSW_MIN_ROWS` rows the exact search is fast enough (0.3 s at 5,000 rows) and is
used; hnswlib is optional (``pip install hnswlib``), and without it the exact search is
used at every size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from assay._validation import check_in, check_number
from assay.exceptions import InputError

__all__ = ["BACKENDS", "HNSW_MIN_ROWS", "KnnGraph", "check_features", "knn_graph"]

METRICS = ("auto", "euclidean", "cosine")
EPS = 100 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class KnnGraph:
    """The k nearest neighbours of every example, itself excluded.

    Attributes
    ----------
    distances : ndarray of shape (n_samples, k)
        Ascending distances to the neighbours.
    indices : ndarray of shape (n_samples, k)
        Row indices of the neighbours.
    metric : str
        ``"euclidean"`` or ``"cosine"``.
    """

    distances: np.ndarray
    indices: np.ndarray
    metric: str

    @property
    def median_nn_distance(self) -> float:
        """Median distance to the nearest neighbour (at least a tiny epsilon)."""
        return max(float(np.median(self.distances[:, 0])), EPS)


def check_features(X: Any, *, name: str = "features", n_samples: int | None = None) -> np.ndarray:
    """Validate a feature matrix and return it as a C-contiguous float64 array.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numeric features or embeddings.
    name : str
        What to call the array in messages.
    n_samples : int, optional
        The expected number of rows.
    """
    try:
        arr = np.ascontiguousarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} must be numeric (n_samples, n_features); convert text or categorical "
            f"columns first (e.g. with assay.modalities.get_modality('tabular')). ({exc})"
        ) from None
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-d (n_samples, n_features); got shape {arr.shape}.")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise InputError(
            f"{name} has {arr.shape[0]} rows but the data has {n_samples}; "
            "give one row per example, in the same order."
        )
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        raise InputError(f"{name} row {row} contains NaN or inf; impute or drop it first.")
    return arr + 0.0  # turns -0.0 into 0.0 so that equal rows hash equally


def _resolve_metric(metric: str, n_features: int) -> str:
    check_in(metric, METRICS, name="metric", func="knn_graph")
    if metric == "auto":  # cleanlab's rule: cosine for more than 3 dimensions
        return "cosine" if n_features > 3 else "euclidean"
    return metric


def prepare(X: np.ndarray, metric: str) -> np.ndarray:
    if metric == "euclidean":
        return X
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def to_metric(dist: np.ndarray, metric: str) -> np.ndarray:
    return dist**2 / 2.0 if metric == "cosine" else dist


BACKENDS = ("auto", "sklearn", "hnswlib")
#: From this many rows on, ``backend="auto"`` uses hnswlib when it is installed.
HNSW_MIN_ROWS = 20_000


def knn_graph(
    X: Any,
    *,
    k: int = 10,
    metric: str = "auto",
    backend: str = "auto",
    n_jobs: int | None = None,
    seed: int = 0,
) -> KnnGraph:
    """Compute the k-nearest-neighbour graph of the rows of ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features or embeddings.
    k : int, default=10
        Neighbours per example; reduced to ``n_samples - 1`` on tiny data.
    metric : {"auto", "euclidean", "cosine"}, default="auto"
        ``"auto"`` is cosine above 3 features, else euclidean (as cleanlab).
    backend : {"auto", "sklearn", "hnswlib"}, default="auto"
        ``"sklearn"``: exact brute force. ``"hnswlib"``: approximate HNSW index (optional
        dependency; recall 0.9999 on digits-like data in ``benchmarks/knn.py``).
        ``"auto"``: hnswlib from :data:`HNSW_MIN_ROWS` rows on when installed, else sklearn.
    n_jobs : int, optional
        Threads for the neighbour search. hnswlib's graph is reproducible for a given
        ``seed`` only with ``n_jobs=1``.
    seed : int, default=0
        Seed of the HNSW index's random levels.

    Returns
    -------
    KnnGraph
        Distances and indices of shape (n_samples, k), the example itself excluded.
    """
    arr = check_features(X)
    check_number(k, name="k", func="knn_graph", low=1, integer=True)
    check_in(backend, BACKENDS, name="backend", func="knn_graph")
    if arr.shape[0] < 2:
        raise InputError("knn_graph needs at least 2 rows to find neighbours.")
    resolved = _resolve_metric(metric, arr.shape[1])
    k = min(int(k), arr.shape[0] - 1)
    Z = prepare(arr, resolved)
    if _use_hnsw(backend, arr.shape[0]):
        dist, ind = _hnsw_kneighbors(Z, k, n_jobs, seed)
    else:
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=n_jobs).fit(Z)
        dist, ind = nn.kneighbors()
    return KnnGraph(to_metric(dist, resolved), ind, resolved)


def _use_hnsw(backend: str, n_rows: int) -> bool:
    if backend == "sklearn" or (backend == "auto" and n_rows < HNSW_MIN_ROWS):
        return False
    try:
        import hnswlib  # noqa: F401
    except ImportError:
        if backend == "hnswlib":
            raise InputError(
                "backend='hnswlib' needs the hnswlib package; `pip install hnswlib` "
                "or use backend='sklearn'."
            ) from None
        return False
    return True


def _hnsw_kneighbors(
    Z: np.ndarray, k: int, n_jobs: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate k-NN (euclidean) with an HNSW index, the query row itself removed."""
    import hnswlib

    n, d = Z.shape
    data = Z.astype(np.float32)
    index = hnswlib.Index(space="l2", dim=d)
    index.init_index(max_elements=n, ef_construction=100, M=16, random_seed=seed)
    threads = -1 if n_jobs is None else int(n_jobs)
    index.add_items(data, np.arange(n), num_threads=threads)
    index.set_ef(max(40, 2 * k + 2))
    ind, sq = index.knn_query(data, k=k + 1, num_threads=threads)
    keep = ind != np.arange(n)[:, None]
    keep[keep.all(axis=1), -1] = False  # self not returned (many ties): drop the farthest
    ind = ind[keep].reshape(n, k).astype(np.int64)
    dist = np.sqrt(np.maximum(sq[keep].reshape(n, k).astype(np.float64), 0.0))
    return dist, ind
