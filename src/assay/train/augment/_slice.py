"""The slice language of ``assay augment --slice``: column comparisons, never code.

A slice is a true/false condition over a table's columns, parsed with :mod:`ast` and
evaluated by walking a whitelist of node types (nothing is ever passed to ``eval``)::

    ink == 'light'
    label in [3, 5] and not (width == 'narrow' or score < -0.5)
    `pixel 3` >= 8          # backticks quote a column name that is not an identifier

Comparisons: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` between a column and a value
(text, number, True / False) or another column, chains such as ``0 < x <= 3``, and
``in`` / ``not in`` a list of values; combined with ``and``, ``or``, ``not`` and
parentheses. A boolean column may stand alone (``reviewed``). Missing values compare as
false, as in pandas.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError

__all__ = ["MAX_LENGTH", "evaluate_slice"]

#: The longest slice accepted, in characters.
MAX_LENGTH = 10_000
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_WHAT = {
    ast.Call: "a function call",
    ast.Attribute: "an attribute",
    ast.Subscript: "indexing",
    ast.BinOp: "arithmetic",
    ast.Lambda: "a lambda",
    ast.NamedExpr: "an assignment",
    ast.IfExp: "an if-expression",
    ast.Dict: "a dictionary",
}
_SYNTAX = (
    "write comparisons of columns with values (col == value, !=, <, <=, >, >=, "
    "col in [a, b]) joined by and / or / not, with parentheses"
)
_BACKTICK = re.compile(r"`([^`]*)`")


class _Slice:
    """One predicate being evaluated over ``frame``; ``how`` ends every message."""

    def __init__(self, frame: pd.DataFrame, text: str, source: str, names: dict[str, str],
                 how: str) -> None:
        self.frame, self.text, self.source, self.names, self.how = frame, text, source, names, how

    def fail(self, why: str) -> InputError:
        return InputError(f"the slice predicate {_shown(self.text)} {why}. {self.how}")

    def part(self, node: ast.AST) -> str:
        """The predicate's text of ``node``, with backtick-quoted names restored."""
        segment = ast.get_source_segment(self.source, node) or ast.dump(node)
        for alias, name in self.names.items():
            segment = segment.replace(alias, f"`{name}`")
        return segment

    def condition(self, node: ast.AST) -> np.ndarray:
        """A boolean mask of the rows where ``node`` holds."""
        if isinstance(node, ast.BoolOp):
            masks = [self.condition(value) for value in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return np.asarray(combine.reduce(masks), dtype=bool)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
            return ~self.condition(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            both = self.condition(node.left), self.condition(node.right)  # pandas' & and |
            return both[0] & both[1] if isinstance(node.op, ast.BitAnd) else both[0] | both[1]
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            column = self.column(node)
            if pd.api.types.is_bool_dtype(column.dtype):
                return column.fillna(False).to_numpy(dtype=bool)
            raise self.fail(
                f"is not a true/false condition: column {self.part(node)!r} holds "
                f"{column.dtype} values; compare it, e.g. {self.part(node)} == ..."
            )
        raise self.refuse(node)

    def refuse(self, node: ast.AST) -> InputError:
        if isinstance(node, ast.Constant):
            return self.fail(f"is not a true/false condition: {self.part(node)} is a value alone")
        what = next((w for t, w in _WHAT.items() if isinstance(node, t)), "an expression")
        return self.fail(
            f"uses {what} ({self.part(node)}), which the slice language does not allow; "
            + _SYNTAX
        )

    def column(self, node: ast.Name) -> pd.Series:
        name = self.names.get(node.id, node.id)
        if name not in self.frame.columns:
            raise self.fail(f"does not parse: name {name!r} is not defined (not a column)")
        return self.frame[name]

    def operand(self, node: ast.AST) -> Any:
        """A column (Series) or a value (text, number, True / False)."""
        if isinstance(node, ast.Name):
            return self.column(node)
        value = _value(node)
        if value is _NOT_A_VALUE:
            raise self.refuse(node)
        return value

    def compare(self, node: ast.Compare) -> np.ndarray:
        mask = np.ones(len(self.frame), dtype=bool)
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            mask &= self.one_comparison(left, op, right)
            left = right
        return mask

    def one_comparison(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> np.ndarray:
        if isinstance(op, (ast.In, ast.NotIn)):
            return self.membership(left, op, right)
        if type(op) not in _COMPARE:  # is / is not
            raise self.fail(f"uses 'is' ({self.part(right)}); {_SYNTAX}")
        a, b = self.operand(left), self.operand(right)
        if not isinstance(a, pd.Series) and not isinstance(b, pd.Series):
            raise self.fail(f"compares two values ({self.part(left)}, {self.part(right)}); "
                            "name a column on one side")
        try:
            result = _COMPARE[type(op)](a, b)
        except TypeError as exc:
            raise self.fail(
                f"cannot compare {self.part(left)} with {self.part(right)} ({exc}); compare "
                "numbers with numbers and text with text"
            ) from None
        return np.asarray(pd.Series(result).fillna(False).to_numpy(dtype=bool))

    def membership(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> np.ndarray:
        if not isinstance(left, ast.Name):
            raise self.fail(f"tests {self.part(left)} with 'in'; put a column on the left: "
                            "col in [a, b]")
        column = self.column(left)
        if not isinstance(right, (ast.List, ast.Tuple, ast.Set)):
            raise self.fail(f"needs a list after 'in', e.g. {self.part(left)} in [a, b]; got "
                            f"{self.part(right)}")
        values = [_value(element) for element in right.elts]
        bad = [e for e, v in zip(right.elts, values, strict=True) if v is _NOT_A_VALUE]
        if bad:
            raise self.refuse(bad[0])
        inside = column.isin(values).to_numpy(dtype=bool)
        return ~inside if isinstance(op, ast.NotIn) else inside


_NOT_A_VALUE = object()


def _shown(predicate: str, limit: int = 200) -> str:
    """The predicate quoted for a message, cut after ``limit`` characters."""
    return repr(predicate) if len(predicate) <= limit else repr(predicate[:limit]) + "..."


def _value(node: ast.AST) -> Any:
    """The text, number or True / False that ``node`` spells, else ``_NOT_A_VALUE``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    return _NOT_A_VALUE


def _quote_names(predicate: str) -> tuple[str, dict[str, str]]:
    """Backtick-quoted column names (outside string literals) replaced by identifiers."""
    out: list[str] = []
    names: dict[str, str] = {}
    quote: str | None = None
    i = 0
    while i < len(predicate):
        char = predicate[i]
        if quote is None and char == "`":
            end = predicate.find("`", i + 1)
            if end < 0:
                raise InputError(
                    f"the slice predicate {_shown(predicate)} opens a `quoted column name` at "
                    f"character {i + 1} and never closes it; add the closing backtick."
                )
            alias = f"__slice_column_{len(names)}__"
            names[alias] = predicate[i + 1 : end]
            out.append(alias)
            i = end + 1
            continue
        if quote is None and char in "'\"":
            quote = char
        elif quote is not None and char == "\\":
            out.append(predicate[i : i + 2])
            i += 2
            continue
        elif char == quote:
            quote = None
        out.append(char)
        i += 1
    return "".join(out), names


def _parse(predicate: str, source: str, how: str) -> ast.expr:
    """The predicate's expression tree; SyntaxError and assignments in words."""
    try:
        return ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        try:
            statement = ast.parse(source, mode="exec").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            statement = []
        if len(statement) == 1 and isinstance(statement[0], (ast.Assign, ast.AnnAssign)):
            raise InputError(
                f"the slice predicate {_shown(predicate)} is an assignment, not a true/false "
                f"condition; compare with ==, e.g. ink == 'light'. {how}"
            ) from None
        where = f" at character {exc.offset}" if exc.offset else ""
        raise InputError(
            f"the slice predicate {_shown(predicate)} is not valid: it does not parse "
            f"(SyntaxError: {exc.msg}{where}). "
            f"{how}"
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL characters, deep nesting
        raise InputError(
            f"the slice predicate {_shown(predicate)} does not parse ({type(exc).__name__}). {how}"
        ) from None


def evaluate_slice(frame: pd.DataFrame, predicate: str, how: str = "") -> np.ndarray:
    """The rows of ``frame`` where ``predicate`` (the slice language above) holds.

    Parameters
    ----------
    frame : DataFrame of shape (n_samples, n_columns)
    predicate : str
        The condition, e.g. ``"ink == 'light' and label in [3, 5]"``.
    how : str, optional
        Appended to every error message (what to write instead).

    Returns
    -------
    ndarray of shape (n_samples,), bool

    Raises
    ------
    InputError
        A predicate that does not parse, names an unknown column, uses anything but
        comparisons (calls, attributes, arithmetic, ...), or is not a true/false
        condition; the message names the offending part. Nothing is evaluated.
    """
    text = str(predicate)
    if len(text) > MAX_LENGTH:
        raise InputError(
            f"the slice predicate is {len(text)} characters long, over the limit of "
            f"{MAX_LENGTH}; {_SYNTAX}."
        )
    if not text.strip():
        raise InputError(f"the slice predicate is empty. {how}")
    source, names = _quote_names(text)
    tree = _parse(text, source, how)
    frame = frame.reset_index(drop=True)
    try:
        return _Slice(frame, text, source, names, how).condition(tree)
    except RecursionError:
        raise InputError(
            f"the slice predicate {_shown(text)} nests too deeply; simplify it. {how}"
        ) from None
