"""A progress reporter for tests: it keeps every stage the library announces."""

from __future__ import annotations

from typing import Any


class RecordingReporter:
    """Implements :class:`assay._progress.Reporter`; ``stages`` holds one
    ``[description, total, done]`` list per stage, in the order they started."""

    def __init__(self) -> None:
        self.stages: list[list[Any]] = []

    def start(self, description: str, total: int | None) -> Any:
        record: list[Any] = [description, total, 0]
        self.stages.append(record)
        return _Handle(record)


class _Handle:
    def __init__(self, record: list[Any]) -> None:
        self._record = record

    def advance(self, n: int = 1) -> None:
        self._record[2] += n

    def finish(self) -> None:
        return None
