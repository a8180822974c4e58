"""Hash a file while another call writes it, so a download and its check overlap.

A cold read from object storage downloads an object, then reads it back to check its
SHA-256; at ~1 GB/s the second pass is a sixth of the whole read of a 144 MB object.
Here a thread follows the file as the download writes it (the bytes are still in the
page cache) and the hash is ready about when the download ends.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

_CHUNK = 1 << 22
_POLL_S = 0.002


class _Follower(threading.Thread):
    """Reads ``path`` from the start as it grows, until told the writer is done."""

    def __init__(self, path: Path, done: threading.Event) -> None:
        super().__init__(name="assay-tail-hash", daemon=True)
        self.path, self.done = path, done
        self.sha = hashlib.sha256()
        self.read = 0
        self.inode: tuple[int, int] | None = None

    def run(self) -> None:
        handle = self._open()
        if handle is None:
            return
        with handle:
            stat = os.fstat(handle.fileno())
            self.inode = (stat.st_dev, stat.st_ino)
            while True:
                finished = self.done.is_set()  # before the read: no byte can be missed
                chunk = handle.read(_CHUNK)
                if chunk:
                    self.sha.update(chunk)
                    self.read += len(chunk)
                elif finished:
                    return
                else:
                    self.done.wait(_POLL_S)

    def _open(self):  # type: ignore[no-untyped-def]
        while True:
            finished = self.done.is_set()
            try:
                return open(self.path, "rb")  # noqa: SIM115 - closed in run()
            except FileNotFoundError:
                if finished:
                    return None
                self.done.wait(_POLL_S)


def hash_while_writing(path: Path, write: Callable[[], None]) -> str | None:
    """Run ``write()`` (which creates and fills ``path``) and hash ``path`` meanwhile.

    Parameters
    ----------
    path : Path
        The file ``write`` writes; it must not exist before.
    write : callable
        Writes the whole file; its exceptions propagate (after the follower stops).

    Returns
    -------
    str or None
        The file's SHA-256 (hex), or None when the followed bytes may not be the final
        file (the writer replaced the file, or its size differs from what was read):
        hash the file again then.
    """
    done = threading.Event()
    follower = _Follower(path, done)
    follower.start()
    try:
        write()
    finally:
        done.set()
        follower.join()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    if follower.inode != (stat.st_dev, stat.st_ino) or follower.read != stat.st_size:
        return None
    return follower.sha.hexdigest()
