"""Label-book editing: start an edit, check and save it, show what changed.

An edit never changes a version: it saves the next one, naming the version it started
from (``base``); when someone saved a newer one in between, nothing is saved and
:class:`~assay.exceptions.ConflictError` says so.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import pandas as pd

from assay.exceptions import InputError, NotFoundError
from assay.store.labelbook import LabelBook, dumps_yaml, parse_labelbook_sections
from assay.store.workspace import Workspace

__all__ = [
    "EXAMPLE_KINDS",
    "EditStart",
    "check_edit",
    "display_diff",
    "same_classes",
    "save_edited_text",
    "start_edit",
    "version_rows",
]

#: The kinds of example items a class definition lists.
EXAMPLE_KINDS = ("positive", "negative", "borderline")


@dataclass(frozen=True)
class EditStart:
    """The label book to edit as YAML text, and the version it is (0: none yet)."""

    text: str
    base: int


def start_edit(ws: Workspace, name: str) -> EditStart:
    """The latest label book of dataset ``name`` as YAML, or, without one, a skeleton
    with the labels found in the data."""
    try:
        latest = ws.labelbook.get(name)
        return EditStart(dumps_yaml(latest), latest.number)
    except NotFoundError:
        return EditStart(_skeleton(ws, name), 0)


#: A first label book of transcripts: the conventions transcribers follow (every one
#: "keep" until the team agrees; see docs/labelbook.md).
_TRANSCRIPT_SKELETON = """\
normalisation:
  fillers: []            # words dropped before comparing, e.g. [um, uh, er]
  apostrophes: keep      # keep | drop   (today's -> todays)
  case: keep             # keep | lower | upper
  punctuation: keep      # keep | drop
  numbers: keep          # keep | digits | words   (twenty one <-> 21)
classes: {}
"""


def _skeleton(ws: Workspace, name: str) -> str:
    """A first label book: the label names in use (label sets: their recorded names), or,
    for numbers that are not all whole, the numeric conventions with the labels' range."""
    version = ws.dataset(name)
    if version.task_kind == "transcript":
        return _TRANSCRIPT_SKELETON
    labels = version.labels
    if version.label_names is None and pd.api.types.is_float_dtype(labels):
        lo, hi = float(labels.min()), float(labels.max())
        return (f"units: ''\nrange: [{lo:g}, {hi:g}]\n# rounding: 0.5   (a step), or "
                "{decimals: 1}\nclasses: {}\n")
    names = version.label_names if version.label_names is not None else labels.unique()
    return "classes:\n" + "".join(
        f"  {lab!r}:\n    description: ''\n    rules: []\n" for lab in sorted(names, key=str)
    )


def save_edited_text(
    ws: Workspace, name: str, start: EditStart, text: str, *, message: str | None = None
) -> LabelBook:
    """Save the edited YAML ``text`` as the next version; nothing is saved when it is
    unchanged, or when someone saved a version after ``start.base``."""
    if text == start.text:
        raise InputError("the label book was not changed; nothing saved.")
    classes, numeric, normal = parse_labelbook_sections(text, "the edited label book")
    return ws.labelbook.save(name, classes, message=message or "edit", base=start.base,
                             numeric=numeric, normalisation=normal)


def _new_examples_exist(
    ref: str, ids: Container[str], classes: dict[str, Any], before: dict[str, Any]
) -> None:
    """Example ids added by this edit must be items of the dataset (``ids``)."""
    for cls, spec in classes.items():
        old = before.get(cls, {}).get("examples", {})
        for kind, items in spec["examples"].items():
            missing = [i for i in items if i not in set(old.get(kind, [])) and i not in ids]
            if missing:
                raise InputError(
                    f"class {cls!r}, {kind} examples: no item {missing[0]!r} in {ref}; "
                    "give item ids of the dataset (one a line)."
                )


def check_edit(
    ws: Workspace, name: str, classes: dict[str, Any], base: int, ids: Container[str]
) -> dict[str, Any]:
    """``classes`` if they make a new version from ``base``: at least one class, a
    change, and new example ids among ``ids`` (the items of the latest version); else
    InputError."""
    if not classes:
        raise InputError("a label book needs at least one class; give it a name.")
    try:
        old = ws.labelbook.get(name, base).classes if base else {}
    except NotFoundError:  # saving will say that the base version does not exist
        old = {}
    if same_classes(classes, old):
        raise InputError(f"nothing changed from version {base}; nothing saved.")
    _new_examples_exist(ws.dataset(name).ref, ids, classes, old)
    return classes


def _normal(classes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: {
            "description": str(spec.get("description") or "").replace("\r\n", "\n").strip(),
            "rules": list(spec.get("rules") or []),
            "examples": {k: v for k, v in (spec.get("examples") or {}).items() if v},
        }
        for name, spec in classes.items()
    }


def same_classes(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> bool:
    """Whether two definitions say the same (empty example lists and surrounding
    blanks of descriptions aside)."""
    return _normal(a) == _normal(b)


def version_rows(books: list[LabelBook]) -> list[dict[str, Any]]:
    """One row per version, newest first: number, message, author, time, classes."""
    return [
        {
            "version": b.number,
            "message": b.message,
            "author": b.author,
            "created_at": b.created_at,
            "classes": len(b.classes),
        }
        for b in reversed(books)
    ]


def _list_change(old: Any, new: Any) -> dict[str, list[Any]]:
    old, new = list(old or []), list(new or [])
    return {"removed": [x for x in old if x not in new], "added": [x for x in new if x not in old]}


def _class_changes(cls: str, was: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """What changed in one class: description (old/new), rules and examples
    (removed/added); empty when only the form of the definition differs."""
    entry: dict[str, Any] = {}
    if (was.get("description") or "") != (now.get("description") or ""):
        entry["description"] = {"old": was.get("description"), "new": now.get("description")}
    if (was.get("rules") or []) != (now.get("rules") or []):
        entry["rules"] = _list_change(was.get("rules"), now.get("rules"))
    old_ex, new_ex = was.get("examples") or {}, now.get("examples") or {}
    examples = {
        kind: _list_change(old_ex.get(kind), new_ex.get(kind))
        for kind in EXAMPLE_KINDS
        if (old_ex.get(kind) or []) != (new_ex.get(kind) or [])
    }
    if examples:
        entry["examples"] = examples
    return {"class": cls, **entry} if entry else {}


def display_diff(ws: Workspace, name: str, a: int, b: int) -> dict[str, Any]:
    """What changed from version ``a`` to ``b``, for display: list fields as removed /
    added entries, the definitions of added and removed classes."""
    store = ws.labelbook
    delta = store.diff(name, a, b)
    old, new = store.get(name, delta["from"]).classes, store.get(name, delta["to"]).classes
    changed = [_class_changes(c, old[c], new[c]) for c in delta["changed"]]
    return {
        **delta,
        "added": [{"class": c, **new[c]} for c in delta["added"]],
        "removed": [{"class": c, **old[c]} for c in delta["removed"]],
        "changed": [c for c in changed if c],
    }
