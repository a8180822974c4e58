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
        {
            "item_id": [0, 1, 2, 3],
            "score": [0.4, 0.1, 0.3, 0.2],
            "reason": "low label quality",
            "given_label": frame.y[:4].tolist(),
            "suggested_label": [2, 2, 2, 2],
        }
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
    queued.review.decide(
        int(entry.id), "relabel", label=1, user="ann", revision=int(entry.revision)
    )
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
    pd.DataFrame({"id": ids[:2], "decision": ["keep", "relabel"], "label": [None, 1]}).to_csv(
        good, index=False
    )
    assert queued.review.decide_from_csv(str(good), user="carol") == 2
    assert queued.review.count("d") == 2


def test_production_decisions_have_their_own_apply(queued: Workspace) -> None:
    """Keep/remove on production samples never block the dataset's apply (issue 17)."""
    rows = [{"x": 5.0}, {"x": 6.0}, {"x": 7.0}]
    queued.review.add(
        "d",
        pd.DataFrame(
            {
                "item_id": ["prod-1", "prod-2", "prod-3"],
                "score": [0.0, 0.1, 0.2],
                "reason": "drift",
                "suggested_label": [0, 1, 2],
                "payload": [{"row": r} for r in rows],
            }
        ),
        source="drift_sample",
    )
    prod = queued.review.list("d", source="drift_sample").set_index("item_id")["id"]
    queued.review.decide(int(prod["prod-1"]), "relabel", label=1)
    queued.review.decide(int(prod["prod-2"]), "keep")
    queued.review.decide(int(prod["prod-3"]), "remove")
    with pytest.raises(InputError, match="3 decision.s. on production items .*--production"):
        queued.review.apply("d")
    first = int(queued.review.list("d", source="label_issue").iloc[0].id)
    queued.review.decide(first, "keep")
    version = queued.review.apply("d")  # the dataset's decisions only
    assert version.n_rows == 20 and version.ref == "d@v2"
    assert queued.review.production_waiting("d") == {"keep": 1, "relabel": 1, "remove": 1}
    added = queued.review.apply("d", production=True)
    assert added.ref == "d@v3" and added.n_rows == 22 and added.summary["added"] == 2
    tail = added.to_pandas().tail(2)
    assert tail["x"].tolist() == [5.0, 6.0] and tail["y"].tolist() == [1, 1]  # kept: suggested
    assert tail["item_id"].tolist() == [20, 21]  # integer ids continue
    assert queued.review.production_waiting("d") == {}
    assert queued.review.get(int(prod["prod-3"]))["status"] == "applied"
    with pytest.raises(InputError, match="no decided production items"):
        queued.review.apply("d", production=True)


def test_kept_production_item_without_label_is_refused(queued: Workspace) -> None:
    queued.review.add(
        "d",
        pd.DataFrame(
            {
                "item_id": ["prod-9"],
                "score": [0.0],
                "reason": "drift",
                "payload": [{"row": {"x": 1.0}}],
            }
        ),
        source="drift_sample",
    )
    entry = int(queued.review.list("d", source="drift_sample").iloc[0].id)
    queued.review.decide(entry, "keep")
    with pytest.raises(InputError, match=rf"#{entry} \(prod-9\).*--relabel LABEL"):
        queued.review.apply("d", production=True)
    assert queued.dataset("d").ref == "d@v1"


def test_production_clip_is_added_by_its_file(workspace: Workspace, tmp_path: Path) -> None:
    """A production entry carrying a file (monitor clips: payload["path"]) is added in the
    media column, by absolute path, and reads like the dataset's own files."""
    from assay.store.features import media_paths

    fsdd = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "audio" / "fsdd"
    clips = sorted(fsdd.rglob("*.wav"))[:12] if fsdd.exists() else []
    if not clips:
        pytest.skip(f"real data folder absent: {fsdd}")
    for clip in clips[:10]:
        folder = tmp_path / "digits" / clip.name.split("_")[0]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / clip.name).write_bytes(clip.read_bytes())
    workspace.import_dataset("fsdd", tmp_path / "digits")
    version = workspace.dataset("fsdd")
    production = clips[11]
    workspace.review.add("fsdd", pd.DataFrame({
        "item_id": [f"clip:{production.name}"], "score": [0.2], "reason": "low confidence",
        "payload": [{"path": str(production)}]}), source="drift_sample")
    entry = int(workspace.review.list("fsdd", source="drift_sample").iloc[0].id)
    digit = production.name.split("_")[0]
    workspace.review.decide(entry, "relabel", label=digit)
    added = workspace.review.apply("fsdd", production=True)
    assert added.n_rows == version.n_rows + 1
    frame = added.to_pandas()
    last = frame.iloc[-1]
    assert str(last[added.roles.label]) == digit
    assert media_paths(added, frame)[-1] == str(production.resolve())
