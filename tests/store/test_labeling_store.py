"""The labeling tables (migration 0005) on SQLite and PostgreSQL: constraints that keep
labels whole, provenance written with the version, an upgrade of an older workspace."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from assay import ConflictError
from assay.store import labeling_results as results
from assay.store import models as m
from assay.store.workspace import Workspace
from assay.workflows import labeling as lab

TABLES = {
    "labeling_progress",
    "labeling_projects",
    "labeling_assignments",
    "labeling_labels",
    "labeling_adjudications",
    "label_provenance",
}


@pytest.fixture
def planned(workspace: Workspace) -> Workspace:
    workspace.import_dataset("d", pd.DataFrame({"x": range(10)}))
    lab.plan_labeling(workspace, "d", labelers=["ann", "ben"], overlap=1.0, actor="admin")
    return workspace


def test_the_tables_exist_with_their_unique_constraints(workspace: Workspace) -> None:
    found = inspect(workspace.engine)
    assert set(found.get_table_names()) >= TABLES
    uniques = {c["name"] for c in found.get_unique_constraints("labeling_labels")}
    assert "uq_labeling_label" in uniques
    indexes = {i["name"] for i in found.get_indexes("labeling_assignments")}
    assert "ix_labeling_queue" in indexes


def test_the_database_refuses_a_second_label_by_one_labeler(planned: Workspace) -> None:
    row = {
        "item_id": "1",
        "labeler": "ann",
        "label": '"a"',
        "unsure": False,
        "skipped": False,
        "prefilled": False,
        "in_sample": True,
        "revision": 0,
    }
    with planned.session() as s:
        project = s.scalar(select(m.LabelingProject.id))
        s.execute(insert(m.LabelingLabel), [{**row, "project_id": project}])
    with pytest.raises(IntegrityError), planned.session() as s:
        s.execute(insert(m.LabelingLabel), [{**row, "project_id": project, "label": '"b"'}])
    with planned.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(m.LabelingLabel)) == 1


def test_provenance_lands_with_the_version_or_not_at_all(planned: Workspace) -> None:
    for who in ("ann", "ben"):
        while (task := lab.next_item(planned, "d", who)) is not None:
            lab.submit_label(planned, "d", who, task.item_id, "a" if who == "ann" else "b")
    for item in range(10):
        lab.adjudicate(planned, "d", item, "a", actor="boss")
    # the dataset moves while the labels are applied: nothing of the apply is written
    hook = results.provenance_hook(
        planned,
        "d",
        [
            {
                "item_id": "0",
                "labelers": ["ann"],
                "labelbook_version": None,
                "method": "single",
                "adjudicated_by": None,
            }
        ],
    )
    base = planned.dataset("d")
    planned.commit("d", base.to_pandas(), message="someone else")
    with pytest.raises(ConflictError):
        planned.commit("d", base.to_pandas(), message="stale", parent=base.ref, on_commit=hook)
    with planned.session(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(m.LabelProvenance)) == 0
    applied = lab.apply_labels(planned, "d", actor="boss", message="labels")
    frame = lab.label_provenance(planned, applied.version)
    assert len(frame) == 10 and set(frame["method"]) == {"adjudicated"}
    assert all(sorted(who) == ["ann", "ben"] for who in frame["labelers"])
    with planned.session(readonly=True) as s:
        project = s.scalar(select(m.LabelingProject))
        assert project is not None and project.applied_version_id is not None


def test_agreement_per_labelbook_version(planned: Workspace) -> None:
    book = {"a": {"description": "an a"}, "b": {"description": "a b"}}
    planned.labelbook.save("d", book, message="v1")
    for who in ("ann", "ben"):
        for _ in range(5):
            task = lab.next_item(planned, "d", who)
            assert task is not None and task.labelbook_version == 1
            lab.submit_label(planned, "d", who, task.item_id, "a" if who == "ann" else "b")
    planned.labelbook.save("d", {**book, "a": {"description": "an a, clearly"}}, message="v2")
    for who in ("ann", "ben"):
        while (task := lab.next_item(planned, "d", who)) is not None:
            assert task.labelbook_version == 2
            lab.submit_label(planned, "d", who, task.item_id, "ab"[int(task.item_id) % 2])
    live = lab.live_agreement(planned, "d", ci=False)
    assert live.by_labelbook is not None
    per = live.by_labelbook.per_version()
    assert set(per) == {"v1", "v2"} and per["v2"]["alpha"] > per["v1"]["alpha"]


def test_an_older_workspace_is_upgraded(tmp_path) -> None:
    from alembic import command

    from assay.store.db import _alembic_config

    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", pd.DataFrame({"x": [1, 2], "label": ["a", "b"]}))
    with ws.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert not TABLES & set(inspect(ws.engine).get_table_names())
    ws.close()
    again = Workspace(tmp_path / "ws")  # opening applies the pending migration
    assert set(inspect(again.engine).get_table_names()) >= TABLES
    assert again.dataset("d").n_rows == 2
    again.close()


def _counted(ws: Workspace) -> dict[str, tuple[int, int, int]]:
    """Per labeler: assignments, done, skipped, counted from the queues themselves."""
    a = m.LabelingAssignment
    out: dict[str, list[int]] = {}
    with ws.session(readonly=True) as s:
        for who, status in s.execute(select(a.labeler, a.status)).all():
            row = out.setdefault(who, [0, 0, 0])
            row[0] += 1
            row[1] += status == "done"
            row[2] += status == "skipped"
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def _progress(ws: Workspace) -> dict[str, tuple[int, int, int]]:
    g = m.LabelingProgress
    with ws.session(readonly=True) as s:
        rows = s.execute(select(g.labeler, g.assigned, g.done, g.skipped)).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_progress_rows_follow_labels_skips_and_changes(planned: Workspace) -> None:
    """The one-row-per-labeler progress equals a count of the queues after labels,
    skips, a label changed into a skip and back, and a refused submission."""
    for k in range(7):
        task = lab.next_item(planned, "d", "ann")
        assert task is not None
        lab.submit_label(planned, "d", "ann", task.item_id, "a", skip=k % 3 == 0)
    first = lab.submit_label(planned, "d", "ben", lab.next_item(planned, "d", "ben").item_id, "b")
    changed = lab.submit_label(
        planned, "d", "ben", first.item_id, None, skip=True, expected_revision=0
    )
    lab.submit_label(planned, "d", "ben", first.item_id, "a", expected_revision=changed.revision)
    with pytest.raises(ConflictError):  # no revision: refused, nothing counted
        lab.submit_label(planned, "d", "ben", first.item_id, "b")
    assert _progress(planned) == _counted(planned)
    assert _progress(planned)["ann"] == (10, 4, 3)
    task = lab.next_item(planned, "d", "ann")
    assert task is not None and (task.remaining, task.total) == (3, 10)
    status = lab.labeling_status(planned, "d")
    ann = next(p for p in status.labelers if p.labeler == "ann")
    assert (ann.assigned, ann.done, ann.skipped, ann.open) == (10, 4, 3, 3)


def test_migration_0006_counts_the_queues_of_an_older_plan(planned: Workspace) -> None:
    from alembic import command

    from assay.store.db import _alembic_config

    for k in range(4):
        task = lab.next_item(planned, "d", "ben")
        assert task is not None
        lab.submit_label(planned, "d", "ben", task.item_id, "b", skip=k == 0)
    before = _progress(planned)
    with planned.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
        assert "labeling_progress" not in inspect(conn).get_table_names()
        command.upgrade(cfg, "head")
    assert _progress(planned) == before == _counted(planned)
    assert before["ben"] == (10, 3, 1)
