"""Each database and disk failure is named for what it is, with how to fix it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import StoreError
from assay.store.workspace import Workspace

EXE = str(Path(sys.executable).with_name("assay"))
UNREACHABLE = "cannot reach the database"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )


def _one_line_error(done: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert done.returncode == 2, done.stderr
    text = " ".join(done.stderr.split())  # the console wraps long lines
    assert text.startswith("error: ") and "Traceback" not in text, done.stderr
    assert UNREACHABLE not in text, text
    for part in parts:
        assert part in text, (part, text)


def _csv(path: Path, n: int = 20) -> Path:
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=n), "label": rng.integers(0, 2, size=n)}).to_csv(
        path, index=False
    )
    return path


@contextmanager
def _mounted(*args: str) -> Iterator[None]:
    """Run ``mount ARGS`` (as root), skip when this machine does not allow it."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a file system")
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", args[-1]], check=True)


def test_a_read_only_workspace(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", _csv(tmp_path / "a.csv"), label="label")
    ws.close()
    view = tmp_path / "ro"
    view.mkdir()
    with _mounted("--bind", str(tmp_path / "ws"), str(view)):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        for args in (("log", "d"), ("import", "d", str(tmp_path / "a.csv"))):
            _one_line_error(_run(*args, "-w", str(view)), "assay.db is read-only", "chmod u+w")


def test_a_damaged_database_file(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.close()
    db = tmp_path / "ws" / ".assay" / "assay.db"
    db.write_bytes(np.random.default_rng(1).bytes(8192))
    for extra in db.parent.glob("assay.db-*"):
        extra.unlink()
    _one_line_error(
        _run("log", "d", "-w", str(tmp_path / "ws")),
        "assay.db is damaged (file is not a database)",
        "restore .assay/assay.db from a backup",
    )
    with pytest.raises(StoreError, match="is damaged"):
        Workspace(tmp_path / "ws")


def _no_trace(root: Path) -> None:
    ws = Workspace(root)
    try:
        assert ws.datasets() == []
        assert ws.referenced_objects() == set()
        assert list(ws.objects.digests()) == []
        assert not list((root / ".assay" / "objects").rglob(".tmp-*"))
        from sqlalchemy import func, select

        from assay.store import models as m

        with ws.session(readonly=True) as s:
            assert not s.scalar(select(func.count(m.ObjectLease.id)))
    finally:
        ws.close()


def test_a_full_disk_during_import(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    source = tmp_path / "big.parquet"
    rng = np.random.default_rng(2)
    pd.DataFrame(rng.normal(size=(60_000, 8)), columns=list("abcdefgh")).assign(
        label=rng.integers(0, 3, size=60_000)
    ).to_parquet(source)  # ~4 MB of incompressible floats
    with _mounted("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)):
        Workspace.init(mnt / "ws").close()
        done = _run("import", "big", str(source), "-w", str(mnt / "ws"))
        _one_line_error(done, "the disk is full", "nothing was written")
        _no_trace(mnt / "ws")


def test_a_full_disk_by_the_fault_hook(tmp_path: Path) -> None:
    """The same without root: ``ASSAY_FAULT=object_write:ENOSPC`` fails the object write."""
    Workspace.init(tmp_path / "ws").close()
    done = _run(
        "import",
        "d",
        str(_csv(tmp_path / "a.csv")),
        "-w",
        str(tmp_path / "ws"),
        ASSAY_FAULT="object_write:ENOSPC",
    )
    _one_line_error(done, "cannot write row data to", "the disk is full", "nothing was written")
    _no_trace(tmp_path / "ws")


def test_an_unreachable_server_is_still_named_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"{UNREACHABLE} at postgresql.*Check that the server"):
        Workspace.init(tmp_path / "ws", db="postgresql+psycopg://assay@127.0.0.1:1/none")
