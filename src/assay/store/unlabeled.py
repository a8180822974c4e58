"""Items awaiting labels: an import without labels, and engines that need them.

A source without its label column (and no label column named) gets an all-missing
label column marked :data:`AWAITING`; labels may also be missing for some rows. Engines
that need labels call :func:`require_labels`, which names the unlabeled items and says
how to label them (``assay label``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assay.exceptions import InputError

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion

__all__ = ["AWAITING", "awaiting_labels", "mark_awaiting", "missing_labels", "require_labels"]


#: Field metadata of a label column added to an import that has none: the dataset's
#: items await labels (an all-missing column a source names itself is still refused).
AWAITING = {b"assay": b"awaiting labels"}


def awaiting_labels(
    table: pa.Table, label: Any, base_label: str | None, kind: str | None
) -> pa.Table:
    """``table`` with an all-missing label column when the source has none and no label
    column was named (a first import: ``label``; else the dataset's): its items await
    labels (``assay label plan``). Kinds other than classes and numbers are unchanged."""
    column = label if isinstance(label, str) else base_label or "label"
    if column in table.column_names:
        table = _blank_as_missing(table, column)
        return mark_awaiting(table, column) if base_label is not None else table
    if label is not None:
        return table
    if (kind or "classification") not in ("classification", "regression"):
        return table
    typ = pa.float64() if kind == "regression" else pa.string()
    return table.append_column(
        pa.field(column, typ, metadata=AWAITING), pa.nulls(table.num_rows, typ)
    )


def mark_awaiting(table: pa.Table, column: str) -> pa.Table:
    """Mark the label column of a new version of an existing dataset as awaiting labels
    when no row has one (the dataset's own label column, not a wrong ``--label``)."""
    values = table.column(column)
    if values.null_count != table.num_rows or table.num_rows == 0:
        return table
    position = table.column_names.index(column)
    return table.set_column(position, pa.field(column, values.type, metadata=AWAITING), values)


def _blank_as_missing(table: pa.Table, column: str) -> pa.Table:
    """Blank text labels as missing ones (a CSV's empty cells)."""
    values = table.column(column)
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return table
    blank = pc.equal(pc.utf8_trim_whitespace(values), "")
    if not pc.any(blank).as_py():
        return table
    cleared = pc.if_else(blank, pa.scalar(None, values.type), values)
    return table.set_column(table.column_names.index(column), column, cleared)


def missing_labels(values: pd.Series) -> np.ndarray:
    """Per row: no label (null, NaN, blank text)."""
    missing = values.isna().to_numpy()
    if values.dtype == object:
        blank = values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(bool)
        missing = missing | blank
    return missing


def require_labels(version: DatasetVersion, frame: pd.DataFrame) -> None:
    """Refuse a version whose items are not all labeled, naming them and what to do.

    Raises
    ------
    InputError
        "N items have no label yet (ids ...); label them ... or drop them".
    """
    missing = missing_labels(frame[version.roles.label])
    if not missing.any():
        return
    ids = frame[version.roles.id].astype(str).to_numpy()[missing]
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    raise InputError(
        f"{version.ref}: {len(ids)} item(s) have no label yet (ids {shown}); label them "
        f"(`assay label plan {version.name} --labelers ann,ben`, then `assay label apply "
        f"{version.name}`) or drop them."
    )
