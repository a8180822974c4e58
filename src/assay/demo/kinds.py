"""``assay demo --task regression|multilabel``: the lifecycle on other kinds of label.

The digits demo (:mod:`assay.demo.story`) tells the story of single-label
classification. This module runs the same chapters for a regression dataset
(:mod:`assay.demo.regression`, scikit-learn's diabetes data) and for a multi-label
dataset (:mod:`assay.demo.multilabel`, scikit-learn's digits with tags that describe
each digit). Both use the workflows and engines that the CLI uses, and the demo plays
the oracle: it knows the true labels, which assay never sees.

The helpers here are shared by both kinds: the run (workspace, marker, report), the
scoring of flags against planted errors, the oracle review, the before/after
comparison with the task's metric and paired test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from sklearn.metrics import average_precision_score

from assay.demo.story import DEMO_MARKER, DemoResult, _exists, _remove_old_demo
from assay.exceptions import InputError
from assay.report.build import write_report
from assay.store.experiments import Experiment, ExperimentStore
from assay.store.workspace import Workspace

__all__ = [
    "KINDS",
    "audit_scores",
    "check_task",
    "default_path",
    "compare_versions",
    "decide_with_oracle",
    "headline_text",
    "oracle_decide",
    "queue_lowest",
    "review_turns",
    "run_kind_demo",
    "run_task_demo",
    "wrap",
]

#: The kinds ``assay demo --task`` knows, and the module that tells each story.
KINDS = {"regression": "assay.demo.regression", "multilabel": "assay.demo.multilabel",
         "detection": "assay.demo.detection",
         "speech": "assay.demo.speech"}

Chapter = Callable[[Workspace, Console, DemoResult], None]


def wrap(console: Console, text: str, first: str = "", indent: int = 8) -> None:
    """Print ``text`` wrapped at 80 columns; ``first`` (e.g. ``[bold]Data[/bold]``)
    starts the first line, the others are indented by ``indent`` spaces."""
    import textwrap

    plain = len(Console().render_str(first).plain) if first else 0
    lines = textwrap.wrap(text, width=80, initial_indent=" " * (plain + 2 if first else indent),
                          subsequent_indent=" " * indent, break_on_hyphens=False)
    if first and lines:
        lines[0] = first + "  " + lines[0].lstrip()
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def audit_scores(quality: np.ndarray, flagged: np.ndarray, wrong: np.ndarray) -> dict[str, Any]:
    """How well an audit found the planted errors.

    Parameters
    ----------
    quality : ndarray of shape (n,)
        Label quality per item (lower = more suspicious).
    flagged : ndarray of bool, shape (n,)
        The audit's ``is_label_issue``.
    wrong : ndarray of bool, shape (n,)
        Which labels were planted wrong.

    Returns
    -------
    dict
        ``flagged``, ``wrong``, ``precision``, ``recall``, ``auprc`` (average
        precision of the ranking by ``-quality``) and ``base_rate`` (the AUPRC of a
        random ranking).
    """
    flagged, wrong = np.asarray(flagged, dtype=bool), np.asarray(wrong, dtype=bool)
    hits = int((flagged & wrong).sum())
    return {
        "flagged": int(flagged.sum()),
        "wrong": int(wrong.sum()),
        "precision": hits / int(flagged.sum()) if flagged.any() else 0.0,
        "recall": hits / int(wrong.sum()) if wrong.any() else 0.0,
        "auprc": float(average_precision_score(wrong, -np.asarray(quality, dtype=float))),
        "base_rate": float(wrong.mean()),
    }


def decide_with_oracle(
    ws: Workspace,
    entries: pd.DataFrame,
    fix: Callable[[Any], Any],
    *,
    keep_note: str,
    relabel_note: str,
) -> dict[str, int]:
    """Decide review ``entries`` as an oracle: relabel each entry to ``fix(entry)``, or
    keep it where ``fix`` returns ``None`` (the given label is right).

    Parameters
    ----------
    entries : DataFrame
        Review entries, as ``ws.review.list`` returns them.
    fix : callable
        ``fix(entry)`` (a row of ``entries``): the right label, or ``None`` to keep.

    Returns
    -------
    dict
        ``{"relabel": ..., "keep": ...}`` counts.
    """
    done = {"relabel": 0, "keep": 0}
    for entry in entries.itertuples(index=False):
        label = fix(entry)
        if label is None:
            ws.review.decide(int(str(entry.id)), "keep", user="reviewer", note=keep_note)
            done["keep"] += 1
        else:
            ws.review.decide(int(str(entry.id)), "relabel", label=label, user="reviewer",
                             note=relabel_note)
            done["relabel"] += 1
    return done


def oracle_decide(
    ws: Workspace, dataset: str, truth: pd.Series, *, n: int, same: Callable[[Any, Any], bool]
) -> dict[str, int]:
    """Decide the ``n`` most suspicious open label-issue entries of ``dataset`` with
    the truth: relabel to the true label when the given one is wrong, keep otherwise.

    Parameters
    ----------
    truth : Series
        The true label per item id (as ``int``).
    same : callable
        ``same(given, true)``: whether a given label counts as right.
    """

    def fix(entry: Any) -> Any:
        true = truth.loc[int(str(entry.item_id))]
        if same(entry.given_label, true):
            return None
        return list(true) if isinstance(true, tuple) else float(true)

    entries = ws.review.list(dataset, source="label_issue", status="open", limit=n)
    return decide_with_oracle(ws, entries, fix, keep_note="checked: the label is right",
                              relabel_note="checked: the given label is wrong")


def queue_lowest(ws: Workspace, run: Any, n: int) -> int:
    """Enter the ``n`` lowest-quality labels of an audit that it did not flag into the
    review queue (source ``label_issue``): a reviewer's budget spent down the ranking.

    Parameters
    ----------
    run : assay.workflows.audit.AuditRun
        An audit with the label check.
    """
    issues = run.report.issues
    quality = issues["label_quality"].to_numpy(dtype=float)
    flagged = issues["is_label_issue"].to_numpy(dtype=bool)
    order = [r for r in np.argsort(quality, kind="stable") if not flagged[r]][:n]
    entries = pd.DataFrame({
        "item_id": run.item_ids[order],
        "reason": "low label quality (below the audit's cut)",
        "score": quality[order],
        "given_label": issues["given_label"].iloc[order].to_numpy(),
        "suggested_label": issues["suggested_label"].iloc[order].to_numpy(),
    })
    return int(ws.review.add(run.version.name, entries, source="label_issue"))


def review_turns(
    ws: Workspace, dataset: str, truth: pd.Series, *, same: Callable[[Any, Any], bool],
    recipe: str, budget: int,
) -> list[dict[str, Any]]:
    """Two review turns, each applied as a new version of ``dataset``.

    Turn 1 decides what the audit queued (its flags). Turn 2 re-audits the new
    version, queues its flags and spends the rest of ``budget`` on the lowest-quality
    labels below the cut (:func:`queue_lowest`), and decides them.

    Returns
    -------
    list of dict
        Per turn: ``queued``, ``flagged``, ``relabel``, ``keep``, ``version``.
    """
    from assay.workflows.audit import record_audit, run_audit

    turns = []
    for turn in range(2):
        flagged = len(ws.review.list(dataset, source="label_issue", status="open"))
        extra = 0
        if turn:
            run = run_audit(ws, dataset, recipe=recipe, checks=["label"], seed=0, n_jobs=1)
            flagged = int(sum(record_audit(ws, run, queue=True).queued.values()))
            extra = queue_lowest(ws, run, max(budget - flagged, 0))
        decided = oracle_decide(ws, dataset, truth, n=flagged + extra, same=same)
        if not decided["relabel"] + decided["keep"]:
            break
        version = ws.review.apply(dataset, user="reviewer",
                                  message=f"review turn {turn + 1}: the reviewer's decisions")
        turns.append({"flagged": flagged, "extra": extra, **decided, "version": version.ref})
    return turns


def headline_text(exp: Experiment) -> str:
    """``mae 41.2 [37.9, 44.8]`` of an experiment's headline metric."""
    head = exp.headline
    low, high = head.interval.get("low"), head.interval.get("high")
    band = f" [{number(low)}, {number(high)}]" if low is not None and high is not None else ""
    return f"{head.metric} {number(head.value)}{band}"


