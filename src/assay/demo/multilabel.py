"""``assay demo --task multilabel``: scikit-learn's digits with tags that describe them.

The data: the 1,797 real 8x8 handwritten digits of scikit-learn (no download). Each
image gets the set of tags that describe its digit, a multi-label task on real images
(every digit has a different, non-empty set of one to four tags):

======  =====================================================================
tag     digits
======  =====================================================================
even    0, 2, 4, 6, 8
prime   2, 3, 5, 7
loop    0, 6, 8, 9: a closed loop in the usual handwriting (4 is left out: it is
        as often drawn open as closed)
large   5, 6, 7, 8, 9 (the digit is 5 or more)
stroke  1, 4, 7: drawn with straight strokes only
cube    0, 1, 8: a perfect cube (tells 8 from 6)
======  =====================================================================

The story, one chapter per phase:

- **Data**: 70% of the images are imported as collected, with 12% of the tag sets
  wrong (seeded): a tag dropped, a tag added, or both. The other 30% are a frozen
  test set with the true tags.
- **Collect**: three taggers on 300 images, each with a blind spot: ``ann`` is
  careful, ``ben`` forgets the ``prime`` tag 80% of the time, ``cy`` drops and adds
  tags and forgets ``loop`` 60% of the time. Agreement
  (Krippendorff's alpha with the MASI distance, per-label alpha, omissions) and
  consensus (Dawid-Skene per label vs majority per label) against the truth.
- **Train**: the audit with the recipe, two nearest neighbours weighted by distance
  (per-label confident learning and a set-level score), scored against the planted
  errors. The neighbours copy their tags, so every wrong tag set costs the model.
- **Iterate**: two oracle review turns (v2, v3); the fixed recipe trained on each
  version and compared on the test set (micro F1, paired bootstrap; McNemar per
  label, Holm-adjusted).
- **Deploy**: a monitor with per-label CBPE; a window like the test set, then images
  from a new scanner (blur and sensor noise) with more 1s and 7s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from assay.demo.data import PIXELS, digits_frame
from assay.demo.kinds import audit_scores, headline_text, review_turns, wrap
from assay.store.experiments import ExperimentStore
from assay.store.workspace import Workspace
from assay.train.recipe import Recipe

__all__ = ["CHAPTERS", "TAGS", "plant_tag_errors", "tag_sets"]

NAME, TEST = "digit-tags", "digit-tags-test"
NOISE_RATE = 0.12
BUDGET = 80
RECIPE = "knn"
RECIPE_YAML = """\
name: knn
estimator: sklearn.neighbors.KNeighborsClassifier
params: {n_neighbors: 2, weights: distance}
seed: 0
"""
#: The tags of each digit (see the module's table).
TAGS: dict[str, frozenset[int]] = {
    "even": frozenset({0, 2, 4, 6, 8}),
    "prime": frozenset({2, 3, 5, 7}),
    "loop": frozenset({0, 6, 8, 9}),
    "large": frozenset({5, 6, 7, 8, 9}),
    "stroke": frozenset({1, 4, 7}),
    "cube": frozenset({0, 1, 8}),
}
NAMES = sorted(TAGS)
#: Taggers of the collect chapter: (drop rate per true tag, add rate per other tag,
#: a tag they forget and how often).
TAGGERS = {"ann": (0.05, 0.02, None, 0.0), "ben": (0.05, 0.02, "prime", 0.8),
           "cy": (0.2, 0.1, "loop", 0.6)}


def tag_sets(digits: np.ndarray) -> list[tuple[str, ...]]:
    """The sorted tag set of each digit."""
    return [tuple(n for n in NAMES if int(d) in TAGS[n]) for d in digits]


def plant_tag_errors(
    sets: list[tuple[str, ...]], *, rate: float, seed: int
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Make ``rate`` of the tag sets wrong: a tag dropped, a tag added, or both (a set
    of one tag is never emptied: it gets a tag added instead).

    Returns
    -------
    noisy : list of tuple of str
    wrong : ndarray of bool, shape (n,)
    """
    rng = np.random.default_rng(seed)
    noisy = [set(s) for s in sets]
    for row in rng.choice(len(sets), int(round(rate * len(sets))), replace=False):
        op, tags = int(rng.integers(3)), noisy[row]
        if op == 0 and len(tags) == 1:
            op = 1
        if op != 1:
            tags.discard(str(rng.choice(sorted(tags))))
        absent = [n for n in NAMES if n not in tags and n not in sets[row]]
        if op != 0 and absent:
            tags.add(str(rng.choice(absent)))
    out = [tuple(sorted(s)) for s in noisy]
    return out, np.array([a != b for a, b in zip(out, sets, strict=True)])


