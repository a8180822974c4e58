"""Train-phase commands: ``assay audit``, ``assay slices`` and ``assay curve``.

Each command parses its options, runs one workflow of :mod:`assay.workflows` (the
analysis of :mod:`assay.train` with the fixed recipe held still, recorded in the
workspace with its data version and recipe hash) and prints a summary. Every input is
checked before anything is written: bad input exits 2 with nothing recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assay._dask import dask_cluster
from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    check_output_file,
    cli_flags,
    emit_json,
    err_console,
    open_workspace,
    out_console,
    progress,
    say,
    say_lines,
    shown,
    table,
)
from assay.train.audit import check_thresholds, resolve_check
from assay.train.recipe._speech import RECOGNISERS
from assay.workflows.audit import AuditRecord, AuditRun, record_audit, run_audit
from assay.workflows.audit_action import AUTO_DECIDER, check_action
from assay.workflows.box_audit import BoxAudit, run_box_audit
from assay.workflows.transcript_audit import TranscriptAudit, run_transcript_audit

if TYPE_CHECKING:
    from assay.tasks import Task

__all__ = ["audit_cmd", "register"]

#: The audit workflow's wording -> the command line's.
_PHRASES = {
    "give either recipe= or pred_probs= but not both": "give either --recipe or --pred-probs, "
    "not both",
    "give either recogniser='pocketsphinx' or hypotheses= (the recogniser's output), "
    "not both": "give either --recipe pocketsphinx or --hypotheses FILE, not both",
    "recogniser='pocketsphinx' or hypotheses= (its output per clip)": "--recipe "
    "pocketsphinx or --hypotheses FILE (CSV file,hypothesis)",
}


def _checks_table(record: dict[str, Any], run: AuditRun, wide: bool = False) -> Any:
    """Flagged items per check: count, rate, mean score."""
    rows = [
        [name, s["count"], f"{s['rate']:.1%}", f"{s['score_mean']:.3f}"]
        for name, s in record["checks"].items()
    ]
    return table(
        f"audit of {run.version.ref} ({record['n_rows']} items)",
        ["check", "flagged", "rate", "mean score"],
        rows,
        wide=wide,
    )


def _worst_table(worst: list[dict[str, Any]], task: Task, wide: bool = False) -> Any:
    """The most likely label errors: item, given -> suggested label, quality."""
    rows = [
        [
            w["item_id"],
            task.show_suggestion(w["given_label"], w["suggested_label"], shown),
            f"{w['label_quality']:.3f}",
        ]
        for w in worst
    ]
    columns = ["item", "given -> suggested", "quality"]
    return table("most likely label errors", columns, rows, wide=wide)


def _print_audit(record: dict[str, Any], run: AuditRun, wide: bool = False) -> None:
    console = out_console()
    console.print(_checks_table(record, run, wide))
    worst = record["worst_labels"][:10]
    if worst:
        console.print(_worst_table(worst, run.version.task, wide))
    queued = record["queued"]
    if queued and sum(queued.values()):
        detail = ", ".join(f"{k}: {v}" for k, v in queued.items() if v)
        say(
            f"Queued {sum(queued.values())} items for review ({detail}); see "
            f"`assay review list {run.version.name}`.",
            indent="  ",
        )
    elif queued:
        say(
            "No new items queued for review: the flagged items are open there already "
            f"(or were kept by a reviewer); see `assay review list {run.version.name}`.",
            indent="  ",
        )
    decided = record.get("decided")
    if decided:
        _say_decided(decided, run.version.name)
    if record.get("report"):
        say(f"Report: {record['report']}")


def _say_decided(decided: dict[str, Any], name: str) -> None:
    """The automatic decisions, and how to check, undo and apply them."""
    if decided.get("withheld"):
        say(f"No automatic decisions: {decided['withheld']}.", indent="  ")
        return
    done = decided["relabelled"] + decided["removed"]
    skipped = f"; {len(decided['skipped'])} left open" if decided["skipped"] else ""
    say(
        f"Decided {done} label issues as {AUTO_DECIDER} ({decided['action']}): "
        f"{decided['relabelled']} relabelled, {decided['removed']} removed{skipped}. "
        "Nothing changes until you apply them; check and undo first:",
        indent="  ",
    )
    say_lines("\n".join(f"    {command}" for command in (
        f"assay review list {name} --status decided", "assay review undo ID",
        f"assay review apply {name}")))


def _print_box_audit(audit: BoxAudit, as_json: bool, wide: bool = False) -> None:
    """Print a box audit: images flagged, the worst images and their issues."""
    if as_json:
        emit_json(audit.to_dict())
        return
    result = audit.to_dict()
    console = out_console()
    kinds = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result["issues"].items())
    say(f"{audit.ref}: {result['n_flagged']} of {result['n_images']} images with box label "
        f"issues ({kinds}).", indent="  ")
    if audit.weak_detector:
        say(audit.weak_detector, indent="  ")
    rows = [[w["item_id"], w["issues"], f"{w['label_quality']:.3f}"] for w in result["worst"][:10]]
    if rows:
        columns = ["image", "issues", "quality"]
        console.print(table("most suspicious images", columns, rows, wide=wide, flexible=("issues",)))
    if audit.queued:
        say(f"Queued {audit.queued} images for review; see `assay review list "
            f"{audit.ref.split('@')[0]}`.")


def _print_transcript_audit(audit: TranscriptAudit, as_json: bool, wide: bool = False) -> None:
    """Print a transcript audit: clips flagged, the recogniser's WER, the worst clips."""
    result = audit.to_dict()
    if as_json:
        emit_json(result)
        return
    console = out_console()
    console.print(f"{audit.ref}: {result['n_flagged']} of {result['n_clips']} clips with a "
                  f"likely wrong transcript\n  recogniser {result['recogniser']}, corpus WER "
                  f"{result['corpus_wer']:.3f}", markup=False)
    rows = [[w["item_id"], f"{w['wer']:.2f}", f"{w['label_quality']:.3f}"]
            for w in result["worst"][:10] if w["is_label_issue"]]
    if rows:
        console.print(table("most suspicious clips", ["clip", "WER", "quality"], rows, wide=wide))
    if audit.queued:
        clips = "clip" if audit.queued == 1 else "clips"
        console.print(f"Queued {audit.queued} {clips} for review; see `assay review list "
                      f"{audit.ref.split('@')[0]}`.", markup=False)


