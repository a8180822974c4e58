"""Labeling workflow: plan, blind queues, labels, agreement, adjudication, apply."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from assay import ConflictError, InputError, NotFoundError
from assay.collect import agreement
from assay.store import models as m
from assay.store.workspace import Workspace
from assay.workflows import labeling as lab


@pytest.fixture
def texts(workspace: Workspace) -> Workspace:
    frame = pd.DataFrame({"text": [f"item {i}" for i in range(40)], "label": ["a", "b"] * 20})
    workspace.import_dataset("d", frame)
    return workspace


def _plan(ws: Workspace, **kw: object) -> lab.LabelingPlan:
    options: dict = {
        "labelers": ["ann", "ben", "cara"],
        "items": list(range(40)),
        "actor": "admin",
        **kw,
    }
    return lab.plan_labeling(ws, "d", **options)


def _label_all(ws: Workspace, rule: object) -> dict[tuple[str, str], str]:
    given = {}
    for who in ("ann", "ben", "cara"):
        while (task := lab.next_item(ws, "d", who)) is not None:
            label = rule(who, int(task.item_id))  # type: ignore[operator]
            lab.submit_label(ws, "d", who, task.item_id, label)
            given[(who, task.item_id)] = label
    return given


def test_plan_assigns_sample_to_two_labelers_and_rest_to_one(texts: Workspace) -> None:
    plan = _plan(texts, overlap=0.25)
    assert plan.items == 40 and plan.sample == 10
    assert sum(plan.assignments.values()) == 30 + 2 * 10
    assert max(plan.assignments.values()) - min(plan.assignments.values()) <= 1
    with texts.session() as s:
        rows = s.execute(
            select(
                m.LabelingAssignment.item_id,
                m.LabelingAssignment.labeler,
                m.LabelingAssignment.in_sample,
            )
        ).all()
    per_item = pd.DataFrame(rows, columns=["item", "who", "sample"]).groupby("item")
    assert (per_item["who"].nunique() == per_item.size()).all()  # two different labelers
    assert set(per_item.size()[per_item["sample"].first()]) == {2}


def test_next_item_is_blind_in_the_sample_and_prefills_the_rest(texts: Workspace) -> None:
    suggestions = {i: "b" for i in range(40)}
    _plan(texts, overlap=0.5, prefill=suggestions)
    with texts.session() as s:
        sample = set(
            s.scalars(
                select(m.LabelingAssignment.item_id).where(m.LabelingAssignment.in_sample)
            ).all()
        )
    seen_sample = seen_rest = 0
    for who in ("ann", "ben", "cara"):
        while (task := lab.next_item(texts, "d", who)) is not None:
            text = json.dumps(task.to_dict(), default=str)
            if task.item_id in sample:
                seen_sample += 1
                assert task.prefill is None  # never the model's suggestion
                others = [k for k in ("ann", "ben", "cara") if k != who]
                assert not any(o in text for o in others)  # never another labeler's label
            else:
                seen_rest += 1
                assert task.prefill == "b"
            submitted = lab.submit_label(texts, "d", who, task.item_id, "b")
            assert submitted.prefilled == (task.item_id not in sample)
    assert seen_sample == 2 * len(sample) and seen_rest == 40 - len(sample)


def test_second_labeler_never_sees_the_first_label(texts: Workspace) -> None:
    _plan(texts, overlap=1.0, labelers=["ann", "ben"])
    first = lab.next_item(texts, "d", "ann")
    assert first is not None
    lab.submit_label(texts, "d", "ann", first.item_id, "a", note="looks like a")
    while (task := lab.next_item(texts, "d", "ben")) is not None:
        assert "looks like" not in json.dumps(task.to_dict(), default=str)
        assert task.prefill is None
        lab.submit_label(texts, "d", "ben", task.item_id, "b")


def test_status_agreement_adjudication_apply(texts: Workspace) -> None:
    _plan(texts, overlap=0.5)
    given = _label_all(texts, lambda who, i: "b" if who == "cara" and i % 3 == 0 else "a")
    status = lab.labeling_status(texts, "d")
    assert status.items == 40 and status.labeled_items == 40 and status.sample_items == 20
    assert status.sample_complete == 20
    assert sum(p.done for p in status.labelers) == len(given) == 60
    assert status.classes == {
        "a": sum(v == "a" for v in given.values()),
        "b": sum(v == "b" for v in given.values()),
    }
    live = lab.live_agreement(texts, "d")
    frame = pd.DataFrame(
        [(i, w, v) for (w, i), v in given.items()], columns=["item", "annotator", "label"]
    )
    shared = frame[frame.groupby("item")["annotator"].transform("size") >= 2]
    expected = agreement(shared[["item", "annotator", "label"]], ci=False)
    assert live.report.percent_agreement == pytest.approx(expected.percent_agreement)
    assert live.report.krippendorff_alpha == pytest.approx(expected.krippendorff_alpha)
    disagreed = set(shared.groupby("item")["label"].nunique().loc[lambda s: s > 1].index)
    assert set(live.disagreed["item"]) == disagreed and disagreed
    queue = lab.adjudication_queue(texts, "d")
    assert {q.item_id for q in queue} == disagreed
    assert all(len({x["label"] for x in q.labels}) == 2 for q in queue)
    for q in queue:
        lab.adjudicate(texts, "d", q.item_id, "b", actor="boss")
    assert lab.adjudication_queue(texts, "d") == []
    applied = lab.apply_labels(texts, "d", actor="boss", message="labels")
    assert applied.unresolved == [] and applied.labeled == 40
    with texts.session() as s:
        logged = s.execute(
            select(m.AuditLog.actor, m.AuditLog.detail).where(m.AuditLog.action == "label.apply")
        ).one()
    assert logged[0] == "boss" and logged[1]["labeled"] == 40
    assert applied.methods["adjudicated"] == len(disagreed)
    version = texts.dataset(applied.version)
    labels = version.labels
    for item in disagreed:
        assert labels[int(item)] == "b"
    provenance = lab.label_provenance(texts, applied.version).set_index("item")
    assert len(provenance) == 40
    some = next(iter(disagreed))
    assert provenance.loc[some, "method"] == "adjudicated"
    assert provenance.loc[some, "adjudicated_by"] == "boss"
    assert len(provenance.loc[some, "labelers"]) == 2


def test_labels_are_audit_logged(texts: Workspace) -> None:
    _plan(texts, overlap=0.0)
    task = lab.next_item(texts, "d", "ann")
    assert task is not None
    lab.submit_label(texts, "d", "ann", task.item_id, "a", unsure=True, note="blurry")
    with texts.session() as s:
        rows = s.execute(
            select(m.AuditLog.actor, m.AuditLog.action, m.AuditLog.detail).where(
                m.AuditLog.action.like("label.%")
            )
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("admin", "label.plan"), ("ann", "label.submit")]
    assert rows[1][2]["note"] == "blurry" and rows[1][2]["unsure"] is True


def test_a_label_is_changed_only_by_naming_its_revision(texts: Workspace) -> None:
    _plan(texts, overlap=0.0)
    task = lab.next_item(texts, "d", "ann")
    assert task is not None
    first = lab.submit_label(texts, "d", "ann", task.item_id, "a")
    with pytest.raises(ConflictError, match="already labeled"):
        lab.submit_label(texts, "d", "ann", task.item_id, "b")
    changed = lab.submit_label(
        texts, "d", "ann", task.item_id, "b", expected_revision=first.revision
    )
    assert changed.revision == 1
    with pytest.raises(ConflictError, match="revision 1"):
        lab.submit_label(texts, "d", "ann", task.item_id, "a", expected_revision=0)
    with texts.session() as s:
        assert s.scalar(select(func.count()).select_from(m.LabelingLabel)) == 1


def test_skip_and_unsure_count_in_the_queue(texts: Workspace) -> None:
    _plan(texts, overlap=0.0, labelers=["ann"], per_item=1)
    one = lab.next_item(texts, "d", "ann")
    assert one is not None and one.remaining == 40
    lab.submit_label(texts, "d", "ann", one.item_id, None, skip=True)
    two = lab.next_item(texts, "d", "ann")
    assert two is not None and two.item_id != one.item_id and two.remaining == 39
    lab.submit_label(texts, "d", "ann", two.item_id, "a", unsure=True)
    progress = lab.labeling_status(texts, "d").labelers[0]
    assert (progress.done, progress.skipped, progress.unsure, progress.open) == (1, 1, 1, 38)


def test_bad_input_says_what_and_how(texts: Workspace) -> None:
    with pytest.raises(NotFoundError, match="assay label plan d"):
        lab.next_item(texts, "d", "ann")
    with pytest.raises(InputError, match="per_item=3 .* need 3 labelers"):
        _plan(texts, per_item=3, labelers=["ann", "ben"])
    with pytest.raises(InputError, match="overlap"):
        _plan(texts, overlap=1.5)
    with pytest.raises(InputError, match="not in d@v1"):
        _plan(texts, items=[1, 99])
    _plan(texts, overlap=0.0)
    with pytest.raises(InputError, match="not a labeler"):
        lab.next_item(texts, "d", "zed")
    mine = lab.next_item(texts, "d", "ann")
    assert mine is not None
    with pytest.raises(InputError, match="not in ben's queue"):
        lab.submit_label(texts, "d", "ben", mine.item_id, "a")
    texts.labelbook.save(
        "d", {"a": {"description": "an a"}, "b": {"description": "a b"}}, message="book"
    )
    with pytest.raises(InputError, match="'c' is not a class"):
        lab.submit_label(texts, "d", "ann", mine.item_id, "c")
    with pytest.raises(InputError, match="method"):
        lab.apply_labels(texts, "d", actor="x", message="m", method="vote")


def test_dawid_skene_resolves_ties_and_majority_leaves_them(texts: Workspace) -> None:
    _plan(texts, overlap=1.0, labelers=["ann", "ben", "cara"], per_item=2)
    rng = np.random.default_rng(0)
    flips = set(rng.choice(40, size=6, replace=False).tolist())
    _label_all(texts, lambda who, i: "b" if who == "cara" and i in flips else ["a", "b"][i % 2])
    majority = lab.apply_labels(texts, "d", actor="x", message="majority")
    ds = lab.apply_labels(texts, "d", actor="x", message="ds", method="dawid-skene")
    assert majority.unresolved and not ds.unresolved
    assert ds.methods.get("dawid-skene", 0) == len(majority.unresolved)


def test_shared_label_read_and_stamp(texts: Workspace) -> None:
    _plan(texts, overlap=1.0, labelers=["ann", "ben"])
    empty = lab.labels_stamp(texts, "d")
    task = lab.next_item(texts, "d", "ann")
    assert task is not None
    first = lab.submit_label(texts, "d", "ann", task.item_id, "a")
    after_label = lab.labels_stamp(texts, "d")
    assert after_label != empty and lab.labels_stamp(texts, "d") == after_label
    lab.submit_label(texts, "d", "ann", task.item_id, "b", expected_revision=first.revision)
    after_change = lab.labels_stamp(texts, "d")
    assert after_change != after_label and after_change.labels == after_label.labels
    lab.submit_label(texts, "d", "ben", task.item_id, "a")
    lab.adjudicate(texts, "d", task.item_id, "a", actor="boss")
    assert lab.labels_stamp(texts, "d").adjudications == 1
    labels = lab.read_labels(texts, "d")
    assert lab.labeling_status(texts, "d", labels=labels) == lab.labeling_status(texts, "d")
    shared = lab.live_agreement(texts, "d", labels=labels, ci=False)
    alone = lab.live_agreement(texts, "d", ci=False)
    assert shared.to_dict() == alone.to_dict() and shared.n_items == 1


def test_apply_to_a_version_in_parts(
    workspace: Workspace, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version stored in parts (a streamed import) is labelled part by part and stays
    in parts."""
    monkeypatch.setenv("ASSAY_PART_ROWS", "15")
    folder = tmp_path / "items"
    folder.mkdir()
    frame = pd.DataFrame({"text": [f"item {i}" for i in range(40)], "label": ["a", "b"] * 20})
    for number, rows in enumerate(np.array_split(np.arange(40), 3)):
        frame.iloc[rows].to_parquet(folder / f"p{number}.parquet", index=False)
    base = workspace.import_dataset("d", folder)
    assert len(workspace.objects.parts(base.object_hash) or []) == 3
    _plan(workspace, overlap=0.5)
    _label_all(workspace, lambda who, i: "b" if i % 4 == 0 else "a")
    applied = lab.apply_labels(workspace, "d", actor="boss", message="labels")
    version = workspace.dataset(applied.version)
    assert applied.labeled == 40 and version.n_rows == 40
    assert len(workspace.objects.parts(version.object_hash) or []) == 3
    got = {int(item): label for item, label in version.labels.items()}
    want = {i: "b" if i % 4 == 0 else "a" for i in range(40)}
    assert got == want
    assert version.summary["relabeled"] == sum(frame["label"] != pd.Series(want))
