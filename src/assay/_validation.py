"""One place for input checks, with one message style.

Parameter errors follow scikit-learn's wording::

    The 'cv' parameter of cross_val_predict_proba must be an int >= 2. Got 1 instead.

Data errors name the place (file, row, column) and the fix; rows are named as
docs/architecture.md ("Naming rows in messages") says, by :func:`name_rows`.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from numbers import Integral, Real
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from assay.exceptions import InputError

__all__ = [
    "InstanceOf",
    "Integral",
    "Interval",
    "Options",
    "Real",
    "Satisfies",
    "check_columns",
    "check_in",
    "check_labels",
    "check_non_empty",
    "check_number",
    "check_pred_probs",
    "index_of",
    "name_rows",
    "param_error",
    "plain_value",
    "validate_parameter_constraints",
    "validate_params",
]

#: Tolerance on ``|row sum - 1|`` of predicted probabilities. Published files such as
#: the MNIST/CIFAR-10 ``*_pyx.npy`` arrays have rows that sum to 1.00002 through float
#: rounding; such rows are renormalised, larger deviations are rejected.
PROBA_SUM_TOLERANCE = 1e-4


def index_of(data: Any) -> pd.Index | None:
    """The index of a pandas Series or DataFrame (its rows' names), else None."""
    return data.index if isinstance(data, (pd.Series, pd.DataFrame)) else None


def name_rows(
    positions: int | Sequence[int] | np.ndarray,
    labels: Sequence[Any] | pd.Index | None = None,
    *,
    kind: str = "index",
    limit: int = 5,
) -> str:
    """Name rows in a message by the convention of docs/architecture.md.

    Parameters
    ----------
    positions : int or sequence of int
        The rows' 0-based positions.
    labels : sequence or pandas.Index, optional
        What names the row at each position: a DataFrame's index labels (``kind``
        ``"index"``), or e.g. the lines of a file (``kind="line"``). Without labels,
        rows are named by their position, 0-based (an array).
    kind : str, default "index"
        The noun: ``index`` (labels shown with ``repr``), ``line``, ``row``, ``task`` ...
    limit : int, default 5
        At most this many rows are named, then ``...``.

    Returns
    -------
    str
        ``index 'a'``, ``index labels 3 and 7``, ``line 5``, ``lines 2, 3, 9, 11, 12 ...``,
        ``position 4 (0-based)``, ``positions 3 and 7 (0-based)``.
    """
    if isinstance(positions, (int, np.integer)):
        positions = [positions]
    pos = [int(p) for p in positions]
    shown = pos[:limit]
    if labels is None:
        kind, names, suffix = "position", [str(p) for p in shown], " (0-based)"
    elif kind == "index":
        names, suffix = [repr(plain_value(labels[p])) for p in shown], ""
    else:
        names, suffix = [str(plain_value(labels[p])) for p in shown], ""
    if len(pos) == 1:
        return f"{kind} {names[0]}{suffix}"
    noun = "index labels" if kind == "index" else f"{kind}s"
    if len(pos) > limit:
        return f"{noun} {', '.join(names)} ...{suffix}"
    return f"{noun} {', '.join(names[:-1])} and {names[-1]}{suffix}"


def plain_value(value: Any) -> Any:
    """For messages: a numpy scalar as the Python value it holds (``3``, not ``np.int64(3)``)."""
    return value.item() if isinstance(value, np.generic) else value


def whole_number(value: Any) -> Any:
    """For display: :func:`plain_value`, with a whole float as an int (a count of 601
    reads ``601``, not ``601.0``); anything else unchanged."""
    value = plain_value(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def whole_text(value: Any) -> str:
    """A value as text, a whole float as an int: names and keys that must agree whether
    a column held ``3`` or ``3.0`` (label names, category keys)."""
    return str(whole_number(value))


def param_error(name: str, func: str, expected: str, got: Any, *,
                param: str | None = None) -> InputError:
    """Build the standard parameter error (scikit-learn's wording).

    ``param`` (default ``name``) is the Python parameter the error is about, carried as
    :attr:`InputError.param`; give it when ``name`` words a part of one
    (``thresholds['psi']`` of ``thresholds``).
    """
    return InputError(
        f"The '{name}' parameter of {func} must be {expected}. Got {got!r} instead.",
        param=param or name,
    )


def check_in(value: Any, allowed: Iterable[Any], *, name: str, func: str,
             param: str | None = None) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`InputError`.

    For values found in data (a list's items, a mapping's keys); a parameter's own
    value is declared with :func:`validate_params` instead.
    """
    allowed = list(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise param_error(name, func, f"one of {options}", value, param=param)
    return value


def check_number(
    value: Any,
    *,
    name: str,
    func: str,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    param: str | None = None,
) -> Any:
    """Check that ``value`` is a (integer) number in ``[low, high]``.

    For numbers found in data or bounded by it; a parameter's own value is declared
    with :func:`validate_params` instead.
    """
    kind = "an int" if integer else "a number"
    ok_type = (
        isinstance(value, (int, np.integer))
        if integer
        else isinstance(value, (int, float, np.integer, np.floating))
    )
    if isinstance(value, bool) or not ok_type:
        raise param_error(name, func, kind, value, param=param)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"in [{low}, {high}]"
            if low is not None and high is not None
            else (f">= {low}" if low is not None else f"<= {high}")
        )
        raise param_error(name, func, f"{kind} {bounds}", value, param=param)
    return value


def check_columns(df: pd.DataFrame, required: Sequence[str], *, where: str = "the input") -> None:
    """Raise if any of ``required`` is not a column of ``df``, listing what exists."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        columns = list(df.columns)
        more = f" ... ({len(columns) - 20} more)" if len(columns) > 20 else ""
        present = ", ".join(map(str, columns[:20])) + more
        raise InputError(
            f"{where} has no column {', '.join(map(repr, missing))}; "
            f"its columns are: {present}. Name an existing column or rename it."
        )


def check_non_empty(n_rows: int, *, where: str = "the input") -> None:
    """Raise if a table has no rows."""
    if n_rows == 0:
        raise InputError(f"{where} has no rows; give a file or table with at least one row.")


def check_pred_probs(
    pred_probs: Any,
    *,
    n_samples: int | None = None,
    func: str = "find_label_issues",
    where: str = "pred_probs",
) -> np.ndarray:
    """Validate predicted probabilities and return them as float64, rows summing to 1.

    Parameters
    ----------
    pred_probs : array-like of shape (n_samples, n_classes)
        Out-of-sample predicted class probabilities.
    n_samples : int, optional
        The expected number of rows (the number of labels).
    func : str
        The public function name, for the message.
    where : str, default "pred_probs"
        How messages name the probabilities (e.g. the file they were read from); rows
        are named by index label (a DataFrame) or 0-based position (:func:`name_rows`).

    Returns
    -------
    ndarray of shape (n_samples, n_classes), float64
        Rows whose sum is within :data:`PROBA_SUM_TOLERANCE` of 1 are renormalised.
    """
    arr = np.asarray(pred_probs, dtype=np.float64)
    if arr.ndim != 2:
        raise param_error("pred_probs", func, "a 2-d array (n_samples, n_classes)", arr.shape)
    if n_samples is not None and arr.shape[0] != n_samples:
        raise InputError(
            f"{where} has {arr.shape[0]} rows but there are {n_samples} labels; "
            "give one row of probabilities per labelled example, in the same order."
        )
    labels = index_of(pred_probs)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.argmin(finite.all(axis=1)))
        raise InputError(
            f"{where} {name_rows(row, labels)} contains NaN or inf; "
            "recompute the probabilities or drop that example."
        )
    if (arr < 0).any():
        row = int(np.argmax((arr < 0).any(axis=1)))
        raise InputError(f"{where} {name_rows(row, labels)} has a negative probability.")
    sums = arr.sum(axis=1)
    bad = np.abs(sums - 1.0) > PROBA_SUM_TOLERANCE
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(
            f"{where} {name_rows(row, labels)} sums to {sums[row]:.6g}, not 1; give "
            "probabilities (e.g. softmax outputs), not logits or scores."
        )
    if np.any(sums != 1.0):
        arr = arr / sums[:, None]
    return arr


def check_labels(
    labels: Any, classes: Sequence[Any] | None = None, *, func: str = "find_label_issues"
) -> tuple[np.ndarray, np.ndarray]:
    """Encode labels as integer codes.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Class labels, ints or strings.
    classes : sequence, optional
        The classes, in the column order of any ``pred_probs``. Defaults to the sorted
        unique labels when labels are strings, ``range(max + 1)`` when they are ints.

    Returns
    -------
    codes : ndarray of shape (n_samples,), int64
    classes : ndarray of shape (n_classes,)
    """
    values = pd.Series(np.asarray(labels))
    if len(values) == 0:
        raise InputError("there are no labels; give at least one labelled example.")
    if values.isna().any():
        row = int(np.argmax(values.isna().to_numpy()))
        raise InputError(
            f"the label at {name_rows(row, index_of(labels))} is missing; every example "
            "needs a label."
        )
    if classes is None:
        if pd.api.types.is_integer_dtype(values):
            if (values < 0).any():
                raise InputError("integer labels must be >= 0 (class indices).")
            classes_arr = np.arange(int(values.max()) + 1)
        else:
            classes_arr = np.asarray(sorted(values.unique(), key=str))
    else:
        classes_arr = np.asarray(list(classes))
    index = pd.Index(classes_arr)
    if not index.is_unique:
        raise param_error("classes", func, "a sequence of distinct classes", list(classes_arr))
    codes = index.get_indexer(pd.Index(values))
    if (codes < 0).any():
        unknown = sorted(set(values[codes < 0].astype(str)))[:10]
        raise InputError(
            f"labels {', '.join(unknown)} are not among the classes "
            f"({', '.join(map(str, classes_arr[:20]))}); pass classes= in pred_probs column order."
        )
    return codes.astype(np.int64), classes_arr


def warn(message: str) -> None:
    """Emit a user-facing warning attributed to the caller's caller."""
    warnings.warn(message, UserWarning, stacklevel=3)


# ------------------------------------------------------------- declared constraints
# In the style of scikit-learn's ``sklearn.utils._param_validation``: each public
# function declares once what each scalar parameter may be, and ``validate_params``
# checks the call before the body runs. Messages keep the wording of ``check_number`` /
# ``check_in`` above, so that callers (and the CLI) see exactly what they saw before.

#: Longest ``repr`` of a bad value shown in a message (an array passed as ``alpha``).
_MAX_REPR = 200


def _shown(value: Any) -> str:
    """``repr(value)`` for the ``Got ... instead`` part, cut to one short line."""
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


class Constraint:
    """One thing a parameter may be; a parameter is valid if any of its constraints holds."""

    #: Whether the value's type is the kind this constraint is about (a number for an
    #: interval, a string for string options): picks the message when none holds.
    def matches_type(self, value: Any) -> bool:
        return False

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self, value: Any) -> str:
        """What the parameter must be, worded for ``value`` (full, or just the kind)."""
        return str(self)

    def got(self, value: Any) -> str:
        """How the message shows the bad value."""
        return _shown(value)

    def bad_values(self) -> list[Any]:
        """Values violating this constraint (for the generic test); may be empty."""
        return []


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


