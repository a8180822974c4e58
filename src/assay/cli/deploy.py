"""Deploy-phase commands: drift between two files (or versions), and production monitors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from assay._dask import dask_cluster
from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    check_output_file,
    cli_flags,
    emit_json,
    err_console,
    in_range,
    open_workspace,
    out_console,
    progress,
    say,
    say_lines,
    table,
)
from assay.cli._deploy_speech import monitor_clips
from assay.deploy import render_summary
from assay.exceptions import InputError, NotFoundError
from assay.workflows.monitor import (
    MonitorStatus,
    add_monitor,
    file_drift,
    ingest_file,
    ingest_folder,
    sample_for_review,
)
from assay.workflows.monitor import (
    monitor_status as status_of,
)

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["register"]

monitor_app = typer.Typer(
    help="Production monitors: drift, performance, feedback to the review queue."
)


def drift_cmd(
    reference: Path = typer.Argument(
        ..., help="Reference data: CSV / Parquet / JSONL, or a version NAME[@vN]."
    ),
    current: Path = typer.Argument(
        ..., help="Current (production) data, same columns: a file or a version."
    ),
    columns: str = typer.Option(
        None, "--columns", help="Comma-separated columns to test (default: all)."
    ),
    report: Path = typer.Option(
        Path("drift.html"), "--report", help="Where to write the HTML report."
    ),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Test every column for drift; exit 1 when the dataset drifted.

    A reference column missing from CURRENT, or a numeric one whose values arrive as
    text, is schema drift and makes the dataset drifted; new columns are only listed.
    Either side may name a version of the workspace instead of a file
    (``assay drift bikes@v1 bikes-test@v1``: the rows without their ids).
    """
    check_output_file(report, "--report")
    names = _drift_columns(columns)
    ws = None if reference.exists() and current.exists() else _workspace_if_any(workspace)
    with progress("Testing for drift"), cli_flags(phrases={"(columns)": "(--columns)"}):
        outcome = file_drift(reference, current, columns=names, report=report, workspace=ws)
    if as_json:
        emit_json(outcome.to_dict())
    else:
        say_lines(render_summary(outcome.result), wide=wide)
        out_console().print(f"Report: {report}", markup=False)
    raise typer.Exit(1 if outcome.result.drifted else 0)


def _workspace_if_any(path: Path | None) -> Workspace | None:
    """The workspace at ``path`` (or the usual place), None when there is none there."""
    try:
        return open_workspace(path)
    except (InputError, NotFoundError):
        return None


def _drift_columns(text: str | None) -> list[str] | None:
    """The ``--columns`` list (None: all columns)."""
    if text is None:
        return None
    names = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not names:
        raise InputError(f"--columns {text!r} names no column; give e.g. --columns a,b.")
    return names


