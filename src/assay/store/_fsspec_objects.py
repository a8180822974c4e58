"""Content-addressed objects on any fsspec URL (``s3://``, ``gs://``, ``az://``, ``file://``).

The same store as :class:`~assay.store.objects.ObjectStore` (leases, gc with a grace
period, hash verification on read), with the objects under a URL and a bounded local
read cache by content hash.

**Why a direct put is safe (no write-then-rename).** An object store has no atomic
rename, but it needs none here: a PUT is atomic on S3, GCS and Azure (a reader sees
the whole object or none, never a prefix; on ``file://``, where a copy is not atomic,
the file is staged under ``tmp/`` and renamed into place), and the key *is* the SHA-256 of the bytes,
so two writers putting the same key put the same bytes, and a repeated put is
idempotent. A writer therefore writes the Parquet file locally, hashes it, binds its
lease to the hash and only then puts ``<prefix>/<2 hex>/<hash>.parquet``; there are
no temporary keys to leak. With a lease book, a writer whose key already exists skips
the upload: its lease was bound before it looked, so a gc either sees the lease or had
already deleted the key (the writer then uploads it again).

**gc without rename.** gc "moves aside" a doomed object by copying it to
``<prefix>/tmp/.gc-HOLDER-<hash>.parquet`` and deleting the key, reads leases and
references once more, and copies back any object a writer took meanwhile. A writer's
upload that lands between the copy and the delete is restored by that second look
(its lease was bound before the upload); one that lands after the second look is never
touched. Copies left by a killed gc go back on the next gc (after the lease TTL when
the gc ran on another machine).

**Reads go through a local cache.** A read downloads the object into a local folder
(``<hash>.parquet``, by content, so it never goes stale), checks its hash there, and
later reads in this process reuse it without the network; the cache is bounded (least
recently read files go first). Credentials come from each backend's usual environment
and configuration (``AWS_*``/``~/.aws``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_*``, ``FSSPEC_*``); they are never stored in the workspace.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import inspect
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from assay.exceptions import InputError, NotFoundError, StoreError
from assay.store._process import holder_alive, holder_id
from assay.store._tail_hash import hash_while_writing
from assay.store.objects import (
    _VERIFIED,
    DEFAULT_GRACE_S,
    LEASE_TTL_S,
    Lease,
    LeaseBook,
    ObjectStore,
    _fault,
    read_parquet,
)

__all__ = ["DEFAULT_CACHE_BYTES", "FsspecObjectStore", "ReadCache", "check_objects_url"]

#: The read cache's default bound (``ASSAY_OBJECT_CACHE_BYTES`` overrides it).
DEFAULT_CACHE_BYTES = 2 << 30
_OBJECT_KEY = re.compile(r"(?:^|/)[0-9a-f]{2}/([0-9a-f]{64})\.parquet$")
_ASIDE_KEY = re.compile(r"/tmp/\.gc-(.+)-([0-9a-f]{64})\.parquet$")


def check_objects_url(url: str) -> None:
    """Refuse an object URL that carries credentials (they belong in the environment).

    Raises
    ------
    InputError
        When the URL names a user or password (``s3://KEY:SECRET@bucket``).
    """
    if "@" in urlsplit(url).netloc:
        raise InputError(
            f"the object URL {url.split('@')[-1]} carries credentials; remove them and use "
            "the backend's usual environment or config (e.g. AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials for s3://)."
        )


#: The backend package of the usual object-store schemes, found without importing
#: fsspec (~0.1 s) or the backend; other schemes are looked up in fsspec's registry.
_BACKENDS = {
    "s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs",
    "abfs": "adlfs", "abfss": "adlfs", "file": "fsspec", "local": "fsspec",
}


def _backend_error(url: str, why: object) -> InputError:
    scheme = url.split("://", 1)[0]
    package = _BACKENDS.get(scheme)
    how = ("`pip install 'assay[s3]'`" if package == "s3fs"
           else f"`pip install {package}`" if package
           else "e.g. `pip install 'assay[s3]'` for s3://")
    return InputError(
        f"cannot open object URL {url}: {why}; install the fsspec backend for "
        f"{scheme}:// ({how})."
    )


def check_backend(url: str) -> None:
    """Refuse a URL whose fsspec backend is unknown or not installed, without importing
    it (s3fs takes ~0.3 s to import: a read served by the cache never needs it).

    Raises
    ------
    InputError
        Naming the package to install.
    """
    import importlib.util

    scheme = url.split("://", 1)[0] if "://" in url else "file"
    package = _BACKENDS.get(scheme)
    if package is not None:
        if importlib.util.find_spec(package) is None:
            raise _backend_error(url, f"{package} is not installed")
        return
    from fsspec.registry import known_implementations, registry

    if scheme in registry:
        return
    known = known_implementations.get(scheme)
    if known is None:
        raise _backend_error(url, f"Protocol not known: {scheme}")
    if importlib.util.find_spec(known["class"].split(".", 1)[0]) is None:
        raise _backend_error(url, known.get("err") or f"{known['class']} is not installed")


def _open_fs(url: str) -> tuple[Any, str]:
    """``(filesystem, root)`` for ``url`` (checked by :func:`check_objects_url`), with
    listings never cached across calls."""
    import fsspec

    local = url.startswith(("file://", "local://"))
    options: dict[str, Any] = {"auto_mkdir": True} if local else {"use_listings_cache": False}
    try:
        fs, root = fsspec.url_to_fs(url, **options)
    except (ImportError, ValueError) as exc:
        raise _backend_error(url, exc) from exc
    return fs, str(root).rstrip("/")


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _modified(info: dict[str, Any]) -> float:
    """A listing entry's modification time, as seconds since the epoch."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created", "mtime_ns"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        return float(value) / (1e9 if key == "mtime_ns" else 1.0)
    return 0.0  # unknown: treated as old (the leases and references still protect it)


def _get_options(fs: Any) -> dict[str, Any]:
    """Keyword arguments of ``fs.get_file`` for one object: one streamed GET on S3.

    s3fs splits a download larger than its block size (50 MiB) into concurrent range
    requests and holds each range's body in memory before writing it; one streamed
    request takes about a quarter of the client CPU and half the time on a fast link
    (a 144 MB object on loopback: 0.27-0.35 s against 0.7-1.2 s, with moto and with
    s3rver). Versions split into parts still download four parts at a time
    (:meth:`FsspecObjectStore._map_parts`). Other backends keep their defaults.
    """
    if "s3" not in _protocols(fs):
        return {}
    if "max_concurrency" not in inspect.signature(fs._get_file).parameters:
        return {}  # an s3fs whose get_file streams anyway (older than its range reads)
    return {"max_concurrency": 1}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


class ReadCache:
    """A local folder of verified objects by content hash, bounded in bytes.

    Parameters
    ----------
    root : path
        The folder (made on first use).
    max_bytes : int
        The bound; the least recently read files are removed past it (the newest file
        always stays, even when it alone is larger).
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path(self, digest: str) -> Path:
        """Where object ``digest`` is cached."""
        return self.root / digest[:2] / f"{digest}.parquet"

    def temp(self, token: str) -> Path:
        """A temporary file in the cache (same file system, so it can be renamed in)."""
        tmp = self.root / "tmp" / f".tmp-{token}.parquet"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        return tmp

    def add(self, tmp: Path, digest: str) -> Path:
        """Move ``tmp`` (already verified as ``digest``) into the cache and evict."""
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        self.evict(keep=final)
        return final

    def touch(self, path: Path) -> None:
        """Mark a cached file as just read (eviction goes by mtime)."""
        with contextlib.suppress(OSError):
            os.utime(path)

    def evict(self, keep: Path | None = None) -> int:
        """Remove the least recently read files past the bound; returns how many."""
        entries = []
        for path in self.root.glob("??/*.parquet"):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def drop(self, digests: Iterable[str]) -> None:
        """Forget cached copies (of objects gc removed)."""
        for digest in digests:
            self.path(digest).unlink(missing_ok=True)


class FsspecObjectStore(ObjectStore):
    """Immutable Parquet objects under an fsspec URL, with a local read cache.

    Parameters
    ----------
    url : str
        Where the objects live, e.g. ``s3://bucket/prefix`` (the bucket must exist).
    leases : LeaseBook, optional
        Where writes take leases (the workspace database).
    cache_dir : path
        The local read cache (``ASSAY_OBJECT_CACHE`` overrides it).
    cache_bytes : int, optional
        The cache's bound (default ``ASSAY_OBJECT_CACHE_BYTES`` or 2 GiB).

    Notes
    -----
    :attr:`root` and :meth:`path` name the local cache (its folder, an object's cached
    file); :attr:`url` names the store.
    """

    def __init__(
        self,
        url: str,
        leases: LeaseBook | None = None,
        *,
        cache_dir: str | os.PathLike[str],
        cache_bytes: int | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        check_objects_url(self.url)
        check_backend(self.url)  # the filesystem itself opens on first use
        bound = cache_bytes or int(
            os.environ.get("ASSAY_OBJECT_CACHE_BYTES") or DEFAULT_CACHE_BYTES
        )
        self.cache = ReadCache(os.environ.get("ASSAY_OBJECT_CACHE") or cache_dir, bound)
        super().__init__(self.cache.root, leases)

    @functools.cached_property
    def _opened(self) -> tuple[Any, str]:
        return _open_fs(self.url)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem of :attr:`url`, opened on first use."""
        return self._opened[0]

    @property
    def prefix(self) -> str:
        """The store's root in :attr:`fs` (``bucket/path``)."""
        return self._opened[1]

    @functools.cached_property
    def local(self) -> bool:
        """Whether the store is a local folder (``file://``)."""
        return "file" in _protocols(self.fs)

    @functools.cached_property
    def get_options(self) -> dict[str, Any]:
        """Keyword arguments of ``fs.get_file`` (see :func:`_get_options`)."""
        return _get_options(self.fs)

    def key(self, digest: str) -> str:
        """The object's key in the store (without the scheme)."""
        return f"{self.prefix}/{digest[:2]}/{digest}.parquet"

    def probe(self) -> None:
        """Write and delete a small key, to check the bucket, credentials and permissions.

        Raises
        ------
        InputError
            When the store cannot be written, with the backend's reason.
        """
        key = f"{self.prefix}/tmp/.probe-{uuid.uuid4().hex}"
        try:
            with self.fs.open(key, "wb") as fh:
                fh.write(b"assay")
            self.fs.rm(key)
        except Exception as exc:  # noqa: BLE001 - every backend has its own errors
            raise InputError(
                f"cannot write objects to {self.url}: {_reason(exc)}; create the bucket "
                "or fix the credentials (environment or config)."
            ) from exc

    # -- writing -------------------------------------------------------------------

    def _write(self, table: pa.Table, lease: Lease | None) -> str:
        token = lease.token if lease is not None else uuid.uuid4().hex
        tmp = self.cache.temp(token)
        try:
            _fault("object_write")
            pq.write_table(table, tmp, compression="zstd", row_group_size=512_000)
            digest = self.file_hash(tmp)
            if lease is not None and self.leases is not None:
                self.leases.bind(lease, digest)  # leased before it becomes visible
            self._upload(tmp, digest, skip_existing=self.leases is not None)
            _VERIFIED.add(self._cache_key(self.cache.add(tmp, digest)))
        except OSError as exc:
            raise self._disk_error(exc) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return digest

    def _upload(self, tmp: Path, digest: str, *, skip_existing: bool) -> None:
        """Put ``tmp`` at the object's key (one atomic put; idempotent by content)."""
        key = self.key(digest)
        try:
            if skip_existing and self.fs.exists(key):
                return
            if not self.local:
                self.fs.put_file(str(tmp), key)  # one PUT: atomic on object stores
                return
            staged = f"{self.prefix}/tmp/.put-{uuid.uuid4().hex}.parquet"
            self.fs.put_file(str(tmp), staged)  # a copy is not atomic on a disk:
            self.fs.mv(staged, key)  # stage it and rename it into place
        except Exception as exc:  # noqa: BLE001 - backend errors, said in one line
            raise StoreError(
                f"cannot write row data to {self.url}: {_reason(exc)}; nothing was written "
                "(check the bucket, the credentials and the network, then run the "
                "command again)."
            ) from exc

    # -- reading -------------------------------------------------------------------

    @staticmethod
    def _cache_key(path: Path) -> tuple[str, int, int]:
        stat = path.stat()
        return (str(path), stat.st_mtime_ns, stat.st_size)

    def _checked(self, digest: str, what: str | None) -> Path:
        """The object's cached file: downloaded and verified on a miss."""
        path = self.cache.path(digest)
        try:
            if self._cache_key(path) in _VERIFIED or self.file_hash(path) == digest:
                self.cache.touch(path)
                _VERIFIED.add(self._cache_key(path))
                return path
            path.unlink(missing_ok=True)  # a damaged cached copy: fetch it again
        except FileNotFoundError:
            pass
        return self._download(digest, what)

    def fetch(self, digest: str, path: str | os.PathLike[str]) -> None:
        """Download object ``digest`` into the file ``path`` as stored, unverified (reads
        go through :meth:`get_table`, which checks the hash)."""
        self.fs.get_file(self.key(digest), os.fspath(path), **self.get_options)

    def _download(self, digest: str, what: str | None) -> Path:
        owner = f"object {digest} of {what}" if what else f"object {digest}"
        tmp = self.cache.temp(uuid.uuid4().hex)
        try:
            followed = hash_while_writing(tmp, lambda: self.fetch(digest, tmp))
            if followed != digest and self.file_hash(tmp) != digest:
                raise StoreError(
                    f"{owner} does not match its hash; the workspace is damaged "
                    f"(restore {self.url} from a backup)."
                )
            path = self.cache.add(tmp, digest)
        except FileNotFoundError:
            raise NotFoundError(
                f"{owner} is missing from {self.url}; the workspace is damaged "
                f"(restore {self.url} from a backup)."
            ) from None
        except (StoreError, NotFoundError):
            raise
        except Exception as exc:  # noqa: BLE001 - backend errors, said in one line
            raise StoreError(
                f"{owner} cannot be read from {self.url}: {_reason(exc)} (check the "
                "credentials and the network)."
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
        _VERIFIED.add(self._cache_key(path))
        return path

    def _map_parts(
        self, read: Callable[[str], pa.Table], parts: builtins.list[tuple[str, int]]
    ) -> builtins.list[pa.Table]:
        """Read the parts of an object four at a time (downloads overlap), in order."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(4, len(parts)) or 1) as pool:
            return builtins.list(pool.map(read, [digest for digest, _ in parts]))

    def _read_object(
        self, digest: str, columns: builtins.list[str] | None, what: str | None
    ) -> pa.Table:
        """Read object ``digest`` via the cache (optionally some columns), checking its hash."""
        for attempt in (0, 1):
            path = self._checked(digest, what)
            try:
                return read_parquet(path, columns)
            except FileNotFoundError:  # evicted by another process meanwhile
                if attempt:
                    raise
            except (OSError, pa.ArrowInvalid) as exc:
                raise StoreError(
                    f"object {digest} cannot be read ({exc}); it may be corrupt."
                ) from exc
        raise AssertionError("unreachable")

    def exists(self, digest: str) -> bool:
        """Whether object ``digest`` exists in the store."""
        return bool(self.fs.exists(self.key(digest)))

    def _listing(self) -> dict[str, float]:
        """``{hash: modified}`` of every stored object (one recursive listing)."""
        try:
            found = self.fs.find(self.prefix, detail=True)
        except FileNotFoundError:
            return {}
        objects = {}
        for name, info in found.items():
            match = _OBJECT_KEY.search(name)
            if match and not name.startswith(f"{self.prefix}/tmp/"):
                objects[match.group(1)] = _modified(info)
        return objects

    def digests(self) -> builtins.list[str]:  # type: ignore[override]
        """Every stored object's hash."""
        return sorted(self._listing())

    # -- gc ------------------------------------------------------------------------

    def gc(
        self,
        referenced: Callable[[], set[str]] | Iterable[str],
        *,
        grace_s: float = DEFAULT_GRACE_S,
    ) -> builtins.list[str]:
        """Delete objects nobody refers to or is writing (see the module notes).

        Parameters
        ----------
        referenced : callable or iterable of str
            The hashes the metadata refers to; a callable is asked after the listing
            and the leases were read, and again before deleting.
        grace_s : float
            Only objects older than this many seconds (by modification time) go.

        Returns
        -------
        list of str
            The deleted objects' hashes.
        """
        if callable(referenced):
            refs = referenced
        else:
            fixed = set(referenced)
            refs = lambda: fixed  # noqa: E731
        self._restore_stranded()
        cutoff = time.time() - grace_s
        objects = self._listing()
        leased, tokens = self._leased()
        keep = leased | refs()
        doomed = [d for d, mtime in objects.items() if d not in keep and mtime <= cutoff]
        removed = self._remove(doomed, refs)
        self.cache.drop(removed)
        self._sweep_local_temps(tokens, cutoff)
        if self.leases is not None:
            self.leases.purge()
        return removed

    def _aside(self, digest: str) -> str:
        return f"{self.prefix}/tmp/.gc-{holder_id('gc')}-{digest}.parquet"

    def _remove(
        self, doomed: builtins.list[str], refs: Callable[[], set[str]]
    ) -> builtins.list[str]:
        """Copy the doomed aside and delete them, look again, restore those now wanted."""
        aside: dict[str, str] = {}
        for digest in doomed:
            moved = self._aside(digest)
            try:
                self.fs.copy(self.key(digest), moved)
            except FileNotFoundError:
                continue
            self.fs.rm(self.key(digest))
            aside[digest] = moved
        leased, _ = self._leased()
        keep = leased | refs()
        removed = []
        for digest, moved in aside.items():
            if digest in keep:  # a writer took it meanwhile: put it back
                self._put_back_key(moved, digest)
            else:
                self.fs.rm(moved)
                removed.append(digest)
        return sorted(removed)

    def _put_back_key(self, moved: str, digest: str) -> None:
        if not self.fs.exists(self.key(digest)):
            self.fs.copy(moved, self.key(digest))
        self.fs.rm(moved)

    def _restore_stranded(self) -> None:
        """Copies a killed gc left aside go back (the next check decides on them)."""
        try:
            found = self.fs.find(f"{self.prefix}/tmp", detail=True)
        except FileNotFoundError:
            return
        now = time.time()
        for name, info in found.items():
            match = _ASIDE_KEY.search(name)
            if match is None:
                continue
            holder, digest = match.groups()
            stale = now - _modified(info) > LEASE_TTL_S
            if holder != holder_id("gc") and holder_alive(holder) and not stale:
                continue  # another gc is running
            with contextlib.suppress(FileNotFoundError):
                self._put_back_key(name, digest)

    def _sweep_local_temps(self, tokens: set[str], cutoff: float) -> None:
        for tmp in (self.cache.root / "tmp").glob(".tmp-*"):
            token = tmp.name.removeprefix(".tmp-").removesuffix(".parquet")
            with contextlib.suppress(FileNotFoundError):
                if token not in tokens and tmp.stat().st_mtime <= cutoff:
                    tmp.unlink()
