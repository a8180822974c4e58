"""Benchmark: k-nearest-neighbour graphs for the audit's feature checks.

Compares, on digits-like data (scikit-learn's 8x8 digits, randomly shifted by a pixel and
with Gaussian pixel noise, tiled to n rows x 64 features), the time to build the k=10
neighbour graph of every row (itself excluded) and its recall against the exact graph:

* assay ``knn_graph(backend="sklearn")``: exact, scikit-learn brute force (cosine via
  normalised euclidean);
* assay ``knn_graph(backend="hnswlib")``: approximate HNSW index (hnswlib, Apache-2.0);
* pynndescent (BSD-2, numba): the first call in a process (with JIT compilation) and later
  calls;
* anchor: cleanlab 2.9's ``create_knn_graph_and_index`` (what ``Datalab`` uses).

Run: ``.venv/bin/python benchmarks/knn.py [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from assay.train.audit.neighbors import knn_graph

K = 10


def digits_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits-like rows x 64 features (shifted, noisy copies of the 8x8 digits)."""
    rng = np.random.default_rng(seed)
    images, labels = load_digits(return_X_y=True)
    pick = rng.integers(0, len(images), n)
    imgs = images[pick].reshape(-1, 8, 8)
    shifts = rng.integers(-1, 2, size=(n, 2))
    out = np.empty_like(imgs)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            rows = (shifts[:, 0] == dx) & (shifts[:, 1] == dy)
            out[rows] = np.roll(np.roll(imgs[rows], dx, axis=1), dy, axis=2)
    X = np.clip(out.reshape(n, 64) + rng.normal(0, 1.0, (n, 64)), 0, 16)
    return X, labels[pick]


def timed(fn: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Median wall time of ``fn`` over ``repeats`` runs, and its last result (indices)."""
    times, result = [], np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean fraction of the exact neighbours found."""
    hits = [len(set(a) & set(b)) for a, b in zip(approx, exact, strict=True)]
    return float(np.mean(hits)) / exact.shape[1]


def run_size(n: int, repeats: int, jit: bool) -> list[tuple[str, int, float, float]]:
    """Rows (method, n, seconds, recall) for one data size."""
    X, _ = digits_like(n)
    rows = []
    t_exact, exact = timed(lambda: knn_graph(X, k=K, backend="sklearn").indices, repeats)
    rows.append(("assay sklearn (exact)", n, t_exact, 1.0))
    if importlib.util.find_spec("hnswlib") is not None:
        t, ind = timed(lambda: knn_graph(X, k=K, backend="hnswlib").indices, repeats)
        rows.append(("assay hnswlib", n, t, recall(ind, exact)))
    if jit:  # pynndescent compiles with numba for about a minute in every new process
        rows += _pynndescent(X, exact, repeats)
    rows.append(_cleanlab(X, exact, repeats))
    return rows


def _pynndescent(
    X: np.ndarray, exact: np.ndarray, repeats: int
) -> list[tuple[str, int, float, float]]:
    try:
        import pynndescent
    except ImportError:
        return []
    Z = X / np.linalg.norm(X, axis=1, keepdims=True)

    def build() -> np.ndarray:
        index = pynndescent.NNDescent(Z, n_neighbors=K + 1, random_state=0)
        return index.neighbor_graph[0][:, 1:]

    t_first, _ = timed(build, 1)
    t, ind = timed(build, repeats)
    return [
        ("pynndescent (first call, JIT)", len(X), t_first, recall(ind, exact)),
        ("pynndescent (compiled)", len(X), t, recall(ind, exact)),
    ]


def _cleanlab(X: np.ndarray, exact: np.ndarray, repeats: int) -> tuple[str, int, float, float]:
    from cleanlab.internal.neighbor.knn_graph import create_knn_graph_and_index

    def build() -> np.ndarray:
        graph, _ = create_knn_graph_and_index(X, n_neighbors=K)
        return graph.indices.reshape(len(X), K)

    t, ind = timed(build, repeats)
    return ("anchor: cleanlab create_knn_graph_and_index", len(X), t, recall(ind, exact))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    sizes, repeats = ([5_000], 1) if args.quick else ([5_000, 20_000, 50_000], 3)
    rows = [row for n in sizes for row in run_size(n, repeats, not args.quick)]
    anchors = {n: t for m, n, t, _ in rows if m.startswith("anchor")}
    lines = [
        "| method | rows | seconds (median) | anchor / method | recall@10 |",
        "|---|---:|---:|---:|---:|",
    ] + [f"| {m} | {n:,} | {t:.2f} | {anchors[n] / t:.1f}x | {r:.4f} |" for m, n, t, r in rows]
    table = "\n".join(lines)
    print(table)
    cmd = "python benchmarks/knn.py" + (" --quick" if args.quick else "")
    note = (
        f"# k-NN graph benchmark (k={K}, 64 features, digits-like data)\n\n"
        f"Command: `{cmd}`; date: {dt.date.today()}; medians over {repeats} repeat(s). "
        "The machine (2 cores) was shared with other engineers' jobs, so times are noisy.\n\n"
        "Choice: exact scikit-learn below 20,000 rows; hnswlib (optional, Apache-2.0) from "
        "20,000 rows on when installed. pynndescent is fastest once compiled, but its numba "
        "compilation costs 30-145 s in every new process (the 'first call' row at the "
        "smallest size), too much for a command-line tool.\n\n"
    )
    if not args.quick:  # the smoke run does not overwrite the recorded results
        (Path(__file__).parent / "results" / "knn.md").write_text(note + table + "\n")


if __name__ == "__main__":
    main()