class Interval(Constraint):
    """A number in an interval, ``Interval(Integral, 1, None)`` = an int >= 1.

    Parameters
    ----------
    type : Integral or Real (from :mod:`numbers`), or int / float
        Integers only (``np.integer`` too, never ``bool``), or any real number (NaN never
        is one).
    low, high : number or None
        The bounds; ``None`` leaves that side unbounded (infinity is then allowed).
    closed : {"both", "left", "right", "neither"}, default "both"
        Which bounds belong to the interval.
    """

    def __init__(self, type: type, low: float | None, high: float | None, *,
                 closed: str = "both") -> None:
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed must be both, left, right or neither, not {closed!r}")
        self.integer = type in (Integral, int)
        self.low, self.high, self.closed = low, high, closed

    def matches_type(self, value: Any) -> bool:
        if _is_bool(value):
            return False
        kinds = (int, np.integer) if self.integer else (int, float, np.integer, np.floating)
        return isinstance(value, kinds)

    def _in_bounds(self, value: Any) -> bool:
        low_in = self.closed in ("both", "left")
        high_in = self.closed in ("both", "right")
        if self.low is not None and (value < self.low if low_in else value <= self.low):
            return False
        return not (self.high is not None and (value > self.high if high_in else value >= self.high))

    def is_satisfied_by(self, value: Any) -> bool:
        if not self.matches_type(value):
            return False
        if not self.integer and math.isnan(value):
            return False
        return self._in_bounds(value)

    @property
    def kind(self) -> str:
        return "an int" if self.integer else "a number"

    def __str__(self) -> str:
        low, high = self.low, self.high
        if low is not None and high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{self.kind} in {left}{low}, {high}{right}"
        if low is not None:
            return f"{self.kind} {'>=' if self.closed in ('both', 'left') else '>'} {low}"
        if high is not None:
            return f"{self.kind} {'<=' if self.closed in ('both', 'right') else '<'} {high}"
        return self.kind

    def describe(self, value: Any) -> str:
        return str(self) if self.matches_type(value) else self.kind

    def bad_values(self) -> list[Any]:
        out: list[Any] = ["1", True] if self.integer else ["1", math.nan]
        if self.integer:
            out.append(1.5)
        if self.low is not None:
            out.append(self.low - (1 if self.integer else max(abs(self.low), 1.0)))
            if self.closed in ("right", "neither"):
                out.append(self.low)
        if self.high is not None:
            out.append(self.high + (1 if self.integer else max(abs(self.high), 1.0)))
            if self.closed in ("left", "neither"):
                out.append(self.high)
            if not self.integer:
                out.append(math.inf)
        return out


