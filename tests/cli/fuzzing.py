"""Hostile values for the fuzz tests of the CLI and the web app (issue 12), seeded.

``random.Random(f"{command}-{case}")`` picks from fixed pools, so every case is
reproducible from its test id alone. Paths are tokens (``<missing>``, ``<folder>``, ...)
that :func:`materialize` turns into real files under a test's temporary folder: no
case ever names a path outside it (the suite may run as root).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "HOSTILE_NUMBERS",
    "HOSTILE_PATHS",
    "HOSTILE_TEXT",
    "error_lines",
    "hostile_json",
    "hostile_value",
    "materialize",
]

HUGE = str(10**40)
HOSTILE_NUMBERS = [
    HUGE, "-" + HUGE, "-1", "0", "nan", "inf", "-inf", "1e309", "1.5", "2147483648",
    "9223372036854775808", "-9223372036854775809", "0x10", "1_000", "", "abc",
]
HOSTILE_TEXT = [
    "", " ", "\x00", "a\x00b", "two\nlines", "tab\there", "é✓😀漢字", "\u202eevil", "x" * 10_000,
    "../../etc/passwd", "x@v99999999999999999999", "x@v-1", "x@v0", "x@v", "@", "@v1", "x@@v1",
    "iris@v99999999999999999999", "iris@v-1", "iris@v0", "iris@v1.5", "iris@vnan", "-", "--json",
    "nan", "inf", HUGE, "-1", "0", "%s%n{0}", "'; DROP TABLE versions; --", "CON", ".", "..",
    "a" * 300, "iris,iris", "==", "label == ", "__import__('os')",
]
#: Tokens of hostile paths, resolved by :func:`materialize`.
HOSTILE_PATHS = [
    "<missing>", "<missing-dir>/x.csv", "<folder>", "<empty-folder>", "<garbage.csv>",
    "<garbage.parquet>", "<garbage.jsonl>", "<garbage.yaml>", "<garbage.npy>",
    "<garbage>", "<empty.csv>", "<header-only.csv>", "<file-as-dir>", "../../etc/passwd",
    "<nul-in-path>", "<unicode-name.csv>", "<long-name>",
]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def hostile_value(rng: random.Random, kind: str) -> str:
    """A hostile command-line value for a parameter of type ``kind``.

    Parameters
    ----------
    rng : random.Random
        The case's generator.
    kind : str
        ``"int"``, ``"float"``, ``"Path"`` or anything else (text).

    Returns
    -------
    str
        The value, or a path token for :func:`materialize`.
    """
    if kind in ("int", "float"):
        pool = HOSTILE_NUMBERS if rng.random() < 0.85 else HOSTILE_TEXT
    elif kind == "Path":
        pool = HOSTILE_PATHS if rng.random() < 0.8 else HOSTILE_TEXT
    else:
        pool = HOSTILE_TEXT if rng.random() < 0.8 else HOSTILE_PATHS + HOSTILE_NUMBERS
    return rng.choice(pool)


def materialize(token: str, root: Path) -> str:
    """The real path (or the value itself) for a hostile ``token``, made under ``root``.

    Parameters
    ----------
    token : str
        A value from :func:`hostile_value`.
    root : pathlib.Path
        A folder the test owns; every file made here lives in it.

    Returns
    -------
    str
        What goes on the command line.
    """
    if not (token.startswith("<") and ">" in token):
        return token
    name, _, rest = token[1:].partition(">")
    base = root / "hostile"
    base.mkdir(exist_ok=True)
    garbage = np.random.default_rng(len(name)).integers(0, 256, 3000, np.uint8).tobytes()
    made: dict[str, Any] = {
        "missing": lambda: base / "does-not-exist.csv",
        "missing-dir": lambda: base / "no-such-folder",
        "folder": lambda: _folder(base / "folder", full=True),
        "empty-folder": lambda: _folder(base / "empty-folder", full=False),
        "garbage": lambda: _write(base / "garbage", garbage),
        "empty.csv": lambda: _write(base / "empty.csv", b""),
        "header-only.csv": lambda: _write(base / "header-only.csv", b"id,label\n"),
        "file-as-dir": lambda: _write(base / "plain.csv", b"id,label\n1,a\n") / "x.csv",
        "nul-in-path": lambda: Path(str(base / "a") + "\x00b.csv"),
        "unicode-name.csv": lambda: _write(base / "é✓😀 name.csv", garbage),
        "long-name": lambda: base / ("n" * 300 + ".csv"),
    }
    path = _write(base / name, garbage) if name.startswith("garbage.") else made[name]()
    return str(path) + rest


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _folder(path: Path, *, full: bool) -> Path:
    path.mkdir(exist_ok=True)
    if full:
        (path / "a.txt").write_text("not a table\n")
        (path / "sub").mkdir(exist_ok=True)
    return path


def error_lines(stderr: str) -> list[str]:
    """The lines of an error report, without colour codes, blank lines, warnings, and
    click's usage boilerplate (``Usage: assay ...`` / ``Try 'assay ... --help'``)."""
    lines = [_ANSI.sub("", line).rstrip() for line in stderr.splitlines()]
    return [
        line
        for line in lines
        if line.strip()
        and not line.startswith(("Usage: assay", "Try 'assay", "warning:"))
    ]


def hostile_json(rng: random.Random, depth: int = 0) -> Any:
    """A hostile JSON value: wrong types, huge and non-finite numbers, deep nesting,
    unicode, long strings.

    Parameters
    ----------
    rng : random.Random
        The case's generator.
    depth : int, default 0
        The current nesting depth (the recursion stops at 3, except for the
        deliberately deep chains of 20 or 200 levels).

    Returns
    -------
    Any
        A value for ``json.dumps(..., allow_nan=True)``.
    """
    pick = rng.randrange(12)
    if pick == 0:
        return 10**40 * rng.choice([1, -1])
    if pick == 1:
        return rng.choice([float("nan"), float("inf"), -float("inf"), 1e308, -0.0])
    if pick == 2:
        return rng.choice([-1, 0, 2**31, 2**63, -(2**63) - 1, True, False])
    if pick == 3:
        return rng.choice(HOSTILE_TEXT)
    if pick == 4:
        return None
    if pick == 5:  # deeper chains are sent as raw text (json.dumps stops at ~1000)
        deep: Any = 1
        for _ in range(rng.choice([20, 200])):
            deep = [deep] if rng.random() < 0.5 else {"a": deep}
        return deep
    if pick in (6, 7) and depth < 3:
        return [hostile_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick in (8, 9) and depth < 3:
        keys = rng.sample(HOSTILE_TEXT, rng.randrange(1, 4))
        return {key[:50]: hostile_json(rng, depth + 1) for key in keys}
    return rng.choice(["a", 1, 1.5, [], {}, "x" * 100_000])
