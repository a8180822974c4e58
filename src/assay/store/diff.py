"""Item-level differences between two versions of a dataset.

Items are matched by id. A changed label counts as *relabeled* (the dataset's task
compares labels, :meth:`assay.tasks.Task.same_labels`, and says how one changed,
:meth:`assay.tasks.Task.describe_change`); any other changed column counts
as a *changed feature*. Missing values compare equal to each other.
Columns only one version has are listed as columns added or removed (their values
are not compared item by item).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay.tasks import Task, get_task
from assay.tasks.base import both_missing

__all__ = ["DatasetDiff", "describe_columns", "diff_tables"]


@dataclass
class DatasetDiff:
    """What changed between version ``a`` and version ``b``.

    Attributes
    ----------
    added, removed : DataFrame
        Rows of ``b`` (resp. ``a``) whose id is not in the other version.
    relabeled : DataFrame
        Columns ``item_id``, ``old_label``, ``new_label`` (:meth:`label_changes` says
        each change in words).
    changed : DataFrame
        Columns ``item_id`` and ``columns`` (the changed non-label columns that both
        versions have).
    columns_added, columns_removed : list of str
        Columns of ``b`` that ``a`` lacks, and the reverse.
    """

    a: str
    b: str
    added: pd.DataFrame
    removed: pd.DataFrame
    relabeled: pd.DataFrame
    changed: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    task: Task | None = None

    def label_changes(self, limit: int | None = None) -> list[str]:
        """Each relabel in words, by the dataset's task (in the order of
        :attr:`relabeled`): ``relabeled 3.2 -> 4.0``, ``added tag x; removed tag y``."""
        task = self.task or get_task()
        head = self.relabeled if limit is None else self.relabeled.head(limit)
        return [
            task.describe_change(old, new)
            for old, new in zip(head["old_label"], head["new_label"], strict=True)
        ]

    @property
    def counts(self) -> dict[str, int]:
        """Number of added, removed, relabeled and changed items."""
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "relabeled": len(self.relabeled),
            "changed": len(self.changed),
        }

    def to_dict(self, limit: int | None = 1000) -> dict[str, Any]:
        """A JSON-safe summary with up to ``limit`` items of each kind."""

        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            head = frame if limit is None else frame.head(limit)
            records = head.astype(object).where(head.notna(), None).to_dict(orient="records")
            return [{str(k): v for k, v in r.items()} for r in records]

        return {
            "a": self.a,
            "b": self.b,
            "counts": self.counts,
            "added": [str(v) for v in _head(self.added["item_id"], limit)],
            "removed": [str(v) for v in _head(self.removed["item_id"], limit)],
            "relabeled": rows(self.relabeled),
            "label_changes": self.label_changes(limit),
            "changed": rows(self.changed),
            "columns_added": list(self.columns_added),
            "columns_removed": list(self.columns_removed),
        }

    def summary(self) -> str:
        """One line: items added, removed, relabeled, changed; columns added, removed."""
        c = self.counts
        text = (
            f"{self.a} -> {self.b}: {c['added']} added, {c['removed']} removed, "
            f"{c['relabeled']} relabeled, {c['changed']} with changed features"
        )
        columns = describe_columns(self.columns_added, self.columns_removed)
        return f"{text}; {columns}" if columns else text


def describe_columns(added: list[str], removed: list[str]) -> str:
    """``1 column added (extra), 2 removed (a, b)``, or ``""`` when none changed."""
    parts = [
        (len(names), f"{kind} ({', '.join(names[:10])}{' ...' if len(names) > 10 else ''})")
        for kind, names in (("added", added), ("removed", removed))
        if names
    ]
    if not parts:
        return ""
    (n, first), rest = parts[0], parts[1:]
    head = f"{n} column{'s' if n != 1 else ''} {first}"
    return ", ".join([head, *(f"{m} {text}" for m, text in rest)])


def _head(values: pd.Series, limit: int | None) -> pd.Series:
    return values if limit is None else values.head(limit)


def _equal(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Element-wise equality where two missing values are equal."""
    with np.errstate(invalid="ignore"):
        same = np.asarray(left == right, dtype=bool)
    return same | both_missing(left, right)


def _column(table: pa.Table, name: str, take: np.ndarray | None) -> np.ndarray:
    col = table.column(name)
    if take is not None:
        col = col.take(pa.array(take))
    return col.to_numpy(zero_copy_only=False)


