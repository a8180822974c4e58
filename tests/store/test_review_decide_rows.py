"""A decision returns the entry as written, with and without UPDATE ... RETURNING."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from assay.store import models as m
from assay.store.workspace import Workspace


def _queue(ws: Workspace) -> list[int]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=6), "y": rng.integers(0, 3, size=6)})
    ws.import_dataset("d", frame, label="y")
    entries = pd.DataFrame(
        {"item_id": [0, 1, 2], "score": [0.1, 0.2, 0.3], "reason": "r",
         "given_label": frame.y[:3].tolist(), "suggested_label": [2, 2, 2]}
    )
    ws.review.add("d", entries, source="label_issue")
    return [int(i) for i in ws.review.list("d")["id"]]


@pytest.mark.parametrize("returning", [True, False])
def test_decision_record_is_the_row_as_stored(workspace: Workspace, returning: bool) -> None:
    ids = _queue(workspace)
    dialect = workspace.engine.dialect
    saved = dialect.update_returning
    dialect.update_returning = returning and saved  # False: the read-back path (old SQLite)
    try:
        relabeled = workspace.review.decide(ids[0], "relabel", label=2, note="n", user="ann",
                                            revision=0)
        kept = workspace.review.decide(ids[1], "keep", user="bob")
    finally:
        dialect.update_returning = saved
    for entry_id, done in ((ids[0], relabeled), (ids[1], kept)):
        assert done == workspace.review.get(entry_id)
        assert done["status"] == "decided" and done["revision"] == 1
    assert relabeled["decision_label"] == 2 and relabeled["decided_by"] == "ann"
    history = workspace.review.history(ids[0])
    assert [h["id"] for h in history] == [relabeled["decision_id"]]
    with workspace.session(readonly=True) as s:
        logged = s.scalars(select(m.AuditLog.target).order_by(m.AuditLog.id)).all()
        at = s.scalar(select(m.AuditLog.at).where(m.AuditLog.target == f"review:{ids[1]}"))
    assert f"review:{ids[0]}" in logged and f"review:{ids[1]}" in logged
    assert at is not None
