"""The review queue: filtered lists, one item at a time, decisions, undo, bulk, apply.

Every decision names the revision of the entry the reviewer saw; when someone else
decided first, the decision is refused with 409 and a message saying who did what, so
no decision is silently lost. Decisions are audit-logged with the signed-in user.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store.datasets import DatasetVersion
from assay.store.review import ACTIONS
from assay.web import queries
from assay.web.deps import Auth, payload, require
from assay.web.items import item_view
from assay.web.params import MAX_INT, Id, Offset, parse_int
from assay.web.queries import QueueFilter
from assay.web.render import json_response, render, wants_json
from assay.web.transcript_view import add_production_clip, production_clip
from assay.web.widgets import widget_for
from assay.workflows.review import (
    ItemCheck,
    apply_decisions,
    check_bulk_action,
    decide_bulk,
    decide_entry,
)

router = APIRouter()


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _with(url: str, flt: QueueFilter) -> str:
    query = flt.to_query()
    return f"{url}?{query}" if query else url


@router.get("/review")
def review_home(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """Open, decided and applied entries per dataset."""
    ws = request.app.state.web.ws
    return render(request, "review_home.html", {"queues": queries.queue_summary(ws)})


@router.get("/review/{name}")
def review_list(
    request: Request, name: str, offset: Offset = 0, auth: Auth = Depends(require("viewer"))
) -> Response:
    """Open entries of a dataset matching the filters, most suspicious first."""
    ws = request.app.state.web.ws
    flt = QueueFilter.from_params(request.query_params)
    entries, total = queries.queue_page(ws, name, flt, offset=offset)
    summary = next((q for q in queries.queue_summary(ws) if q["dataset"] == name), {})
    waiting = ws.review.production_waiting(name) if summary.get("decided") else {}
    context = {
        "dataset": name,
        "filters": flt.__dict__,
        "filter_query": flt.to_query(),
        "facets": queries.facets(ws, name),
        "total": total,
        "offset": offset,
        "entries": entries,
        "decided": summary.get("decided", 0),
        "applied": summary.get("applied", 0),
        "production": sum(waiting.values()),
        "actions": list(ACTIONS),
    }
    return render(request, "review_list.html", context)


@router.get("/review/{name}/next")
def review_next(
    request: Request,
    name: str,
    after: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    auth: Auth = Depends(require("viewer")),
) -> Response:
    """Go to the next open entry after ``after`` (or the first one)."""
    flt = QueueFilter.from_params(request.query_params)
    found = queries.next_entry(request.app.state.web.ws, name, flt, after=after)
    if wants_json(request):
        return json_response({"next": found})
    if found is None:
        return _redirect(_with(f"/review/{name}", flt))
    return _redirect(_with(f"/review/entry/{found}", flt))


def _entry_response(
    request: Request,
    entry_id: int,
    flt: QueueFilter,
    *,
    error: str | None = None,
    typed: Any = None,
    status: int = 200,
) -> Response:
    """The review page of one entry; with ``error``, shown again over what was posted."""
    web = request.app.state.web
    auth: Auth = request.state.auth
    page = queries.entry_page(web.ws, entry_id, flt)
    if page is None:
        raise NotFoundError(f"no review entry #{entry_id}.")
    found, book, remaining, version = page
    widget = widget_for(version.task)
    decide = widget.decide(found, version, web.cache.get(version), book, typed)
    context = {
        "entry": found,
        "dataset": found["dataset"],
        "kind": version.task.kind,
        "item": add_production_clip(
            item_view(version, web.cache, found["item_id"], fallback=found["payload"].get("row")),
            found,
        ),
        "given": widget.show(found["given_label"]),
        "suggested": widget.show(found["suggested_label"], found["given_label"]),
        "decided": widget.show(found["decision_label"], found["given_label"]),
        "classes": decide.pop("classes"),
        "widget": widget.name,
        "decide": decide,
        "error": error,
        "labelbook": book,
        "filters": flt.__dict__,
        "filter_query": flt.to_query(),
        "remaining": remaining,
        "can_decide": auth.user.role in ("reviewer", "admin"),
    }
    return render(request, "review_entry.html", context, status=status)


@router.get("/review/entry/{entry_id}/clip")
def review_entry_clip(
    request: Request, entry_id: Id, auth: Auth = Depends(require("viewer"))
) -> Response:
    """The production clip a ``drift_sample`` entry was sampled from (404 otherwise:
    only files the monitor recorded are served)."""
    clip = production_clip(request.app.state.web.ws.review.get(entry_id))
    if clip is None:
        raise NotFoundError(f"review entry #{entry_id} has no production clip to play.")
    return FileResponse(clip, headers={"Cache-Control": "private"})


@router.get("/review/entry/{entry_id}")
def review_entry(
    request: Request, entry_id: Id, auth: Auth = Depends(require("viewer"))
) -> Response:
    """One entry: the item, the label book beside it, and the decision widget the
    dataset's task names (``widget``: ``templates/widgets/<widget>.html``)."""
    return _entry_response(request, entry_id, QueueFilter.from_params(request.query_params))


