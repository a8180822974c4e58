"""Parse ``NAME@vN`` references to dataset versions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assay.exceptions import InputError

__all__ = ["Ref", "parse_ref"]

_REF = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?:@(?:v(?P<number>\d+)|(?P<latest>latest)))?$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


@dataclass(frozen=True)
class Ref:
    """A dataset name and an optional version number (``None`` = latest)."""

    name: str
    number: int | None = None

    def __str__(self) -> str:
        return self.name if self.number is None else f"{self.name}@v{self.number}"


def parse_ref(text: str) -> Ref:
    """Parse ``"digits"``, ``"digits@latest"`` or ``"digits@v2"``."""
    match = _REF.match(text.strip())
    if match is None:
        raise InputError(
            f"{text!r} is not a dataset reference; write NAME (the latest version) or "
            "NAME@vN, e.g. digits@v2 (names use letters, digits, '_', '-' and '.')."
        )
    number = match.group("number")
    return Ref(match.group("name"), int(number) if number else None)


def check_name(name: str) -> str:
    """Check that ``name`` is a valid dataset name."""
    if not _NAME.match(name):
        raise InputError(
            f"{name!r} is not a valid dataset name; use up to 200 letters, digits, '_', '-' or '.'."
        )
    return name
