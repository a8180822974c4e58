"""A small, dependency-free SVG line chart: axes, ticks, lines, bands and a legend.

Used for learning curves (accuracy vs number of training examples). All text is
XML-escaped; the output is a standalone ``<svg>`` element that can be inlined in HTML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["LineSeries", "line_chart", "nice_ticks"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


@dataclass
class LineSeries:
    """One line of a chart, with an optional band (e.g. a 95% interval) and markers.

    Attributes
    ----------
    x, y : sequences of float of the same length
    label : str
        Legend text.
    low, high : sequences of float, optional
        Lower and upper edges of a shaded band.
    color : str, optional
        CSS colour; defaults to the palette.
    dashed : bool
        Draw the line dashed (e.g. an extrapolation).
    markers : bool
        Draw a dot at each point (e.g. measurements rather than a fit).
    """

    x: ArrayLike
    y: ArrayLike
    label: str
    low: ArrayLike | None = None
    high: ArrayLike | None = None
    color: str | None = None
    dashed: bool = False
    markers: bool = False


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick positions (1, 2, 5 x 10^k steps) covering ``[low, high]``."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]


def _log_ticks(low: float, high: float) -> list[float]:
    ticks = [
        m * 10.0**e
        for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for m in (1, 2, 5)
    ]
    inside = [t for t in ticks if low <= t <= high]
    return inside if len(inside) >= 2 else [low, high]


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float, log: bool) -> None:
        self.low, self.high, self.start, self.end, self.log = low, high, start, end, log

    def __call__(self, v: np.ndarray | float) -> np.ndarray:
        f = np.log10 if self.log else (lambda a: np.asarray(a, dtype=float))
        lo, hi = f(self.low), f(self.high)
        span = (hi - lo) or 1.0
        return np.asarray(self.start + (f(v) - lo) / span * (self.end - self.start))


def _points(xs: np.ndarray, ys: np.ndarray) -> str:
    return " ".join(
        f"{x:.1f},{y:.1f}"
        for x, y in zip(xs, ys, strict=True)
        if math.isfinite(x) and math.isfinite(y)
    )


def _range(series: Sequence[LineSeries], attr: str, pad: float) -> tuple[float, float]:
    vals = [
        np.asarray(v, dtype=float)
        for s in series
        for v in ((getattr(s, attr),) if attr == "x" else (s.y, s.low, s.high))
        if v is not None
    ]
    arr = np.concatenate(vals) if vals else np.array([0.0, 1.0])
    arr = arr[np.isfinite(arr)]
    lo, hi = (float(arr.min()), float(arr.max())) if len(arr) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo - pad * (hi - lo), hi + pad * (hi - lo)


def _axes(
    xs: _Scale, ys: _Scale, box: tuple[float, float, float, float], x_label: str, y_label: str
) -> list[str]:
    left, top, right, bottom = box
    out = [
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="#999"/>'
    ]
    xticks = _log_ticks(xs.low, xs.high) if xs.log else nice_ticks(xs.low, xs.high)
    for t in xticks:
        px = float(xs(t))
        out.append(
            f'<line x1="{px:.1f}" y1="{bottom}" x2="{px:.1f}" y2="{bottom + 5}" stroke="#555"/>'
        )
        out.append(
            f'<text x="{px:.1f}" y="{bottom + 18}" text-anchor="middle">{escape(_fmt(t))}</text>'
        )
    for t in nice_ticks(ys.low, ys.high):
        py = float(ys(t))
        out.append(f'<line x1="{left}" y1="{py:.1f}" x2="{right}" y2="{py:.1f}" stroke="#eee"/>')
        out.append(
            f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end">{escape(_fmt(t))}</text>'
        )
    out.append(
        f'<text x="{(left + right) / 2}" y="{bottom + 36}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    out.append(
        f'<text transform="translate({left - 46},{(top + bottom) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return out


def _series_marks(s: LineSeries, color: str, xs: _Scale, ys: _Scale) -> list[str]:
    x = np.asarray(s.x, dtype=float)
    out = []
    if s.low is not None and s.high is not None:
        upper = _points(xs(x), ys(np.asarray(s.high, dtype=float)))
        lower = _points(xs(x[::-1]), ys(np.asarray(s.low, dtype=float)[::-1]))
        out.append(
            f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.15" stroke="none"/>'
        )
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    pts = _points(xs(x), ys(np.asarray(s.y, dtype=float)))
    out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
    if s.markers:
        out += [
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>'
            for px, py in zip(xs(x), ys(np.asarray(s.y, dtype=float)), strict=True)
            if math.isfinite(px) and math.isfinite(py)
        ]
    return out


def line_chart(
    series: Sequence[LineSeries],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 640,
    height: int = 400,
    log_x: bool = False,
) -> str:
    """Render lines (with optional bands) as an inline SVG string.

    Parameters
    ----------
    series : sequence of LineSeries
    title, x_label, y_label : str
        Escaped before use.
    width, height : int
        Size in pixels.
    log_x : bool
        Logarithmic x axis (x values must be > 0).

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    box = (64.0, 36.0 if title else 16.0, width - 16.0, height - 48.0 - 18.0 * len(series))
    x_lo, x_hi = _range(series, "x", 0.0)
    if log_x:
        x_lo = max(x_lo, 1e-12)
    xs = _Scale(x_lo, x_hi, box[0], box[2], log_x)
    ys = _Scale(*_range(series, "y", 0.05), box[3], box[1], False)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">'
    ]
    if title:
        parts.append(
            f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
            f"{escape(title)}</text>"
        )
    parts += _axes(xs, ys, box, x_label, y_label)
    for i, s in enumerate(series):
        color = escape(s.color or PALETTE[i % len(PALETTE)])
        parts += _series_marks(s, color, xs, ys)
        ly = box[3] + 50 + 18 * i
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<line x1="{box[0]}" y1="{ly - 4}" x2="{box[0] + 24}" y2="{ly - 4}" '
            f'stroke="{color}" stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{box[0] + 30}" y="{ly}">{escape(s.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
