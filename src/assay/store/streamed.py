"""Versions larger than memory: imported chunk by chunk into parts, diffed part by part.

A streamed import (a folder of Parquet files, a Dask DataFrame, a Parquet file of more
than one part's rows; see :mod:`assay.store.stream_sources`) reads one chunk, checks it
with the checks of a whole import (:meth:`Workspace.prepare_import_chunk`), writes the
rows as Parquet objects of about ``ASSAY_PART_ROWS`` rows (each content addressed and
leased), and compares them with the previous version as they go: the previous
version's ids are read once (one column), and each new part is matched against them,
reading the previous version's rows part by part. Ids must be unique across the whole
version: each chunk's ids are hashed to 64 bits, and equal hashes are checked exactly
at the end. A small manifest object lists the parts; it names the version
(``versions.object_hash``) and the parts are listed in ``versions.parts`` for gc.

Memory is bounded by a few parts (the chunk being written, one part of the previous
version, the previous version's ids), not by the version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay.exceptions import InputError
from assay.store.datasets import GENERATED_ID, DatasetVersion, Roles
from assay.store.diff import DatasetDiff, diff_tables
from assay.store.objects import PendingObject, manifest_table
from assay.store.stream_sources import Chunk, ChunkStream, part_rows, source_chunks
from assay.tasks import get_task

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store import models as m
    from assay.store.label_import import PreparedLabels
    from assay.store.workspace import ImportOptions, Workspace

__all__ = [
    "PartDiff", "changed_version", "column_parts", "commit_streamed", "diff_versions",
    "import_streamed", "map_parts", "version_parts",
]


def version_parts(ws: Workspace, version: DatasetVersion) -> list[tuple[str, int]]:
    """``(hash, rows)`` of each object holding a version's rows, in order."""
    parts = ws.objects.parts(version.object_hash, what=version.ref)
    return parts if parts is not None else [(version.object_hash, version.n_rows)]


def column_parts(version: DatasetVersion, column: str) -> Iterator[pd.Series]:
    """One column of ``version``, part by part (one part's column in memory at a time;
    the whole column for a version in one object)."""
    ws = version.workspace
    for digest, _ in version_parts(ws, version):
        yield ws.objects.get_table(digest, [column], what=version.ref).column(0).to_pandas()


def map_parts(
    ws: Workspace,
    version: DatasetVersion,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    extra: pd.DataFrame | None = None,
) -> ChunkStream:
    """A new version's rows: each part of ``version`` changed by ``change``, one part
    in memory at a time, then ``extra`` rows; for :meth:`Workspace.commit`, which
    stores them in parts again (a review or labeling apply of a version in parts).

    Parameters
    ----------
    change : callable
        A part's rows (a DataFrame, in stored order) to its rows in the new version.
    extra : DataFrame, optional
        Rows appended after the last part.
    """
    from assay.store.readers import read_source

    def chunk(frame: pd.DataFrame, where: str) -> Chunk:
        table, info = read_source(frame)
        return Chunk(table, where, info)

    def chunks() -> Iterator[Chunk]:
        for number, (digest, _) in enumerate(version_parts(ws, version)):
            frame = change(ws.objects.get_table(digest, what=version.ref).to_pandas())
            if len(frame):
                yield chunk(frame, f"part {number + 1} of {version.ref}")
        if extra is not None and len(extra):
            yield chunk(extra, "the rows added")

    return ChunkStream(chunks())


def changed_version(
    ws: Workspace,
    version: DatasetVersion,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    extra: pd.DataFrame | None = None,
) -> pd.DataFrame | ChunkStream:
    """The rows of a new version made by changing ``version`` row-wise: the whole
    table changed at once for a version in one object, else its parts changed one by
    one (:func:`map_parts`); either is what :meth:`Workspace.commit` takes.

    Parameters
    ----------
    change : callable
        Rows (a DataFrame, in stored order) to their rows in the new version; must not
        depend on the other rows.
    extra : DataFrame, optional
        Rows appended at the end.
    """
    if len(version_parts(ws, version)) > 1:
        return map_parts(ws, version, change, extra)
    frame = change(version.to_pandas())
    return frame if extra is None else pd.concat([frame, extra], ignore_index=True)


