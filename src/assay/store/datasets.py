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
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.exceptions import InputError
from assay.store import models as m
from assay.store.readers import RowNames, check_unique_columns
from assay.tasks import Task, get_task
from assay.tasks.base import missing_values

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = [
    "DatasetVersion",
    "Roles",
    "conform_role_types",
    "dataset_task",
    "drop_rows",
    "resolve_roles",
    "validate_table",
]

GENERATED_ID = "item_id"


def dataset_task(name: str, where: Session | Workspace) -> Task:
    """The :class:`~assay.tasks.Task` of dataset ``name``: the one place the store
    resolves a dataset's kind of label.

    The kind is stored per dataset (``datasets.task``, fixed at its first import;
    ``"classification"`` for every dataset imported before issue 14).

    Parameters
    ----------
    name : str
        The dataset; a name no dataset has yet gets the default task.
    where : Session or Workspace
        An open transaction to read the kind in, or the workspace (a short read-only
        transaction is opened).
    """
    query = select(m.Dataset.task).where(m.Dataset.name == name)
    if isinstance(where, Session):
        kind = where.scalar(query)
    else:
        with where.session(readonly=True) as s:
            kind = s.scalar(query)
    return get_task(kind)


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
    task_kind: str = "classification"
    label_names: tuple[str, ...] | None = None

    @property
    def ref(self) -> str:
        """``NAME@vN``."""
        return f"{self.name}@v{self.number}"

    def to_arrow(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The rows as a pyarrow Table."""
        return self.workspace.objects.get_table(
            self.object_hash, list(columns) if columns is not None else None, what=self.ref
        )

    @property
    def schema(self) -> pa.Schema:
        """Column names and Arrow types, without reading the rows."""
        return self.workspace.objects.schema(self.object_hash, what=self.ref)

    @property
    def label_type(self) -> pa.DataType:
        """The Arrow type of the label column."""
        return self.schema.field(self.roles.label).type

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows as a pandas DataFrame, in stored order."""
        return self.to_arrow(columns).to_pandas()

    @property
    def task(self) -> Task:
        """What a label of this dataset is: the kind fixed at its first import
        (``ds.task.kind``; see :func:`dataset_task`)."""
        return get_task(self.task_kind)

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
            "task": self.task_kind,
            "label_names": None if self.label_names is None else list(self.label_names),
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


def _check_role_overlap(roles: Roles, where: str) -> None:
    """The split and tag columns must be other columns than the label and the id."""
    for column, role in ((roles.label, "label"), (roles.id, "id")):
        if roles.split == column:
            raise InputError(
                f"{where}: --split {column!r} is the {role} column; give the column that "
                "names each row's split (e.g. train / test), or leave out --split."
            )
        if column in roles.tags:
            raise InputError(
                f"{where}: --tags names {column!r}, the {role} column; tags are other "
                "columns to slice by (e.g. source, region): leave it out of --tags."
            )


_missing = missing_values


def _check_labels(
    table: pa.Table, label: str, where: str, rows: RowNames, task: Task | None = None
) -> None:
    """The task checks the labels given; missing ones await labels (``assay label``),
    and so may all of a label column added to a source that had none."""
    column = table.column(label)
    missing = missing_values(column)
    if missing.any() and (not missing.all() or _awaiting(table, label)):
        kept = np.flatnonzero(~missing)
        if len(kept) == 0:
            return
        column = column.take(pa.array(kept))

        def named(positions: np.ndarray) -> str:
            return rows.many(kept[np.asarray(positions)])

        (task or get_task()).check_labels(column, name=label, where=where, rows=named)
        return
    (task or get_task()).check_labels(column, name=label, where=where, rows=rows.many)


def _awaiting(table: pa.Table, label: str) -> bool:
    """Whether the label column was added to a source without one (see
    :func:`assay.store.labeling.awaiting_labels`)."""
    metadata = table.schema.field(label).metadata or {}
    return metadata.get(b"assay") == b"awaiting labels"


def _check_ids(table: pa.Table, id_column: str, where: str, rows: RowNames) -> None:
    ids = table.column(id_column)
    own = id_column == GENERATED_ID  # the file's own column, named like generated ids
    empty = _missing(ids)
    if empty.any():
        position = int(np.flatnonzero(empty)[0])
        raise InputError(
            f"{where}: id column {id_column!r} is empty at {rows(position)}; "
            + (_OWN_ID_HINT if own else "give every row an id.")
        )
    values = pd.Series(ids.to_numpy(zero_copy_only=False))
    dup = values.duplicated(keep=False).to_numpy()
    if dup.any():
        positions = np.flatnonzero(dup)
        first = values.iloc[positions[0]]
        shown = repr(first) if isinstance(first, str) else str(first)
        same = positions[values.iloc[positions].to_numpy() == first][:2]
        raise InputError(
            f"{where}: id column {id_column!r} has duplicate values ({int(dup.sum())} rows), "
            f"e.g. {shown} at {rows.many(same)}; "
            + (
                _OWN_ID_HINT
                if own
                else "make the ids unique, or leave out --id to number the rows."
            )
        )


def _check_finite(table: pa.Table, where: str, rows: RowNames) -> None:
    """Refuse inf / -inf in a numeric column (NaN, a missing value, is kept)."""
    for name in table.column_names:
        column = table.column(name)
        if not pa.types.is_floating(column.type):
            continue
        infinite = pc.fill_null(pc.is_inf(column), False)
        if not pc.any(infinite).as_py():
            continue
        positions = np.flatnonzero(np.asarray(infinite.to_numpy(zero_copy_only=False), bool))
        count = f"{len(positions)} row{'s' if len(positions) > 1 else ''}"
        raise InputError(
            f"{where}: column {name!r} holds an infinite value (inf or -inf) on {count}: "
            f"{rows.many(positions)}; replace it with a finite number, or leave the cell "
            "empty to mark the value missing."
        )


#: The hint when a file's own ``item_id`` column (the name of generated ids) is bad.
_OWN_ID_HINT = (
    f"a column named {GENERATED_ID!r} is always taken as the item ids ({GENERATED_ID!r} is "
    "also the name assay gives generated row numbers, so it cannot number the rows); make "
    f"its values unique and complete (--id {GENERATED_ID} then says so), or rename the column "
    "(e.g. to source_id) to have the rows numbered."
)


def validate_table(
    table: pa.Table,
    roles: Roles,
    where: str,
    rows: RowNames | None = None,
    task: Task | None = None,
) -> pa.Table:
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
    rows : RowNames, optional
        How messages name a row (a file's lines, a DataFrame's index labels); by
        default its 0-based position, as ``index N``.
    task : Task, optional
        What a label is (its :meth:`~assay.tasks.Task.check_labels` checks the label
        column); default the dataset's task, :func:`dataset_task`.

    Raises
    ------
    InputError
        No rows; a column name given twice; a role column that is absent, or that is
        both the split or a tag and the label or the id; a missing label; missing or
        duplicate ids; an infinite number (NaN, a missing value, is kept).
    """
    rows = rows if rows is not None else RowNames("index")
    if table.num_rows == 0:
        raise InputError(f"{where} has no rows; give a file with at least one data row.")
    check_unique_columns(table.column_names, where)
    _check_role_overlap(roles, where)
    _require_columns(table, [roles.label], where, "--label")
    _require_columns(table, list(roles.tags), where, "--tags")
    _require_columns(table, [roles.split], where, "--split")
    _check_labels(table, roles.label, where, rows, task)
    _check_finite(table, where, rows)
    if roles.id == GENERATED_ID and GENERATED_ID not in table.column_names:
        return table.add_column(0, GENERATED_ID, pa.array(np.arange(table.num_rows)))
    _require_columns(table, [roles.id], where, "--id")
    _check_ids(table, roles.id, where, rows)
    return table


def resolve_roles(
    name: str,
    base: Roles | None,
    table: pa.Table,
    where: str,
    *,
    label: str | None,
    id: str | None,
    tags: Sequence[str] | None,
    split: str | None,
    media: str | None,
) -> Roles:
    """The column roles of an import: set at a dataset's first import, kept after.

    Parameters
    ----------
    name : str
        The dataset.
    base : Roles or None
        The dataset's roles, or None for its first import.
    table : pyarrow.Table
        The imported rows (a re-import must have every role column of the dataset).
    where : str
        The source's name, for messages.
    label, id, tags, split, media : optional
        The roles this import names (None: not given). At a first import ``label``
        defaults to ``"label"`` and ``id`` to generated row numbers.

    Raises
    ------
    InputError
        A re-import that names other roles than the dataset's, or lacks one of its
        role columns: the message says what the dataset uses and what to do.
    """
    given_tags = tuple(dict.fromkeys(tags)) if tags is not None else None
    if base is None:
        return Roles(
            label=label or "label",
            id=id or GENERATED_ID,
            tags=given_tags or (),
            split=split,
            media=media,
        )
    _refuse_role_changes(name, base, label, id, given_tags, split, media)
    _require_role_columns(name, base, table, where)
    return base


def _refuse_role_changes(
    name: str,
    base: Roles,
    label: str | None,
    id: str | None,
    tags: tuple[str, ...] | None,
    split: str | None,
    media: str | None,
) -> None:
    fixed = "a dataset's column roles are fixed at its first import"
    if label is not None and label != base.label:
        raise InputError(
            f"dataset {name!r} labels are in column {base.label!r}, not {label!r}; use "
            f"--label {base.label} (or leave --label out), or import under another name."
        )
    if id is not None and id != base.id:
        raise InputError(_id_change_message(name, base.id, id))
    if split is not None and split != base.split:
        if base.split is None:
            raise InputError(
                f"dataset {name!r} has no split column (its first import had no --split), "
                f"and {fixed}; import without --split, or import under another name to "
                f"take each row's split from {split!r}."
            )
        raise InputError(
            f"dataset {name!r} takes each row's split from column {base.split!r} (set at "
            f"its first import); this import names {split!r}: use --split {base.split} (or "
            "leave --split out), or import under another name."
        )
    if tags is not None and set(tags) != set(base.tags):
        if not base.tags:
            raise InputError(
                f"dataset {name!r} has no tag columns (its first import had no --tags), and "
                f"{fixed}; import without --tags, or import under another name to slice by "
                f"{', '.join(map(repr, tags))}."
            )
        raise InputError(
            f"dataset {name!r} slices by tag column(s) {', '.join(map(repr, base.tags))} (set "
            f"at its first import); this import names {', '.join(map(repr, tags)) or 'none'}: "
            f"use --tags {','.join(base.tags)} (or leave --tags out), or import under "
            "another name."
        )
    if media is not None and base.media is None:
        raise InputError(
            f"dataset {name!r} was imported from a table, not a folder of media files, and "
            f"{fixed}; import the folder under another name."
        )


def _require_role_columns(name: str, base: Roles, table: pa.Table, where: str) -> None:
    uses = [
        (None if base.id == GENERATED_ID else base.id, "identifies its items by that column"),
        (base.label, "takes its labels from that column"),
        (base.split, "takes each row's split from that column"),
        *((tag, "slices by that tag column") for tag in base.tags),
        (base.media, "finds its media files by the paths in that column"),
    ]
    for column, use in uses:
        if column is not None and column not in table.column_names:
            raise InputError(
                f"{where} has no column {column!r}; dataset {name!r} {use} (set at its first "
                "import), so every version needs it: add the column, or import under "
                "another name."
            )


def _id_change_message(name: str, old: str, new: str) -> str:
    """Why a new version may not change the id column, and what to do instead."""
    if old == GENERATED_ID:
        how = "by row number (its first import had no --id)"
        fix = "import without --id, or import under another name to key items by " + repr(new)
    else:
        how = f"by column {old!r} (set at its first import)"
        fix = f"use --id {old}, or import under another name"
    return (
        f"dataset {name!r} identifies its items {how}, so versions can be compared item "
        f"by item; this import would identify them by {new!r}: {fix}."
    )


def conform_role_types(
    name: str,
    table: pa.Table,
    schema: pa.Schema,
    roles: Roles,
    where: str,
    rows: RowNames | None = None,
    text: Any = None,
) -> pa.Table:
    """Give the id and label columns the types the dataset's first import fixed.

    A re-imported export must identify the same items by the same ids: ids (and labels)
    that were text stay text even when a CSV file makes them look like numbers, and
    numbers stay numbers.

    Parameters
    ----------
    name : str
        The dataset, for messages.
    table : pyarrow.Table
        The rows of the new version.
    schema : pyarrow.Schema
        The schema of the dataset's latest version.
    roles : Roles
        The dataset's roles.
    where, rows
        The source and how to name its rows, for messages.
    text : callable, optional
        ``text(column)`` reads a column of the source again as text, exactly as written
        (for CSV files, whose reader turns ``007`` into the number 7).

    Raises
    ------
    InputError
        When a value cannot be read as the column's type: the message names its row
        and value.
    """
    rows = rows if rows is not None else RowNames("index")
    for column, role in ((roles.id, "id"), (roles.label, "label")):
        if column not in table.column_names or column not in schema.names:
            continue
        want, have = schema.field(column).type, table.schema.field(column).type
        if have == want:
            continue
        values = table.column(column)
        if _is_text(want) and not _is_text(have) and text is not None:
            values = text(column)
        cast = _cast_column(values, want, f"{where}: the {role} column {column!r}", rows, name)
        table = table.set_column(table.column_names.index(column), column, cast)
    return table


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _cast_column(
    values: pa.ChunkedArray, want: pa.DataType, what: str, rows: RowNames, name: str
) -> pa.ChunkedArray:
    """``values`` as type ``want``, or an InputError naming the first value that is not."""
    try:
        return values.cast(want, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for position, value in enumerate(values.to_pylist()):
        try:
            pa.array([value]).cast(want, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            kind = "text" if _is_text(want) else f"{want} values"
            raise InputError(
                f"{what} holds {kind} in dataset {name!r} (fixed at its first import, so "
                f"versions compare item by item), but {rows(position)} has {value!r}; give "
                f"values of that type, or import under another name."
            ) from None
    raise InputError(f"{what} cannot be read as {want}; import under another name.")


def csv_text_column(path: Any, separator: str) -> Any:
    """A reader of one column of a CSV/TSV file as text, exactly as written."""
    import pyarrow.csv as pcsv

    def read(column: str) -> pa.ChunkedArray:
        table = pcsv.read_csv(
            path,
            parse_options=pcsv.ParseOptions(delimiter=separator),
            convert_options=pcsv.ConvertOptions(
                column_types={column: pa.string()}, include_columns=[column]
            ),
        )
        return table.column(column)

    return read


def drop_rows(
    ws: Workspace,
    ref: str,
    *,
    ids: Sequence[Any] | None = None,
    where: str | None = None,
    message: str,
    author: str | None = None,
) -> DatasetVersion:
    """Make a new version of ``ref``'s dataset without some of its rows.

    Parameters
    ----------
    ws : Workspace
    ref : str
        ``NAME`` (the latest version) or ``NAME@vN`` (which must be the latest).
    ids : sequence, optional
        The item ids to drop (compared as text); every one must be in the version.
    where : str, optional
        A condition on the columns (``"nswprice > 0.5 and period < 0.1"``, as
        ``assay augment --slice`` reads it; never evaluated as code).
    message : str
        The version message.
    author : str, optional

    Raises
    ------
    InputError
        Unless exactly one of ``ids`` and ``where`` is given; for ids not in the
        version, a condition that selects no row, or a drop of every row. Nothing is
        written then.
    """
    from assay.store.augmentation import slice_mask

    if (ids is None) == (where is None):
        raise InputError(
            "give the rows to drop as ids= (a list of item ids) or where= (a condition), one of them."
        )
    version = ws.dataset(ref)
    frame = version.to_pandas()
    if ids is not None:
        mask = _id_mask(frame, version, [str(i) for i in ids])
        how: dict[str, Any] = {"ids": len(mask.nonzero()[0])}
    else:
        mask = slice_mask(frame, str(where), where=version.ref)
        how = {"where": where}
    if mask.all():
        raise InputError(
            f"that drops all {len(frame)} rows of {version.ref}; a version needs at least one."
        )
    return ws.commit(
        version.name,
        frame[~mask].reset_index(drop=True),
        message=message,
        author=author,
        parent=version.ref,
        provenance={"dropped": int(mask.sum()), **how},
    )


def _id_mask(frame: pd.DataFrame, version: DatasetVersion, ids: list[str]) -> np.ndarray:
    """Rows whose id is in ``ids``; every id must name a row."""
    if not ids:
        raise InputError("no ids to drop: the list is empty.")
    present = frame[version.roles.id].astype(str)
    missing = sorted(set(ids) - set(present))
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InputError(
            f"{len(missing)} of the ids to drop are not items of {version.ref}: {shown}; "
            f"check the list against `assay export {version.ref} FILE`."
        )
    return present.isin(set(ids)).to_numpy()