class Options(Constraint):
    """One of a few values, in the order the message lists them: ``Options(("a", "b"))``."""

    def __init__(self, options: Iterable[Any]) -> None:
        self.options = tuple(options)

    def matches_type(self, value: Any) -> bool:
        return any(type(value) is type(o) for o in self.options)

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return bool(value in self.options)
        except (TypeError, ValueError):  # an array compared with strings
            return False

    def __str__(self) -> str:
        return f"one of {', '.join(repr(o) for o in self.options)}"

    def bad_values(self) -> list[Any]:
        return ["no-such-option"] if all(isinstance(o, str) for o in self.options) else []


class InstanceOf(Constraint):
    """An instance of a type; the message shows the wrong value's type, not its repr."""

    def __init__(self, cls: type | tuple[type, ...], description: str | None = None) -> None:
        self.cls = cls
        names = cls if isinstance(cls, tuple) else (cls,)
        self.description = description or " or ".join(f"an instance of {c.__name__!r}"
                                                      for c in names)

    def matches_type(self, value: Any) -> bool:
        return isinstance(value, self.cls)

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.cls)

    def __str__(self) -> str:
        return self.description

    def got(self, value: Any) -> str:
        return repr(type(value).__name__)

    def bad_values(self) -> list[Any]:
        return [object()]


