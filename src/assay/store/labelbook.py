"""The label book: versioned class definitions, so that labels mean one thing.

A version's content is JSON::

    {"classes": {"3": {"description": "...", "rules": ["..."],
                       "examples": {"positive": [ids], "negative": [ids], "borderline": [ids]}}}}

Label sets (multi-label) may add co-occurrence rules per class (``"requires": [names]``:
the class implies those; ``"excludes": [names]``: never together); numeric labels
(regression) may have conventions beside the classes (which may then be empty)::

    {"classes": {}, "numeric": {"units": "points", "range": [0, 10],
                                "rounding": {"step": 0.5}}}

Transcripts (the transcript task) may have transcription conventions, applied before
transcribers' texts are compared (:class:`assay.collect.normalisation.Normalisation`)::

    {"classes": {}, "normalisation": {"fillers": ["um", "uh"], "apostrophes": "drop",
                                      "case": "lower", "punctuation": "drop",
                                      "numbers": "digits"}}

Edits never change a version: they add the next one. :func:`check_label_against_book`
checks one label (a relabel, a typed value) against a version.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from assay.collect.normalisation import Normalisation
from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m
from assay.store.readers import decode_text, os_reason
from assay.store.refs import check_sql_int

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.workspace import Workspace

__all__ = [
    "LabelBook", "LabelBookStore", "check_classes", "check_label_against_book",
    "check_normalisation", "check_numeric", "parse_labelbook", "parse_labelbook_content",
    "parse_labelbook_sections",
]

_CLASS_KEYS = {"description", "rules", "examples", "requires", "excludes"}
#: Co-occurrence rules of a class (label sets): stored only when not empty.
_RULE_KEYS = ("requires", "excludes")
#: Conventions of numeric labels, top-level keys of a label book.
_NUMERIC_KEYS = ("units", "range", "rounding")
_EXAMPLE_KEYS = {"positive", "negative", "borderline"}
#: The top-level key of transcription conventions.
_NORMALISATION = "normalisation"


@dataclass
class LabelBook:
    """One version of a dataset's label book."""

    dataset: str
    number: int
    classes: dict[str, dict[str, Any]]
    message: str
    author: str
    created_at: datetime
    #: Conventions of numeric labels: ``units`` (text), ``range`` ([min, max]),
    #: ``rounding`` ({"step": s} or {"decimals": d}); only the ones given.
    numeric: dict[str, Any] = field(default_factory=dict)
    #: Transcription conventions (``fillers``, ``apostrophes``, ``case``,
    #: ``punctuation``, ``numbers``); empty when the book has none.
    normalisation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (``numeric`` only when the book has numeric conventions)."""
        out = {
            "dataset": self.dataset,
            "version": self.number,
            "classes": self.classes,
            "message": self.message,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }
        if self.numeric:
            out["numeric"] = self.numeric
        if self.normalisation:
            out[_NORMALISATION] = self.normalisation
        return out

    def describe_normalisation(self) -> str:
        """The transcription conventions in words (``drop fillers (um); lower case``)."""
        return Normalisation.from_dict(self.normalisation).describe()

    def describe_numeric(self) -> list[str]:
        """The numeric conventions as lines of text (``range: 0 to 10 points``)."""
        conv = self.numeric
        units = f" {conv['units']}" if conv.get("units") else ""
        lines = []
        if conv.get("units"):
            lines.append(f"units: {conv['units']}")
        if "range" in conv:
            lo, hi = conv["range"]
            lines.append(f"range: {_num(lo)} to {_num(hi)}{units}")
        if "rounding" in conv:
            lines.append(f"rounding: {_rounding_text(conv['rounding'])}")
        return lines

    def to_markdown(self) -> str:
        """The label book as a Markdown document for labelers."""
        lines = [f"# Label book: {self.dataset} (v{self.number})", "", f"_{self.message}_", ""]
        if self.numeric:
            lines += ["## Values", "", *(f"- {line}" for line in self.describe_numeric()), ""]
        if self.normalisation:
            lines += ["## Transcription conventions", "",
                      *(f"- {part}" for part in self.describe_normalisation().split("; ")), ""]
        for name, spec in self.classes.items():
            lines += [f"## {name}", "", spec.get("description", ""), ""]
            lines += [f"- {rule}" for rule in spec.get("rules", [])]
            for key, verb in (("requires", "requires"), ("excludes", "never together with")):
                if spec.get(key):
                    lines.append(f"- {verb}: {', '.join(spec[key])}")
            for kind, ids in spec.get("examples", {}).items():
                if ids:
                    lines.append(f"- {kind} examples: {', '.join(map(str, ids))}")
            lines.append("")
        return "\n".join(lines)


def parse_labelbook(text: str, where: str) -> dict[str, dict[str, Any]]:
    """Parse and check a label book written as YAML or JSON (``classes:`` mapping)."""
    return parse_labelbook_content(text, where)[0]


def parse_labelbook_content(
    text: str, where: str
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Parse and check a label book: its classes and its numeric conventions.

    ``classes:`` may be left out when the book gives numeric conventions (``units``,
    ``range``, ``rounding`` at the top level).

    Returns
    -------
    (classes, numeric)
        See :func:`check_classes` and :func:`check_numeric`.
    """
    classes, numeric, _ = parse_labelbook_sections(text, where)
    return classes, numeric


