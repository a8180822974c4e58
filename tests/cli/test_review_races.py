"""``assay review apply`` racing real processes: nothing is lost, one apply wins.

A slow apply is made with ``ASSAY_FAULT_SLEEP=before_commit:N``: it writes its object,
then sleeps before the version's transaction; the test acts while it sleeps (it knows
the apply got there when a new object appears). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace

EXE = str(Path(sys.executable).with_name("assay"))


@pytest.fixture
def digits(workspace: Workspace, tmp_path: Path) -> Workspace:
    """``digits``: 30 rows with ids 100..129 and labels 0..9; entries on 127 and 128."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {"item_id": np.arange(100, 130), "x": rng.normal(size=30), "y": np.arange(30) % 10}
    )
    frame.to_csv(tmp_path / "rows.csv", index=False)
    more = pd.DataFrame(
        {"item_id": np.arange(130, 140), "x": rng.normal(size=10), "y": np.arange(10) % 10}
    )
    pd.concat([frame, more]).to_csv(tmp_path / "more_rows.csv", index=False)
    workspace.import_dataset("digits", tmp_path / "rows.csv", label="y", id="item_id")
    entries = pd.DataFrame({"item_id": [127, 128], "score": [0.1, 0.2], "reason": "suspicious"})
    assert workspace.review.add("digits", entries, source="label_issue") == 2
    return workspace


def _entry(ws: Workspace, item: str) -> int:
    listed = ws.review.list("digits", status=None)
    return int(listed.set_index("item_id").loc[item, "id"])


def _objects(ws: Workspace) -> set[str]:
    return {p.stem for p in (Path(ws.location) / ".assay" / "objects").glob("??/*.parquet")}


