"""Benchmark: clean vs collect on the digits with 12% label noise, checked by doing both.

Per seed the 1,797 digits are split into a clean test set T (497), the available data A
(650) and a reserve R (650); 12% of the labels of A and R are flipped uniformly to
another class. ``clean_vs_collect`` sees only A (with noisy labels) and predicts, with
95% prediction intervals for an accuracy measured on |T| examples:

- the accuracy after cleaning (the flagged items reviewed), at n = |A|;
- the accuracy after collecting |R| more examples of the current quality, at n = 2|A|.

Then the benchmark does both: it trains the same recipe on A with the flagged items
given their true label (an oracle review of the flags; also on A fully clean), and on
A + R with their noisy labels, and measures accuracy on T. Coverage = fraction of seeds
where the measured accuracy falls inside the predicted interval. The label-noise
estimate is compared with the anchor, cleanlab's ``find_label_issues`` on the same
out-of-sample probabilities.

Run: ``.venv/bin/python benchmarks/curves.py [--quick]``
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
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from assay.train.curves import clean_vs_collect  # noqa: E402

NOISE = 0.12


def _flip(y: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    flip = rng.random(len(y)) < rate
    return np.where(flip, (y + rng.integers(1, 10, len(y))) % 10, y)


def _acc(model: Any, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
         ) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.mean(clone(model).fit(X, y).predict(X_test) == y_test))


def one_seed(seed: int) -> dict[str, float]:
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    p = rng.permutation(len(y))
    T, A, R = p[:497], p[497:1147], p[1147:]
    yA, yR = _flip(y[A], NOISE, rng), _flip(y[R], NOISE, rng)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probs = cross_val_predict(model, X[A], yA, cv=folds, method="predict_proba")
    t0 = time.perf_counter()
    cvc = clean_vs_collect(model, X[A], yA, pred_probs=probs, extra=len(R), n_test=len(T),
                           seed=seed)
    elapsed = time.perf_counter() - t0
    flagged = cvc.issues_["is_label_issue"].to_numpy()
    reviewed = np.where(flagged, y[A], yA)
    pred = cvc.table.set_index("scenario")
    actual = {
        "now (as labelled)": _acc(model, X[A], yA, X[T], y[T]),
        "after cleaning": _acc(model, X[A], reviewed, X[T], y[T]),
        "after cleaning (all labels true)": _acc(model, X[A], y[A], X[T], y[T]),
        f"after collecting {len(R)} more": _acc(model, np.r_[X[A], X[R]], np.r_[yA, yR],
                                               X[T], y[T]),
    }
    out = {"seed": seed, "time_s": elapsed, "true_noise": float(np.mean(yA != y[A])),
           "assay_noise": cvc.noise_rate_, "equiv": cvc.equivalent_extra_[0]}
    out["cleanlab_noise"] = _cleanlab_noise(yA, probs)
    for name, value in actual.items():
        row = pred.loc["after cleaning" if name.startswith("after cleaning") else name]
        out[f"{name}|pred"] = row["accuracy"]
        out[f"{name}|actual"] = value
        out[f"{name}|in"] = float(row["low"] <= value <= row["high"])
        out[f"{name}|width"] = row["high"] - row["low"]
        out[f"{name}|low"], out[f"{name}|high"] = row["low"], row["high"]
    return out


def per_seed(res: pd.DataFrame, scen: list[str]) -> list[str]:
    """One line per seed: measured accuracy and the predicted interval per scenario."""
    lines = ["", "Per seed: measured [predicted interval] (* = outside)", "",
             "| seed | noise | " + " | ".join(scen) + " |", "|---|---|" + "---|" * len(scen)]
    for _, r in res.iterrows():
        cells = [f"{r[f'{s}|actual']:.3f} [{r[f'{s}|low']:.3f}, {r[f'{s}|high']:.3f}]"
                 + ("" if r[f"{s}|in"] else " *") for s in scen]
        lines.append(f"| {int(r['seed'])} | {r['true_noise']:.3f} | " + " | ".join(cells) + " |")
    return lines


def _cleanlab_noise(labels: np.ndarray, probs: np.ndarray) -> float:
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return float("nan")
    return float(np.mean(find_label_issues(labels, probs)))


def markdown(res: pd.DataFrame, command: str) -> str:
    scen = [c.split("|")[0] for c in res.columns if c.endswith("|pred")]
    lines = [
        "# Benchmark: clean vs collect (digits, 12% label noise)", "",
        f"Command: `{command}`  ", f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs "
        "(timings are noisy).", "",
        f"Seeds: {len(res)}. Model: StandardScaler + LogisticRegression(C=0.1). Available "
        "data 650, reserve 650, clean test set 497.", "",
        "| scenario | predicted (mean) | measured (mean) | mean abs error | coverage of 95% "
        "interval | mean interval width |", "|---|---|---|---|---|---|",
    ]
    for s in scen:
        pred, actual = res[f"{s}|pred"], res[f"{s}|actual"]
        err = (pred - actual).abs().mean()
        lines.append(f"| {s} | {pred.mean():.3f} | {actual.mean():.3f} | {err:.3f} "
                     f"| {res[f'{s}|in'].mean():.2f} | {res[f'{s}|width'].mean():.3f} |")
    lines += [
        "", "Target: the measured accuracies after cleaning and after doubling fall inside "
        "their predicted intervals. \"after cleaning\" is the oracle review of the flagged "
        "items (what cleaning the estimated noise achieves); \"all labels true\" is shown "
        "for reference and is predicted by the same number.", "",
        "| noise estimate | true | assay | cleanlab (anchor) |", "|---|---|---|---|",
        f"| mean flagged rate | {res['true_noise'].mean():.3f} | {res['assay_noise'].mean():.3f}"
        f" | {res['cleanlab_noise'].mean():.3f} |", "",
        f"Median time of clean_vs_collect (assay, given pred_probs): {res['time_s'].median():.2f}"
        f" s. Median equivalent extra examples of cleaning: {res['equiv'].median():,.0f}.",
    ] + per_seed(res, scen)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 seeds")
    args = parser.parse_args()
    res = pd.DataFrame([one_seed(s) for s in range(2 if args.quick else 10)])
    command = ".venv/bin/python benchmarks/curves.py" + (" --quick" if args.quick else "")
    text = markdown(res, command)
    print(text)
    if not args.quick:
        out = Path(__file__).resolve().parent / "results" / "curves.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(text)


if __name__ == "__main__":
    main()
