"""The k-nearest-neighbour graph that the feature checks share.

**Space.** Embeddings (image, text, audio) are searched as they are, with cleanlab's
``"auto"`` metric (cosine above 3 dimensions). Tabular features (``space="tabular"``)
are first robustly standardised column by column (:func:`robust_scale`: minus the
median, divided by the interquartile range) and searched with the euclidean distance:
on raw columns the one with the largest units decides every distance (proline, in the
hundreds, against hues near 1 in sklearn's wine), and cosine distance ignores how far
a row lies from the others along its own direction, which is what makes an outlier.
Cleanlab's Datalab does not scale features itself (it picks cosine above 3 columns);
its tabular tutorial standardises the numeric columns and passes a euclidean k-NN
graph, which is what ``space="tabular"`` does inside.

**Search.** Exact neighbours come from a k-d tree when the data's intrinsic dimension
is low enough for one to prune (decided on a probe of :data:`TREE_PROBE_ROWS` rows:
the tree must visit under :data:`TREE_MAX_VISITS` of the rows per query), else from
scikit-learn's brute force (``NearestNeighbors``, its chunked ``ArgKmin`` reduction).
On 50,000 rows, single thread, a k-d tree took 0.3-2 s where the rows have 3 latent
dimensions (3 to 30 columns) against 5-8 s brute force, but 35 s against 6 s on 14
independent gaussian columns, hence the probe. For large data when the optional
``hnswlib`` package is installed and no tree is cheap, an HNSW index is used. Cosine distance is
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

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.neighbors import KDTree, NearestNeighbors

from assay._validation import check_in, check_number
from assay.exceptions import InputError

__all__ = [
    "BACKENDS",
    "HNSW_MIN_ROWS",
    "SPACES",
    "KnnGraph",
    "check_features",
    "knn_graph",
    "nearest_distance",
    "neighbor_space",
    "robust_scale",
]

METRICS = ("auto", "euclidean", "cosine")
#: ``"embedding"``: rows as they are; ``"tabular"``: robustly standardised columns.
SPACES = ("embedding", "tabular")
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
    space : str
        ``"embedding"`` or ``"tabular"`` (searched on :func:`robust_scale` of the rows).
    search : str
        How the neighbours were found: ``"kd_tree"``, ``"brute"`` or ``"hnswlib"``.
    """

    distances: np.ndarray
    indices: np.ndarray
    metric: str
    space: str = "embedding"
    search: str = "brute"

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


def _resolve_metric(metric: str, n_features: int, space: str = "embedding") -> str:
    check_in(metric, METRICS, name="metric", func="knn_graph")
    if metric == "auto":  # cleanlab's rule for embeddings: cosine above 3 dimensions
        return "cosine" if n_features > 3 and space == "embedding" else "euclidean"
    return metric


