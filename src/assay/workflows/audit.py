"""Audit a dataset version: label errors, outliers, duplicates, leakage.

:func:`run_audit` runs the checks of :func:`assay.train.audit.audit` on a version with
a recipe's fresh model (or given out-of-sample probabilities) and returns an
:class:`AuditRun`; :func:`record_audit` records it as an analysis, enters the flagged
items into the review queue and writes the HTML page, and returns an
:class:`AuditRecord`. Every input is checked before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay._json import jsonable
from assay.exceptions import InputError
from assay.store.features import load_pred_probs, model_inputs, text_columns, version_features
from assay.store.labeling import require_labels
from assay.train.audit import AuditReport, audit, queue_sources
from assay.workflows._common import collected_warnings, exclusive, single_class_error
from assay.workflows.audit_action import (
    automatic_decisions,
    check_action,
    decide_automatically,
)

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace
    from assay.train.recipe import Recipe

__all__ = [
    "AUDIT_CV_REPEATS",
    "AuditRecord",
    "AuditRun",
    "issues_table",
    "queue_audit",
    "queue_entries",
    "record_audit",
    "run_audit",
    "text_recipe_probs",
    "worst_labels",
    "write_audit_page",
]

#: Differently seeded cross-validations averaged by the audit's label check (its default).
AUDIT_CV_REPEATS = 3


@dataclass
class AuditRun:
    """An audit of one version, before it is recorded."""

    version: DatasetVersion
    frame: pd.DataFrame
    report: AuditReport
    params: dict[str, Any]
    recipe_hash: str | None = None
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    probs_source: str | None = None

    @property
    def item_ids(self) -> np.ndarray:
        """The item id of each row."""
        return self.frame[self.version.roles.id].to_numpy()


@dataclass
class AuditRecord:
    """A recorded audit: the analysis id and its JSON result.

    ``result`` holds the report's summary (``checks``, ``n_rows``, ...), ``dataset``,
    ``worst_labels``, ``fail_on``, ``exceeded`` (the thresholds crossed), ``warnings``,
    ``queued`` (entries per review source) and ``report`` (the page, when written).
    """

    analysis: int
    result: dict[str, Any]

    @property
    def queued(self) -> dict[str, int]:
        """New review-queue entries per source."""
        return dict(self.result["queued"])

    @property
    def exceeded(self) -> list[str]:
        """The ``fail_on`` thresholds the audit crossed."""
        return list(self.result["exceeded"])

    @property
    def checks(self) -> dict[str, Any]:
        """Per check: count, rate, mean score."""
        return dict(self.result["checks"])

    def to_dict(self) -> dict[str, Any]:
        """``{"analysis": id, **result}``, JSON-ready."""
        return {"analysis": self.analysis, **self.result}


def text_recipe_probs(
    spec: Recipe, version: DatasetVersion, frame: pd.DataFrame, *, seed: int, n_jobs: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-sample probabilities of a recipe that reads raw texts (``featurizer: tfidf``).

    The audit's neighbour checks use the text embeddings, while this model reads the
    texts; like the audit's own model runs, the probabilities are averaged over
    ``AUDIT_CV_REPEATS`` differently seeded 5-fold splits.

    Returns
    -------
    pred_probs : ndarray of shape (n_rows, n_classes)
    classes : ndarray of shape (n_classes,)
        The sorted labels, the columns of ``pred_probs``.
    """
    from assay.train.predict import cross_val_predict_proba

    texts = model_inputs(version, frame, spec)
    labels = frame[version.roles.label].to_numpy()
    runs = [
        cross_val_predict_proba(spec.build(), texts, labels, seed=seed + r, n_jobs=n_jobs)
        for r in range(AUDIT_CV_REPEATS)
    ]
    return np.mean(runs, axis=0), np.unique(labels)


