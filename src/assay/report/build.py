"""Build the workspace's HTML report: one context dict, one Jinja2 template.

The context is plain JSON-safe data (what the web app's pages also serve); sections
appear only for analyses that were run, so the report never shows invented numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from assay import __version__  # noqa: I001
from assay.store.workspace import Workspace

__all__ = ["build_context", "register_section", "render_report", "write_report"]

#: Extra report sections: name -> function(workspace) -> dict | None (None = omitted).
SECTIONS: dict[str, Callable[[Workspace], dict[str, Any] | None]] = {}


def register_section(name: str) -> Callable[[Callable[[Workspace], dict[str, Any] | None]], Any]:
    """Decorator: add a report section built from the workspace."""

    def wrap(fn: Callable[[Workspace], dict[str, Any] | None]) -> Any:
        SECTIONS[name] = fn
        return fn

    return wrap


def _count(value: Any) -> Any:
    """A value of a label summary as shown: integers as they are, other numbers to four
    significant digits, missing as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return int(value) if isinstance(value, float) else value


def _dataset_context(ws: Workspace) -> list[dict[str, Any]]:
    out = []
    for latest in ws.datasets():
        versions = ws.log(latest.name)
        labels = latest.to_pandas([latest.roles.label])[latest.roles.label]
        summary = latest.task.describe_labels(labels)  # counts per class; numbers: statistics
        out.append(
            {
                "name": latest.name,
                "latest": latest.to_dict(),
                "versions": [v.to_dict() for v in versions],
                "label_counts": {k: _count(v) for k, v in summary.rows.items()},
                "review_open": ws.review.count(latest.name),
            }
        )
    return out


#: Modules that register report sections, in lifecycle order.
SECTION_MODULES = ("collect", "train", "iterate", "deploy")


def _load_sections() -> None:
    import importlib

    for phase in SECTION_MODULES:
        try:
            importlib.import_module(f"assay.report.sections_{phase}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assay.report.sections_{phase}":
                raise


def build_context(ws: Workspace) -> dict[str, Any]:
    """Everything the report shows, as JSON-safe data."""
    _load_sections()
    sections = []
    for name, fn in SECTIONS.items():
        section = fn(ws)
        if section is not None:
            sections.append({"name": name, **section})
    return {
        "title": "assay report",
        "workspace": ws.location,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "datasets": _dataset_context(ws),
        "sections": sections,
    }


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("assay.report", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["safe_svg"] = lambda svg: Markup(svg)  # only for SVG that assay generated
    return env


def render_report(context: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (no CDN, no external files)."""
    return _environment().get_template("report.html").render(**context)


def write_report(ws: Workspace, path: str | os.PathLike[str]) -> Path:
    """Write the workspace report to ``path`` atomically."""
    target = Path(path)
    html = render_report(build_context(ws))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
    return target
