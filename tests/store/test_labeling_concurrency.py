"""20 labelers on one labeling plan at once: no item labeled twice by one labeler, no
label lost (SQLite and PostgreSQL; each labeler its own connection pool)."""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import ConflictError
from assay.store import models as m
from assay.store.workspace import Workspace
from assay.workflows import labeling as lab

N_LABELERS = 20
N_ITEMS = 300


def _labeler(url: str, who: str, acked: list[tuple[str, str]], errors: list[str]) -> None:
    """Label the queue to its end; a conflict (the other tab won) moves on."""
    ws = Workspace(url)
    try:
        while (task := lab.next_item(ws, "d", who)) is not None:
            try:
                saved = lab.submit_label(ws, "d", who, task.item_id, ["a", "b"][len(who) % 2])
            except ConflictError:
                continue  # the same labeler's other tab labeled it first
            acked.append((saved.item_id, saved.labeler))
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(f"{who}: {type(exc).__name__}: {exc}")
    finally:
        ws.close()


def test_twenty_labelers_lose_nothing_and_never_label_twice(workspace: Workspace) -> None:
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(N_ITEMS)]})
    workspace.import_dataset("d", frame)
    names = [f"l{i:02d}" for i in range(N_LABELERS)]
    plan = lab.plan_labeling(workspace, "d", labelers=names, overlap=0.5, actor="admin")
    acked: list[tuple[str, str]] = []
    errors: list[str] = []
    url = str(workspace.root)
    # every labeler in one tab; five of them in two tabs racing on the same queue
    runs = [*names, *names[:5]]
    threads = [threading.Thread(target=_labeler, args=(url, w, acked, errors)) for w in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:3]
    assert all(not t.is_alive() for t in threads)
    total = sum(plan.assignments.values())
    assert total == N_ITEMS + N_ITEMS // 2
    assert len(acked) == total and len(set(acked)) == total  # each acknowledged once
    with workspace.session(readonly=True) as s:
        rows = s.execute(select(m.LabelingLabel.item_id, m.LabelingLabel.labeler)).all()
        logged = s.scalar(
            select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "label.submit")
        )
        still_open = s.scalar(
            select(func.count())
            .select_from(m.LabelingAssignment)
            .where(m.LabelingAssignment.status == "open")
        )
    stored = Counter((r[0], r[1]) for r in rows)
    assert len(rows) == total and max(stored.values()) == 1  # no item twice per labeler
    assert set(stored) == set(acked)  # no acknowledged label lost
    assert logged == total and still_open == 0
    status = lab.labeling_status(workspace, "d")
    assert status.sample_complete == status.sample_items == N_ITEMS // 2
    assert sum(p.done for p in status.labelers) == total


@pytest.mark.parametrize("tabs", [8])
def test_one_labeler_many_tabs_one_item(workspace: Workspace, tabs: int) -> None:
    """Tabs submitting the first label of one item at once: exactly one wins."""
    workspace.import_dataset("d", pd.DataFrame({"x": np.arange(4)}))
    lab.plan_labeling(workspace, "d", labelers=["ann"], per_item=1, overlap=0.0, actor="a")
    task = lab.next_item(workspace, "d", "ann")
    assert task is not None
    barrier = threading.Barrier(tabs)
    outcomes: list[str] = []

    def tab() -> None:
        ws = Workspace(workspace.root)
        try:
            barrier.wait()
            lab.submit_label(ws, "d", "ann", task.item_id, "a")
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")
        finally:
            ws.close()

    threads = [threading.Thread(target=tab) for _ in range(tabs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["conflict"] * (tabs - 1) + ["ok"]
    with workspace.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(m.LabelingLabel)) == 1