def _matching(ids_a: np.ndarray, ids_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``a`` of each ``b`` id (-1 when absent), and the same reversed."""
    if len(ids_a) == len(ids_b) and np.array_equal(ids_a, ids_b):
        pos = np.arange(len(ids_a))
        return pos, pos
    index_a = pd.Index(ids_a)
    index_b = pd.Index(ids_b)
    return index_a.get_indexer(ids_b), index_b.get_indexer(ids_a)


def _same_types(a: pa.Table, b: pa.Table, columns: list[str]) -> tuple[pa.Table, pa.Table]:
    """Ids (and labels) of different types compare as text: ``7`` and ``"7"`` match.

    Versions imported since their types are fixed at the first import always agree;
    older histories may hold ids read back as numbers from an exported CSV file.
    """
    for name in columns:
        if name not in a.column_names or name not in b.column_names:
            continue
        kind_a, kind_b = a.schema.field(name).type, b.schema.field(name).type
        if kind_a != kind_b:
            a = a.set_column(a.column_names.index(name), name, a.column(name).cast(pa.string()))
            b = b.set_column(b.column_names.index(name), name, b.column(name).cast(pa.string()))
    return a, b


def diff_tables(
    a: pa.Table,
    b: pa.Table,
    *,
    id_column: str,
    label_column: str,
    names: tuple[str, str],
    task: Task | None = None,
) -> DatasetDiff:
    """Compare two versions' tables item by item.

    Parameters
    ----------
    a, b : pyarrow.Table
        The older and newer version.
    id_column, label_column : str
        The columns that identify an item and hold its label.
    names : (str, str)
        The versions' references, for display.
    task : Task, optional
        Decides whether a label changed (default: single-label classification).
    """
    a, b = _same_types(a, b, [id_column, label_column])
    ids_a = _column(a, id_column, None)
    ids_b = _column(b, id_column, None)
    a_of_b, b_of_a = _matching(ids_a, ids_b)
    added = b.filter(pa.array(a_of_b < 0)).to_pandas()
    removed = a.filter(pa.array(b_of_a < 0)).to_pandas()
    in_b = np.flatnonzero(a_of_b >= 0)
    in_a = a_of_b[in_b]
    ids = ids_b[in_b]
    relabeled = _relabeled(a, b, label_column, in_a, in_b, ids, task or get_task())
    shared = [
        c for c in b.column_names if c in a.column_names and c not in (id_column, label_column)
    ]
    changed = _changed(a, b, shared, in_a, in_b, ids)
    if id_column != "item_id":
        for frame in (added, removed):
            frame.insert(0, "item_id", frame.pop(id_column))
    return DatasetDiff(
        names[0],
        names[1],
        added,
        removed,
        relabeled,
        changed,
        columns_added=[c for c in b.column_names if c not in a.column_names],
        columns_removed=[c for c in a.column_names if c not in b.column_names],
        task=task,
    )


def _relabeled(
    a: pa.Table,
    b: pa.Table,
    label: str,
    in_a: np.ndarray,
    in_b: np.ndarray,
    ids: np.ndarray,
    task: Task,
) -> pd.DataFrame:
    old = _column(a, label, in_a)
    new = _column(b, label, in_b)
    moved = ~task.same_labels(old, new)
    before = [_plain(v) for v in old[moved]]
    after = [_plain(v) for v in new[moved]]
    nested = _nested(before, after)
    return pd.DataFrame({
        "item_id": ids[moved],
        "old_label": _objects(before) if nested else old[moved],
        "new_label": _objects(after) if nested else new[moved],
    })


def _plain(value: Any) -> Any:
    """A label as a Python value: a list for a list label (Arrow reads numpy arrays)."""
    return value.tolist() if isinstance(value, np.ndarray) else value


def _nested(*columns: list[Any]) -> bool:
    return any(isinstance(v, list) for column in columns for v in column)


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _changed(
    a: pa.Table,
    b: pa.Table,
    columns: list[str],
    in_a: np.ndarray,
    in_b: np.ndarray,
    ids: np.ndarray,
) -> pd.DataFrame:
    identity = len(in_a) == a.num_rows == b.num_rows and np.array_equal(in_a, in_b)
    take_a = None if identity and np.array_equal(in_a, np.arange(a.num_rows)) else in_a
    take_b = None if take_a is None else in_b
    flags = np.zeros((len(ids), len(columns)), dtype=bool)
    for j, name in enumerate(columns):
        flags[:, j] = ~_equal(_column(a, name, take_a), _column(b, name, take_b))
    rows = np.flatnonzero(flags.any(axis=1))
    names = np.asarray(columns, dtype=object)
    described = [list(names[flags[r]]) for r in rows]
    return pd.DataFrame({"item_id": ids[rows], "columns": described})
