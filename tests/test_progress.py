"""Stages of long work: silent without a reporter, lines for logs, counts that add up."""

from __future__ import annotations

import time
from typing import Any

from sklearn.datasets import load_digits

from assay._progress import LineReporter, reporting, stage
from assay.train.predict import cross_val_predict_proba


class Recorder:
    """A reporter keeping what it was told: (event, description, value)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []

    def start(self, description: str, total: int | None) -> Any:
        self.events.append(("start", description, total))
        events = self.events

        class Handle:
            def advance(self, n: int = 1) -> None:
                events.append(("advance", description, n))

            def finish(self) -> None:
                events.append(("finish", description, None))

        return Handle()


def test_stage_without_a_reporter_is_silent(capsys) -> None:
    with stage("nothing to see", total=3) as advance:
        advance(3)
    assert capsys.readouterr() == ("", "")


def test_line_reporter_announces_slow_stages_only() -> None:
    lines: list[str] = []
    with reporting(LineReporter(lines.append, delay=0.05)):
        with stage("quick"):
            pass
        with stage("slow", total=4) as advance:
            time.sleep(0.3)
            advance(4)
    assert lines[0] == "slow ..."
    assert lines[1].startswith("slow: 4/4 done in ") and lines[1].endswith(" s")
    assert len(lines) == 2


def test_cross_validation_reports_each_fold() -> None:
    X, y = load_digits(return_X_y=True)
    recorder = Recorder()
    with reporting(recorder):
        probs = cross_val_predict_proba(None, X[:300], y[:300], cv=4, seed=0)
    assert probs.shape == (300, 10)
    folds = [e for e in recorder.events if e[1] == "cross-validating 4 folds"]
    assert folds[0] == ("start", "cross-validating 4 folds", 4)
    assert sum(n for kind, _, n in folds if kind == "advance") == 4
    assert folds[-1][0] == "finish"


def test_reporting_is_undone_after_the_block() -> None:
    recorder = Recorder()
    with reporting(recorder):
        pass
    with stage("after"):
        pass
    assert recorder.events == []


def test_line_reporter_reports_the_count_and_time_left_while_a_stage_runs() -> None:
    """A long stage in a log says how far it is, not only that it started (issue 17:
    a 2,400-text embedding printed nothing for 100 s)."""
    import threading

    lines: list[str] = []
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            lines.append(line)

    with (
        reporting(LineReporter(write, delay=0.05, every=0.1)),
        stage("embedding 40 texts", total=40) as advance,
    ):
        for _ in range(40):
            time.sleep(0.02)
            advance(1)
    assert lines[0] == "embedding 40 texts ..."
    middle = lines[1:-1]
    assert middle and all(
        line.startswith("embedding 40 texts: ") and line.endswith(" s left") for line in middle
    ), lines
    counts = [int(line.split(": ")[1].split("/")[0]) for line in middle]
    assert counts == sorted(counts) and 0 < counts[0] < 40
    assert lines[-1].startswith("embedding 40 texts: 40/40 done in ")
    time.sleep(0.25)
    assert not any("left" in line for line in lines[len(middle) + 2 :])  # no tick after the end
