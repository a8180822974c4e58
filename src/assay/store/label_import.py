"""The label column of an import: its kind of label, and the forms a file may give it in.

A dataset's kind of label (its :class:`~assay.tasks.Task`) is fixed at its first
import: named (``task=``), or detected from the label column (each registered task says
which Arrow types it claims, :meth:`~assay.tasks.Task.detects`: a float column is a
regression, a list column a multi-label dataset; anything else is classification).

Besides a plain column, a multi-label set may come as:

* several 0/1 columns (``label=["a", "b", "c"]``), stored as one ``list<string>``
  column (``labels``) in that label order;
* a text column with a separator (``label_sep="|"``: ``"a|c"``);
* a text column of JSON lists (``'["a", "c"]'``, what a CSV file holds).

Each form is refused with a one-line message naming the row when a value does not fit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from assay.exceptions import InputError
from assay.store.readers import RowNames
from assay.tasks import DEFAULT_KIND, Task, get_task, registered_tasks
from assay.tasks.base import missing_values

__all__ = [
    "LABEL_SET_COLUMN",
    "PreparedLabels",
    "as_stored_labels",
    "check_allowed_names",
    "detect_kind",
    "prepare_labels",
]

#: The name of the list column made from several 0/1 label columns.
LABEL_SET_COLUMN = "labels"


@dataclass(frozen=True)
class PreparedLabels:
    """An imported table with its label column in stored form, and its kind of label.

    Attributes
    ----------
    table : pyarrow.Table
        The rows, the label column converted (0/1 columns combined, text split).
    label : str or None
        The label column to use as the ``label`` role (None: as given / the default).
    kind : str
        The dataset's kind of label.
    label_columns : tuple of str
        The 0/1 columns combined into the label column, in order (else empty).
    """

    table: pa.Table
    label: str | None
    kind: str
    label_columns: tuple[str, ...] = ()


def detect_kind(label_type: pa.DataType) -> str:
    """The kind of label a column of ``label_type`` holds, by the registered tasks.

    The first task other than the default that claims the type
    (:meth:`~assay.tasks.Task.detects`), else the default kind (classification).
    """
    for kind, task in registered_tasks().items():
        if kind != DEFAULT_KIND and task.detects(label_type):
            return kind
    return DEFAULT_KIND


def prepare_labels(
    table: pa.Table,
    *,
    dataset: str,
    label: str | Sequence[str] | None,
    task: str | None,
    label_sep: str | None,
    base_kind: str | None,
    base_label: str | None,
    base_names: Sequence[str] | None,
    where: str,
    rows: RowNames,
) -> PreparedLabels:
    """Bring the label column of an import to its stored form and find its kind.

    Parameters
    ----------
    table : pyarrow.Table
        The rows read from the source.
    dataset : str
        The dataset's name, for messages.
    label : str, list of str or None
        The label column, or several 0/1 columns (a multi-label set).
    task : str or None
        The kind named by the user (None: the dataset's kind, else detected).
    label_sep : str or None
        Split a text label column on this separator into label sets.
    base_kind, base_label, base_names
        The dataset's kind, label column and label names (None at a first import).
    where, rows
        The source and how to name its rows, for messages.

    Raises
    ------
    InputError
        A kind other than the dataset's, a form of label that contradicts the kind, a
        0/1 column holding another value, text that is not a list, a column mixing
        lists and single values.
    """
    original = table
    if task is not None:
        get_task(task)  # an unknown kind is refused, naming the known ones
    if base_kind is not None and task is not None and task != base_kind:
        raise InputError(
            f"dataset {dataset!r} is {base_kind} (fixed at its first import); this import "
            f"names --task {task}: leave --task out, or import under another name."
        )
    columns: tuple[str, ...] = ()
    names = _label_list(label)
    if names is None and base_label is not None and base_names and base_label not in (
        table.column_names
    ) and all(n in table.column_names for n in base_names):
        names = list(base_names)  # a re-import of the 0/1 columns of the first import
    if names is not None:
        _require_kind(task or base_kind, "multilabel", "several label columns", where)
        target = base_label or _free_name(table, names)
        table = _combine_indicators(table, names, target, where, rows)
        label, columns = target, tuple(names)
    column = label if isinstance(label, str) else base_label or "label"
    if column in table.column_names:
        table = _convert_text(table, column, label_sep, task or base_kind, where, rows)
    elif label_sep is not None:
        _require_kind(task or base_kind, "multilabel", "--label-sep", where)
    kind = task or base_kind
    if kind is None:
        kind = detect_kind(table.schema.field(column).type) if column in table.column_names else (
            DEFAULT_KIND
        )
    if column in table.column_names:
        table = _stored_type(table, column, get_task(kind), where, rows)
    return PreparedLabels(
        _retyped(original, table), label if isinstance(label, str) else None, kind, columns
    )


def _retyped(original: pa.Table, table: pa.Table) -> pa.Table:
    """``table`` without the pandas metadata of ``original`` when a column changed type
    (the metadata would rebuild a label-set column as text)."""
    if table.schema.metadata and table.schema != original.schema:
        metadata = {k: v for k, v in table.schema.metadata.items() if k != b"pandas"}
        return table.replace_schema_metadata(metadata or None)
    return table


def _label_list(label: str | Sequence[str] | None) -> list[str] | None:
    """Several label columns (a list of two or more names), else None."""
    if label is None or isinstance(label, str):
        return None
    names = [str(n) for n in label]
    if len(names) == 1:
        return None
    if not names:
        raise InputError("label=[] names no column; give the label column or 0/1 columns.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"--label names {', '.join(map(repr, repeated))} twice; name each 0/1 label "
            "column once."
        )
    return names


def _require_kind(kind: str | None, want: str, form: str, where: str) -> None:
    if kind is not None and kind != want:
        raise InputError(
            f"{where}: {form} give a {want} label, but the task is {kind}; leave out "
            f"{form} or give --task {want} (a dataset's kind is fixed at its first import)."
        )


def _free_name(table: pa.Table, names: Sequence[str]) -> str:
    """``labels`` (or ``labels_2`` ...): a column name the table does not use."""
    taken = set(table.column_names) - set(names)
    candidate, n = LABEL_SET_COLUMN, 1
    while candidate in taken:
        n += 1
        candidate = f"{LABEL_SET_COLUMN}_{n}"
    return candidate


def label_sets_from_columns(
    frame: pd.DataFrame, names: Sequence[str], target: str, where: str, rows: RowNames
) -> pd.DataFrame:
    """``frame`` with its 0/1 columns ``names`` combined into the list column ``target``
    (the label sets an import of ``--label A,B,C`` stores), those columns dropped.

    Raises
    ------
    InputError
        A value other than 0 or 1, naming ``where``, the row and the column.
    """
    table = pa.Table.from_pandas(frame[list(names)], preserve_index=False)
    sets = _combine_indicators(table, list(names), target, where, rows).column(target)
    position = min(list(frame.columns).index(n) for n in names)
    out = frame.drop(columns=list(names))
    out.insert(position, target, sets.to_pylist())
    return out


def _combine_indicators(
    table: pa.Table, names: list[str], target: str, where: str, rows: RowNames
) -> pa.Table:
    """The 0/1 columns ``names`` as one list column ``target`` (in their order), dropped."""
    missing = [n for n in names if n not in table.column_names]
    if missing:
        listed = ", ".join(table.column_names[:20])
        raise InputError(
            f"{where} has no column {missing[0]!r} (given in --label); its columns are: "
            f"{listed}."
        )
    matrix = np.column_stack([_indicator(table.column(n), n, where, rows) for n in names])
    labels = np.asarray(names, dtype=object)
    sets = [labels[row].tolist() for row in matrix]
    position = min(table.column_names.index(n) for n in names)
    table = table.drop_columns(names)
    return table.add_column(position, target, pa.array(sets, type=pa.list_(pa.string())))


def _indicator(column: pa.ChunkedArray, name: str, where: str, rows: RowNames) -> np.ndarray:
    """A 0/1 column as booleans; any other value (or a missing one) is refused."""
    if pa.types.is_boolean(column.type):
        values = column.to_numpy(zero_copy_only=False)
        bad = missing_values(column)
        ok = ~bad
    else:
        numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
        values = (
            np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)
            if numeric
            else np.asarray(column.to_pylist(), dtype=object)
        )
        ok = ~missing_values(column)
        if numeric:
            ok &= np.isin(values, (0.0, 1.0))
        else:
            ok &= np.isin(values.astype(str), ("0", "1"))
        bad = ~ok
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        value = column[position].as_py()
        raise InputError(
            f"{where}: label column {name!r} holds {value!r} at {rows(position)}; each 0/1 "
            "label column (one per label, as in --label A,B,C) must hold 0 or 1 (1: the "
            "label applies)."
        )
    if pa.types.is_boolean(column.type):
        return np.asarray(values, dtype=bool)
    return np.asarray(values.astype(str) == "1", dtype=bool) if values.dtype == object else (
        np.asarray(values, dtype=float) == 1.0
    )


def _convert_text(
    table: pa.Table, column: str, sep: str | None, kind: str | None, where: str, rows: RowNames
) -> pa.Table:
    """A text label column split on ``sep``, or read as JSON lists, into label sets."""
    values = table.column(column)
    text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    if sep is not None:
        _require_kind(kind, "multilabel", "--label-sep", where)
        if not text:
            raise InputError(
                f"{where}: --label-sep splits text, but the label column {column!r} holds "
                f"{values.type}; leave out --label-sep (lists are read as label sets)."
            )
        sets: list[list[str] | None] | None = _split(values, sep)
    elif text and kind in (None, "multilabel"):
        sets = _json_lists(values, column, kind, where, rows)
        if sets is None:
            return table
    else:
        return table
    at = table.column_names.index(column)
    return table.set_column(at, column, pa.array(sets, type=pa.list_(pa.string())))


def _split(values: pa.ChunkedArray, sep: str) -> list[list[str] | None]:
    if not sep:
        raise InputError("--label-sep is empty; give the separator of the labels, e.g. '|'.")
    out: list[list[str] | None] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        parts = {part.strip() for part in value.split(sep)}
        out.append(sorted(part for part in parts if part))
    return out


def _json_lists(
    values: pa.ChunkedArray, column: str, kind: str | None, where: str, rows: RowNames
) -> list[list[str] | None] | None:
    """Text of JSON lists as label sets; None when no value is a list (plain text labels)."""
    texts = values.to_pylist()
    listed = np.array(
        [isinstance(t, str) and t.strip().startswith("[") for t in texts], dtype=bool
    )
    present = ~missing_values(values)
    if not listed.any():
        return None
    if (present & ~listed).any():
        first_list = int(np.flatnonzero(listed)[0])
        first_other = int(np.flatnonzero(present & ~listed)[0])
        raise InputError(
            f"{where}: the label column {column!r} mixes lists and single values "
            f"({rows(first_list)} has {texts[first_list]!r}, {rows(first_other)} has "
            f"{texts[first_other]!r}); give every row a list (multi-label) or every row one "
            "value."
        )
    out: list[list[str] | None] = []
    for position, text in enumerate(texts):
        if text is None or not listed[position]:
            out.append(None)
            continue
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, list) or any(isinstance(v, (list, dict)) or v is None
                                               for v in parsed):
            raise InputError(
                f"{where}: the label column {column!r} holds {text!r} at {rows(position)}, "
                'not a list of label names; write it as a JSON list, e.g. ["a", "b"].'
            )
        out.append(sorted({str(v) for v in parsed}))
    return out


def as_stored_labels(
    table: pa.Table, column: str, task: Task, where: str, rows: RowNames
) -> pa.Table:
    """``table`` with its label column in the stored type of ``task`` (a new version)."""
    if column not in table.column_names:
        return table
    return _retyped(table, _stored_type(table, column, task, where, rows))


def _stored_type(
    table: pa.Table, column: str, task: Task, where: str, rows: RowNames
) -> pa.Table:
    """The label column in the task's stored type (:meth:`~assay.tasks.Task.stored_labels`)."""
    values = table.column(column)
    stored = task.stored_labels(values, name=column, where=where, rows=rows.many)
    if stored is values:
        return table
    return table.set_column(table.column_names.index(column), column, stored)


def check_allowed_names(
    task: Task,
    column: pa.ChunkedArray,
    allowed: Sequence[str] | None,
    *,
    name: str,
    where: str,
    rows: RowNames,
    source: str,
) -> None:
    """Refuse labels outside ``allowed`` (the label book's, else the dataset's label list).

    A no-op for a kind whose labels are not names from a fixed list
    (:meth:`~assay.tasks.Task.unknown_labels` returns nothing).
    """
    if allowed is None:
        return
    unknown = task.unknown_labels(column, allowed)
    if unknown is None:
        return
    position, value = unknown
    shown = ", ".join(list(allowed)[:20]) + (" ..." if len(allowed) > 20 else "")
    raise InputError(
        f"{where}: the label column {name!r} names {value!r} at {rows(position)}, which is "
        f"not in {source} ({shown}); fix the label, or add it to the label book first."
    )

