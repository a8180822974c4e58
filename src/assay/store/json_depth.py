"""How deeply JSON text nests, measured without parsing it (parsers recurse).

Python's :mod:`json` recurses once per ``[`` / ``{`` (50,000 of them raise
``RecursionError``) and pyarrow's JSON reader crashes the process on deeply nested
input, so production batches are measured first: a vectorised count of brackets
outside strings, linear in the text's length.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from assay.exceptions import InputError

__all__ = ["MAX_DEPTH", "check_file_depth", "check_text_depth", "too_deep_line"]

#: Deepest nesting of arrays and objects accepted in a production batch (a row object
#: holding flat values nests 2 deep; ``{"rows": [...]}`` 3).
MAX_DEPTH = 64
# A JSON string; unterminated ones end at the line's end. Possessive (``*+``): linear.
_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*+"?')
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)
_CHUNK = 16 * 1024 * 1024


def too_deep_line(data: bytes, *, per_line: bool, limit: int = MAX_DEPTH) -> int | None:
    """The 1-based line of ``data`` where nesting first exceeds ``limit`` (None: never).

    ``per_line`` measures each line on its own (NDJSON: one document a line), else the
    whole text as one document. Brackets inside strings are not counted.
    """
    codes = np.frombuffer(_STRING.sub(b'""', data), np.uint8)
    step = np.isin(codes, _OPEN).astype(np.int64) - np.isin(codes, _CLOSE)
    depth = np.cumsum(step)
    newline = codes == ord("\n")
    if per_line:  # the depth at each line's start is that line's zero
        starts = np.concatenate([[0], depth[np.flatnonzero(newline)]])
        depth = depth - starts[np.cumsum(newline)]
    over = np.flatnonzero(depth > limit)
    if not over.size:
        return None
    return int(np.count_nonzero(newline[: over[0]])) + 1


def _too_deep(path: Path, line: int, limit: int) -> InputError:
    return InputError(
        f"{path} line {line} nests arrays or objects deeper than {limit} levels; "
        f"send one flat object a line: {{\"column\": value, ...}}."
    )


def check_text_depth(data: bytes, path: Path, *, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON Lines ``data`` (UTF-8, read from ``path``) with a line nested too deep."""
    line = too_deep_line(data, per_line=True, limit=limit)
    if line is not None:
        raise _too_deep(path, line, limit)


def check_file_depth(path: Path, *, limit: int = MAX_DEPTH) -> None:
    """Refuse a JSON Lines file with a line nested deeper than ``limit`` (read in chunks)."""
    first_line = 1
    rest = b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_CHUNK)
            data = rest + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            whole, rest = data[:cut], data[cut:]
            line = too_deep_line(whole, per_line=True, limit=limit)
            if line is not None:
                raise _too_deep(path, first_line + line - 1, limit)
            first_line += whole.count(b"\n")
            if not block:
                return
