"""Kinds of label (see :mod:`assay.tasks.base`): one registry, keyed by kind.

>>> from assay.tasks import get_task
>>> get_task().kind
'classification'

To add a kind: write ``tasks/<kind>.py`` with a :class:`Task` subclass and decorate it
with :func:`register_task` (and import the module below so it registers itself).
"""

from __future__ import annotations

from typing import TypeVar

from assay.exceptions import InputError
from assay.tasks.base import Task
from assay.tasks.classification import ClassificationTask
from assay.tasks.detection import DetectionTask
from assay.tasks.multilabel import MultilabelTask
from assay.tasks.regression import RegressionTask
from assay.tasks.transcript import TranscriptTask

__all__ = ["DEFAULT_KIND", "Task", "get_task", "register_task", "registered_tasks"]

#: The kind of every dataset whose kind is not stored (all datasets before issue 14).
DEFAULT_KIND = "classification"

_REGISTRY: dict[str, Task] = {}
T = TypeVar("T", bound=type[Task])


def register_task(cls: T) -> T:
    """Register a :class:`Task` subclass under its ``kind`` (usable as a decorator).

    Registering a kind again replaces it (a test double, a newer implementation).
    """
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"register_task takes a Task subclass, not {cls!r}.")
    _REGISTRY[cls.kind] = cls()
    return cls


def get_task(kind: str | None = None) -> Task:
    """The task of ``kind`` (default: :data:`DEFAULT_KIND`).

    Raises
    ------
    InputError
        No task of that kind is registered.
    """
    key = DEFAULT_KIND if kind is None else kind
    try:
        return _REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise InputError(f"unknown task {key!r}; give one of: {known}.") from None


def registered_tasks() -> dict[str, Task]:
    """Every registered task by kind (a copy)."""
    return dict(_REGISTRY)


register_task(ClassificationTask)
register_task(RegressionTask)
# before multilabel: detection claims list<struct<label, x, y, w, h>>, multilabel any list
register_task(DetectionTask)
register_task(MultilabelTask)
register_task(TranscriptTask)
