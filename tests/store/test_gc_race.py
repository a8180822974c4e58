"""gc beside running writes: an object being written is never deleted (real processes)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from assay.store.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file
from _concurrency import labelled_parquet  # noqa: E402

_table = functools.partial(labelled_parquet, n_features=6, n_classes=4)

EXE = str(Path(sys.executable).with_name("assay"))


def _objects(ws: Workspace) -> set[str]:
    return set(ws.objects.digests())


def _import(ws: Workspace, name: str, source: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [EXE, "import", name, str(source), "--label", "y", "-w", str(ws.root)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_new_object(ws: Workspace, before: set[str], proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while not (_objects(ws) - before):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the import wrote no object"
        time.sleep(0.05)
    (new,) = _objects(ws) - before
    return new


def _gc(ws: Workspace, grace: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "gc", "--grace", grace, "-w", str(ws.root)], capture_output=True, text=True
    )


def test_gc_leaves_the_object_of_a_running_import(workspace: Workspace, tmp_path: Path) -> None:
    workspace.import_dataset("big", _table(tmp_path / "a.parquet", 3000, seed=0), label="y")
    before = _objects(workspace)
    proc = _import(
        workspace,
        "big",
        _table(tmp_path / "b.parquet", 3000, seed=1),
        ASSAY_FAULT_SLEEP="before_commit:4",
    )
    new = _wait_for_new_object(workspace, before, proc)
    done = _gc(workspace, "0")  # no grace: only the lease protects it
    assert done.returncode == 0, done.stderr
    assert workspace.objects.exists(new)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    v2 = workspace.dataset("big@v2")
    assert v2.object_hash == new and v2.to_arrow().num_rows == 3000
    assert workspace.gc(grace_s=0) == []  # referenced now; the lease went with the commit
    assert _leases(workspace) == 0


def _leases(ws: Workspace) -> int:
    from sqlalchemy import func, select

    from assay.store import models as m

    with ws.session(readonly=True) as s:
        return int(s.scalar(select(func.count(m.ObjectLease.id))) or 0)


def test_gc_loop_beside_concurrent_imports(workspace: Workspace, tmp_path: Path) -> None:
    sources = [_table(tmp_path / f"s{i}.parquet", 20_000, seed=10 + i) for i in range(6)]
    procs = [_import(workspace, f"d{i}", src) for i, src in enumerate(sources)]
    sweeps = 0
    while any(p.poll() is None for p in procs) or sweeps == 0:
        workspace.gc(grace_s=0)
        sweeps += 1
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    for i in range(6):
        assert workspace.dataset(f"d{i}").to_arrow().num_rows == 20_000
    assert workspace.gc(grace_s=0) == []
    assert _objects(workspace) == workspace.referenced_objects()
    assert not list((workspace.objects.root / "tmp").glob(".*"))


def test_an_old_orphan_a_new_version_reuses_is_kept(workspace: Workspace, tmp_path: Path) -> None:
    source = _table(tmp_path / "a.parquet", 3000, seed=3)
    workspace.import_dataset("first", source, label="y")
    workspace.import_dataset("big", _table(tmp_path / "b.parquet", 50, seed=4), label="y")
    # the object "big" v2 will be: written once by an import that failed before its commit
    with_orphan = Workspace(workspace.root)
    try:
        table = workspace.dataset("first").to_arrow()
        with with_orphan.writing_object(table) as obj:
            orphan = obj.digest
    finally:
        with_orphan.close()
    two_hours_ago = time.time() - 7200
    os.utime(workspace.objects.path(orphan), (two_hours_ago, two_hours_ago))
    proc = _import(workspace, "big", source, ASSAY_FAULT_SLEEP="before_commit:4")
    time.sleep(0.2)
    deadline = time.monotonic() + 60
    while workspace.objects.path(orphan).stat().st_mtime < two_hours_ago + 10:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    assert _gc(workspace, "3600").returncode == 0  # the orphan was old: only the write saves it
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert workspace.dataset("big@v2").object_hash == orphan
    assert workspace.dataset("big@v2").to_arrow().num_rows == 3000


def test_default_grace_keeps_young_orphans(workspace: Workspace) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    workspace.import_dataset("small", frame, label="y")
    with workspace.writing_object(workspace.dataset("small").to_arrow().slice(0, 2)) as obj:
        orphan = obj.digest  # never referred to: released on exit
    assert workspace.gc() == []  # younger than the default grace (one hour)
    assert workspace.gc(grace_s=0) == [orphan]
