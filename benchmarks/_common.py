"""Helpers shared by the benchmark scripts: timing with medians, Markdown output."""

from __future__ import annotations

import datetime as _dt
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results")


def median_time(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, Any]:
    """Median wall time of ``fn`` over ``repeats`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, title: str, body: str) -> Path:
    """Print ``body`` and save it under ``benchmarks/results/<name>.md`` with the command."""
    RESULTS.mkdir(exist_ok=True)
    command = "python " + " ".join(["benchmarks/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"## {title}\n\nCommand: `{command}` — {stamp}, {platform.machine()}, "
        "2 shared cores (noisy: medians and ratios, not absolute times).\n\n" + body + "\n"
    )
    print(text)
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    return path