def _assay(
    ws: Workspace, *args: str, sleep: float | None = None
) -> subprocess.Popen[str]:
    env = {**os.environ, "ASSAY_USER": "slow"}
    if sleep is not None:
        env["ASSAY_FAULT_SLEEP"] = f"before_commit:{sleep}"
    return subprocess.Popen(
        [EXE, *args, "-w", ws.location],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _slow_apply(ws: Workspace, sleep: float) -> subprocess.Popen[str]:
    """Start ``assay review apply digits`` and return once it sleeps before its commit."""
    before = _objects(ws)
    proc = _assay(ws, "review", "apply", "digits", sleep=sleep)
    deadline = time.monotonic() + 60
    while _objects(ws) == before:
        assert proc.poll() is None, f"apply ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "apply did not reach its commit"
        time.sleep(0.05)
    return proc


def test_apply_recomputes_on_a_version_imported_meanwhile(digits: Workspace, tmp_path: Path) -> None:
    digits.review.decide(_entry(digits, "127"), "relabel", label="3", user="ann")
    proc = _slow_apply(digits, sleep=3)
    imported = _assay(digits, "import", "digits", str(tmp_path / "more_rows.csv"))
    assert imported.wait(60) == 0, imported.communicate()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert [v.ref for v in digits.log("digits")] == ["digits@v3", "digits@v2", "digits@v1"]
    latest = digits.dataset("digits")
    assert latest.parent_number == 2  # computed again on the import, not on v1
    frame = latest.to_pandas().set_index("item_id")
    assert len(frame) == 40 and frame.loc[127, "y"] == 3  # the new rows are kept
    assert latest.summary["removed"] == 0 and latest.summary["relabeled"] == 1
    assert digits.review.get(_entry(digits, "127"))["status"] == "applied"


def test_undo_and_redecide_during_an_apply_is_not_lost(digits: Workspace) -> None:
    entry = _entry(digits, "127")
    digits.review.decide(entry, "relabel", label="3", user="ann")
    proc = _slow_apply(digits, sleep=3)
    digits.review.undo(entry, user="bob")
    digits.review.decide(entry, "relabel", label="5", user="bob")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    latest = digits.dataset("digits")
    assert latest.ref == "digits@v2"
    assert latest.to_pandas().set_index("item_id").loc[127, "y"] == 5  # the version agrees
    record = digits.review.get(entry)
    assert record["status"] == "applied" and record["decision_label"] == 5
    history = digits.review.history(entry)
    assert [(h["action"], h["label"], h["applied_to"]) for h in history] == [
        ("relabel", 3, None),
        ("undo", None, None),
        ("relabel", 5, "digits@v2"),
    ]
    assert latest.provenance["review_decisions"] == [history[-1]["id"]]
    with pytest.raises(Exception, match="no decided review entries"):
        digits.review.apply("digits", user="ann")


def test_undo_during_an_apply_leaves_nothing_to_apply(digits: Workspace) -> None:
    entry = _entry(digits, "127")
    digits.review.decide(entry, "remove", user="ann")
    proc = _slow_apply(digits, sleep=3)
    digits.review.undo(entry, user="bob")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "no decided review entries" in err
    assert [v.ref for v in digits.log("digits")] == ["digits@v1"]
    assert digits.review.get(entry)["status"] == "open"


def test_a_second_apply_names_the_one_running(digits: Workspace) -> None:
    digits.review.decide(_entry(digits, "127"), "relabel", label="3", user="ann")
    proc = _slow_apply(digits, sleep=4)
    second = _assay(digits, "review", "apply", "digits")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    assert "already being applied by slow" in err and "since" in err
    assert len(err.strip().splitlines()) == 1
    assert proc.wait(120) == 0
    assert [v.ref for v in digits.log("digits")] == ["digits@v2", "digits@v1"]


def test_parallel_cli_applies_make_one_version(digits: Workspace) -> None:
    digits.review.decide(_entry(digits, "127"), "relabel", label="3", user="ann")
    digits.review.decide(_entry(digits, "128"), "remove", user="ann")
    procs = [_assay(digits, "review", "apply", "digits") for _ in range(6)]
    results = [(p.wait(120), p.communicate()[1]) for p in procs]
    assert sorted(code for code, _ in results) == [0] + [2] * 5, results
    for code, err in results:
        if code == 2:
            assert "already being applied" in err or "no decided review entries" in err, err
    assert [v.ref for v in digits.log("digits")] == ["digits@v2", "digits@v1"]
    assert digits.review.count("digits", status="applied") == 2


def _wait_for_objects(ws: Workspace, proc: subprocess.Popen[str], seen: set[str], n: int) -> None:
    """Wait until ``n`` objects not in ``seen`` exist (while the apply is running)."""
    deadline = time.monotonic() + 60
    while len(_objects(ws) - seen) < n:
        assert proc.poll() is None, f"apply ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "apply did not reach its commit"
        time.sleep(0.05)


def test_apply_gives_up_when_the_dataset_keeps_moving(digits: Workspace, tmp_path: Path) -> None:
    digits.review.decide(_entry(digits, "127"), "relabel", label="3", user="ann")
    base = pd.read_csv(tmp_path / "rows.csv")
    proc = _slow_apply(digits, sleep=4)
    for extra in (1, 2, 3):  # a new version during each of the apply's attempts
        grown = pd.concat([base, base.head(extra).assign(item_id=lambda f: f.item_id + 900)])
        grown.to_csv(tmp_path / f"grown{extra}.csv", index=False)
        seen = _objects(digits)
        imported = _assay(digits, "import", "digits", str(tmp_path / f"grown{extra}.csv"))
        assert imported.wait(60) == 0, imported.communicate()
        if extra < 3:  # the import's object, then the apply's next one
            _wait_for_objects(digits, proc, seen, 2)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "kept changing while its decisions were applied" in err
    assert "3 attempts" in err and len(err.strip().splitlines()) == 1
    assert [v.message for v in digits.log("digits")][0] == "import grown3.csv"
    assert digits.review.get(_entry(digits, "127"))["status"] == "decided"  # still waiting
    assert digits.review.apply("digits", user="ann").parent_number == 4
