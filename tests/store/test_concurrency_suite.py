"""Nothing lost (issue 12): concurrent writers and ``kill -9`` never cost a version, a
decision or a window, on SQLite and on PostgreSQL.

One storm per backend (``_concurrency.run_storm``): four waves of real processes at
once (library workers doing 15 operations each: commits that add rows, review
decisions / undos / re-decisions, applies, ``gc`` with no grace, monitor ingests; and
``assay`` CLI imports, applies, decisions, gc and ingests), some killed with SIGKILL at
seeded random moments. Each test below checks one invariant on what is left.
Reproduce with ``ASSAY_STORM_SEED=N pytest -s tests/store/test_concurrency_suite.py``;
``-s`` prints the summary (operations, kills, outcomes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from assay.store import models as m
from assay.store.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file
from _concurrency import EXE, Proc, Storm, run_storm, setup_workspace  # noqa: E402
from _concurrency_checks import (  # noqa: E402
    check_acknowledged,
    check_decisions,
    check_exit_codes,
    check_gc_after,
    check_linear,
    check_nothing_lost,
    check_objects,
)

pytestmark = pytest.mark.xdist_group("concurrency")

SEED = int(os.environ.get("ASSAY_STORM_SEED", "12"))
MIN_OPERATIONS = 250  # per backend: 500 across the two
MIN_KILLS = 10  # per backend: 20 across the two


@pytest.fixture(scope="module")
def storm(
    module_db_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Storm]:
    """The storm, run once per backend; its workspace is checked by the tests below."""
    backend = "sqlite" if module_db_url is None else "postgresql"
    root = tmp_path_factory.mktemp(f"storm-{backend}") / "ws"
    result = run_storm(root, module_db_url, backend, SEED)
    print("\n" + result.summary())
    yield result


def _verdict(storm: Storm, check: Callable[[Workspace], list[str]]) -> None:
    with storm.workspace() as ws:
        problems = check(ws)
    assert not problems, f"{storm.summary()}\n" + "\n".join(problems[:30])


def test_the_storm_is_big_enough(storm: Storm) -> None:
    assert storm.operations() >= MIN_OPERATIONS, storm.summary()
    assert storm.kills() >= MIN_KILLS, storm.summary()


def test_every_process_exits_0_1_2_or_was_killed(storm: Storm) -> None:
    problems = check_exit_codes(storm)
    assert not problems, f"{storm.summary()}\n" + "\n".join(problems)


def test_every_acknowledged_write_is_present(storm: Storm) -> None:
    _verdict(storm, lambda ws: check_acknowledged(storm, ws))


def test_version_chains_are_linear(storm: Storm) -> None:
    _verdict(storm, check_linear)


def test_no_row_or_label_is_lost_between_versions(storm: Storm) -> None:
    _verdict(storm, check_nothing_lost)


def test_each_decision_is_applied_at_most_once_where_it_says(storm: Storm) -> None:
    _verdict(storm, check_decisions)


def test_every_referenced_object_is_present_and_whole(storm: Storm) -> None:
    _verdict(storm, check_objects)


def test_gc_after_the_storm_keeps_exactly_the_referenced_objects(storm: Storm) -> None:
    _verdict(storm, check_gc_after)  # runs last: it changes the workspace


def test_the_checks_catch_damage(tmp_path: Path) -> None:
    """Every invariant check can fail: damage a workspace one way per check."""
    root = tmp_path / "ws"
    setup_workspace(root, None, seed=3)
    with Workspace(root) as ws:
        frame = ws.dataset("d").to_pandas()
        v2 = ws.commit("d", frame[frame["id"] != 150], message="drops item 150")
        ws.review.decide(2, "relabel", label=str((int(frame["y"][2]) + 1) % 4), user="bob")
        v3 = ws.review.apply("d", user="bob")
        assert any("lost ids [150]" in p for p in check_nothing_lost(ws))
        with ws.session() as s:
            s.execute(update(m.Version).where(m.Version.id == v3.id).values(parent_id=None))
            s.execute(update(m.ReviewDecision).values(applied_version_id=None))
        assert any("d@v3 has parent id None" in p for p in check_linear(ws))
        assert any("not marked applied" in p for p in check_decisions(ws))
        with ws.objects.path(v2.object_hash).open("ab") as handle:
            handle.write(b"x")
        assert any("does not match its hash" in p for p in check_objects(ws))
        ws.objects.path(v2.object_hash).unlink()
        assert any("is missing" in p for p in check_objects(ws))
        crashed = _finished(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
        crashed.lines = ["ACK commit d 9 abc 1 1", "ACK decide 5 nobody keep -"]
        fake = Storm("sqlite", 0, root, [crashed], 0.0)
        assert check_exit_codes(fake) == [f"{crashed.name} exited 3: "]
        problems = check_acknowledged(fake, ws)
        assert any("d@v9 does not exist" in p for p in problems), problems
        assert any("decide 5 nobody keep - is not in the history" in p for p in problems)


def _finished(folder: Path, argv: list[str]) -> Proc:
    """A process that ran to its end, as the storm records it."""
    proc = Proc("crash", "worker", "commit", argv, {}, folder=folder)
    proc.popen = subprocess.Popen(argv)
    proc.popen.wait()
    return proc


def test_a_killed_apply_does_not_block_the_next(tmp_path: Path, db_url: str | None) -> None:
    """An apply killed while it holds the dataset's apply lock must not refuse the next
    apply until the lock expires (its holder is a dead process of this host)."""
    root = tmp_path / "ws"
    setup_workspace(root, db_url, seed=1)
    with Workspace(root) as ws:
        ws.review.decide(1, "relabel", label="2", user="alice")
    env = {**os.environ, "ASSAY_FAULT_SLEEP": "before_commit:60"}
    proc = subprocess.Popen([EXE, "review", "apply", "d", "-w", str(root)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_lock(root, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run([EXE, "review", "apply", "d", "-w", str(root)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Workspace(root) as ws:
        assert ws.review.get(1)["status"] == "applied"


def _wait_for_lock(root: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    with Workspace(root) as ws:
        while True:
            with ws.session(readonly=True) as s:
                if s.scalar(select(func.count()).select_from(m.Lock)):
                    return
            assert proc.poll() is None, "the apply ended before it took its lock"
            assert time.monotonic() < deadline, "the apply took no lock"
            time.sleep(0.05)
