"""Read user files into Arrow tables, with one clear error per kind of bad input.

Supported sources: CSV / TSV, Parquet, JSONL (one JSON object a line), a pandas
DataFrame, and a folder of media files whose class is the name of their subfolder
(``root/<class>/<file>``: images png/jpg, audio wav, text txt). A CSV file's separator
(``,``, ``;``, tab or ``|``) is detected from its first lines, with ``,`` as decimal
mark when another separator is used and the numbers need it.

Messages name rows as ``docs/architecture.md`` (Errors and exit codes) says: a text
file's rows by their 1-based line in the file, header included (:class:`RowNames`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from assay._validation import warn
from assay.exceptions import InputError
from assay.store.json_depth import check_file_depth, check_text_depth

__all__ = [
    "MEDIA_EXTENSIONS",
    "RowNames",
    "check_unique_columns",
    "decode_text",
    "file_encoding",
    "os_reason",
    "read_source",
    "scan_media_folder",
    "write_table",
]

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
#: Separators tried, after ",", when a CSV file's rows do not split evenly on ",".
_SEPARATORS = ";\t|"
_SAMPLE_LINES = 50
_SAMPLE_CHARS = 1 << 20
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
#: Byte-order marks and the codec that reads (and drops) them; UTF-32 before UTF-16,
#: whose little-endian mark is the start of UTF-32's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FORMAT_NAMES = {"csv": "CSV", "tsv": "TSV", "jsonl": "JSONL", "parquet": "Parquet"}


def _encoding_of(head: bytes) -> str:
    """The codec of text starting with ``head``: by its byte-order mark, else UTF-8."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    return "utf-8"


def file_encoding(path: Path) -> str:
    """The codec of a text file: ``utf-8``, or the one its byte-order mark names."""
    with path.open("rb") as fh:
        return _encoding_of(fh.read(4))


def decode_text(data: bytes, where: str) -> str:
    """Text from bytes: UTF-8, or UTF-8 / UTF-16 / UTF-32 with a byte-order mark.

    Raises
    ------
    InputError
        When the bytes are not text in that encoding (the message names the byte).
    """
    codec = _encoding_of(data[:4])
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if codec == "utf-8" else codec.upper().replace("-SIG", "")
        raise InputError(
            f"{where} is not {name} text ({exc.reason} at byte {exc.start}); re-save it as "
            "UTF-8 (UTF-16 with a byte-order mark is read too)."
        ) from exc


def check_unique_columns(names: Sequence[Any], where: str, kind: str = "positions") -> None:
    """Refuse a table whose columns repeat a name, saying which and where.

    Parameters
    ----------
    names : sequence
        The column names, in order.
    where : str
        The source, e.g. ``"data.csv, line 1 (the header)"``.
    kind : {"positions", "columns"}
        ``positions``: 0-based (a DataFrame); ``columns``: 1-based (a file's header).
    """
    seen: dict[Any, list[int]] = {}
    for position, name in enumerate(names):
        seen.setdefault(name, []).append(position)
    repeated = [(name, at) for name, at in seen.items() if len(at) > 1]
    if not repeated:
        return
    name, at = repeated[0]
    shown = [p + 1 for p in at] if kind == "columns" else at
    listed = ", ".join(map(str, shown[:-1])) + f" and {shown[-1]}"
    more = f" ({len(repeated) - 1} more names repeat)" if len(repeated) > 1 else ""
    base = " (0-based)" if kind == "positions" else ""
    raise InputError(
        f"{where}: column name {name!r} appears {len(at)} times ({kind} {listed}{base}){more}; "
        "give every column a unique name."
    )


