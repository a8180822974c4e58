"""One turn of the data iteration loop on a dataset's latest version.

:func:`run_loop` trains and evaluates the fixed recipe (an experiment), audits the
version with it and queues the flagged items, tabulates the experiment's errors on the
frozen evaluation set by tag, discovers weak slices, and compares with the previous
comparable experiment. It returns a :class:`LoopResult`; what to do next is the face's
to word (the CLI turns it into commands).
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from assay._json import jsonable
from assay.exceptions import InputError
from assay.store.experiments import Experiment, ExperimentStore
from assay.workflows._common import modality_of

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["LoopResult", "check_latest", "run_loop", "tag_predicate"]


@dataclass
class LoopResult:
    """What one turn of the loop found.

    Attributes
    ----------
    experiment : Experiment
        The recipe trained on the latest version, evaluated on the frozen set.
    audit : dict or None
        ``{"checks": ..., "queued": ...}`` of the label audit (None when skipped).
    comparison : dict or None
        The comparison with the previous comparable experiment, with its data diff.
    open_label_issues : int
        Open ``label_issue`` entries of the dataset's review queue.
    tags, slices : list of dict
        The weakest tags and the discovered slices of the errors on the evaluation set.
    recommendations : list of dict
        ``slice``, ``action``, ``evidence`` and ``predicate`` (the slice as a predicate
        for :func:`assay.store.augmentation.augment_version`).
    """

    experiment: Experiment
    audit: dict[str, Any] | None
    comparison: dict[str, Any] | None
    open_label_issues: int
    tags: list[dict[str, Any]]
    slices: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, the experiment as :meth:`Experiment.to_dict`."""
        return {
            "experiment": self.experiment.to_dict(),
            "audit": self.audit,
            "comparison": self.comparison,
            "open_label_issues": self.open_label_issues,
            "tags": self.tags,
            "slices": self.slices,
            "recommendations": self.recommendations,
        }


def check_latest(name: str) -> str:
    """Refuse a version reference: a turn of the loop works on a dataset's latest version."""
    if "@" in name:
        raise InputError(
            f"a turn of the loop works on a dataset's latest version; give "
            f"{name.split('@')[0]}, not a version."
        )
    return name


def tag_predicate(tag: str, frame: pd.DataFrame) -> str:
    """``ink=light`` -> ``ink == 'light'`` (a predicate for augmenting a slice)."""
    column, _, value = tag.partition("=")
    plain = column.isidentifier() and not keyword.iskeyword(column)
    name = column if plain else f"`{column}`"  # the slice language's quoted column name
    if not value:
        return f"{name} == True"
    if column in frame.columns and pd.api.types.is_numeric_dtype(frame[column]):
        return f"{name} == {value}"
    return f"{name} == {value!r}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(jsonable(frame.to_dict(orient="records")))


def _slice_advice(ws: Workspace, exp: Experiment) -> dict[str, Any]:
    """Tag table and discovered slices of the experiment's errors on the eval set."""
    from assay.train.slices import find_slices, recommend, slice_table

    eval_v = ws.dataset(exp.eval_set)
    tags = list(eval_v.roles.tags)
    if not tags:
        return {"tags": [], "slices": [], "recommendations": []}
    frame = eval_v.to_pandas()
    ev, task = exp.evaluation, exp.task
    meta = frame[tags].reset_index(drop=True)
    y_true, y_pred, metric = task.slice_inputs(ev)  # the task's headline metric
    tag_tab = slice_table(
        meta, y_true, y_pred, by=tags, metric=metric, greater_is_better=task.greater_is_better,
        min_support=10, n_boot=200,
    )
    found = find_slices(meta, ev.item_errors, k=5, min_support=10)
    recs = recommend(tag_tab, modality=modality_of(eval_v))
    rec_rows = recs.table[recs.table["action"] != "no action"]
    return {
        "tags": _records(
            tag_tab.table.head(5)[["tag", "n", "metric", "metric_low", "metric_high", "gain"]]
        ),
        "slices": _records(
            found.table.head(3)[
                ["slice", "size", "error_rate", "overall_error_rate", "q_value", "is_significant"]
            ]
        ),
        "recommendations": [
            {
                "slice": r["slice"],
                "action": r["action"],
                "evidence": r["evidence"],
                "predicate": tag_predicate(str(r["slice"]), frame),
            }
            for _, r in rec_rows.head(3).iterrows()
        ],
    }


def _audit(ws: Workspace, exp: Experiment, recipe: str, seed: int) -> dict[str, Any]:
    """Audit the experiment's training version (label check) and queue the suspects."""
    from assay.workflows.audit import record_audit, run_audit

    run = run_audit(ws, exp.data, recipe=recipe, checks=["label"], seed=seed)
    record = record_audit(ws, run, queue=True)
    return {"checks": record.checks, "queued": record.queued}


def run_loop(
    ws: Workspace, name: str, *, recipe: str, eval_set: str, seed: int = 0, audit: bool = True
) -> LoopResult:
    """One turn of the loop on the latest version of ``name``; returns what was found.

    Parameters
    ----------
    ws : Workspace
    name : str
        The dataset (not a version: its latest version is used).
    recipe : str
        A registered recipe, held fixed.
    eval_set : str
        The frozen evaluation set, a dataset reference.
    seed : int
        Seed of the bootstrap and the audit.
    audit : bool
        Audit the version and queue the suspected label errors.
    """
    check_latest(name)
    ws.recipes.get(recipe)  # the audit needs a registered recipe: fail before any work
    store = ExperimentStore(ws)
    exp = store.run(name, recipe=recipe, eval_set=eval_set, seed=seed)
    audited = _audit(ws, exp, recipe, seed) if audit else None
    open_issues = int(len(ws.review.list(exp.dataset, source="label_issue", status="open")))
    advice = _slice_advice(ws, exp)
    prev = store.previous(exp)
    comparison = None
    if prev is not None:
        comparison = store.compare(prev.id, exp.id, seed=seed).to_dict(limit=5)
    return LoopResult(
        exp,
        audited,
        comparison,
        open_issues,
        advice["tags"],
        advice["slices"],
        advice["recommendations"],
    )
