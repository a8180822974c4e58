"""Content-addressed, immutable Parquet objects, verified on read, leased while written.

An object is a Parquet file named by the SHA-256 of its bytes, under
``<root>/<first two hex digits>/<hash>.parquet``. Writes go to a temporary file in
``<root>/tmp`` and are renamed into place, so a reader never sees a half-written object.

**Leases keep gc away from writes in progress.** A writer takes a lease (a row of
``object_leases``, in its own short transaction) *before* it writes, binds it to the
object's hash once the bytes are hashed, and releases it in the transaction that
makes a version (or analysis, window) refer to the object, so that "referenced" and
"leased" never have a gap between them. :meth:`ObjectStore.gc` deletes only objects that
are neither referenced nor leased, and older than a grace period (by file mtime); a
lease expires after its TTL, or at once when its holder is a process of this host
that no longer runs. gc moves a doomed object aside, checks leases and references once
more, and puts it back when a writer took it meanwhile.

**Reads are verified.** The first read of an object in a process hashes its bytes and
compares the hash with its name (cached by path, mtime and size): a damaged object is
reported as damage, never read as data.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from assay.exceptions import NotFoundError, StoreError
from assay.store._process import holder_alive, holder_id

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "DEFAULT_GRACE_S",
    "LEASE_TTL_S",
    "MANIFEST_KEY",
    "Lease",
    "LeaseBook",
    "ObjectStore",
    "PendingObject",
    "is_object_url",
    "manifest_table",
    "open_object_store",
]

_HASH_CHUNK = 1 << 22
#: How long a lease protects an object being written (renewed when its hash is bound).
LEASE_TTL_S = 3600.0
#: gc keeps unreferenced files younger than this (a second line of defence).
DEFAULT_GRACE_S = 3600.0
#: Files (path, mtime_ns, size) whose hash this process already checked.
_VERIFIED: set[tuple[str, int, int]] = set()
#: Whether an object is a manifest (its parts' hashes and rows), by hash: immutable.
_MANIFESTS: dict[str, builtins.list[tuple[str, int]] | None] = {}
#: The Parquet key-value metadata that marks a manifest object.
MANIFEST_KEY = b"assay.parts"
#: Read objects memory-mapped: Arrow then decodes from the file's cached pages instead
#: of first copying each column chunk into newly allocated buffers. A cold read from
#: object storage (download, then read) took 0.73-0.81x the time so, a read from local
#: disk about the same (``benchmarks/object_store.py --read-path`` measures both in one
#: run). Objects are never changed in place (a new object is a new file, renamed in), so
#: a mapping cannot see its file change.
MEMORY_MAP = True
#: The errors of a full or read-only disk, said in words with how to fix them.
_DISK_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission is denied",
    errno.EPERM: "permission is denied",
}


def _fault(point: str) -> None:
    """Raise the OS error ``ASSAY_FAULT=point:ENOSPC`` names (fault-injection tests).

    A documented test hook: ``ASSAY_FAULT=object_write:ENOSPC`` makes the next object
    write fail as a full disk would, in any process (e.g. a real ``assay import``).
    """
    spec = os.environ.get("ASSAY_FAULT", "")
    if spec.startswith(point + ":"):
        code = getattr(errno, spec.split(":", 1)[1], errno.EIO)
        raise OSError(code, os.strerror(code))


def _mtimes(paths: Iterable[Path], key: Callable[[Path], str]) -> dict[str, float]:
    """``{key(path): mtime}`` of the files that still exist (others vanish meanwhile)."""
    found: dict[str, float] = {}
    for path in paths:
        try:
            found[key(path)] = path.stat().st_mtime
        except FileNotFoundError:
            continue
    return found


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass
class Lease:
    """A row of ``object_leases``: ``token`` also names the writer's temporary file."""

    id: int
    token: str
    digest: str
    holder: str
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        """Not expired, and not held by a process of this host that has ended."""
        return _aware(self.expires_at) > now and holder_alive(self.holder)


