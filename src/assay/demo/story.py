"""The demo's chapters, run in lifecycle order."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from assay.demo.data import digits_frame
from assay.report.build import write_report
from assay.store.workspace import Workspace

__all__ = ["DemoResult", "chapters", "run_demo"]


@dataclass
class DemoResult:
    """What the demo made: the workspace, the report, facts per chapter, next steps."""

    workspace: Path
    report: Path
    facts: dict[str, Any] = field(default_factory=dict)
    next_steps: list[str] = field(default_factory=list)


Chapter = Callable[[Workspace, Console, DemoResult], None]


def chapter_data(ws: Workspace, console: Console, result: DemoResult) -> None:
    """Import the digits as ``digits@v1``."""
    frame = digits_frame()
    version = ws.import_dataset(
        "digits",
        frame,
        label="label",
        tags=["ink", "width"],
        split="split",
        message="import scikit-learn digits (1,797 real 8x8 handwritten digits)",
    )
    counts = frame["split"].value_counts()
    console.print(
        f"[bold]Data[/bold]  {version.ref}: {version.n_rows} images x 64 pixels, 10 classes, "
        f"{counts['train']} train / {counts['test']} test, tags ink and width."
    )
    result.facts["data"] = {"ref": version.ref, "rows": version.n_rows}
    result.next_steps += [
        f"assay log digits -w {ws.location}",
        f"assay show digits@v1 -w {ws.location}",
    ]


#: The phases' chapter modules, in lifecycle order; each defines ``CHAPTERS``.
PHASES = ("collect", "train", "iterate", "deploy")


def chapters() -> list[Chapter]:
    """The story in lifecycle order: the data, then each phase that is installed."""
    import importlib

    story: list[Chapter] = [chapter_data]
    for phase in PHASES:
        try:
            module = importlib.import_module(f"assay.demo.{phase}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assay.demo.{phase}":
                raise
            continue
        story.extend(module.CHAPTERS)
    return story


def run_demo(path: str | Path, console: Console, *, fresh: bool = True) -> DemoResult:
    """Build the demo workspace at ``path`` and write its report.

    Parameters
    ----------
    path : path
        The workspace folder; with ``fresh`` an old demo there is replaced.
    console : rich.console.Console
        Where the story is told.
    """
    root = Path(path).resolve()
    if fresh and (root / ".assay").exists():
        shutil.rmtree(root)
    ws = Workspace.init(root)
    result = DemoResult(workspace=root, report=root / "report.html")
    try:
        for chapter in chapters():
            chapter(ws, console, result)
        write_report(ws, result.report)
    finally:
        ws.close()
    return result