class Satisfies(Constraint):
    """A value for which ``predicate`` is true, described by ``description``."""

    def __init__(self, predicate: Callable[[Any], bool], description: str,
                 bad: Sequence[Any] = ()) -> None:
        self.predicate, self.description, self.bad = predicate, description, list(bad)

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return bool(self.predicate(value))
        except (TypeError, ValueError):
            return False

    def __str__(self) -> str:
        return self.description

    def bad_values(self) -> list[Any]:
        return list(self.bad)


class _NoneConstraint(Constraint):
    def matches_type(self, value: Any) -> bool:
        return value is None

    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


def _is_array_like(value: Any) -> bool:
    if isinstance(value, (str, bytes, dict)):
        return False
    return hasattr(value, "__array__") or (hasattr(value, "__len__") and hasattr(value,
                                                                                 "__iter__"))


def _make(constraint: Any) -> Constraint:
    """A constraint object from what a declaration may hold."""
    if isinstance(constraint, Constraint):
        return constraint
    if constraint is None:
        return _NoneConstraint()
    if constraint == "boolean":
        return InstanceOf((bool, np.bool_), "a bool")
    if constraint == "array-like":
        return Satisfies(_is_array_like, "an array-like", bad=[3.5])
    if constraint is callable:
        return Satisfies(callable, "a callable", bad=[3.5])
    if isinstance(constraint, type):
        return InstanceOf(constraint)
    raise TypeError(f"unknown parameter constraint {constraint!r}")