def robust_scale(X: np.ndarray) -> np.ndarray:
    """Centre every column on its median and divide it by its interquartile range.

    A column whose interquartile range is zero (over half of its values equal, e.g. a
    rare flag, a one-hot category or a mostly-zero count) is divided instead by the
    median distance of its other values to the median: a 0/1 flag stays 0/1 and a
    sparse count is measured in its typical non-zero size, neither blown up by its rarity
    (as by the standard deviation) nor squashed by one huge value (as by the range). A
    constant column becomes 0. The result does not depend on the columns' units: it is
    the same for ``a x + b`` (``a > 0``) and only changes sign for ``a < 0``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    q1, median, q3 = np.percentile(X, [25, 50, 75], axis=0)
    noise = 1e-12 * np.abs(X).max(axis=0)  # differences below this are float rounding
    scale = q3 - q1
    flat = np.flatnonzero(scale <= noise)
    if flat.size:
        off = np.abs(X[:, flat] - median[flat])
        off = np.where(off > noise[flat], off, np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: a constant column
            typical = np.nanmedian(off, axis=0)
        scale[flat] = np.where(np.isnan(typical), 1.0, typical)
    return (X - median) / scale + 0.0


def neighbor_space(X: np.ndarray, space: str) -> np.ndarray:
    """The rows as the neighbour search sees them: :func:`robust_scale` for tabular data."""
    check_in(space, SPACES, name="space", func="knn_graph")
    return robust_scale(X) if space == "tabular" else X


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
#: From this many rows on, a k-d tree is tried (below, brute force takes under 0.3 s).
TREE_MIN_ROWS = 5_000
#: Query rows of the probe that decides between the k-d tree and brute force.
TREE_PROBE_ROWS = 200
#: The tree is used when a probe query computes distances to fewer than this share of
#: the rows (a tree's distance costs about 8x brute force's, so this leaves a margin).
TREE_MAX_VISITS = 0.05
#: Above this many rows the probe first runs on a tree of this many random rows, and
#: gives up when a query visits more than :data:`TREE_HOPELESS` of them.
TREE_PRE_ROWS = 20_000
TREE_HOPELESS = 0.5


def knn_graph(
    X: Any,
    *,
    k: int = 10,
    metric: str = "auto",
    space: str = "embedding",
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
        ``"auto"``: for embeddings cosine above 3 features, else euclidean (as
        cleanlab); for tabular features euclidean.
    space : {"embedding", "tabular"}, default="embedding"
        ``"tabular"`` searches :func:`robust_scale` of the rows, so that no column
        dominates the distances by its units; ``"embedding"`` the rows as they are.
    backend : {"auto", "sklearn", "hnswlib"}, default="auto"
        ``"sklearn"``: exact, a k-d tree when a probe shows it prunes well, else brute
        force. ``"hnswlib"``: approximate HNSW index (optional dependency; recall 0.9999
        on digits-like data in ``benchmarks/knn.py``). ``"auto"``: exact, except from
        :data:`HNSW_MIN_ROWS` rows on when no tree is cheap and hnswlib is installed.
    n_jobs : int, optional
        Threads for the neighbour search. hnswlib's graph is reproducible for a given
        ``seed`` only with ``n_jobs=1``.
    seed : int, default=0
        Seed of the tree probe's rows and of the HNSW index's random levels.

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
    resolved = _resolve_metric(metric, arr.shape[1], space)
    k = min(int(k), arr.shape[0] - 1)
    Z = prepare(neighbor_space(arr, space), resolved)
    tree = None if backend == "hnswlib" else _cheap_tree(Z, Z, k + 1, seed)
    if tree is not None:
        dist, ind = _drop_self(*tree.query(Z, k=k + 1))
        search = "kd_tree"
    elif _use_hnsw(backend, arr.shape[0]):
        dist, ind = _hnsw_kneighbors(Z, k, n_jobs, seed)
        search = "hnswlib"
    else:
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=n_jobs).fit(Z)
        dist, ind = nn.kneighbors()
        search = "brute"
    return KnnGraph(to_metric(dist, resolved), ind, resolved, space, search)


def _cheap_tree(fit: np.ndarray, queries: np.ndarray, k: int, seed: int) -> KDTree | None:
    """A k-d tree of ``fit`` if a probe of ``queries`` shows that it prunes well, else None.

    The probe counts the distances a tree query computes (deterministic, unlike timing);
    the tree wins when that is under :data:`TREE_MAX_VISITS` of the rows, i.e. when the
    data's intrinsic dimension is low, whatever its number of columns.
    """
    n = fit.shape[0]
    if n < TREE_MIN_ROWS or queries.shape[0] == 0:
        return None
    if n > TREE_PRE_ROWS and _hopeless(fit, queries, k, seed):
        return None
    tree = KDTree(fit)
    rng = np.random.default_rng(seed)
    probe = rng.choice(queries.shape[0], min(TREE_PROBE_ROWS, queries.shape[0]), replace=False)
    tree.reset_n_calls()
    tree.query(queries[probe], k=min(k, n))
    visits = tree.get_n_calls() / probe.shape[0]
    return tree if visits < TREE_MAX_VISITS * n else None


def _hopeless(fit: np.ndarray, queries: np.ndarray, k: int, seed: int) -> bool:
    """Whether a k-d tree of :data:`TREE_PRE_ROWS` random rows of ``fit`` visits more than
    :data:`TREE_HOPELESS` of them per probe query.

    A tree's share of visited rows falls with the rows as ``n ** (-1 / d)`` for data of
    intrinsic dimension ``d``, so a share above one half on the sample cannot fall under
    :data:`TREE_MAX_VISITS` on all rows: the full tree and its probe (which grow with
    the rows) are skipped. Its random rows come from their own stream of ``seed``, so
    the full probe's rows stay as they were.
    """
    sub = np.random.default_rng([seed, 1])
    rows = sub.choice(fit.shape[0], TREE_PRE_ROWS, replace=False)
    tree = KDTree(fit[rows])
    probe = sub.choice(queries.shape[0], min(TREE_PROBE_ROWS, queries.shape[0]), replace=False)
    tree.reset_n_calls()
    tree.query(queries[probe], k=min(k, TREE_PRE_ROWS))
    return bool(tree.get_n_calls() / probe.shape[0] > TREE_HOPELESS * TREE_PRE_ROWS)


def _drop_self(dist: np.ndarray, ind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row itself from its k + 1 neighbours (the farthest when it is absent)."""
    n, k1 = ind.shape
    keep = ind != np.arange(n)[:, None]
    keep[keep.all(axis=1), -1] = False  # self not returned (many ties): drop the farthest
    return dist[keep].reshape(n, k1 - 1), ind[keep].reshape(n, k1 - 1).astype(np.int64)


def nearest_distance(
    fit: np.ndarray, queries: np.ndarray, *, n_jobs: int | None = None, seed: int = 0
) -> np.ndarray:
    """Exact euclidean distance from every row of ``queries`` to its nearest row of ``fit``.

    Uses a k-d tree when a probe shows that it prunes well, else brute force.
    """
    tree = _cheap_tree(fit, queries, 1, seed)
    if tree is not None:
        dist: np.ndarray = tree.query(queries, k=1)[0][:, 0]
        return dist
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute", n_jobs=n_jobs).fit(fit)
    return np.asarray(nn.kneighbors(queries)[0][:, 0])


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
    dist, ind = _drop_self(np.sqrt(np.maximum(sq.astype(np.float64), 0.0)), ind)
    return dist, ind
