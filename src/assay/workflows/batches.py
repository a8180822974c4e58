"""Production batches as rows: files (CSV / Parquet / JSON Lines) and JSON / NDJSON
bodies, checked before any work.

JSON rows are named in messages by their line (NDJSON) or their index in the array.
Refused: ``NaN`` and ``Infinity`` (not JSON: send ``null``), numbers beyond 64 bits,
nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_ROWS` rows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from assay.exceptions import InputError
from assay.store.json_depth import MAX_DEPTH, check_file_depth, too_deep_line
from assay.store.readers import RowNames, read_source

__all__ = ["MAX_DEPTH", "MAX_ROWS", "json_rows", "read_batch_file", "read_table_file"]

MAX_ROWS = 100_000
_INT64 = (-(2**63), 2**63 - 1)


def read_table_file(path: Path) -> pd.DataFrame:
    """The rows of a CSV / TSV / Parquet / JSON Lines file as a DataFrame."""
    table, _ = read_source(path)
    return table.to_pandas()


def read_batch_file(path: Path) -> pd.DataFrame:
    """A production batch file; JSON nested too deep is refused before it is parsed."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json") and path.is_file():
        check_file_depth(path)  # the JSON reader would crash on deep nesting
    return read_table_file(path)


class _BodyLines(RowNames):
    """The rows of an NDJSON body, named by their line in it (blank lines skipped)."""

    def __init__(self, lines: list[int]) -> None:
        super().__init__("line", labels=lines, header=False)

    def _lines(self, positions: list[int]) -> list[int]:
        assert self.labels is not None
        return [int(self.labels[p]) for p in positions]


class _Unfit(str):
    """A JSON number or constant no column can hold, kept as its text."""

    def problem(self) -> str:
        """What is wrong with it, and the fix."""
        if self in ("NaN", "Infinity", "-Infinity"):
            fix = "" if self == "NaN" else "a finite number, or "
            return f"holds {self}, which is not JSON; send {fix}null for a missing value."
        digits = self.lstrip("-")
        if digits.isdigit():
            return (
                f"holds an integer of {len(digits)} digits, beyond the 64-bit range "
                "(about ±9.2e18); send it as a float (e.g. 1e+40) or as text."
            )
        return (
            f"holds {self}, beyond the range of a 64-bit float (about ±1.8e308); "
            "send a smaller number, or null."
        )


def _int(text: str) -> int | _Unfit:
    if len(text.lstrip("-")) <= 19:  # longer: beyond int64 (JSON has no leading zeros)
        value = int(text)
        if _INT64[0] <= value <= _INT64[1]:
            return value
    return _Unfit(text)


def _float(text: str) -> float | _Unfit:
    value = float(text)
    return value if math.isfinite(value) else _Unfit(text)


def _loads(text: str) -> Any:
    """Parse JSON, keeping what no column can hold as :class:`_Unfit` markers."""
    return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_Unfit)


def _check_depth(body: bytes, ndjson: bool) -> None:
    line = too_deep_line(body, per_line=ndjson)
    if line is not None:
        where = f"NDJSON line {line}" if ndjson else f"line {line} of the request body"
        raise InputError(
            f"{where} nests arrays or objects deeper than {MAX_DEPTH} levels; send flat "
            'row objects: {"column": value, ...}.'
        )


def _ndjson_rows(text: str) -> tuple[list[Any], RowNames]:
    rows, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(_loads(line))
            except (ValueError, RecursionError) as exc:
                raise InputError(f"NDJSON line {number} is not valid JSON: {exc}.") from exc
            lines.append(number)
    return rows, _BodyLines(lines)


def json_rows(body: bytes, *, ndjson: bool) -> tuple[list[dict[str, Any]], RowNames | None]:
    """The row objects of a JSON body (an array of objects, or ``{"rows": [...]}``) or
    of NDJSON (one object a line), and how messages name them (None: by index).

    Raises
    ------
    InputError
        For nesting deeper than :data:`MAX_DEPTH`, text that is not UTF-8 or JSON, no
        rows, more than :data:`MAX_ROWS`, and a value no column can hold (``NaN``,
        ``Infinity``, numbers beyond 64 bits), naming its row and column.
    """
    _check_depth(body, ndjson)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("the request body is not UTF-8 text; send JSON or NDJSON.") from exc
    rows: Any
    names: RowNames | None = None
    if ndjson:
        rows, names = _ndjson_rows(text)
    else:
        try:
            data = _loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"the request body is not valid JSON: {exc}.") from exc
        rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError('send an array of row objects, {"rows": [...]}, or NDJSON rows.')
    if not rows:
        raise InputError("the batch has no rows; send at least one row.")
    if len(rows) > MAX_ROWS:
        raise InputError(f"at most {MAX_ROWS} rows per request; got {len(rows)}. Split the batch.")
    _check_unfit(rows, names)
    _check_mixed(rows, names)
    return rows, names


def _check_unfit(rows: list[dict[str, Any]], names: RowNames | None) -> None:
    """Refuse the first value no column can hold, naming its row and column."""
    for position, row in enumerate(rows):
        for column, value in row.items():
            if isinstance(value, _Unfit):
                where = names(position) if names is not None else f"index {position}"
                raise InputError(f"column {column!r} {where} {value.problem()}")


def _check_mixed(rows: list[dict[str, Any]], names: RowNames | None) -> None:
    """Refuse a column holding lists (label sets) on some rows and single values on
    others, naming a row of each."""
    first: dict[str, tuple[int, bool]] = {}
    for position, row in enumerate(rows):
        for column, value in row.items():
            if value is None:
                continue
            listed = isinstance(value, list)
            seen = first.setdefault(column, (position, listed))
            if seen[1] != listed:
                where = names or RowNames("index")
                lists, single = (seen[0], position) if seen[1] else (position, seen[0])
                raise InputError(
                    f"column {column!r} {where(lists)} holds a list but {where(single)} a "
                    "single value: the column mixes lists and single values; send every row "
                    "a list (label sets) or every row one value."
                )
