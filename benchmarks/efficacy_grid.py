"""Efficacy grid (issue 18): how much of the clean-vs-noisy gap one turn recovers.

PRE-REGISTERED DESIGN (written 2026-12-05 14:15 UTC, before the first run; changing it
afterwards means saying so in the results file).

Protocol per run (as ``benchmarks/iteration.py``, generalised): a data set is split per
seed into a stratified, **clean** held-out test set (40%) and a training pool; the first
``size`` pool rows are the training set; exactly the stated share of its labels is
corrupted by the noise model; the fixed model is trained on the clean and on the noisy
labels, and then after each system's turn. The score of a run is
``(acc_after - acc_noisy) / (acc_clean - acc_noisy)`` on the test set; a **cell** (data
set x model x noise model x rate x size) pools its seeds as ``sum(gain) / sum(gap)``,
with a 90% percentile bootstrap interval over seeds (2,000 resamples).

Axes:

- data sets: ``digits`` (1,797 x 64, 10 classes), ``wine`` (178 x 13, 3), ``breast_cancer``
  (569 x 30, 2), ``fsdd`` (3,000 spoken digits, 42 features from
  ``assay.modalities.audio_features``, 10 classes), ``sentiment`` (UCI sentiment
  sentences, 3,000, 2 classes; TF-IDF of word 1-2-grams with min_df=2, reduced to 100
  dims by TruncatedSVD, fitted label-free on all sentences).
- sizes: 250, 1,000 and 2,000 training rows, each capped at the pool (60% of the data
  set: wine 106, breast cancer 341, digits 1,078, fsdd and sentiment 1,800); a capped
  size within 25% of the next smaller size is dropped (digits: 250, 1,000; breast cancer:
  250, 341; wine: 106; fsdd, sentiment: 250, 1,000, 1,800). The "middle" size of a data
  set is its largest size <= 1,000.
- fixed models: ``lr`` StandardScaler + LogisticRegression(max_iter=2000); ``rf``
  RandomForest(100 trees); ``knn`` StandardScaler + 10-NN (distance weights off);
  ``gb`` HistGradientBoosting(max_iter=50, no early stopping). All seeded with 0.
- noise models, exactly ``round(rate * n)`` flips except annotator (rounding per
  annotator): ``uniform`` (to any other class), ``class`` (class-conditional,
  ``iteration.make_noise``: per class exactly the rate, sparse Dirichlet(0.5) targets),
  ``realistic`` (instance-dependent confusions between similar classes: an item is
  flipped with weight ``1 - p(y|x) + 0.01`` and to class ``c`` with weight ``p(c|x)``,
  where ``p`` are 5-fold probabilities of a clean logistic regression on the training
  set), ``annotator`` (5 simulated labellers, each item labelled by one at random;
  labeller error rates ``rate * (0.4, 0.6, 1.0, 1.4, 1.6)``, each labeller with its own
  sparse Dirichlet(0.5) confusion targets per class).
- rates: 5%, 12%, 25%.  Seeds: 0-4 (5 per cell).
- review budget (same for every system): ``round(rate * n)`` items, the oracle reviewer
  restores their true labels.

Systems:

- ``assay auto``: ``assay.train.audit.audit(..., model=<fixed model>, features=X,
  checks=["label"])`` and its automatic action, drop the flagged rows and retrain;
- ``assay reviewed``: the budget's lowest ``label_quality`` rows are fixed;
- ``cleanlab auto`` / ``cleanlab reviewed``: ``cleanlab.filter.find_label_issues`` (drop)
  and ``cleanlab.rank.get_label_quality_scores`` (review order) on 5-fold
  ``cross_val_predict`` probabilities of the fixed model;
- ``datalab auto`` / ``datalab reviewed``: ``cleanlab.Datalab`` label issues
  (``is_label_issue``, ``label_score``) on the same probabilities;
- ``random auto`` / ``random reviewed``: drop / fix a random budget-sized set;
- ``oracle drop``: drop exactly the noisy rows (the automatic ceiling; fixing them all
  is the clean model, 1.0 by definition).

Summary against the issue's targets (computed over the cells that ran):

- cells with a mean clean-noisy gap below 0.01 (one point of accuracy) have nothing to
  recover: they are listed but left out of the medians and of the "above cleanlab" share;
- median over cells of the pooled gap recovered: assay auto >= 0.85, assay reviewed >=
  0.93; assay above cleanlab (same turn) in >= 90% of cells; assay auto >= 0.75 in every
  ``lr`` cell at 12%.

Rule for choosing defaults (stated in advance): the **selection part** is the data sets
``digits`` and ``breast_cancer``; the **held-out part** is ``wine``, ``fsdd`` and
``sentiment``. A change of the audit's defaults is adopted only if, on the selection
part, it raises the median automatic gap recovered by >= 0.02 and lowers no ``lr``
12% cell by more than 0.05; the held-out part is then reported untouched, never used to
choose. This run changes no default: it is the baseline of the current defaults.

Run order (compute is scarce, so the grid is run by priority until ``--minutes`` is
spent, resumable: each run is appended to ``results/efficacy_grid_runs.jsonl`` and
skipped when found), all at the middle size first: (1) lr at 12%; (2) knn at 12%; (3)
lr at 5% and 25%; (4) rf and gb at 12%; (5) knn, rf, gb at 5% and 25%; (6) the other
sizes in the same order. The results file says exactly which
cells ran and which did not.

AMENDMENT 1 (written 2026-12-05 19:05 UTC, before any run of it): candidate automatic
actions. The audit's label check now records, per row, ``suggested_probability`` (the
out-of-sample probability of the suggested class) and ``suggested_threshold`` (the
confident-learning threshold of that class: its mean probability over the rows given
it), and ``AuditReport.label_action(action, threshold)`` acts on the flagged rows. Three
candidates, each run on the same audit as ``assay auto`` (drop every flagged row, the
current default) in the same run, so that the comparison is paired:

- ``assay relabel``: a flagged row is relabelled to the suggestion when
  ``suggested_probability >= suggested_threshold`` (per-class thresholds), dropped
  otherwise (``label_action("relabel", "class")``);
- ``assay relabel@0.5``: the same with one bar of 0.5 for every class;
- ``assay relabel-all``: every flagged row relabelled, none dropped (bar 0).

They are judged by the pre-registered rule above on the selection part only (digits,
breast_cancer; cells with 5 seeds and a mean gap >= 0.01), against ``assay auto`` on the
same cells: a candidate passes if it raises the median automatic gap recovered by >=
0.02 and lowers no ``lr`` 12% cell by more than 0.05. If more than one passes, the one
with the highest selection median is adopted (ties: the earlier in this list). Cells run
in the pre-registered priority order (``--candidates``, results in
``results/efficacy_grid_candidates.jsonl``); the decision uses the selection cells
that completed before the held-out part is started, and the results file lists them.
If a candidate is adopted, ``label_action``'s default becomes it and the held-out part
(wine, fsdd, sentiment) is then run and reported untouched; if none passes, the
candidates are reported as measured options and the default stays ``drop``.

AMENDMENT 2 (written 2026-12-05 19:20 UTC, before any grid run of it; amendment 1's
runs were stopped after 51 runs, none of the held-out part): two more candidates. A look
at 5 selection cells (digits and breast cancer, lr, 12%, seeds 0-3, outside the grid
runner) showed that the flags stop at the estimated number of errors, which is low for
realistic noise (digits: 68 flags for 120 errors), while the rows whose out-of-sample
suggestion differs from their label held 105 of the 120 errors in 122 rows. So:

- ``assay disagree-relabel``: ``label_action("relabel", "class", scope="disagreeing")``:
  the flagged rows and every row whose suggestion differs from its label; relabelled
  when the suggestion reaches its class's threshold, dropped otherwise;
- ``assay disagree-drop``: ``label_action("drop", scope="disagreeing")``: those rows
  dropped.

All five candidates (amendments 1 and 2) are judged together by amendment 1's rule on
the selection part; the runs of amendment 1 that lack these columns are run again (the
runner re-runs a run whose row misses a candidate; the last row of a run counts).

OUTCOME of amendments 1-2 (20:20 UTC): ``assay relabel`` passed the rule on the 30
decision cells and was adopted (``label_action`` now defaults to ``action="relabel"``);
the others did not pass. Results: the amendments' section of the results file.

AMENDMENT 3 (``benchmarks/efficacy_ceiling.py``): ceilings of detection vs action.
AMENDMENT 4 (``benchmarks/efficacy_guard.py``): where the weak-model warning fires.

Run: ``nice -n 10 .venv/bin/python benchmarks/efficacy_grid.py [--quick] [--minutes M]``
(``--quick``: digits, lr, class noise at 12%, n=250, 2 seeds, not cached, for CI).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results  # noqa: E402
from iteration import make_noise  # noqa: E402  (the protocol's class-conditional noise)

HERE = Path(__file__).resolve().parent
RUNS = HERE / "results" / "efficacy_grid_runs.jsonl"
RESULTS = HERE / "results" / "efficacy_grid.md"
CACHE = Path.home() / ".cache" / "assay-bench"
DATA = HERE.parent.parent / "shared" / "data"
DATASETS = ("digits", "breast_cancer", "wine", "fsdd", "sentiment")
SELECTION = ("digits", "breast_cancer")
MODELS = ("lr", "knn", "rf", "gb")
NOISES = ("uniform", "class", "realistic", "annotator")
RATES = (0.05, 0.12, 0.25)
SIZES = (250, 1000, 2000)
SEEDS = (0, 1, 2, 3, 4)
SYSTEMS = ("assay", "cleanlab", "datalab", "random")
MIN_GAP = 0.01


@dataclass(frozen=True)
class Cell:
    """One cell of the grid."""

    dataset: str
    model: str
    noise: str
    rate: float
    size: int

    def key(self, seed: int) -> str:
        return f"{self.dataset}|{self.model}|{self.noise}|{self.rate}|{self.size}|{seed}"


# ---------------------------------------------------------------- data and models


def _fsdd() -> tuple[np.ndarray, np.ndarray]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "fsdd_features.npz"
    if not path.exists():
        from assay.modalities import audio_features

        files = sorted((DATA / "audio" / "fsdd").glob("*.wav"))
        X = audio_features([str(f) for f in files])
        y = np.array([int(f.name.split("_")[0]) for f in files])
        np.savez(path, X=X, y=y)
    data = np.load(path)
    return data["X"], data["y"]


def _sentiment() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, labels = [], []
    for name in ("amazon_cells", "imdb", "yelp"):
        for line in (DATA / "text" / f"{name}_labelled.txt").read_text().splitlines():
            sentence, _, label = line.rstrip().rpartition("\t")
            if sentence and label in ("0", "1"):
                texts.append(sentence)
                labels.append(int(label))
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(texts)
    X = TruncatedSVD(100, random_state=0).fit_transform(tfidf)
    return X, np.array(labels)


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and integer labels 0..k-1 of a data set."""
    from sklearn import datasets

    loaders: dict[str, Callable[[], Any]] = {
        "digits": lambda: datasets.load_digits(return_X_y=True),
        "wine": lambda: datasets.load_wine(return_X_y=True),
        "breast_cancer": lambda: datasets.load_breast_cancer(return_X_y=True),
        "fsdd": _fsdd,
        "sentiment": _sentiment,
    }
    X, y = loaders[name]()
    return np.asarray(X, float), np.unique(y, return_inverse=True)[1]


