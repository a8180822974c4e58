"""The overview (the "good data" scorecard), the audit log and user management."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from assay.store.users import ROLES, add_user, list_users
from assay.web import dashboards, queries
from assay.web.deps import Auth, payload, require
from assay.web.render import render
from assay.web.summaries import scorecard

router = APIRouter()


def _production(request: Request) -> dict[str, Any]:
    """The production tile: the last window of each monitor and its alerts."""
    monitors = queries.monitors(request.app.state.web.ws, windows=1)
    tile: dict[str, Any] = {
        "name": "feedback from production",
        "title": "Monitoring",
        "link": "/monitoring",
    }
    if not monitors:
        return {
            **tile,
            "status": "not run yet",
            "hint": "run `assay monitor add NAME --reference DATASET@vN`, then ingest",
        }
    last = [(m["name"], m["windows"][-1] if m["windows"] else None) for m in monitors]
    alerts = [a for _, w in last if w for a in (w["alerts"] or [])]
    return {
        **tile,
        "status": "ok",
        "headline": [("monitors", len(monitors)), ("active alerts", len(alerts))]
        + [
            (f"{name}: last window", f"#{w['number']} ({w['rows']} rows)" if w else "none yet")
            for name, w in last
        ],
    }


@router.get("/")
def overview(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """The scorecard, datasets and the review queue at a glance."""
    ws = request.app.state.web.ws
    tiles = scorecard(lambda kind: ws.analyses(kind))
    tiles.append(_production(request))
    audits, curves = ws.analyses("audit"), ws.analyses("curve")
    cards = [
        dashboards.consistency_card(ws.analyses("agreement")),
        dashboards.quality_card(audits, curves),
        dashboards.coverage_card(ws.analyses("slices")),
        dashboards.size_card(curves, audits),
        dashboards.production_card(queries.monitors(ws, windows=2)),
    ]
    datasets = [
        {
            "name": v.name,
            "latest": v.ref,
            "rows": v.n_rows,
            "modality": v.modality,
            "task": v.task.kind,
            "created_at": v.created_at,
        }
        for v in ws.datasets()
    ]
    context = {
        "workspace": ws.location,
        "cards": cards,
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


@router.get("/users")
def users(request: Request, auth: Auth = Depends(require("admin"))) -> Response:
    """Users and roles, and a form to add one (admins only)."""
    ws = request.app.state.web.ws
    return render(request, "users.html", {"users": list_users(ws), "roles": list(ROLES)})


@router.post("/users")
def add(request: Request, fields: dict = Depends(payload("admin"))) -> Response:
    """Add a user (audit-logged with the admin who did it)."""
    auth: Auth = request.state.auth
    add_user(
        request.app.state.web.ws,
        str(fields.get("name", "")),
        role=str(fields.get("role", "")),
        password=str(fields.get("password", "")),
        actor=auth.user.name,
    )
    return RedirectResponse("/users", status_code=303)
