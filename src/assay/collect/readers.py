"""Read annotation tables: CSV, TSV, Parquet, JSON Lines, and Label Studio exports.

These are the only functions in :mod:`assay.collect` that touch files; everything they
return goes through :func:`~assay.collect.annotations.normalize_annotations`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from assay._validation import name_rows, warn
from assay.collect.annotations import (
    ALIASES,
    ANNOTATION_COLUMNS,
    OPTIONAL_COLUMNS,
    RowNamer,
    normalize_annotations,
)
from assay.collect.label_studio import (
    is_flat_export,
    map_annotators,
    parse_label_studio,
    read_flat_export,
)
from assay.exceptions import InputError

__all__ = ["HEADERLESS_LAYOUT", "parse_label_studio", "read_annotations"]

_READERS = {".csv": ",", ".tsv": "\t", ".txt": "\t", ".tab": "\t"}
#: Column names that mark a first line as a header row.
_HEADER_NAMES = frozenset({*ANNOTATION_COLUMNS, *OPTIONAL_COLUMNS, *ALIASES})
#: How headerless crowd files lay out their three columns (Get-Another-Label's
#: ``labels.txt``, the CrowdFlower and MTurk sets, crowd-kit's examples): worker, item,
#: label.
HEADERLESS_LAYOUT = ("annotator", "item", "label")


def _sniff_names(path: Path, separator: str) -> Sequence[str] | None:
    """``HEADERLESS_LAYOUT`` when the first line of a 3-column table names no column."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            first = next(csv.reader(f, delimiter=separator), [])
    except (UnicodeDecodeError, OSError):
        return None  # the reader says what is wrong with the file
    cells = {c.strip().lower() for c in first}
    if len(first) != len(HEADERLESS_LAYOUT) or cells & _HEADER_NAMES:
        return None
    warn(
        f"{path.name} has no header row: its {len(first)} columns are read as "
        f"{', '.join(HEADERLESS_LAYOUT)} (the layout of Get-Another-Label and crowd "
        "exports); name them with names= to read them otherwise."
    )
    return HEADERLESS_LAYOUT


