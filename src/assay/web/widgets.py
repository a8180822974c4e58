"""The review widgets: how the pages decide and show a label of each kind.

A task names its widget (:attr:`assay.tasks.Task.review_widget`); the review page
includes ``templates/widgets/<name>.html`` in its decision form, filled with the
context :meth:`Widget.decide` builds. The same widget shows labels of its kind on the
item pages (:meth:`Widget.show`: text, or chips of a set with the differences marked)
and counts them for the dataset page (:meth:`Widget.counts`). Routes look a widget up
by name (:func:`widget_for`) and never branch on the kind of label; a new kind that
needs a new widget adds a class here and its template.

Every widget posts the new label in the field ``relabel`` (one value) or ``relabel[]``
(several values, the members of a set); the task coerces it (``Task.coerce_label``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assay._alignment import describe_word_changes
from assay.exceptions import InputError
from assay.store.datasets import DatasetVersion
from assay.tasks import Task
from assay.tasks.detection import DetectionTask, as_boxes, check_in_image
from assay.web.cache import CachedTable
from assay.web.transcript_view import edit_counts, length_counts, word_diff

__all__ = ["WIDGETS", "Widget", "format_number", "label_view", "widget_for"]

#: Significant digits of a number shown on a page (and pre-filled in the number field).
DIGITS = 8


def format_number(value: Any, digits: int = DIGITS) -> str:
    """A number as people read it: ``3.2``, ``151``, ``0.000012345`` (no exponent, at
    most ``digits`` significant digits, no trailing zeros); other values as text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return "" if value is None else str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    text = np.format_float_positional(
        number, precision=digits, unique=False, fractional=False, trim="-"
    )
    return "0" if text in ("-0", "0.") else text


def _book_content(book: Mapping[str, Any] | None) -> dict[str, Any]:
    content = (book or {}).get("content") or {}
    return content if isinstance(content, dict) else {}


def _book_classes(book: Mapping[str, Any] | None) -> dict[str, Any]:
    defined = _book_content(book).get("classes") or {}
    return defined if isinstance(defined, dict) else {}


def _definition(defined: Mapping[str, Any], name: Any) -> dict[str, Any]:
    info = defined.get(str(name), {})
    if not isinstance(info, dict):
        return {"description": str(info) if info else None, "rules": []}
    return {"description": info.get("description"), "rules": info.get("rules", [])}


class Widget:
    """How the pages decide and show a label of one kind (see the module docstring)."""

    name: ClassVar[str]
    #: The keys the review page lists beside the label book.
    keys: ClassVar[str]

    def decide(
        self,
        entry: Mapping[str, Any],
        version: DatasetVersion,
        table: CachedTable,
        book: Mapping[str, Any] | None,
        typed: Any = None,
    ) -> dict[str, Any]:
        """The template context of the decision widget.

        Parameters
        ----------
        entry : mapping
            The queue entry (``given_label``, ``suggested_label`` decoded).
        version : DatasetVersion
            The dataset's latest version (its task and recorded label names).
        table : CachedTable
            That version's rows (the labels in use).
        book : mapping or None
            The newest label book version (``content``).
        typed : optional
            What the reviewer posted, when the page is shown again with an error.

        Returns
        -------
        dict
            ``classes`` (the label book aside: label, key, description, rules),
            ``keys`` (the shortcuts in words) and the widget's own values.
        """
        raise NotImplementedError

    def show(self, value: Any, against: Any = None) -> dict[str, Any]:
        """A label as the pages show it: ``{"text", "chips", "delta"}``.

        ``chips`` is None for a single value, else one ``{"name", "state"}`` per member
        of a set, ``state`` one of ``kept``, ``added``, ``removed`` against ``against``
        (``same`` when there is nothing to compare with); ``delta`` says how a number
        moved from ``against``.
        """
        return {"text": "" if value is None else str(value), "chips": None, "delta": None}

    def check(self, label: Any, row: Mapping[str, Any] | None) -> None:
        """Refuse (:class:`~assay.exceptions.InputError`) a posted label that the item
        in ``row`` cannot hold; by default every label the task coerces is fine."""

    def counts(self, column: pa.ChunkedArray) -> list[dict[str, Any]]:
        """The dataset page's label distribution: ``[{"label", "count"}]``."""
        counts = column.value_counts().to_pylist()
        return sorted(
            ({"label": c["values"], "count": c["counts"]} for c in counts),
            key=lambda c: str(c["label"]),
        )


