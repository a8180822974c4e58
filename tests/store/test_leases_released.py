"""Every writer of objects releases its gc lease in the transaction that refers to them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import func, select

from assay.store import models as m
from assay.store.workspace import Workspace


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["y"] = (frame["a"] > 0).astype(int)
    return frame


def _leases(ws: Workspace) -> int:
    with ws.session(readonly=True) as s:
        return int(s.scalar(select(func.count(m.ObjectLease.id))) or 0)


def test_versions_monitors_windows_and_analyses_release_their_leases(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.import_dataset("d", _frame(200, 0), label="y")
    ws.monitors.add("mon", "d@v1")
    ws.monitors.ingest("mon", _frame(100, 1).drop(columns="y"), source="batch")
    rows = pa.Table.from_pandas(_frame(5, 2), preserve_index=False)
    ws.record_analysis("note", {"ok": True}, dataset="d", table=rows)
    assert _leases(ws) == 0
    referenced = ws.referenced_objects()
    assert len(referenced) == 4  # version, profile, window, analysis table
    assert ws.gc(grace_s=0) == []
    assert all(ws.objects.exists(digest) for digest in referenced)

