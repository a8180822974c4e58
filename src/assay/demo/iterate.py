"""Demo chapter: the data iteration loop, v1 -> v2 -> v3 with the recipe held fixed.

E1 trains the fixed recipe on ``digits@v1`` (12% known label errors) and measures it on
the frozen ``digits-test``. A reviewer (the demo plays an oracle with the true labels,
which assay never sees) decides the most suspicious label-issue entries of the review
queue that the audit filled: relabel when the given label is wrong, keep otherwise.
Applying the decisions makes ``digits@v2``; E2 measures it. A second review turn on the
next entries of the queue makes ``digits@v3`` and E3. E1 and E3 are compared item by
item (McNemar, paired bootstrap), next to the data diff that explains the change.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console

from assay.demo.kinds import decide_with_oracle
from assay.demo.recipes import ensure_recipe
from assay.store.experiments import Experiment, ExperimentStore
from assay.store.workspace import Workspace

__all__ = ["CHAPTERS", "oracle_review"]

EVAL_SET = "digits-test"
#: Queue entries the reviewer decides per turn (lowest label quality first).
BATCH = 60


def _audit_and_queue(ws: Workspace, recipe: str) -> int:
    """Audit the latest ``digits`` with the recipe (label check); queue the suspects."""
    from assay.workflows.audit import record_audit, run_audit

    run = run_audit(ws, "digits", recipe=recipe, checks=["label"], n_jobs=1)
    return int(sum(record_audit(ws, run, queue=True).queued.values()))


def oracle_review(ws: Workspace, truth: pd.Series, *, n: int) -> dict[str, int]:
    """Decide the ``n`` most suspicious open label-issue entries of ``digits`` like an oracle.

    Parameters
    ----------
    ws : Workspace
    truth : Series
        The true label of each item, indexed by item id.
    n : int
        How many entries to decide.

    Returns
    -------
    dict
        ``{"relabel": ..., "keep": ...}`` counts.
    """
    entries = ws.review.list("digits", source="label_issue", status="open", limit=n)

    def fix(entry: Any) -> int | None:
        true = int(truth.loc[int(str(entry.item_id))])
        return true if entry.given_label != true else None

    return decide_with_oracle(ws, entries, fix,
                              keep_note="checked the image: the label is right",
                              relabel_note="checked the image: the given label is wrong")


def _turn(
    ws: Workspace, store: ExperimentStore, truth: pd.Series, recipe: str, audit: bool
) -> tuple[dict[str, int], Experiment]:
    """One turn: (re-)audit, decide a batch, apply it as a version, train and evaluate."""
    queued = _audit_and_queue(ws, recipe) if audit else 0
    decided = oracle_review(ws, truth, n=BATCH)
    decided["queued"] = queued
    version = ws.review.apply("digits", user="reviewer")
    return decided, store.run(version.ref, recipe=recipe, eval_set=EVAL_SET)


def _changes(diff: Any) -> str:
    """``117 relabeled`` from a DatasetDiff (non-zero counts only)."""
    if diff is None:
        return "another dataset"
    counts = [f"{v} {k}" for k, v in diff.counts.items() if v]
    return f"{diff.a} -> {diff.b}: " + (", ".join(counts) or "no item changed")


def _acc(exp: Experiment) -> str:
    a = exp.accuracy
    return f"{a['value']:.3f} [{a['low']:.3f}, {a['high']:.3f}]"


def chapter_iterate(ws: Workspace, console: Console, result) -> None:  # type: ignore[no-untyped-def]
    """E1 on v1; two review turns make v2 and v3 (E2, E3); compare E1 with E3."""
    recipe = ensure_recipe(ws)
    store = ExperimentStore(ws)
    first = store.run("digits@v1", recipe=recipe, eval_set=EVAL_SET)
    turns: list[tuple[dict[str, int], Experiment]] = []
    for turn in range(2):
        # turn 1 reviews what the train chapter's audit queued (auditing only if it did
        # not run); turn 2 re-audits the cleaner version first, as `assay loop` does
        empty = not len(ws.review.list("digits", source="label_issue", limit=1))
        turns.append(_turn(ws, store, result.truth, recipe, audit=turn > 0 or empty))
    console.print(
        f"[bold]Iterate[/bold]  recipe {recipe} held fixed, frozen eval set {EVAL_SET}: "
        f"{first.id} on {first.data} accuracy {_acc(first)}."
    )
    prev = first
    for decided, exp in turns:
        step = store.compare(prev.id, exp.id)
        c = step.comparison
        console.print(
            f"        {prev.data} -> {exp.data}: "
            + (
                f"audit of {prev.data} queued {decided['queued']} new suspects; "
                if decided["queued"]
                else ""
            )
            + f"reviewer decided the {decided['relabel'] + decided['keep']} most suspicious "
            f"labels ({decided['relabel']} relabeled, {decided['keep']} kept); "
            f"{exp.id} accuracy {_acc(exp)}, {c.accuracy_delta:+.3f}, McNemar p={c.p_value:.2g}."
        )
        prev = exp
    facts: dict[str, Any] = {"experiments": [first.id] + [e.id for _, e in turns]}
    if turns:
        total = store.compare(first.id, prev.id)
        m = total.comparison.metrics["accuracy"]
        console.print(
            f"        {first.id} -> {prev.id} ({_changes(total.diff)}): "
            f"accuracy {m['delta']:+.3f} [{m['low']:+.3f}, {m['high']:+.3f}], McNemar "
            f"p={total.comparison.p_value:.2g} "
            f"({'significant' if total.comparison.significant else 'not significant'})."
        )
        facts.update(
            accuracy=[first.accuracy["value"]] + [e.accuracy["value"] for _, e in turns],
            p_value=total.comparison.p_value,
            relabeled=[d["relabel"] for d, _ in turns],
        )
        result.next_steps.append(f"assay compare {first.id} {prev.id} -w {ws.location}")
    result.facts["iterate"] = facts
    result.next_steps.append(f"assay experiments digits -w {ws.location}")


CHAPTERS = [chapter_iterate]
