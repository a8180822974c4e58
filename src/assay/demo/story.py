"""The demo's chapters, run in lifecycle order."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from assay.demo.data import digits_frame, inject_label_noise
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
    #: The true label of each ``digits`` item (by item id): the demo plays the oracle
    #: reviewer and the simulated labelers with it. assay itself never sees it.
    truth: pd.Series | None = None
    #: Which items' labels the demo planted wrong (by item id), when it planted errors
    #: (``assay demo --task``); scores the audit against them.
    wrong: pd.Series | None = None


Chapter = Callable[[Workspace, Console, DemoResult], None]


NOISE_RATE = 0.12


def chapter_data(ws: Workspace, console: Console, result: DemoResult) -> None:
    """Import the training digits with 12% known label errors, and a clean test set.

    ``digits`` holds the 1,257 training rows as "collected": 12% of their labels are
    flipped to a confusable class (1 -> 7, 3 -> 8, ...), the kind of noise real labeling
    produces. ``digits-test`` holds the 540 held-out rows with their true labels: the
    frozen evaluation set of the iteration loop.
    """
    frame = digits_frame()
    train = frame[frame["split"] == "train"].drop(columns=["split"])
    test = frame[frame["split"] == "test"].drop(columns=["split"])
    noisy, flipped = inject_label_noise(train["label"], rate=NOISE_RATE, seed=0)
    result.truth = pd.Series(train["label"].to_numpy(), index=train.index, name="label")
    collected = train.assign(label=noisy.to_numpy())
    collected.insert(0, "item_id", train.index.to_numpy())
    test.insert(0, "item_id", test.index.to_numpy())
    version = ws.import_dataset(
        "digits",
        collected,
        label="label",
        id="item_id",
        tags=["ink", "width"],
        message=f"import the training digits as collected ({flipped.mean():.0%} label errors)",
    )
    ws.import_dataset(
        "digits-test",
        test,
        label="label",
        id="item_id",
        tags=["ink", "width"],
        message="frozen evaluation set: held-out digits, true labels",
    )
    console.print(
        f"[bold]Data[/bold]  {version.ref}: {version.n_rows} training images x 64 pixels "
        f"(scikit-learn's real handwritten digits), tags ink and width; {int(flipped.sum())} "
        f"labels ({flipped.mean():.0%}) are wrong, as in real collected data. digits-test@v1: "
        f"{len(test)} held-out images with true labels, the frozen evaluation set."
    )
    result.facts["data"] = {
        "ref": version.ref,
        "rows": version.n_rows,
        "label_errors": int(flipped.sum()),
    }
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


#: The file in ``.assay`` that marks a workspace built by the demo (only those are replaced).
DEMO_MARKER = "demo"


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a path the system cannot use is bad input."""
    from assay.exceptions import InputError

    try:
        return path.exists()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"cannot use {path.parent} for the demo: {reason}.") from None


def _remove_old_demo(root: Path) -> None:
    """Remove what an earlier demo made at ``root``; refuse any other workspace."""
    from assay.exceptions import InputError

    if not (root / ".assay" / DEMO_MARKER).exists():
        raise InputError(
            f"{root} holds a workspace that `assay demo` did not make; it is left alone. "
            "Give the demo a new folder (default: assay-demo)."
        )
    shutil.rmtree(root / ".assay")
    (root / "report.html").unlink(missing_ok=True)


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
    if fresh and _exists(root / ".assay"):
        _remove_old_demo(root)
    ws = Workspace.init(root)
    (root / ".assay" / DEMO_MARKER).write_text("made by `assay demo`; it may replace it\n")
    result = DemoResult(workspace=root, report=root / "report.html")
    try:
        for chapter in chapters():
            chapter(ws, console, result)
        result.next_steps += [
            f"assay user add me --role admin -w {ws.location}   # then:",
            f"assay ui {ws.location}                           # review in the browser",
        ]
        write_report(ws, result.report)
    finally:
        ws.close()
    return result
