"""Benchmark: label issues of regression and multi-label labels against cleanlab 2.9.

Run from the repository root::

    .venv/bin/python benchmarks/label_issues_kinds.py          # writes results/label_issues_kinds.md
    .venv/bin/python benchmarks/label_issues_kinds.py --quick  # smoke test, prints only

Quality: AUPRC of ``1 - label_quality`` against planted errors, and F1 of the flags, on
real sets. Regression (``../shared/data/regression``: wine quality red and white, bike
sharing ``hour.csv`` without casual/registered/instant/dteday; scikit-learn's
diabetes): 10% of the labels changed, half drawn from the label marginal, half shifted
by 1-3 SD (rounded for integer labels; an unchanged draw is not an error). Multi-label
(``../shared/data/multilabel/yeast``): 10% of the items get a tag dropped, one added,
or both. Out-of-sample predictions are made once per set with a fixed model (5-fold
``HistGradientBoostingRegressor``; a standardised logistic regression per label) and
given to both tools. Anchors: ``cleanlab.regression.rank.get_label_quality_scores``
(default ``"outre"``), ``cleanlab.regression.learn.CleanLearning`` on the small sets
(it refits the same model itself), ``cleanlab.multilabel_classification.rank.
get_label_quality_scores`` and ``filter.find_label_issues``.

Speed: median wall time over repeats on the bike-sharing (regression) and yeast
(multi-label) labels and predictions resampled to 100,000 rows.

Seeds (``--seeds N``): the regression rows are one draw of the planted errors and of the
folds (seed 0), and AUPRC moves by a few hundredths from draw to draw, more than the gaps
between the tools. ``--seeds N`` replants and refits with seeds 1..N on the sets below 5,000 rows
(wine-red, wine-white, diabetes; cleanlab's OUTRE is quadratic in the rows) and reports the paired difference assay - cleanlab (rank scores, the
same predictions) with its standard error over seeds; seed 0 (the table above, where the
method was chosen) is left out, so these seeds are held out. CleanLearning refits its own
bootstrap ensemble (about 16 minutes on wine-red on this machine) and is compared on seed 0
only. Results in ``results/label_issues_kinds_seeds.md``.

Multi-label rows also count the flagged items against the planted ones, on yeast, on
the tags of scikit-learn's digits as ``assay demo --task multilabel`` plants them (12%
of the sets), and on synthetic tags that are a fixed function of the features
(thresholded random projections of 8 normal features, 3,000 items, 10% planted, seeded),
where the number of wrong sets is knowable from the data.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes, load_digits
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

from assay.train.labels import find_multilabel_issues, find_regression_issues  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
Set = tuple[np.ndarray, np.ndarray]


def regression_sets() -> dict[str, Set]:
    """Features and labels of the real regression sets."""
    out = {}
    for colour in ("red", "white"):
        df = pd.read_csv(DATA / f"regression/wine-quality/winequality-{colour}.csv", sep=";")
        out[f"wine-{colour}"] = (df.drop(columns="quality").to_numpy(float),
                                 df["quality"].to_numpy())
    df = pd.read_csv(DATA / "regression/bike-sharing/hour.csv")
    drop = ["cnt", "casual", "registered", "instant", "dteday"]
    out["bike-sharing"] = (df.drop(columns=drop).to_numpy(float), df["cnt"].to_numpy())
    X, y = load_diabetes(return_X_y=True)
    out["diabetes"] = (X, y.astype(float))
    return out


def plant_numeric(y: np.ndarray, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half of the changed labels from the marginal, half shifted by 1-3 SD."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), int(rate * len(y)), replace=False)
    noisy = y.astype(float).copy()
    half = len(rows) // 2
    noisy[rows[:half]] = y[rng.integers(0, len(y), half)]
    shift = rng.choice([-1.0, 1.0], len(rows) - half) * rng.uniform(1, 3, len(rows) - half)
    noisy[rows[half:]] += shift * y.std()
    if y.dtype.kind in "iu":
        noisy = np.round(noisy)
    return noisy, noisy != y


def plant_tags(Y: np.ndarray, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop a tag, add one, or both, on ``rate`` of the items."""
    rng = np.random.default_rng(seed)
    noisy = Y.copy()
    for i in rng.choice(len(Y), int(rate * len(Y)), replace=False):
        op = rng.integers(3)
        on, off = np.flatnonzero(noisy[i]), np.flatnonzero(noisy[i] == 0)
        if op != 1 and len(on) > 1:
            noisy[i, rng.choice(on)] = 0
        if op != 0 and len(off):
            noisy[i, rng.choice(off)] = 1
    return noisy, (noisy != Y).any(axis=1)


def auprc(truth: np.ndarray, quality: np.ndarray) -> float:
    return float(average_precision_score(truth, -np.asarray(quality)))


