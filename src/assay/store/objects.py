"""Content-addressed, immutable Parquet objects.

An object is a Parquet file named by the SHA-256 of its bytes, under
``<root>/<first two hex digits>/<hash>.parquet``. Writes go to a temporary file in the
same folder and are renamed into place, so a reader never sees a half-written object
and a killed writer leaves only a ``.tmp-*`` file that :meth:`ObjectStore.gc` removes.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assay.exceptions import NotFoundError, StoreError

__all__ = ["ObjectStore"]

_HASH_CHUNK = 1 << 22


class ObjectStore:
    """Immutable Parquet objects in a folder, addressed by content hash.

    Parameters
    ----------
    root : path
        The folder that holds the objects; created on first write.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        """The file of object ``digest``."""
        return self.root / digest[:2] / f"{digest}.parquet"

    def put_table(self, table: pa.Table) -> str:
        """Write ``table`` as an object and return its hash (idempotent)."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f".tmp-{os.getpid()}-{time.monotonic_ns()}.parquet"
        try:
            pq.write_table(table, tmp, compression="zstd", row_group_size=512_000)
            digest = self.file_hash(tmp, sync=True)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink()
        else:
            os.replace(tmp, final)
        return digest

    def get_table(self, digest: str, columns: list[str] | None = None) -> pa.Table:
        """Read object ``digest`` (optionally only some columns)."""
        path = self.path(digest)
        if not path.exists():
            raise NotFoundError(
                f"object {digest} is missing from {self.root}; the workspace is damaged "
                "(restore the objects folder from a backup)."
            )
        try:
            return pq.read_table(path, columns=columns)
        except (OSError, pa.ArrowInvalid) as exc:
            raise StoreError(f"object {path} cannot be read ({exc}); it may be corrupt.") from exc

    def schema(self, digest: str) -> pa.Schema:
        """The column names and types of object ``digest`` (reads only the footer)."""
        path = self.path(digest)
        if not path.exists():
            raise NotFoundError(
                f"object {digest} is missing from {self.root}; the workspace is damaged "
                "(restore the objects folder from a backup)."
            )
        return pq.read_schema(path)

    def exists(self, digest: str) -> bool:
        """Whether object ``digest`` exists."""
        return self.path(digest).exists()

    def digests(self) -> Iterator[str]:
        """Every stored object's hash."""
        if not self.root.exists():
            return
        for path in self.root.glob("??/*.parquet"):
            yield path.stem

    def gc(self, keep: Iterable[str], *, grace_s: float = 0.0) -> list[str]:
        """Delete objects not in ``keep`` and stale temporary files.

        Parameters
        ----------
        keep : iterable of str
            Hashes still referenced by the metadata.
        grace_s : float
            Only files older than this many seconds are deleted, so that an import
            running concurrently (object written, SQL not yet committed) is safe.

        Returns
        -------
        list of str
            The deleted objects' hashes (temporary files are not listed).
        """
        keep_set = set(keep)
        cutoff = time.time() - grace_s
        removed = []
        for digest in list(self.digests()):
            path = self.path(digest)
            if digest not in keep_set and path.stat().st_mtime <= cutoff:
                path.unlink(missing_ok=True)
                removed.append(digest)
        for tmp in (self.root / "tmp").glob(".tmp-*"):
            if tmp.stat().st_mtime <= cutoff:
                tmp.unlink(missing_ok=True)
        return removed

    def file_hash(self, path: Path, *, sync: bool = False) -> str:
        """SHA-256 of a file, read in chunks; ``sync`` also flushes it to disk first."""
        sha = hashlib.sha256()
        with open(path, "rb") as fh:
            if sync:
                os.fsync(fh.fileno())
            while chunk := fh.read(_HASH_CHUNK):
                sha.update(chunk)
        return sha.hexdigest()
