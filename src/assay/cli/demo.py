"""``assay demo``: build ./assay-demo from real bundled data and tell the story."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer

from assay.cli._common import JsonOption, emit_json, out_console
from assay.demo.kinds import check_task, default_path, run_task_demo

__all__ = ["register"]


def demo(
    path: Path | None = typer.Argument(
        None,
        help="Where to build the demo workspace (default: assay-demo, or "
        "assay-demo-TASK with --task).",
        show_default=False,
    ),
    task: str = typer.Option(
        "classification",
        "--task",
        help="The kind of label: classification (digits), regression (diabetes), "
        "multilabel (digits with tags), detection (BCCD blood-cell boxes) or speech "
        "(Mini LibriSpeech transcripts).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Build a demo workspace from real data and write its HTML report (digits;
    --task regression: diabetes; multilabel: tagged digits; detection: BCCD boxes;
    speech: Mini LibriSpeech clips)."""
    check_task(task)  # before any work
    where = default_path(task) if path is None else path
    console = out_console()
    if not as_json:
        console.print(f"Building the assay {_what(task)}demo in {where.resolve()} ...")
    result = run_task_demo(task, where, console if not as_json else out_console_quiet())
    if as_json:
        emit_json(
            {
                "workspace": str(result.workspace),
                "report": str(result.report),
                "facts": result.facts,
                "next": result.next_steps,
            }
        )
        return
    console.print(f"\nReport: {result.report}")
    console.print("Next, try:")
    if shutil.which("assay") is None:
        exe = Path(sys.executable).parent
        console.print(f"  source {exe / 'activate'}   # puts `assay` on your PATH")
    for step in result.next_steps:
        console.print(f"  {step}")


def _what(task: str) -> str:
    """``regression `` for the demos of other kinds, nothing for the digits demo."""
    return "" if task == "classification" else f"{task} "


def out_console_quiet():  # type: ignore[no-untyped-def]
    """A console that prints nothing (for --json)."""
    import io

    from rich.console import Console

    return Console(file=io.StringIO())


def register(app: typer.Typer) -> None:
    """Add ``assay demo``."""
    app.command()(demo)
