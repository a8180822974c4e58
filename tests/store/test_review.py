"""The review queue: decisions, optimistic concurrency, apply as a new version."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay import ConflictError, InputError
from assay.store.workspace import Workspace


@pytest.fixture
def queued(workspace: Workspace) -> Workspace:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=20), "y": rng.integers(0, 3, size=20)})
    workspace.import_dataset("d", frame, label="y")
    entries = pd.DataFrame(
        {"item_id": [0, 1, 2, 3], "score": [0.4, 0.1, 0.3, 0.2], "reason": "low label quality",
         "given_label": frame.y[:4].tolist(), "suggested_label": [2, 2, 2, 2]}
    )
    assert workspace.review.add("d", entries, source="label_issue") == 4
    assert workspace.review.add("d", entries, source="label_issue") == 0  # already open
    return workspace


def test_queue_orders_most_suspicious_first(queued: Workspace) -> None:
    listed = queued.review.list("d")
    assert listed["item_id"].tolist() == ["1", "3", "2", "0"]
    assert listed["suggested_label"].tolist() == [2, 2, 2, 2]


def test_apply_makes_a_version_with_provenance(queued: Workspace) -> None:
    ids = dict(zip(queued.review.list("d")["item_id"], queued.review.list("d")["id"], strict=True))
    queued.review.decide(ids["1"], "relabel", label="2", note="clearly a two", user="ann")
    queued.review.decide(ids["3"], "remove", user="bob")
    queued.review.decide(ids["2"], "keep", user="ann")
    version = queued.review.apply("d", user="ann")
    assert version.ref == "d@v2"
    assert version.summary["relabeled"] == 1 and version.summary["removed"] == 1
    assert "1 relabel" in version.message and "label_issue: 3" in version.message
    frame = version.to_pandas().set_index("item_id")
    assert frame.loc[1, "y"] == 2 and 3 not in frame.index
    entry = queued.review.get(ids["1"])
    assert entry["status"] == "applied" and entry["decided_by"] == "ann"
    assert entry["note"] == "clearly a two"
    with pytest.raises(InputError, match="no decided review entries"):
        queued.review.apply("d", user="ann")


def test_second_reviewer_gets_a_conflict(queued: Workspace) -> None:
    entry = queued.review.list("d").iloc[0]
    queued.review.decide(int(entry.id), "relabel", label=1, user="ann", revision=int(entry.revision))
    with pytest.raises(ConflictError, match="changed by ann"):
        queued.review.decide(int(entry.id), "keep", user="bob", revision=int(entry.revision))
    with pytest.raises(ConflictError, match="already decided"):
        queued.review.decide(int(entry.id), "keep", user="bob")
    assert queued.review.get(int(entry.id))["decision_label"] == 1


def test_concurrent_decisions_one_wins(queued: Workspace) -> None:
    entry = queued.review.list("d").iloc[0]
    outcomes: list[str] = []

    def decide(user: str, label: int) -> None:
        try:
            queued.review.decide(int(entry.id), "relabel", label=label, user=user, revision=0)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(f"u{i}", i % 3)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert queued.review.get(int(entry.id))["revision"] == 1


def test_bulk_csv_is_all_or_nothing(queued: Workspace, tmp_path: Path) -> None:
    ids = queued.review.list("d")["id"].tolist()
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": [ids[0], ids[1]], "decision": ["keep", "explode"]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match="bad.csv line 3, column 'decision'"):
        queued.review.decide_from_csv(str(bad))
    assert queued.review.count("d") == 4
    noted = tmp_path / "noted.csv"  # a note spanning two lines moves the next row down
    noted.write_text(f'id,decision,note\n{ids[0]},keep,"two\nlines"\n{ids[1]},relabel,\n')
    with pytest.raises(InputError, match="noted.csv line 4, column 'label': a relabel"):
        queued.review.decide_from_csv(str(noted))
    parquet = tmp_path / "bad.parquet"
    pd.DataFrame({"id": [str(ids[0]), "x"], "decision": ["keep", "keep"]}).to_parquet(parquet)
    with pytest.raises(InputError, match="bad.parquet row 2, column 'id': 'x'"):
        queued.review.decide_from_csv(str(parquet))
    assert queued.review.count("d") == 4
    good = tmp_path / "good.csv"
    pd.DataFrame({"id": ids[:2], "decision": ["keep", "relabel"], "label": [None, 1]}).to_csv(good, index=False)
    assert queued.review.decide_from_csv(str(good), user="carol") == 2
    assert queued.review.count("d") == 2


def test_drift_samples_are_appended_when_labeled(queued: Workspace) -> None:
    row = {"x": 5.0}
    queued.review.add("d", pd.DataFrame({"item_id": ["prod-1"], "score": [0.0], "reason": "drift",
                                         "payload": [{"row": row}]}), source="drift_sample")
    entry = queued.review.list("d", source="drift_sample").iloc[0]
    queued.review.decide(int(entry.id), "relabel", label=1)
    version = queued.review.apply("d")
    assert version.summary["added"] == 1 and version.n_rows == 21