def number(value: float) -> str:
    """``43.9`` for a value of 10 or more, ``0.912`` below."""
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def compare_versions(
    ws: Workspace, store: ExperimentStore, before: str, after: str, recipe: str, eval_set: str
) -> tuple[Experiment, Experiment, Any]:
    """Train ``recipe`` on two versions, evaluate on ``eval_set``, compare them paired."""
    first = store.run(before, recipe=recipe, eval_set=eval_set)
    second = store.run(after, recipe=recipe, eval_set=eval_set)
    return first, second, store.compare(first.id, second.id)


def check_task(task: str) -> None:
    """Refuse a kind of label the demo does not tell (one line, before any work)."""
    if task != "classification" and task not in KINDS:
        raise InputError(
            f"the demo has no task {task!r}; choose classification, "
            + ", ".join(KINDS) + "."
        )


def default_path(task: str) -> Path:
    """``assay-demo`` for the digits demo, ``assay-demo-TASK`` for the others."""
    check_task(task)
    return Path("assay-demo" if task == "classification" else f"assay-demo-{task}")


def run_task_demo(task: str, path: str | Path, console: Console) -> DemoResult:
    """The demo of ``task``: the digits story (:func:`assay.demo.run_demo`) for
    classification, :func:`run_kind_demo` for the other kinds."""
    check_task(task)
    if task == "classification":
        from assay.demo.story import run_demo

        return run_demo(path, console)
    return run_kind_demo(task, path, console)


def _chapters(kind: str) -> list[Chapter]:
    check_task(kind)
    return list(importlib.import_module(KINDS[kind]).CHAPTERS)


def run_kind_demo(kind: str, path: str | Path, console: Console) -> DemoResult:
    """Build the demo workspace of ``kind`` at ``path`` and write its report.

    Parameters
    ----------
    kind : {"regression", "multilabel"}
    path : path
        The workspace folder; an old demo there is replaced, any other workspace is
        left alone (:class:`~assay.exceptions.InputError`).
    console : rich.console.Console
        Where the story is told.
    """
    chapters = _chapters(kind)
    root = Path(path).resolve()
    if _exists(root / ".assay"):
        _remove_old_demo(root)
    ws = Workspace.init(root)
    (root / ".assay" / DEMO_MARKER).write_text("made by `assay demo`; it may replace it\n")
    result = DemoResult(workspace=root, report=root / "report.html")
    try:
        for chapter in chapters:
            chapter(ws, console, result)
        result.next_steps += [
            f"assay user add me --role admin -w {ws.location}   # then:",
            f"assay ui {ws.location}                           # review in the browser",
        ]
        write_report(ws, result.report)
    finally:
        ws.close()
    return result
