"""Read annotation tables: CSV, TSV, Parquet, and Label Studio JSON exports.

These are the only functions in :mod:`assay.collect` that touch files; everything they
return goes through :func:`~assay.collect.annotations.normalize_annotations`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
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
from assay.exceptions import InputError

__all__ = ["HEADERLESS_LAYOUT", "parse_label_studio", "read_annotations"]

#: The key of a task's ``data`` that holds the item id by default; ``assay plan-sample``
#: and :func:`~assay.collect.sampling.to_label_studio_tasks` write it.
DEFAULT_ITEM_KEY = "item"

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


def _read_table(path: Path, names: Sequence[str] | None) -> pd.DataFrame:
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
        if names is not None:
            return pd.read_csv(path, sep=_READERS[suffix], header=None, names=list(names))
        return pd.read_csv(path, sep=_READERS[suffix])
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
) -> pd.DataFrame:
    """Read an annotation table from CSV, TSV, Parquet or a Label Studio JSON export.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.tsv``/``.txt`` (tab-separated, with a header), ``.parquet`` or
        ``.json`` (a Label Studio export, see :func:`parse_label_studio`).
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
        Label Studio only: the name of the ``<Choices>`` control to read when a task has
        several.

    Returns
    -------
    DataFrame of shape (n_annotations, 3 to 5)
        Columns ``item``, ``annotator``, ``label`` and, when present, ``time`` and
        ``labelbook_version``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file; check the path.")
    if path.suffix.lower() == ".json":
        return parse_label_studio(path, item_key=item_key, from_name=from_name,
                                  classes=classes, allow_new=allow_new)
    if names is None and path.suffix.lower() in _READERS:
        names = _sniff_names(path, _READERS[path.suffix.lower()])
    df = _read_table(path, names)
    if item_key is not None:
        df = _item_column(df, item_key, path.name)
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


def _load_json(source: bytes | str | Path) -> tuple[Any, str]:
    if isinstance(source, bytes):
        name, raw = "the Label Studio export", source
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path} does not exist or is not a file; check the path.")
        name, raw = path.name, path.read_bytes()
    if not raw.strip():
        raise InputError(f"{name} is empty; export the project again from Label Studio.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not UTF-8 ({exc.reason} at byte {exc.start}); "
            "export it again from Label Studio (JSON) or re-save it as UTF-8."
        ) from None
    try:
        return json.loads(text), name
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "export the project again with the JSON format."
        ) from None


def _annotator_id(completed_by: Any) -> Any:
    if isinstance(completed_by, dict):
        return completed_by.get("email") or completed_by.get("id")
    return completed_by


def _choice(result: list[dict[str, Any]], from_name: str | None) -> Any:
    for r in result:
        value = r.get("value") or {}
        if "choices" not in value or (from_name is not None and r.get("from_name") != from_name):
            continue
        choices = list(value["choices"])
        return choices[0] if len(choices) == 1 else "|".join(sorted(map(str, choices)))
    return None


def _task_rows(
    task: dict[str, Any], item_key: str | None, from_name: str | None, name: str
) -> list[dict[str, Any]]:
    item = task["data"][item_key] if item_key else task.get("id")
    rows = []
    for ann in task["annotations"]:
        if ann.get("was_cancelled"):
            continue
        label = _choice(ann.get("result") or [], from_name)
        if label is None:
            continue
        time = ann.get("updated_at") or ann.get("created_at")
        rows.append(
            {"item": item, "annotator": _annotator_id(ann.get("completed_by")),
             "label": label, "time": pd.Timestamp(time) if time else pd.NaT}
        )
    return rows


def _check_task(task: Any, name: str) -> None:
    if not isinstance(task, dict) or not isinstance(task.get("annotations"), list):
        raise InputError(
            f"{name}: a task has no 'annotations' list; give a Label Studio JSON export "
            "(Export > JSON), not JSON-MIN or CSV."
        )