def _read_table(path: Path, names: Sequence[str] | None, text: bool = False) -> pd.DataFrame:
    """The table at ``path``; with ``text``, every CSV cell as text (ids such as ``007``
    and labels such as ``1`` stay as written)."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    if suffix not in _READERS:
        raise InputError(
            f"{path.name}: unknown file type {suffix!r}; give a .csv, .tsv, .jsonl or .parquet file "
            "(or a Label Studio .json export)."
        )
    try:
        dtype = str if text else None
        if names is not None:
            return pd.read_csv(path, sep=_READERS[suffix], header=None, names=list(names),
                               dtype=dtype)
        return pd.read_csv(path, sep=_READERS[suffix], dtype=dtype)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name} is empty; give a file with a header and rows.") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name} is not UTF-8 ({exc.reason} at byte {exc.start}); "
            "re-save it as UTF-8."
        ) from None


def _read_jsonl(path: Path) -> pd.DataFrame:
    """One JSON object per line (labels may be lists: label sets)."""
    try:
        return pd.read_json(path, lines=True, dtype=False)
    except ValueError as exc:
        raise InputError(
            f"{path.name} is not JSON Lines ({str(exc).splitlines()[0]}); write one JSON "
            'object per line, e.g. {"item": 1, "annotator": "a", "label": ["x", "y"]}.'
        ) from None


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path.name} cannot be read as Parquet: {reason}. Check that the file is "
            "complete and of that format."
        ) from None


def read_annotations(
    path: str | Path,
    *,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
    names: Sequence[str] | None = None,
    item_key: str | None = None,
    from_name: str | None = None,
    annotators: Mapping[Any, Any] | str | Path | None = None,
) -> pd.DataFrame:
    """Read an annotation table from CSV, TSV, Parquet or a Label Studio export.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.tsv``/``.txt`` (tab-separated, with a header), ``.parquet``,
        ``.jsonl``, or a Label Studio export: ``.json`` (JSON or JSON-MIN, see
        :func:`parse_label_studio`) or ``.csv`` (recognised by its ``annotator``,
        ``annotation_id`` and ``lead_time`` columns).
    classes : sequence, optional
        Allowed classes; labels outside them raise unless ``allow_new``.
    allow_new : bool, default False
        Accept labels outside ``classes``.
    names : sequence of str, optional
        Column names for a CSV/TSV file *without* a header row, e.g.
        ``["annotator", "item", "label"]``. Without them, a 3-column file whose first
        line names no known column is read in :data:`HEADERLESS_LAYOUT` (annotator,
        item, label, as Get-Another-Label's ``labels.txt``), with a warning.
    item_key : str, optional
        Where the item ids are: for a Label Studio export the key of the tasks' ``data``
        (default ``"item"``, see :func:`parse_label_studio`), for a table the column
        (default ``item``, or crowd-kit's ``task``).
    from_name : str, optional
        The labels to read: in a Label Studio export the name of the ``<Choices>``
        control (required when there are several; the message lists them), in a table
        the column (default ``label``).
    annotators : mapping or path, optional
        Names for the annotators' ids, e.g. Label Studio's numeric user ids to e-mails
        (a CSV ``id,email`` or Label Studio's ``/api/users/`` JSON; see
        :func:`~assay.collect.label_studio.read_annotator_map`).

    Returns
    -------
    DataFrame of shape (n_annotations, 3 to 5)
        Columns ``item``, ``annotator``, ``label`` and, when present, ``time`` and
        ``labelbook_version``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file; check the path.")
    options: dict[str, Any] = {"item_key": item_key, "from_name": from_name,
                               "classes": classes, "allow_new": allow_new,
                               "annotators": annotators}
    if path.suffix.lower() == ".json":
        return parse_label_studio(path, **options)
    if names is None and path.suffix.lower() in _READERS:
        names = _sniff_names(path, _READERS[path.suffix.lower()])
    df = _read_table(path, names)
    if is_flat_export(list(df.columns)):  # Label Studio's CSV export: read as text, as exported
        return read_flat_export(_read_table(path, names, text=True), path.name, **options)
    if item_key is not None:
        df = _item_column(df, item_key, path.name)
    if from_name is not None:
        df = _label_column(df, from_name, path.name)
    df = map_annotators(df, annotators, path.name)
    return normalize_annotations(
        df, classes=classes, allow_new=allow_new, where=path.name, rows=_row_namer(path, names)
    )


def _row_namer(path: Path, names: Sequence[str] | None) -> RowNamer:
    """Rows of an annotation file in messages: ``line L`` (CSV / TSV: the 1-based line,
    a header counted, as an editor shows it) or ``row N`` (Parquet, 1-based)."""
    separator = _READERS.get(path.suffix.lower())
    if separator is None:
        return lambda positions: name_rows(positions, range(1, max(positions) + 2), kind="row")
    header = names is None

    def lines(positions: Sequence[int]) -> str:
        starts = _record_lines(path, separator, header)
        first = 2 if header else 1
        found = [starts[p] if p < len(starts) else p + first for p in positions]
        return name_rows(range(len(found)), found, kind="line")

    return lines


def _record_lines(path: Path, separator: str, header: bool) -> list[int]:
    """The line on which each data record of a CSV file starts (blank lines skipped,
    a quoted value spanning lines followed), as pandas reads the records."""
    starts, line = [], 1
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=separator)
        for record in reader:
            if record:
                starts.append(line)
            line = reader.line_num + 1
    return starts[1:] if header else starts


def _item_column(df: pd.DataFrame, item_key: str, where: str) -> pd.DataFrame:
    if item_key not in df.columns:
        raise InputError(
            f"{where} has no column {item_key!r} (item_key); its columns are "
            f"{', '.join(map(str, df.columns))}. Name the column that holds the item ids."
        )
    others = [c for c in ("item", "task") if c != item_key and c in df.columns]
    return df.drop(columns=others).rename(columns={item_key: "item"})


def _label_column(df: pd.DataFrame, from_name: str, where: str) -> pd.DataFrame:
    if from_name not in df.columns:
        raise InputError(
            f"{where} has no column {from_name!r} (from_name); its columns are "
            f"{', '.join(map(str, df.columns))}. Name the column that holds the labels."
        )
    return df.drop(columns=[c for c in ("label",) if c != from_name and c in df.columns]
                   ).rename(columns={from_name: "label"})
