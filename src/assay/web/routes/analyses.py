"""Analysis pages: the recorded analyses of one kind, and monitoring.

A page for a capability with nothing recorded says so, with the command to run; it
never shows made-up numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from assay.exceptions import AssayError, NotFoundError
from assay.store import models as m
from assay.store.workspace import Workspace
from assay.tasks import Task
from assay.web import dashboards, queries
from assay.web.deps import Auth, require
from assay.web.items import item_view
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
    context: dict[str, Any] = {
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
    if slug == "experiments":
        names = dashboards.experiment_names(runs)
        for r in context["runs"]:
            r["name"] = names.get(r["id"])
    context["view"] = _view(request, slug, runs, shown, context["headlines"]) if shown else None
    return render(request, "analysis.html", context)


def _thumb_maker(request: Request) -> dashboards.Thumb:
    """``thumb(version, item_id)``: the item's pixels, text snippet or media link."""
    web = request.app.state.web
    versions: dict[str, Any] = {}

    def thumb(version: str | None, item_id: Any) -> dict[str, Any]:
        if version is None or item_id is None:
            return {}
        try:
            if version not in versions:
                versions[version] = web.ws.dataset(version)
            view = item_view(versions[version], web.cache, str(item_id))
        except AssayError:
            return {}
        text = view["text"]
        return {
            "pixels": view["pixels"],
            "snippet": None if not isinstance(text, str) else text[:140],
            "media_url": view["media_url"] if view["media_kind"] == "image" else None,
            "link": f"/datasets/{versions[version].name}/items/{item_id}",
        }

    return thumb


def _view(
    request: Request,
    slug: str,
    runs: list[dict[str, Any]],
    shown: dict[str, Any],
    headlines: dict[str, Any],
) -> dict[str, Any] | None:
    """The designed page's data for a kind with one (None: the generic page)."""
    ws = request.app.state.web.ws
    thumb = _thumb_maker(request)
    version = shown.get("version")
    if slug == "agreement":
        detail, _ = dashboards.safe_detail(lambda: _agreement_detail(request, shown))
        return dashboards.agreement_view(runs, shown, detail, thumb)
    if slug == "audit":
        curves = [c for c in ws.analyses("curve") if c["dataset"] == shown["dataset"]]
        curve = next((c for c in curves if c.get("version") == version), None)
        curve = curve or (curves[0] if curves else None)
        flagged = _flagged_entries(ws, shown["dataset"]) if shown["dataset"] else []
        counts = _source_counts(ws, shown["dataset"]) if shown["dataset"] else {}
        return dashboards.audit_view(shown, curve, counts, flagged, thumb)
    if slug == "slices":
        return dashboards.slices_view(shown)
    if slug == "curve":
        audit = next((a for a in ws.analyses("audit") if a.get("version") == version), None)
        return dashboards.curve_view(shown, audit)
    if slug == "experiments":
        return _experiments(request, runs, headlines)
    return None


def _agreement_detail(request: Request, shown: dict[str, Any]) -> Any:
    from assay.collect.agreement import agreement

    if not shown["dataset"]:
        return None
    frame = request.app.state.web.ws.annotations.load(shown["dataset"])
    book = shown["result"].get("labelbook_version")
    if book is not None and "labelbook_version" in frame:
        frame = frame[frame["labelbook_version"] == book]
    if frame.empty:
        return None
    return agreement(frame[["item", "annotator", "label"]], ci=False, allow_new=True)


def _experiments(
    request: Request, runs: list[dict[str, Any]], headlines: dict[str, Any]
) -> dict[str, Any]:
    names = dashboards.experiment_names(runs)
    ordered = sorted(runs, key=lambda r: r["id"])
    a = request.query_params.get("a") or (names[ordered[0]["id"]] if ordered else None)
    b = request.query_params.get("b") or (names[ordered[-1]["id"]] if ordered else None)
    comparison, problem = None, None
    if a and b and a != b:
        found, problem = dashboards.safe_detail(
            lambda: request.app.state.web.ws.experiments.compare(a, b).to_dict(limit=12)
        )
        comparison = found
    elif len(ordered) < 2:
        problem = "one experiment so far: train another to compare (assay train ...)"
    else:
        problem = f"{a} compared with itself: pick two different experiments"
    return dashboards.experiments_view(runs, headlines, comparison, problem)


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
        monitor["view"] = dashboards.monitor_view(monitor)
        if not any(v is not None for vals in monitor["view"]["drift"].values() for v in vals):
            monitor["view"]["drift"] = monitor["drift"]
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


_FLAGGED = ("outlier", "near_duplicate", "exact_duplicate")


def _source_counts(ws: Workspace, dataset: str) -> dict[str, dict[str, int]]:
    """Review entries of ``dataset`` per source and status (open, decided, applied)."""
    r = m.ReviewItem
    with ws.session(readonly=True) as s:
        rows = s.execute(
            select(r.source, r.status, func.count(r.id))
            .join(m.Dataset, m.Dataset.id == r.dataset_id)
            .where(m.Dataset.name == dataset)
            .group_by(r.source, r.status)
        ).all()
    out: dict[str, dict[str, int]] = {}
    for source, status, n in rows:
        out.setdefault(str(source), {"open": 0, "decided": 0, "applied": 0})[str(status)] = int(n)
    return out


def _flagged_entries(ws: Workspace, dataset: str) -> list[dict[str, Any]]:
    """The outlier and duplicate entries of ``dataset`` (highest score first), with the
    item each duplicate duplicates when the entry names it."""
    r = m.ReviewItem
    with ws.session(readonly=True) as s:
        rows = s.scalars(
            select(r)
            .join(m.Dataset, m.Dataset.id == r.dataset_id)
            .where(m.Dataset.name == dataset, r.source.in_(_FLAGGED))
            .order_by(r.score.desc())
            .limit(12)
        ).all()
        return [
            {
                "item": x.item_id,
                "check": x.source.replace("_", " "),
                "reason": (x.reason or "")[:160],
                "status": x.status,
                "partner": (x.payload or {}).get("partner"),
            }
            for x in rows
        ]