def _data(task: Any) -> dict[str, Any]:
    data = task.get("data") if isinstance(task, dict) else None
    return data if isinstance(data, dict) else {}


def _resolve_item_key(tasks: list[Any], item_key: str | None, name: str) -> str | None:
    """The data key that holds the item ids (see :func:`parse_label_studio`), or None for
    Label Studio's task ids."""
    key = item_key
    if key is None:
        if not any(DEFAULT_ITEM_KEY in _data(t) for t in tasks):
            warn(
                f"{name}: no task has data[{DEFAULT_ITEM_KEY!r}], so Label Studio's task ids "
                "were taken as the item ids; if the item ids are under another data key, "
                "pass item_key=KEY."
            )
            return None
        key = DEFAULT_ITEM_KEY
    lacking = [t for t in tasks if _data(t).get(key) is None]
    if lacking:
        ids = ", ".join(str(t.get("id", "?")) if isinstance(t, dict) else "?"
                        for t in lacking[:5])
        keys = ", ".join(map(repr, _data(lacking[0]))) or "none"
        raise InputError(
            f"{name}: {len(lacking)} task(s) have no item id under data[{key!r}] (task ids "
            f"{ids}; their data keys: {keys}); pass item_key=KEY with the data key that holds "
            "the item ids of every task."
        )
    return key


def parse_label_studio(
    source: bytes | str | Path,
    *,
    item_key: str | None = None,
    from_name: str | None = None,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
) -> pd.DataFrame:
    """Turn a Label Studio JSON export of choice tasks into long-format annotations.

    Parameters
    ----------
    source : bytes, str or Path
        The export's bytes, or the path of the ``.json`` file.
    item_key : str, optional
        The key of ``task["data"]`` that holds the item id; every task must have it. By
        default ``"item"`` (what :func:`~assay.collect.sampling.to_label_studio_tasks`
        and ``assay plan-sample`` write) when any task has it; when no task does, Label
        Studio's own task ``id`` is taken as the item id, with a warning (right only for
        a project whose task ids *are* the item ids). The id keeps its JSON type (an
        integer stays an integer).
    from_name : str, optional
        The name of the ``<Choices>`` control to read when a task has several.
    classes : sequence, optional
        Allowed classes; labels outside them raise unless ``allow_new``.
    allow_new : bool, default False
        Accept labels outside ``classes``.

    Returns
    -------
    DataFrame of shape (n_annotations, 4)
        ``item``, ``annotator`` (``completed_by``: the e-mail when exported, else the user
        id), ``label`` (several choices are joined with ``|``), ``time``. Cancelled
        (skipped) annotations and annotations without a choice are left out.
    """
    data, name = _load_json(source)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise InputError(f"{name}: expected a list of tasks; give a Label Studio JSON export.")
    for task in data:
        _check_task(task, name)
    key = _resolve_item_key(data, item_key, name)
    rows: list[dict[str, Any]] = []
    tasks: list[Any] = []  # the task id of each row, to name rows in messages
    for task in data:
        found = _task_rows(task, key, from_name, name)
        rows += found
        tasks += [task.get("id", "?")] * len(found)
    if not rows:
        raise InputError(
            f"{name} has no completed choice annotations; label some tasks, or pass "
            "from_name= to select the Choices control."
        )
    skipped = sum(len(t.get("annotations", [])) for t in data) - len(rows)
    if skipped:
        warn(f"{name}: left out {skipped} cancelled or choice-less annotation(s).")
    return normalize_annotations(
        pd.DataFrame(rows), classes=classes, allow_new=allow_new, where=name,
        rows=lambda positions: _tasks_of(tasks, positions),
    )


def _tasks_of(tasks: list[Any], positions: Sequence[int]) -> str:
    """``task 12`` / ``tasks 12 and 15``: the tasks that hold the rows at ``positions``."""
    ids = list(dict.fromkeys(tasks[p] for p in positions))
    return name_rows(range(len(ids)), ids, kind="task")
