"""Benchmark: one turn of the data iteration loop with a fixed recipe (issue 6).

Protocol: scikit-learn's digits; per seed a stratified clean held-out set (40%) and a
training pool; training sizes 250 / 500 / 750; 12% class-conditional label noise (in
each class exactly 12% of the training labels are flipped, to other classes drawn from
a class-specific sparse distribution); the fixed recipe is StandardScaler +
LogisticRegression. For every run we train on clean and on noisy labels and then:

(a) automatic turn: drop what the detector flags as a label issue and retrain;
(b) reviewed turn: an oracle reviewer fixes the labels of the 12% of items ranked
    lowest by the detector's label quality (the review queue order) and retrains.

The score is the share of the clean-vs-noisy accuracy gap a turn recovers, pooled over
runs: sum(acc_turn - acc_noisy) / sum(acc_clean - acc_noisy). Detectors:

- assay: ``assay.train.audit.audit(df, label=..., model=recipe.build(), checks=["label"])``;
- assay single pass: ``find_label_issues`` on one ``cross_val_predict_proba`` (5 folds);
- cleanlab 2.9: ``cleanlab.filter.find_label_issues`` and
  ``cleanlab.rank.get_label_quality_scores`` defaults on scikit-learn's 5-fold
  ``cross_val_predict`` probabilities (the anchor).

Run: ``.venv/bin/python benchmarks/iteration.py [--quick]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

from assay.train.recipe import Recipe

RECIPE = Recipe.from_yaml(
    "name: digits-logreg\nfeaturizer: standard_scaler\n"
    "estimator: sklearn.linear_model.LogisticRegression\nparams: {max_iter: 2000}\nseed: 0"
)
NOISE = 0.12
REVIEW_SHARE = 0.12
RESULTS = Path(__file__).resolve().parent / "results" / "iteration.md"
NOTES = """## Notes