def _failure_text(constraints: list[Constraint], value: Any) -> tuple[str, str]:
    """(what the parameter must be, how the value is shown) for a value none accepts.

    The constraints about the value's type (an interval for a number) word the message,
    so that ``-1`` for "an int >= 1 or None" reads ``must be an int >= 1``, as the
    imperative checks said; a value of another type lists every constraint's kind.
    """
    relevant = [c for c in constraints if c.matches_type(value)] or constraints
    texts = [c.describe(value) for c in relevant]
    must = texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
    return must, relevant[0].got(value)


def validate_parameter_constraints(constraints: Mapping[str, Sequence[Any]],
                                   params: Mapping[str, Any], caller: str) -> None:
    """Raise :class:`InputError` (with ``param``) for the first parameter none accepts.

    Parameters
    ----------
    constraints : mapping of str to list
        Parameter name -> what it may be (any one holds): :class:`Interval`,
        :class:`Options`, :class:`InstanceOf`, :class:`Satisfies`, a type, ``None``,
        ``"boolean"``, ``"array-like"`` or ``callable``; ``"no_validation"`` skips it.
    params : mapping of str to object
        The values given.
    caller : str
        The function (or ``Class.method``) named in the message.
    """
    for name, value in params.items():
        declared = constraints.get(name, "no_validation")
        if declared == "no_validation":
            continue
        objs = [_make(c) for c in declared]
        if any(c.is_satisfied_by(value) for c in objs):
            continue
        must, got = _failure_text(objs, value)
        raise InputError(
            f"The '{name}' parameter of {caller} must be {must}. Got {got} instead.", param=name
        )


_SKIP_NESTED: ContextVar[bool] = ContextVar("assay_skip_nested_validation", default=False)

P = ParamSpec("P")
R = TypeVar("R")


def validate_params(
    constraints: Mapping[str, Sequence[Any] | str], *, prefer_skip_nested_validation: bool = False,
    name: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a public function with the constraints of its parameters.

    ``@validate_params({"k": [Interval(Integral, 1, None)]})``: every call binds its
    arguments to the signature (defaults included) and raises
    ``InputError("The 'k' parameter of f must be an int >= 1. Got 0 instead.",
    param="k")`` before the body runs.

    Parameters
    ----------
    constraints : mapping of str to list of constraints
        See :func:`validate_parameter_constraints`. Every name must be a parameter of
        the function (checked when decorating).
    prefer_skip_nested_validation : bool, default False
        Skip the validation of decorated functions called by this one (they receive
        values this function checked or computed).
    name : str, optional
        The name in messages; by default the function's ``__name__``.

    Returns
    -------
    callable
        The decorator; the decorated function keeps its signature and docstring, and
        exposes the declaration as ``__assay_constraints__``.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{func.__qualname__} has no parameter {sorted(unknown)}")
        caller = name or func.__name__

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if _SKIP_NESTED.get():
                return func(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = {k: v for k, v in bound.arguments.items() if k in constraints}
            validate_parameter_constraints(constraints, values, caller)  # type: ignore[arg-type]
            token = _SKIP_NESTED.set(prefer_skip_nested_validation)
            try:
                return func(*args, **kwargs)
            finally:
                _SKIP_NESTED.reset(token)

        wrapper.__assay_constraints__ = dict(constraints)  # type: ignore[attr-defined]
        return wrapper

    return decorate
