"""Datasets: versions and log, item-level diffs, item pages and media."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from assay.exceptions import NotFoundError
from assay.tasks import Task
from assay.web import queries
from assay.web.deps import Auth, require
from assay.web.items import item_view, label_history, media_file
from assay.web.params import Number, Offset
from assay.web.render import render
from assay.web.widgets import widget_for

router = APIRouter()
PAGE = 50


@router.get("/datasets")
def datasets(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """Every dataset's latest version."""
    ws = request.app.state.web.ws
    rows = [{**v.to_dict(), "task": v.task.kind} for v in ws.datasets()]
    return render(request, "datasets.html", {"datasets": rows})


def _rows(request: Request, name: str, number: int | None, offset: int) -> dict[str, Any]:
    web = request.app.state.web
    version = web.ws.dataset(f"{name}@v{number}" if number else name)
    table = web.cache.get(version).table
    shown = [c for c in version.columns if not c.startswith("pixel_")][:10]
    page = table.slice(offset, PAGE).select(shown).to_pylist()
    widget = widget_for(version.task)
    label = version.roles.label
    return {
        "version": version.to_dict(),
        "kind": version.task.kind,
        "columns": shown,
        "rows": page,
        "labels": [widget.show(r.get(label)) for r in page],
        "offset": offset,
        "page": PAGE,
        "label_counts": widget.counts(table.column(label)),
        "label_summary": _summary(version.task, table.column(label)),
    }


def _summary(task: Task, column: Any) -> dict[str, Any]:
    """The task's description of the labels (e.g. mean and quartiles of numbers)."""
    found = task.describe_labels(column.to_pandas())
    return {"columns": list(found.columns), "rows": found.rows}


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
    found = delta.to_dict(limit=limit)
    task = ws.dataset(f"{name}@v{b}").task
    widget = widget_for(task)
    context = {
        "name": name,
        "a": a,
        "b": b,
        "versions": [v.number for v in log],
        "summary": delta.summary(),
        "diff": found,
        "relabeled": [
            {
                "old": widget.show(r["old_label"]),
                "new": widget.show(r["new_label"], r["old_label"]),
                "change": task.describe_change(r["old_label"], r["new_label"]),
            }
            for r in found.get("relabeled", [])
        ],
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
        "kind": shown.task.kind,
        "item": view,
        "label": widget_for(shown.task).show(view["label"]),
        "history": history,
        "decisions": queries.item_entries(web.ws, name, item_id),
    }
    _add_views(shown.task, context)
    return render(request, "item.html", context)


def _add_views(task: Task, context: dict[str, Any]) -> None:
    """Each label of the item page as its widget shows it: a version's label against
    the version before, a decision's labels against the given one."""
    widget = widget_for(task)
    history = context["history"]
    for h, older in zip(history, history[1:] + [None], strict=True):
        before = older["label"] if older and older["present"] else None
        h["shown"] = widget.show(h["label"], before)
    for e in context["decisions"]:
        e["shown"] = {
            "given": widget.show(e["given_label"]),
            "suggested": widget.show(e["suggested_label"], e["given_label"]),
            "decision": widget.show(e["decision_label"], e["given_label"]),
        }


@router.get("/media/{name}/{path:path}")
def media(
    request: Request, name: str, path: str, auth: Auth = Depends(require("viewer"))
) -> Response:
    """A media file, only from the dataset's registered root (404 otherwise)."""
    version = request.app.state.web.ws.dataset(name)
    return FileResponse(
        media_file(version, path), headers={"Cache-Control": "private, max-age=3600"}
    )