class LeaseBook:
    """Object leases in the workspace database.

    Parameters
    ----------
    begin : callable
        Opens a transaction (``Workspace.session``).
    ttl_s : float
        How long a lease lasts unless renewed.
    """

    def __init__(
        self, begin: Callable[[], AbstractContextManager[Session]], ttl_s: float = LEASE_TTL_S
    ) -> None:
        self.begin = begin
        self.ttl_s = ttl_s

    def _expiry(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.ttl_s)

    def take(self) -> Lease:
        """A new lease, committed before the object it protects is written."""
        from assay.store import models as m

        token = uuid.uuid4().hex
        row = m.ObjectLease(
            digest=f"pending-{token}", holder=holder_id(token), expires_at=self._expiry()
        )
        with self.begin() as s:
            s.add(row)
            s.flush()
            return Lease(row.id, token, row.digest, row.holder, row.expires_at)

    def bind(self, lease: Lease, digest: str) -> None:
        """Name the object the lease protects (and renew it), before it is published."""
        from sqlalchemy import update

        from assay.store import models as m

        lease.digest, lease.expires_at = digest, self._expiry()
        with self.begin() as s:
            s.execute(
                update(m.ObjectLease)
                .where(m.ObjectLease.id == lease.id)
                .values(digest=digest, expires_at=lease.expires_at)
            )

    def renew(self, lease: Lease) -> None:
        """Extend a lease by the TTL (for writes that take longer than it)."""
        self.bind(lease, lease.digest)

    def release(self, lease: Lease, session: Session | None = None) -> bool:
        """Delete the lease, in ``session`` (the referencing transaction) or its own one.

        Returns whether the lease was still there (gc purges expired leases).
        """
        from sqlalchemy import delete

        from assay.store import models as m

        query = delete(m.ObjectLease).where(m.ObjectLease.id == lease.id)
        if session is not None:
            return bool(session.execute(query).rowcount)  # type: ignore[attr-defined]
        with self.begin() as s:
            return bool(s.execute(query).rowcount)  # type: ignore[attr-defined]

    def live(self) -> builtins.list[Lease]:
        """The leases in force now (read before the references, see :meth:`ObjectStore.gc`)."""
        from sqlalchemy import select

        from assay.store import models as m

        now = datetime.now(UTC)
        with self.begin() as s:
            rows = s.scalars(select(m.ObjectLease)).all()
            leases = [
                Lease(r.id, r.holder.rpartition(":")[2], r.digest, r.holder, r.expires_at)
                for r in rows
            ]
        return [lease for lease in leases if lease.live(now)]

    def purge(self) -> int:
        """Delete expired leases and those of ended local processes; returns how many."""
        from sqlalchemy import delete, select

        from assay.store import models as m

        now = datetime.now(UTC)
        with self.begin() as s:
            rows = s.scalars(select(m.ObjectLease)).all()
            dead = [
                r.id
                for r in rows
                if not Lease(r.id, "", r.digest, r.holder, r.expires_at).live(now)
            ]
            if dead:
                s.execute(delete(m.ObjectLease).where(m.ObjectLease.id.in_(dead)))
        return len(dead)


class PendingObject:
    """An object just written and still leased: refer to it, then :meth:`release`."""

    def __init__(self, digest: str, lease: Lease | None, book: LeaseBook | None) -> None:
        self.digest = digest
        self.lease = lease
        self.book = book
        self.done = False

    def release(self, session: Session) -> None:
        """Drop the lease in the transaction that makes a row refer to the object.

        Raises
        ------
        StoreError
            When the lease was purged (the write outlived it), so gc may have removed
            the object: the transaction must not commit a reference to it.
        """
        if self.lease is None or self.book is None or self.done:
            return
        if not self.book.release(self.lease, session):
            raise StoreError(
                f"the write of object {self.digest} took longer than its lease "
                f"({self.book.ttl_s:.0f} s) and gc may have removed it; nothing was written: "
                "run the command again."
            )
        self.done = True

    def drop(self, *, quiet: bool = False) -> None:
        """Release the lease in its own transaction unless a reference released it
        (the object is then an orphan for gc); ``quiet`` ignores errors (cleanup)."""
        if self.lease is None or self.book is None or self.done:
            return
        self.done = True
        if quiet:
            with contextlib.suppress(Exception):
                self.book.release(self.lease)
        else:
            self.book.release(self.lease)

    def keep(self) -> None:
        """Leave the lease to expire by itself (for callers that cannot release it)."""
        self.done = True

    def renew(self) -> None:
        """Extend the lease by its TTL."""
        if self.lease is not None and self.book is not None:
            self.book.renew(self.lease)


