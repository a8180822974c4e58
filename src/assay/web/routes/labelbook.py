"""The label book in the browser: versions, class definitions, editing, diffs.

An edit never changes a version: it saves the next one, with a message and the
signed-in user as author. The edit form names the version it started from; when
someone saved a newer one in between, nothing is saved and the conflict page shows
what they changed and the edit that was not saved (optimistic concurrency).
Editing needs the reviewer role and a CSRF token, like review decisions.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store.labelbook import LabelBook, check_classes
from assay.store.users import has_role
from assay.web.deps import Auth, payload, require
from assay.web.items import item_view
from assay.web.labelbook_form import (
    EXAMPLE_KINDS,
    blank_rows,
    classes_from_form,
    form_rows,
    submitted_rows,
)
from assay.web.params import Number, parse_int
from assay.web.render import json_response, render, wants_json
from assay.workflows.labelbook import check_edit, display_diff, version_rows

router = APIRouter()
#: Example items rendered per class and kind (the JSON lists every id).
MAX_SHOWN_EXAMPLES = 12


def _book_or_none(request: Request, name: str, number: int | None = None) -> LabelBook | None:
    """The version (default latest), None when the dataset has no label book yet."""
    store = request.app.state.web.ws.labelbook
    if number is not None:
        return store.get(name, number)
    try:
        return store.get(name)
    except NotFoundError:
        request.app.state.web.ws.dataset(name)  # an unknown dataset is still a 404
        return None


@router.get("/labelbook")
def labelbooks(request: Request, auth: Auth = Depends(require("viewer"))) -> Response:
    """Every dataset and the latest version of its label book."""
    ws = request.app.state.web.ws
    rows = []
    for version in ws.datasets():
        books = ws.labelbook.versions(version.name)
        latest = version_rows(books[-1:])
        rows.append(
            {
                "dataset": version.name,
                "versions": len(books),
                "latest": latest[0] if latest else None,
            }
        )
    return render(request, "labelbooks.html", {"datasets": rows})


def _examples(request: Request, name: str, classes: dict[str, Any]) -> dict[str, Any]:
    """Class -> kind -> the first example items, rendered like the item pages."""
    web = request.app.state.web
    version = web.ws.dataset(name)
    return {
        cls: {
            kind: [
                item_view(version, web.cache, str(i))
                for i in (spec.get("examples") or {}).get(kind, [])[:MAX_SHOWN_EXAMPLES]
            ]
            for kind in EXAMPLE_KINDS
        }
        for cls, spec in classes.items()
    }


@router.get("/labelbook/{name}")
def labelbook(
    request: Request, name: str, version: Number = None, auth: Auth = Depends(require("viewer"))
) -> Response:
    """One version (default: the latest): its classes, their rules and examples."""
    ws = request.app.state.web.ws
    book = _book_or_none(request, name, version)
    books = ws.labelbook.versions(name)
    context = {
        "dataset": name,
        "book": book.to_dict() if book else None,
        "latest": books[-1].number if books else 0,
        "versions": version_rows(books),
        "examples": _examples(request, name, book.classes) if book else {},
        "max_shown": MAX_SHOWN_EXAMPLES,
        "can_edit": has_role(auth.user.role, "reviewer"),
    }
    return render(request, "labelbook.html", context)


def _edit_form(
    request: Request,
    name: str,
    base: int,
    rows: list[dict[str, str]],
    *,
    message: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "dataset": name,
        "base": base,
        "rows": rows + blank_rows(3),
        "message": message,
        "error": error,
        "kinds": list(EXAMPLE_KINDS),
    }
    return render(request, "labelbook_edit.html", context, status=status)


@router.get("/labelbook/{name}/edit")
def edit_form(request: Request, name: str, auth: Auth = Depends(require("reviewer"))) -> Response:
    """The edit form, filled with the latest version (or the classes in the data)."""
    web = request.app.state.web
    book = _book_or_none(request, name)
    if book is not None:
        return _edit_form(request, name, book.number, form_rows(book.classes))
    labels = web.cache.get(web.ws.dataset(name)).classes()
    return _edit_form(request, name, 0, form_rows({str(lab): {} for lab in labels}))


def _base(fields: dict[str, Any]) -> int:
    return parse_int(
        fields.get("base"),
        "base",
        minimum=0,
        hint="the label-book version the edit started from, 0 for none",
    )


def _message(fields: dict[str, Any]) -> str:
    message = str(fields.get("message") or "").strip()
    if not message:
        raise InputError("say what changed and why in the message; it is kept with the version.")
    if len(message) > 2000:
        raise InputError(f"the message has {len(message)} characters; keep it under 2000.")
    return message


def _proposed(request: Request, name: str, fields: dict[str, Any], base: int) -> dict[str, Any]:
    """The checked classes of an edit; InputError when they are wrong or unchanged."""
    if isinstance(fields.get("classes"), dict):  # a JSON client
        classes = check_classes(fields["classes"], "the label book")
    else:
        classes = classes_from_form(fields)
    web = request.app.state.web
    ids = web.cache.get(web.ws.dataset(name)).ids if classes else set()
    return check_edit(web.ws, name, classes, base, ids)


@router.post("/labelbook/{name}/edit")
def save_edit(request: Request, name: str, fields: dict = Depends(payload("reviewer"))) -> Response:
    """Save the edit as the next version, unless someone saved one since ``base``."""
    web = request.app.state.web
    auth: Auth = request.state.auth
    base = _base(fields)
    try:
        classes = _proposed(request, name, fields, base)
        message = _message(fields)
    except InputError as exc:
        if wants_json(request) or "classes" in fields:
            raise
        return _edit_form(
            request,
            name,
            base,
            submitted_rows(fields),
            message=str(fields.get("message") or ""),
            error=str(exc),
            status=400,
        )
    try:
        book = web.ws.labelbook.save(
            name, classes, message=message, author=auth.user.name, base=base
        )
    except ConflictError as exc:
        return _conflict(request, name, base, classes, exc)
    if wants_json(request) or auth.via == "token":
        return json_response({"labelbook": book.to_dict()}, status=201)
    return RedirectResponse(f"/labelbook/{name}?version={book.number}", status_code=303)


def _conflict(
    request: Request, name: str, base: int, classes: dict[str, Any], exc: ConflictError
) -> Response:
    """409: who saved what since ``base``, and the edit that was not saved."""
    store = request.app.state.web.ws.labelbook
    latest = _book_or_none(request, name)
    since = [b for b in version_rows(store.versions(name)) if b["version"] > base]
    changes = None
    if latest is not None and 1 <= base < latest.number:
        changes = display_diff(request.app.state.web.ws, name, base, latest.number)
    context = {
        "error": str(exc),
        "status": 409,
        "dataset": name,
        "base": base,
        "latest": latest.to_dict() if latest else None,
        "since": since,
        "changes": changes,
        "proposed": classes,
        "proposed_yaml": yaml.safe_dump({"classes": classes}, sort_keys=False, allow_unicode=True),
    }
    return render(request, "labelbook_conflict.html", context, status=409)


@router.get("/labelbook/{name}/diff")
def diff(
    request: Request,
    name: str,
    a: Number = None,
    b: Number = None,
    auth: Auth = Depends(require("viewer")),
) -> Response:
    """What changed between versions ``a`` and ``b`` (default: the last two)."""
    store = request.app.state.web.ws.labelbook
    numbers = [book.number for book in store.versions(name)]
    if not numbers:
        raise NotFoundError(
            f"dataset {name!r} has no label book yet; write one at /labelbook/{name}/edit."
        )
    b = b or numbers[-1]
    a = a or (numbers[-2] if len(numbers) > 1 else b)
    context = {
        "dataset": name,
        "a": a,
        "b": b,
        "versions": numbers[::-1],
        "diff": display_diff(request.app.state.web.ws, name, a, b),
    }
    return render(request, "labelbook_diff.html", context)