def _choices(labels: list[Any], book: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The classes, each with its shortcut key and label-book entry (at most 30)."""
    defined = _book_classes(book)
    names = list(defined) if defined else labels
    digits = all(len(str(n)) == 1 and str(n).isdigit() for n in names)
    out = []
    for i, cls in enumerate(names[:30]):
        key = str(cls) if digits else (str((i + 1) % 10) if i < 10 else "")
        out.append({"label": cls, "key": key, **_definition(defined, cls)})
    return out


class ChoiceWidget(Widget):
    """One class per item: a button per class (its number key relabels)."""

    name = "choice"
    keys = "number = relabel · k keep · r remove · n next · u undo"

    def decide(
        self,
        entry: Mapping[str, Any],
        version: DatasetVersion,
        table: CachedTable,
        book: Mapping[str, Any] | None,
        typed: Any = None,
    ) -> dict[str, Any]:
        return {"classes": _choices(table.classes(), book), "keys": self.keys}


class NumberWidget(Widget):
    """A number per item: a field pre-filled with the suggestion (Enter accepts it)."""

    name = "number"
    keys = "Enter = accept the value · type a number to change it · Esc leaves the field · " \
        "k keep · r remove · n next · u undo"

    def decide(
        self,
        entry: Mapping[str, Any],
        version: DatasetVersion,
        table: CachedTable,
        book: Mapping[str, Any] | None,
        typed: Any = None,
    ) -> dict[str, Any]:
        given, suggested = entry.get("given_label"), entry.get("suggested_label")
        content = _book_content(book)
        scale = _scale(content)
        value = typed if typed is not None else format_number(_rounded(suggested, scale, content))
        return {
            "classes": [],
            "keys": self.keys,
            "given": format_number(given),
            "suggested": None if suggested is None else format_number(suggested),
            "delta": _delta(suggested, given),
            "value": "" if value is None else str(value),
            "scale": scale,
        }

    def show(self, value: Any, against: Any = None) -> dict[str, Any]:
        return {"text": format_number(value), "chips": None, "delta": _delta(value, against)}

    def counts(self, column: pa.ChunkedArray) -> list[dict[str, Any]]:
        """A histogram (at most 20 bins) of the finite values, labelled by bin."""
        values = np.asarray(column.drop_null().to_numpy(), dtype=float)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            return []
        edges = np.histogram_bin_edges(values, bins=min(20, max(1, len(np.unique(values)))))
        counts, edges = np.histogram(values, bins=edges)
        return [
            {"label": f"{format_number(lo, 4)} – {format_number(hi, 4)}", "count": int(n)}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]


def _delta(value: Any, against: Any) -> str | None:
    """``+0.8`` / ``-1.5``: how ``value`` moved from ``against`` (None if either is missing)."""
    try:
        moved = float(value) - float(against)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(moved) or moved == 0:
        return None
    return ("+" if moved > 0 else "") + format_number(moved)


def _scale(content: Mapping[str, Any]) -> dict[str, Any] | None:
    """The label book's conventions of numeric labels, as the widget shows them:
    ``numeric: {units, range: [min, max], rounding: {step} | {decimals}}``."""
    spec = content.get("numeric")
    if not isinstance(spec, dict) or not spec:
        return None
    low = high = None
    if isinstance(spec.get("range"), (list, tuple)) and len(spec["range"]) == 2:
        low, high = (format_number(v) for v in spec["range"])
    rounding = spec.get("rounding")
    rounding = rounding if isinstance(rounding, dict) else {}
    return {
        "units": spec.get("units"),
        "min": low,
        "max": high,
        "step": None if rounding.get("step") is None else format_number(rounding["step"]),
        "decimals": rounding.get("decimals"),
    }


def _rounded(value: Any, scale: Mapping[str, Any] | None, book: Mapping[str, Any]) -> Any:
    """``value`` by the label book's rounding (a step from the range's minimum, or
    decimals), so that accepting a suggestion gives a value the book allows."""
    if scale is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return value
    rounding = book["numeric"].get("rounding") or {}
    if rounding.get("decimals") is not None:
        return round(float(value), int(rounding["decimals"]))
    if rounding.get("step"):
        step, base = float(rounding["step"]), float((book["numeric"].get("range") or [0])[0])
        return base + round((float(value) - base) / step) * step
    return value


class TagsWidget(Widget):
    """A set of labels per item: a toggle per label, pre-set to the suggested set."""

    name = "tags"
    keys = "number = toggle that label · Enter = accept the set · k keep · r remove · " \
        "n next · u undo"

    def decide(
        self,
        entry: Mapping[str, Any],
        version: DatasetVersion,
        table: CachedTable,
        book: Mapping[str, Any] | None,
        typed: Any = None,
    ) -> dict[str, Any]:
        given = set(_members(entry.get("given_label")))
        suggested = entry.get("suggested_label")
        chosen = set(_members(typed if typed is not None else suggested))
        if typed is None and suggested is None:
            chosen = set(given)
        defined = _book_classes(book)
        names = _ordered(set(defined) | set(_names_in(version, table)) | given | chosen)
        tags = [
            {
                "label": name,
                "key": str((i + 1) % 10) if i < 10 else "",
                "checked": name in chosen,
                "given": name in given,
                "state": _state(name in chosen, name in given),
                **_definition(defined, name),
            }
            for i, name in enumerate(names)
        ]
        return {
            "classes": tags,
            "tags": tags,
            "keys": self.keys,
            "given": self.show(entry.get("given_label")),
            "suggested": None if suggested is None else self.show(suggested, given),
        }

    def show(self, value: Any, against: Any = None) -> dict[str, Any]:
        members = _members(value)
        base = None if against is None else set(_members(against))
        chips = [
            {"name": n, "state": "same" if base is None else _state(True, n in base)}
            for n in members
        ]
        chips += [{"name": n, "state": "removed"} for n in _ordered((base or set()) - set(members))]
        text = "{" + ", ".join(members) + "}" if value is not None else ""
        return {"text": text, "chips": chips, "delta": None}

    def counts(self, column: pa.ChunkedArray) -> list[dict[str, Any]]:
        """How many items carry each label."""
        counts = pc.list_flatten(column).value_counts().to_pylist()
        return sorted(
            ({"label": c["values"], "count": c["counts"]} for c in counts),
            key=lambda c: str(c["label"]),
        )


def _members(value: Any) -> list[str]:
    """The members of a label set (a list, or None), as sorted text."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return sorted({str(v) for v in value})