class RowNames:
    """How messages name the rows of a source, by their position in the table.

    ``line`` rows are named by their 1-based line in a text file, the header line
    counted (what an editor shows; a quoted value spanning lines is followed);
    ``row`` rows (Parquet) by their 1-based number; ``index`` rows (a DataFrame) by
    their index label; ``file`` rows (a media folder) by their file.

    Parameters
    ----------
    kind : {"line", "row", "index", "file"}
    labels : sequence, optional
        The index labels (``index``) or file paths (``file``), by position.
    path : path, optional
        The text file, for ``line``; ``header`` says whether its first line is a header
        and ``separator`` how its values are separated.
    """

    def __init__(
        self,
        kind: str,
        *,
        labels: Sequence[Any] | pd.Index | None = None,
        path: Path | None = None,
        header: bool = True,
        separator: str | None = None,
    ) -> None:
        self.kind = kind
        self.labels = labels
        self.path = path
        self.header = header
        self.separator = separator

    @classmethod
    def for_frame(cls, frame: pd.DataFrame) -> RowNames:
        """Rows of a DataFrame, named by their index labels."""
        return cls("index", labels=frame.index)

    @classmethod
    def for_source(cls, source: Any, frame: pd.DataFrame) -> RowNames:
        """The rows of ``frame`` read from ``source``: a file's lines, else index labels."""
        path = Path(os.fspath(source)) if isinstance(source, (str, os.PathLike)) else None
        fmt = _FORMATS.get(path.suffix.lower()) if path is not None else None
        if path is None or fmt is None or not path.is_file():
            return cls.for_frame(frame)
        separator = _sniff(path, "," + _SEPARATORS)[0] if fmt == "csv" else "\t"
        return _row_names(path, fmt, separator)

    def __call__(self, position: int) -> str:
        """``line 5``, ``row 4``, ``index 'a'`` or ``file 'cat/1.png'``."""
        return self.many([position])

    def many(self, positions: Sequence[int] | np.ndarray, limit: int = 5) -> str:
        """``lines 4 and 7`` / ``lines 2, 3, 9, 11, 12 ...``: the first ``limit`` rows."""
        shown = [int(p) for p in positions[:limit]]
        if self.kind == "line":
            names = [str(n) for n in self._lines(shown)]
        elif self.kind == "row":
            names = [str(p + 1) for p in shown]
        else:
            labels = self.labels if self.labels is not None else range(max(shown, default=0) + 1)
            names = [repr(_plain(labels[p])) for p in shown]
        if len(positions) == 1:
            return f"{self.kind} {names[0]}"
        noun = "index labels" if self.kind == "index" else f"{self.kind}s"
        if len(positions) > limit:
            return f"{noun} {', '.join(names)} ..."
        return f"{noun} {', '.join(names[:-1])} and {names[-1]}"

    def _lines(self, positions: list[int]) -> list[int]:
        """The line on which each data row starts (quoted values may span lines)."""
        first = 2 if self.header else 1
        if self.path is None:
            return [p + first for p in positions]
        starts: dict[int, int] = {}
        encoding = file_encoding(self.path)
        with self.path.open(encoding=encoding, errors="replace", newline="") as fh:
            if self.separator is None:  # JSON lines: one record a non-blank line
                records = ((n, [line]) for n, line in enumerate(fh, start=1) if line.strip())
            else:
                records = _csv_records(fh, self.separator)
            with contextlib.suppress(csv.Error):  # not CSV after all: rows are numbered
                for position, (line, _) in enumerate(records, start=-1 if self.header else 0):
                    if position in positions:
                        starts[position] = line
                    if len(starts) == len(set(positions)):
                        break
        return [starts.get(p, p + first) for p in positions]


def _csv_records(fh: Any, separator: str) -> Any:
    """(first line, values) of each non-blank CSV record."""
    reader = csv.reader(fh, delimiter=separator)
    line = 1
    for record in reader:
        if record:
            yield line, record
        line = reader.line_num + 1


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, for ``repr`` in messages."""
    return value.item() if hasattr(value, "item") else value


def _row_names(path: Path, fmt: str, separator: str) -> RowNames:
    if fmt in ("csv", "tsv"):
        return RowNames("line", path=path, separator=separator)
    if fmt == "jsonl":
        return RowNames("line", path=path, header=False)
    return RowNames("row")


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise InputError(
            f"{path}: unknown file type {path.suffix!r}; give a {known} file or a folder "
            "with one subfolder per class."
        )
    return fmt


def os_reason(exc: OSError) -> str:
    """The reason of an OS error in words (``Permission denied``), without file names."""
    if exc.errno:  # Arrow's errors carry the errno and a long text with temporary names
        return os.strerror(exc.errno)
    return exc.strerror or _first_line(exc)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _ragged_line(path: Path, separator: str) -> tuple[int, int, int] | None:
    """``(line, fields, header fields)`` of the first row whose field count differs from
    the header's (the line it starts on, quoted line breaks followed), or None."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.reader(fh, delimiter=separator)
            width = len(next(reader, []))
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != width:
                    return start, len(row), width
                start = reader.line_num + 1
    except (OSError, csv.Error):
        return None
    return None


