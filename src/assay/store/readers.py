"""Read user files into Arrow tables, with one clear error per kind of bad input.

Supported sources: CSV / TSV, Parquet, JSONL (one JSON object a line), a pandas
DataFrame, and a folder of media files whose class is the name of their subfolder
(``root/<class>/<file>``: images png/jpg, audio wav, text txt).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from assay.exceptions import InputError

__all__ = ["MEDIA_EXTENSIONS", "read_source", "scan_media_folder", "write_table"]

MEDIA_EXTENSIONS = {
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".wav": "audio",
    ".txt": "text",
}
_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise InputError(
            f"{path}: unknown file type {path.suffix!r}; give a {known} file or a folder "
            "with one subfolder per class."
        )
    return fmt


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_file(path: Path, fmt: str) -> pa.Table:
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty; give a file with a header and at least one row.")
    try:
        if fmt in ("csv", "tsv"):
            parse = pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")
            return _check_utf8(pcsv.read_csv(path, parse_options=parse), path, fmt)
        if fmt == "parquet":
            return pq.read_table(path)
        return pjson.read_json(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path} cannot be read as {fmt.upper()}: {_first_line(exc)}. "
            "Check that the file is complete, UTF-8 and of that format."
        ) from exc


def _check_utf8(table: pa.Table, path: Path, fmt: str) -> pa.Table:
    """Arrow reads text that is not UTF-8 as binary; say so instead of importing bytes."""
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            row = _first_non_utf8(column)
            raise InputError(
                f"{path} cannot be read as {fmt.upper()}: column {name!r} is not UTF-8 text "
                f"(first at data row {row}). Re-save the file as UTF-8."
            )
    return table


def _first_non_utf8(column: pa.ChunkedArray) -> int:
    for row, value in enumerate(column.to_pylist(), start=1):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return row
    return 1


def read_source(source: Any) -> tuple[pa.Table, dict[str, Any]]:
    """Read a file, a folder or a DataFrame.

    Parameters
    ----------
    source : str, path, pandas.DataFrame or pyarrow.Table

    Returns
    -------
    table : pyarrow.Table
    info : dict
        ``format``, and for folders ``media_root``, ``media_column`` and ``modality``.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        return pa.Table.from_pandas(frame, preserve_index=False), {"format": "dataframe"}
    if isinstance(source, pa.Table):
        return source, {"format": "arrow"}
    path = Path(os.fspath(source)).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path (it is relative to {Path.cwd()}).")
    if path.is_dir():
        return scan_media_folder(path)
    fmt = _format_of(path)
    return _read_file(path, fmt), {"format": fmt}


def scan_media_folder(root: Path) -> tuple[pa.Table, dict[str, Any]]:
    """List ``root/<class>/<file>`` media files as a table of relative paths.

    Hidden folders and files (a leading dot, e.g. ``.assay-augmented/``) are skipped.

    Returns
    -------
    table : pyarrow.Table
        Columns ``item_id`` and ``path`` (the path relative to ``root``, POSIX style),
        ``label`` (the subfolder name) and, for text files, ``text``.
    info : dict
        ``media_root`` (absolute), ``media_column`` (``"path"``) and ``modality``.
    """
    rows: list[dict[str, str]] = []
    modalities: set[str] = set()
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in sorted(class_dir.rglob("*")):
            kind = MEDIA_EXTENSIONS.get(file.suffix.lower())
            hidden = any(part.startswith(".") for part in file.relative_to(root).parts)
            if kind is None or hidden or not file.is_file():
                continue
            rel = file.relative_to(root).as_posix()
            row = {"item_id": rel, "path": rel, "label": class_dir.name}
            if kind == "text":
                row["text"] = _read_text(file)
            rows.append(row)
            modalities.add(kind)
    if not rows:
        raise InputError(
            f"{root} has no media files in class subfolders; lay it out as "
            f"{root}/<class>/<file> with extensions {', '.join(sorted(MEDIA_EXTENSIONS))}."
        )
    if len(modalities) > 1:
        raise InputError(
            f"{root} mixes {', '.join(sorted(modalities))} files; import one modality per dataset."
        )
    info = {
        "format": "folder",
        "media_root": str(root.resolve()),
        "media_column": "path",
        "modality": modalities.pop(),
    }
    return pa.Table.from_pylist(rows), info


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{file} is not UTF-8 text ({exc.reason}); re-save it as UTF-8.") from exc


def write_table(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` to CSV, Parquet or JSONL by extension, atomically."""
    target = Path(path)
    fmt = _format_of(target)
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name such as {target / 'data'}.{fmt}.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the folder of {target}: {exc.strerror}; choose another path."
        ) from exc
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp)
        elif fmt in ("csv", "tsv"):
            frame = table.to_pandas()
            frame.to_csv(tmp, index=False, sep="\t" if fmt == "tsv" else ",")
        else:
            table.to_pandas().to_json(tmp, orient="records", lines=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