def parse_labelbook_sections(
    text: str, where: str
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Parse and check a label book: classes, numeric and transcription conventions.

    ``classes:`` may be left out when the book gives numeric conventions or a
    ``normalisation:`` section (transcripts).

    Returns
    -------
    (classes, numeric, normalisation)
        See :func:`check_classes`, :func:`check_numeric` and
        :func:`check_normalisation`.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where} is not valid YAML or JSON: {exc}".splitlines()[0]) from exc
    sections = (*_NUMERIC_KEYS, _NORMALISATION)
    has_conventions = isinstance(data, dict) and any(k in data for k in sections)
    if has_conventions and data.get("classes") is None:
        data = {**data, "classes": {}}
    if not isinstance(data, dict) or not isinstance(data.get("classes"), dict):
        raise InputError(f"{where} must have a 'classes:' mapping of class name -> definition.")
    numeric = check_numeric({k: data[k] for k in _NUMERIC_KEYS if k in data}, where)
    normalisation = check_normalisation(data.get(_NORMALISATION), where)
    return check_classes(data["classes"], where), numeric, normalisation


def check_normalisation(section: Any, where: str) -> dict[str, Any]:
    """A ``normalisation:`` section in its stored form (every convention named), or
    ``{}`` when there is none.

    Raises
    ------
    InputError
        An unknown convention or value (see
        :meth:`assay.collect.normalisation.Normalisation.from_dict`).
    """
    if section is None or section == {}:
        return {}
    return Normalisation.from_dict(section, where=f"{where}, normalisation").to_dict()


def check_numeric(conventions: Any, where: str) -> dict[str, Any]:
    """Check the conventions of numeric labels and bring them to the stored form.

    ``units``: text; ``range``: ``[min, max]``, two finite numbers with min < max;
    ``rounding``: a step (a number > 0, e.g. ``0.5``: values are multiples of it,
    counted from the range's minimum when there is one), ``{step: s}`` or
    ``{decimals: d}`` (at most ``d`` decimals, an int from 0 to 12).

    Raises
    ------
    InputError
        A convention has the wrong type or an impossible value.
    """
    if not isinstance(conventions, dict):
        raise InputError(f"{where}: numeric conventions are units, range and rounding.")
    out: dict[str, Any] = {}
    if conventions.get("units") not in (None, ""):
        if isinstance(conventions["units"], (dict, list)):
            raise InputError(f"{where}: units must be text, e.g. units: points.")
        out["units"] = str(conventions["units"])
    if conventions.get("range") is not None:
        out["range"] = _check_range(conventions["range"], where)
    if conventions.get("rounding") is not None:
        out["rounding"] = _check_rounding(conventions["rounding"], where)
    return out


