"""Deploy-phase commands: drift between two files, and production monitors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from assay.cli._common import (
    JsonOption,
    WorkspaceOption,
    check_output_file,
    cli_flags,
    emit_json,
    err_console,
    in_range,
    open_workspace,
    out_console,
    progress,
    table,
)
from assay.deploy import drift, render_summary
from assay.exceptions import InputError
from assay.report.pages import write_page
from assay.store.json_depth import check_file_depth
from assay.store.readers import read_source

__all__ = ["register"]

monitor_app = typer.Typer(
    help="Production monitors: drift, performance, feedback to the review queue."
)


def _frame(path: Path) -> Any:
    table_, _ = read_source(path)
    return table_.to_pandas()


def drift_cmd(
    reference: Path = typer.Argument(..., help="Reference data (CSV / Parquet / JSONL)."),
    current: Path = typer.Argument(..., help="Current (production) data, same columns."),
    columns: str = typer.Option(
        None, "--columns", help="Comma-separated columns to test (default: all)."
    ),
    report: Path = typer.Option(
        Path("drift.html"), "--report", help="Where to write the HTML report."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Test every column for drift; exit 1 when the dataset drifted.

    A reference column missing from CURRENT, or a numeric one whose values arrive as
    text, is schema drift and makes the dataset drifted; new columns are only listed.
    """
    check_output_file(report, "--report")
    ref_frame, cur_frame = _frame(reference), _frame(current)
    names = _drift_columns(columns, list(ref_frame.columns), reference)
    with progress("Testing for drift"):
        result = drift(ref_frame, cur_frame, columns=names)
    write_page(report, f"Drift: {current.name} vs {reference.name}", result.to_html())
    if as_json:
        frame = result.columns.reset_index().rename(columns={"index": "column"})
        emit_json(
            {
                "drifted": result.drifted,
                "rule": result.rule,
                "report": str(report),
                "schema": result.schema_changes,
                "columns": frame.astype(object)
                .where(frame.notna(), None)
                .to_dict(orient="records"),
            }
        )
    else:
        out_console().print(render_summary(result), markup=False)
        out_console().print(f"Report: {report}", markup=False)
    raise typer.Exit(1 if result.drifted else 0)


def _drift_columns(text: str | None, available: list[str], reference: Path) -> list[str] | None:
    """The ``--columns`` list, each a column of the reference file (None: all columns)."""
    if text is None:
        return None
    names = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not names:
        raise InputError(f"--columns {text!r} names no column; give e.g. --columns a,b.")
    missing = [c for c in names if c not in available]
    if missing:
        more = f" ... ({len(available) - 20} more)" if len(available) > 20 else ""
        raise InputError(
            f"{reference} has no column {', '.join(map(repr, missing))} (--columns); its "
            f"columns are: {', '.join(map(str, available[:20]))}{more}."
        )
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
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a monitor: profile the reference once (and calibrate the recipe's model)."""
    if not name.strip():
        raise InputError("the monitor's name is empty; give a name, e.g. `assay monitor add prod`.")
    ws = open_workspace(workspace)
    with progress(f"Profiling {reference}"):
        info = ws.monitors.add(
            name,
            reference,
            recipe=recipe,
            split=split,
            alerts={} if accuracy_drop is None else {"accuracy_drop": accuracy_drop},
            column_thresholds=_parse_thresholds(threshold),
        )
    if as_json:
        emit_json(info)
        return
    acc = info["config"].get("reference_accuracy")
    extra = f"; reference accuracy (out of sample) {acc:.3f}" if acc is not None else ""
    out_console().print(
        f"Monitor {name} watches {len(info['config']['columns'])} columns of {info['reference']}{extra}."
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
def monitor_list(workspace: Path = WorkspaceOption, as_json: bool = JsonOption) -> None:
    """List monitors."""
    monitors = open_workspace(workspace).monitors.list()
    if as_json:
        emit_json(monitors)
        return
    rows = [[m["name"], m["reference"], m["recipe"] or "-", m["windows"]] for m in monitors]
    out_console().print(table("monitors", ["name", "reference", "recipe", "windows"], rows))


@monitor_app.command("ingest")
def monitor_ingest(
    name: str = typer.Argument(..., help="The monitor."),
    file: Path = typer.Argument(
        ..., help="A production batch: CSV / Parquet / JSONL (one window)."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Check one production batch as the monitor's next window."""
    ws = open_workspace(workspace)
    if file.suffix.lower() in (".jsonl", ".ndjson", ".json") and file.is_file():
        check_file_depth(file)  # the JSON reader would crash on deep nesting
    batch = _frame(file)
    with progress(f"Checking {file.name}"):
        window = ws.monitors.ingest(name, batch, source=str(file))
    if as_json:
        emit_json(window)
        return
    _print_window(window)


def _print_window(window: dict[str, Any]) -> None:
    console = out_console()
    drifted = [c["column"] for c in window["columns"] if c.get("drifted")]
    console.print(
        f"window {window['window']} of {window['monitor']}: {len(drifted)} drifted column(s); "
        f"dataset drifted: {window['drifted']} ({window['rule']})"
    )
    perf = window.get("performance") or {}
    if perf.get("estimated"):
        est = perf["estimated"]
        console.print(
            f"estimated accuracy {est['estimated_accuracy']:.3f} "
            f"[{est['estimated_accuracy_low']:.3f}, {est['estimated_accuracy_high']:.3f}] "
            f"(reference {perf['reference_accuracy']:.3f})"
        )
    if perf.get("realised"):
        real = perf["realised"]
        console.print(
            f"realised accuracy {real['accuracy']:.3f} [{real['accuracy_low']:.3f}, {real['accuracy_high']:.3f}]"
        )
    schema = window.get("schema") or {}
    if schema.get("new"):
        console.print(f"new column(s), not tested: {', '.join(schema['new'])}", markup=False)
    for alert in window["alerts"]:
        console.print(f"[red]ALERT[/red] {escape(alert)}")


@monitor_app.command("status")
def monitor_status(
    name: str = typer.Argument(None, help="One monitor (default: all)."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Show the latest window of each monitor; exit 1 while any alert is active."""
    ws = open_workspace(workspace)
    names = [name] if name else [m["name"] for m in ws.monitors.list()]
    statuses = [ws.monitors.status(n) for n in names]
    active = any(s["alerts"] for s in statuses)
    if as_json:
        emit_json({"monitors": statuses, "alerts_active": active})
    else:
        rows = [
            [s["monitor"], s["windows"], len(s["alerts"]), "; ".join(s["alerts"]) or "ok"]
            for s in statuses
        ]
        out_console().print(table("monitors", ["monitor", "windows", "alerts", "detail"], rows))
        if active:
            err_console().print("Alerts are active.")
    raise typer.Exit(1 if active else 0)


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
        picked = ws.monitors.sample(name, n=n, window=window, seed=seed)
    if as_json:
        emit_json(
            picked[["item_id", "score", "reason", "suggested_label"]].to_dict(orient="records")
        )
        return
    out_console().print(
        f"Queued {len(picked)} production items for labeling (see `assay review list --source drift_sample`)."
    )


def register(app: typer.Typer) -> None:
    """Add the deploy commands."""
    app.command("drift")(drift_cmd)
    app.add_typer(monitor_app, name="monitor")
