"""One context dict per page, rendered as HTML (Jinja2, autoescaped) or as JSON.

Like Datasette's views: a route builds a JSON-safe ``context`` and calls
:func:`render`; ``?format=json`` or an ``Accept: application/json`` header gets the
context itself, anything else gets the template filled with it. Template-only values
(the user, the CSRF token) are passed beside the context, never inside it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from assay._json import jsonable
from assay.web import charts, dashboards

__all__ = ["json_response", "jsonable", "make_env", "render", "wants_json"]

TEMPLATES = Path(__file__).with_name("templates")


def make_env() -> Environment:
    """The Jinja2 environment: autoescape on for every template."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["num"] = _num
    env.filters["pct"] = lambda v, d=1: dashboards.percent(v, d)
    env.filters["dt"] = _dt
    env.filters["tojson_pretty"] = lambda v: json.dumps(jsonable(v), indent=2)
    env.globals.update(
        pixel_svg=charts.pixel_svg,
        pixel_values=charts.pixel_values,
        heatmap_svg=charts.heatmap_svg,
        bar_svg=charts.bar_svg,
        line_svg=charts.line_svg,
        metric_svg=charts.metric_svg,
        fig=charts.figure,
    )
    env.tests["mapping"] = lambda v: isinstance(v, dict)
    env.tests["sequence"] = lambda v: isinstance(v, (list, tuple))
    return env


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(float(value)) else f"{float(value):.{digits}g}"
    return str(value)


def _dt(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)[:16].replace("T", " ")


def wants_json(request: Request) -> bool:
    """``?format=json``, an Accept header that prefers JSON to HTML, or an ``/api/`` path."""
    if request.url.path.startswith("/api/"):
        return True
    fmt = request.query_params.get("format")
    if fmt is not None:
        return fmt == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> Response:
    """The page: JSON of ``context``, or ``template`` rendered with it."""
    if wants_json(request):
        return JSONResponse(jsonable(context), status_code=status)
    web = request.app.state.web
    auth = getattr(request.state, "auth", None)
    html = web.env.get_template(template).render(
        c=context,
        user=auth.user if auth else None,
        csrf_token=auth.csrf if auth else getattr(request.state, "csrf", ""),
        path=request.url.path,
        query=str(request.url.query),
    )
    return HTMLResponse(html, status_code=status)


def json_response(context: dict[str, Any], *, status: int = 200) -> Response:
    """``context`` as JSON, for answers that have no HTML page."""
    return JSONResponse(jsonable(context), status_code=status)