def build(model: str) -> Any:
    """The fixed model of a cell (a fresh, unfitted estimator)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "lr":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if model == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(10))
    if model == "rf":
        return RandomForestClassifier(100, random_state=0, n_jobs=1)
    return HistGradientBoostingClassifier(max_iter=50, early_stopping=False, random_state=0)


# ---------------------------------------------------------------- noise models


def _uniform(y: np.ndarray, X: np.ndarray, k: int, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.choice(y.size, int(round(rate * y.size)), replace=False)
    noisy = y.copy()
    noisy[idx] = (y[idx] + rng.integers(1, k, idx.size)) % k
    return noisy


def _realistic(y: np.ndarray, X: np.ndarray, k: int, rate: float, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    p = cross_val_predict(build("lr"), X, y, cv=cv, method="predict_proba")
    weight = 1.0 - p[np.arange(y.size), y] + 0.01
    idx = rng.choice(y.size, int(round(rate * y.size)), replace=False, p=weight / weight.sum())
    noisy = y.copy()
    for i in idx:
        other = p[i] + 1e-3
        other[y[i]] = 0.0
        noisy[i] = rng.choice(k, p=other / other.sum())
    return noisy


def _annotator(y: np.ndarray, X: np.ndarray, k: int, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    who = rng.integers(0, 5, y.size)
    noisy = y.copy()
    for a, scale in enumerate((0.4, 0.6, 1.0, 1.4, 1.6)):
        mine = np.flatnonzero(who == a)
        flip = rng.choice(mine, int(round(rate * scale * mine.size)), replace=False)
        targets = [rng.dirichlet(np.full(k - 1, 0.5)) for _ in range(k)]
        for i in flip:
            noisy[i] = np.delete(np.arange(k), y[i])[rng.choice(k - 1, p=targets[y[i]])]
    return noisy


def corrupt(noise: str, y: np.ndarray, X: np.ndarray, k: int, rate: float, seed: int) -> np.ndarray:
    """Noisy labels of ``y`` under a noise model (seeded)."""
    if noise == "class":
        return make_noise(y, k, rate, seed)
    return {"uniform": _uniform, "realistic": _realistic, "annotator": _annotator}[noise](
        y, X, k, rate, seed
    )


# ---------------------------------------------------------------- systems


def _assay(model: str, X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    issues = _assay_report(model, X, y, seed).issues
    return issues["is_label_issue"].to_numpy(bool), issues["label_quality"].to_numpy(float)


def _assay_report(model: str, X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    from assay.train.audit import audit

    return audit(
        pd.DataFrame({"label": y}),
        label="label",
        features=X,
        model=build(model),
        checks=["label"],
        seed=seed,
        n_jobs=1,
    )


def _cleanlab_probs(model: str, X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    return np.asarray(cross_val_predict(build(model), X, y, cv=cv, method="predict_proba"))


def _cleanlab(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    flags = np.asarray(find_label_issues(y, probs), bool)
    return flags, np.asarray(get_label_quality_scores(y, probs))


def _datalab(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from cleanlab import Datalab

    with contextlib.redirect_stdout(io.StringIO()):
        lab = Datalab({"label": y}, label_name="label", verbosity=0)
        lab.find_issues(pred_probs=probs, issue_types={"label": {}})
    issues = lab.get_issues("label")
    return issues["is_label_issue"].to_numpy(bool), issues["label_score"].to_numpy(float)


def _fit_score(model: str, X: np.ndarray, y: np.ndarray, Xt: np.ndarray, yt: np.ndarray) -> float:
    if np.unique(y).size < 2:
        return float("nan")
    return float((build(model).fit(X, y).predict(Xt) == yt).mean())


@dataclass
class Setup:
    """One seed of a cell: the training rows, their true and noisy labels, the scorer."""

    Xr: np.ndarray
    yr: np.ndarray
    noisy: np.ndarray
    score: Callable[[np.ndarray, np.ndarray], float]
    row: dict[str, Any]


def setup(cell: Cell, X: np.ndarray, y: np.ndarray, seed: int) -> Setup:
    """Split, corrupt, and score the clean, noisy and oracle-drop models of one seed."""
    from sklearn.model_selection import train_test_split

    k = int(y.max()) + 1
    Xp, Xt, yp, yt = train_test_split(X, y, test_size=0.4, stratify=y, random_state=seed)
    Xr, yr = Xp[: cell.size], yp[: cell.size]
    noisy = corrupt(cell.noise, yr, Xr, k, cell.rate, seed)
    wrong = noisy != yr
    score = lambda keep, labels: _fit_score(cell.model, Xr[keep], labels[keep], Xt, yt)  # noqa: E731
    everything = np.ones(yr.size, bool)
    row: dict[str, Any] = {
        **asdict(cell),
        "seed": seed,
        "n": int(yr.size),
        "noise_rate": float(wrong.mean()),
    }
    row["clean"], row["noisy"] = score(everything, yr), score(everything, noisy)
    row["oracle auto"] = score(~wrong, noisy)
    return Setup(Xr, yr, noisy, score, row)


def one_run(cell: Cell, X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Every system's accuracies on one seed of a cell."""
    s = setup(cell, X, y, seed)
    Xr, yr, noisy, score, row = s.Xr, s.yr, s.noisy, s.score, s.row
    wrong = noisy != yr
    budget = int(round(cell.rate * yr.size))
    everything = np.ones(yr.size, bool)
    start = time.perf_counter()
    found = {"assay": _assay(cell.model, Xr, noisy, seed)}
    row["assay seconds"] = time.perf_counter() - start
    probs = _cleanlab_probs(cell.model, Xr, noisy, seed)
    found["cleanlab"] = _cleanlab(probs, noisy)
    found["datalab"] = _datalab(probs, noisy)
    rng = np.random.default_rng(10_000 + seed)
    random_flags = np.zeros(yr.size, bool)
    random_flags[rng.choice(yr.size, budget, replace=False)] = True
    found["random"] = (random_flags, rng.random(yr.size))
    for name, (flags, quality) in found.items():
        fixed = noisy.copy()
        order = np.argsort(quality, kind="stable")[:budget]
        fixed[order] = yr[order]
        row[f"{name} auto"] = score(~flags, noisy)
        row[f"{name} reviewed"] = score(everything, fixed)
        row[f"{name} flagged"] = int(flags.sum())
        row[f"{name} precision"] = float(wrong[flags].mean()) if flags.any() else float("nan")
        row[f"{name} review hits"] = float(wrong[order].mean()) if budget else float("nan")
    return row


