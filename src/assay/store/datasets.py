"""Dataset versions: validation of imported tables and the version record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assay.exceptions import InputError

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["DatasetVersion", "Roles", "validate_table"]

GENERATED_ID = "item_id"


@dataclass(frozen=True)
class Roles:
    """Which column plays which part in a dataset."""

    label: str
    id: str = GENERATED_ID
    tags: tuple[str, ...] = ()
    split: str | None = None
    media: str | None = None


@dataclass
class DatasetVersion:
    """One immutable version of a dataset; its rows load lazily from Parquet."""

    workspace: Workspace
    name: str
    number: int
    id: int
    parent_number: int | None
    object_hash: str
    n_rows: int
    columns: list[str]
    message: str
    author: str
    created_at: datetime
    summary: dict[str, Any]
    provenance: dict[str, Any]
    roles: Roles
    modality: str
    media_root: str | None

    @property
    def ref(self) -> str:
        """``NAME@vN``."""
        return f"{self.name}@v{self.number}"

    def to_arrow(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The rows as a pyarrow Table."""
        return self.workspace.objects.get_table(
            self.object_hash, list(columns) if columns is not None else None
        )

    @property
    def schema(self) -> pa.Schema:
        """Column names and Arrow types, without reading the rows."""
        return self.workspace.objects.schema(self.object_hash)

    @property
    def label_type(self) -> pa.DataType:
        """The Arrow type of the label column."""
        return self.schema.field(self.roles.label).type

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows as a pandas DataFrame, in stored order."""
        return self.to_arrow(columns).to_pandas()

    @property
    def labels(self) -> pd.Series:
        """The label of each item, indexed by item id."""
        frame = self.to_pandas([self.roles.id, self.roles.label])
        return frame.set_index(self.roles.id)[self.roles.label]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe metadata of the version."""
        return {
            "ref": self.ref,
            "name": self.name,
            "version": self.number,
            "parent": None if self.parent_number is None else f"{self.name}@v{self.parent_number}",
            "rows": self.n_rows,
            "columns": self.columns,
            "message": self.message,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
            "summary": self.summary,
            "provenance": self.provenance,
            "label_column": self.roles.label,
            "id_column": self.roles.id,
            "tag_columns": list(self.roles.tags),
            "split_column": self.roles.split,
            "modality": self.modality,
            "object": self.object_hash,
        }

    def __repr__(self) -> str:
        return f"<DatasetVersion {self.ref}: {self.n_rows} rows, {self.message!r}>"


def _require_columns(table: pa.Table, names: Sequence[str | None], where: str, flag: str) -> None:
    present = table.column_names
    for name in names:
        if name is not None and name not in present:
            listed = ", ".join(present[:20]) + (
                f" ... ({len(present) - 20} more)" if len(present) > 20 else ""
            )
            raise InputError(
                f"{where} has no column {name!r} (given as {flag}); its columns are: {listed}."
            )


def _check_ids(table: pa.Table, id_column: str, where: str) -> None:
    ids = table.column(id_column)
    if ids.null_count:
        row = int(np.flatnonzero(ids.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(
            f"{where}: id column {id_column!r} is empty at row {row + 1}; give every row an id."
        )
    values = pd.Series(ids.to_numpy(zero_copy_only=False))
    dup = values.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        first = values.iloc[rows[0]]
        shown = repr(first) if isinstance(first, str) else str(first)
        same = rows[values.iloc[rows].to_numpy() == first][:2] + 1
        raise InputError(
            f"{where}: id column {id_column!r} has duplicate values ({int(dup.sum())} rows), "
            f"e.g. {shown} at rows {same[0]} and {same[1]}; make the ids unique, "
            "or leave out --id to number the rows."
        )


def validate_table(table: pa.Table, roles: Roles, where: str) -> pa.Table:
    """Check an imported table against its roles and add generated ids if needed.

    Parameters
    ----------
    table : pyarrow.Table
        The rows to import.
    roles : Roles
        Column roles; when ``roles.id`` is :data:`GENERATED_ID` and absent, ids
        ``0 .. n-1`` (row numbers) are added as the first column.
    where : str
        The source's name (file path), for messages.
    """
    if table.num_rows == 0:
        raise InputError(f"{where} has no rows; give a file with at least one data row.")
    _require_columns(table, [roles.label], where, "--label")
    _require_columns(table, list(roles.tags), where, "--tags")
    _require_columns(table, [roles.split], where, "--split")
    label = table.column(roles.label)
    if label.null_count == table.num_rows or _all_blank(label):
        raise InputError(
            f"{where}: every value of the label column {roles.label!r} is missing; "
            "check --label names the column that holds the labels."
        )
    if roles.id == GENERATED_ID and GENERATED_ID not in table.column_names:
        table = table.add_column(0, GENERATED_ID, pa.array(np.arange(table.num_rows)))
    else:
        _require_columns(table, [roles.id], where, "--id")
    _check_ids(table, roles.id, where)
    return table


def _all_blank(column: pa.ChunkedArray) -> bool:
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        return False
    stripped = pc.utf8_trim_whitespace(column)
    empty = pc.equal(pc.utf8_length(stripped), 0)
    return bool(pc.all(pc.or_kleene(empty, pc.is_null(column))).as_py())
