"""The label book: versioned class definitions, so that labels mean one thing.

A version's content is JSON::

    {"classes": {"3": {"description": "...", "rules": ["..."],
                       "examples": {"positive": [ids], "negative": [ids], "borderline": [ids]}}}}

Edits never change a version: they add the next one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m
from assay.store.readers import decode_text, os_reason
from assay.store.refs import check_sql_int

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["LabelBook", "LabelBookStore", "check_classes", "parse_labelbook"]

_CLASS_KEYS = {"description", "rules", "examples"}
_EXAMPLE_KEYS = {"positive", "negative", "borderline"}


@dataclass
class LabelBook:
    """One version of a dataset's label book."""

    dataset: str
    number: int
    classes: dict[str, dict[str, Any]]
    message: str
    author: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "dataset": self.dataset,
            "version": self.number,
            "classes": self.classes,
            "message": self.message,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }

    def to_markdown(self) -> str:
        """The label book as a Markdown document for labelers."""
        lines = [f"# Label book: {self.dataset} (v{self.number})", "", f"_{self.message}_", ""]
        for name, spec in self.classes.items():
            lines += [f"## {name}", "", spec.get("description", ""), ""]
            lines += [f"- {rule}" for rule in spec.get("rules", [])]
            for kind, ids in spec.get("examples", {}).items():
                if ids:
                    lines.append(f"- {kind} examples: {', '.join(map(str, ids))}")
            lines.append("")
        return "\n".join(lines)


def parse_labelbook(text: str, where: str) -> dict[str, dict[str, Any]]:
    """Parse and check a label book written as YAML or JSON (``classes:`` mapping)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where} is not valid YAML or JSON: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("classes"), dict):
        raise InputError(f"{where} must have a 'classes:' mapping of class name -> definition.")
    return check_classes(data["classes"], where)


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
    return {str(name): _check_class(name, spec, where) for name, spec in classes.items()}


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
    for field, value in [("rules", spec.get("rules")), *examples.items()]:
        _check_list(name, field, value, where)
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
    return {
        "description": str(spec.get("description", "")),
        "rules": [str(r) for r in spec.get("rules") or []],
        "examples": {k: [str(i) for i in v or []] for k, v in examples.items()},
    }


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

        Raises
        ------
        ConflictError
            ``base`` is not the latest version any more, or another process added the
            same version number at the same time.
        """
        from assay.store.workspace import current_user

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
                    content={"classes": classes},
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
        classes = parse_labelbook(decode_text(data, str(file)), str(file))
        return self.save(dataset, classes, message=message or f"edit from {file.name}")

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
        old, new = self.get(dataset, a).classes, self.get(dataset, b).classes
        changed = {
            name: {
                f: {"old": old[name].get(f), "new": new[name].get(f)}
                for f in _CLASS_KEYS
                if old[name].get(f) != new[name].get(f)
            }
            for name in sorted(set(old) & set(new))
            if old[name] != new[name]
        }
        return {
            "from": a,
            "to": b,
            "added": sorted(set(new) - set(old)),
            "removed": sorted(set(old) - set(new)),
            "changed": changed,
        }


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


def _book(dataset: str, row: m.LabelBookVersion) -> LabelBook:
    return LabelBook(
        dataset,
        row.number,
        dict(row.content.get("classes", {})),
        row.message,
        row.author,
        row.created_at,
    )


def dumps_yaml(book: LabelBook) -> str:
    """The editable YAML form of a label book."""
    return yaml.safe_dump({"classes": book.classes}, sort_keys=False, allow_unicode=True)


def dumps_json(book: LabelBook) -> str:
    """The JSON form of a label book."""
    return json.dumps(book.to_dict(), indent=2)