def _finite(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_range(value: Any, where: str) -> list[float | int]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and all(_finite(v) for v in value)):
        raise InputError(
            f"{where}: range must be [min, max], two numbers, not {value!r}; write e.g. "
            "range: [0, 10]."
        )
    lo, hi = value
    if not lo < hi:
        raise InputError(f"{where}: range [{lo}, {hi}] is empty; the minimum must be below "
                         "the maximum.")
    return [lo, hi]


def _check_rounding(value: Any, where: str) -> dict[str, Any]:
    fix = "write rounding: 0.5 (a step), rounding: {step: 0.5} or rounding: {decimals: 1}"
    if _finite(value):
        value = {"step": value}
    if not (isinstance(value, dict) and len(value) == 1 and set(value) <= {"step", "decimals"}):
        raise InputError(f"{where}: rounding {value!r} is not a step or decimals; {fix}.")
    (key, number), = value.items()
    if key == "step" and not (_finite(number) and number > 0):
        raise InputError(f"{where}: the rounding step must be a number > 0, not {number!r}; "
                         f"{fix}.")
    if key == "decimals" and not (isinstance(number, int) and not isinstance(number, bool)
                                  and 0 <= number <= 12):
        raise InputError(f"{where}: rounding decimals must be an int from 0 to 12, not "
                         f"{number!r}; {fix}.")
    return {key: number}


def check_classes(classes: Any, where: str) -> dict[str, dict[str, Any]]:
    """Check a mapping of class name -> definition and bring it to the stored form.

    A definition is a mapping with ``description`` (text), ``rules`` (a list of text)
    and ``examples`` (``positive`` / ``negative`` / ``borderline`` lists of item ids),
    or just a description as text.

    Raises
    ------
    InputError
        When ``classes`` is not a mapping, or a definition has unknown keys or types.
    """
    if not isinstance(classes, dict):
        raise InputError(f"{where} must have a 'classes:' mapping of class name -> definition.")
    checked = {str(name): _check_class(name, spec, where) for name, spec in classes.items()}
    _check_cooccurrence(checked, where)
    return checked


def _check_cooccurrence(classes: dict[str, dict[str, Any]], where: str) -> None:
    """``requires`` / ``excludes`` name other classes of the book, and no class is made
    impossible (it requires, directly or through others, two classes that exclude
    each other, or one that excludes it)."""
    for name, spec in classes.items():
        for key in _RULE_KEYS:
            for other in spec.get(key, []):
                if other == name:
                    raise InputError(f"{where}, class {name!r}: {key} names the class itself.")
                if other not in classes:
                    raise InputError(
                        f"{where}, class {name!r}: {key} names {other!r}, which is not a "
                        "class of the label book; define it, or fix the name."
                    )
    for name in classes:
        implied = _implied(classes, name)
        for a in sorted(implied):
            for b in classes[a].get("excludes", []):
                if b in implied:
                    raise InputError(
                        f"{where}, class {name!r} can never be given: it requires "
                        f"{_and(sorted(implied - {name}))}, and {a!r} excludes {b!r}; "
                        "drop one of the rules."
                    )


def _implied(classes: dict[str, dict[str, Any]], name: str) -> set[str]:
    """``name`` and every class it requires, directly or through others."""
    seen, todo = {name}, [name]
    while todo:
        for other in classes[todo.pop()].get("requires", []):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _and(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) or "nothing"