def _read_file(path: Path, fmt: str) -> tuple[pa.Table, dict[str, Any]]:
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty; give a file with a header and at least one row.")
    separator, decimal = ",", False
    if fmt != "parquet":
        _check_text(path, fmt)
    if fmt in ("csv", "tsv"):
        separator, decimal = _sniff(path, "," + _SEPARATORS if fmt == "csv" else "\t")
    try:
        table = _parse(path, fmt, separator, decimal)
    except (pa.ArrowException, OSError, UnicodeError, csv.Error) as exc:
        ragged = _ragged_line(path, separator) if fmt in ("csv", "tsv") else None
        if ragged is not None:
            line, fields, width = ragged
            raise InputError(
                f"{path} cannot be read as {fmt.upper()}: line {line} has {fields} "
                f"field{'s' if fields != 1 else ''} where the header has {width}; give every "
                "row the header's columns (a missing value is an empty field)."
            ) from exc
        mixed = _json_mixed(path, exc) if fmt == "jsonl" else None
        if mixed is not None:
            raise InputError(mixed) from exc
        hint = _separator_hint(path, separator) if fmt == "csv" else ""
        raise InputError(
            f"{path} cannot be read as {fmt.upper()}: {_first_line(exc)}. "
            + (hint or "Check that the file is complete, UTF-8 and of that format.")
        ) from exc
    header = f"{path}, line 1 (the header)" if fmt in ("csv", "tsv") else str(path)
    try:
        names = table.column_names
    except UnicodeDecodeError as exc:  # Arrow keeps header bytes that are not UTF-8
        raise InputError(
            f"{header}: the column names are not UTF-8 text; re-save the file as UTF-8."
        ) from exc
    check_unique_columns(names, header, "columns")
    rows = _row_names(path, fmt, separator)
    if fmt in ("csv", "tsv"):
        _check_one_column(table, path, separator)
        _check_utf8(table, path, fmt, rows)
    info: dict[str, Any] = {"format": fmt, "rows": rows}
    if fmt == "csv" and separator != ",":
        info["separator"] = separator
    if decimal:
        info["decimal"] = ","
    return table, info


def _parse(path: Path, fmt: str, separator: str, decimal: bool) -> pa.Table:
    """The file read by Arrow; text with a UTF-16 / UTF-32 byte-order mark transcoded."""
    encoding = file_encoding(path) if fmt != "parquet" else "utf-8"
    utf8 = encoding in ("utf-8", "utf-8-sig")  # Arrow skips a UTF-8 byte-order mark
    if fmt in ("csv", "tsv"):
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(encoding="utf8" if utf8 else encoding),
            parse_options=pcsv.ParseOptions(delimiter=separator),
            convert_options=pcsv.ConvertOptions(decimal_point="," if decimal else "."),
        )
    if fmt == "parquet":
        return pq.read_table(path)
    if utf8:  # pyarrow's JSON reader crashes the process on deep nesting: measure first
        check_file_depth(path)
        return pjson.read_json(path)
    data = decode_text(path.read_bytes(), str(path)).encode("utf-8")
    check_text_depth(data, path)
    return pjson.read_json(io.BytesIO(data))


def _check_text(path: Path, fmt: str) -> None:
    """Refuse a file of binary data (an image, an archive) named like a text table."""
    sample = _sample(path)[0]
    if "\x00" not in sample:
        return
    line = sample[: sample.index("\x00")].count("\n") + 1
    name = _FORMAT_NAMES[fmt]
    known = ", ".join(sorted(_FORMATS))
    raise InputError(
        f"{path} is not a readable {name} (it holds binary data, not text: a NUL byte on "
        f"line {line}); give a {name} text file (UTF-8, or UTF-16 with a byte-order mark), "
        f"or name a file of another format by its type ({known})."
    )


