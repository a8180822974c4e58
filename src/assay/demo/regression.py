"""``assay demo --task regression``: scikit-learn's diabetes data, the whole loop.

The data: 442 real patients (age, sex, BMI, blood pressure, six blood serum
measurements; scikit-learn's diabetes data in original units, no download) and the
label, a measure of disease progression one year after baseline (25-346).

The story, one chapter per phase:

- **Data**: 70% of the patients are imported as collected, with 12% of the labels
  wrong in two plausible ways (seeded): half are another patient's value (a record
  mix-up), half are off by 1-3 standard deviations (a transcription slip). The other
  30% are a frozen test set with the true labels.
- **Collect**: three raters re-assess 150 patients: ``ann`` is careful, ``ben`` reads
  20 points high, ``cy`` compresses the scale (x0.85) and is noisy. Agreement
  (interval alpha, ICC, Bland-Altman) finds the offsets; consensus by EM (per-rater
  bias and noise) is compared with the mean and the median against the truth.
- **Train**: the audit with a ridge regression ranks every label; the demo scores the
  flags against the planted errors (precision, recall, AUPRC).
- **Iterate**: the reviewer (the demo, with the truth) decides the queued items;
  applying them makes v2. The recipe, held fixed, is trained on v1 and v2 and
  compared on the frozen test set with the paired bootstrap on absolute errors.
- **Deploy**: a monitor on v2; two production windows (patients as in the test set,
  then only high-BMI patients); MAE estimated without labels (direct loss estimation)
  beside the realised MAE when the outcomes arrive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from sklearn.datasets import load_diabetes

from assay.demo.kinds import audit_scores, headline_text, review_turns, wrap
from assay.store.experiments import ExperimentStore
from assay.store.workspace import Workspace
from assay.train.recipe import Recipe

__all__ = ["CHAPTERS", "diabetes_frame", "plant_errors"]

NAME, TEST = "diabetes", "diabetes-test"
NOISE_RATE = 0.12
RECIPE = "ridge"
#: Labels the reviewer checks in all (the audit's flags first, then down its ranking).
BUDGET = 40
RECIPE_YAML = """\
name: ridge
featurizer: standard_scaler
estimator: sklearn.linear_model.Ridge
params: {alpha: 1.0}
seed: 0
"""
#: Raters of the collect chapter: (offset, scale, noise sd) around the true value.
RATERS = {"ann": (0.0, 1.0, 8.0), "ben": (20.0, 1.0, 15.0), "cy": (15.0, 0.85, 30.0)}
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def diabetes_frame(seed: int = 0) -> pd.DataFrame:
    """The 442 patients: ``item_id``, ten features, ``target``, tags and ``split``.

    Tags are real properties of each patient, for error analysis: ``age_band``
    (under 40, 40-59, 60 and over) and ``bmi_band`` (under 25, 25-30, 30 and over).
    """
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.frame.rename(columns={"target": "progression"})
    frame["progression"] = frame["progression"].astype(float)
    frame.insert(0, "item_id", np.arange(len(frame)))
    frame["age_band"] = pd.cut(frame["age"], [0, 40, 60, 200], right=False,
                               labels=["<40", "40-59", "60+"]).astype(str)
    frame["bmi_band"] = pd.cut(frame["bmi"], [0, 25, 30, 100], right=False,
                               labels=["<25", "25-30", "30+"]).astype(str)
    rng = np.random.default_rng(seed)
    frame["split"] = np.where(rng.random(len(frame)) < 0.3, "test", "train")
    return frame


def plant_errors(y: np.ndarray, *, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Make ``rate`` of the labels wrong, plausibly: half take another item's value (a
    mix-up), half move by 1-3 standard deviations (a slip), rounded and not below the
    lowest value observed.

    Returns
    -------
    noisy : ndarray of shape (n,)
    wrong : ndarray of bool, shape (n,)
    """
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), int(round(rate * len(y))), replace=False)
    noisy = np.asarray(y, dtype=float).copy()
    half = len(rows) // 2
    noisy[rows[:half]] = y[rng.integers(0, len(y), half)]
    sign = rng.choice([-1.0, 1.0], len(rows) - half)
    noisy[rows[half:]] += sign * rng.uniform(1, 3, len(rows) - half) * y.std()
    noisy = np.maximum(np.round(noisy), y.min())  # no progression below the lowest seen
    return noisy, noisy != y


