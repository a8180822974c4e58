"""The cold read's overlapped hash: the follower's hash is the file's, or None when the
bytes it followed may not be the final file (then the caller hashes again)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest

from assay.store._tail_hash import hash_while_writing


def _chunks(seed: int, n: int = 40, size: int = 300_000) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(n)]


def test_a_file_written_slowly_in_pieces_hashes_as_a_whole(tmp_path: Path) -> None:
    chunks = _chunks(0)
    path = tmp_path / "object.parquet"

    def write() -> None:
        time.sleep(0.01)  # the follower starts before the file exists
        with open(path, "wb") as fh:
            for i, chunk in enumerate(chunks):
                fh.write(chunk)
                fh.flush()
                if i % 7 == 0:
                    time.sleep(0.003)  # the follower catches up and waits

    digest = hash_while_writing(path, write)
    assert digest == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_replaced_by_a_rename_is_not_vouched_for(tmp_path: Path) -> None:
    path, staged = tmp_path / "object.parquet", tmp_path / "staged"
    first, second = _chunks(1, n=3), _chunks(2, n=3)

    def write() -> None:
        path.write_bytes(b"".join(first))
        time.sleep(0.05)
        staged.write_bytes(b"".join(second))
        os.replace(staged, path)  # the follower holds the first file's inode

    assert hash_while_writing(path, write) is None


def test_a_file_cut_short_and_rewritten_is_not_vouched_for(tmp_path: Path) -> None:
    path = tmp_path / "object.parquet"
    long, short = b"".join(_chunks(3, n=4)), b"short"

    def write() -> None:
        path.write_bytes(long)
        time.sleep(0.2)  # the follower has read the long file
        path.write_bytes(short)  # same inode, truncated: the follower read more

    assert hash_while_writing(path, write) is None


def test_a_failing_writer_raises_and_stops_the_follower(tmp_path: Path) -> None:
    path = tmp_path / "never.parquet"

    def write() -> None:
        raise ConnectionError("the network went away")

    with pytest.raises(ConnectionError, match="went away"):
        hash_while_writing(path, write)
    assert hash_while_writing(tmp_path / "also-never", lambda: None) is None
