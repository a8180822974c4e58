"""Concept drift on streams: Page-Hinkley and ADWIN over an error stream, vectorised.

Both detectors follow river's semantics (``river.drift.PageHinkley`` and
``river.drift.ADWIN``, same parameters and defaults; after an alarm the detector starts
afresh from the next value) but process a whole batch with numpy instead of one Python
call per value:

* **Page-Hinkley**: the running mean is a cumulative sum, the fading cumulative
  deviation is a first-order linear recurrence (``scipy.signal.lfilter``), its running
  minimum / maximum are ``np.minimum.accumulate`` / ``np.maximum.accumulate``. Alarm
  indices equal river's.
* **ADWIN**: every ``clock`` values the window (all values since the last alarm) is
  split at the bucket boundaries of ADWIN's exponential histogram (``max_buckets`` per
  size 1, 2, 4, ...), and a split whose sub-window means differ by more than ADWIN's
  Hoeffding/Bernstein bound (``delta``) raises an alarm. All checks of a batch are one
  matrix computation on prefix sums.

``benchmarks/streams.py`` compares detection delay, false alarms and speed with river's
detectors on river's SEA, Agrawal and STAGGER concept-drift streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.signal import lfilter

from assay._validation import (
    Integral,
    Interval,
    Options,
    Real,
    validate_parameter_constraints,
)
from assay.exceptions import InputError

__all__ = ["ADWIN", "PageHinkley", "StreamAlarms", "adwin", "page_hinkley"]


@dataclass
class StreamAlarms:
    """Alarms raised over a stream.

    Attributes
    ----------
    indices : ndarray of shape (n_alarms,), int64
        Positions (0-based, over everything the detector has seen) of the values that
        raised an alarm.
    timestamps : ndarray of shape (n_alarms,) or None
        The timestamps of those values, when timestamps were given.
    """

    indices: np.ndarray
    timestamps: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per alarm: ``index`` and, if known, ``timestamp``."""
        data: dict[str, Any] = {"index": self.indices}
        if self.timestamps is not None:
            data["timestamp"] = self.timestamps
        return pd.DataFrame(data)

    def __len__(self) -> int:
        return len(self.indices)


