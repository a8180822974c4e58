"""Integers from requests, checked against the range the database can hold.

Every id, version number, revision and offset a route takes is declared with one of
the types below (path and query parameters) or read with :func:`parse_int` (form and
JSON fields), so a value such as ``99999999999999999999``, ``-1``, ``1.5`` or ``abc``
gets 400 with a message naming the parameter and the allowed range, never a 500 from
the database (PostgreSQL's ``integer`` ends at 2**31 - 1, SQLite's at 2**63 - 1).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query

from assay.exceptions import InputError

__all__ = ["MAX_INT", "Id", "Number", "Offset", "describe_validation", "parse_int"]

#: The largest integer a request may carry (PostgreSQL's ``integer``).
MAX_INT = 2**31 - 1

#: A row id in the path (review entry ids): 1 to :data:`MAX_INT`.
Id = Annotated[int, Path(ge=1, le=MAX_INT)]
#: An optional positive number in the query (version numbers, analysis ids).
Number = Annotated[int | None, Query(ge=1, le=MAX_INT)]
#: A row offset in the query: 0 to :data:`MAX_INT`.
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]


def parse_int(value: Any, name: str, *, minimum: int = 1, hint: str = "") -> int:
    """``value`` (a form or JSON field) as an integer from ``minimum`` to :data:`MAX_INT`.

    Parameters
    ----------
    value : object
        The field's value: an int or a string of decimal digits.
    name : str
        The field's name, for the message.
    minimum : int, default 1
        The smallest value allowed.
    hint : str, optional
        What the field means, appended to the message.

    Raises
    ------
    InputError
        When ``value`` is not a whole number in range (booleans and floats included).
    """
    text = value.strip() if isinstance(value, str) else value
    number: int | None = None
    if isinstance(text, int) and not isinstance(text, bool):
        number = text
    elif isinstance(text, str) and re.fullmatch(r"-?[0-9]{1,20}", text):
        number = int(text)
    if number is None or not minimum <= number <= MAX_INT:
        raise InputError(
            f"{name} must be a whole number from {minimum} to {MAX_INT}; got {value!r}"
            f"{f' ({hint})' if hint else ''}."
        )
    return number


def describe_validation(errors: list[dict[str, Any]]) -> str:
    """One line from FastAPI's validation errors: which parameter, what, the value."""
    parts = []
    for error in errors[:3]:
        loc = [str(p) for p in error.get("loc", ())]
        where = f"{loc[0]} parameter {loc[-1]!r}" if len(loc) > 1 else ".".join(loc) or "request"
        message = str(error.get("msg", "is not valid")).replace("Input should be", "should be")
        got = f"; got {error['input']!r}" if "input" in error else ""
        parts.append(f"{where} {message}{got}")
    return "; ".join(parts) + "."
