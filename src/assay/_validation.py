"""One place for input checks, with one message style.

Parameter errors follow scikit-learn's wording::

    The 'cv' parameter of cross_val_predict_proba must be an int >= 2. Got 1 instead.

Data errors name the place (file, row, column) and the fix; rows are named as
docs/architecture.md ("Naming rows in messages") says, by :func:`name_rows`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError

__all__ = [
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


def param_error(name: str, func: str, expected: str, got: Any) -> InputError:
    """Build the standard parameter error (scikit-learn's wording)."""
    return InputError(f"The '{name}' parameter of {func} must be {expected}. Got {got!r} instead.")


def check_in(value: Any, allowed: Iterable[Any], *, name: str, func: str) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`InputError`."""
    allowed = list(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise param_error(name, func, f"one of {options}", value)
    return value


def check_number(
    value: Any,
    *,
    name: str,
    func: str,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
) -> Any:
    """Check that ``value`` is a (integer) number in ``[low, high]``."""
    kind = "an int" if integer else "a number"
    ok_type = (
        isinstance(value, (int, np.integer))
        if integer
        else isinstance(value, (int, float, np.integer, np.floating))
    )
    if isinstance(value, bool) or not ok_type:
        raise param_error(name, func, kind, value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"in [{low}, {high}]"
            if low is not None and high is not None
            else (f">= {low}" if low is not None else f"<= {high}")
        )
        raise param_error(name, func, f"{kind} {bounds}", value)
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