def chapter_data(ws: Workspace, console: Console, result: Any) -> None:
    """Import the training patients with planted label errors, and a clean test set."""
    frame = diabetes_frame()
    train = frame[frame["split"] == "train"].drop(columns=["split"])
    test = frame[frame["split"] == "test"].drop(columns=["split"])
    noisy, wrong = plant_errors(train["progression"].to_numpy(), rate=NOISE_RATE, seed=0)
    result.truth = pd.Series(train["progression"].to_numpy(), index=train["item_id"])
    result.wrong = pd.Series(wrong, index=train["item_id"])
    version = ws.import_dataset(
        NAME, train.assign(progression=noisy), label="progression", id="item_id",
        tags=["age_band", "bmi_band"], task="regression",
        message=f"import the patients as collected ({wrong.mean():.0%} label errors)",
    )
    ws.import_dataset(TEST, test, label="progression", id="item_id",
                      tags=["age_band", "bmi_band"], task="regression",
                      message="frozen evaluation set: held-out patients, true labels")
    ws.recipes.add(RECIPE, Recipe.from_yaml(RECIPE_YAML))
    wrap(console,
         f"{version.ref}: {version.n_rows} patients x 10 measurements (scikit-learn's "
         f"diabetes data), label: disease progression after a year (regression). "
         f"{int(wrong.sum())} labels ({wrong.mean():.0%}) are wrong: half another "
         f"patient's value, half off by 1-3 SD. {TEST}@v1: {len(test)} held-out patients "
         "with true labels, the frozen evaluation set.", "[bold]Data[/bold]")
    result.facts["data"] = {"ref": version.ref, "rows": version.n_rows, "task": "regression",
                            "label_errors": int(wrong.sum()), "test_rows": len(test)}
    result.next_steps += [f"assay log {NAME} -w {ws.location}",
                          f"assay show {NAME}@v1 -w {ws.location}"]


def _ratings(truth: pd.Series, seed: int) -> pd.DataFrame:
    """Each rater's value per item: offset + scale x truth + noise, rounded."""
    rng = np.random.default_rng(seed)
    rows = []
    for rater, (offset, scale, sd) in RATERS.items():
        values = offset + scale * truth.to_numpy() + rng.normal(0.0, sd, len(truth))
        rows.append(pd.DataFrame({"item": truth.index.to_numpy(), "annotator": rater,
                                  "label": np.round(values)}))
    return pd.concat(rows, ignore_index=True)


def chapter_collect(ws: Workspace, console: Console, result: Any) -> None:
    """Three raters on 150 patients: agreement, then consensus against the truth."""
    from assay.workflows.agreement import AgreementSource, measure_agreement
    from assay.workflows.consensus import run_consensus

    sample = result.truth.sample(150, random_state=1)
    ratings = _ratings(sample, seed=1)
    ws.annotations.add(NAME, ratings)
    outcome = measure_agreement(AgreementSource(ratings, ws, NAME),
                                report=result.workspace / "agreement.html",
                                title="Agreement of the raters")
    rep = outcome.report
    icc = rep.icc["icc"]
    pair = rep.bland_altman.loc[rep.bland_altman["bias"].abs().idxmax()]
    errors = {}
    for method in ("em", "mean", "median"):
        labels = run_consensus(ws, NAME, method=method).labels["label"]
        true = sample.loc[labels.index.astype(int)].to_numpy()
        errors[method] = float(np.mean(np.abs(labels.to_numpy(dtype=float) - true)))
    worst = outcome.revise.iloc[0]
    biased = str(outcome.revise.index[0])
    text = (f"three raters on 150 patients: Krippendorff's alpha (interval) "
            f"{rep.krippendorff_alpha:.3f}")
    text += (f", ICC(2,1) {icc.get('ICC(2,1)', np.nan):.3f}, ICC(3,1) "
             f"{icc.get('ICC(3,1)', np.nan):.3f}; Bland-Altman: {pair['annotator_a']} vs "
             f"{pair['annotator_b']} bias {pair['bias']:+.1f} (limits {pair['lower']:.0f} to "
             f"{pair['upper']:.0f}); largest offset: {biased} "
             f"({worst['offset']:+.1f}). Consensus error against the truth (MAE): "
             f"EM {errors['em']:.1f}, mean {errors['mean']:.1f}, median "
             f"{errors['median']:.1f}.")
    wrap(console, text, "[bold]Collect[/bold]")
    result.facts["collect"] = {"alpha": rep.krippendorff_alpha,
                               "most_biased": biased,
                               "consensus_mae": errors}
    result.next_steps += [f"assay agree {NAME} -w {ws.location}",
                          f"assay consensus {NAME} -w {ws.location}"]


def chapter_audit(ws: Workspace, console: Console, result: Any) -> None:
    """Audit v1 with the ridge recipe; score the flags against the planted errors."""
    from assay.workflows.audit import record_audit, run_audit

    run = run_audit(ws, f"{NAME}@v1", recipe=RECIPE, checks=["label"], seed=0, n_jobs=1)
    record = record_audit(ws, run, queue=True)
    issues = run.report.issues
    wrong = result.wrong.loc[run.item_ids.astype(int)].to_numpy()
    score = audit_scores(issues["label_quality"].to_numpy(),
                         issues["is_label_issue"].to_numpy(dtype=bool), wrong)
    queued = sum(record.queued.values())
    wrap(console,
         f"audit of {NAME}@v1 with recipe {RECIPE} (residuals of out-of-sample "
         f"predictions and of neighbours): {score['flagged']} labels flagged; against the "
         f"{score['wrong']} planted errors precision {score['precision']:.2f}, recall "
         f"{score['recall']:.2f}; the ranking's AUPRC {score['auprc']:.2f} (random: "
         f"{score['base_rate']:.2f}). {queued} items entered the review queue.",
         "[bold]Train[/bold]")
    result.facts["audit"] = {**score, "queued": queued, "analysis": record.analysis}
    result.next_steps.append(
        f"assay review list {NAME} --source label_issue --status applied -w {ws.location}")


