"""``assay demo``: build ./assay-demo from real bundled data and tell the story."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer

from assay.cli._common import JsonOption, emit_json, out_console
from assay.demo import run_demo

__all__ = ["register"]


def demo(
    path: Path = typer.Argument(Path("assay-demo"), help="Where to build the demo workspace."),
    as_json: bool = JsonOption,
) -> None:
    """Build a demo workspace from scikit-learn's digits and write its HTML report."""
    console = out_console()
    if not as_json:
        console.print(f"Building the assay demo in {path.resolve()} ...")
    result = run_demo(path, console if not as_json else out_console_quiet())
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


def out_console_quiet():  # type: ignore[no-untyped-def]
    """A console that prints nothing (for --json)."""
    import io

    from rich.console import Console

    return Console(file=io.StringIO())


def register(app: typer.Typer) -> None:
    """Add ``assay demo``."""
    app.command()(demo)