def _finish_audit(record: AuditRecord, run: AuditRun, as_json: bool, wide: bool = False) -> None:
    """Print the audit (or its JSON), its warnings and crossed thresholds; exit 1 on one."""
    if as_json:
        emit_json(record.to_dict())
    else:
        _print_audit(record.to_dict(), run, wide)
    for text in run.warnings:
        err_console().print(f"warning: {text}", markup=False)
    for text in record.exceeded:
        err_console().print(f"threshold exceeded: {text}", markup=False)
    raise typer.Exit(1 if record.exceeded else 0)


#: The automatic action's library wording, as the CLI's flags.
_ACTION_PHRASES = {"action=": "--action", "queue=False": "--no-queue",
                   "checks=['label']": "--checks label"}


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
    seed: int = typer.Option(
        0, "--seed", min=0, metavar="<int>", help="Seed of the cross-validation splits."
    ),
    predictions: Path = typer.Option(
        None, "--predictions", help="A detection dataset: the detector's boxes (COCO result "
        "JSON, or CSV/Parquet with image, label, x, y, w, h, score)."
    ),
    coco: Path = typer.Option(
        None, "--coco", help="With --predictions: the COCO file whose numeric image and "
        "category ids the results use (e.g. from `assay export NAME --format coco`)."
    ),
    hypotheses: Path = typer.Option(
        None,
        "--hypotheses",
        help="A transcript dataset: your recogniser's output, CSV "
        "file,hypothesis[,confidence] (or --recipe pocketsphinx, the offline recogniser).",
    ),
    dask_scheduler: str = typer.Option(
        None, "--dask-scheduler",
        help="Fit the recipe's cross-validation folds on this Dask cluster (default: "
        "$DASK_SCHEDULER_ADDRESS, else here); the other checks run here.",
        show_default=False,
    ),
    action: str = typer.Option(
        None, "--action", metavar="relabel|drop",
        help="Decide the queued label issues without a reviewer: 'relabel' relabels one "
        "when the suggestion reaches its class's threshold and removes it otherwise; "
        "'drop' removes each. Recorded as decisions; `assay review apply` applies them.",
        show_default=False,
    ),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Find label errors, outliers and duplicates; queue them for review."""
    if hypotheses is not None or recipe in RECOGNISERS:
        with progress(f"Auditing the transcripts of {name}"), cli_flags(phrases=_PHRASES):
            audit = run_transcript_audit(
                open_workspace(workspace),
                name,
                recogniser=recipe,
                hypotheses=hypotheses,
                queue=queue,
            )
        _print_transcript_audit(audit, as_json, wide)
        return
    if predictions is not None:
        _print_box_audit(run_box_audit(open_workspace(workspace), name, predictions,
                                       queue=queue, mapping=coco), as_json, wide)
        return
    names = [c.strip() for c in checks.split(",") if c.strip()] if checks else None
    names = [resolve_check(c, where="--checks") for c in names] if names else None
    rules = check_thresholds(fail_on or [], names, source="--fail-on")  # before any work
    with cli_flags(phrases=_ACTION_PHRASES):
        check_action(action, queue=queue)
    check_output_file(report, "--report")
    ws = open_workspace(workspace)
    with progress(f"Auditing {name}"), cli_flags(phrases=_PHRASES), \
            _folds_on(dask_scheduler) as fold_jobs:
        run = run_audit(
            ws,
            name,
            recipe=recipe,
            pred_probs=pred_probs,
            embeddings=embeddings,
            checks=names,
            seed=seed,
            fold_jobs=fold_jobs,
        )
    with cli_flags(phrases=_ACTION_PHRASES):
        record = record_audit(ws, run, queue=queue, fail_on=[str(r) for r in rules],
                              report_path=report, action=action)
    _finish_audit(record, run, as_json, wide)


@contextmanager
def _folds_on(address: str | None) -> Iterator[int | None]:
    """Run joblib's folds on the Dask scheduler at ``address`` (or
    ``$DASK_SCHEDULER_ADDRESS``): yields the folds' ``n_jobs`` (-1 on a cluster, else
    None: the audit's default)."""
    with dask_cluster(address) as client:
        if client is None:
            yield None
            return
        import joblib

        with joblib.parallel_config(backend="dask"):
            yield -1


def register(app: typer.Typer) -> None:
    """Add ``assay audit``, ``assay slices`` and ``assay curve``."""
    from assay.cli._train_slices import curve_cmd, slices_cmd

    app.command("audit")(audit_cmd)
    app.command("slices")(slices_cmd)
    app.command("curve")(curve_cmd)