# ---------------------------------------------------------------- the grid


def sizes_of(pool: int) -> list[int]:
    """The pre-registered sizes for a pool of ``pool`` rows."""
    kept: list[int] = []
    for s in sorted({min(s, pool) for s in SIZES}):
        if not kept or s > 1.25 * kept[-1]:
            kept.append(s)
    return kept


def pool_size(dataset: str, n_rows: int) -> int:
    return n_rows - int(np.ceil(0.4 * n_rows))


def ordered_cells(pools: dict[str, int]) -> Iterator[Cell]:
    """Every cell, in the pre-registered priority order."""
    stages = [
        (("lr",), (0.12,)),
        (("knn",), (0.12,)),
        (("lr",), (0.05, 0.25)),
        (("rf", "gb"), (0.12,)),
        (("knn", "rf", "gb"), (0.05, 0.25)),
    ]
    seen: set[Cell] = set()
    middle = {d: max(s for s in sizes_of(p) if s <= 1000) for d, p in pools.items()}
    for use_middle in (True, False):
        for models, rates in stages:
            for model, rate, dataset, noise in itertools.product(models, rates, DATASETS, NOISES):
                sizes = [middle[dataset]] if use_middle else sizes_of(pools[dataset])
                for size in sizes:
                    cell = Cell(dataset, model, noise, rate, size)
                    if cell not in seen:
                        seen.add(cell)
                        yield cell


