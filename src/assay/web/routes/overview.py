"""The overview: the workspace's "good data" scorecard, and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from assay.web import queries
from assay.web.deps import Auth, require
from assay.web.render import render
from assay.web.summaries import scorecard

router = APIRouter()


def _production(request: Request) -> dict[str, Any]:
    """The production tile: the last window of each monitor and its alerts."""
    monitors = queries.monitors(request.app.state.web.ws, windows=1)
    tile: dict[str, Any] = {"name": "feedback from production", "title": "Monitoring",
                            "link": "/monitoring"}
    if not monitors:
        return {**tile, "status": "not run yet",
                "hint": "run `assay monitor create NAME --reference DATASET@vN`, then ingest"}
    last = [(m["name"], m["windows"][-1] if m["windows"] else None) for m in monitors]
    alerts = [a for _, w in last if w for a in (w["alerts"] or [])]
    return {
        **tile,
        "status": "ok",
        "headline": [("monitors", len(monitors)), ("active alerts", len(alerts))]
        + [(f"{name}: last window", f"#{w['number']} ({w['rows']} rows)" if w else "none yet")
           for name, w in last],
    }


@router.get("/")
def overview(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """The scorecard, datasets and the review queue at a glance."""
    ws = request.app.state.web.ws
    tiles = scorecard(lambda kind: ws.analyses(kind))
    tiles.append(_production(request))
    datasets = [
        {"name": v.name, "latest": v.ref, "rows": v.n_rows, "modality": v.modality,
         "created_at": v.created_at}
        for v in ws.datasets()
    ]
    context = {
        "workspace": ws.location,
        "scorecard": tiles,
        "datasets": datasets,
        "queue": queries.queue_summary(ws),
    }
    return render(request, "overview.html", context)


@router.get("/audit")
def audit(request: Request, auth: Auth = Depends(require("admin"))) -> Response:
    """Who did what: the newest audit-log records (admins only)."""
    ws = request.app.state.web.ws
    return render(request, "audit.html", {"records": queries.audit_log(ws)})
