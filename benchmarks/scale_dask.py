"""Dask at scale on a 2-worker LocalCluster (processes, 2 GB per worker) (issue 19).

1. find_label_issues on N x 10 Dask arrays vs one Dask argmax pass over the same array
   (probabilities and labels generated per chunk from a seed: every pass regenerates
   them, the argmax pass included), median of 2 runs, and the ratio;
2. drift of an N-row x 10-column Parquet directory against a stored profile, with the
   peak RSS of each worker (sampled every 0.2 s through ``client.run``);
3. Dawid-Skene consensus of an N-annotation table: Dask (shuffled by item) vs pandas.

Run: ``nice -n 10 .venv/bin/python benchmarks/scale_dask.py --labels 2e6,8e6 --drift 5e6
--annotations 1e6`` (writes benchmarks/results/scale_dask.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

import assay

K = 10
CHUNK = 500_000
OUT = Path(__file__).parent / "results" / "scale_dask.md"


def _probs_block(block_id: tuple[int, ...], rows: int) -> np.ndarray:
    rng = np.random.default_rng(block_id[0])
    truth = rng.integers(0, K, rows)
    logits = rng.normal(size=(rows, K)).astype(np.float32)
    logits[np.arange(rows), truth] += 3.0
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def _labels_block(block_id: tuple[int, ...], rows: int) -> np.ndarray:
    rng = np.random.default_rng(block_id[0])
    truth = rng.integers(0, K, rows)
    flip = np.random.default_rng(10_000 + block_id[0]).random(rows) < 0.1
    truth[flip] = (truth[flip] + 1) % K
    return truth


def arrays(n: int):  # noqa: ANN201
    import dask.array as da

    chunks = [CHUNK] * (n // CHUNK) + ([n % CHUNK] if n % CHUNK else [])
    probs = da.map_blocks(lambda block_id=None: _probs_block(block_id, CHUNK), dtype=np.float32,
                          chunks=(tuple(chunks), (K,)))
    labels = da.map_blocks(lambda block_id=None: _labels_block(block_id, CHUNK),
                           dtype=np.int64, chunks=(tuple(chunks),))
    return labels, probs


def timed(fn, runs: int = 2) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_labels(n: int) -> dict[str, float]:
    labels, probs = arrays(n)
    argmax = timed(lambda: probs.argmax(axis=1).sum().compute())
    fli = timed(lambda: int(assay.find_label_issues(labels, probs)["is_label_issue"].sum()
                            .compute()))
    return {"n": n, "argmax_s": argmax, "fli_s": fli, "ratio": fli / argmax}


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class PeakRss:
    """Peak RSS of every worker, sampled in a thread through ``client.run``."""

    def __init__(self, client) -> None:  # noqa: ANN001
        self.client, self.peak, self.stop = client, {}, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for worker, rss in self.client.run(_rss).items():
                self.peak[worker] = max(self.peak.get(worker, 0), rss)
            time.sleep(0.2)


def bench_drift(n: int, folder: Path) -> dict[str, float]:
    import dask.dataframe as dd
    from distributed import get_client

    rng = np.random.default_rng(0)
    ref = pd.DataFrame(rng.normal(size=(100_000, K)), columns=[f"x{i}" for i in range(K)])
    profile = assay.profile(ref)
    parts = max(1, n // 1_000_000)
    frame = dd.from_map(lambda i: pd.DataFrame(
        np.random.default_rng(i).normal(0.05, 1, size=(n // parts, K)),
        columns=[f"x{j}" for j in range(K)]), list(range(parts)))
    frame.to_parquet(folder / "batch")
    batch = dd.read_parquet(str(folder / "batch"))
    sampler = PeakRss(get_client())
    thread = threading.Thread(target=sampler.run)
    thread.start()
    start = time.perf_counter()
    assay.drift(profile, batch)
    seconds = time.perf_counter() - start
    sampler.stop.set()
    thread.join()
    return {"n": n, "drift_s": seconds, "peak_worker_gb": max(sampler.peak.values()) / 1e9}


def annotation_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    items = n // 3
    item = np.repeat(np.arange(items), 3)
    annotator = rng.integers(0, 20, len(item))
    truth = rng.integers(0, 5, items)[item]
    wrong = rng.random(len(item)) < 0.2
    label = np.where(wrong, rng.integers(0, 5, len(item)), truth)
    df = pd.DataFrame({"item": item, "annotator": annotator, "label": label})
    df = df.drop_duplicates(["item", "annotator"])
    return df.sample(frac=1, random_state=2).reset_index(drop=True)


def bench_consensus(n: int) -> dict[str, float]:
    import dask.dataframe as dd

    df = annotation_table(n)
    start = time.perf_counter()
    try:
        want = assay.consensus(df, method="dawid_skene")
    except assay.InputError:  # over the in-memory path's memory limit: Dask alone
        want = None
    pandas_s = time.perf_counter() - start if want is not None else float("nan")
    ddf = dd.from_pandas(df, npartitions=max(2, len(df) // 500_000))
    start = time.perf_counter()
    got = assay.consensus(ddf, method="dawid_skene")
    labels = got.labels.compute()
    dask_s = time.perf_counter() - start
    diff = float("nan") if want is None else float(np.abs(
        labels.loc[want.labels.index, "quality"].to_numpy() - want.labels["quality"].to_numpy()
    ).max())
    return {"n": len(df), "pandas_s": pandas_s, "dask_s": dask_s, "max_quality_diff": diff,
            "iterations": got.n_iter}


def main() -> None:
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", default="2e6,8e6")
    parser.add_argument("--drift", default="5e6")
    parser.add_argument("--annotations", default="1e6")
    args = parser.parse_args()
    sizes = {k: [int(float(v)) for v in getattr(args, k).split(",") if v]
             for k in ("labels", "drift", "annotations")}
    lines = ["# Dask at scale (2-worker LocalCluster, processes, 2 GB per worker)", "",
             f"Command: `nice -n 10 .venv/bin/python benchmarks/scale_dask.py --labels "
             f"{args.labels} --drift {args.drift} --annotations {args.annotations}` "
             "(shared 2-core machine; times are wall-clock, medians of 2 runs for labels).", ""]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      memory_limit="2GB", dashboard_address=None) as cluster, Client(cluster):
        lines += ["## find_label_issues vs one argmax pass", "",
                  "| rows x 10 | argmax pass (s) | find_label_issues (s) | ratio |",
                  "|---:|---:|---:|---:|"]
        for n in sizes["labels"]:
            r = bench_labels(n)
            print(r, flush=True)
            lines.append(f"| {n:,} | {r['argmax_s']:.1f} | {r['fli_s']:.1f} | {r['ratio']:.2f} |")
            OUT.write_text("\n".join(lines) + "\n")
        lines += ["", "## drift of a Parquet directory against a stored profile", "",
                  "| rows x 10 | drift (s) | peak worker RSS (GB) |", "|---:|---:|---:|"]
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes["drift"]:
                r = bench_drift(n, Path(tmp))
                print(r, flush=True)
                lines.append(f"| {n:,} | {r['drift_s']:.1f} | {r['peak_worker_gb']:.2f} |")
                OUT.write_text("\n".join(lines) + "\n")
        lines += ["", "## Dawid-Skene consensus: Dask vs pandas", "",
                  "| annotations | pandas (s; nan: refused, over its 4 GiB limit) | Dask (s) | "
                  "iterations | max quality diff |",
                  "|---:|---:|---:|---:|---:|"]
        for n in sizes["annotations"]:
            r = bench_consensus(n)
            print(r, flush=True)
            lines.append(f"| {r['n']:,} | {r['pandas_s']:.1f} | {r['dask_s']:.1f} | "
                         f"{r['iterations']} | {r['max_quality_diff']:.1e} |")
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