def cached(path: Path = RUNS, need: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """The runs already in ``path`` (the last row of each) that have the ``need``
    columns, by cell and seed."""
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if all(c in r for c in need)]
    return {
        Cell(r["dataset"], r["model"], r["noise"], r["rate"], r["size"]).key(r["seed"]): r
        for r in rows
    }


RunOne = Callable[[Cell, np.ndarray, np.ndarray, int], dict[str, Any]]


def run_cells(
    path: Path,
    run: RunOne,
    keep: Callable[[Cell, int], bool],
    minutes: float,
    need: tuple[str, ...] = (),
) -> None:
    """Run the cells ``keep`` accepts, in priority order, until ``minutes`` are spent;
    append each run to ``path`` (resumable: runs found there with the ``need`` columns
    are skipped)."""
    done = cached(path, need)
    data = {d: load(d) for d in DATASETS}
    pools = {d: pool_size(d, y.size) for d, (_, y) in data.items()}
    middle = {d: max(s for s in sizes_of(p) if s <= 1000) for d, p in pools.items()}
    deadline = time.monotonic() + 60 * minutes
    for cell in ordered_cells(pools):
        if not keep(cell, middle[cell.dataset]):
            continue
        for seed in SEEDS:
            if cell.key(seed) in done:
                continue
            if time.monotonic() > deadline:
                return
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = run(cell, *data[cell.dataset], seed)
            row["seconds"] = time.perf_counter() - start
            with path.open("a") as out:
                out.write(json.dumps(row) + "\n")
            print(
                f"{cell.key(seed)}: {row['seconds']:.1f} s, assay auto {row['assay auto']:.3f}"
                f" clean {row['clean']:.3f} noisy {row['noisy']:.3f}",
                flush=True,
            )


def run_grid(minutes: float) -> None:
    """Run every cell in priority order until ``minutes`` are spent; append each run."""
    run_cells(RUNS, one_run, lambda cell, middle: True, minutes)


# ---------------------------------------------------------------- amendments 1-2: candidate actions

