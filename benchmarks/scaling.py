"""Benchmark: scaling curves (CPU time, peak memory) of the main operations, with anchors.

Each point runs in its own subprocess (``python benchmarks/scaling.py --point OP N``),
which builds seeded synthetic data, then times the operation (CPU time of the process,
all threads, so that other jobs on the shared machine count less than in wall time)
and reports the growth of ``ru_maxrss`` during it. The growth exponent of each
operation is the least-squares slope of log time on log rows. Anchors, where the
bench extra has one, run at the same sizes in their own subprocess: cleanlab's
``find_label_issues`` and crowd-kit's Dawid-Skene.

Operations (n = rows; annotations for agreement and consensus):

* ``import``/``diff``: ``Workspace.import_dataset`` of an n x 20 frame, then a second
  version with 1% of the values changed, and ``Workspace.diff`` of the two;
* ``find_label_issues``: n x 10 probabilities; ``agreement`` (1,000 resamples),
  ``agreement_no_ci`` (``ci=False``: the difference is the intervals' cost; target
  <= 15 s at 10M annotations) and ``consensus`` (Dawid-Skene): 5 of 20 annotators per
  item, 10 classes;
* ``drift``/``profile``: n x 10 numeric columns, reference and shifted current;
* ``audit``: n x 64 (make_classification) with 1% duplicates and 0.5% outliers,
  probabilities given (``pred_probs``), default checks.

Run: ``nice -n 10 .venv/bin/python benchmarks/scaling.py [--sizes 10000 100000 ...]
[--ops audit agreement ...] [--repeats 2]``
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

OPS = ("import", "diff", "find_label_issues", "agreement", "agreement_no_ci", "consensus",
       "drift", "profile", "audit", "cleanlab_find_label_issues", "crowdkit_dawid_skene")
ANCHORS = {"cleanlab_find_label_issues": "find_label_issues",
           "crowdkit_dawid_skene": "consensus"}


def _annotations(n: int) -> pd.DataFrame:
    """``n`` annotations: 5 of 20 annotators per item, 10 classes, 50-90% accurate."""
    rng = np.random.default_rng(0)
    items = n // 5
    truth = rng.integers(0, 10, items)
    who = np.argsort(rng.random((items, 20)), axis=1)[:, :5]
    acc = np.linspace(0.5, 0.9, 20)[who]
    lab = np.where(rng.random(who.shape) < acc, truth[:, None], rng.integers(0, 10, who.shape))
    return pd.DataFrame({"task": np.repeat(np.arange(items), 5),
                         "worker": np.array([f"w{j}" for j in range(20)])[who.ravel()],
                         "label": lab.ravel()})


def _probs(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 10, n)
    logits = rng.normal(0, 1, (n, 10))
    logits[np.arange(n), truth] += 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < 0.1, rng.integers(0, 10, n), truth)
    return labels, probs


def _table(n: int, cols: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(shift, 1, (n, cols)), columns=[f"c{i}" for i in range(cols)])


def _audit_data(n: int) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(n, 64, n_informative=16, n_classes=4, random_state=0)
    rng = np.random.default_rng(0)
    dup = rng.choice(n, n // 100, replace=False)
    X[dup] = X[rng.choice(n, len(dup))]
    out = rng.choice(n, n // 200, replace=False)
    X[out] += rng.normal(0, 20, (len(out), 64))
    probs = LogisticRegression(max_iter=300).fit(X[:2000], y[:2000]).predict_proba(X)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(64)])
    df["y"] = y
    return df, probs


def _prepare(op: str, n: int) -> Callable[[], Any]:
    """Build the data of one point and return the timed call."""
    if op in ("import", "diff"):
        from assay import Workspace

        ws = Workspace.init(tempfile.mkdtemp(prefix="scaling-"))
        df = _table(n, 19)
        df.insert(0, "id", np.arange(n))
        ws.import_dataset("d", df, id="id")
        changed = df.copy()
        changed.iloc[:: 100, 1] += 1.0
        if op == "import":
            return lambda: ws.import_dataset("d", changed, id="id")
        ws.import_dataset("d", changed, id="id")
        return lambda: ws.diff("d@v1", "d@v2")
    if op in ("find_label_issues", "cleanlab_find_label_issues"):
        labels, probs = _probs(n)
        if op == "find_label_issues":
            from assay import find_label_issues
        else:
            from cleanlab.filter import find_label_issues  # type: ignore[no-redef]
        return lambda: find_label_issues(labels, probs)
    if op in ("agreement", "agreement_no_ci", "consensus"):
        from assay.collect import agreement, consensus

        ann = _annotations(n)
        if op == "consensus":
            return lambda: consensus(ann, "dawid_skene")
        return lambda: agreement(ann, ci=op == "agreement")
    if op == "crowdkit_dawid_skene":
        from crowdkit.aggregation import DawidSkene

        ann = _annotations(n)
        return lambda: DawidSkene(n_iter=100).fit_predict(ann)
    if op in ("drift", "profile"):
        from assay import drift, profile

        ref, cur = _table(n, 10), _table(n, 10, shift=0.05, seed=1)
        return (lambda: drift(ref, cur)) if op == "drift" else (lambda: profile(ref))
    if op == "audit":
        from assay.train.audit import audit

        df, probs = _audit_data(n)
        return lambda: audit(df, label="y", pred_probs=probs)
    raise SystemExit(f"unknown operation {op!r}; one of {', '.join(OPS)}")


def point(op: str, n: int) -> None:
    """Run one point in this process and print its JSON result."""
    fn = _prepare(op, n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"op": op, "n": n, "cpu": cpu, "wall": wall,
                      "peak_mib": peak / 1024, "growth_mib": (peak - before) / 1024}))


def run_point(op: str, n: int, timeout: float) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--point", op, str(n)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        print(f"{op} at {n:,}: failed ({type(exc).__name__})", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def exponent(ns: list[int], times: list[float]) -> float:
    """Least-squares slope of log(time) on log(n)."""
    if len(ns) < 2:
        return float("nan")
    return float(np.polyfit(np.log(ns), np.log(times), 1)[0])


def body(results: dict[str, dict[int, dict[str, Any]]]) -> str:
    rows, curves = [], []
    for op, by_n in results.items():
        for n, r in sorted(by_n.items()):
            anchor = ANCHORS.get(op)
            ratio = ""
            if anchor and n in results.get(anchor, {}):
                ratio = f"{r['cpu'] / results[anchor][n]['cpu']:.1f}x"
            rows.append([op, f"{n:,}", f"{r['cpu']:.2f}", f"{r['wall']:.2f}",
                         f"{r['peak_mib']:.0f}", f"{r['growth_mib']:.0f}", ratio])
        ns = sorted(by_n)
        e = exponent(ns, [by_n[n]["cpu"] for n in ns])
        top = exponent(ns[-2:], [by_n[n]["cpu"] for n in ns[-2:]])
        curves.append([op, ", ".join(f"{n:,}" for n in ns), f"{e:.2f}", f"{top:.2f}",
                       "**> 1.1**" if max(e, top) > 1.1 else ""])
    return ("CPU seconds (all threads; median of the repeats), wall seconds, peak RSS and "
            "its growth during the call (MiB); anchor / assay as a ratio of CPU time.\n\n"
            + markdown_table(["operation", "rows", "CPU s", "wall s", "peak MiB",
                              "growth MiB", "anchor / assay"], rows)
            + "\n\n### Growth exponents (log-log least squares of CPU time)\n\n"
            + markdown_table(["operation", "sizes", "exponent (all)", "exponent (two largest)",
                              "flag"], curves)
            + _intervals_part(results))


def _intervals_part(results: dict[str, dict[int, dict[str, Any]]]) -> str:
    """The intervals' cost: agreement minus agreement_no_ci, where both ran."""
    both = sorted(set(results.get("agreement", {})) & set(results.get("agreement_no_ci", {})))
    lines = [f"- {n:,} annotations: {results['agreement'][n]['cpu']:.2f} - "
             f"{results['agreement_no_ci'][n]['cpu']:.2f} = "
             f"{results['agreement'][n]['cpu'] - results['agreement_no_ci'][n]['cpu']:.2f} s CPU"
             for n in both]
    if not lines:
        return ""
    return ("\n\n### Agreement: the intervals' cost (with minus without, CPU; target <= 15 s at "
            "10M annotations)\n\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", nargs=2, metavar=("OP", "N"))
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--ops", nargs="+", default=list(OPS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", default="scaling", help="results/<OUT>.md")
    args = parser.parse_args()
    if args.point:
        point(args.point[0], int(args.point[1]))
        return
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for op in args.ops:
        for n in args.sizes:
            runs = [r for _ in range(args.repeats) if (r := run_point(op, n, args.timeout))]
            if runs:
                results.setdefault(op, {})[n] = {
                    key: statistics.median(r[key] for r in runs)
                    for key in ("cpu", "wall", "peak_mib", "growth_mib")}
                print(op, n, results[op][n], flush=True)
    write_results(args.out, "Scaling curves (issue 19)", body(results))


if __name__ == "__main__":
    main()