def _as_stream(values: Any, func: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(
            f"{func}: value {int(np.argmax(bad))} of the stream is NaN or inf; drop it or "
            "replace it before feeding the detector."
        )
    return arr


def _alarms(local: list[int], offset: int, timestamps: Any, n: int) -> StreamAlarms:
    idx = np.asarray(local, dtype=np.int64)
    stamps = None
    if timestamps is not None:
        stamps_arr = np.asarray(timestamps)
        if len(stamps_arr) != n:
            raise InputError(f"timestamps has {len(stamps_arr)} values for {n} stream values; "
                             "give one timestamp per value.")
        stamps = stamps_arr[idx]
    return StreamAlarms(idx + offset, stamps)


class _Detector:
    """JSON-safe persistence shared by the detectors (for monitors fed batch by batch)."""

    _params: tuple[str, ...] = ()
    _state: tuple[str, ...] = ()
    #: What each parameter may be, checked when data arrives (:meth:`_validate`).
    _parameter_constraints: dict[str, list[Any]] = {}

    def _validate(self) -> None:
        """Raise :class:`~assay.exceptions.InputError` for a bad parameter."""
        params = {k: getattr(self, k) for k in self._params}
        validate_parameter_constraints(self._parameter_constraints, params,
                                       type(self).__name__)

    def to_dict(self) -> dict[str, Any]:
        """Parameters and learned state as a JSON-safe dict."""
        state = {k: getattr(self, k) for k in self._state if hasattr(self, k)}
        state = {k: (v.tolist() if isinstance(v, np.ndarray) else
                     {a: (None if b == np.inf or b == -np.inf else b) for a, b in v.items()}
                     if isinstance(v, dict) else v) for k, v in state.items()}
        return {"type": type(self).__name__,
                "params": {k: getattr(self, k) for k in self._params}, "state": state}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Rebuild a detector from :meth:`to_dict` output."""
        det = cls(**data["params"])
        for key, value in data.get("state", {}).items():
            if key == "window_":
                value = np.asarray(value, dtype=np.float64)
            elif key == "state_":
                value = {a: (np.inf if a == "min_inc" and b is None else b)
                         for a, b in value.items()}
            setattr(det, key, value)
        return det


class PageHinkley(_Detector):
    """Page-Hinkley change detector (river's semantics), fed in batches.

    Parameters
    ----------
    min_instances : int
        Values seen (since the last alarm) before an alarm may fire.
    delta : float
        Tolerated change of the mean.
    threshold : float
        Alarm threshold (lambda) on the cumulative deviation.
    alpha : float
        Forgetting factor of the cumulative deviation.
    mode : {"both", "up", "down"}
        Detect increases, decreases or both.
    """

    _params = ("min_instances", "delta", "threshold", "alpha", "mode")
    _parameter_constraints = {  # noqa: RUF012 - read only
        "min_instances": [Interval(Integral, 1, None)],
        "delta": [Interval(Real, 0.0, None)],
        "threshold": [Interval(Real, 0.0, None)],
        "alpha": [Interval(Real, 0.0, 1.0)],
        "mode": [Options(("both", "up", "down"))],
    }
    _state = ("state_", "n_seen_")

    def __init__(self, min_instances: int = 30, delta: float = 0.005, threshold: float = 50.0,
                 alpha: float = 1 - 0.0001, mode: str = "both") -> None:
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode

    def _fresh(self) -> dict[str, float]:
        return {"n": 0, "total": 0.0, "inc": 0.0, "min_inc": np.inf, "dec": 0.0,
                "max_dec": -1.0}

    def update(self, values: ArrayLike,
               timestamps: Any = None) -> StreamAlarms:
        """Feed a batch of values; return the alarms it raised.

        Parameters
        ----------
        values : array-like of shape (n_values,)
            E.g. 0/1 errors of a model, in time order.
        timestamps : array-like of shape (n_values,), optional

        Returns
        -------
        StreamAlarms
        """
        self._validate()
        x = _as_stream(values, "PageHinkley.update")
        if not hasattr(self, "state_"):
            self.state_: dict[str, float] = self._fresh()
            self.n_seen_ = 0
        local: list[int] = []
        start = 0
        while start < len(x):
            hit = self._scan(x[start:])
            if hit < 0:
                break
            local.append(start + hit)
            self.state_ = self._fresh()
            start += hit + 1
        out = _alarms(local, self.n_seen_, timestamps, len(x))
        self.n_seen_ += len(x)
        return out

    def _scan(self, x: np.ndarray) -> int:
        """Run from the current state; return the first alarm position or -1."""
        s = self.state_
        n = s["n"] + np.arange(1, len(x) + 1)
        mean = (s["total"] + np.cumsum(x)) / n
        dev = x - mean
        inc = lfilter([1.0], [1.0, -self.alpha], dev - self.delta, zi=[self.alpha * s["inc"]])[0]
        dec = lfilter([1.0], [1.0, -self.alpha], dev + self.delta, zi=[self.alpha * s["dec"]])[0]
        min_inc = np.minimum(np.minimum.accumulate(inc), s["min_inc"])
        max_dec = np.maximum(np.maximum.accumulate(dec), s["max_dec"])
        up = (inc - min_inc) > self.threshold
        down = (max_dec - dec) > self.threshold
        fire = {"both": up | down, "up": up, "down": down}[self.mode] & (n >= self.min_instances)
        if fire.any():
            return int(np.argmax(fire))
        self.state_ = {"n": float(n[-1]), "total": float(mean[-1] * n[-1]),
                       "inc": float(inc[-1]), "min_inc": float(min_inc[-1]),
                       "dec": float(dec[-1]), "max_dec": float(max_dec[-1])}
        return -1


class ADWIN(_Detector):
    """ADWIN adaptive-window change detector (river's semantics), fed in batches.

    Parameters
    ----------
    delta : float
        Confidence of the cut test (smaller: fewer false alarms, later detection).
    clock : int
        Test for a cut every ``clock`` values.
    max_buckets : int
        Buckets per size in the exponential histogram (sets the candidate cuts).
    min_window_length : int
        Minimum values on each side of a cut.
    grace_period : int
        Values seen (since the last alarm) before testing.
    """

    _params = ("delta", "clock", "max_buckets", "min_window_length", "grace_period")
    _parameter_constraints = {  # noqa: RUF012 - read only
        "delta": [Interval(Real, 1e-12, 1.0)],
        "clock": [Interval(Integral, 1, None)],
        "max_buckets": [Interval(Integral, 2, None)],
        "min_window_length": [Interval(Integral, 1, None)],
        "grace_period": [Interval(Integral, 0, None)],
    }
    _state = ("window_", "n_seen_")

    def __init__(self, delta: float = 0.002, clock: int = 32, max_buckets: int = 5,
                 min_window_length: int = 5, grace_period: int = 10) -> None:
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period

    def update(self, values: ArrayLike,
               timestamps: Any = None) -> StreamAlarms:
        """Feed a batch of values; return the alarms it raised (see :class:`PageHinkley`)."""
        self._validate()
        x = _as_stream(values, "ADWIN.update")
        if not hasattr(self, "window_"):
            self.window_ = np.empty(0)
            self.n_seen_ = 0
        local: list[int] = []
        window, pos = self.window_, 0
        while pos < len(x):
            segment = np.concatenate([window, x[pos:]])
            hit = _adwin_first_cut(segment, len(window), self)
            if hit < 0:
                window = segment
                break
            local.append(pos + hit - len(window))
            pos = local[-1] + 1
            window = np.empty(0)
        self.window_ = window
        out = _alarms(local, self.n_seen_, timestamps, len(x))
        self.n_seen_ += len(x)
        return out


def _bucket_cuts(width: np.ndarray, max_buckets: int) -> np.ndarray:
    """Sizes of the older sub-window at each bucket boundary, per window width.

    Returns
    -------
    ndarray of shape (n_widths, n_cuts), float
        Cut sizes ``n0`` (NaN where a width has fewer boundaries), oldest first.
    """
    counts, items, level = [], width.astype(np.int64), 0
    while (items > 0).any():
        carries = np.where(items > max_buckets, (items - max_buckets + 1) // 2, 0)
        counts.append((items - 2 * carries, 2**level))
        items, level = carries, level + 1
    sizes = [np.repeat(size, max_buckets + 1)[None, :] * (np.arange(max_buckets + 1)[None, :]
             < c[:, None]) for c, size in reversed(counts)]
    oldest_first = np.hstack(sizes).astype(np.float64)
    cuts = np.cumsum(oldest_first, axis=1)
    keep = (oldest_first > 0) & (cuts < width[:, None])
    return np.where(keep, cuts, np.nan)


def _adwin_first_cut(x: np.ndarray, checked: int, det: ADWIN) -> int:
    """First position (>= ``checked``) in ``x`` where ADWIN cuts its window, or -1."""
    k = np.arange(det.clock, len(x) + 1, det.clock)
    k = k[(k > checked) & (k > det.grace_period)]
    if len(k) == 0:
        return -1
    centred = x - x.mean()
    s1 = np.concatenate([[0.0], np.cumsum(centred)])
    s2 = np.concatenate([[0.0], np.cumsum(centred**2)])
    start, size = 0, 16
    while start < len(k):  # blocks of 16, 32, ... 2048 checks: cheap when alarms are close
        block = k[start:start + size]
        with np.errstate(divide="ignore", invalid="ignore"):
            hit = _first_cut_in_block(block, s1, s2, det)
        if hit >= 0:
            return hit
        start, size = start + size, min(2 * size, 2048)
    return -1


def _first_cut_in_block(block: np.ndarray, s1: np.ndarray, s2: np.ndarray, det: ADWIN) -> int:
    """Test all checks (window widths ``block``) at once; first cut position or -1."""
    n0 = _bucket_cuts(block, det.max_buckets)
    width = block[:, None].astype(np.float64)
    n1 = width - n0
    idx0 = np.nan_to_num(n0).astype(np.int64)
    mean0 = s1[idx0] / np.where(n0 > 0, n0, 1)
    mean1 = (s1[block][:, None] - s1[idx0]) / np.where(n1 > 0, n1, 1)
    var = (s2[block] - s1[block] ** 2 / block) / block
    dprime = np.log(2 * np.log(width) / det.delta)
    m = det.min_window_length
    m_recip = 1 / (n0 - m + 1) + 1 / (n1 - m + 1)
    eps = np.sqrt(2 * m_recip * var[:, None] * dprime) + 2 / 3 * dprime * m_recip
    ok = (n0 >= m) & (n1 >= m) & (np.abs(mean0 - mean1) > eps)
    rows = ok.any(axis=1)
    return int(block[np.argmax(rows)]) - 1 if rows.any() else -1


def page_hinkley(values: ArrayLike, *, timestamps: Any = None,
                 **params: Any) -> StreamAlarms:
    """Run :class:`PageHinkley` over a whole stream (``params`` as its constructor)."""
    return PageHinkley(**params).update(values, timestamps)


def adwin(values: ArrayLike, *, timestamps: Any = None,
          **params: Any) -> StreamAlarms:
    """Run :class:`ADWIN` over a whole stream (``params`` as its constructor)."""
    return ADWIN(**params).update(values, timestamps)