def chapter_data(ws: Workspace, console: Console, result: Any) -> None:
    """Import the training images with planted tag errors, and a clean test set."""
    frame = digits_frame()
    frame.insert(0, "item_id", np.arange(len(frame)))
    frame["tags"] = [list(s) for s in tag_sets(frame["label"].to_numpy())]
    train = frame[frame["split"] == "train"]
    test = frame[frame["split"] == "test"]
    truth = [tuple(s) for s in train["tags"]]
    noisy, wrong = plant_tag_errors(truth, rate=NOISE_RATE, seed=0)
    result.truth = pd.Series(truth, index=train["item_id"].to_numpy(), dtype=object)
    result.wrong = pd.Series(wrong, index=train["item_id"].to_numpy())
    columns = ["item_id", *PIXELS, "ink", "width", "tags"]
    version = ws.import_dataset(
        NAME, train[columns].assign(tags=pd.Series([list(s) for s in noisy], index=train.index)),
        label="tags",
        id="item_id", tags=["ink", "width"], task="multilabel",
        message=f"import the tagged digits as collected ({wrong.mean():.0%} tag sets wrong)",
    )
    ws.import_dataset(TEST, test[columns], label="tags", id="item_id",
                      tags=["ink", "width"], task="multilabel",
                      message="frozen evaluation set: held-out digits, true tags")
    ws.recipes.add(RECIPE, Recipe.from_yaml(RECIPE_YAML))
    wrap(console,
         f"{version.ref}: {version.n_rows} images x 64 pixels (scikit-learn's digits), "
         f"labels: the set of tags describing the digit ({', '.join(NAMES)}; multi-label). "
         f"{int(wrong.sum())} tag sets ({wrong.mean():.0%}) are wrong: a tag dropped, added "
         f"or both. {TEST}@v1: {len(test)} held-out images with true tags, the frozen "
         "evaluation set.", "[bold]Data[/bold]")
    result.facts["data"] = {"ref": version.ref, "rows": version.n_rows, "task": "multilabel",
                            "tags": NAMES, "label_errors": int(wrong.sum()),
                            "test_rows": len(test)}
    result.next_steps += [f"assay log {NAME} -w {ws.location}",
                          f"assay show {NAME}@v1 -w {ws.location}"]


