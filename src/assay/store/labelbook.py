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

from assay.exceptions import InputError, NotFoundError
from assay.store import models as m

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["LabelBook", "LabelBookStore", "parse_labelbook"]

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
    classes: dict[str, dict[str, Any]] = {}
    for name, spec in data["classes"].items():
        spec = spec or {}
        if isinstance(spec, str):
            spec = {"description": spec}
        extra = set(spec) - _CLASS_KEYS
        if extra:
            raise InputError(
                f"{where}, class {name!r}: unknown key(s) {', '.join(sorted(extra))}; "
                f"use {', '.join(sorted(_CLASS_KEYS))}."
            )
        examples = spec.get("examples") or {}
        bad = set(examples) - _EXAMPLE_KEYS
        if bad:
            raise InputError(
                f"{where}, class {name!r}: example kinds must be {', '.join(sorted(_EXAMPLE_KEYS))}."
            )
        classes[str(name)] = {
            "description": str(spec.get("description", "")),
            "rules": [str(r) for r in spec.get("rules") or []],
            "examples": {k: [str(i) for i in v or []] for k, v in examples.items()},
        }
    return classes


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
    ) -> LabelBook:
        """Add the next version of ``dataset``'s label book."""
        from assay.store.workspace import current_user

        with self.ws.session() as s:
            ds = self.ws._dataset_row(s, dataset)
            number = (
                s.scalar(
                    select(func.max(m.LabelBookVersion.number)).where(
                        m.LabelBookVersion.dataset_id == ds.id
                    )
                )
                or 0
            ) + 1
            row = m.LabelBookVersion(
                dataset_id=ds.id,
                number=number,
                content={"classes": classes},
                message=message,
                author=author or current_user(),
            )
            s.add(row)
            s.flush()
            return _book(dataset, row)

    def save_file(self, dataset: str, path: str | Path, *, message: str | None = None) -> LabelBook:
        """Add a version from a YAML or JSON file."""
        file = Path(path)
        if not file.exists():
            raise InputError(f"{file} does not exist; give a YAML or JSON label book.")
        classes = parse_labelbook(file.read_text(encoding="utf-8"), str(file))
        return self.save(dataset, classes, message=message or f"edit from {file.name}")

    def get(self, dataset: str, number: int | None = None) -> LabelBook:
        """A version (default: the latest)."""
        with self.ws.session() as s:
            ds = self.ws._dataset_row(s, dataset)
            query = select(m.LabelBookVersion).where(m.LabelBookVersion.dataset_id == ds.id)
            if number is None:
                row = s.scalar(query.order_by(m.LabelBookVersion.number.desc()).limit(1))
            else:
                row = s.scalar(query.where(m.LabelBookVersion.number == number))
            if row is None:
                which = "any version" if number is None else f"version {number}"
                raise NotFoundError(
                    f"dataset {dataset!r} has no label book {which}; write one with "
                    f"`assay labelbook edit {dataset} --file book.yaml`."
                )
            return _book(dataset, row)

    def versions(self, dataset: str) -> list[LabelBook]:
        """Every version, oldest first."""
        with self.ws.session() as s:
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
