"""Review decisions as immutable facts, and one apply at a time per dataset."""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from assay import ConflictError, InputError
from assay.store import models as m
from assay.store.workspace import Workspace


@pytest.fixture
def queued(workspace: Workspace) -> Workspace:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=12), "y": np.arange(12) % 4})
    workspace.import_dataset("d", frame, label="y")
    entries = pd.DataFrame({"item_id": [0, 1, 2], "score": [0.1, 0.2, 0.3], "reason": "odd"})
    assert workspace.review.add("d", entries, source="label_issue") == 3
    return workspace


def _ids(ws: Workspace) -> dict[str, int]:
    listed = ws.review.list("d", status=None)
    return dict(zip(listed["item_id"], listed["id"].astype(int), strict=True))


def _lock_name(ws: Workspace) -> str:
    with ws.session() as s:
        return f"apply:{ws._dataset_row(s, 'd').id}"


def test_every_decision_and_undo_is_a_row(queued: Workspace) -> None:
    entry = _ids(queued)["0"]
    queued.review.decide(entry, "relabel", label="3", note="a three", user="ann")
    queued.review.undo(entry, user="bob")
    record = queued.review.decide(entry, "relabel", label="1", user="cid")
    with queued.session() as s:
        rows = s.scalars(
            select(m.ReviewDecision).where(m.ReviewDecision.entry_id == entry)
            .order_by(m.ReviewDecision.id)
        ).all()
        item = s.get(m.ReviewItem, entry)
        assert item is not None and item.decision_id == rows[-1].id
    assert [(r.action, r.actor) for r in rows] == [
        ("relabel", "ann"), ("undo", "bob"), ("relabel", "cid")
    ]
    assert record["decision_id"] == rows[-1].id and record["decision_label"] == 1
    undone = queued.review.undo(entry, user="cid")
    assert undone["decision_id"] is None and undone["status"] == "open"
    history = queued.review.history(entry)
    assert [h["action"] for h in history] == ["relabel", "undo", "relabel", "undo"]
    assert history[0]["label"] == 3 and history[0]["note"] == "a three"
    assert history[0]["actor"] == "ann" and history[0]["at"] is not None


def test_apply_records_the_decisions_it_applied(queued: Workspace) -> None:
    ids = _ids(queued)
    queued.review.decide(ids["0"], "relabel", label="3", user="ann")
    queued.review.decide(ids["1"], "remove", user="ann")
    version = queued.review.apply("d", user="ann")
    applied = [queued.review.history(ids[k])[-1] for k in ("0", "1")]
    assert version.provenance["review_decisions"] == [a["id"] for a in applied]
    assert [a["applied_to"] for a in applied] == ["d@v2", "d@v2"]
    with pytest.raises(ConflictError, match="is applied; only a decided entry"):
        queued.review.undo(ids["0"], user="ann")
    with queued.session() as s:  # the lock is released
        assert s.scalars(select(m.Lock)).all() == []


#: A lock held by a process on another machine: only its expiry can end it.
ELSEWHERE = "elsewhere:41:bob ab12"


def test_a_held_lock_refuses_with_its_holder(queued: Workspace) -> None:
    queued.review.decide(_ids(queued)["0"], "remove", user="ann")
    now = m.utcnow()
    with queued.session() as s:
        s.add(m.Lock(name=_lock_name(queued), holder=ELSEWHERE, acquired_at=now,
                     expires_at=now + timedelta(minutes=5)))
    with pytest.raises(
        ConflictError, match=r"already being applied by bob \(pid 41 on elsewhere\) since"
    ):
        queued.review.apply("d", user="ann")
    assert [v.ref for v in queued.log("d")] == ["d@v1"]
    with queued.session() as s:  # the holder's lock is left alone
        assert s.scalars(select(m.Lock.holder)).all() == [ELSEWHERE]


def test_an_expired_lock_is_taken_over(queued: Workspace) -> None:
    queued.review.decide(_ids(queued)["0"], "remove", user="ann")
    then = m.utcnow() - timedelta(hours=2)
    with queued.session() as s:  # a killed apply left its lock behind
        s.add(m.Lock(name=_lock_name(queued), holder=ELSEWHERE, acquired_at=then,
                     expires_at=then + timedelta(minutes=30)))
    assert queued.review.apply("d", user="ann").ref == "d@v2"
    with queued.session() as s:
        assert s.scalars(select(m.Lock)).all() == []


def test_parallel_applies_make_one_version(queued: Workspace) -> None:
    ids = _ids(queued)
    queued.review.decide(ids["0"], "relabel", label="2", user="ann")
    queued.review.decide(ids["2"], "keep", user="ann")
    outcomes: list[str] = []

    def apply() -> None:
        try:
            outcomes.append(queued.review.apply("d", user="ann").ref)
        except ConflictError as exc:
            outcomes.append("conflict" if "already being applied" in str(exc) else str(exc))
        except InputError as exc:
            outcomes.append("nothing" if "no decided review entries" in str(exc) else str(exc))

    threads = [threading.Thread(target=apply) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("d@v2") == 1
    assert sorted(set(outcomes) - {"d@v2"}) <= ["conflict", "nothing"], outcomes
    assert [v.ref for v in queued.log("d")] == ["d@v2", "d@v1"]
