"""The label-book edit form: class definitions to form rows and back.

One row per class, with fields ``class-I-name``, ``class-I-description``,
``class-I-rules`` (one rule a line), ``class-I-positive`` / ``-negative`` /
``-borderline`` (item ids, one a line) and ``class-I-remove`` (a checkbox); the hidden
field ``rows`` says how many rows the form has. Rows left blank are ignored, so the
form can offer empty rows for new classes without any script.
"""

from __future__ import annotations

from typing import Any

from assay.exceptions import InputError
from assay.store.labelbook import check_classes
from assay.workflows.labelbook import EXAMPLE_KINDS, same_classes

__all__ = [
    "EXAMPLE_KINDS",
    "blank_rows",
    "classes_from_form",
    "form_rows",
    "same_classes",
    "submitted_rows",
]

_TEXT_FIELDS = ("name", "description", "rules", *EXAMPLE_KINDS)
#: The most rows a form may have.
MAX_ROWS = 2000


def form_rows(classes: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """The form rows of ``classes`` (lists as one entry a line)."""
    rows = []
    for name, spec in classes.items():
        examples = spec.get("examples") or {}
        row = {
            "name": name,
            "description": str(spec.get("description") or ""),
            "rules": "\n".join(spec.get("rules") or []),
        }
        row.update({kind: "\n".join(examples.get(kind) or []) for kind in EXAMPLE_KINDS})
        rows.append(row)
    return rows


def blank_rows(n: int) -> list[dict[str, str]]:
    """``n`` empty rows, for new classes."""
    return [dict.fromkeys(_TEXT_FIELDS, "") for _ in range(n)]


def _row_count(fields: dict[str, Any]) -> int:
    value = fields.get("rows", 0)
    try:
        count = int(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the form field rows must be a number; got {value!r}.") from exc
    if not 0 <= count <= MAX_ROWS:
        raise InputError(f"the form has {count} rows; at most {MAX_ROWS} classes are allowed.")
    return count


def submitted_rows(fields: dict[str, Any]) -> list[dict[str, str]]:
    """The rows of a submitted form, without blank rows and rows marked for removal."""
    rows = []
    for i in range(_row_count(fields)):
        row = {key: str(fields.get(f"class-{i}-{key}") or "") for key in _TEXT_FIELDS}
        row["name"] = row["name"].strip()
        if fields.get(f"class-{i}-remove") or not any(v.strip() for v in row.values()):
            continue
        rows.append(row)
    return rows


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def classes_from_form(fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The class definitions of a submitted form, checked.

    Raises
    ------
    InputError
        A row with content but no class name, or two rows with the same name.
    """
    classes: dict[str, Any] = {}
    for number, row in enumerate(submitted_rows(fields), start=1):
        if not row["name"]:
            raise InputError(
                f"class row {number} has a definition but no name; name the class or clear the row."
            )
        if row["name"] in classes:
            raise InputError(f"class {row['name']!r} appears twice; merge the two rows.")
        classes[row["name"]] = {
            "description": row["description"].replace("\r\n", "\n").strip(),
            "rules": _lines(row["rules"]),
            "examples": {k: _lines(row[k]) for k in EXAMPLE_KINDS if _lines(row[k])},
        }
    return check_classes(classes, "the label book")
