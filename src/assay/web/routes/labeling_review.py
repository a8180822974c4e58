"""The reviewer's side of labeling: live agreement, adjudication, applying the labels.

``/label/NAME/agreement`` shows agreement as the labels arrive (per class, per labeler
pair, with 95% intervals, the classes to revise, per label-book version, the disagreed
items): charts first, tables on demand; the page asks for its body
(``/label/NAME/agreement/live``) every few seconds and swaps it in when it changed.
``/label/NAME/adjudicate`` lists the disagreed items; each item's page shows every
label with who gave it, the item and the label book, and the reviewer decides with a
key. Applying writes a new dataset version whose items carry their labels (the
workflow stores who labeled, under which label-book version and how it was decided).
Everything here needs the reviewer role; a labeler is refused.

The plan's progress and its agreement come from one read of the labels
(:func:`~assay.workflows.labeling.read_labels`); a poll whose
:func:`~assay.workflows.labeling.labels_stamp` (counts and sums of the labels,
adjudications and label-book versions) is unchanged gets the last context without
computing agreement again; and a context is shared for :data:`SHARED_SECONDS` by every
reviewer polling the same plan in this process.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from assay.exceptions import InputError, NotFoundError
from assay.web import labeling_views as views
from assay.web.cache import TtlCache
from assay.web.deps import Auth, payload, require
from assay.web.queries import text_field
from assay.web.render import json_response, jsonable, render, wants_json
from assay.web.widgets import widget_for
from assay.workflows.labeling import (
    AdjudicationItem,
    adjudicate,
    adjudication_queue,
    apply_labels,
    labeling_status,
    labels_stamp,
    live_agreement,
    read_labels,
)

router = APIRouter()
#: Seconds between two reloads of the live agreement page's body.
POLL_SECONDS = 3
#: Seconds one computed agreement context serves every reviewer of the plan (this process).
SHARED_SECONDS = 2.0
#: Consensus methods offered when applying (see :func:`assay.workflows.labeling.apply_labels`).
METHODS = ("majority", "dawid-skene")


def _q(text: str) -> str:
    return quote(text, safe="")


def _shared(request: Request) -> TtlCache:
    """The agreement contexts computed lately in this process, by plan."""
    state = request.app.state
    if not hasattr(state, "labeling_agreements"):
        state.labeling_agreements = TtlCache(SHARED_SECONDS)
    return state.labeling_agreements  # type: ignore[no-any-return]


def _stamped(request: Request) -> dict[str, tuple[Any, dict[str, Any]]]:
    """The last agreement context of each plan, with the labels stamp it was computed at."""
    state = request.app.state
    if not hasattr(state, "labeling_stamped"):
        state.labeling_stamped = {}
    return state.labeling_stamped  # type: ignore[no-any-return]


def _forget(request: Request, name: str) -> None:
    """Compute the plan's agreement afresh on the next request."""
    _shared(request).forget(name)
    _stamped(request).pop(name, None)


def _agreement(request: Request, name: str) -> dict[str, Any]:
    """The live agreement context (shared for :data:`SHARED_SECONDS`)."""
    request.app.state.web.ws.dataset(name)  # a bad or unknown name: 400 or 404 first
    return dict(_shared(request).get(name, lambda: _unless_same(request, name)))


def _unless_same(request: Request, name: str) -> dict[str, Any]:
    """The last context when the labels stamp has not changed since (a poll with
    nothing new: a few counts read), else a fresh one."""
    stamp = labels_stamp(request.app.state.web.ws, name)  # read first: a label arriving
    last = _stamped(request).get(name)  # during the computation changes the next stamp
    if last is not None and last[0] == stamp:
        return last[1]
    context = _compute_agreement(request, name, stamp)
    _stamped(request)[name] = (stamp, context)
    return context


def _compute_agreement(request: Request, name: str, stamp: Any) -> dict[str, Any]:
    """The live agreement context, with a stamp that changes when anything shown does:
    the labels stamp (labels, adjudications, label-book versions) it was computed at,
    hashed (not the context, whose thousands of disagreed items cost ~30 ms to dump)."""
    ws = request.app.state.web.ws
    labels = read_labels(ws, name)  # one read for the progress and the agreement
    status = labeling_status(ws, name, labels=labels)
    view = views.agreement_view(live_agreement(ws, name, labels=labels))
    context = {
        "dataset": name,
        "plan": status.number,
        "labelers": [p.__dict__ | {"open": p.open} for p in status.labelers],
        "sample_items": status.sample_items,
        "sample_complete": status.sample_complete,
        "adjudicated": status.adjudicated,
        "poll_seconds": POLL_SECONDS,
        **view,
        "revise": [r for r in view["revise"] if (r.get("agreement") or 0) < 1],
    }
    blob = json.dumps(jsonable(stamp.__dict__), sort_keys=True, default=str).encode()
    context["stamp"] = hashlib.sha256(blob).hexdigest()[:16]
    return context


@router.get("/label/{name}/agreement")
def agreement_page(
    request: Request, name: str, auth: Auth = Depends(require("reviewer"))
) -> Response:
    """Agreement of the labels so far; the page reloads its body as labels arrive."""
    return render(request, "agreement_live.html", _agreement(request, name))