def _sample(path: Path) -> tuple[str, bool]:
    """The first lines of a text file (at most ``_SAMPLE_CHARS``), and whether there are more."""
    with path.open(encoding=file_encoding(path), errors="replace", newline="") as fh:
        text = fh.read(_SAMPLE_CHARS)
    lines = list(itertools.islice(io.StringIO(text, newline=""), _SAMPLE_LINES + 1))
    more = len(lines) > _SAMPLE_LINES or len(text) == _SAMPLE_CHARS
    return "".join(lines[:_SAMPLE_LINES]), more


def _sniff(path: Path, separators: str) -> tuple[str, bool]:
    """The separator of a delimited text file and whether its numbers use a decimal comma.

    ``separators[0]`` is kept whenever the sampled lines split evenly on it into more
    than one value; otherwise :class:`csv.Sniffer`'s guess, then the other separators,
    are tried, and the first that splits every sampled line evenly is used.
    """
    sample, truncated = _sample(path)
    candidates = [separators[0]]
    with contextlib.suppress(csv.Error):  # no guess: try each separator in turn
        candidates.append(csv.Sniffer().sniff(sample, delimiters=separators).delimiter)
    for separator in dict.fromkeys([*candidates, *separators]):
        try:
            records = [r for r in csv.reader(io.StringIO(sample), delimiter=separator) if r]
        except csv.Error:  # e.g. a stray carriage return: not this separator
            continue
        if truncated and len(records) > 1:
            records = records[:-1]  # the last sampled record may be cut
        if records and len(records[0]) > 1 and all(len(r) == len(records[0]) for r in records):
            decimal = separator != "," and any(
                _DECIMAL_COMMA.match(value) for r in records[1:] for value in r
            )
            return separator, decimal
    return separators[0], False


def _uneven_line(path: Path, separator: str) -> tuple[int, int, int] | None:
    """(line, values, header values) of the first record that splits unlike the header."""
    with (
        path.open(encoding=file_encoding(path), errors="replace", newline="") as fh,
        contextlib.suppress(csv.Error),
    ):
        records = _csv_records(fh, separator)
        first = next(records, None)
        for line, record in records:
            if first is not None and len(record) != len(first[1]):
                return line, len(record), len(first[1])
    return None


def _semicolon_detail(path: Path, separator: str) -> str:
    """Why a file read with ``separator`` looks like it uses ';' instead, or ''."""
    header = _sample(path)[0].partition("\n")[0]
    if separator != "," or ";" not in header or "," in header:
        return ""
    uneven = _uneven_line(path, ";")
    where = f" (line {uneven[0]} has {uneven[1]} values, the header {uneven[2]})" if uneven else ""
    return (
        f"its lines do not all split into the same number of values on ';'{where}, so it "
        "was not read that way; fix those lines, or save the file with ',' as separator."
    )


def _separator_hint(path: Path, separator: str) -> str:
    detail = _semicolon_detail(path, separator)
    return f"The file seems to use ';' as separator: {detail}" if detail else ""


def _check_one_column(table: pa.Table, path: Path, separator: str) -> None:
    name = table.column_names[0]
    if table.num_columns == 1 and ";" in name:
        detail = _semicolon_detail(path, separator) or "save it with ',' as separator."
        raise InputError(
            f"{path}: the file seems to use ';' as separator: it reads as one column named "
            f"{name!r}; {detail}"
        )


def _check_utf8(table: pa.Table, path: Path, fmt: str, rows: RowNames) -> None:
    """Arrow reads text that is not UTF-8 as binary; say so instead of importing bytes."""
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            raise InputError(
                f"{path} cannot be read as {fmt.upper()}: column {name!r} is not UTF-8 text "
                f"(first at {rows(_first_non_utf8(column))}). Re-save the file as UTF-8."
            )


def _first_non_utf8(column: pa.ChunkedArray) -> int:
    for position, value in enumerate(column.to_pylist()):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return position
    return 0