def _check_class(name: Any, spec: Any, where: str) -> dict[str, Any]:
    spec = spec or {}
    if isinstance(spec, str):
        spec = {"description": spec}
    if not isinstance(spec, dict):
        raise InputError(
            f"{where}, class {name!r}: a definition is a mapping of "
            f"{', '.join(sorted(_CLASS_KEYS))} (or a description as text)."
        )
    extra = set(spec) - _CLASS_KEYS
    if extra:
        raise InputError(
            f"{where}, class {name!r}: unknown key(s) {', '.join(sorted(extra))}; "
            f"use {', '.join(sorted(_CLASS_KEYS))}."
        )
    examples = spec.get("examples") or {}
    if not isinstance(examples, dict):
        raise InputError(
            f"{where}, class {name!r}: examples must be a mapping of "
            f"{', '.join(sorted(_EXAMPLE_KEYS))} to lists of item ids, not {examples!r}."
        )
    if set(examples) - _EXAMPLE_KEYS:
        raise InputError(
            f"{where}, class {name!r}: example kinds must be {', '.join(sorted(_EXAMPLE_KEYS))}."
        )
    for field_name, value in [("rules", spec.get("rules")), *examples.items()]:
        _check_list(name, field_name, value, where)
    for key in _RULE_KEYS:
        _check_names(name, key, spec.get(key), where)
    for rule in spec.get("rules") or []:
        if isinstance(rule, (dict, list)):
            raise InputError(
                f"{where}, class {name!r}: the rule {_as_yaml(rule)!r} was read as a "
                f"{'mapping' if isinstance(rule, dict) else 'list'}, because YAML treats "
                "': ' (or a leading '- ' / '[') as structure; quote the rule: "
                f"- \"{_as_yaml(rule)}\"."
            )
    if isinstance(spec.get("description"), (dict, list)):
        raise InputError(f"{where}, class {name!r}: the description must be text; quote it.")
    out = {
        "description": str(spec.get("description", "")),
        "rules": [str(r) for r in spec.get("rules") or []],
        "examples": {k: [str(i) for i in v or []] for k, v in examples.items()},
    }
    for key in _RULE_KEYS:
        if spec.get(key):
            out[key] = _names_of(spec[key])
    return out


def _names_of(value: Any) -> list[str]:
    names = [value] if isinstance(value, (str, int, float)) else list(value)
    return list(dict.fromkeys(str(n) for n in names))


def _check_names(name: Any, key: str, value: Any, where: str) -> None:
    """``requires`` / ``excludes``: a class name or a list of class names."""
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
    ):
        return
    raise InputError(
        f"{where}, class {name!r}: {key} must list class names, not {value!r}; write "
        f"{key}: [other, ...]."
    )


def _check_list(name: Any, field: str, value: Any, where: str) -> None:
    """``rules`` and each example kind: a list (or nothing), never a single value."""
    if value is None or isinstance(value, (list, tuple)):
        if field != "rules" and any(isinstance(v, (dict, list, tuple)) for v in value or []):
            raise InputError(
                f"{where}, class {name!r}: {field} must list item ids (text or numbers), "
                f"not {value!r}."
            )
        return
    example = f"[{value}]" if isinstance(value, (int, float, str)) else "[...]"
    raise InputError(
        f"{where}, class {name!r}: {field} must be a list, not {value!r}; write "
        f"{field}: {example}."
    )


