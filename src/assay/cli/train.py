"""Train-phase commands: ``assay audit``, ``assay slices`` and ``assay curve``.

Each command reads a dataset version, runs one analysis of :mod:`assay.train` with the
fixed recipe held still, records it in the workspace (its JSON summary, per-row results
as Parquet, the data version and the recipe hash) and prints a summary. The ``run_*``
functions do the work without printing, so the demo and notebooks can call them too.
Every input is checked before anything is written: bad input exits 2 with nothing
recorded.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import typer

from assay._json import jsonable
from assay.cli._common import (
    JsonOption,
    WorkspaceOption,
    check_output_file,
    emit_json,
    err_console,
    open_workspace,
    out_console,
    progress,
    table,
)
from assay.exceptions import InputError
from assay.store.features import load_pred_probs, model_inputs, text_columns, version_features
from assay.train.audit import AuditReport, audit, check_thresholds, resolve_check

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace
    from assay.train.recipe import Recipe

__all__ = [
    "AuditRun",
    "collected_warnings",
    "jsonable",
    "queue_audit",
    "recipe_model",
    "record_audit",
    "register",
    "run_audit",
    "single_class_error",
    "text_recipe_probs",
]

#: Differently seeded cross-validations averaged by the audit's label check (its default).
AUDIT_CV_REPEATS = 3

#: Review-queue source per audit check (class imbalance flags whole classes, not items).
QUEUE_SOURCES = {
    "label": "label_issue",
    "outlier": "outlier",
    "near_duplicate": "near_duplicate",
    "exact_duplicate": "exact_duplicate",
    "leakage": "leakage",
}


@contextmanager
def collected_warnings(sink: list[str]) -> Iterator[None]:
    """Collect the user warnings raised inside, once each, into ``sink``.

    Also limits BLAS to one thread inside: the fits are small and many, and on a shared
    machine threaded BLAS made a 5-fold logistic regression on the digits 100x slower
    (40 s instead of 0.4 s); parallelism belongs to the folds (``n_jobs``).
    """
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1):
        warnings.simplefilter("always", UserWarning)
        yield
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, UserWarning) and text not in sink:
            sink.append(text)


def single_class_error(version: DatasetVersion, labels: np.ndarray) -> None:
    """Raise when a version's labels hold fewer than two classes."""
    classes = pd.unique(pd.Series(labels))
    if len(classes) < 2:
        raise InputError(
            f"{version.ref} has a single class ({classes[0]!r}) in label column "
            f"{version.roles.label!r}; label checks and predictions need at least two classes."
        )


# ----------------------------------------------------------------- audit
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


def recipe_model(ws: Workspace, recipe: str | None) -> tuple[Any, str | None]:
    if recipe is None:
        return None, None
    spec = ws.recipes.get(recipe)
    return spec.build(), spec.hash


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
) -> AuditRun:
    """Audit a dataset version with a recipe's fresh model or given ``pred_probs``."""
    if recipe is not None and pred_probs is not None:
        raise InputError("give either --recipe or --pred-probs, not both.")
    start = time.perf_counter()
    version = ws.dataset(ref)
    frame = version.to_pandas()
    labels = frame[version.roles.label].to_numpy()
    probs = load_pred_probs(pred_probs, labels) if pred_probs is not None else None
    spec = ws.recipes.get(recipe) if recipe is not None else None
    model = spec.build() if spec is not None else None
    classes: list[Any] | None = None
    source: str | None = None
    caught: list[str] = []
    with collected_warnings(caught):
        features = version_features(version, frame, embeddings=embeddings)
        if spec is not None and spec.reads_text and _needs_probs(checks):
            single_class_error(version, labels)
            probs, found = text_recipe_probs(spec, version, frame, seed=seed, n_jobs=n_jobs)
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
            modality=_audit_modality(version, frame),
        )
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
    items = items[items["check"].isin(list(QUEUE_SOURCES))]
    labels = run.frame[run.version.roles.label].to_numpy()
    rows = items["row"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "item_id": run.item_ids[rows],
            "source": items["check"].map(QUEUE_SOURCES).to_numpy(),
            "reason": items["reason"].to_numpy(),
            "score": items["score"].to_numpy(dtype=np.float64),
            "given_label": pd.Series(labels[rows], dtype=object).to_numpy(),
            "suggested_label": items["suggested_label"].to_numpy(),
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
) -> dict[str, Any]:
    """Check thresholds, record the analysis, queue flagged items, write the HTML report."""
    exceeded = run.report.exceeds(list(fail_on))  # raises on unknown checks, before writing
    info = run.report.to_dict()
    label = run.report.summary.get("label", {})
    result = jsonable(
        {
            **info,
            "dataset": run.version.ref,
            "label_probs_source": run.probs_source or label.get("label_probs_source"),
            "label_knn_weight": label.get("label_knn_weight"),
            "worst_labels": worst_labels(run),
            "fail_on": list(fail_on),
            "exceeded": exceeded,
            "warnings": run.warnings,
        }
    )
    if report_path is not None:  # the file first: a failing write leaves the queue as it was
        write_audit_page(run, report_path)
        result["report"] = str(report_path)
    queued = queue_audit(ws, run) if queue else {}
    result["queued"] = queued
    analysis = ws.record_analysis(
        "audit",
        result,
        dataset=run.version.ref,
        params=jsonable(run.params),
        recipe_hash=run.recipe_hash,
        table=issues_table(run),
        duration_s=run.duration_s,
    )
    return {"analysis": analysis, **result}


