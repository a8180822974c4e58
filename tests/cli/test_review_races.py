"""``assay review apply`` racing real processes: nothing is lost, one apply wins.

A held apply is made with ``ASSAY_FAULT_GATE=before_commit:FOLDER``: it writes its
object, then waits before the version's transaction until the test opens the gate, so
the test acts at a known point, whatever the machine's load. Runs on SQLite and
PostgreSQL.
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


def _assay(ws: Workspace, *args: str, gate: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "ASSAY_USER": "slow"}
    if gate is not None:
        env["ASSAY_FAULT_GATE"] = f"before_commit:{gate}"
    return subprocess.Popen(
        [EXE, *args, "-w", ws.location],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class HeldApply:
    """``assay review apply digits``, held before each commit until the test says go."""

    def __init__(self, ws: Workspace, gate: Path) -> None:
        gate.mkdir()
        self.gate = gate
        self.proc = _assay(ws, "review", "apply", "digits", gate=gate)

    def reached(self, attempt: int) -> None:
        """Wait until the apply holds before the commit of its ``attempt``-th try."""
        deadline = time.monotonic() + 120
        while not (self.gate / f"reached.{attempt}").exists():
            assert self.proc.poll() is None, f"apply ended early: {self.proc.communicate()}"
            assert time.monotonic() < deadline, "apply did not reach its commit"
            time.sleep(0.02)

    def go(self, attempt: int) -> None:
        (self.gate / f"go.{attempt}").touch()

    def finish(self) -> tuple[int, str]:
        """Let every further attempt through; the exit code and stderr."""
        for attempt in range(1, 10):
            self.go(attempt)
        _, err = self.proc.communicate(timeout=120)
        return self.proc.returncode, err


def _held_apply(ws: Workspace, gate: Path) -> HeldApply:
    """Start an apply and return once it holds before its first commit."""
    held = HeldApply(ws, gate)
    held.reached(1)
    return held


def test_apply_recomputes_on_a_version_imported_meanwhile(digits: Workspace, tmp_path: Path) -> None:
    digits.review.decide(_entry(digits, "127"), "relabel", label="3", user="ann")
    held = _held_apply(digits, tmp_path / "gate")
    imported = _assay(digits, "import", "digits", str(tmp_path / "more_rows.csv"))
    assert imported.wait(60) == 0, imported.communicate()
    code, err = held.finish()
    assert code == 0, err
    assert [v.ref for v in digits.log("digits")] == ["digits@v3", "digits@v2", "digits@v1"]
    latest = digits.dataset("digits")
    assert latest.parent_number == 2  # computed again on the import, not on v1
    frame = latest.to_pandas().set_index("item_id")
    assert len(frame) == 40 and frame.loc[127, "y"] == 3  # the new rows are kept
    assert latest.summary["removed"] == 0 and latest.summary["relabeled"] == 1
    assert digits.review.get(_entry(digits, "127"))["status"] == "applied"


def test_undo_and_redecide_during_an_apply_is_not_lost(
    digits: Workspace, tmp_path: Path
) -> None:
    entry = _entry(digits, "127")
    digits.review.decide(entry, "relabel", label="3", user="ann")
    held = _held_apply(digits, tmp_path / "gate")
    digits.review.undo(entry, user="bob")
    digits.review.decide(entry, "relabel", label="5", user="bob")
    code, err = held.finish()
    assert code == 0, err
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


def test_undo_during_an_apply_leaves_nothing_to_apply(
    digits: Workspace, tmp_path: Path
) -> None:
    entry = _entry(digits, "127")
    digits.review.decide(entry, "remove", user="ann")
    held = _held_apply(digits, tmp_path / "gate")
    digits.review.undo(entry, user="bob")
    code, err = held.finish()
    assert code == 2 and "no decided review entries" in err
    assert [v.ref for v in digits.log("digits")] == ["digits@v1"]
    assert digits.review.get(entry)["status"] == "open"


def test_a_second_apply_names_the_one_running(digits: Workspace, tmp_path: Path) -> None:
    digits.review.decide(_entry(digits, "127"), "relabel", label="3", user="ann")
    held = _held_apply(digits, tmp_path / "gate")
    second = _assay(digits, "review", "apply", "digits")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    assert "already being applied by slow" in err and "since" in err
    assert len(err.strip().splitlines()) == 1
    assert held.finish()[0] == 0
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


def test_apply_gives_up_when_the_dataset_keeps_moving(digits: Workspace, tmp_path: Path) -> None:
    digits.review.decide(_entry(digits, "127"), "relabel", label="3", user="ann")
    base = pd.read_csv(tmp_path / "rows.csv")
    held = _held_apply(digits, tmp_path / "gate")
    for extra in (1, 2, 3):  # a new version during each of the apply's attempts
        grown = pd.concat([base, base.head(extra).assign(item_id=lambda f: f.item_id + 900)])
        grown.to_csv(tmp_path / f"grown{extra}.csv", index=False)
        imported = _assay(digits, "import", "digits", str(tmp_path / f"grown{extra}.csv"))
        assert imported.wait(60) == 0, imported.communicate()
        held.go(extra)
        if extra < 3:
            held.reached(extra + 1)
    code, err = held.finish()
    assert code == 2 and "kept changing while its decisions were applied" in err
    assert "3 attempts" in err and len(err.strip().splitlines()) == 1
    assert [v.message for v in digits.log("digits")][0] == "import grown3.csv"
    assert digits.review.get(_entry(digits, "127"))["status"] == "decided"  # still waiting
    assert digits.review.apply("digits", user="ann").parent_number == 4
