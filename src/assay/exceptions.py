"""Exceptions raised by assay.

The hierarchy is flat on purpose, so that callers can catch what they can act on::

    AssayError                  base class; never raised directly
    ├── InputError              bad input from the user: a file, a column, a parameter
    │                           (also a ``ValueError``); the CLI exits with code 2
    ├── StoreError              the workspace store cannot be opened, reached or written
    ├── NotFoundError           a named thing (dataset, version, item, monitor) does not
    │                           exist (also a ``KeyError``); the CLI exits with code 2
    └── ConflictError           an optimistic-concurrency conflict: someone else changed
                                the thing first; retry after reloading

Every message says what went wrong, where (file, row, column) and how to fix it, in one
line, so that the CLI can print it as it is.
"""

from __future__ import annotations

__all__ = ["AssayError", "ConflictError", "InputError", "NotFoundError", "StoreError"]


class AssayError(Exception):
    """Base class of every error that assay raises on purpose."""

    exit_code: int = 2
    #: The Python parameter the error is about, when there is one (see InputError).
    param: str | None = None

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class InputError(AssayError, ValueError):
    """Bad input: a missing or corrupt file, a wrong column, an invalid parameter.

    Parameters
    ----------
    *args
        The message (one line), as for any exception.
    param : str, optional
        The name of the Python parameter that was given a bad value (set by
        :func:`assay._validation.validate_params` and the parameter checks), so that a
        face can name its own spelling of it (the CLI its flag) without reading the
        message.
    """

    def __init__(self, *args: object, param: str | None = None) -> None:
        super().__init__(*args)
        self.param = param


class StoreError(AssayError):
    """The workspace store cannot be opened, reached, migrated or written."""


class NotFoundError(AssayError, KeyError):
    """A dataset, version, item or other named object does not exist."""


class ConflictError(AssayError):
    """Someone else changed the same object first (optimistic concurrency)."""
