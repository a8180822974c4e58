"""Atomic writes: a process killed mid-import leaves the previous state intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assay.store.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file
from _concurrency import labelled_parquet  # noqa: E402

EXE = str(Path(sys.executable).with_name("assay"))


def _objects(ws_path: Path) -> set[str]:
    return {p.stem for p in (ws_path / ".assay" / "objects").glob("??/*.parquet")}


def _import(ws_path: Path, source: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [EXE, "import", "big", str(source), "--label", "y", "-w", str(ws_path)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_between_object_and_commit(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    source = labelled_parquet(tmp_path / "a.parquet", 2000, seed=0)
    ws.import_dataset("big", source, label="y")
    before = _objects(tmp_path / "ws")
    changed = labelled_parquet(tmp_path / "b.parquet", 2000, seed=1)
    proc = _import(tmp_path / "ws", changed, {"ASSAY_FAULT_SLEEP": "before_commit:60"})
    deadline = time.monotonic() + 60
    while _objects(tmp_path / "ws") == before:
        assert proc.poll() is None and time.monotonic() < deadline, "import ended before its object"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    orphans = _objects(tmp_path / "ws") - before
    assert len(orphans) == 1
    assert [v.ref for v in ws.log("big")] == ["big@v1"]  # no half version visible
    assert ws.gc(grace_s=0) == list(orphans)  # the dead writer's lease is void
    assert _objects(tmp_path / "ws") == before
    assert ws.import_dataset("big", changed, label="y").ref == "big@v2"


@pytest.mark.slow
def test_kill_at_random_moments_keeps_invariants(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    source = labelled_parquet(tmp_path / "a.parquet", 300_000, seed=2)
    rng = np.random.default_rng(0)
    for delay in rng.uniform(0.3, 2.5, size=4):
        proc = _import(tmp_path / "ws", source, {})
        time.sleep(float(delay))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for version in ws.log("big") if ws.datasets() else []:
            assert version.to_arrow().num_rows == 300_000  # every visible version is whole
        ws.gc(grace_s=0)
        referenced = ws.referenced_objects()
        assert _objects(tmp_path / "ws") == referenced
        assert not list((tmp_path / "ws" / ".assay" / "objects" / "tmp").glob(".tmp-*"))
