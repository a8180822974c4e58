"""Embedding-space slices: clusters of error-weighted embeddings, described in words.

The embeddings are clustered with k-means where every error carries the weight
``(1 - e) / e`` (``e`` the overall error rate) and every correct row weight 1, so errors
and non-errors pull on the centroids equally and centroids settle where errors
concentrate. Each cluster is then scored like a SliceLine slice and described by its
most typical errors (closest to the centroid) and the metadata values most
over-represented in it (largest lift with at least 30% coverage inside the cluster).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans

from assay._validation import index_of, name_rows
from assay.exceptions import InputError
from assay.train.slices._stats import error_interval, error_rate_pvalues
from assay.train.slices.sliceline import encode_metadata

__all__ = ["describe_cluster", "embedding_slices"]


def _check_embeddings(embeddings: object, n: int) -> np.ndarray:
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim != 2 or emb.shape[0] != n:
        raise InputError(
            f"embeddings has shape {emb.shape} but there are {n} rows; give an array of "
            "shape (n_samples, n_dims), one row per example, in the same order."
        )
    if not np.isfinite(emb).all():
        row = int(np.argmin(np.isfinite(emb).all(axis=1)))
        where = name_rows(row, index_of(embeddings))
        raise InputError(f"embeddings {where} contains NaN or inf; recompute or drop it.")
    return emb


def _cluster(emb: np.ndarray, err: np.ndarray, n_clusters: int, seed: int) -> KMeans:
    rate = float(err.mean())
    weight = np.where(err > 0, err * (1 - rate) / max(rate, 1e-12), 1.0)
    n_clusters = max(1, min(n_clusters, emb.shape[0] // 2))
    if emb.shape[0] > 20_000:
        model: KMeans = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, n_init=3)
    else:
        model = KMeans(n_clusters=n_clusters, random_state=seed, n_init=3)
    return model.fit(emb, sample_weight=weight)


def describe_cluster(
    member: np.ndarray, metadata: pd.DataFrame, *, top: int = 3, min_coverage: float = 0.3
) -> str:
    """The metadata values most over-represented in a cluster, as text.

    Parameters
    ----------
    member : bool array of shape (n_samples,)
    metadata : DataFrame of shape (n_samples, n_features)

    Returns
    -------
    str
        e.g. ``"tag = blurred (82% vs 10%)"``; empty when nothing stands out.
    """
    if metadata.shape[1] == 0 or not member.any():
        return ""
    data = encode_metadata(metadata)
    found: list[tuple[float, str]] = []
    for f in range(data.codes.shape[1]):
        inside = np.bincount(data.codes[member, f], minlength=data.domains[f]) / member.sum()
        overall = np.bincount(data.codes[:, f], minlength=data.domains[f]) / len(member)
        for v in np.flatnonzero(inside >= min_coverage):
            lift = inside[v] / overall[v]
            if lift >= 1.5:
                text = f"{data.labels[f][v]} ({inside[v]:.0%} vs {overall[v]:.0%})"
                found.append((lift * inside[v], text))
    found.sort(reverse=True)
    return "; ".join(t for _, t in found[:top])


def embedding_slices(
    embeddings: object, err: np.ndarray, metadata: pd.DataFrame, *, n_clusters: int,
    alpha: float, min_support: int, seed: int, binary: bool,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Score error-weighted k-means clusters as slices.

    Returns
    -------
    table : DataFrame, one row per cluster with score > 0 and at least ``min_support`` rows
    masks : bool array of shape (n_rows_in_table, n_samples)
    p_tested : array of the p-values of every cluster with enough support
    """
    emb = _check_embeddings(embeddings, len(err))
    model = _cluster(emb, err, n_clusters, seed)
    labels = model.labels_
    k = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    errs = np.bincount(labels, weights=err, minlength=k)
    n, mean_err = len(err), float(err.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = errs / sizes
        score = alpha * (rate / mean_err - 1) - (1 - alpha) * (n / sizes - 1)
    sq = None if binary else np.bincount(labels, weights=err**2, minlength=k)
    pvals = error_rate_pvalues(errs, sizes, mean_err, sq_errors=sq,
                               overall_var=float(err.var()))
    tested = sizes >= min_support
    keep = np.flatnonzero(tested & (score > 0))
    rows = [_cluster_row(int(c), labels, emb, err, model.cluster_centers_[c], metadata)
            for c in keep]
    low, high = error_interval(errs[keep], sizes[keep], None if sq is None else sq[keep])
    table = pd.DataFrame({
        "slice": [r[0] for r in rows], "kind": "embedding", "n_predicates": 0,
        "size": sizes[keep].astype(np.int64), "share": sizes[keep] / n, "errors": errs[keep],
        "error_rate": rate[keep], "error_rate_low": low, "error_rate_high": high,
        "overall_error_rate": mean_err, "lift": rate[keep] / mean_err, "score": score[keep],
        "p_value": pvals[keep], "examples": [r[1] for r in rows],
    })
    masks = np.array([labels == c for c in keep]).reshape(len(keep), n)
    return table, masks, pvals[tested]


def _cluster_row(
    c: int, labels: np.ndarray, emb: np.ndarray, err: np.ndarray, centre: np.ndarray,
    metadata: pd.DataFrame,
) -> tuple[str, list[int]]:
    """Description and the positions of the (up to 5) most typical errors of cluster c."""
    member = labels == c
    pos = np.flatnonzero(member & (err > 0))
    if len(pos) == 0:
        pos = np.flatnonzero(member)
    dist = np.linalg.norm(emb[pos] - centre, axis=1)
    typical = [int(i) for i in pos[np.argsort(dist)[:5]]]
    meta = describe_cluster(member, metadata)
    text = f"embedding cluster {c}" + (f": {meta}" if meta else "")
    return text, typical
