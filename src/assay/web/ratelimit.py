"""Throttling of failed sign-ins and API-token failures, per account and per address.

After ``max_failures`` failures within ``window_seconds`` (5 in 15 minutes by default)
further attempts for that account, or from that client address, are refused with 429
and a ``Retry-After`` header until the oldest of those failures leaves the window. A
successful sign-in clears the account's failures (not the address's: one valid
account must not reset the count of a client guessing at others).

A sign-in attempt is counted as a failure *before* the password is checked and
refunded when it turns out right, so that many attempts sent at once cannot each
pass the check before any failure is recorded. API tokens are checked first and
counted after (a valid token costs nothing, so parallel clients are never refused).

The counters live in the server process's memory: ``assay ui`` runs one process, and
a restart forgets them. With ``assay ui --workers N`` each worker counts on its own,
so a client may get up to N times ``max_failures`` attempts per window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["FailureLimiter", "TooManyAttempts", "account_key", "address_key"]


class TooManyAttempts(Exception):
    """Too many recent failures: the request is refused with 429 and ``Retry-After``."""

    def __init__(self, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def account_key(name: str) -> str:
    """The counter key of a user name."""
    return f"account:{name}"


def address_key(address: str) -> str:
    """The counter key of a client address."""
    return f"address:{address}"


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


class FailureLimiter:
    """Count failures per key in a sliding window; refuse keys with too many.

    Parameters
    ----------
    max_failures : int, default 5
        Failures allowed within the window; the next attempt is refused.
    window_seconds : float, default 900
        The length of the window (15 minutes).
    clock : callable, default time.monotonic
        The time in seconds (inject a fake clock in tests).
    max_keys : int, default 100000
        Keys remembered at most; beyond, expired keys are dropped, then the oldest.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_seconds: float = 900.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if max_failures < 1 or not window_seconds > 0:
            raise ValueError(
                "max_failures must be at least 1 and window_seconds positive; got "
                f"{max_failures} and {window_seconds}."
            )
        self.max_failures = max_failures
        self.window_seconds = float(window_seconds)
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window_seconds:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def _retry_after(self, key: str, now: float) -> int | None:
        """Seconds until ``key`` may try again, or None when it may now."""
        stamps = self._recent(key, now)
        if len(stamps) < self.max_failures:
            return None
        frees_at = stamps[len(stamps) - self.max_failures] + self.window_seconds
        return max(1, math.ceil(frees_at - now))

    def _refuse(self, keys: tuple[str, ...], now: float, what: str) -> None:
        waits = [w for w in (self._retry_after(k, now) for k in keys) if w is not None]
        if waits:
            wait = max(waits)
            minutes = _wait_text(round(self.window_seconds))
            raise TooManyAttempts(
                wait,
                f"too many failed {what} ({self.max_failures} within {minutes}) for this "
                f"account or from this address; try again in {_wait_text(wait)}.",
            )

    def _add(self, key: str, stamp: float) -> None:
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._prune(stamp)
        self._failures.setdefault(key, deque()).append(stamp)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        while len(self._failures) >= self.max_keys:
            del self._failures[next(iter(self._failures))]

    def check(self, *keys: str, what: str = "attempts") -> None:
        """Raise :class:`TooManyAttempts` when any of ``keys`` has too many failures."""
        with self._lock:
            self._refuse(keys, self.clock(), what)

    def fail(self, *keys: str) -> None:
        """Count one failure for each of ``keys``."""
        with self._lock:
            now = self.clock()
            for key in keys:
                self._add(key, now)

    def attempt(self, *keys: str, what: str = "attempts") -> float:
        """Check ``keys`` and count a failure for each at once; return its time stamp.

        Call :meth:`succeeded` with the stamp when the attempt turns out right.

        Raises
        ------
        TooManyAttempts
            When any key has ``max_failures`` failures in the window (nothing counted).
        """
        with self._lock:
            now = self.clock()
            self._refuse(keys, now, what)
            for key in keys:
                self._add(key, now)
            return now

    def succeeded(self, stamp: float, *, clear: tuple[str, ...], refund: tuple[str, ...]) -> None:
        """After a right attempt: forget every failure of ``clear``; take back
        the failure counted at ``stamp`` for each of ``refund``."""
        with self._lock:
            for key in clear:
                self._failures.pop(key, None)
            for key in refund:
                stamps = self._failures.get(key)
                if stamps is not None and stamp in stamps:
                    stamps.remove(stamp)
                    if not stamps:
                        del self._failures[key]

    def failures(self, key: str) -> int:
        """How many failures ``key`` has in the window now."""
        with self._lock:
            return len(self._recent(key, self.clock()))