class PartWriter:
    """Gathers checked chunks into parts of about :func:`part_rows` rows and writes them.

    Parameters
    ----------
    ws : Workspace
        Where the objects go (each written under a lease held by ``stack``).
    stack : ExitStack
        Holds the leases until the version's transaction releases them.
    on_part : callable
        Called with each part's table once it is written (the diff).
    """

    def __init__(
        self, ws: Workspace, stack: ExitStack, on_part: Callable[[pa.Table], None]
    ) -> None:
        self.ws, self.stack, self.on_part = ws, stack, on_part
        self.rows = part_rows()
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.written: list[PendingObject] = []
        self.counts: list[int] = []
        self.schema: pa.Schema | None = None
        self.first_where = ""

    def conform(self, table: pa.Table, where: str) -> pa.Table:
        """The chunk with the first chunk's columns and types (all parts share a schema)."""
        if self.schema is None:
            self.schema, self.first_where = table.schema, where
            return table
        if table.schema.equals(self.schema):
            return table
        if sorted(table.column_names) != sorted(self.schema.names):
            raise InputError(
                f"{where} has columns {', '.join(table.column_names[:10])}, unlike "
                f"{self.first_where} ({', '.join(self.schema.names[:10])}); give every file "
                "(or partition) of one version the same columns."
            )
        try:
            return table.select(self.schema.names).cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(
                f"{where}: a column's type differs from {self.first_where} and cannot be "
                f"converted ({exc}); give every file (or partition) the same column types."
            ) from exc

    def add(self, table: pa.Table) -> None:
        """Buffer a checked chunk; write a part when the buffer is full."""
        if self.buffered and self.buffered + table.num_rows > self.rows:
            self.flush()
        self.buffer.append(table)
        self.buffered += table.num_rows

    def flush(self) -> None:
        """Write the buffered rows as one part."""
        if not self.buffer:
            return
        table = pa.concat_tables(self.buffer).combine_chunks()
        self.buffer, self.buffered = [], 0
        pending = self.ws.objects.write_leased(table)  # held until the version commits
        self.stack.callback(pending.drop, quiet=True)
        self.written.append(pending)
        self.counts.append(table.num_rows)
        self.on_part(table)

    def manifest(self) -> PendingObject:
        """Write the manifest naming the parts (after :meth:`flush`)."""
        listing = manifest_table(zip((p.digest for p in self.written), self.counts, strict=True))
        return self.stack.enter_context(self.ws.writing_object(listing))


class IdLedger:
    """Ids seen across a version's chunks, as 64-bit hashes: duplicates found at the end.

    Parameters
    ----------
    id_column : str
        The id column (generated ids are unique by construction: not recorded).
    """

    def __init__(self, id_column: str) -> None:
        self.id_column = id_column
        self.hashes: list[np.ndarray] = []
        self.sources: list[str] = []
        self.owner: list[np.ndarray] = []

    def add(self, table: pa.Table, where: str) -> None:
        """Record a chunk's ids (already unique within the chunk)."""
        values = table.column(self.id_column).to_numpy(zero_copy_only=False)
        self.hashes.append(pd.util.hash_array(np.asarray(values)))
        self.owner.append(np.full(len(values), len(self.sources), dtype=np.int32))
        self.sources.append(where)

    def check(self, read_ids: Callable[[], Iterator[np.ndarray]]) -> None:
        """Refuse ids repeated across chunks (exactly: equal hashes are compared by value).

        Parameters
        ----------
        read_ids : callable
            Yields the ids of the written parts, in order (read again only when two
            hashes are equal).
        """
        if len(self.hashes) < 2:
            return
        hashes = np.concatenate(self.hashes)
        order = np.argsort(hashes, kind="stable")
        ranked = hashes[order]
        same = np.flatnonzero(ranked[1:] == ranked[:-1])
        if len(same) == 0:
            return
        suspects = np.unique(ranked[same])
        owners = np.concatenate(self.owner)
        ids = np.concatenate([np.asarray(v, dtype=object) for v in read_ids()])
        flagged = np.isin(hashes, suspects)
        frame = pd.DataFrame({"id": ids[flagged], "owner": owners[flagged]})
        repeated = frame[frame.duplicated("id", keep=False)]
        if repeated.empty:
            return  # 64-bit hashes that collide, different ids
        first = repeated["id"].iloc[0]
        where = sorted({self.sources[o] for o in repeated[repeated["id"] == first]["owner"]})
        raise InputError(
            f"id column {self.id_column!r} has duplicate values across the source "
            f"({repeated['id'].nunique()} ids), e.g. {first!r} in {' and '.join(where[:2])}; "
            "make the ids unique, or leave out --id to number the rows."
        )