def _ordered(names: set[str]) -> list[str]:
    return sorted(names, key=lambda n: (n.casefold(), n))


def _state(chosen: bool, given: bool) -> str:
    if chosen and given:
        return "kept"
    if chosen:
        return "added"
    return "removed" if given else "off"


def _names_in(version: DatasetVersion, table: CachedTable) -> list[str]:
    """The label names of the dataset: those recorded at its first import, else every
    name its label column uses (:meth:`assay.tasks.Task.label_names`)."""
    if version.label_names:
        return list(version.label_names)
    return version.task.label_names(table.table.column(table.label_column)) or []


class BoxesWidget(Widget):
    """Boxes on an image: the given boxes to edit over the suggested ones (the page's
    script draws, moves, deletes and reclasses them and posts the set as JSON)."""

    name = "boxes"
    keys = "click, Tab or (none selected) its number = select a box · then its class's " \
        "number (with 10 or more, type two digits quickly: 1 then 2 = 12) · Delete removes " \
        "it · drag " \
        "a corner or edge to adjust · drag on the image = new box · s = start from the " \
        "suggested boxes · Esc cancels · Enter = accept the set · k keep · r remove · " \
        "n next · u undo"

    def decide(
        self,
        entry: Mapping[str, Any],
        version: DatasetVersion,
        table: CachedTable,
        book: Mapping[str, Any] | None,
        typed: Any = None,
    ) -> dict[str, Any]:
        given = _boxes_or_none(entry.get("given_label")) or []
        suggested = _boxes_or_none(entry.get("suggested_label"))
        editing = given if typed is None else _boxes_or_none(typed, lenient=True) or []
        defined = _book_classes(book)
        used = {b["label"] for b in given + editing + (suggested or [])}
        names = _ordered(set(defined) | set(_names_in(version, table)) | used)
        row = table.row(str(entry.get("item_id"))) or {}
        return {
            "classes": [{"label": n, "key": str(i + 1), **_definition(defined, n)}
                        for i, n in enumerate(names)],
            "keys": self.keys,
            "names": names,
            "given": given,
            "suggested": suggested,
            "editing": editing,
            "width": _size(row.get("width")),
            "height": _size(row.get("height")),
        }

    def check(self, label: Any, row: Mapping[str, Any] | None) -> None:
        """Every box inside the item's image (its ``width`` x ``height`` columns)."""
        boxes = as_boxes(label)
        width, height = _size((row or {}).get("width")), _size((row or {}).get("height"))
        if boxes and width and height:
            check_in_image(boxes, width, height)

    def show(self, value: Any, against: Any = None) -> dict[str, Any]:
        boxes = _boxes_or_none(value)
        if boxes is None:
            return super().show(value)
        text = DetectionTask().show_label(boxes)
        delta = None
        if against is not None and _boxes_or_none(against) is not None:
            change = DetectionTask().describe_change(against, boxes)
            delta = None if change == "unchanged" else change
        return {"text": text, "chips": None, "delta": delta}

    def counts(self, column: pa.ChunkedArray) -> list[dict[str, Any]]:
        """How many boxes of each class."""
        classes = pc.struct_field(pc.list_flatten(column), "label")
        return sorted(
            ({"label": c["values"], "count": c["counts"]}
             for c in classes.value_counts().to_pylist()),
            key=lambda c: str(c["label"]),
        )