def _as_yaml(value: Any) -> str:
    """A rule that YAML parsed as structure, written back as the text the user typed."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_as_yaml(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_as_yaml(v) for v in value) + "]"
    return str(value)


class LabelBookStore:
    """Label books of a workspace (``ws.labelbook``)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def save(
        self,
        dataset: str,
        classes: dict[str, dict[str, Any]],
        *,
        message: str,
        author: str | None = None,
        base: int | None = None,
        numeric: dict[str, Any] | None = None,
        normalisation: dict[str, Any] | None = None,
    ) -> LabelBook:
        """Add the next version of ``dataset``'s label book.

        Parameters
        ----------
        dataset : str
            The dataset.
        classes : dict
            Class name -> definition (see :func:`check_classes`).
        message : str
            What changed and why.
        author : str, optional
            Who changed it (default: the current user).
        base : int, optional
            The version the edit started from (0: there was no label book yet). When
            given and another version was added since, nothing is saved.
        numeric : dict, optional
            Conventions of numeric labels (``units``, ``range``, ``rounding``; see
            :func:`check_numeric`, which checks them here).
        normalisation : dict, optional
            Transcription conventions (``fillers``, ``apostrophes``, ``case``,
            ``punctuation``, ``numbers``; see :func:`check_normalisation`).

        Raises
        ------
        ConflictError
            ``base`` is not the latest version any more, or another process added the
            same version number at the same time.
        """
        from assay.store.workspace import current_user

        check_classes(classes, "the label book")  # refuses broken rules; stored as given
        content: dict[str, Any] = {"classes": classes}
        conventions = check_numeric(numeric or {}, "the label book")
        if conventions:
            content["numeric"] = conventions
        normal = check_normalisation(normalisation, "the label book")
        if normal:
            content[_NORMALISATION] = normal
        try:
            with self.ws.session() as s:
                ds = self.ws._dataset_row(s, dataset)
                latest = (
                    s.scalar(
                        select(func.max(m.LabelBookVersion.number)).where(
                            m.LabelBookVersion.dataset_id == ds.id
                        )
                    )
                    or 0
                )
                if base is not None and base != latest:
                    raise ConflictError(_stale_message(dataset, base, latest))
                row = m.LabelBookVersion(
                    dataset_id=ds.id,
                    number=latest + 1,
                    content=content,
                    message=message,
                    author=author or current_user(),
                )
                s.add(row)
                s.flush()
                return _book(dataset, row)
        except IntegrityError as exc:
            raise ConflictError(
                f"someone else saved a label book of {dataset!r} at the same time; reload "
                "it and edit again."
            ) from exc

    def save_file(self, dataset: str, path: str | Path, *, message: str | None = None) -> LabelBook:
        """Add a version from a YAML or JSON file."""
        file = Path(path)
        if not file.exists():
            raise InputError(f"{file} does not exist; give a YAML or JSON label book.")
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {file}: {os_reason(exc)}; check the path.") from exc
        classes, numeric, normal = parse_labelbook_sections(decode_text(data, str(file)), str(file))
        return self.save(dataset, classes, message=message or f"edit from {file.name}",
                         numeric=numeric, normalisation=normal)

    def get(self, dataset: str, number: int | None = None) -> LabelBook:
        """A version (default: the latest)."""
        with self.ws.session(readonly=True) as s:
            ds = self.ws._dataset_row(s, dataset)
            query = select(m.LabelBookVersion).where(m.LabelBookVersion.dataset_id == ds.id)
            if number is None:
                row = s.scalar(query.order_by(m.LabelBookVersion.number.desc()).limit(1))
            else:
                row = s.scalar(
                    query.where(
                        m.LabelBookVersion.number == check_sql_int(number, "label-book version")
                    )
                )
            if row is None:
                which = "any version" if number is None else f"version {number}"
                raise NotFoundError(
                    f"dataset {dataset!r} has no label book {which}; write one with "
                    f"`assay labelbook edit {dataset} --file book.yaml`."
                )
            return _book(dataset, row)

    def versions(self, dataset: str) -> list[LabelBook]:
        """Every version, oldest first."""
        with self.ws.session(readonly=True) as s:
            ds = self.ws._dataset_row(s, dataset)
            rows = s.scalars(
                select(m.LabelBookVersion)
                .where(m.LabelBookVersion.dataset_id == ds.id)
                .order_by(m.LabelBookVersion.number)
            ).all()
            return [_book(dataset, r) for r in rows]

    def diff(self, dataset: str, a: int, b: int) -> dict[str, Any]:
        """Classes added, removed and changed (field by field) from version a to b."""
        book_a, book_b = self.get(dataset, a), self.get(dataset, b)
        old, new = book_a.classes, book_b.classes
        changed = {
            name: {
                f: {"old": old[name].get(f), "new": new[name].get(f)}
                for f in _CLASS_KEYS
                if old[name].get(f) != new[name].get(f)
            }
            for name in sorted(set(old) & set(new))
            if old[name] != new[name]
        }
        delta: dict[str, Any] = {
            "from": a,
            "to": b,
            "added": sorted(set(new) - set(old)),
            "removed": sorted(set(old) - set(new)),
            "changed": changed,
        }
        numeric = {
            key: {"old": book_a.numeric.get(key), "new": book_b.numeric.get(key)}
            for key in _NUMERIC_KEYS
            if book_a.numeric.get(key) != book_b.numeric.get(key)
        }
        if numeric:  # only books of numeric labels have the key
            delta["numeric"] = numeric
        old_n, new_n = book_a.normalisation, book_b.normalisation
        normal = {key: {"old": old_n.get(key), "new": new_n.get(key)}
                  for key in sorted(set(old_n) | set(new_n)) if old_n.get(key) != new_n.get(key)}
        if normal:  # only books of transcripts have the key
            delta[_NORMALISATION] = normal
        return delta