@router.get("/label/{name}/agreement/live")
def agreement_body(
    request: Request, name: str, auth: Auth = Depends(require("reviewer"))
) -> Response:
    """The body of the agreement page alone (what the page polls), or its JSON."""
    return render(request, "agreement_live_body.html", _agreement(request, name))


def _queue(request: Request, name: str) -> list[AdjudicationItem]:
    return adjudication_queue(request.app.state.web.ws, name)


@router.get("/label/{name}/adjudicate")
def adjudication_list(
    request: Request, name: str, auth: Auth = Depends(require("reviewer"))
) -> Response:
    """The disagreed items still to decide, and the form that applies the labels."""
    request.app.state.web.ws.dataset(name)  # a bad or unknown name: 400 or 404 first
    ws = request.app.state.web.ws
    status = labeling_status(ws, name)
    decided = [
        a for a in adjudication_queue(ws, name, include_decided=True) if a.adjudicated is not None
    ]
    context = {
        "dataset": name,
        "plan": status.number,
        "queue": [a.to_dict() for a in _queue(request, name)],
        "decided": [a.to_dict() for a in decided],
        "labeled_items": status.labeled_items,
        "items": status.items,
        "methods": list(METHODS),
    }
    return render(request, "adjudicate.html", context)


def _item_page(
    request: Request, name: str, item_id: str, *, error: str | None = None, status: int = 200
) -> Response:
    web = request.app.state.web
    web.ws.dataset(name)  # a bad or unknown name: 400 or 404 first
    views.check_item_id(item_id)
    found = next(
        (a for a in adjudication_queue(web.ws, name, include_decided=True) if a.item_id == item_id),
        None,
    )
    if found is None:
        raise NotFoundError(
            f"item {item_id!r} of {name!r} has no disagreeing labels to adjudicate; "
            f"see /label/{name}/adjudicate."
        )
    version = web.ws.dataset(name)
    book = views.latest_book(web.ws, name)
    kind = views.input_kind(widget_for(version.task).name)
    classes = views.class_choices(web.ws, name, book, web.cache, choose=kind == "choice")
    views.book_examples(version, web.cache, classes)
    remaining = [a.item_id for a in _queue(request, name)]
    context = {
        "dataset": name,
        "entry": found.to_dict(),
        "item": views.blind_item(version, web.cache, item_id),
        "classes": classes,
        "input": kind,
        "labelbook": None if book is None else {"version": book["version"]},
        "remaining": len(remaining),
        "error": error,
        "keys": "number or first letter = class · Enter = decide",
    }
    return render(request, "adjudicate_item.html", context, status=status)


@router.get("/label/{name}/adjudicate/{item_id:path}")
def adjudication_item(
    request: Request, name: str, item_id: str, auth: Auth = Depends(require("reviewer"))
) -> Response:
    """One disagreed item: every label with who gave it, the item, the label book."""
    return _item_page(request, name, item_id)


@router.post("/label/{name}/adjudicate/{item_id:path}")
def decide(
    request: Request, name: str, item_id: str, fields: dict = Depends(payload("reviewer"))
) -> Response:
    """Record the adjudicated label of the item, then go to the next disagreed one."""
    request.app.state.web.ws.dataset(name)  # a bad or unknown name: 400 or 404 first
    web = request.app.state.web
    auth: Auth = request.state.auth
    label = text_field(fields, "label")
    views.check_item_id(item_id)
    try:
        if label is None:
            raise InputError("choose the label of the item (its number or first letter).")
        done = adjudicate(web.ws, name, item_id, label, actor=auth.user.name)
        _forget(request, name)
    except InputError as exc:
        if wants_json(request) or auth.via == "token":
            raise
        return _item_page(request, name, item_id, error=str(exc), status=400)
    left = _queue(request, name)
    if wants_json(request) or auth.via == "token":
        return json_response(
            {"adjudication": done.to_dict(), "next": left[0].item_id if left else None}
        )
    target = f"/label/{_q(name)}/adjudicate"
    if left:
        target += f"/{_q(left[0].item_id)}"
    return RedirectResponse(target, status_code=303)


@router.post("/label/{name}/apply")
def apply(request: Request, name: str, fields: dict = Depends(payload("reviewer"))) -> Response:
    """Write the labels into a new version of the dataset, then show what was made."""
    request.app.state.web.ws.dataset(name)  # a bad or unknown name: 400 or 404 first
    web = request.app.state.web
    auth: Auth = request.state.auth
    method = text_field(fields, "method") or "majority"
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    message = text_field(fields, "message") or "labels from the labeling plan (web)"
    if len(message) > 2000:
        raise InputError(f"the message has {len(message)} characters; keep it under 2000.")
    applied = apply_labels(web.ws, name, actor=auth.user.name, message=message, method=method)
    _forget(request, name)
    version = web.ws.dataset(applied.version)
    context = {
        "dataset": name,
        "applied": applied.to_dict(),
        "number": version.number,
        "parent": version.parent_number,
    }
    if wants_json(request) or auth.via == "token":
        return json_response(context, status=201)
    return render(request, "adjudicate_applied.html", context, status=201)