class ObjectStore:
    """Immutable Parquet objects in a folder, addressed by content hash.

    Parameters
    ----------
    root : path
        The folder that holds the objects; created on first write.
    leases : LeaseBook, optional
        Where writes take leases (the workspace database); without it writes are not
        protected from a concurrent gc.
    """

    def __init__(self, root: str | os.PathLike[str], leases: LeaseBook | None = None) -> None:
        self.root = Path(root)
        self.leases = leases

    def path(self, digest: str) -> Path:
        """The file of object ``digest``."""
        return self.root / digest[:2] / f"{digest}.parquet"

    def put_table(self, table: pa.Table) -> str:
        """Write ``table`` as an object and return its hash (idempotent).

        The object's lease is kept until it expires; callers that refer to the object
        in a transaction should use :meth:`writing` and release it there.
        """
        with self.writing(table) as pending:
            pending.keep()
            return pending.digest

    @contextmanager
    def writing(self, table: pa.Table) -> Iterator[PendingObject]:
        """Write ``table`` as an object under a lease; yield it to be referred to.

        Use as ``with store.writing(table) as obj: ... obj.release(session)`` inside the
        transaction that refers to ``obj.digest``. On an error (in the write or in the
        block) the lease is dropped and no temporary file is left; the object, if
        published, is an orphan for gc.

        Raises
        ------
        StoreError
            When the disk is full or cannot be written (nothing is left behind).
        """
        pending = self.write_leased(table)
        del table  # the caller's rows are not held while the block runs
        try:
            yield pending
        except BaseException:
            pending.drop(quiet=True)
            raise
        pending.drop()  # the block committed its reference already, else it is an orphan

    def write_leased(self, table: pa.Table) -> PendingObject:
        """Write ``table`` as an object under a lease and return it, still leased.

        The caller refers to it and calls :meth:`PendingObject.release` in that
        transaction, or :meth:`PendingObject.drop` (an orphan for gc). Unlike
        :meth:`writing`, nothing keeps ``table`` alive (a streamed import writes many
        parts before its one transaction).

        Raises
        ------
        StoreError
            When the disk is full or cannot be written (nothing is left behind).
        """
        lease = self.leases.take() if self.leases is not None else None
        try:
            digest = self._write(table, lease)
        except BaseException:
            if lease is not None and self.leases is not None:
                with contextlib.suppress(Exception):
                    self.leases.release(lease)
            raise
        return PendingObject(digest, lease, self.leases)

    def _write(self, table: pa.Table, lease: Lease | None) -> str:
        token = lease.token if lease is not None else uuid.uuid4().hex
        tmp = self.root / "tmp" / f".tmp-{token}.parquet"
        try:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            _fault("object_write")
            pq.write_table(table, tmp, compression="zstd", row_group_size=512_000)
            digest = self.file_hash(tmp, sync=True)
            if lease is not None and self.leases is not None:
                self.leases.bind(lease, digest)  # leased before it becomes visible
            self._publish(tmp, digest)
        except OSError as exc:
            raise self._disk_error(exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return digest

    def _publish(self, tmp: Path, digest: str) -> None:
        """Move ``tmp`` into place; an existing copy gets a fresh mtime instead."""
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.utime(final)  # already there: it is as new as this write, for the grace
            return
        except FileNotFoundError:
            pass
        os.replace(tmp, final)

    def _disk_error(self, exc: OSError) -> StoreError:
        what = _DISK_ERRORS.get(exc.errno or 0, os.strerror(exc.errno) if exc.errno else str(exc))
        return StoreError(
            f"cannot write row data to {self.root}: {what}; nothing was written "
            "(free space or fix the permissions of that folder, then run the command again)."
        )

    def _checked(self, digest: str, what: str | None) -> Path:
        """The object's file, after checking (once per process) that it matches its hash."""
        path = self.path(digest)
        owner = f"object {digest} of {what}" if what else f"object {digest}"
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise NotFoundError(
                f"{owner} is missing from {self.root}; the workspace is damaged "
                "(restore .assay/objects from a backup)."
            ) from None
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key in _VERIFIED:
            return path
        try:
            actual = self.file_hash(path)
        except OSError as exc:
            raise StoreError(f"{owner} cannot be read: {exc.strerror or exc}.") from exc
        if actual != digest:
            raise StoreError(
                f"{owner} does not match its hash; the workspace is damaged "
                "(restore .assay/objects from a backup)."
            )
        _VERIFIED.add(key)
        return path

    def get_table(
        self, digest: str, columns: builtins.list[str] | None = None, *, what: str | None = None
    ) -> pa.Table:
        """Read object ``digest`` (optionally only some columns), checking its hash.

        ``what`` names the object's owner in messages (e.g. ``digits@v3``). An object
        split into parts (a manifest, see :meth:`parts`) is read part by part, each
        checked, and the parts concatenated.
        """
        parts = self.parts(digest, what=what)
        if parts is None:
            return self._read_object(digest, columns, what)
        tables = self._map_parts(lambda d: self._read_object(d, columns, what), parts)
        return pa.concat_tables(tables)

    def _map_parts(
        self, read: Callable[[str], pa.Table], parts: builtins.list[tuple[str, int]]
    ) -> builtins.list[pa.Table]:
        """Read each part (in order); stores on a network read several at a time."""
        return [read(digest) for digest, _ in parts]

    def _read_object(
        self, digest: str, columns: builtins.list[str] | None, what: str | None
    ) -> pa.Table:
        path = self._checked(digest, what)
        try:
            return read_parquet(path, columns)
        except (OSError, pa.ArrowInvalid) as exc:
            raise StoreError(f"object {path} cannot be read ({exc}); it may be corrupt.") from exc

    def parts(
        self, digest: str, *, what: str | None = None
    ) -> builtins.list[tuple[str, int]] | None:
        """The ``(hash, rows)`` of each part of an object split into parts, else None.

        A version too large for memory is stored as several Parquet objects (its
        parts) and one small *manifest* object listing them in order; the manifest's
        hash names the whole version (it hashes the parts' hashes).
        """
        if digest in _MANIFESTS:
            return _MANIFESTS[digest]
        meta = pq.read_metadata(self._checked(digest, what)).metadata or {}
        parts = None
        if meta.get(MANIFEST_KEY) is not None:
            listing = self._read_object(digest, None, what)
            parts = list(
                zip(
                    listing.column("digest").to_pylist(),
                    listing.column("rows").to_pylist(),
                    strict=True,
                )
            )
        _MANIFESTS[digest] = parts
        return parts

    def schema(self, digest: str, *, what: str | None = None) -> pa.Schema:
        """The column names and types of object ``digest`` (checked as by :meth:`get_table`)."""
        parts = self.parts(digest, what=what)
        if parts is not None:
            return self.schema(parts[0][0], what=what)
        return pq.read_schema(self._checked(digest, what))

    def exists(self, digest: str) -> bool:
        """Whether object ``digest`` exists."""
        return self.path(digest).exists()

    def digests(self) -> Iterator[str]:
        """Every stored object's hash."""
        if not self.root.exists():
            return
        for path in self.root.glob("??/*.parquet"):
            yield path.stem

    def list(self) -> builtins.list[str]:
        """Every stored object's hash, as a list."""
        return builtins.list(self.digests())

    def gc(
        self,
        referenced: Callable[[], set[str]] | Iterable[str],
        *,
        grace_s: float = DEFAULT_GRACE_S,
    ) -> builtins.list[str]:
        """Delete objects nobody refers to or is writing, and stale temporary files.

        Parameters
        ----------
        referenced : callable or iterable of str
            The hashes the metadata refers to; a callable is asked after the files
            were listed and the leases read (so a write that commits meanwhile is
            seen either as leased or as referenced), and again before deleting.
        grace_s : float
            Only files older than this many seconds (by mtime) are deleted.

        Returns
        -------
        list of str
            The deleted objects' hashes (temporary files are not listed).
        """
        if callable(referenced):
            refs = referenced
        else:
            fixed = set(referenced)
            refs = lambda: fixed  # noqa: E731
        self._restore_stranded()
        cutoff = time.time() - grace_s
        objects = _mtimes(self.root.glob("??/*.parquet"), lambda p: p.stem)
        temps = _mtimes((self.root / "tmp").glob(".tmp-*"), lambda p: p.name)
        leased, tokens = self._leased()
        keep = leased | refs()
        doomed = [d for d, mtime in objects.items() if d not in keep and mtime <= cutoff]
        removed = self._remove(doomed, refs)
        for name, mtime in temps.items():
            token = name.removeprefix(".tmp-").removesuffix(".parquet")
            if token not in tokens and mtime <= cutoff:
                (self.root / "tmp" / name).unlink(missing_ok=True)
        if self.leases is not None:
            self.leases.purge()
        return removed

    def _leased(self) -> tuple[set[str], set[str]]:
        """The hashes and temporary-file tokens of the leases in force."""
        if self.leases is None:
            return set(), set()
        live = self.leases.live()
        return {lease.digest for lease in live}, {lease.token for lease in live}

    def _remove(
        self, doomed: builtins.list[str], refs: Callable[[], set[str]]
    ) -> builtins.list[str]:
        """Move the doomed aside, look again, delete those still unwanted, restore the rest."""
        aside: dict[str, Path] = {}
        for digest in doomed:
            moved = self.root / "tmp" / f".gc-{os.getpid()}-{digest}.parquet"
            moved.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(self.path(digest), moved)
            except FileNotFoundError:
                continue
            aside[digest] = moved
        leased, _ = self._leased()
        keep = leased | refs()
        removed = []
        for digest, moved in aside.items():
            if digest in keep:  # a writer took it meanwhile: put it back
                self._put_back(moved, digest)
            else:
                moved.unlink(missing_ok=True)
                removed.append(digest)
        return sorted(removed)

    def _put_back(self, moved: Path, digest: str) -> None:
        if self.path(digest).exists():  # the writer published its own copy
            moved.unlink(missing_ok=True)
        else:
            os.replace(moved, self.path(digest))

    def _restore_stranded(self) -> None:
        """Objects a killed gc had moved aside go back (the next check decides on them)."""
        for moved in (self.root / "tmp").glob(".gc-*-*.parquet"):
            pid, _, digest = moved.stem.removeprefix(".gc-").partition("-")
            if (
                pid.isdigit()
                and int(pid) != os.getpid()
                and holder_alive(f"{socket.gethostname()}:{pid}:")
            ):
                continue  # another gc is running
            with contextlib.suppress(FileNotFoundError):
                self._put_back(moved, digest)

    def file_hash(self, path: Path, *, sync: bool = False) -> str:
        """SHA-256 of a file, read in chunks; ``sync`` also flushes it to disk first."""
        sha = hashlib.sha256()
        with open(path, "rb") as fh:
            if sync:
                os.fsync(fh.fileno())
            while chunk := fh.read(_HASH_CHUNK):
                sha.update(chunk)
        return sha.hexdigest()


def read_parquet(path: Path, columns: builtins.list[str] | None) -> pa.Table:
    """An object's file (or some of its columns) as a table (see :data:`MEMORY_MAP`)."""
    return pq.read_table(path, columns=columns, memory_map=MEMORY_MAP)


def manifest_table(parts: Iterable[tuple[str, int]]) -> pa.Table:
    """The manifest of an object split into parts: each part's hash and rows, in order.

    Parameters
    ----------
    parts : iterable of (str, int)
        ``(hash, number of rows)`` of each part.

    Returns
    -------
    pyarrow.Table
        Columns ``digest`` and ``rows`` (one row per part), marked by
        :data:`MANIFEST_KEY` in its schema metadata.
    """
    listed = list(parts)
    table = pa.table(
        {
            "digest": pa.array([d for d, _ in listed], pa.string()),
            "rows": pa.array([n for _, n in listed], pa.int64()),
        }
    )
    return table.replace_schema_metadata({MANIFEST_KEY: b"1"})


def is_object_url(objects: str | os.PathLike[str]) -> bool:
    """Whether ``objects`` names an fsspec URL (``s3://``, ``file://``...) not a folder."""
    return "://" in os.fspath(objects)


def open_object_store(
    objects: str | os.PathLike[str],
    leases: LeaseBook | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ObjectStore:
    """The object store for a folder or an fsspec URL.

    Parameters
    ----------
    objects : str or path
        A folder (objects renamed into place on local disk), or a URL such as
        ``s3://bucket/prefix``, ``gs://...``, ``az://...``, ``file:///...`` (objects
        through fsspec, with a local read cache).
    leases : LeaseBook, optional
        Where writes take leases.
    cache_dir : path, optional
        The read cache of a URL store (default: ``~/.cache/assay/objects/<url hash>``).
    """
    if not is_object_url(objects):
        return ObjectStore(objects, leases)
    from assay.store._fsspec_objects import FsspecObjectStore

    url = os.fspath(objects)
    if cache_dir is None:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        tag = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
        cache_dir = base / "assay" / "objects" / tag
    return FsspecObjectStore(url, leases, cache_dir=cache_dir)