def _revision(fields: dict[str, Any]) -> int | None:
    value = fields.get("revision")
    if value in (None, ""):
        return None
    return parse_int(value, "revision", minimum=0, hint="the entry's revision you saw")


def _conflict(request: Request, entry_id: int, exc: ConflictError, flt: QueueFilter) -> Response:
    current = queries.get_entry(request.app.state.web.ws, entry_id)
    context = {"error": str(exc), "status": 409, "entry": current, "filter_query": flt.to_query()}
    return render(request, "conflict.html", context, status=409)


def _posted_label(fields: dict[str, Any]) -> Any:
    """The new label a widget posted: ``relabel[]`` (the members of a set; a hidden
    empty value keeps an empty set) or a list in ``relabel`` (JSON), else ``relabel``
    (a class button, a number field), else ``label`` (API clients); the task coerces it."""
    members = fields.get("relabel[]", fields.get("relabel"))
    if "relabel[]" in fields or isinstance(members, list):
        members = members if isinstance(members, list) else [members]
        return [queries.text_field({"m": v}, "m") for v in members if v not in (None, "")]
    relabel = queries.text_field(fields, "relabel")
    return relabel if relabel is not None else queries.text_field(fields, "label")


def _check_for_item(request: Request, label: Any) -> ItemCheck:
    """The widget's check of a new label against its item (boxes inside the image);
    ``decide_entry`` calls it with the entry and version it reads for its own check."""
    web = request.app.state.web

    def check(found: dict[str, Any], version: DatasetVersion) -> None:
        widget_for(version.task).check(label, web.cache.get(version).row(str(found["item_id"])))

    return check


@router.post("/review/entry/{entry_id}/decide")
def decide(
    request: Request,
    entry_id: Id,
    fields: dict = Depends(payload("reviewer")),
) -> Response:
    """Record relabel / remove / keep on an entry, then go to the next one.

    A label the dataset's task refuses (not a number, an unknown tag, outside the
    label book's range) shows the page again with the one-line error; nothing is written.
    """
    web = request.app.state.web
    auth: Auth = request.state.auth
    flt = QueueFilter.from_params(fields)
    action, label = str(fields.get("action", "")), _posted_label(fields)
    if action == "" and label is not None:  # a class button of the review page
        action = "relabel"
    note = queries.text_field(fields, "note")
    try:
        done = decide_entry(
            web.ws, entry_id, action, label=label if action == "relabel" else None,
            note=note, user=auth.user.name, revision=_revision(fields),
            check=_check_for_item(request, label),
        )
    except ConflictError as exc:
        return _conflict(request, entry_id, exc, flt)
    except InputError as exc:
        if wants_json(request) or auth.via == "token":
            raise
        return _entry_response(request, entry_id, flt, error=str(exc), typed=label, status=400)
    if wants_json(request) or auth.via == "token":
        found = queries.next_entry(web.ws, done["dataset"], flt, after=entry_id)
        return json_response({"entry": done, "next": found})
    query = flt.to_query()
    return _redirect(
        f"/review/{done['dataset']}/next?after={entry_id}" + (f"&{query}" if query else "")
    )