CANDIDATE_RUNS = HERE / "results" / "efficacy_grid_candidates.jsonl"
#: Amendments 1-2: candidate automatic actions, (action, threshold, scope) of ``label_action``.
CANDIDATES: dict[str, tuple[str, float | str, str]] = {
    "assay relabel": ("relabel", "class", "flagged"),
    "assay relabel@0.5": ("relabel", 0.5, "flagged"),
    "assay relabel-all": ("relabel", 0.0, "flagged"),
    "assay disagree-relabel": ("relabel", "class", "disagreeing"),  # amendment 2
    "assay disagree-drop": ("drop", "class", "disagreeing"),  # amendment 2
}


def candidate_run(cell: Cell, X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """The drop action and every candidate action on one audit of one seed of a cell."""
    s = setup(cell, X, y, seed)
    row = s.row
    start = time.perf_counter()
    report = _assay_report(cell.model, s.Xr, s.noisy, seed)
    row["assay seconds"] = time.perf_counter() - start
    actions = {"assay auto": ("drop", "class", "flagged"), **CANDIDATES}
    for name, (action, threshold, scope) in actions.items():
        act = report.label_action(action, threshold, scope)
        kind = act["action"].to_numpy()
        labels = act["label"].to_numpy().astype(s.noisy.dtype)
        relabelled = kind == "relabel"
        row[name] = s.score(kind != "drop", labels)
        row[f"{name} relabelled"] = int(relabelled.sum())
        row[f"{name} dropped"] = int((kind == "drop").sum())
        row[f"{name} relabel right"] = (
            float((labels[relabelled] == s.yr[relabelled]).mean()) if relabelled.any() else None
        )
    return row


def run_candidates(minutes: float, datasets: tuple[str, ...], models: tuple[str, ...],
                   middle_only: bool) -> None:
    """Amendments 1-2: runs, in the pre-registered order, restricted to ``datasets``/``models``."""

    def keep(cell: Cell, middle: int) -> bool:
        sized = not middle_only or cell.size == middle
        return cell.dataset in datasets and cell.model in models and sized

    run_cells(CANDIDATE_RUNS, candidate_run, keep, minutes, tuple(CANDIDATES))


# ---------------------------------------------------------------- the report


def pooled(frame: pd.DataFrame, column: str) -> float:
    gap = (frame["clean"] - frame["noisy"]).sum()
    return float((frame[column] - frame["noisy"]).sum() / gap) if gap > 0 else float("nan")


def interval(frame: pd.DataFrame, column: str, reps: int = 2000) -> tuple[float, float]:
    """90% percentile bootstrap interval of :func:`pooled` over seeds."""
    rng = np.random.default_rng(0)
    gain = (frame[column] - frame["noisy"]).to_numpy()
    gap = (frame["clean"] - frame["noisy"]).to_numpy()
    idx = rng.integers(0, gain.size, (reps, gain.size))
    with np.errstate(invalid="ignore", divide="ignore"):
        stats = gain[idx].sum(1) / gap[idx].sum(1)
    stats = stats[np.isfinite(stats) & (gap[idx].sum(1) > 0)]
    return (
        (float(np.quantile(stats, 0.05)), float(np.quantile(stats, 0.95)))
        if stats.size
        else (np.nan, np.nan)
    )


COLUMNS = [
    "assay auto",
    "assay reviewed",
    "cleanlab auto",
    "cleanlab reviewed",
    "datalab auto",
    "datalab reviewed",
    "random auto",
    "random reviewed",
    "oracle auto",
]


def cell_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: pooled gap recovered per system, interval for assay."""
    rows = []
    keys = ["dataset", "model", "noise", "rate", "size"]
    for key, g in runs.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True))
        row["seeds"] = len(g)
        row["gap"] = float((g["clean"] - g["noisy"]).mean())
        row["clean"] = float(g["clean"].mean())
        for col in COLUMNS:
            row[col] = pooled(g, col)
        row["auto ci"] = interval(g, "assay auto")
        row["reviewed ci"] = interval(g, "assay reviewed")
        row["assay precision"] = float(g["assay precision"].mean())
        row["cleanlab precision"] = float(g["cleanlab precision"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def summary(cells: pd.DataFrame) -> list[str]:
    """The issue's targets on the cells with a gap to recover."""
    ok = cells[(cells["gap"] >= MIN_GAP) & (cells["seeds"] >= 5)]
    lines = [
        f"Cells with 5 seeds: {int((cells['seeds'] >= 5).sum())}; with a mean gap >= "
        f"{MIN_GAP} (counted below): {len(ok)}."
    ]
    if ok.empty:
        return lines
    for part, sub in (
        ("all", ok),
        ("selection (digits, breast_cancer)", ok[ok["dataset"].isin(SELECTION)]),
        ("held-out (wine, fsdd, sentiment)", ok[~ok["dataset"].isin(SELECTION)]),
    ):
        if sub.empty:
            continue
        above_a = float((sub["assay auto"] > sub["cleanlab auto"]).mean())
        above_r = float((sub["assay reviewed"] > sub["cleanlab reviewed"]).mean())
        lines.append(
            f"- {part}, {len(sub)} cells: median gap recovered assay auto "
            f"**{sub['assay auto'].median():.3f}** (target >= 0.85), assay reviewed "
            f"**{sub['assay reviewed'].median():.3f}** (target >= 0.93); cleanlab "
            f"{sub['cleanlab auto'].median():.3f} / {sub['cleanlab reviewed'].median():.3f}, "
            f"Datalab {sub['datalab auto'].median():.3f} / {sub['datalab reviewed'].median():.3f}, "
            f"random {sub['random auto'].median():.3f} / {sub['random reviewed'].median():.3f}, "
            f"oracle drop {sub['oracle auto'].median():.3f}; assay above cleanlab in "
            f"{above_a:.0%} of cells (auto) and {above_r:.0%} (reviewed) (target >= 90%)."
        )
    lr12 = ok[(ok["model"] == "lr") & (ok["rate"] == 0.12)]
    if not lr12.empty:
        worst = lr12.sort_values("assay auto").iloc[0]
        miss = int((lr12["assay auto"] < 0.75).sum())
        lines.append(
            f"- lr at 12%: {len(lr12)} cells, lowest assay auto {worst['assay auto']:.3f} "
            f"({worst['dataset']}, {worst['noise']}); {miss} below 0.75 (target: none)."
        )
    return lines


def fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.2f}"