def run_audit(
    ws: Workspace,
    ref: str,
    *,
    recipe: str | None = None,
    pred_probs: Path | None = None,
    embeddings: Path | None = None,
    checks: Sequence[str] | None = None,
    seed: int = 0,
    n_jobs: int | None = 1,
    fold_jobs: int | None = None,
) -> AuditRun:
    """Audit a dataset version with a recipe's fresh model or given ``pred_probs``.

    Parameters
    ----------
    ws : Workspace
    ref : str
        The version, ``NAME`` or ``NAME@vN``.
    recipe : str, optional
        A registered recipe: its model gives the out-of-sample probabilities.
    pred_probs : path, optional
        Out-of-sample probabilities, ``.npy`` of shape (n_items, n_classes).
    embeddings : path, optional
        Embeddings (``.npy``, or ``.parquet`` / ``.csv`` aligned by id).
    checks : sequence of str, optional
        The checks to run (default: all that apply).
    seed : int
    n_jobs : int, optional
    fold_jobs : int, optional
        Parallel folds of the recipe's out-of-sample probabilities (default ``n_jobs``;
        -1 with joblib's dask backend: on the cluster, see :func:`assay.audit`).

    Returns
    -------
    AuditRun
        Not yet recorded: see :func:`record_audit`.
    """
    exclusive(recipe=recipe, pred_probs=pred_probs)
    start = time.perf_counter()
    version = ws.dataset(ref)
    if version.task.kind == "transcript":
        raise InputError(
            f"{version.ref} holds transcripts: audit them against a recogniser, "
            "recogniser='pocketsphinx' or hypotheses= (its output per clip)."
        )
    frame = version.to_pandas()
    require_labels(version, frame)
    labels = frame[version.roles.label].to_numpy()
    probs = load_pred_probs(pred_probs, labels) if pred_probs is not None else None
    spec = ws.recipes.get(recipe) if recipe is not None else None
    model = spec.build() if spec is not None else None
    classes = _label_classes(labels) if probs is None else None
    source: str | None = None
    caught: list[str] = []
    with collected_warnings(caught):
        features = version_features(version, frame, embeddings=embeddings)
        if spec is not None and spec.reads_text and _needs_probs(checks):
            single_class_error(version, labels)
            folds = n_jobs if fold_jobs is None else fold_jobs
            probs, found = text_recipe_probs(spec, version, frame, seed=seed, n_jobs=folds)
            classes = list(found)
            model, source = None, f"recipe {recipe} on the raw texts"
        tabular = isinstance(features, pd.DataFrame)  # arrays are embeddings (text, media)
        report = audit(
            frame,
            label=version.roles.label,
            classes=classes,
            features=features if tabular else None,
            embeddings=None if tabular else features,
            model=model,
            pred_probs=probs,
            checks=list(checks) if checks else None,
            split=version.roles.split,
            seed=seed,
            n_jobs=n_jobs,
            fold_jobs=fold_jobs,
            modality=_audit_modality(version, frame),
            task=version.task.kind,
        )
        report.ids = frame[version.roles.id].to_numpy()
    params = {
        "recipe": recipe,
        "pred_probs": str(pred_probs) if pred_probs else None,
        "embeddings": str(embeddings) if embeddings else None,
        "checks": report.checks,
        "seed": seed,
    }
    recipe_hash = spec.hash if spec is not None else None
    return AuditRun(
        version, frame, report, params, recipe_hash, time.perf_counter() - start, caught, source
    )


def _label_classes(labels: np.ndarray) -> list[Any] | None:
    """A dataset's integer labels are its classes (wine quality 3..8), not column indices
    from 0 as in ``assay.audit`` without ``classes=`` (which would add empty classes
    0..2); other labels keep the audit's default. With ``pred_probs`` the columns are
    indices, so this is not used."""
    if not pd.api.types.is_integer_dtype(pd.Series(labels)):
        return None
    return sorted(pd.unique(labels).tolist())


def _needs_probs(checks: Sequence[str] | None) -> bool:
    """Whether the audit runs the label check, the one that reads model probabilities."""
    return checks is None or "label" in checks


def _audit_modality(version: DatasetVersion, frame: pd.DataFrame) -> str:
    """The modality the audit picks its default model and item rendering by."""
    if version.modality in ("image", "audio", "text"):
        return version.modality
    return "text" if text_columns(version, frame) else "tabular"


def queue_entries(run: AuditRun) -> pd.DataFrame:
    """The flagged items as review-queue entries (item_id, source, reason, score, labels)."""
    items = run.report.review_items()
    sources = queue_sources()
    items = items[items["check"].isin(list(sources))]
    labels = run.frame[run.version.roles.label].to_numpy()
    rows = items["row"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "item_id": run.item_ids[rows],
            "source": items["check"].map(sources).to_numpy(),
            "reason": items["reason"].to_numpy(),
            "score": items["score"].to_numpy(dtype=np.float64),
            "given_label": pd.Series(labels[rows], dtype=object).to_numpy(),
            "suggested_label": items["suggested_label"].to_numpy(),
            "payload": [
                {k: v for k, v in (("partner", p), ("item_digest", d)) if v is not None}
                for p, d in zip(items["partner"], items["digest"], strict=True)
            ],
        }
    )