@router.post("/review/{name}/undo")
def undo(request: Request, name: str, fields: dict = Depends(payload("reviewer"))) -> Response:
    """Reopen your most recent decision in this dataset (not yet applied)."""
    web = request.app.state.web
    auth: Auth = request.state.auth
    flt = QueueFilter.from_params(fields)
    last = queries.last_decided(web.ws, name, auth.user.name)
    if last is None:
        raise NotFoundError(f"you have no decision in {name!r} left to undo (applied ones stay).")
    try:
        reopened = web.ws.review.undo(last["id"], user=auth.user.name, revision=last["revision"])
    except ConflictError as exc:
        return _conflict(request, last["id"], exc, flt)
    if wants_json(request) or auth.via == "token":
        return json_response({"entry": reopened})
    return _redirect(_with(f"/review/entry/{last['id']}", flt))


def _bulk_targets(fields: dict[str, Any]) -> list[tuple[int, int | None]]:
    raw = fields.get("entries[]", fields.get("entries", []))
    raw = raw if isinstance(raw, list) else [raw]
    out = []
    hint = "bulk entries are ID:REVISION, as the review list sends them"
    for value in raw:
        entry_id, _, revision = str(value).partition(":")
        out.append(
            (
                parse_int(entry_id, "entry id", hint=hint),
                parse_int(revision, "revision", minimum=0, hint=hint) if revision else None,
            )
        )
    if not out:
        raise InputError("select at least one entry for a bulk action.")
    return out


@router.post("/review/{name}/bulk")
def bulk(request: Request, name: str, fields: dict = Depends(payload("reviewer"))) -> Response:
    """The same decision on many entries; each is checked for conflicts on its own."""
    auth: Auth = request.state.auth
    action = check_bulk_action(str(fields.get("action", "")))  # before the entries
    outcome = decide_bulk(
        request.app.state.web.ws, name, action, _bulk_targets(fields),
        label=queries.text_field(fields, "label"), user=auth.user.name,
    )
    done, conflicts = outcome.decided, outcome.conflicts
    context = {"dataset": name, "action": action, "decided": done, "conflicts": conflicts}
    return render(request, "bulk.html", context, status=409 if conflicts and not done else 200)


@router.post("/review/{name}/apply")
def apply(request: Request, name: str, fields: dict = Depends(payload("reviewer"))) -> Response:
    """Turn the decided entries into a new version, then show its diff."""
    web = request.app.state.web
    auth: Auth = request.state.auth
    version = apply_decisions(
        web.ws, name, user=auth.user.name, message=fields.get("message") or None
    )
    return _applied(request, auth, name, version)


@router.post("/review/{name}/apply-production")
def apply_production(
    request: Request, name: str, fields: dict = Depends(payload("reviewer"))
) -> Response:
    """Add the kept and relabeled production items (monitor samples, clips) as new rows
    of a new version, then show its diff: ``assay review apply NAME --production``."""
    web = request.app.state.web
    auth: Auth = request.state.auth
    version = apply_decisions(
        web.ws, name, user=auth.user.name, message=fields.get("message") or None,
        production=True,
    )
    return _applied(request, auth, name, version)


def _applied(request: Request, auth: Auth, name: str, version: Any) -> Response:
    """The new version as JSON (an API client), else a redirect to its diff."""
    if wants_json(request) or auth.via == "token":
        return json_response({"version": version.to_dict()})
    parent = version.parent_number or version.number
    return _redirect(f"/datasets/{name}/diff?a={parent}&b={version.number}")