def _stale_message(dataset: str, base: int, latest: int) -> str:
    if base > latest:
        return (
            f"the label book of {dataset!r} has no version {base} (the latest is {latest}); "
            "reload it and edit again."
        )
    return (
        f"the label book of {dataset!r} changed while you edited it: you started from "
        f"version {base}, and version {latest} is the latest now. Nothing was saved; "
        "reload the latest version and apply your change to it."
    )


def latest_book(s: Session, dataset: m.Dataset) -> LabelBook | None:
    """The latest label-book version of ``dataset`` read in session ``s`` (None: no book).

    For checks inside another write transaction (a review decision), where opening a
    second session would wait on the first.
    """
    row = s.scalar(
        select(m.LabelBookVersion)
        .where(m.LabelBookVersion.dataset_id == dataset.id)
        .order_by(m.LabelBookVersion.number.desc())
        .limit(1)
    )
    return None if row is None else _book(dataset.name, row)


def book_from_row(dataset: str, row: m.LabelBookVersion) -> LabelBook:
    """The label-book version of ``dataset`` held in ``row`` (read by the caller)."""
    return _book(dataset, row)


def _book(dataset: str, row: m.LabelBookVersion) -> LabelBook:
    return LabelBook(
        dataset,
        row.number,
        dict(row.content.get("classes", {})),
        row.message,
        row.author,
        row.created_at,
        dict(row.content.get("numeric") or {}),
        dict(row.content.get(_NORMALISATION) or {}),
    )


def dumps_yaml(book: LabelBook) -> str:
    """The editable YAML form of a label book (numeric conventions first)."""
    rounding = book.numeric.get("rounding")
    top: dict[str, Any] = {
        **{k: book.numeric[k] for k in ("units", "range") if k in book.numeric},
        **({"rounding": rounding} if rounding else {}),
        **({_NORMALISATION: book.normalisation} if book.normalisation else {}),
        "classes": book.classes,
    }
    return yaml.safe_dump(top, sort_keys=False, allow_unicode=True)


def dumps_json(book: LabelBook) -> str:
    """The JSON form of a label book."""
    return json.dumps(book.to_dict(), indent=2)


# -- one label against a version ------------------------------------------------------


