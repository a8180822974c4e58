"""Parse ``NAME@vN`` references to dataset versions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assay.exceptions import InputError

__all__ = ["SQL_INT_MAX", "Ref", "check_sql_int", "parse_ref"]

#: The largest number an INTEGER column holds (PostgreSQL's int4): version numbers,
#: review entry ids, window numbers, label-book versions.
SQL_INT_MAX = 2**31 - 1

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
    if number and int(number) > SQL_INT_MAX:
        raise InputError(
            f"{text.strip()!r} names version v{number}, beyond the largest version number "
            f"(v{SQL_INT_MAX}); see the versions with `assay log {match.group('name')}`."
        )
    return Ref(match.group("name"), int(number) if number else None)


def check_sql_int(value: int, what: str, *, low: int = 0) -> int:
    """Check that a user-given number fits the INTEGER column it is looked up in.

    Use it before any user-given integer (an id, a version or window number) reaches
    SQL: a number beyond int32 fails the query on PostgreSQL (and beyond int64 on
    SQLite), where it should simply be refused.

    Parameters
    ----------
    value : int
        The number given.
    what : str
        What it is, for the message, e.g. ``"review entry id"`` or ``"--window"``.
    low : int, default 0
        The smallest accepted value.

    Returns
    -------
    int
        ``value``, unchanged.

    Raises
    ------
    InputError
        When ``value`` is not an integer or lies outside ``[low, 2147483647]``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number, not {value!r}.")
    if not low <= value <= SQL_INT_MAX:
        raise InputError(
            f"{what} {value} is out of range; give a number from {low} to {SQL_INT_MAX}."
        )
    return value


def check_name(name: str) -> str:
    """Check that ``name`` is a valid dataset name."""
    if not _NAME.match(name):
        raise InputError(
            f"{name!r} is not a valid dataset name; use up to 200 letters, digits, '_', '-' or '.'."
        )
    return name