def regression_row(name: str, X: np.ndarray, y: np.ndarray, learn: bool) -> list[object]:
    from cleanlab.regression.rank import get_label_quality_scores

    noisy, wrong = plant_numeric(y, 0.10, seed=0)
    model = HistGradientBoostingRegressor(random_state=0)
    pred = cross_val_predict(model, X, noisy, cv=KFold(5, shuffle=True, random_state=0))
    ours = find_regression_issues(noisy, pred)
    feats = find_regression_issues(noisy, pred, features=X)
    ref = auprc(wrong, get_label_quality_scores(noisy, pred))
    cl_learn = "-"
    if learn:
        from cleanlab.regression.learn import CleanLearning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = CleanLearning(model, seed=0).find_label_issues(X, noisy)
        cl_learn = f"{auprc(wrong, table['label_quality']):.4f} / " + (
            f"{f1_score(wrong, table['is_label_issue']):.3f}"
        )
    fit = feats.attrs["fit"]
    return [
        name, len(y), int(wrong.sum()), f"{ref:.4f}", cl_learn,
        f"{auprc(wrong, ours['label_quality']):.4f} / {f1_score(wrong, ours['is_label_issue']):.3f}",
        f"{auprc(wrong, feats['label_quality']):.4f} / "
        f"{f1_score(wrong, feats['is_label_issue']):.3f}",
        f"w={fit.knn_weight:g}, {fit.scale}, cut {fit.cut:.2f}",
    ]


def seed_rows(sets: dict[str, tuple[np.ndarray, np.ndarray]], seeds: list[int]
              ) -> list[list[object]]:
    """Paired AUPRC difference assay - cleanlab rank over held-out seeds, per set."""
    from cleanlab.regression.rank import get_label_quality_scores

    rows = []
    for name, (X, y) in sets.items():
        diffs: dict[str, list[float]] = {"alone": [], "features": []}
        ref = []
        for seed in seeds:
            noisy, wrong = plant_numeric(y, 0.10, seed=seed)
            pred = cross_val_predict(HistGradientBoostingRegressor(random_state=0), X, noisy,
                                     cv=KFold(5, shuffle=True, random_state=seed))
            base = auprc(wrong, get_label_quality_scores(noisy, pred))
            ref.append(base)
            diffs["alone"].append(auprc(wrong, find_regression_issues(noisy, pred)
                                        ["label_quality"]) - base)
            diffs["features"].append(auprc(wrong, find_regression_issues(
                noisy, pred, features=X)["label_quality"]) - base)
        cells = []
        for key in ("alone", "features"):
            d = np.asarray(diffs[key])
            se = d.std(ddof=1) / np.sqrt(len(d))
            cells.append(f"{d.mean():+.4f} +- {se:.4f} ({int((d >= 0).sum())}/{len(d)})")
        rows.append([name, len(seeds), f"{np.mean(ref):.4f} (sd {np.std(ref, ddof=1):.4f})",
                     *cells])
    return rows