def queue_audit(ws: Workspace, run: AuditRun) -> dict[str, int]:
    """Enter the flagged items into the review queue; return how many per source."""
    entries = queue_entries(run)
    added: dict[str, int] = {}
    for source, part in entries.groupby("source", sort=False):
        added[str(source)] = ws.review.add(
            run.version.name, part.drop(columns="source"), source=str(source)
        )
    return added


def worst_labels(run: AuditRun, k: int = 20) -> list[dict[str, Any]]:
    """The ``k`` most suspicious labels: item id, given and suggested label, quality."""
    if "label" not in run.report.results:
        return []
    worst = run.report.worst("label", k)
    worst = worst[worst["is_label_issue"]]
    positions = run.report.issues.index.get_indexer(worst.index)
    return jsonable(
        [
            {
                "item_id": run.item_ids[p],
                "given_label": r["given_label"],
                "suggested_label": r["suggested_label"],
                "label_quality": r["label_quality"],
            }
            for p, (_, r) in zip(positions, worst.iterrows(), strict=True)
        ]
    )


def issues_table(run: AuditRun) -> pa.Table:
    """The per-row issue table with the item id first, for the analysis's Parquet object."""
    issues = run.report.issues.reset_index(drop=True)
    issues.insert(0, "item_id", run.item_ids)
    for col in issues.columns:
        if issues[col].dtype == object:
            values = issues[col]
            kinds = {type(v) for v in values if v is not None}
            if len(kinds) > 1 or kinds & {dict, list}:
                issues[col] = values.map(lambda v: None if v is None else str(v))
    return pa.Table.from_pandas(issues, preserve_index=False)


def record_audit(
    ws: Workspace,
    run: AuditRun,
    *,
    queue: bool = True,
    fail_on: Sequence[str] = (),
    report_path: Path | None = None,
    action: str | None = None,
) -> AuditRecord:
    """Check thresholds, record the analysis, queue flagged items, write the HTML report.

    Parameters
    ----------
    ws : Workspace
    run : AuditRun
        From :func:`run_audit`.
    queue : bool
        Enter the flagged items into the review queue.
    fail_on : sequence of str
        Thresholds such as ``"label_issue>5%"``; the crossed ones are listed in
        ``exceeded`` (unknown checks raise before anything is written).
    report_path : path, optional
        Where to write the audit's HTML page.
    action : {"relabel", "drop"}, optional
        Decide the queued label issues automatically (:mod:`.audit_action`): the
        decisions are recorded by ``assay-auto`` and take effect with ``review apply``.
    """
    check_action(action, queue=queue)
    exceeded = run.report.exceeds(list(fail_on))  # raises on unknown checks, before writing
    decisions = automatic_decisions(run, action) if action else None  # raises before writing
    result = _audit_result(run, fail_on, exceeded)
    if report_path is not None:  # the file first: a failing write leaves the queue as it was
        write_audit_page(run, report_path)
        result["report"] = str(report_path)
    result["queued"] = queue_audit(ws, run) if queue else {}
    if decisions is not None and action is not None:
        result["decided"] = decide_automatically(ws, run, decisions, action).to_dict()
    analysis = ws.record_analysis(
        "audit",
        result,
        dataset=run.version.ref,
        params=jsonable(run.params),
        recipe_hash=run.recipe_hash,
        table=issues_table(run),
        duration_s=run.duration_s,
    )
    return AuditRecord(analysis, result)


def _audit_result(run: AuditRun, fail_on: Sequence[str], exceeded: list[str]) -> dict[str, Any]:
    """The analysis's JSON result, before the queue and the page."""
    label = run.report.summary.get("label", {})
    return jsonable(
        {
            **run.report.to_dict(),
            "dataset": run.version.ref,
            "label_probs_source": run.probs_source or label.get("label_probs_source"),
            "label_knn_weight": label.get("label_knn_weight"),
            "worst_labels": worst_labels(run),
            "fail_on": list(fail_on),
            "exceeded": exceeded,
            "warnings": run.warnings,
        }
    )


def write_audit_page(run: AuditRun, path: Path) -> Path:
    """The audit's HTML page: summary and worst examples rendered by their modality."""
    from assay.report.pages import write_page
    from assay.report.sections_train import item_renderer

    render = item_renderer(run.version, run.frame)
    return write_page(path, f"Audit: {run.version.ref}", run.report.to_html(render_item=render))
