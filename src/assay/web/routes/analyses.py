"""Analysis pages: the recorded analyses of one kind, and monitoring.

A page for a capability with nothing recorded says so, with the command to run; it
never shows made-up numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assay.exceptions import NotFoundError
from assay.tasks import Task
from assay.web import queries
from assay.web.deps import Auth, require
from assay.web.params import Number
from assay.web.render import render
from assay.web.summaries import ANALYSIS_PAGES, drift_series, headline, headline_series

router = APIRouter()


@router.get("/analyses/{slug}")
def analysis_page(
    request: Request, slug: str, id: Number = None, auth: Auth = Depends(require("viewer"))
) -> Response:
    """The newest analysis of a kind (or the one named by ``id``) and the list of runs."""
    if slug not in ANALYSIS_PAGES:
        raise NotFoundError(f"no analysis page {slug!r}; pages: {', '.join(ANALYSIS_PAGES)}.")
    kind, title, command = ANALYSIS_PAGES[slug]
    runs = request.app.state.web.ws.analyses(kind)
    shown = next((a for a in runs if a["id"] == id), None) if id is not None else None
    shown = shown or (runs[0] if runs else None)
    task_of = _task_finder(request)
    context = {
        "slug": slug,
        "kind": kind,
        "title": title,
        "status": "ok" if runs else "not run yet",
        "hint": None if runs else f"run `{command}`",
        "runs": [
            {
                "id": a["id"],
                "dataset": a["version"] or a["dataset"],
                "created_at": a["created_at"],
                "headline": headline(a["result"], limit=3),
                "task": _kind(task_of(a["dataset"])),
            }
            for a in runs
        ],
        "analysis": shown,
        "task": _kind(task_of(shown["dataset"])) if shown else None,
        "headlines": headline_series(runs, task_of),
        "pages": {k: v[1] for k, v in ANALYSIS_PAGES.items()},
    }
    return render(request, "analysis.html", context)


def _task_finder(request: Request) -> Callable[[str | None], Task | None]:
    """The task of a dataset by name (None: no dataset, or one no longer there)."""
    ws = request.app.state.web.ws
    found: dict[str | None, Task | None] = {None: None}

    def task_of(name: str | None) -> Task | None:
        if name not in found:
            try:
                found[name] = ws.dataset(name).task
            except NotFoundError:
                found[name] = None
        return found[name]

    return task_of


def _kind(task: Task | None) -> str | None:
    return None if task is None else task.kind


@router.get("/monitoring")
def monitoring(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """Every monitor: drift per column over its windows, and alerts."""
    monitors = queries.monitors(request.app.state.web.ws)
    for monitor in monitors:
        monitor["drift"] = drift_series(monitor["windows"])
        monitor["alerts"] = [
            {"window": w["number"], "alert": a}
            for w in monitor["windows"]
            for a in w["alerts"] or []
        ]
    context = {
        "title": "Monitoring",
        "status": "ok" if monitors else "not run yet",
        "hint": None
        if monitors
        else "run `assay monitor add NAME --reference DATASET@vN`, then `assay monitor ingest`",
        "monitors": monitors,
        "pages": {k: v[1] for k, v in ANALYSIS_PAGES.items()},
    }
    return render(request, "monitoring.html", context)