def _same(given: Any, true: Any) -> bool:
    return abs(float(given) - float(true)) < 0.5


def chapter_iterate(ws: Workspace, console: Console, result: Any) -> None:
    """Two review turns make v2 and v3; the fixed recipe is trained on each version and
    compared on the frozen test set (paired bootstrap on absolute errors)."""
    store = ExperimentStore(ws)
    first = store.run(f"{NAME}@v1", recipe=RECIPE, eval_set=TEST)
    turns = review_turns(ws, NAME, result.truth, same=_same, recipe=RECIPE, budget=BUDGET)
    wrap(console, f"recipe {RECIPE} held fixed, frozen {TEST}: {first.id} on {NAME}@v1 "
         f"{headline_text(first)}.", "[bold]Iterate[/bold]")
    experiments, prev = [first], first
    for turn in turns:
        exp = store.run(turn["version"], recipe=RECIPE, eval_set=TEST)
        paired: Any = store.compare(prev.id, exp.id).comparison
        head = paired.metrics[paired.headline]
        what = (f"the audit's {turn['flagged']} flags" if not turn["extra"] else
                f"a re-audit's {turn['flagged']} flags and the next {turn['extra']} "
                "lowest-quality labels")
        wrap(console, f"{prev.data} -> {exp.data}: the reviewer checked {what} "
             f"({turn['relabel']} relabeled to the true value, {turn['keep']} kept); "
             f"{exp.id} {headline_text(exp)}, {head['delta']:+.2f} "
             f"[{head['low']:+.2f}, {head['high']:+.2f}], p={paired.p_value:.2g}.")
        experiments.append(exp)
        prev = exp
    facts: dict[str, Any] = {"experiments": [e.id for e in experiments],
                             "relabeled": [t["relabel"] for t in turns],
                             "kept": [t["keep"] for t in turns]}
    if len(experiments) > 1:
        total = store.compare(first.id, prev.id)
        paired = total.comparison  # a PairedComparison (the task's test)
        head = paired.metrics[paired.headline]
        left = int(result.wrong.sum()) - sum(t["relabel"] for t in turns)
        wrap(console, f"{first.id} -> {prev.id} ({left} planted errors left): "
             f"{paired.headline} {head['a']:.1f} -> {head['b']:.1f}, {head['delta']:+.2f} "
             f"[{head['low']:+.2f}, {head['high']:+.2f}], {paired.test} "
             f"p={paired.p_value:.2g} "
             f"({'significant' if paired.significant else 'not significant'}).")
        facts.update(metric=paired.headline, before=head["a"], after=head["b"],
                     p_value=paired.p_value, test=paired.test, errors_left=left)
        result.next_steps.append(f"assay compare {first.id} {prev.id} -w {ws.location}")
    result.facts["iterate"] = facts
    result.next_steps.append(f"assay experiments {NAME} -w {ws.location}")


def chapter_deploy(ws: Workspace, console: Console, result: Any) -> None:
    """Monitor v2; a window like the test set, then one of high-BMI patients only."""
    from assay.workflows.monitor import add_monitor, ingest_frame

    reference = ws.dataset(NAME)
    add_monitor(ws, f"{NAME}-prod", reference.ref, recipe=RECIPE)
    test = ws.dataset(TEST).to_pandas()
    heavy = test["bmi"] > test["bmi"].median()
    windows = [("window 1 (the held-out patients)", test),
               ("window 2 (the heavier half, by BMI)", test[heavy])]
    rows: list[dict[str, Any]] = []
    for source, batch in windows:
        window = ingest_frame(ws, f"{NAME}-prod", batch.drop(columns=["item_id"]),
                              source=source).window
        perf = window.get("performance") or {}
        est = perf.get("estimated") or {}
        real = perf.get("realised") or {}
        rows.append({"window": source, "rows": len(batch),
                     "estimated_mae": est.get("estimated_mae"),
                     "realised_mae": real.get("mae"), "alerts": list(window["alerts"])})
    text = f"monitor {NAME}-prod (reference {reference.ref}): MAE estimated without " \
           "labels (DLE) vs realised when the outcomes arrive: " + "; ".join(
               f"{r['window']}, {r['rows']} rows: estimated {_num(r['estimated_mae'])}, "
               f"realised {_num(r['realised_mae'])}, {len(r['alerts'])} alert(s)" for r in rows)
    wrap(console, text + ".", "[bold]Deploy[/bold]")
    for alert in rows[-1]["alerts"]:
        wrap(console, str(alert), "  [red]ALERT[/red]", indent=8)
    result.facts["deploy"] = {"windows": rows}
    result.next_steps.append(f"assay monitor status -w {ws.location}")


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


CHAPTERS = [chapter_data, chapter_collect, chapter_audit, chapter_iterate, chapter_deploy]
