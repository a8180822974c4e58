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
