"""The collect, deploy and review use cases called directly, as the CLI, the web app
and the demo call them: typed results, library wording (parameters, never flags)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store.workspace import Workspace
from assay.workflows.agreement import (
    NoAnnotationsError,
    agreement_by_labelbook,
    import_annotations,
    load_for_agreement,
    measure_agreement,
)
from assay.workflows.consensus import run_consensus
from assay.workflows.labelbook import check_edit, display_diff, save_edited_text, start_edit
from assay.workflows.monitor import (
    add_monitor,
    ingest_file,
    ingest_json,
    monitor_status,
    sample_for_review,
)
from assay.workflows.review import (
    apply_decisions,
    decide_bulk,
    decide_entry,
    entry_details,
    list_entries,
)


def _pets(ws: Workspace) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=30), "label": rng.choice(["cat", "dog"], 30)})
    ws.import_dataset("pets", frame, label="label")


def _annotations(path: Path, labels: tuple[str, str] = ("cat", "dog")) -> Path:
    rng = np.random.default_rng(1)
    truth = rng.choice(list(labels), 30)
    second = np.where(rng.random(30) < 0.2, labels[0], truth)
    pd.concat(
        [
            pd.DataFrame({"item": range(30), "annotator": "a", "label": truth}),
            pd.DataFrame({"item": range(30), "annotator": "b", "label": second}),
        ]
    ).to_csv(path, index=False)
    return path


def test_annotations_agreement_and_consensus(workspace: Workspace, tmp_path: Path) -> None:
    _pets(workspace)
    with pytest.raises(NoAnnotationsError, match="has no annotations") as caught:
        run_consensus(workspace, "pets")
    assert caught.value.dataset == "pets" and "--" not in str(caught.value)
    workspace.labelbook.save("pets", {"cat": {}, "dog": {}}, message="v1")
    bad = _annotations(tmp_path / "bad.csv", ("cat", "fox"))
    with pytest.raises(InputError, match=r"label book v1 .*allow_new=True") as refused:
        import_annotations(workspace, "pets", bad)
    assert "--" not in str(refused.value) and workspace.annotations.load("pets").empty
    batch = import_annotations(workspace, "pets", _annotations(tmp_path / "a.csv"),
                               labelbook_version=1)
    assert (batch.batch, batch.annotations, batch.items, batch.annotators) == (1, 60, 30, 2)
    source = load_for_agreement("pets", lambda: workspace, allow_new=False)
    outcome = measure_agreement(source, report=tmp_path / "r.html", title="t")
    assert 0 < outcome.report.krippendorff_alpha < 1 and (tmp_path / "r.html").exists()
    assert json.loads(json.dumps(outcome.to_dict()["revise"]))[0]["class"] in ("cat", "dog")
    assert len(workspace.analyses("agreement", dataset="pets")) == 1
    assert list(agreement_by_labelbook(source.frame).per_version()) == ["v1"]
    done = run_consensus(workspace, "pets", method="majority", commit=True)
    assert done.version == "pets@v2" and len(done.labels) == 30


def test_agreement_of_a_file_opens_no_workspace(tmp_path: Path) -> None:
    def no_workspace() -> Workspace:
        raise AssertionError("a file needs no workspace")

    source = load_for_agreement(str(_annotations(tmp_path / "a.csv")), no_workspace, False)
    assert source.ws is None and len(source.frame) == 60
    with pytest.raises(InputError, match="labelbook_version=N"):
        agreement_by_labelbook(source.frame)


def _queue(ws: Workspace) -> list[int]:
    rng = np.random.default_rng(0)
    ws.import_dataset(
        "d", pd.DataFrame({"x": rng.normal(size=10), "y": rng.integers(0, 3, 10)}), label="y"
    )
    ws.import_dataset("e", pd.DataFrame({"x": [1.0], "y": [0]}), label="y")
    for name, n in (("d", 4), ("e", 1)):
        ws.review.add(
            name,
            pd.DataFrame({"item_id": range(n), "score": 0.1, "reason": "r", "suggested_label": 1}),
            source="label_issue",
        )
    return [int(i) for i in list_entries(ws, status="all", limit=None).entries["id"]]


def test_review_list_bulk_and_apply(workspace: Workspace) -> None:
    ids = _queue(workspace)
    d_ids = [int(i) for i in list_entries(workspace, "d").entries["id"]]
    assert len(d_ids) == 4 and len(ids) == 5
    with pytest.raises(InputError, match=r"^status='dun' is not one of open"):
        list_entries(workspace, "d", status="dun")
    foreign = next(i for i in ids if i not in d_ids)
    with pytest.raises(InputError, match="belong to dataset 'e'"):
        decide_bulk(workspace, "d", "keep", [(d_ids[0], None), (foreign, None)])
    with pytest.raises(NotFoundError, match="no review entries #999999"):
        decide_bulk(workspace, "d", "keep", [(999999, None)])
    assert list_entries(workspace, "d", status="decided").total == 0  # nothing decided
    first = decide_entry(workspace, d_ids[0], "relabel", label=2, user="ann")
    stale = first["revision"] - 1
    outcome = decide_bulk(workspace, "d", "remove", [(d_ids[0], stale), (d_ids[1], None)],
                          user="ben")
    assert outcome.decided == [d_ids[1]] and [c["id"] for c in outcome.conflicts] == [d_ids[0]]
    assert entry_details(workspace, d_ids[0])["history"][0]["actor"] == "ann"
    version = apply_decisions(workspace, "d", user="ann")
    assert version.ref == "d@v2" and len(version.to_pandas()) == 9
    seen = entry_details(workspace, d_ids[2])["revision"]
    with pytest.raises(ConflictError):  # a revision the entry never had
        decide_entry(workspace, d_ids[2], "keep", revision=seen + 7)


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "y": rng.integers(0, 2, n)})


def test_file_and_json_batches_are_one_ingest(workspace: Workspace, tmp_path: Path) -> None:
    workspace.import_dataset("d", _rows(300, 0), label="y")
    for name in ("by-file", "by-json"):
        add_monitor(workspace, name, "d@v1", column_thresholds={"a": 0.3})
    batch = _rows(200, 1).drop(columns="y")
    batch["a"] += 2.0
    batch.to_csv(tmp_path / "batch.csv", index=False)
    from_file = ingest_file(workspace, "by-file", tmp_path / "batch.csv")
    body = batch.to_json(orient="records").encode()
    from_json = ingest_json(workspace, "by-json", body, ndjson=False, source="json")
    assert from_file.rows == from_json.rows == 200
    assert from_file.window["drifted"] and from_json.window["drifted"]
    assert from_file.window["alerts"] == from_json.window["alerts"] != []
    status = monitor_status(workspace)
    assert status.alerts_active and [s["monitor"] for s in status.statuses] == [
        "by-file", "by-json"]
    assert len(sample_for_review(workspace, "by-file", n=5)) == 5
    with pytest.raises(InputError, match="NDJSON line 2 is not valid JSON"):
        ingest_json(workspace, "by-json", b'{"a": 1, "b": 2}\n{', ndjson=True, source="s")
    assert monitor_status(workspace, "by-json").statuses[0]["windows"] == 1


def test_labelbook_edit_start_check_save(workspace: Workspace) -> None:
    _pets(workspace)
    start = start_edit(workspace, "pets")
    assert start.base == 0 and "'cat':" in start.text and "'dog':" in start.text
    with pytest.raises(InputError, match="not changed"):
        save_edited_text(workspace, "pets", start, start.text)
    book = save_edited_text(workspace, "pets", start, "classes:\n  cat: a cat\n  dog: a dog\n")
    assert book.number == 1 and start_edit(workspace, "pets").base == 1
    with pytest.raises(ConflictError):  # someone saved v1 after the edit started
        save_edited_text(workspace, "pets", start, "classes:\n  cat: c\n")
    ids = {str(i) for i in range(30)}
    with pytest.raises(InputError, match="nothing changed from version 1"):
        check_edit(workspace, "pets", dict(book.classes), 1, ids)
    new = {**book.classes, "fox": {"description": "a fox", "rules": [],
                                   "examples": {"positive": ["99"]}}}
    with pytest.raises(InputError, match="no item '99' in pets@v1"):
        check_edit(workspace, "pets", new, 1, ids)
    new["fox"]["examples"] = {"positive": ["3"]}
    workspace.labelbook.save("pets", check_edit(workspace, "pets", new, 1, ids), message="fox")
    assert [c["class"] for c in display_diff(workspace, "pets", 1, 2)["added"]] == ["fox"]