- "assay single pass" and "cleanlab 2.9" are confident learning on one set of 5-fold
  probabilities; they coincide (up to cleanlab's own folds) because the algorithms
  agree. "assay audit" differs by its repeated-CV probabilities and its ranking, which
  is what lifts precision of the flags and the share of truly noisy items in the review
  budget.
- Read the per-size columns with care: each pools only 5 seeds, and the per-run shares
  vary from seed to seed (compare the pooled and the median-per-run columns); the
  targets are judged on the pooled share over all 15 runs.
- The issue quoted cleanlab at about 0.57 / 0.69 on this protocol; this run's noise
  generator (exactly 12% of each class, flip targets from a sparse class-specific
  distribution) and folds are ours, so cleanlab's numbers here are the ones to compare
  against.
"""


@dataclass
class Detection:
    """What a detector says about one noisy training set."""

    flags: np.ndarray  # bool (n,)
    quality: np.ndarray  # float (n,), low = suspicious
    seconds: float


def make_noise(y: np.ndarray, k: int, rate: float, seed: int) -> np.ndarray:
    """Flip exactly ``rate`` of each class's labels, class-conditionally."""
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    for c in range(k):
        targets = np.delete(np.arange(k), c)
        weights = rng.dirichlet(np.full(k - 1, 0.5))
        members = np.flatnonzero(y == c)
        flip = rng.choice(members, size=int(round(rate * members.size)), replace=False)
        noisy[flip] = rng.choice(targets, size=flip.size, p=weights)
    return noisy


def accuracy(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> float:
    model = RECIPE.build().fit(X, y)
    return float((model.predict(X_test) == y_test).mean())


def detect_assay(X: np.ndarray, y: np.ndarray, seed: int) -> Detection:
    from assay.train.audit import audit

    start = time.perf_counter()
    df = pd.DataFrame(X).rename(columns=str).assign(label=y)
    report = audit(df, label="label", model=RECIPE.build(), checks=["label"], seed=seed)
    issues = report.issues
    return Detection(
        issues["is_label_issue"].to_numpy(bool),
        issues["label_quality"].to_numpy(float),
        time.perf_counter() - start,
    )


def detect_assay_single(X: np.ndarray, y: np.ndarray, seed: int) -> Detection:
    from assay.train.labels import find_label_issues
    from assay.train.predict import cross_val_predict_proba

    start = time.perf_counter()
    probs = cross_val_predict_proba(RECIPE.build(), X, y, cv=5, n_jobs=1, seed=seed)
    found = find_label_issues(y, probs)
    return Detection(
        found["is_label_issue"].to_numpy(bool),
        found["label_quality"].to_numpy(float),
        time.perf_counter() - start,
    )


def detect_cleanlab(X: np.ndarray, y: np.ndarray, seed: int) -> Detection:
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    start = time.perf_counter()
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    probs = cross_val_predict(RECIPE.build(), X, y, cv=cv, method="predict_proba")
    flags = find_label_issues(y, probs)
    quality = get_label_quality_scores(y, probs)
    return Detection(np.asarray(flags, bool), np.asarray(quality), time.perf_counter() - start)


DETECTORS: dict[str, Callable[[np.ndarray, np.ndarray, int], Detection]] = {
    "assay audit": detect_assay,
    "assay single pass": detect_assay_single,
    "cleanlab 2.9": detect_cleanlab,
}


def one_run(X: np.ndarray, y: np.ndarray, size: int, seed: int) -> list[dict[str, object]]:
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    X_tr, y_tr = X_pool[:size], y_pool[:size]
    noisy = make_noise(y_tr, 10, NOISE, seed)
    base = {"size": size, "seed": seed, "noise": float((noisy != y_tr).mean())}
    base["clean"] = accuracy(X_tr, y_tr, X_test, y_test)
    base["noisy"] = accuracy(X_tr, noisy, X_test, y_test)
    rows = []
    for name, detect in DETECTORS.items():
        found = detect(X_tr, noisy, seed)
        keep = ~found.flags
        auto = accuracy(X_tr[keep], noisy[keep], X_test, y_test)
        reviewed_idx = np.argsort(found.quality, kind="stable")[: int(round(REVIEW_SHARE * size))]
        fixed = noisy.copy()
        fixed[reviewed_idx] = y_tr[reviewed_idx]  # the oracle reviewer
        reviewed = accuracy(X_tr, fixed, X_test, y_test)
        rows.append(
            {
                **base,
                "method": name,
                "auto": auto,
                "reviewed": reviewed,
                "flagged": int(found.flags.sum()),
                "flag_precision": float((noisy != y_tr)[found.flags].mean())
                if found.flags.any()
                else float("nan"),
                "flag_recall": float(found.flags[noisy != y_tr].mean()),
                "review_hits": int((noisy != y_tr)[reviewed_idx].sum()),
                "seconds": found.seconds,
            }
        )
    return rows


def recovered(frame: pd.DataFrame, column: str) -> float:
    gap = (frame["clean"] - frame["noisy"]).sum()
    return float((frame[column] - frame["noisy"]).sum() / gap) if gap > 0 else float("nan")


def summarise(runs: pd.DataFrame, sizes: list[int]) -> str:
    lines = [
        "| method | turn | " + " | ".join(f"n={s}" for s in sizes) + " | pooled | median per run "
        "| target | median detect s |",
        "|---|---|" + "---|" * len(sizes) + "---|---|---|---|",
    ]
    targets = {"auto": 0.75, "reviewed": 0.85}
    for method, group in runs.groupby("method", sort=False):
        for turn in ("auto", "reviewed"):
            per_size = [recovered(group[group["size"] == s], turn) for s in sizes]
            per_run = (group[turn] - group["noisy"]) / (group["clean"] - group["noisy"])
            target = f">= {targets[turn]}" if method == "assay audit" else ""
            lines.append(
                f"| {method} | {'(a) drop flagged' if turn == 'auto' else '(b) oracle review'} "
                f"| "
                + " | ".join(f"{v:.3f}" for v in per_size)
                + f" | **{recovered(group, turn):.3f}** | {per_run.median():.3f} | {target} "
                f"| {group['seconds'].median():.2f} |"
            )
    return "\n".join(lines)


def verdict(runs: pd.DataFrame) -> str:
    """Targets, ratios against cleanlab, and the numbers the issue expected."""
    by = {m: g for m, g in runs.groupby("method", sort=False)}
    ours, anchor = by["assay audit"], by["cleanlab 2.9"]
    lines = []
    for turn, target, expected in (("auto", 0.75, 0.57), ("reviewed", 0.85, 0.69)):
        a, c = recovered(ours, turn), recovered(anchor, turn)
        status = "met" if a >= target else "MISSED"
        lines.append(
            f"- {'(a) automatic' if turn == 'auto' else '(b) reviewed'}: assay audit "
            f"recovers {a:.3f} of the gap (target >= {target}: {status}); cleanlab 2.9 "
            f"{c:.3f} in the same run (the issue expected about {expected}); "
            f"ratio assay / cleanlab = {a / c:.2f}."
        )
    return "\n".join(lines)


def detail(runs: pd.DataFrame) -> str:
    table = runs.groupby(["method", "size"], sort=False).agg(
        clean=("clean", "mean"),
        noisy=("noisy", "mean"),
        auto=("auto", "mean"),
        reviewed=("reviewed", "mean"),
        flagged=("flagged", "mean"),
        flag_precision=("flag_precision", "mean"),
        flag_recall=("flag_recall", "mean"),
        review_hits=("review_hits", "mean"),
    )
    lines = [
        "| method | n | acc clean | acc noisy | acc (a) | acc (b) | flagged | flag precision "
        "| flag recall | noisy items among reviewed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in table.iterrows():
        method, size = str(key[0]), int(key[1])  # type: ignore[index]
        lines.append(
            f"| {method} | {size} | {r.clean:.4f} | {r.noisy:.4f} | {r.auto:.4f} | "
            f"{r.reviewed:.4f} | {r.flagged:.1f} | {r.flag_precision:.3f} | "
            f"{r.flag_recall:.3f} | {r.review_hits:.1f} of {round(REVIEW_SHARE * int(size))} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: n=250, 2 seeds")
    args = parser.parse_args()
    sizes, seeds = ([250], [0, 1]) if args.quick else ([250, 500, 750], [0, 1, 2, 3, 4])
    X, y = load_digits(return_X_y=True)
    start = time.perf_counter()
    runs = pd.DataFrame([row for s in sizes for seed in seeds for row in one_run(X, y, s, seed)])
    elapsed = time.perf_counter() - start
    command = ".venv/bin/python benchmarks/iteration.py" + (" --quick" if args.quick else "")
    report = "\n\n".join(
        [
            "# Iteration benchmark: share of the clean-vs-noisy accuracy gap recovered",
            f"Command: `{command}`  \nDate: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  \n"
            f"Machine: {platform.machine()}, Python {platform.python_version()}; shared with "
            f"other jobs, so timings are noisy. Runs: sizes {sizes} x seeds {seeds}, "
            f"{elapsed:.0f} s in all.",
            f"Recipe `{RECIPE.name}` (hash `{RECIPE.hash[:12]}`): StandardScaler + "
            f"LogisticRegression. Noise: {NOISE:.0%} class-conditional. Review budget: "
            f"{REVIEW_SHARE:.0%} of the training items.",
            "## Gap recovered (pooled = sum of gains / sum of gaps)",
            summarise(runs, sizes),
            verdict(runs),
            "## Mean accuracies and detector quality",
            detail(runs),
            NOTES.strip(),
        ]
    )
    print(report)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report + "\n")


if __name__ == "__main__":
    main()