def label_probs(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """5-fold out-of-sample probabilities of a standardised logistic regression per label."""
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = KFold(5, shuffle=True, random_state=0)
    return np.column_stack([
        cross_val_predict(model, X, Y[:, j], cv=cv, method="predict_proba")[:, 1]
        for j in range(Y.shape[1])
    ])


def yeast() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy yeast tags, out-of-sample probabilities, and the items with a planted error."""
    df = pd.read_csv(DATA / "multilabel/yeast/yeast.csv")
    names = [c for c in df.columns if c.startswith("Class")]
    X = df.drop(columns=names).to_numpy(float)
    noisy, wrong = plant_tags(df[names].to_numpy(), 0.10, seed=0)
    return noisy, label_probs(X, noisy), wrong


def digit_tags() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The demo's digit tags with its planted errors (12%, seed 0), and probabilities."""
    from assay.demo.multilabel import plant_tag_errors, tag_sets

    digits = load_digits()
    noisy, wrong = plant_tag_errors(tag_sets(digits.target), rate=0.12, seed=0)
    names = sorted({tag for tags in noisy for tag in tags})
    Y = np.array([[name in tags for name in names] for tags in noisy], dtype=np.int8)
    return Y, label_probs(digits.data, Y), np.asarray(wrong, dtype=bool)


def rule_tags() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tags that are thresholded projections of the features, 10% of the sets changed."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 8))
    Y = (X @ rng.normal(size=(8, 6)) > rng.normal(0.5, 0.5, size=6)).astype(int)
    noisy, wrong = plant_tags(Y, 0.10, seed=2)
    return noisy, label_probs(X, noisy), wrong


def multilabel_row(name: str, Y: np.ndarray, probs: np.ndarray, wrong: np.ndarray
                   ) -> list[object]:
    from cleanlab.multilabel_classification import filter as cl_filter
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    sets = [list(np.flatnonzero(r)) for r in Y]
    ours = find_multilabel_issues(Y, probs)
    ref_q = get_label_quality_scores(sets, probs)
    ref_f = cl_filter.find_label_issues(sets, probs)
    flags = ours["is_label_issue"].to_numpy()
    return [
        name, len(Y), int(wrong.sum()),
        f"{auprc(wrong, ref_q):.4f} / {f1_score(wrong, ref_f):.3f} / {int(ref_f.sum())}",
        f"{auprc(wrong, ours['label_quality']):.4f} / {f1_score(wrong, flags):.3f} / "
        f"{int(flags.sum())}",
    ]


def median_time(func: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(n: int, n_ref: int, repeats: int) -> list[list[object]]:
    """Wall times at ``n`` rows (``n_ref`` for cleanlab's OUTRE, whose k is n / 2)."""
    from cleanlab.multilabel_classification import filter as cl_filter
    from cleanlab.multilabel_classification.rank import get_label_quality_scores as ml_q
    from cleanlab.regression.rank import get_label_quality_scores as reg_q

    X, y = regression_sets()["bike-sharing"]
    noisy, _ = plant_numeric(y, 0.10, seed=0)
    pred = cross_val_predict(HistGradientBoostingRegressor(random_state=0), X, noisy,
                             cv=KFold(5, shuffle=True, random_state=0))
    rng = np.random.default_rng(0)
    rows = []
    small = rng.integers(0, len(y), n_ref)
    ref_small = median_time(lambda: reg_q(noisy[small], pred[small]), repeats)
    ours_small = median_time(lambda: find_regression_issues(noisy[small], pred[small]), repeats)
    rows.append(["regression", f"{n_ref:,}", f"{ref_small:.3f}", f"{ours_small:.4f}",
                 f"{ref_small / ours_small:.0f}x"])
    big = rng.integers(0, len(y), n)
    ours_big = median_time(lambda: find_regression_issues(noisy[big], pred[big]), repeats)
    bound = ref_small * n / n_ref  # cleanlab's time grows at least linearly
    rows.append(["regression", f"{n:,}", f"not runnable (>= {bound:.0f} s)",
                 f"{ours_big:.3f}", f">= {bound / ours_big:.0f}x"])
    Y, probs, _ = yeast()
    pick = rng.integers(0, len(Y), n)
    Yb, Pb = Y[pick], probs[pick]
    sets = [list(np.flatnonzero(r)) for r in Yb]
    ref = median_time(lambda: (ml_q(sets, Pb), cl_filter.find_label_issues(sets, Pb)), repeats)
    ours = median_time(lambda: find_multilabel_issues(Yb, Pb), repeats)
    rows.append(["multi-label", f"{n:,}", f"{ref:.3f}", f"{ours:.3f}", f"{ref / ours:.1f}x"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, no results file")
    parser.add_argument("--seeds", type=int, default=0,
                        help="only the paired differences over held-out seeds 1..N")
    args = parser.parse_args()
    if args.seeds:
        sets = {k: v for k, v in regression_sets().items() if len(v[1]) < 5000}
        rows = seed_rows(sets, list(range(1, args.seeds + 1)))
        write_results("label_issues_kinds_seeds", "Label issues, regression: paired "
                      "differences over held-out seeds", "\n\n".join([
                          "AUPRC of assay minus cleanlab's rank scores (OUTRE) on the same "
                          "5-fold gradient-boosting predictions, planted errors and folds "
                          f"drawn with seeds 1..{args.seeds} (seed 0, where the method was "
                          "chosen, left out): mean +- its standard error over seeds "
                          "(seeds where assay >= cleanlab).",
                          markdown_table(["set", "seeds", "cleanlab AUPRC (mean)",
                                          "assay - cleanlab", "assay + features - cleanlab"],
                                         rows)]))
        return
    n, n_ref, repeats = (20_000, 2_000, 1) if args.quick else (100_000, 10_000, 3)
    sets = regression_sets()
    reg_rows = [
        regression_row(name, X, y, learn=not args.quick and len(y) < 2000)
        for name, (X, y) in sets.items()
        if not args.quick or len(y) < 2000
    ]
    ml = [multilabel_row(name, *make()) for name, make in
          (("yeast", yeast), ("digit tags (demo)", digit_tags), ("rule tags", rule_tags))]
    speed_rows = speed(n, n_ref, repeats)
    body = "\n\n".join([
        "Regression: AUPRC (and F1 of the flags) against planted errors; the same 5-fold "
        "gradient-boosting predictions go to both tools (CleanLearning refits the model "
        "itself).",
        markdown_table(
            ["set", "rows", "errors", "cleanlab rank AUPRC", "CleanLearning AUPRC / F1",
             "assay AUPRC / F1", "assay + features AUPRC / F1", "assay's choice"],
            reg_rows,
        ),
        "Multi-label: AUPRC / F1 / items flagged (cleanlab: rank.get_label_quality_scores "
        "and filter.find_label_issues; assay: co-occurrence-refined probabilities, the "
        "worst label's self-confidence, and a cut at the estimated number of wrong sets).",
        markdown_table(["set", "items", "errors", "cleanlab", "assay"], ml),
        f"Speed, median of {repeats} runs (seconds). cleanlab's regression default (OUTRE) "
        "searches n/2 neighbours of every row: at 100,000 rows that is 5e9 neighbour entries "
        "(~80 GB), so it is timed at 10,000 rows and its 100,000-row time bounded below by "
        "linear growth (its measured growth is faster than linear).",
        markdown_table(["task", "rows", "cleanlab", "assay", "ratio"], speed_rows),
    ])
    if args.quick:
        print(body)
        return
    write_results("label_issues_kinds", "Label issues: regression and multi-label", body)


if __name__ == "__main__":
    main()
