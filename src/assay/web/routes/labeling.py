"""Labeling in the browser: a labeler's blind queue, live agreement, adjudication.

A ``labeler`` (the lowest role) sees only ``/label`` (their queues), the labeling page
of a plan that names them, and the media of the item in front of them or of the label
book's examples; every other page refuses them. The labeling page and its JSON are
blind: they carry the labeler's own task (never another labeler's label, nor the
model's suggestion for an item of the agreement sample; see
:func:`assay.workflows.labeling.next_item`) and the label book. Reviewers watch
agreement as labels arrive (``/label/NAME/agreement``, which reloads its body every
few seconds), adjudicate the disagreed items and apply the labels as a new version.
Every label and decision is audit-logged by the workflow with the signed-in user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from assay.exceptions import InputError, NotFoundError
from assay.store.users import has_role
from assay.web import labeling_views as views
from assay.web.deps import Auth, Forbidden, payload, require
from assay.web.items import media_file
from assay.web.params import parse_int
from assay.web.queries import text_field
from assay.web.render import json_response, render, wants_json
from assay.web.widgets import widget_for
from assay.workflows.labeling import (
    LabelingTask,
    labeling_status,
    next_item,
    submit_label,
)

router = APIRouter()
#: The keys of the labeling page, in words: choosing a class, typing a label.
KEYS = {
    True: "number or first letter = class · Enter = submit · s = skip · "
    "u = unsure (then type why) · Esc leaves a text field",
    False: "type the label · Enter = submit · Esc leaves the field, then s = skip, "
    "u = unsure (then type why)",
}


def _path(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def _my_task(request: Request, name: str, auth: Auth) -> LabelingTask | None:
    """The signed-in user's next item of ``name``; 403 when the plan does not name them."""
    request.app.state.web.ws.dataset(name)  # a bad or unknown name: 400 or 404 first
    try:
        return next_item(request.app.state.web.ws, name, auth.user.name)
    except InputError as exc:  # not a labeler of this plan
        raise Forbidden(f"{auth.user.name} has no labeling queue in {name!r}: {exc}") from exc


def _progress(task: LabelingTask | None, request: Request, name: str, user: str) -> dict:
    """Labeled (and skipped) items of the user's queue, of how many."""
    if task is not None:
        done = task.total - task.remaining
        return {"done": done, "total": task.total, "skipped": None, "remaining": task.remaining}
    status = labeling_status(request.app.state.web.ws, name)
    mine = next((p for p in status.labelers if p.labeler == user), None)
    if mine is None:
        return {"done": 0, "total": 0, "skipped": 0, "remaining": 0}
    return {
        "done": mine.done + mine.skipped,
        "total": mine.assigned,
        "skipped": mine.skipped,
        "remaining": mine.open,
    }


def _label_page(
    request: Request,
    name: str,
    auth: Auth,
    *,
    error: str | None = None,
    typed: Any = None,
    saved: str | None = None,
    status: int = 200,
) -> Response:
    """The labeling page: the next item of the user's own queue, blind, beside the label
    book of the current version; JSON carries the same and nothing more."""
    web = request.app.state.web
    task = _my_task(request, name, auth)
    version = web.ws.dataset(name)
    book = views.latest_book(web.ws, name)
    widget = widget_for(version.task)
    choose = views.input_kind(widget.name) == "choice"
    classes = views.class_choices(web.ws, name, book, web.cache, choose=choose)
    views.book_examples(version, web.cache, classes)
    context: dict[str, Any] = {
        "dataset": name,
        "labeler": auth.user.name,
        "progress": _progress(task, request, name, auth.user.name),
        "task": None,
        "item": None,
        "input": views.input_kind(widget.name),
        "input_name": views.TEXT_INPUT.get(widget.name),
        "classes": classes,
        "labelbook": None
        if book is None
        else {"version": book["version"], "message": book.get("message")},
        "suggestion": None,
        "error": error,
        "typed": typed,
        "saved": saved,
        "keys": KEYS[choose],
    }
    if task is not None:
        context["task"] = {
            "item_id": task.item_id,
            "position": task.position,
            "labelbook_version": task.labelbook_version,
        }
        context["item"] = views.blind_item(version, web.cache, task.item_id)
        context["suggestion"] = task.prefill  # None in the agreement sample
    return render(request, "label.html", context, status=status)


