"""Progress of long work: the library names its stages, whoever listens shows them.

Engines and workflows never print. A step that can take seconds wraps itself in
:func:`stage` (``with stage("embedding 2,400 texts", total=2400) as advance: ...``);
nothing happens unless a face installed a :class:`Reporter` with :func:`reporting` (the
CLI: a Rich bar with counts and time left on a terminal, one line per stage
otherwise). A context variable carries the reporter, so threads and nested calls need
no extra parameters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

__all__ = ["LineReporter", "Reporter", "StageHandle", "reporting", "stage"]


class StageHandle(Protocol):
    """One running stage: count done units, then finish."""

    def advance(self, n: int = 1) -> None: ...

    def finish(self) -> None: ...


class Reporter(Protocol):
    """Shows stages as they start, advance and finish."""

    def start(self, description: str, total: int | None) -> StageHandle: ...


_REPORTER: ContextVar[Reporter | None] = ContextVar("assay_progress_reporter", default=None)


def _ignore(n: int = 1) -> None:
    return None


@contextmanager
def stage(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Announce a stage of long work; yields ``advance(n=1)`` to count done units.

    Parameters
    ----------
    description : str
        What is being done, in words a user understands ("cross-validating 5 folds").
    total : int, optional
        How many units the stage has (None: unknown, shown without a bar).
    """
    reporter = _REPORTER.get()
    if reporter is None:
        yield _ignore
        return
    handle = reporter.start(description, total)
    try:
        yield handle.advance
    finally:
        handle.finish()


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Show the stages announced inside with ``reporter`` (None: show nothing)."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


class _LineStage:
    def __init__(
        self,
        write: Callable[[str], None],
        description: str,
        total: int | None,
        delay: float,
        every: float = 0.0,
    ):
        self._write, self._description, self._total = write, description, total
        self._done = 0
        self._started = time.perf_counter()
        self._announced = threading.Event()
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._every = every
        self._timer = threading.Timer(delay, self._announce)
        self._timer.daemon = True
        self._timer.start()

    def _announce(self) -> None:
        with self._lock:
            if self._finished.is_set():
                return
            self._announced.set()
            self._write(f"{self._description} ...")
            self._schedule()

    def _schedule(self) -> None:
        """Report the count and the time left every ``every`` seconds until finished."""
        if self._every > 0 and self._total:
            self._timer = threading.Timer(self._every, self._tick)
            self._timer.daemon = True
            self._timer.start()

    def _tick(self) -> None:
        with self._lock:
            if self._finished.is_set():
                return
            if 0 < self._done < self._total:  # type: ignore[operator]
                elapsed = time.perf_counter() - self._started
                left = elapsed * (self._total - self._done) / self._done  # type: ignore[operator]
                self._write(
                    f"{self._description}: {self._done:,}/{self._total:,}, about {left:.0f} s left"
                )
            self._schedule()

    def advance(self, n: int = 1) -> None:
        self._done += n

    def finish(self) -> None:
        with self._lock:
            self._finished.set()
            self._timer.cancel()
        if not self._announced.is_set():
            return
        seconds = time.perf_counter() - self._started
        count = f"{self._done}/{self._total} " if self._total else ""
        self._write(f"{self._description}: {count}done in {seconds:.1f} s")


class LineReporter:
    """A line when a stage has run for ``delay`` seconds, its count and time left every
    ``every`` seconds, and one when it ends, with its time: progress for logs and pipes, where a redrawn bar would be noise. Quick stages
    print nothing (an error then stays the only line).

    Parameters
    ----------
    write : callable
        Takes one line of text (without a newline).
    delay : float, default 2.0
        Seconds a stage runs before it is announced.
    every : float, default 15.0
        Then, for a stage with a known total, a line with the count and the time left
        every ``every`` seconds (0: none).
    """

    def __init__(self, write: Callable[[str], None], delay: float = 2.0, every: float = 15.0):
        self._write, self._delay, self._every = write, delay, every

    def start(self, description: str, total: int | None) -> StageHandle:
        return _LineStage(self._write, description, total, self._delay, self._every)
