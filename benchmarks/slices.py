"""Benchmark: error analysis (tag table, SliceLine) on planted slices and against `sliceline`.

(a) Planted slices on scikit-learn's digits: a ``source`` tag column (8 values) plus
    distractor metadata; in one source either 40% of the labels are flipped or the
    images are degraded (Gaussian pixel noise). Out-of-sample predictions of a fixed
    logistic regression give the errors. Precision@1 over 10 seeds: is the planted slice
    first in ``slice_table`` (by gain) and in ``find_slices``? Also for a grid of alpha
    and for the reference ``sliceline`` package at its default alpha 0.6 and at 0.9.
(b) Against ``sliceline.Slicefinder`` (BSD reference, with numba) on 100,000 rows x 10
    categorical features with a planted 2-predicate slice: the same top slice, and the
    median wall time over repeats (the reference is warmed up first so that numba's
    compilation is not counted).

Run: ``.venv/bin/python benchmarks/slices.py [--quick]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from assay.train.slices import find_slices, slice_table  # noqa: E402

ALPHAS = (0.6, 0.8, 0.9, 0.925, 0.95, 0.99)


def planted_digits(seed: int, kind: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str]:
    """Digits with a tag column, one corrupted source; returns (meta, y, pred, planted)."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    meta = pd.DataFrame({
        "source": rng.choice([f"s{i}" for i in range(8)], len(y)),
        "scanner": rng.choice(["A", "B", "C"], len(y)),
        "brightness": rng.normal(0, 1, len(y)),
    })
    planted = f"s{rng.integers(0, 8)}"
    inside = (meta["source"] == planted).to_numpy()
    given = y.copy()
    if kind == "labels":
        flip = inside & (rng.random(len(y)) < 0.4)
        given[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    else:
        X = X.copy()
        X[inside] += rng.normal(0, 6.0, X[inside].shape)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = cross_val_predict(model, X, given, cv=folds)
    return meta, given, pred, planted


def sliceline_top(meta: pd.DataFrame, errors: np.ndarray, alpha: float) -> str:
    """Top slice of the reference package, as 'col = value AND ...' text."""
    from sliceline import Slicefinder

    data = meta.copy()
    data["brightness"] = pd.qcut(data["brightness"], 5, labels=False)
    sf = Slicefinder(alpha=alpha, k=1, max_l=3, min_sup=18, verbose=False)
    sf.fit(data.astype(str).to_numpy(), errors)
    if sf.top_slices_ is None or len(sf.top_slices_) == 0:
        return "(none)"
    return " AND ".join(f"{c} = {v}" for c, v in zip(data.columns, sf.top_slices_[0],
                                                      strict=True) if v is not None)


def run_planted(seeds: int) -> pd.DataFrame:
    rows = []
    for kind in ("labels", "images"):
        for seed in range(seeds):
            meta, y, pred, planted = planted_digits(seed, kind)
            errors = (y != pred).astype(float)
            want = f"source = {planted}"
            st = slice_table(meta, y, pred, by=["source", "scanner"], hlp=0.98, n_boot=100)
            row = {"kind": kind, "seed": seed,
                   "table": st.table["tag"][0] == f"source={planted}"}
            for a in ALPHAS:
                top = find_slices(meta, errors, alpha=a, k=1).table["slice"]
                row[f"assay a={a}"] = len(top) > 0 and top[0] == want
            for a in (0.6, 0.9):
                row[f"sliceline a={a}"] = sliceline_top(meta, errors, a) == want
            rows.append(row)
    return pd.DataFrame(rows)


def synthetic(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, str]:
    rng = np.random.default_rng(seed)
    cards = [3, 4, 5, 6, 8, 3, 4, 5, 6, 8]
    df = pd.DataFrame({f"f{i}": rng.integers(0, c, n) for i, c in enumerate(cards)})
    inside = ((df["f0"] == 1) & (df["f1"] == 2)).to_numpy()
    err = (rng.random(n) < np.where(inside, 0.5, 0.1)).astype(float)
    return df, err, "f0 = 1 AND f1 = 2"


def run_speed(n: int, repeats: int) -> dict[str, object]:
    from sliceline import Slicefinder

    df, err, want = synthetic(n)
    params = {"alpha": 0.9, "k": 5, "max_l": 3, "min_sup": 100}
    Slicefinder(verbose=False, **params).fit(df.to_numpy()[:2000], err[:2000])  # numba warm-up
    t_assay, t_ref = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours = find_slices(df, err, alpha=0.9, k=5, max_predicates=3, min_support=100)
        t_assay.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = Slicefinder(verbose=False, **params).fit(df.to_numpy(), err)
        t_ref.append(time.perf_counter() - t0)
    ref_top = " AND ".join(f"f{i} = {v}" for i, v in enumerate(ref.top_slices_[0])
                           if v is not None) if len(ref.top_slices_) else "(none)"
    ref_score = ref.top_slices_statistics_[0]["slice_score"] if len(ref.top_slices_) else np.nan
    return {
        "rows": n, "assay top": ours.table["slice"][0], "sliceline top": ref_top,
        "same top": ours.table["slice"][0] == ref_top == want,
        "same score": bool(np.isclose(ours.table["score"][0], ref_score)),
        "assay s": float(np.median(t_assay)), "sliceline s": float(np.median(t_ref)),
    }


def markdown(planted: pd.DataFrame, speed: dict[str, object], command: str) -> str:
    cols = [c for c in planted.columns if c not in ("kind", "seed")]
    prec = planted.groupby("kind")[cols].mean()
    prec.loc["both"] = planted[cols].mean()
    lines = [
        "# Benchmark: slices (tag table, SliceLine)", "",
        f"Command: `{command}`  ", f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs "
        "(timings are noisy).", "",
        f"## (a) Planted slices on digits: precision@1 over {planted['seed'].nunique()} seeds",
        "", "Target: >= 0.9 for the tag table and for find_slices (default alpha 0.9).", "",
        "| corruption | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for kind, r in prec.iterrows():
        lines.append(f"| {kind} | " + " | ".join(f"{r[c]:.2f}" for c in cols) + " |")
    ratio = float(speed["sliceline s"]) / float(speed["assay s"])  # type: ignore[arg-type]
    lines += [
        "", f"## (b) Against sliceline on {speed['rows']:,} rows x 10 features", "",
        "| metric | assay | sliceline | ratio |", "|---|---|---|---|",
        f"| median time (s) | {speed['assay s']:.3f} | {speed['sliceline s']:.3f} "
        f"| {ratio:.1f}x faster |",
        f"| top slice | {speed['assay top']} | {speed['sliceline top']} "
        f"| same: {speed['same top']}, same score: {speed['same score']} |",
        "", "Target: the same top slice and >= 3x faster.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 10,000 rows")
    args = parser.parse_args()
    seeds, n, repeats = (2, 10_000, 1) if args.quick else (10, 100_000, 3)
    planted = run_planted(seeds)
    print(planted.to_string(), flush=True)
    speed = run_speed(n, repeats)
    command = ".venv/bin/python benchmarks/slices.py" + (" --quick" if args.quick else "")
    text = markdown(planted, speed, command)
    print(text)
    if not args.quick:
        out = Path(__file__).resolve().parent / "results" / "slices.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(text)


if __name__ == "__main__":
    main()