class _BaseRows:
    """The rows of a stored version, found by id part by part (one part cached)."""

    def __init__(self, ws: Workspace, base: DatasetVersion, id_column: str) -> None:
        self.ws, self.base = ws, base
        self.parts = version_parts(ws, base)
        self.offsets = np.cumsum([0, *(rows for _, rows in self.parts)])
        self.schema = base.schema
        self.id_type = self.schema.field(id_column).type
        self.ids = np.concatenate(
            [
                ws.objects.get_table(digest, [id_column], what=base.ref)
                .column(0)
                .to_numpy(zero_copy_only=False)
                for digest, _ in self.parts
            ]
        )
        sortable = self.ids.dtype.kind in "iu" and len(self.ids) > 0
        self.sorted = bool(sortable and np.all(self.ids[1:] > self.ids[:-1]))
        self.index = None if self.sorted else pd.Index(self.ids)
        self.seen = np.zeros(len(self.ids), dtype=bool)
        self.cached: tuple[int, pa.Table] | None = None

    def as_text(self) -> None:
        """Compare ids as text (a version whose ids have another type, see diff.py)."""
        if self.id_type != pa.string():
            self.ids = np.asarray(pa.array(self.ids).cast(pa.string()).to_numpy(False))
            self.id_type, self.sorted, self.index = pa.string(), False, None

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Each id's row in the version (-1 when absent)."""
        if self.sorted and ids.dtype.kind in "iu":
            where = np.searchsorted(self.ids, ids)
            where[where >= len(self.ids)] = 0
            found = self.ids[where] == ids if len(self.ids) else np.zeros(len(ids), bool)
            return np.where(found, where, -1)
        index = self.index if self.index is not None else pd.Index(self.ids)
        self.index = index
        return np.asarray(index.get_indexer(ids))

    def part(self, number: int) -> pa.Table:
        if self.cached is None or self.cached[0] != number:
            self.cached = None  # drop the previous part before reading the next
            table = self.ws.objects.get_table(self.parts[number][0], what=self.base.ref)
            self.cached = (number, table)
        return self.cached[1]

    def take(self, positions: np.ndarray) -> pa.Table:
        """The rows at ``positions`` (in that order)."""
        ascending = len(positions) < 2 or bool(np.all(positions[1:] > positions[:-1]))
        order = np.arange(len(positions)) if ascending else np.argsort(positions, kind="stable")
        ranked = positions[order]
        bounds = np.searchsorted(ranked, self.offsets)
        whole = [j for j in range(len(self.parts)) if bounds[j + 1] - bounds[j] == self.parts[j][1]]
        if ascending and len(whole) == 1 and len(positions) == self.parts[whole[0]][1]:
            return self.part(whole[0])  # the rows of one part, in its order: no copy
        pieces = [
            self.part(j).take(pa.array(ranked[bounds[j] : bounds[j + 1]] - self.offsets[j]))
            for j in range(len(self.parts))
            if bounds[j + 1] > bounds[j]
        ]
        if not pieces:
            return self.schema.empty_table()
        gathered = pa.concat_tables(pieces)
        if ascending:
            return gathered
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return gathered.take(pa.array(inverse))

    def unseen(self) -> Iterator[pa.Table]:
        """The rows never matched, part by part."""
        for j in range(len(self.parts)):
            mask = ~self.seen[self.offsets[j] : self.offsets[j + 1]]
            if mask.any():
                yield self.part(j).filter(pa.array(mask))


