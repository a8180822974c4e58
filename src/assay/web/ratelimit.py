"""Exponential back-off after failed sign-ins and unknown API tokens.

Failures are counted per key; a key with ``n`` failures beyond its free ones must wait
``min(cap, 2 ** (n - 1))`` seconds (1, 2, 4, ... up to 15 minutes by default) after its
last failure before the next attempt; earlier attempts get 429 and ``Retry-After``.
The keys are:

* the **account from an address** (:func:`pair_key`), with no free failures: a
  guesser backs off on the account it guesses, from its own address only, so the
  right password from another address still works (no lock-out of the account);
* the **address** (:func:`address_key`), with ``address_free`` failures over all
  accounts and unknown API tokens before it backs off too (one address guessing many
  accounts, or scanning for tokens).

A sign-in attempt is counted as a failure *before* the password is checked and
refunded when it turns out right, so that many attempts sent at once cannot each
pass the check before any failure is recorded; the right password clears its
account-from-address count (not the address's: one valid account must not reset the
count of a client guessing at others). An API token is checked *first*: a valid token
always authenticates, whatever others sent from its address; unknown ones count for
the address. Counts are forgotten ``forget_seconds`` after a key's last failure.

The counts live in the server process's memory and a restart forgets them. With
``assay ui --workers N`` each worker counts on its own, so a client may get up to N
times the attempts. Behind a reverse proxy every client has the proxy's address
unless ``assay ui --forwarded-allow-ips`` names the proxy.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

__all__ = [
    "BackoffLimiter",
    "Rule",
    "TooManyAttempts",
    "address_key",
    "pair_key",
]

_KEEP = 64  # failure stamps kept per key: 2**63 s is far beyond any cap


class TooManyAttempts(Exception):
    """Too many recent failures: the request is refused with 429 and ``Retry-After``."""

    def __init__(self, retry_after: int, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Rule(NamedTuple):
    """A key to check, its failures without back-off and what it means in messages."""

    key: str
    free: int = 0
    scope: str = "from this address"


def pair_key(name: str, address: str) -> str:
    """The counter key of an account name tried from a client address."""
    return f"pair:{address}\x00{name}"


def address_key(address: str) -> str:
    """The counter key of a client address."""
    return f"address:{address}"


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


class BackoffLimiter:
    """Count failures per key; make keys with failures wait exponentially longer.

    Parameters
    ----------
    cap_seconds : float, default 900
        The longest wait after a failure (15 minutes).
    forget_seconds : float, default 86400
        A key's failures are forgotten this long after its last one (a day).
    clock : callable, default time.monotonic
        The time in seconds (inject a fake clock in tests).
    max_keys : int, default 100000
        Keys remembered at most; beyond, forgotten keys are dropped, then the oldest.
    """

    def __init__(
        self,
        cap_seconds: float = 900.0,
        forget_seconds: float = 86400.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if not cap_seconds >= 1 or not forget_seconds >= cap_seconds:
            raise ValueError(
                "the back-off cap must be at least 1 second and failures must be kept at "
                f"least as long as the cap; got cap {cap_seconds} and forget {forget_seconds}."
            )
        self.cap_seconds = float(cap_seconds)
        self.forget_seconds = float(forget_seconds)
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _stamps(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        if not stamps or stamps[-1] <= now - self.forget_seconds:
            del self._failures[key]
            return deque()
        return stamps

    def delay(self, failures: int, free: int = 0) -> float:
        """Seconds to wait after the last of ``failures`` (0 within ``free``)."""
        beyond = failures - free
        return 0.0 if beyond < 1 else min(self.cap_seconds, 2.0 ** min(beyond - 1, 62))

    def _retry_after(self, rule: Rule, now: float) -> int | None:
        """Seconds until ``rule``'s key may try again, or None when it may now."""
        stamps = self._stamps(rule.key, now)
        wait = self.delay(len(stamps), rule.free)
        if wait == 0 or stamps[-1] + wait <= now:
            return None
        return max(1, math.ceil(stamps[-1] + wait - now))

    def _refuse(self, rules: tuple[Rule, ...], now: float, what: str) -> None:
        waits = [(w, r) for r in rules if (w := self._retry_after(r, now)) is not None]
        if waits:
            wait, rule = max(waits, key=lambda pair: pair[0])
            raise TooManyAttempts(
                wait,
                f"too many failed {what} {rule.scope}; each failure doubles the wait (up to "
                f"{_wait_text(round(self.cap_seconds))}): try again in {_wait_text(wait)}.",
            )

    def _add(self, key: str, stamp: float) -> None:
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._prune(stamp)
        self._failures.setdefault(key, deque(maxlen=_KEEP)).append(stamp)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._stamps(key, now)
        while len(self._failures) >= self.max_keys:
            del self._failures[next(iter(self._failures))]

    def check(self, *rules: Rule, what: str = "attempts") -> None:
        """Raise :class:`TooManyAttempts` when any rule's key must still wait."""
        with self._lock:
            self._refuse(rules, self.clock(), what)

    def fail(self, *keys: str) -> None:
        """Count one failure for each of ``keys``."""
        with self._lock:
            now = self.clock()
            for key in keys:
                self._add(key, now)

    def attempt(self, *rules: Rule, what: str = "attempts") -> float:
        """Check ``rules`` and count a failure for each key at once; return its stamp.

        Call :meth:`succeeded` with the stamp when the attempt turns out right.

        Raises
        ------
        TooManyAttempts
            When any key must still wait (nothing is counted then).
        """
        with self._lock:
            now = self.clock()
            self._refuse(rules, now, what)
            for rule in rules:
                self._add(rule.key, now)
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
        """How many failures ``key`` has now (not yet forgotten)."""
        with self._lock:
            return len(self._stamps(key, self.clock()))
