"""Datasets: versions and log, item-level diffs, item pages and media."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from assay.exceptions import NotFoundError
from assay.web import queries
from assay.web.deps import Auth, require
from assay.web.items import item_view, label_history, media_file
from assay.web.params import Number, Offset
from assay.web.render import render

router = APIRouter()
PAGE = 50


@router.get("/datasets")
def datasets(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """Every dataset's latest version."""
    ws = request.app.state.web.ws
    rows = [v.to_dict() for v in ws.datasets()]
    return render(request, "datasets.html", {"datasets": rows})


def _rows(request: Request, name: str, number: int | None, offset: int) -> dict[str, Any]:
    web = request.app.state.web
    version = web.ws.dataset(f"{name}@v{number}" if number else name)
    table = web.cache.get(version).table
    shown = [c for c in version.columns if not c.startswith("pixel_")][:10]
    page = table.slice(offset, PAGE).select(shown).to_pylist()
    counts = table.column(version.roles.label).value_counts().to_pylist()
    return {
        "version": version.to_dict(),
        "columns": shown,
        "rows": page,
        "offset": offset,
        "page": PAGE,
        "label_counts": sorted(
            ({"label": c["values"], "count": c["counts"]} for c in counts),
            key=lambda c: str(c["label"]),
        ),
    }


@router.get("/datasets/{name}")
def dataset(
    request: Request,
    name: str,
    version: Number = None,
    offset: Offset = 0,
    auth: Auth = Depends(require("viewer")),
) -> Response:
    """A dataset: its log (newest first), label counts and a page of rows."""
    ws = request.app.state.web.ws
    log = [v.to_dict() for v in ws.log(name)]
    context = {"name": name, "log": log, **_rows(request, name, version, offset)}
    return render(request, "dataset.html", context)


@router.get("/datasets/{name}/diff")
def diff(
    request: Request,
    name: str,
    a: Number = None,
    b: Number = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 500,
    auth: Auth = Depends(require("viewer")),
) -> Response:
    """Item-level differences between versions ``a`` and ``b`` (default: the last two)."""
    ws = request.app.state.web.ws
    log = ws.log(name)
    b = b or log[0].number
    a = a or (log[1].number if len(log) > 1 else b)
    delta = ws.diff(f"{name}@v{a}", f"{name}@v{b}")
    context = {
        "name": name,
        "a": a,
        "b": b,
        "versions": [v.number for v in log],
        "summary": delta.summary(),
        "diff": delta.to_dict(limit=limit),
    }
    return render(request, "diff.html", context)


@router.get("/datasets/{name}/items/{item_id:path}")
def item(
    request: Request,
    name: str,
    item_id: str,
    version: Number = None,
    auth: Auth = Depends(require("viewer")),
) -> Response:
    """One item: its modality rendered, its labels across versions, its decisions."""
    web = request.app.state.web
    shown = web.ws.dataset(f"{name}@v{version}" if version else name)
    view = item_view(shown, web.cache, item_id)
    history = label_history(web.ws.log(name), item_id)
    if not any(h["present"] for h in history):
        raise NotFoundError(f"no item {item_id!r} in any version of {name!r}.")
    context = {
        "name": name,
        "item": view,
        "history": history,
        "decisions": queries.item_entries(web.ws, name, item_id),
    }
    return render(request, "item.html", context)


@router.get("/media/{name}/{path:path}")
def media(
    request: Request, name: str, path: str, auth: Auth = Depends(require("viewer"))
) -> Response:
    """A media file, only from the dataset's registered root (404 otherwise)."""
    version = request.app.state.web.ws.dataset(name)
    return FileResponse(
        media_file(version, path), headers={"Cache-Control": "private, max-age=3600"}
    )