def write_audit_page(run: AuditRun, path: Path) -> Path:
    """The audit's HTML page: summary and worst examples rendered by their modality."""
    from assay.report.pages import write_page
    from assay.report.sections_train import item_renderer

    render = item_renderer(run.version, run.frame)
    return write_page(path, f"Audit: {run.version.ref}", run.report.to_html(render_item=render))


def _print_audit(record: dict[str, Any], run: AuditRun) -> None:
    console = out_console()
    rows = [
        [name, s["count"], f"{s['rate']:.1%}", f"{s['score_mean']:.3f}"]
        for name, s in record["checks"].items()
    ]
    console.print(
        table(
            f"audit of {run.version.ref} ({record['n_rows']} items)",
            ["check", "flagged", "rate", "mean score"],
            rows,
        )
    )
    worst = record["worst_labels"][:10]
    if worst:
        console.print(
            table(
                "most likely label errors",
                ["item", "given -> suggested", "quality"],
                [
                    [
                        w["item_id"],
                        f"{w['given_label']} -> {w['suggested_label']}",
                        f"{w['label_quality']:.3f}",
                    ]
                    for w in worst
                ],
            )
        )
    queued = record["queued"]
    if queued:
        detail = ", ".join(f"{k}: {v}" for k, v in queued.items())
        console.print(
            f"Queued {sum(queued.values())} items for review ({detail}); see "
            f"`assay review list {run.version.name}`."
        )
    if record.get("report"):
        console.print(f"Report: {record['report']}")


def audit_cmd(
    name: str = typer.Argument(..., help="The dataset version, NAME or NAME@vN."),
    recipe: str = typer.Option(None, "--recipe", help="A registered recipe (its model)."),
    pred_probs: Path = typer.Option(
        None, "--pred-probs", help="Out-of-sample probabilities, .npy (n_items, n_classes)."
    ),
    embeddings: Path = typer.Option(
        None, "--embeddings", help="Embeddings (.npy, or .parquet/.csv aligned by id)."
    ),
    checks: str = typer.Option(
        None, "--checks", help="Comma-separated checks (default: all that apply)."
    ),
    fail_on: list[str] = typer.Option(  # noqa: B008
        None, "--fail-on", help='Exit 1 when e.g. "label_issue>5%" (repeatable).'
    ),
    queue: bool = typer.Option(True, "--queue/--no-queue", help="Enter flagged items."),
    report: Path = typer.Option(Path("audit.html"), "--report", help="The HTML report."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the cross-validation splits."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Find label errors, outliers and duplicates; queue them for review."""
    names = [c.strip() for c in checks.split(",") if c.strip()] if checks else None
    names = [resolve_check(c, where="--checks") for c in names] if names else None
    rules = check_thresholds(fail_on or [], names, source="--fail-on")  # before any work
    check_output_file(report, "--report")
    ws = open_workspace(workspace)
    with progress(f"Auditing {name}"):
        run = run_audit(
            ws,
            name,
            recipe=recipe,
            pred_probs=pred_probs,
            embeddings=embeddings,
            checks=names,
            seed=seed,
        )
    record = record_audit(ws, run, queue=queue, fail_on=[str(r) for r in rules], report_path=report)
    if as_json:
        emit_json(record)
    else:
        _print_audit(record, run)
    for text in run.warnings:
        err_console().print(f"warning: {text}", markup=False)
    for text in record["exceeded"]:
        err_console().print(f"threshold exceeded: {text}", markup=False)
    raise typer.Exit(1 if record["exceeded"] else 0)


def register(app: typer.Typer) -> None:
    """Add ``assay audit``, ``assay slices`` and ``assay curve``."""
    from assay.cli._train_slices import curve_cmd, slices_cmd

    app.command("audit")(audit_cmd)
    app.command("slices")(slices_cmd)
    app.command("curve")(curve_cmd)
