"""A review apply of a version stored in parts runs part by part and makes the version
the whole-table apply makes (rows, summary, provenance), itself in parts; on SQLite and
PostgreSQL.

The data is the electricity drift set (45,312 rows) imported from a folder in parts of
5,000 rows; the anchor is the same import and the same decisions in a workspace whose
versions are one object each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.store.test_streamed_import import ELEC, PART_ROWS, write_folder

from assay.exceptions import InputError
from assay.store.workspace import Workspace

pytestmark = pytest.mark.skipif(not ELEC.exists(), reason=f"{ELEC} is not on this machine")


@pytest.fixture(scope="module")
def elec() -> pd.DataFrame:
    frame = pd.read_csv(ELEC)
    return frame.assign(uid=[f"e{i:05d}" for i in range(len(frame))])


def _queue(ws: Workspace, elec: pd.DataFrame, seed: int) -> dict[str, str]:
    """Entries on 30 items spread over the parts; 10 relabelled, 8 removed, the rest
    kept. Returns each item's decision."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(elec), 30, replace=False)
    ids = elec["uid"].to_numpy()[rows]
    given = elec["class"].to_numpy()[rows]
    ws.review.add("elec", pd.DataFrame({
        "item_id": ids, "score": rng.random(30), "reason": "low label quality",
        "given_label": given, "suggested_label": 1 - given,
    }), source="label_issue")
    entries = ws.review.list("elec").set_index("item_id")["id"]
    decisions = dict(zip(ids, ["relabel"] * 10 + ["remove"] * 8 + ["keep"] * 12, strict=True))
    for item, decision in decisions.items():
        label = int(1 - elec.set_index("uid").loc[item, "class"])
        ws.review.decide(int(entries[item]), decision, label=label if decision == "relabel"
                         else None, user="rita")
    return decisions


def _production(ws: Workspace, elec: pd.DataFrame) -> None:
    rows = elec.drop(columns=["uid", "class"]).head(3).to_dict("records")
    ws.review.add("elec", pd.DataFrame({
        "item_id": ["prod-1", "prod-2", "prod-3"], "score": [0.0, 0.1, 0.2],
        "reason": "drift", "suggested_label": [0, 1, 1],
        "payload": [{"row": r} for r in rows],
    }), source="drift_sample")
    listed = ws.review.list("elec", source="drift_sample").set_index("item_id")["id"]
    ws.review.decide(int(listed["prod-1"]), "relabel", label=1)
    ws.review.decide(int(listed["prod-2"]), "keep")
    ws.review.decide(int(listed["prod-3"]), "remove")


def test_apply_in_parts_equals_the_whole_apply(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_PART_ROWS", str(PART_ROWS))
    base = workspace.import_dataset("elec", write_folder(elec, tmp_path / "v1"), label="class",
                                    id="uid")
    assert len(workspace.objects.parts(base.object_hash) or []) >= 9
    decisions = _queue(workspace, elec, seed=1)
    monkeypatch.setenv("ASSAY_PART_ROWS", str(10**9))  # the anchor: one object per version
    whole = Workspace.init(tmp_path / "whole")
    whole.import_dataset("elec", elec, label="class", id="uid")
    assert _queue(whole, elec, seed=1) == decisions
    want = whole.review.apply("elec", user="rita")
    assert whole.objects.parts(want.object_hash) is None
    monkeypatch.setenv("ASSAY_PART_ROWS", str(PART_ROWS))
    got = workspace.review.apply("elec", user="rita")
    assert len(workspace.objects.parts(got.object_hash) or []) >= 9
    assert (got.n_rows, got.summary, got.message) == (want.n_rows, want.summary, want.message)
    assert got.summary["relabeled"] == 10 and got.summary["removed"] == 8
    pd.testing.assert_frame_equal(got.to_pandas(), want.to_pandas())
    assert len(workspace.review.list("elec", status="applied")) == 30
    assert len(got.provenance["review_entries"]) == 30

    _production(workspace, elec)
    _production(whole, elec)
    added = workspace.review.apply("elec", user="rita", production=True)
    anchor = whole.review.apply("elec", user="rita", production=True)
    assert added.n_rows == anchor.n_rows == got.n_rows + 2
    assert added.summary == anchor.summary and added.summary["added"] == 2
    pd.testing.assert_frame_equal(added.to_pandas(), anchor.to_pandas())
    assert added.to_pandas()["uid"].tail(2).tolist() == ["prod-1", "prod-2"]
    whole.close()


def test_an_item_missing_from_every_part_is_refused(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_PART_ROWS", str(PART_ROWS))
    workspace.import_dataset("elec", write_folder(elec, tmp_path / "v1"), label="class",
                             id="uid")
    workspace.review.add("elec", pd.DataFrame({
        "item_id": ["e00001", "gone"], "score": [0.1, 0.2], "reason": "x",
        "given_label": [1, 0], "suggested_label": [0, 1],
    }), source="label_issue")
    for entry in workspace.review.list("elec")["id"]:
        workspace.review.decide(int(entry), "remove", user="rita")
    with pytest.raises(InputError, match=r"1 decision\(s\) name items that are not in elec@v1"):
        workspace.review.apply("elec", user="rita")
    assert workspace.dataset("elec").number == 1  # nothing written


def test_production_rows_continue_the_integer_ids_of_every_part(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated ids (row numbers) run across the parts; appended production rows take
    the ids after the largest, found part by part."""
    monkeypatch.setenv("ASSAY_PART_ROWS", str(PART_ROWS))
    base = workspace.import_dataset("elec", write_folder(elec.drop(columns="uid"),
                                                         tmp_path / "v1"), label="class")
    assert len(workspace.objects.parts(base.object_hash) or []) >= 9
    _production(workspace, elec)
    added = workspace.review.apply("elec", user="rita", production=True)
    tail = added.to_pandas().tail(2)
    assert tail["item_id"].tolist() == [len(elec), len(elec) + 1]
    entries = workspace.review.list("elec", status="applied").set_index("id")
    assert set(entries.loc[added.provenance["review_entries"], "item_id"]) == {
        "prod-1", "prod-2", "prod-3"}
    assert len(workspace.objects.parts(added.object_hash) or []) >= 9