def _num(value: float) -> str:
    """A number as people write it: ``10``, ``0.5``, ``12.5``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _rounding_text(rounding: dict[str, Any]) -> str:
    if "step" in rounding:
        return f"steps of {_num(rounding['step'])}"
    d = rounding["decimals"]
    return f"{d} decimal{'s' if d != 1 else ''}" if d else "whole numbers"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0
        and value.dtype.kind in "iuf"
    )


def _rounded(value: float, rounding: dict[str, Any], origin: float) -> float:
    """``value`` on the rounding grid (the nearest allowed value)."""
    if "step" in rounding:
        step = float(rounding["step"])
        return origin + round((value - origin) / step) * step
    return round(value, int(rounding["decimals"]))


def _check_number(book: LabelBook, value: float, what: str) -> None:
    conv, tag = book.numeric, f"(labelbook v{book.number})"
    if "range" in conv:
        lo, hi = conv["range"]
        if not lo <= value <= hi:
            units = f" {conv['units']}" if conv.get("units") else ""
            raise InputError(
                f"{what} {_num(value)} is outside the label book's range "
                f"{_num(lo)}-{_num(hi)}{units} {tag}; give a value from {_num(lo)} to "
                f"{_num(hi)}, or widen the range in the label book."
            )
    rounding = conv.get("rounding")
    if rounding:
        origin = float(conv["range"][0]) if "range" in conv else 0.0
        nearest = _rounded(value, rounding, origin)
        if not math.isclose(nearest, value, rel_tol=1e-9, abs_tol=1e-9):
            shown = round(nearest, 12)
            raise InputError(
                f"{what} {_num(value)} does not follow the label book's rounding "
                f"({_rounding_text(rounding)}) {tag}; give {_num(shown)}."
            )


def _check_set(book: LabelBook, names: list[str], what: str) -> None:
    tag, chosen = f"(labelbook v{book.number})", set(names)
    shown = "[" + ", ".join(sorted(chosen)) + "]"
    unknown = sorted(chosen - set(book.classes)) if book.classes else []
    if unknown:
        raise InputError(
            f"{what} {shown} names {_and(unknown)}, not a label of the label book {tag}; "
            "fix the name, or add the label to the label book first."
        )
    for name in sorted(chosen & set(book.classes)):
        spec = book.classes[name]
        missing = [r for r in spec.get("requires", []) if r not in chosen]
        if missing:
            raise InputError(
                f"{what} {shown} has {name!r} without {_and(missing)}: the label book says "
                f"{name!r} requires {_and(spec['requires'])} {tag}; add "
                f"{_and(missing)} or remove {name!r}."
            )
        clash = sorted(e for e in spec.get("excludes", []) if e in chosen)
        if clash:
            raise InputError(
                f"{what} {shown} has {name!r} together with {_and(clash)}, which the label "
                f"book excludes {tag}; keep one of them."
            )


def check_label_against_book(
    book: LabelBook | None, value: Any, *, what: str = "label"
) -> None:
    """Refuse a label that breaks the conventions of a label-book version.

    A number is checked against the book's numeric conventions (``range``, then
    ``rounding``); a label set (list, tuple, set or array of names) against its classes
    (when it has any) and their co-occurrence rules (``requires``, ``excludes``). Other
    labels (one class per item) pass: a class outside the label book is decided where
    the data's labels are known. ``book=None`` (no label book yet) accepts everything.

    Parameters
    ----------
    book : LabelBook or None
        The version to check against (usually the latest, ``ws.labelbook.get(name)``).
    value : object
        The label, as the dataset stores it.
    what : str, default "label"
        How messages name the value, e.g. ``"relabel"``.

    Raises
    ------
    InputError
        One line naming the value, the convention it breaks and the label-book version,
        e.g. ``relabel 12.5 is outside the label book's range 0-10 (labelbook v3); ...``.
    """
    if book is None or value is None:
        return
    if _is_number(value):
        number = float(value)
        if math.isfinite(number):
            _check_number(book, number, what)
        return
    if isinstance(value, (list, tuple, set, frozenset)) or (
        hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1
    ):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        if any(isinstance(v, dict) for v in items):
            return  # boxes: their classes are checked where the data's classes are known
        _check_set(book, [str(v) for v in items], what)