@monitor_app.command("add")
def monitor_add(
    name: str = typer.Argument(..., help="The monitor's name."),
    reference: str = typer.Option(..., "--reference", help="The reference version, DATASET@vN."),
    recipe: str = typer.Option(
        None, "--recipe", help="A registered recipe: adds predictions and performance."
    ),
    split: str = typer.Option(
        None, "--reference-split", help="Use only the reference rows of this split (e.g. train)."
    ),
    threshold: list[str] = typer.Option(
        [],
        "--threshold",
        help="Per-column drift threshold COLUMN=EFFECT (repeatable), e.g. price=0.2.",
    ),
    accuracy_drop: float | None = typer.Option(
        None,
        "--accuracy-drop",
        callback=in_range(0, 1, low_open=True, high_open=True, hint="a fall in accuracy"),
        help="Alert when accuracy falls this far below the reference, in (0, 1); "
        "default 0.05. Needs --recipe.",
    ),
    predictions: Path = typer.Option(
        None,
        "--predictions",
        help="A detection dataset: the detector's boxes on the reference images (COCO "
        "results or CSV with score), for predicted-box drift and the reference mAP.",
    ),
    coco: Path = typer.Option(
        None,
        "--coco",
        help="The COCO file whose numeric image/category ids the --predictions use "
        "(e.g. from `assay export NAME --format coco`).",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a monitor: profile the reference once (and calibrate the recipe's model)."""
    if not name.strip():
        raise InputError("the monitor's name is empty; give a name, e.g. `assay monitor add prod`.")
    ws = open_workspace(workspace)
    thresholds = _parse_thresholds(threshold)
    flags = cli_flags(coco="--coco", predictions="--predictions")
    with progress(f"Profiling {reference}"), flags:
        info = add_monitor(
            ws, name, reference, recipe=recipe, split=split,
            accuracy_drop=accuracy_drop, column_thresholds=thresholds, predictions=predictions,
            coco=coco,
        )
    emit_json(info) if as_json else _print_monitor(info)


def _print_monitor(info: dict[str, Any]) -> None:
    refs = [(k[len("reference_"):], v) for k, v in info["config"].items()
            if k.startswith("reference_") and isinstance(v, float)]
    extra = "".join(f"; reference {k} (out of sample) {v:.3f}" for k, v in refs)
    out_console().print(
        f"Monitor {info['name']} watches {len(info['config']['columns'])} columns of "
        f"{info['reference']}{extra}."
    )


def _parse_thresholds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        column, sep, value = item.partition("=")
        try:
            out[column.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not column.strip():
            raise InputError(f"--threshold {item!r}: write COLUMN=EFFECT, e.g. price=0.2.")
    return out


@monitor_app.command("list")
def monitor_list(
    wide: bool = WideOption, workspace: Path = WorkspaceOption, as_json: bool = JsonOption
) -> None:
    """List monitors."""
    monitors = open_workspace(workspace).monitors.list()
    if as_json:
        emit_json(monitors)
        return
    rows = [[m["name"], m["reference"], m["recipe"] or "-", m["windows"]] for m in monitors]
    header = ["name", "reference", "recipe", "windows"]
    out_console().print(table("monitors", header, rows, wide=wide))


@monitor_app.command("ingest")
def monitor_ingest(
    name: str = typer.Argument(..., help="The monitor."),
    file: Path = typer.Argument(
        ...,
        help="A production batch: CSV / Parquet / JSONL, or a folder of Parquet files "
        "(one window).",
    ),
    dask_scheduler: str = typer.Option(
        None,
        "--dask-scheduler",
        help="Read a Parquet folder on this Dask cluster (default: "
        "$DASK_SCHEDULER_ADDRESS, else locally).",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Check one production batch as the monitor's next window."""
    ws = open_workspace(workspace)
    with progress(f"Checking {file.name}"), dask_cluster(dask_scheduler) as client:
        if file.is_dir():
            checked = ingest_folder(ws, name, file, on_cluster=client is not None)
        else:
            checked = ingest_file(ws, name, file)
    emit_json(checked.window) if as_json else _print_window(checked.window)


def _print_window(window: dict[str, Any]) -> None:
    console = out_console()
    drifted = [c["column"] for c in window["columns"] if c.get("drifted")]
    say(
        f"window {window['window']} of {window['monitor']}: {len(drifted)} drifted column(s); "
        f"dataset drifted: {window['drifted']} ({window['rule']})",
        indent="  ",
    )
    for line in _performance_lines(window.get("performance") or {}):
        say(line, indent="  ")
    schema = window.get("schema") or {}
    if schema.get("new"):
        say(f"new column(s), not tested: {', '.join(schema['new'])}", indent="  ")
    for alert in window["alerts"]:
        lines = textwrap.wrap(f"ALERT {alert}", 80, subsequent_indent="  ",
                              break_long_words=False, break_on_hyphens=False)
        console.print("[red]ALERT[/red]" + escape(lines[0][len("ALERT"):]))
        for line in lines[1:]:
            console.print(line, markup=False, highlight=False)


def _intervals(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any, Any]]:
    """(metric, value, low, high) of every ``<prefix><metric>`` with ``_low``/``_high``."""
    return [
        (key[len(prefix):], values[key], values[f"{key}_low"], values[f"{key}_high"])
        for key in values
        if key.startswith(prefix) and f"{key}_low" in values and f"{key}_high" in values
    ]


def _performance_lines(perf: dict[str, Any]) -> list[str]:
    """Estimated and realised metrics of a window, whatever the task's metrics are."""
    lines = []
    for metric, value, low, high in _intervals(perf.get("estimated") or {}, "estimated_"):
        ref = perf.get(f"reference_{metric}")
        extra = f" (reference {ref:.3f})" if ref is not None else ""
        lines.append(f"estimated {metric} {value:.3f} [{low:.3f}, {high:.3f}]{extra}")
    for metric, value, low, high in _intervals(perf.get("realised") or {}):
        lines.append(f"realised {metric} {value:.3f} [{low:.3f}, {high:.3f}]")
    return lines


@monitor_app.command("status")
def monitor_status(
    name: str = typer.Argument(None, help="One monitor (default: all)."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Show the latest window of each monitor; exit 1 while any alert is active."""
    status = status_of(open_workspace(workspace), name)
    active = status.alerts_active
    if as_json:
        emit_json({"monitors": status.statuses, "alerts_active": active})
    else:
        _print_status(status, wide)
    raise typer.Exit(1 if active else 0)


def _print_status(status: MonitorStatus, wide: bool = False) -> None:
    rows = [
        [s["monitor"], s["windows"], len(s["alerts"]), "; ".join(s["alerts"]) or "ok"]
        for s in status.statuses
    ]
    header = ["monitor", "windows", "alerts", "detail"]
    out_console().print(table("monitors", header, rows, wide=wide, flexible=("detail",)))
    if not wide:  # the alerts whole (the detail column may be cut), wrapped
        for s in status.statuses:
            for alert in s["alerts"]:
                say(f"ALERT {s['monitor']}: {alert}", indent="  ")
    for s in status.statuses:  # the latest window's measured performance, when there is one
        latest = (s["latest"] or {}).get("report") or {}
        lines = _performance_lines(latest.get("performance") or {})
        realised = [line for line in lines if line.startswith("realised")][:1]
        if realised:
            say_lines(f"{s['monitor']} window {s['windows']}: {realised[0]}", wide=wide)
    if status.alerts_active:
        err_console().print("Alerts are active.")


@monitor_app.command("sample")
def monitor_sample(
    name: str = typer.Argument(..., help="The monitor."),
    n: int = typer.Option(
        ..., "--n", min=1, help="How many production items to send for labeling."
    ),
    window: int = typer.Option(
        None, "--window", min=1, help="Which window, 1, 2, ... (default: the latest)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the random share."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Send production items to the review queue: drifted and low-confidence ones first,
    plus a random share for unbiased estimates."""
    ws = open_workspace(workspace)
    with cli_flags(n="--n", window="--window", seed="--seed"):
        picked = sample_for_review(ws, name, n=n, window=window, seed=seed)
    if as_json:
        emit_json(
            picked[["item_id", "score", "reason", "suggested_label"]].to_dict(orient="records")
        )
        return
    say(
        f"Queued {len(picked)} production items for labeling (see `assay review list "
        "--source drift_sample`)."
    )


def register(app: typer.Typer) -> None:
    """Add the deploy commands."""
    app.command("drift")(drift_cmd)
    monitor_app.command("clips")(monitor_clips)
    app.add_typer(monitor_app, name="monitor")
