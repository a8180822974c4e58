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