def read_source(source: Any) -> tuple[pa.Table, dict[str, Any]]:
    """Read a file, a folder or a DataFrame.

    Parameters
    ----------
    source : str, path, pandas.DataFrame, pyarrow.Table, box_formats.BoxSource or
        transcript_import.TranscriptSource

    Returns
    -------
    table : pyarrow.Table
    info : dict
        ``format``; ``rows``, a :class:`RowNames` naming the rows in messages; for a
        CSV file read with another separator than ',' its ``separator`` (and
        ``decimal``: ``","`` when numbers were read with a decimal comma); for folders
        ``media_root``, ``media_column`` and ``modality``.
    """
    from assay.store.box_formats.dataset import BoxSource
    from assay.store.transcript_import import TranscriptSource

    if isinstance(source, (BoxSource, TranscriptSource)):  # boxes per image, text per clip
        return source.read()
    if isinstance(source, pd.DataFrame):
        check_unique_columns(list(source.columns), "the DataFrame")
        rows = RowNames.for_frame(source)
        frame = source.reset_index(drop=True)
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(_frame_problem(frame, rows, exc)) from exc
        return table, {"format": "dataframe", "rows": rows}
    if isinstance(source, pa.Table):
        check_unique_columns(source.column_names, "the Arrow table")
        return source, {"format": "arrow", "rows": RowNames("index")}
    path = Path(os.fspath(source)).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path (it is relative to {Path.cwd()}).")
    if path.is_dir():
        return scan_media_folder(path)
    return _read_file(path, _format_of(path))


def _value_kind(value: Any) -> str | None:
    """``list``, ``number``, ``text`` or another type name; None for a missing value."""
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return "list"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, float, np.number)):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def _frame_problem(frame: pd.DataFrame, rows: RowNames, exc: Exception) -> str:
    """Why Arrow cannot store a DataFrame: a column mixing lists and single values."""
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        if column.dtype != object:
            continue
        kinds = [_value_kind(v) for v in column.tolist()]
        present = [(i, k) for i, k in enumerate(kinds) if k is not None]
        listed = [i for i, k in present if k == "list"]
        single = [i for i, k in present if k != "list"]
        if listed and single:
            return (
                f"the DataFrame: column {name!r} mixes lists and single values "
                f"({rows(listed[0])} holds a list, {rows(single[0])} a {kinds[single[0]]}); "
                "give every row a list (multi-label) or every row one value."
            )
        if len({k for _, k in present}) > 1:
            first, other = present[0], next(p for p in present if p[1] != present[0][1])
            return (
                f"the DataFrame: column {name!r} mixes kinds of value ({rows(first[0])} holds a "
                f"{first[1]}, {rows(other[0])} a {other[1]}); give one kind per column."
            )
    return f"the DataFrame cannot be stored: {_first_line(exc)}; give columns of one type each."


def _json_mixed(path: Path, exc: Exception) -> str | None:
    """For Arrow's 'Column(/y) changed from number to array in row N': the line at which a
    JSONL column changes kind, and what to do; None for other errors."""
    match = re.search(r"Column\(/([^)]*)\) changed from (\w+) to (\w+)", str(exc))
    if match is None:
        return None
    column, before, after = match.groups()
    line = _json_kind_change(path, column)
    at = f" at line {line}" if line is not None else ""
    kinds = {"array": "lists", "number": "numbers", "string": "text", "boolean": "booleans"}
    return (
        f"{path}: column {column!r} mixes kinds of value ({kinds.get(before, before)}, then "
        f"{kinds.get(after, after)}{at}); give every row a list (multi-label) or every row "
        "one value."
    )


def _json_kind_change(path: Path, column: str) -> int | None:
    """The first line whose value of ``column`` is of another kind than the first one."""
    import json

    first: str | None = None
    with path.open(encoding=file_encoding(path), errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line).get(column)
            except (ValueError, AttributeError):
                return None
            kind = _value_kind(value)
            if kind is None:
                continue
            if first is None:
                first = kind
            elif kind != first:
                return number
    return None