@router.get("/label")
def label_home(request: Request, auth: Auth = Depends(require("labeler"))) -> Response:
    """The signed-in user's labeling queues; for reviewers, every plan too."""
    ws = request.app.state.web.ws
    queues, projects = [], []
    reviewer = has_role(auth.user.role, "reviewer")
    for version in ws.datasets():
        try:
            status = labeling_status(ws, version.name)
        except NotFoundError:
            continue  # no labeling plan
        mine = next((p for p in status.labelers if p.labeler == auth.user.name), None)
        if mine is not None:
            queues.append(
                {
                    "dataset": version.name,
                    "done": mine.done,
                    "skipped": mine.skipped,
                    "total": mine.assigned,
                    "remaining": mine.open,
                }
            )
        if reviewer:
            projects.append(
                {
                    "dataset": version.name,
                    "plan": status.number,
                    "labelers": [p.labeler for p in status.labelers],
                    "done": sum(p.done for p in status.labelers),
                    "total": sum(p.assigned for p in status.labelers),
                    "disagreed": status.disagreed,
                    "adjudicated": status.adjudicated,
                }
            )
    return render(request, "label_home.html", {"queues": queues, "projects": projects})


@router.get("/label/{name}")
def label_page(request: Request, name: str, auth: Auth = Depends(require("labeler"))) -> Response:
    """The next item of the signed-in user's own queue in dataset ``name``."""
    saved = request.query_params.get("saved")
    return _label_page(request, name, auth, saved=saved[:200] if saved else None)


def _flag(fields: dict[str, Any], key: str) -> bool:
    value = fields.get(key)
    if value in (None, "", False, 0, "0", "false", "no", "off"):
        return False
    if value in (True, 1, "1", "true", "yes", "on"):
        return True
    raise InputError(f"the field {key!r} must be 1 or 0 (yes or no); got {value!r}.")


def _optional_int(fields: dict[str, Any], key: str, minimum: int, hint: str) -> int | None:
    value = fields.get(key)
    if value in (None, ""):
        return None
    return parse_int(value, key, minimum=minimum, hint=hint)


@router.post("/label/{name}/submit")
def submit(request: Request, name: str, fields: dict = Depends(payload("labeler"))) -> Response:
    """Store the signed-in user's label of an item of their queue, then show the next.

    A label the plan refuses (not a class of the label book, an item outside the user's
    queue, no label and no skip) shows the page again with the one-line error.
    """
    web = request.app.state.web
    auth: Auth = request.state.auth
    _my_task(request, name, auth)  # 403 unless the plan names the user
    item_id = text_field(fields, "item_id")
    label = text_field(fields, "label")
    try:
        if item_id is None:
            raise InputError("the field 'item_id' is missing; it names the item you labeled.")
        views.check_item_id(item_id)
        saved = submit_label(
            web.ws,
            name,
            auth.user.name,
            item_id,
            label,
            unsure=_flag(fields, "unsure"),
            skip=_flag(fields, "skip"),
            note=text_field(fields, "note"),
            labelbook_version=_optional_int(
                fields, "labelbook_version", 1, "the label book version you followed"
            ),
            expected_revision=_optional_int(
                fields, "expected_revision", 0, "the revision of your label you are changing"
            ),
        )
    except InputError as exc:
        if wants_json(request) or auth.via == "token":
            raise
        return _label_page(request, name, auth, error=str(exc), typed=label, status=400)
    if wants_json(request) or auth.via == "token":
        found = _my_task(request, name, auth)
        return json_response(
            {"label": saved.to_dict(), "next": None if found is None else found.item_id}
        )
    what = "skipped" if saved.skipped else f"as {saved.label}"
    return RedirectResponse(
        f"/label/{_path(name)}?saved={_path(f'{saved.item_id} {what}')}", status_code=303
    )


def _may_see_media(request: Request, name: str, item_id: str, auth: Auth) -> bool:
    """Reviewers see any item; a labeler the item in front of them and the label
    book's examples."""
    if has_role(auth.user.role, "viewer"):
        return True
    task = _my_task(request, name, auth)
    if task is not None and task.item_id == item_id:
        return True
    web = request.app.state.web
    book = views.latest_book(web.ws, name)
    return item_id in views.example_ids(
        views.class_choices(web.ws, name, book, web.cache, choose=False)
    )


@router.get("/label/{name}/items/{item_id:path}/media")
def item_media(
    request: Request, name: str, item_id: str, auth: Auth = Depends(require("labeler"))
) -> Response:
    """The media file of an item, by item id (its path may name a class folder)."""
    views.check_item_id(item_id)
    if not _may_see_media(request, name, item_id, auth):
        raise Forbidden("this item is not the one in front of you; label it when it comes.")
    web = request.app.state.web
    version = web.ws.dataset(name)
    row = web.cache.get(version).row(item_id)
    path = None if row is None or not version.roles.media else row.get(version.roles.media)
    if not isinstance(path, str):
        raise NotFoundError(f"item {item_id!r} of {name!r} has no media file.")
    return FileResponse(media_file(version, path), headers={"Cache-Control": "private"})