def cell_lines(cells: pd.DataFrame) -> list[str]:
    head = (
        "| data | model | noise | rate | n | seeds | clean acc | gap | assay auto [90%] "
        "| assay rev [90%] | cl auto | cl rev | DL auto | DL rev | rand auto | rand rev "
        "| oracle drop | flag prec assay / cl |"
    )
    lines = [
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for _, r in cells.iterrows():
        a, b = r["auto ci"], r["reviewed ci"]
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['noise']} | {r['rate']:.0%} | {r['size']} | "
            f"{r['seeds']} | {r['clean']:.3f} | {r['gap']:.3f} | {fmt(r['assay auto'])} "
            f"[{fmt(a[0])}, {fmt(a[1])}] | {fmt(r['assay reviewed'])} [{fmt(b[0])}, {fmt(b[1])}] | "
            + " | ".join(fmt(r[c]) for c in COLUMNS[2:])
            + f" | {fmt(r['assay precision'])} / {fmt(r['cleanlab precision'])} |"
        )
    return lines


def breakdown(cells: pd.DataFrame) -> list[str]:
    """Medians of the counted cells by data set, model, noise model and rate."""
    ok = cells[(cells["gap"] >= MIN_GAP) & (cells["seeds"] >= 5)]
    lines = [
        "| by | value | cells | assay auto | assay rev | cleanlab auto | cleanlab rev "
        "| oracle drop | assay auto > cleanlab |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for axis in ("dataset", "model", "noise", "rate"):
        for value, g in ok.groupby(axis, sort=False):
            lines.append(
                f"| {axis} | {value} | {len(g)} | {g['assay auto'].median():.2f} | "
                f"{g['assay reviewed'].median():.2f} | {g['cleanlab auto'].median():.2f} | "
                f"{g['cleanlab reviewed'].median():.2f} | {g['oracle auto'].median():.2f} | "
                f"{(g['assay auto'] > g['cleanlab auto']).mean():.0%} |"
            )
    return lines


def coverage(cells: pd.DataFrame) -> list[str]:
    """Which parts of the pre-registered grid ran (cells with 5 seeds)."""
    full = cells[cells["seeds"] >= 5]
    lines = []
    for (model, rate), g in full.groupby(["model", "rate"], sort=False):
        sizes = ", ".join(
            f"{d} n={'/'.join(str(s) for s in sorted(h['size'].unique()))}"
            for d, h in g.groupby("dataset", sort=False)
        )
        lines.append(f"- {model} at {rate:.0%}: {len(g)} cells ({sizes}).")
    partial = cells[cells["seeds"] < 5]
    if len(partial):
        lines.append(f"- {len(partial)} cell(s) with fewer than 5 seeds (not counted).")
    return lines


NOTES = """## Reading (written after the run; no default was changed)

- The targets are missed by a wide margin: over the counted cells the median share of
  the gap recovered is far below 0.85 (automatic) and 0.93 (reviewed). Within the same
  runs assay is ahead of cleanlab's ``find_label_issues`` and Datalab in most cells
  (Datalab's label issues on the same probabilities coincide with ``find_label_issues``
  in every run), but not in >= 90% of them.
- **Dropping is the ceiling of the automatic action.** ``oracle drop`` (drop exactly the
  noisy rows) has a median near the 0.85 target, and far below it with rf, knn and gb
  and with realistic noise: a drop-only action cannot reach 0.85 where the dropped rows
  carry information. Only an action that relabels (when the suggestion is confident) can.
- **Weak models.** On the sentiment sentences (TF-IDF + SVD, clean accuracy 0.74) about
  a quarter of the flags are real; dropping them lowers accuracy (negative shares) for
  every detector. The label check now says so (expected precision, weak-model warning).
- **Realistic (instance-dependent) noise** is the hardest: the mislabelled rows are the
  ones the model finds ambiguous anyway, so their ranking is poorer and dropping them
  removes the boundary.
- Cells with small gaps (breast cancer, wine: 0.01-0.05) have wide intervals; one test
  error more or less moves a share by 0.1-0.3.
"""


def candidate_cells(cand: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """Amendments 1-2, one row per cell: pooled gap recovered by drop and by each candidate."""
    keys = ["dataset", "model", "noise", "rate", "size"]
    anchors = base.set_index([*keys, "seed"])[["cleanlab auto"]]
    cand = cand.join(anchors, on=[*keys, "seed"])
    rows = []
    for key, g in cand.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True))
        row["seeds"], row["gap"] = len(g), float((g["clean"] - g["noisy"]).mean())
        for col in ["assay auto", *CANDIDATES, "oracle auto", "cleanlab auto"]:
            row[col] = pooled(g, col) if g[col].notna().all() else float("nan")
        for col in CANDIDATES:
            row[f"{col} ci"] = interval(g, col)
            row[f"{col} right"] = float(g[f"{col} relabel right"].astype(float).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def candidate_verdict(cells: pd.DataFrame) -> tuple[list[str], str | None]:
    """The pre-registered rule on the selection part: lines, and the adopted candidate."""
    ok = cells[(cells["gap"] >= MIN_GAP) & (cells["seeds"] >= 5)]
    sel = ok[ok["dataset"].isin(SELECTION)]
    if sel.empty:
        return ["No selection cell with 5 seeds and a gap to recover yet."], None
    drop = sel["assay auto"].median()
    lines = [f"Selection part, {len(sel)} cells: median gap recovered by drop (current "
             f"default) **{drop:.3f}**."]
    passed: list[tuple[float, str]] = []
    lr12 = sel[(sel["model"] == "lr") & (sel["rate"] == 0.12)]
    for name in CANDIDATES:
        median = sel[name].median()
        worst = (lr12[name] - lr12["assay auto"]).min() if len(lr12) else float("nan")
        ok_rule = median - drop >= 0.02 and not (worst < -0.05)
        lines.append(
            f"- {name}: median **{median:.3f}** ({median - drop:+.3f}); worst lr 12% cell "
            f"{worst:+.3f} against drop; above drop in {(sel[name] > sel['assay auto']).mean():.0%}"
            f" of cells; rule **{'passed' if ok_rule else 'not passed'}**."
        )
        if ok_rule:
            passed.append((median, name))
    adopted = max(passed, key=lambda t: t[0])[1] if passed else None
    lines.append(f"Adopted: **{adopted}**." if adopted else "Adopted: none; the default stays drop.")
    return lines, adopted


def candidate_part(cells: pd.DataFrame, part: str, names: tuple[str, ...]) -> str:
    ok = cells[(cells["gap"] >= MIN_GAP) & (cells["seeds"] >= 5)]
    sub = ok[ok["dataset"].isin(names)]
    if sub.empty:
        return f"- {part}: no counted cell."
    lr12 = sub[(sub["model"] == "lr") & (sub["rate"] == 0.12)]
    parts = ", ".join(f"{c} {sub[c].median():.3f}" for c in ["assay auto", *CANDIDATES])
    above = ", ".join(f"{c} {(sub[c] > sub['cleanlab auto']).mean():.0%}" for c in CANDIDATES)
    low = ", ".join(f"{c} {lr12[c].min():.2f}" for c in CANDIDATES) if len(lr12) else "n/a"
    return (f"- {part}, {len(sub)} cells: median gap recovered {parts} (drop = assay auto); "
            f"cleanlab auto {sub['cleanlab auto'].median():.3f}, oracle drop "
            f"{sub['oracle auto'].median():.3f}; above cleanlab auto: {above}; lowest lr 12% "
            f"cell: {low}.")


AMENDMENT_NOTES = """Reading (written after the runs):

- By the rule as written, **``assay relabel`` was adopted**: ``label_action``'s default is
  now ``action="relabel"`` (threshold per class, flagged rows only). The margin is thin:
  +0.029 on the 30 decision cells, +0.019 (below the 0.02 bar) on all 52 selection
  cells now in the file; it never lowered an ``lr`` 12% cell (worst +0.000). Its
  relabels are right 91-100% of the time; it differs little from drop because, for most
  cells, what limits the automatic turn is the errors that are not flagged, not the
  flagged rows that are dropped.
- The held-out part (wine, fsdd, sentiment; lr and knn at the middle size, 5%, 12%,
  25%) ran after the rule was written and is reported untouched below. The held-out
  medians were seen before this note and the default change were written; the decision
  is the written rule's, on the decision runs only.
- ``disagree-relabel`` (act on every row whose suggestion differs) recovers much more
  on digits with lr (12%: 0.92/0.94/0.75/0.91 against drop 0.69/0.79/0.52/0.71) but loses
  on small-gap cells (breast cancer lr uniform 12%: 0.59 against 0.71) and with knn and
  rf, so it failed the rule; it stays an option (``scope="disagreeing"``).
- The systems table above is the pre-amendment baseline: its ``assay auto`` is the drop
  action; the grid's own ``assay auto`` runs were not repeated with the new default.
"""


def decision_runs() -> list[dict[str, Any]]:
    """The candidate runs written before the first held-out run (the file is in run
    order), with every candidate's column, the last row of each run."""
    rows = [json.loads(x) for x in CANDIDATE_RUNS.read_text().splitlines() if x.strip()]
    held = [i for i, r in enumerate(rows) if r["dataset"] not in SELECTION]
    rows = rows[: held[0]] if held else rows
    keyed = {
        Cell(r["dataset"], r["model"], r["noise"], r["rate"], r["size"]).key(r["seed"]): r
        for r in rows
        if all(c in r for c in CANDIDATES)
    }
    return list(keyed.values())


def candidate_section(base: pd.DataFrame) -> str:
    """Amendments 1-2: results (empty without candidate runs)."""
    rows = list(cached(CANDIDATE_RUNS, tuple(CANDIDATES)).values())
    if not rows:
        return ""
    cand = pd.DataFrame(rows)
    cells = candidate_cells(cand, base)
    decided = candidate_cells(pd.DataFrame(decision_runs()), base)
    verdict = [
        "**The decision** (amendment 1: on the selection runs completed before the first "
        "held-out run was started):",
        *candidate_verdict(decided)[0],
        "",
        "For information, the same rule on every selection run now in the file (not the "
        "decision; more selection cells ran while the held-out part ran):",
        *candidate_verdict(cells)[0],
    ]
    short = [c.removeprefix("assay ") for c in CANDIDATES]
    head = (
        "| data | model | noise | rate | n | seeds | gap | drop | "
        + " | ".join(f"{c} [90%]" for c in short)
        + " | relabels right (relabel / disagree-relabel) | cl auto | oracle drop |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for _, r in cells.iterrows():
        cis = [f"{fmt(r[c])} [{fmt(r[c + ' ci'][0])}, {fmt(r[c + ' ci'][1])}]" for c in CANDIDATES]
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['noise']} | {r['rate']:.0%} | {r['size']} | "
            f"{r['seeds']} | {r['gap']:.3f} | {fmt(r['assay auto'])} | " + " | ".join(cis)
            + f" | {fmt(r['assay relabel right'])} / {fmt(r['assay disagree-relabel right'])} | "
            f"{fmt(r['cleanlab auto'])} | {fmt(r['oracle auto'])} |"
        )
    return "\n\n".join([
        "## Amendments 1 and 2: candidate automatic actions (relabel confident suggestions, "
        "drop the rest)",
        f"Runs: {len(cand)} in `results/efficacy_grid_candidates.jsonl` (design: amendments 1 "
        "and 2 in the docstring). Each run audits once and applies every action to that audit; "
        "`drop` is `assay auto`. Cells counted as in the summary (5 seeds, gap >= 0.01).",
        "\n".join(verdict),
        AMENDMENT_NOTES.strip(),
        "\n".join([candidate_part(cells, "selection (digits, breast_cancer)", SELECTION),
                   candidate_part(cells, "held-out (wine, fsdd, sentiment)",
                                  tuple(d for d in DATASETS if d not in SELECTION))]),
        "Per cell (pooled over seeds; 90% bootstrap over seeds; relabels right: the share "
        "of relabelled rows given their true label, mean over seeds):",
        "\n".join(lines),
    ])


