"""Benchmark: the full data audit against cleanlab's Datalab, speed and label-ranking quality.

Speed: ``assay.train.audit.audit`` and cleanlab 2.9's
``Datalab(data, label_name=...).find_issues(features=..., pred_probs=...)`` with the same
checks (label, outlier, near_duplicate, class_imbalance) on digits-like data (n rows x 64
features, see ``benchmarks/knn.py``) with 10% of labels flipped. Both receive the same
precomputed ``pred_probs`` (a logistic regression fitted on 2,000 rows, then applied to
all rows), so the model's time is excluded from both.

Quality: scikit-learn's digits with 12% and 25% class-conditional label noise (each class
flips to its own random mix of other classes), two noise draws each; the model held fixed
is a standardised logistic regression. AUPRC of the label ranking (low quality = error)
and F1 of the flags against the flipped labels, for:

* cleanlab single pass: one 5-fold CV pass, ``rank.get_label_quality_scores`` and
  ``filter.find_label_issues`` defaults;
* assay single pass: ``find_label_issues`` on the same probabilities;
* assay audit: ``audit(df, label=..., model=...)``: 3 repeated CV passes averaged and the
  neighbour-vote blend (see ``assay.train.audit._label_probs``).

Run: ``.venv/bin/python benchmarks/audit.py [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from knn import digits_like
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from assay.train.audit import audit
from assay.train.labels import find_label_issues

CHECKS = ["label", "outlier", "near_duplicate", "class_imbalance"]
NOTES = """
### Notes

* Two k-NN paths against the 5x target (one row each above): hnswlib (the optional `knn`
  extra, used from 20,000 rows on when installed), and the exact search without it, which
  takes a k-d tree when a probe query on 200 rows shows it beats brute force (these
  digit-like features have a low intrinsic dimension), else scikit-learn's brute force.
  On features without such structure (independent Gaussian columns) the exact path stays
  brute force and only the `knn` extra speeds it up.
* Nearly all of assay's time is the k-NN graph (an earlier profile of one 50,000-row
  audit: 3.11 of 3.15 s); confident learning and the other checks take milliseconds.
* Quality: "assay 1-pass" is ``find_label_issues`` on the same single-pass probabilities
  as cleanlab (equal by construction of the defaults); "audit" adds 3 repeated CV passes
  and the neighbour-vote blend, with the weight chosen by log-loss of the given labels.
"""


def speed_data(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, noisy labels and precomputed probabilities."""
    X, y = digits_like(n, seed=1)
    rng = np.random.default_rng(1)
    flip = rng.random(n) < 0.10
    y = y.copy()
    y[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    with threadpool_limits(1):
        probs = model.fit(X[:2000], y[:2000]).predict_proba(X)
    return X, y, probs


def _median(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(n: int, repeats: int) -> list[str]:
    """Markdown rows: assay vs Datalab wall time on n rows."""
    from cleanlab import Datalab

    X, y, probs = speed_data(n)
    df = pd.DataFrame({"y": y})

    def ours(backend: str = "auto") -> None:
        audit(df, label="y", embeddings=X, pred_probs=probs, checks=CHECKS, knn_backend=backend)

    def ours_exact() -> None:
        ours("sklearn")

    def theirs() -> None:
        lab = Datalab(df, label_name="y", verbosity=0)
        lab.find_issues(features=X, pred_probs=probs, issue_types={c: {} for c in CHECKS})

    t_theirs = _median(theirs, repeats)
    rows = [
        "| rows | assay audit, k-NN | assay (s) | cleanlab Datalab.find_issues (s) | speed-up "
        "| target |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for name, fn in [("auto (hnswlib from 20,000 rows)", ours), ("exact (sklearn)", ours_exact)]:
        t = _median(fn, repeats)
        rows.append(f"| {n:,} | {name} | {t:.2f} | {t_theirs:.2f} | {t_theirs / t:.1f}x | >= 5x |")
    return rows


def _noisy(y: np.ndarray, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = y.copy()
    for c in range(10):
        idx = np.flatnonzero(y == c)
        flip = idx[rng.random(idx.size) < rate]
        others = np.delete(np.arange(10), c)
        out[flip] = rng.choice(others, size=flip.size, p=rng.dirichlet(np.ones(9) * 0.5))
    return out


def quality_row(rate: float, seed: int, n_repeats: int) -> list[float]:
    """AUPRC and F1 of the three methods on one noisy copy of digits."""
    from cleanlab.filter import find_label_issues as cl_find
    from cleanlab.rank import get_label_quality_scores

    X, y = load_digits(return_X_y=True)
    noisy = _noisy(y, rate, seed)
    wrong = noisy != y
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    probs = cross_val_predict(model, X, noisy, cv=folds, method="predict_proba")
    single = find_label_issues(noisy, probs)
    df = pd.DataFrame(X).rename(columns=str).assign(label=noisy)
    report = audit(df, label="label", model=model, checks={"label": {"n_repeats": n_repeats}})
    issues = report.issues
    return [
        average_precision_score(wrong, -get_label_quality_scores(noisy, probs)),
        f1_score(wrong, cl_find(noisy, probs)),
        average_precision_score(wrong, -single["label_quality"]),
        f1_score(wrong, single["is_label_issue"]),
        average_precision_score(wrong, -issues["label_quality"]),
        f1_score(wrong, issues["is_label_issue"]),
    ]


def quality(quick: bool) -> list[str]:
    """Markdown rows of the label-ranking comparison."""
    cases = [(0.12, 0)] if quick else [(r, s) for r in (0.12, 0.25) for s in (0, 1)]
    lines = [
        "| noise | draw | cleanlab AUPRC | cleanlab F1 | assay 1-pass AUPRC | assay 1-pass F1 "
        "| audit AUPRC | audit F1 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rate, seed in cases:
            vals = quality_row(rate, seed, 1 if quick else 3)
            lines.append(f"| {rate:.0%} | {seed} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows, one repeat")
    args = parser.parse_args()
    n, repeats = (5_000, 1) if args.quick else (50_000, 3)
    speed_lines = speed(n, repeats)
    quality_lines = quality(args.quick)
    body = "\n".join(
        ["### Speed (pred_probs precomputed and given to both: model time excluded)", "",
         *speed_lines, "", "### Label-ranking quality on digits (logistic regression)", "",
         *quality_lines]
    )
    print(body)
    cmd = "python benchmarks/audit.py" + (" --quick" if args.quick else "")
    head = (
        "# Audit benchmark (anchor: cleanlab 2.9 Datalab, same process)\n\n"
        f"Command: `{cmd}`; date: {dt.date.today()}; speed: medians over {repeats} "
        "repeat(s). The machine (2 cores) was shared with other engineers' jobs, so times "
        "are noisy.\n\n"
    )
    if not args.quick:  # the smoke run does not overwrite the recorded results
        (Path(__file__).parent / "results" / "audit.md").write_text(head + body + NOTES)


if __name__ == "__main__":
    main()