def scan_media_folder(root: Path) -> tuple[pa.Table, dict[str, Any]]:
    """List ``root/<class>/<file>`` media files as a table of relative paths; files in
    ``root`` itself are items without a label (awaiting ``assay label``).

    Hidden folders and files (a leading dot, e.g. ``.assay-augmented/``) are skipped, and
    so, with a warning naming them, are files whose real path (symlinks followed) is
    outside ``root``: their content would otherwise show in reports and the web app.

    Returns
    -------
    table : pyarrow.Table
        Columns ``item_id`` and ``path`` (the path relative to ``root``, POSIX style),
        ``label`` (the subfolder name; None for a file in ``root``, and no column when
        no file is in a subfolder) and, for text files, ``text``.
    info : dict
        ``media_root`` (absolute), ``media_column`` (``"path"``) and ``modality``.
    """
    rows: list[dict[str, str | None]] = []
    modalities: set[str] = set()
    real_root = root.resolve()
    outside: list[str] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [(None, f) for f in sorted(root.iterdir()) if f.is_file()]  # no class: unlabeled
    classed = [(d.name, file) for d in folders for file in sorted(d.rglob("*"))]
    for label, file in [*loose, *classed]:
        kind = MEDIA_EXTENSIONS.get(file.suffix.lower())
        hidden = any(part.startswith(".") for part in file.relative_to(root).parts)
        if kind is None or hidden or not file.is_file():
            continue
        rel = file.relative_to(root).as_posix()
        if not file.resolve().is_relative_to(real_root):
            outside.append(rel)
            continue
        row = {"item_id": rel, "path": rel, "label": label}
        if kind == "text":
            row["text"] = _read_text(file)
        rows.append(row)
        modalities.add(kind)
    if outside:
        _warn_outside(root, outside)
    if not rows:
        raise InputError(
            f"{root} has no media files; lay it out as {root}/<class>/<file> (or put the "
            f"files of unlabeled items in {root} itself) with extensions "
            f"{', '.join(sorted(MEDIA_EXTENSIONS))}."
        )
    if all(row["label"] is None for row in rows):  # the items await labels
        rows = [{k: v for k, v in row.items() if k != "label"} for row in rows]
    if len(modalities) > 1:
        raise InputError(
            f"{root} mixes {', '.join(sorted(modalities))} files; import one modality per dataset."
        )
    info = {
        "format": "folder",
        "rows": RowNames("file", labels=[row["path"] for row in rows]),
        "media_root": str(root.resolve()),
        "media_column": "path",
        "modality": modalities.pop(),
    }
    return pa.Table.from_pylist(rows), info


def _warn_outside(root: Path, files: list[str]) -> None:
    shown = ", ".join(map(repr, files[:5])) + (" ..." if len(files) > 5 else "")
    warn(
        f"skipped {len(files)} file(s) of {root} that are symlinks to places outside it: "
        f"{shown}; copy those files into the folder to import them."
    )


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{file} is not UTF-8 text ({exc.reason}); re-save it as UTF-8.") from exc


def _lists_as_json(table: pa.Table) -> pa.Table:
    """List columns (label sets) as JSON text, which an import reads back as lists."""
    import json

    for position, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            text = [None if v is None else json.dumps(v) for v in table.column(position).to_pylist()]
            table = table.set_column(position, field.name, pa.array(text, pa.string()))
    return table.replace_schema_metadata(None)


def write_table(table: pa.Table | Iterable[pa.Table], path: str | os.PathLike[str]) -> Path:
    """Write ``table`` to CSV, Parquet or JSONL by extension, atomically (in CSV, list
    columns as JSON lists: ``["a", "b"]``).

    ``table`` may be an iterable of tables of one schema (the parts of a version larger
    than memory): they are written one after the other into the one file."""
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
        if isinstance(table, pa.Table):
            _write_part(table, tmp, fmt)
        else:
            _write_parts(table, tmp, fmt)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {os_reason(exc)}; choose another path.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target



def _write_part(table: pa.Table, tmp: Path, fmt: str, *, first: bool = True) -> None:
    """Write ``table`` to ``tmp``: the whole file, or (``first`` False) appended to it."""
    if fmt == "parquet":
        pq.write_table(table, tmp)
    elif fmt in ("csv", "tsv"):
        frame = _lists_as_json(table).to_pandas()
        sep = "\t" if fmt == "tsv" else ","
        frame.to_csv(tmp, index=False, sep=sep, header=first, mode="w" if first else "a")
    else:
        table.to_pandas().to_json(tmp, orient="records", lines=True, mode="w" if first else "a")


def _write_parts(parts: Iterable[pa.Table], tmp: Path, fmt: str) -> None:
    """Write tables of one schema one after the other into the file ``tmp``."""
    writer: pq.ParquetWriter | None = None
    try:
        for number, part in enumerate(parts):
            if fmt != "parquet":
                _write_part(part, tmp, fmt, first=number == 0)
                continue
            writer = writer or pq.ParquetWriter(tmp, part.schema)
            writer.write_table(part)
    finally:
        if writer is not None:
            writer.close()