class PartDiff:
    """The diff of a new version, given part by part, against a stored version.

    Parameters
    ----------
    ws : Workspace
    base : DatasetVersion
        The older version.
    roles : Roles
        The roles (id and label columns).
    name : str
        The newer version's reference, for display.
    keep_rows : bool
        Keep the added, removed, relabeled and changed rows (a diff shown to a user);
        else only their counts (a version's summary).
    """

    def __init__(
        self, ws: Workspace, base: DatasetVersion, roles: Roles, name: str, *, keep_rows: bool
    ) -> None:
        self.base, self.roles, self.name, self.keep_rows = base, roles, name, keep_rows
        self.rows = _BaseRows(ws, base, roles.id)
        self.frames: dict[str, list[pd.DataFrame]] = {"added": [], "relabeled": [], "changed": []}
        self.counts = {"added": 0, "relabeled": 0, "changed": 0}

    def add(self, part: pa.Table) -> None:
        """Compare one part of the newer version with the matching rows of the older."""
        ids = part.column(self.roles.id)
        if ids.type != self.rows.id_type:
            self.rows.as_text()
            ids = ids.cast(pa.string())
        positions = self.rows.positions(ids.to_numpy(zero_copy_only=False))
        found = positions[positions >= 0]
        self.rows.seen[found] = True
        older = self.rows.take(found)
        delta = diff_tables(
            older,
            part,
            id_column=self.roles.id,
            label_column=self.roles.label,
            names=(self.base.ref, self.name),
            task=self.base.task,
        )
        for kind in self.counts:
            frame = getattr(delta, kind)
            self.counts[kind] += len(frame)
            if self.keep_rows:
                self.frames[kind].append(frame)

    def result(self, schema: pa.Schema) -> DatasetDiff:
        """The diff, once every part of the newer version (of ``schema``) was added."""
        removed = pd.DataFrame(columns=["item_id"])
        if self.keep_rows:
            gone = [t.to_pandas() for t in self.rows.unseen()]
            removed = pd.concat(gone, ignore_index=True) if gone else removed
            if self.roles.id != "item_id" and self.roles.id in removed.columns:
                removed.insert(0, "item_id", removed.pop(self.roles.id))
        frames = {k: _joined(v) for k, v in self.frames.items()}
        delta = DatasetDiff(
            self.base.ref,
            self.name,
            frames["added"],
            removed,
            frames["relabeled"],
            frames["changed"],
            columns_added=[c for c in schema.names if c not in self.rows.schema.names],
            columns_removed=[c for c in self.rows.schema.names if c not in schema.names],
            task=self.base.task,
        )
        if not self.keep_rows:
            delta.extra["counts"] = {**self.counts, "removed": int((~self.rows.seen).sum())}
        return delta


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=["item_id"])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def diff_versions(ws: Workspace, a: DatasetVersion, b: DatasetVersion) -> DatasetDiff:
    """Item-level differences of two versions, reading the newer one part by part."""
    diff = PartDiff(ws, a, b.roles, b.ref, keep_rows=True)
    for digest, _ in version_parts(ws, b):
        diff.add(ws.objects.get_table(digest, what=b.ref))
    return diff.result(b.schema)


def summary_of(n_rows: int, delta: DatasetDiff | None) -> dict[str, Any]:
    """A streamed version's summary (counts only; the first version: all added)."""
    from assay.store.workspace import version_summary

    if delta is None:
        return {"rows": n_rows, "added": n_rows, "removed": 0, "relabeled": 0, "changed": 0}
    return version_summary(n_rows, delta)


class _Stream:
    """One streamed write: chunks checked, numbered, written, diffed and id-checked."""

    def __init__(self, ws: Workspace, base: DatasetVersion | None, stack: ExitStack) -> None:
        self.ws, self.base = ws, base
        self.writer = PartWriter(ws, stack, self._diff_part)
        self.diff: PartDiff | None = None
        self.ledger: IdLedger | None = None
        self.n_rows = 0

    def start(self, roles: Roles) -> None:
        """Set up the diff and the id check once the roles are known."""
        if self.base is not None:
            self.diff = PartDiff(self.ws, self.base, roles, "new", keep_rows=False)
        self.ledger = IdLedger(roles.id)

    def _diff_part(self, table: pa.Table) -> None:
        if self.diff is not None:
            self.diff.add(table)

    def add(self, table: pa.Table, where: str, generated: bool, id_column: str) -> None:
        """Number generated ids after the rows before, record the ids, buffer the rows."""
        if generated:
            ids = pa.array(np.arange(self.n_rows, self.n_rows + table.num_rows))
            table = table.set_column(0, GENERATED_ID, ids)
        elif self.ledger is not None:
            self.ledger.add(table, where)
        self.n_rows += table.num_rows
        self.writer.add(self.writer.conform(table, where))

    def finish(self, id_column: str) -> tuple[PendingObject, dict[str, Any]]:
        """Write the last part, check the ids across parts, write the manifest."""
        self.writer.flush()
        if self.ledger is not None:
            self.ledger.check(lambda: self._ids(id_column))
        schema = self.writer.schema
        assert schema is not None
        delta = self.diff.result(schema) if self.diff is not None else None
        return self.writer.manifest(), summary_of(self.n_rows, delta)

    def _ids(self, id_column: str) -> Iterator[np.ndarray]:
        for pending in self.writer.written:
            table = self.ws.objects.get_table(pending.digest, [id_column])
            yield table.column(0).to_numpy(zero_copy_only=False)


def _first_chunk(chunks: Iterator[Chunk], where: str) -> Chunk:
    first = next(chunks, None)
    if first is None:
        raise InputError(f"{where} has no rows; give at least one Parquet file with rows.")
    return first