def report(runs: pd.DataFrame, command: str) -> str:
    cells = cell_table(runs)
    seconds = runs.groupby("model")["seconds"].median()
    return "\n\n".join(
        [
            "# Efficacy grid: share of the clean-vs-noisy gap recovered (issue 18)",
            f"Command: `{command}`  \nDate: {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC; 2 cores "
            f"shared with ~8 jobs. Design: pre-registered in the docstring of "
            f"`benchmarks/efficacy_grid.py`; every run is in `results/efficacy_grid_runs.jsonl`. "
            f"Runs: {len(runs)}; median seconds per run: "
            + ", ".join(f"{m} {s:.0f}" for m, s in seconds.items())
            + ".",
            "## Summary against the targets",
            "\n".join(summary(cells)),
            "## What ran (every noise model in each; the rest of the grid did not run)",
            "\n".join(coverage(cells)),
            "## Medians by axis (counted cells)",
            "\n".join(breakdown(cells)),
            NOTES.strip(),
            *[x for x in [candidate_section(runs)] if x],
            "## Per cell (pooled over seeds; interval: 90% bootstrap over seeds)",
            "\n".join(cell_lines(cells)),
        ]
    )


def budgeted_main(doc: str, run: Callable[[float], None], name: str, title: str,
                  report_text: Callable[[], str]) -> None:
    """The command line of a follow-up study: ``--minutes`` of compute for ``run``
    (skipped with ``--report-only``), then its results file rewritten."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="compute budget")
    parser.add_argument("--report-only", action="store_true", help="rewrite the results file")
    args = parser.parse_args()
    if not args.report_only:
        run(args.minutes)
    write_results(name, title, report_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI size: one cell, 2 seeds")
    parser.add_argument("--minutes", type=float, default=60.0, help="compute budget")
    parser.add_argument("--report-only", action="store_true", help="rewrite the results file")
    parser.add_argument("--candidates", action="store_true",
                        help="run the candidate actions of amendments 1-2 (not the systems)")
    parser.add_argument("--datasets", default=",".join(SELECTION),
                        help="with --candidates: comma-separated data sets")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="with --candidates: comma-separated models")
    parser.add_argument("--all-sizes", action="store_true",
                        help="with --candidates: beyond the middle size")
    args = parser.parse_args()
    if args.candidates:
        run_candidates(args.minutes, tuple(args.datasets.split(",")),
                       tuple(args.models.split(",")), not args.all_sizes)
        args.report_only = True
    if args.quick:
        X, y = load("digits")
        cell = Cell("digits", "lr", "class", 0.12, 250)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs = pd.DataFrame([one_run(cell, X, y, s) for s in (0, 1)]).assign(seconds=0.0)
        print(report(runs, "benchmarks/efficacy_grid.py --quick"))
        return
    if not args.report_only:
        run_grid(args.minutes)
    runs = pd.DataFrame(list(cached().values()))
    text = report(runs, "nice -n 10 .venv/bin/python benchmarks/efficacy_grid.py")
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
