"""Sources imported as a stream of chunks: a folder of Parquet files, a Dask DataFrame,
a Parquet file with more rows than one part.

Each chunk is read, checked and written before the next is read, so an import's memory
is bounded by a few parts (``ASSAY_PART_ROWS`` rows each, default 1,000,000) whatever
the size of the source. Smaller sources are read whole, as before. A
:class:`ChunkStream` is a source already in chunks (a stored version's parts changed
one by one, as a review apply does).

A folder written with hive partitioning (``month=2024-01/part-0.parquet``, as Spark,
Dask and ``pyarrow.parquet.write_to_dataset`` write it) keeps its partition columns:
each file's ``key=value`` folder names become columns of its rows, typed as pyarrow's
hive partitioning infers them (integers or text).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from assay._dask import is_dask_frame
from assay.exceptions import InputError
from assay.store.readers import RowNames, read_source

__all__ = [
    "Chunk",
    "ChunkStream",
    "hive_partitions",
    "is_dask_frame",
    "is_streamed_source",
    "parquet_files",
    "part_rows",
    "source_chunks",
]

#: Rows per part of a version stored in several objects (``ASSAY_PART_ROWS`` overrides).
DEFAULT_PART_ROWS = 1_000_000
_PARQUET = (".parquet", ".pq")


def part_rows() -> int:
    """The rows of one part: ``ASSAY_PART_ROWS`` or :data:`DEFAULT_PART_ROWS`."""
    text = os.environ.get("ASSAY_PART_ROWS", "")
    return max(int(text), 1) if text.strip().isdigit() else DEFAULT_PART_ROWS


def parquet_files(folder: Path) -> list[Path]:
    """The Parquet files of a folder (and its subfolders), hidden ones left out, sorted."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in _PARQUET
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def is_streamed_source(source: Any) -> bool:
    """Whether an import of ``source`` streams: a Dask DataFrame, a folder holding
    Parquet files, or a Parquet file of more than :func:`part_rows` rows."""
    if is_dask_frame(source) or isinstance(source, ChunkStream):
        return True
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = Path(os.fspath(source)).expanduser()
    try:
        if path.is_dir():
            return bool(parquet_files(path))
        if path.suffix.lower() in _PARQUET and path.is_file():
            return int(pq.read_metadata(path).num_rows) > part_rows()
    except (OSError, pa.ArrowException):
        return False  # the plain reader says what is wrong
    return False


@dataclass
class Chunk:
    """Rows of a source read at once: the table, the source's name and its row names."""

    table: pa.Table
    where: str
    info: dict[str, Any]


class ChunkStream:
    """A source already in chunks, read once, in order.

    Parameters
    ----------
    chunks : iterable of Chunk
        Produced lazily (e.g. a generator), so that only one is in memory at a time.
    """

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self.chunks)


class ShiftedRows(RowNames):
    """Row names of a chunk that starts ``offset`` rows into its file (``row N``)."""

    def __init__(self, offset: int) -> None:
        super().__init__("row")
        self.offset = offset

    def many(self, positions: Sequence[int] | np.ndarray, limit: int = 5) -> str:
        """The rows counted from the start of the file."""
        return super().many(np.asarray(positions, dtype=np.int64) + self.offset, limit)


def source_chunks(source: Any, rows: int) -> Iterator[Chunk]:
    """The chunks of a streamed source, in order, each of at most about ``rows`` rows
    (a Dask partition is one chunk whatever its size).

    Raises
    ------
    InputError
        A file that cannot be read as Parquet (named).
    """
    if is_dask_frame(source):
        yield from _dask_chunks(source)
        return
    if isinstance(source, ChunkStream):
        yield from source
        return
    path = Path(os.fspath(source)).expanduser()
    files = parquet_files(path) if path.is_dir() else [path]
    keys = hive_partitions(path, files) if path.is_dir() else {}
    for file in files:
        yield from _file_chunks(file, rows, keys.get(file, {}))


def hive_partitions(folder: Path, files: Sequence[Path]) -> dict[Path, dict[str, pa.Scalar]]:
    """The hive partition values of each file: its ``key=value`` folder names under
    ``folder``, typed as pyarrow's hive partitioning infers them; empty when no file
    sits under such a folder.

    Raises
    ------
    InputError
        When the files do not all sit under the same partition keys.
    """
    named = {f: [p.split("=", 1)[0] for p in f.relative_to(folder).parent.parts if "=" in p]
             for f in files}
    if not any(named.values()):
        return {}
    layouts = {tuple(keys): f for f, keys in named.items()}
    if len(layouts) > 1:
        (a, fa), (b, fb) = list(layouts.items())[:2]
        raise InputError(
            f"{folder} mixes partition folders: {fa.relative_to(folder)} is under "
            f"{', '.join(a) or 'no key=value folder'} but {fb.relative_to(folder)} under "
            f"{', '.join(b) or 'no key=value folder'}; every file must sit under the same "
            "key=value folders (e.g. month=2024-01/), or none."
        )
    import pyarrow.dataset as ds

    try:
        first = pq.read_schema(files[0]).names  # pyarrow inspects this file's schema
        for key in next(iter(layouts)):
            _refuse_clash(first, files[0], key)
        dataset = ds.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                             partition_base_dir=str(folder))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{folder} cannot be read as a partitioned Parquet folder: "
                         f"{str(exc).strip().splitlines()[0]}.") from exc
    types = {key: _wide(dataset.schema.field(key).type) for key in next(iter(layouts))}
    return {
        Path(fragment.path): {
            key: pa.scalar(value, types[key])
            for key, value in ds.get_partition_keys(fragment.partition_expression).items()
        }
        for fragment in dataset.get_fragments()
    }


def _wide(kind: pa.DataType) -> pa.DataType:
    """int64 for pyarrow's inferred int32 partition keys (as pandas reads integers)."""
    return pa.int64() if pa.types.is_integer(kind) else kind


def _with_partitions(table: pa.Table, file: Path, keys: dict[str, pa.Scalar]) -> pa.Table:
    """``table`` with a column per partition key, each row its file's value."""
    for key, value in keys.items():
        _refuse_clash(table.column_names, file, key)
        table = table.append_column(key, pa.repeat(value, table.num_rows))
    return table


def _refuse_clash(columns: Sequence[str], file: Path, key: str) -> None:
    """Refuse a file with a column named like one of its partition keys."""
    if key in columns:
        raise InputError(
            f"{file} has a column {key!r} and also sits under a {key}=... folder; "
            "rename the column or the folder."
        )


def _file_chunks(file: Path, rows: int, keys: dict[str, pa.Scalar]) -> Iterator[Chunk]:
    try:
        reader = pq.ParquetFile(file)
        offset = 0
        for batch in reader.iter_batches(batch_size=rows):
            if batch.num_rows == 0:
                continue
            table = _with_partitions(pa.Table.from_batches([batch]), file, keys)
            info = {"format": "parquet", "rows": ShiftedRows(offset)}
            yield Chunk(table, str(file), info)
            offset += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{file} cannot be read as Parquet: {first}. Check that the file is complete, "
            "or move it out of the folder."
        ) from exc


def _dask_chunks(frame: Any) -> Iterator[Chunk]:
    for number in range(frame.npartitions):
        part = frame.get_partition(number).compute()
        if len(part) == 0:
            continue  # an empty partition (e.g. after a filter) adds no rows
        table, info = read_source(part)
        info = {**info, "format": "dask"}
        yield Chunk(table, f"partition {number} of the Dask DataFrame", info)