def import_streamed(
    ws: Workspace,
    name: str,
    source: Any,
    options: ImportOptions,
    message: str | None,
    author: str | None,
) -> DatasetVersion:
    """Import a streamed source as a new version of ``name`` (see the module notes).

    Checks and messages are those of :meth:`Workspace.import_dataset`, per chunk (rows
    named by file and row, or partition and index label), plus ids unique across the
    whole source. On an error nothing is committed (parts already written are orphans
    that ``assay gc`` removes).
    """
    from assay.store.workspace import import_provenance

    where = "the Dask DataFrame" if not isinstance(source, (str, Path)) else str(source)
    base = ws._latest_or_none(name)
    chunks = source_chunks(source, part_rows())
    first = _first_chunk(chunks, where)
    roles: Roles | None = base.roles if base is not None else None
    kind, names, prepared_first = options.task, None, None
    with ExitStack() as stack:
        stream = _Stream(ws, base, stack)
        for chunk in _chain(first, chunks):
            generated = _generates_ids(chunk.table, roles, options)
            table, roles, prepared = ws.prepare_import_chunk(
                name,
                chunk.table,
                chunk.info,
                chunk.where,
                base,
                roles,
                _with_task(options, kind),
                chunk.where,
            )
            if prepared_first is None:
                prepared_first, kind = prepared, prepared.kind
                stream.start(roles)
            names = _union_names(names, ws, name, base, table, roles, prepared)
            stream.add(table, chunk.where, generated, roles.id)
        assert roles is not None and prepared_first is not None
        manifest, summary = stream.finish(roles.id)
        info = {**first.info, "task": kind, "label_names": names}
        info["format"] = "parquet" if first.info["format"] == "parquet" else "dask"
        provenance = import_provenance(where, info, prepared_first, options.label_sep)
        text = message or f"import {Path(where).name if where != 'the Dask DataFrame' else where}"
        shape = (stream.n_rows, list(stream.writer.schema.names))  # type: ignore[union-attr]
        return ws._add_version(
            name,
            manifest,
            shape,
            roles,
            info,
            text,
            author,
            summary,
            provenance,
            base,
            None,
            parts=stream.writer.written,
        )


def commit_streamed(
    ws: Workspace,
    name: str,
    data: Any,
    base: DatasetVersion,
    message: str,
    author: str | None,
    provenance: dict[str, Any],
    on_commit: Callable[[Session, m.Version], None] | None,
) -> DatasetVersion:
    """:meth:`Workspace.commit` of a streamed source (a Dask DataFrame, a
    :class:`~assay.store.stream_sources.ChunkStream`): chunk by chunk."""
    where = f"the new version of {name}"
    info = {"modality": base.modality, "media_root": base.media_root}
    with ExitStack() as stack:
        stream = _Stream(ws, base, stack)
        stream.start(base.roles)
        for chunk in source_chunks(data, part_rows()):
            generated = (
                base.roles.id == GENERATED_ID and GENERATED_ID not in chunk.table.column_names
            )
            table = ws.prepare_commit_chunk(
                name, chunk.table, chunk.info, base, f"{where}, {chunk.where}"
            )
            stream.add(table, chunk.where, generated, base.roles.id)
        if stream.n_rows == 0:
            raise InputError(f"{where} has no rows; a version needs at least one row.")
        manifest, summary = stream.finish(base.roles.id)
        shape = (stream.n_rows, list(stream.writer.schema.names))  # type: ignore[union-attr]
        return ws._add_version(
            name,
            manifest,
            shape,
            base.roles,
            info,
            message,
            author,
            summary,
            provenance,
            base,
            on_commit,
            parts=stream.writer.written,
        )


def _chain(first: Chunk, rest: Iterator[Chunk]) -> Iterable[Chunk]:
    yield first
    yield from rest


def _generates_ids(table: pa.Table, roles: Roles | None, options: ImportOptions) -> bool:
    """Whether the chunk's ids are row numbers assay adds (no id column given or kept)."""
    id_column = roles.id if roles is not None else (options.id or GENERATED_ID)
    return id_column == GENERATED_ID and GENERATED_ID not in table.column_names


def _with_task(options: ImportOptions, kind: str | None) -> ImportOptions:
    """The options with the kind of label the first chunk settled (or was given)."""
    from dataclasses import replace

    return options if kind is None else replace(options, task=kind)


def _union_names(
    names: list[str] | None,
    ws: Workspace,
    name: str,
    base: DatasetVersion | None,
    table: pa.Table,
    roles: Roles,
    prepared: PreparedLabels,
) -> list[str] | None:
    """The label names of a first import over every chunk (kinds that record them)."""
    task = get_task(prepared.kind)
    found = ws._label_names(name, base, task, table.column(roles.label), prepared)
    if found is None or base is not None or prepared.label_columns:
        return found
    merged = list(dict.fromkeys([*(names or []), *found]))
    with contextlib.suppress(Exception):  # the task's own order of the names
        column = pa.chunked_array([pa.array([merged], pa.list_(pa.string()))])
        merged = list(task.label_names(column) or merged)
    return merged