def _boxes_or_none(value: Any, lenient: bool = False) -> list[dict[str, Any]] | None:
    """``value`` as boxes; None when it is not a list of boxes. ``lenient``: what a
    reviewer posted, keeping the well-formed boxes of a refused set to show it again."""
    try:
        return as_boxes(value)
    except InputError:
        if not lenient or not isinstance(value, str):
            return None
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        return None
    kept = []
    for item in items if isinstance(items, list) else []:
        with contextlib.suppress(InputError):
            kept.extend(as_boxes([item]) or [])
    return kept


def _size(value: Any) -> float | None:
    try:
        size = float(value)
    except (TypeError, ValueError):
        return None
    return size if math.isfinite(size) and size > 0 else None


class TranscriptWidget(Widget):
    """A transcript of an audio clip: the player, the given and suggested texts with
    their word differences marked (aligned on the server, :mod:`assay.web.transcript_view`)
    and a text field holding the given transcript to edit (static/transcript.js)."""

    name = "transcript"
    keys = "space or k = play/pause · ←/→ = 2 s back/on · a = accept the suggestion · " \
        "e = edit the text · Enter or Ctrl+Enter = relabel to the text · Esc leaves the " \
        "field · K (shift) keep · r remove · n next · u undo"

    def decide(
        self,
        entry: Mapping[str, Any],
        version: DatasetVersion,
        table: CachedTable,
        book: Mapping[str, Any] | None,
        typed: Any = None,
    ) -> dict[str, Any]:
        given, suggested = _text(entry.get("given_label")), entry.get("suggested_label")
        value = given if typed is None else _text(typed)
        context: dict[str, Any] = {
            "classes": [], "keys": self.keys, "given": given, "suggested": None,
            "value": value, "given_words": [{"word": w, "op": "same"} for w in given.split()],
        }
        if suggested is not None:
            left, right = word_diff(given, _text(suggested))
            context.update(suggested=_text(suggested), given_words=left,
                           suggested_words=right, counts=edit_counts(right))
        return context

    def show(self, value: Any, against: Any = None) -> dict[str, Any]:
        """The whole text; against another transcript, its words marked (``words``) and
        the change in words (``delta``, as ``assay diff`` says it)."""
        if value is None:
            return {"text": "", "chips": None, "delta": None}
        text = _text(value)
        if against is None:
            return {"text": text, "chips": None, "delta": None}
        change = describe_word_changes(_text(against), text)
        return {"text": text, "chips": None, "words": word_diff(_text(against), text)[1],
                "delta": None if change == "unchanged" else change}

    def counts(self, column: pa.ChunkedArray) -> list[dict[str, Any]]:
        """Clips by their number of words (every transcript is its own text)."""
        return length_counts(column)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


#: Widget name (``Task.review_widget``) -> widget.
WIDGETS: dict[str, Widget] = {
    w.name: w
    for w in (ChoiceWidget(), NumberWidget(), TagsWidget(), BoxesWidget(), TranscriptWidget())
}


def widget_for(task: Task) -> Widget:
    """The widget the task names (``Task.review_widget``)."""
    return WIDGETS[task.review_widget]


def label_view(task: Task, value: Any, against: Any = None) -> dict[str, Any]:
    """``value`` as the pages show a label of ``task`` (see :meth:`Widget.show`)."""
    return widget_for(task).show(value, against)