def _tagging(truth: pd.Series, seed: int) -> pd.DataFrame:
    """Each tagger's set per item: true tags dropped, other tags added, at their rates."""
    rng = np.random.default_rng(seed)
    rows = []
    for tagger, (drop, add, forgets, forget_rate) in TAGGERS.items():
        for item, true in truth.items():
            tags = {t for t in true if rng.random() >= drop}
            tags |= {t for t in NAMES if t not in true and rng.random() < add}
            if forgets in tags and rng.random() < forget_rate:
                tags.discard(forgets)
            rows.append((item, tagger, sorted(tags)))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _set_errors(labels: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Hamming loss and exact-set accuracy of consensus ``labels`` against ``truth``."""
    true = truth.loc[labels.index.astype(int)]
    wrong_tags = [len(set(a) ^ set(b)) for a, b in zip(labels, true, strict=True)]
    return {"hamming": float(np.sum(wrong_tags) / (len(labels) * len(NAMES))),
            "exact": float(np.mean(np.asarray(wrong_tags) == 0))}


def chapter_collect(ws: Workspace, console: Console, result: Any) -> None:
    """Three taggers on 300 images: MASI agreement, per-label consensus vs the truth."""
    from assay.workflows.agreement import AgreementSource, measure_agreement
    from assay.workflows.consensus import run_consensus

    sample = result.truth.sample(300, random_state=1)
    tagging = _tagging(sample, seed=1)
    ws.annotations.add(NAME, tagging)
    outcome = measure_agreement(AgreementSource(tagging, ws, NAME),
                                report=result.workspace / "agreement.html",
                                title="Agreement of the taggers")
    rep = outcome.report
    worst = outcome.revise.iloc[0]
    label = str(outcome.revise.index[0])
    errors = {m: _set_errors(run_consensus(ws, NAME, method=m).labels["label"], sample)
              for m in ("dawid_skene", "majority")}
    ds, maj = errors["dawid_skene"], errors["majority"]
    wrap(console,
         f"three taggers on 300 images: Krippendorff's alpha (MASI) "
         f"{rep.krippendorff_alpha:.3f}, identical sets in {rep.exact_agreement:.0%} of "
         f"pairs; the label to revise first is {label} (alpha {worst['alpha']:.2f}, "
         f"omitted in {worst['omission_rate']:.0%} of the pairs where one gave it). "
         f"Consensus against the truth: Dawid-Skene per label Hamming loss "
         f"{ds['hamming']:.3f} ({ds['exact']:.0%} exact sets), majority per label "
         f"{maj['hamming']:.3f} ({maj['exact']:.0%}).", "[bold]Collect[/bold]")
    result.facts["collect"] = {"alpha": rep.krippendorff_alpha, "revise": label,
                               "consensus": errors}
    result.next_steps += [f"assay agree {NAME} -w {ws.location}",
                          f"assay consensus {NAME} -w {ws.location}"]


def chapter_audit(ws: Workspace, console: Console, result: Any) -> None:
    """Audit v1 with the recipe; score the flags against the planted errors."""
    from assay.workflows.audit import record_audit, run_audit

    run = run_audit(ws, f"{NAME}@v1", recipe=RECIPE, checks=["label"], seed=0, n_jobs=1)
    record = record_audit(ws, run, queue=True)
    issues = run.report.issues
    wrong = result.wrong.loc[run.item_ids.astype(int)].to_numpy()
    score = audit_scores(issues["label_quality"].to_numpy(),
                         issues["is_label_issue"].to_numpy(dtype=bool), wrong)
    queued = sum(record.queued.values())
    wrap(console,
         f"audit of {NAME}@v1 with recipe {RECIPE} (per-label confident learning on "
         f"out-of-sample probabilities): {score['flagged']} tag sets flagged; against the "
         f"{score['wrong']} planted errors precision {score['precision']:.2f}, recall "
         f"{score['recall']:.2f}; the ranking's AUPRC {score['auprc']:.2f} (random: "
         f"{score['base_rate']:.2f}). {queued} items entered the review queue.",
         "[bold]Train[/bold]")
    result.facts["audit"] = {**score, "queued": queued, "analysis": record.analysis}
    result.next_steps.append(
        f"assay review list {NAME} --source label_issue --status applied -w {ws.location}")


def _same(given: Any, true: Any) -> bool:
    return sorted(given if given is not None else []) == sorted(true)


def chapter_iterate(ws: Workspace, console: Console, result: Any) -> None:
    """Two review turns make v2 and v3; the fixed recipe compared on the test set."""
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
                "lowest-quality tag sets")
        wrap(console, f"{prev.data} -> {exp.data}: the reviewer checked {what} "
             f"({turn['relabel']} set to the true tags, {turn['keep']} kept); "
             f"{exp.id} {headline_text(exp)}, {head['delta']:+.3f} "
             f"[{head['low']:+.3f}, {head['high']:+.3f}], p={paired.p_value:.2g}.")
        experiments.append(exp)
        prev = exp
    facts: dict[str, Any] = {"experiments": [e.id for e in experiments],
                             "relabeled": [t["relabel"] for t in turns],
                             "kept": [t["keep"] for t in turns]}
    if len(experiments) > 1:
        paired = store.compare(first.id, prev.id).comparison
        head = paired.metrics[paired.headline]
        left = int(result.wrong.sum()) - sum(t["relabel"] for t in turns)
        changed = paired.per_group
        labels = _significant_labels(changed)
        wrap(console, f"{first.id} -> {prev.id} ({left} planted errors left): "
             f"{paired.headline} {head['a']:.3f} -> {head['b']:.3f}, {head['delta']:+.3f} "
             f"[{head['low']:+.3f}, {head['high']:+.3f}], {paired.test} "
             f"p={paired.p_value:.2g} "
             f"({'significant' if paired.significant else 'not significant'}); McNemar "
             f"per label (Holm): {labels}.")
        facts.update(metric=paired.headline, before=head["a"], after=head["b"],
                     p_value=paired.p_value, test=paired.test, errors_left=left)
        result.next_steps.append(f"assay compare {first.id} {prev.id} -w {ws.location}")
    result.facts["iterate"] = facts
    result.next_steps.append(f"assay experiments {NAME} -w {ws.location}")


def _significant_labels(per_label: pd.DataFrame) -> str:
    """``even, loop changed`` or ``no label changed significantly`` (Holm-adjusted
    McNemar per label)."""
    if per_label.empty or "p_holm" not in per_label.columns:
        return "not available"
    names = per_label.loc[per_label["p_holm"] < 0.05, "label"].astype(str).tolist()
    return ", ".join(names) + " changed" if names else "no label changed significantly"


def _shifted(test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The test images from a new scanner (blur, sensor noise), twice as many 1s and 7s
    (the images tagged ``stroke`` but not ``even``)."""
    from assay.demo.deploy import degrade

    sets = test["tags"].map(set)
    ones = test[((sets.map(lambda s: "stroke" in s)) & ~sets.map(lambda s: "even" in s))
                .to_numpy()]
    mixed = pd.concat([test, ones]).sample(frac=1.0, random_state=seed)
    return degrade(mixed.reset_index(drop=True), blur=0.6, noise=1.0, seed=seed)


def chapter_deploy(ws: Workspace, console: Console, result: Any) -> None:
    """Monitor the latest version: a window like the test set, then a new scanner."""
    from assay.workflows.monitor import add_monitor, ingest_frame

    reference = ws.dataset(NAME)
    add_monitor(ws, f"{NAME}-prod", reference.ref, recipe=RECIPE)
    test = ws.dataset(TEST).to_pandas()
    windows = [("window 1 (the held-out images)", test),
               ("window 2 (new scanner, more 1s and 7s)", _shifted(test, 3))]
    rows: list[dict[str, Any]] = []
    for source, batch in windows:
        window = ingest_frame(ws, f"{NAME}-prod", batch.drop(columns=["item_id"]),
                              source=source).window
        perf = window.get("performance") or {}
        est = perf.get("estimated") or {}
        real = perf.get("realised") or {}
        rows.append({"window": source, "rows": len(batch),
                     "estimated_micro_f1": est.get("estimated_micro_f1"),
                     "realised_micro_f1": real.get("micro_f1"),
                     "alerts": list(window["alerts"])})
    text = (f"monitor {NAME}-prod (reference {reference.ref}): micro F1 estimated without "
            "labels (per-label CBPE) vs realised when the tags arrive: ") + "; ".join(
        f"{r['window']}, {r['rows']} rows: estimated {_num(r['estimated_micro_f1'])}, "
        f"realised {_num(r['realised_micro_f1'])}, {len(r['alerts'])} alert(s)" for r in rows)
    wrap(console, text + ".", "[bold]Deploy[/bold]")
    for alert in rows[-1]["alerts"]:
        wrap(console, str(alert), "  [red]ALERT[/red]", indent=8)
    result.facts["deploy"] = {"windows": rows}
    result.next_steps.append(f"assay monitor status -w {ws.location}")


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


CHAPTERS = [chapter_data, chapter_collect, chapter_audit, chapter_iterate, chapter_deploy]
