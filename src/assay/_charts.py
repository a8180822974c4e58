"""SVG chart primitives shared by the report, the web app and the drift report.

Ground layer: numpy only, no store, web or report imports. Every function takes plain
numbers and labels and returns a standalone ``<svg>`` element as a string, with every
text part escaped by :func:`escape` (a label such as ``<script>`` shows as text); the web
app wraps the strings in ``markupsafe.Markup``.

* :func:`line_chart`: lines with axes, ticks, optional 95% bands, markers, dashes, a
  legend and a logarithmic x axis (learning curves, experiments).
* :func:`index_lines`: one bare polyline per named series over its index (drift per
  window).
* :func:`bar_chart`: horizontal bars for (label, value) pairs (label counts).
* :func:`paired_bars`: two histograms on the same bins, reference behind current
  (the drift report's per-column chart).
* :func:`heat_map`: a square matrix as a blue heat map (confusion, agreement).
* :func:`pixel_image`: square pixel features as a grayscale image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "PALETTE",
    "LineSeries",
    "bar_chart",
    "escape",
    "finite_values",
    "heat_map",
    "index_lines",
    "line_chart",
    "nice_ticks",
    "paired_bars",
    "pixel_image",
    "short_number",
]

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def escape(text: Any) -> str:
    """``str(text)`` with ``& < > ' "`` replaced by entities (as ``markupsafe.escape``)."""
    return str(text).translate(_ESCAPES)


def finite_values(values: Sequence[Any]) -> list[float]:
    """The values that convert to finite floats, in order (others are skipped)."""
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def short_number(value: Any) -> str:
    """A float with 3 significant digits; anything else as ``str``."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


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


def index_lines(series: dict[str, Sequence[Any]], *, width: int = 480, height: int = 180) -> str:
    """One bare polyline per named series over its index (e.g. drift per window).

    Parameters
    ----------
    series : dict of str to sequence
        Values per series; values that are not finite numbers leave a point out.
    width, height : int
        Size in pixels.

    Returns
    -------
    str
        An ``<svg class="chart">`` element with the range's ends written on the left.
    """
    colours = ["#4a78c2", "#c2554a", "#3f9a5b", "#9a7a3f", "#7a4ac2", "#333333"]
    allv = finite_values([v for vals in series.values() for v in vals])
    lo, hi = (min(allv), max(allv)) if allv else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1.0
    longest = max((len(v) for v in series.values()), default=1)
    parts = []
    for k, (name, vals) in enumerate(series.items()):
        pts = []
        for i, v in enumerate(vals):
            f = finite_values([v])
            if f:
                x = 40 + (width - 50) * (i / max(longest - 1, 1))
                y = height - 20 - (height - 30) * (f[0] - lo) / (hi - lo)
                pts.append(f"{x:.1f},{y:.1f}")
        colour = colours[k % len(colours)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(pts)}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        parts.append(
            f'<text x="{width - 4}" y="{14 + 13 * k}" text-anchor="end" font-size="11" '
            f'fill="{colour}">{escape(str(name)[:24])}</text>'
        )
    parts.append(
        f'<text x="2" y="14" font-size="10">{short_number(hi)}</text>'
        f'<text x="2" y="{height - 20}" font-size="10">{short_number(lo)}</text>'
    )
    return f'<svg class="chart" role="img" width="{width}" height="{height}">{"".join(parts)}</svg>'


def bar_chart(pairs: Sequence[tuple[Any, Any]], *, width: int = 420, bar: int = 18) -> str:
    """Horizontal bars for (label, value) pairs, longest for the largest ``|value|``.

    Parameters
    ----------
    pairs : sequence of (label, value)
        A value that is not a finite number draws no bar but is still written.
    width, bar : int
        Width of the chart and height of one bar, in pixels.

    Returns
    -------
    str
        An ``<svg class="chart">`` element.
    """
    values = finite_values([v for _, v in pairs])
    top = max((abs(v) for v in values), default=1.0) or 1.0
    pad = 140
    parts = []
    for k, (name, amount) in enumerate(pairs):
        v = finite_values([amount])
        length = (width - pad - 60) * abs(v[0]) / top if v else 0
        y = k * (bar + 4)
        parts.append(
            f'<text x="{pad - 6}" y="{y + bar * 0.75}" text-anchor="end" font-size="12">'
            f"{escape(str(name)[:22])}</text>"
            f'<rect x="{pad}" y="{y}" width="{length:.1f}" height="{bar}" fill="#4a78c2"/>'
            f'<text x="{pad + length + 4:.1f}" y="{y + bar * 0.75}" font-size="12">'
            f"{escape(short_number(amount))}</text>"
        )
    height = len(pairs) * (bar + 4) + 4
    return f'<svg class="chart" role="img" width="{width}" height="{height}">{"".join(parts)}</svg>'


def paired_bars(ref: Sequence[float], cur: Sequence[float], *, width: int = 160,
                height: int = 40, title: str = "reference (grey) vs current (orange)") -> str:
    """Two histograms on the same bins: reference bars (grey) behind current (orange).

    Parameters
    ----------
    ref, cur : sequences of float of the same length
        Share (or count) per bin.
    width, height : int
        Size in pixels.
    title : str
        Tooltip of the chart.

    Returns
    -------
    str
        An ``<svg>`` element.
    """
    top = max(max(ref, default=0), max(cur, default=0)) or 1.0
    step = width / max(len(ref), 1)
    bars = []
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        x = i * step
        for share, color, inset in ((r, "#9e9e9e", 0.0), (c, "#f28e2b", step * 0.3)):
            h = height * share / top
            bars.append(f'<rect x="{x + inset:.1f}" y="{height - h:.1f}" '
                        f'width="{max(step * 0.7 - 0.5, 0.5):.1f}" height="{h:.1f}" '
                        f'fill="{color}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
            f"<title>{escape(title)}</title>{''.join(bars)}</svg>")


def heat_map(matrix: Sequence[Sequence[Any]], labels: Sequence[Any], *, cell: int = 28) -> str:
    """A square matrix (e.g. a confusion or agreement matrix) as a blue heat map.

    Parameters
    ----------
    matrix : sequence of rows
        Cells that are not finite numbers are drawn white.
    labels : sequence
        Row and column names (shortened on the axes, whole in each cell's tooltip).
    cell : int
        Side of a cell, in pixels.

    Returns
    -------
    str
        An ``<svg class="chart">`` element.
    """
    flat = finite_values([v for row in matrix for v in row])
    top = max(flat) if flat else 1.0
    n = len(matrix)
    pad = 60
    parts = []
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            vals = finite_values([v])
            t = vals[0] / top if vals and top > 0 else 0.0
            shade = int(255 - 200 * t)
            parts.append(
                f'<rect x="{pad + j * cell}" y="{pad + i * cell}" width="{cell}" height="{cell}" '
                f'fill="rgb({shade},{shade},255)"><title>{escape(_label(labels, i))}'
                f" / {escape(_label(labels, j))}: {escape(v)}</title></rect>"
            )
    for k, name in enumerate(labels[:n]):
        parts.append(
            f'<text x="{pad - 4}" y="{pad + k * cell + cell * 0.65}" text-anchor="end" '
            f'font-size="11">{escape(str(name)[:10])}</text>'
        )
        parts.append(
            f'<text x="{pad + k * cell + cell / 2}" y="{pad - 6}" text-anchor="middle" '
            f'font-size="11">{escape(str(name)[:6])}</text>'
        )
    size = pad + n * cell + 4
    return f'<svg class="chart" role="img" width="{size}" height="{size}">{"".join(parts)}</svg>'


def _label(labels: Sequence[Any], i: int) -> Any:
    return labels[i] if i < len(labels) else i


def pixel_image(values: Sequence[float], *, size: int = 160) -> str:
    """Square pixel features as a grayscale image (dark = high, like ink on paper).

    Parameters
    ----------
    values : sequence of float
        ``side * side`` intensities, row by row.
    size : int
        Width and height in pixels.

    Returns
    -------
    str
        An ``<svg class="pixels">`` element.
    """
    side = int(math.isqrt(len(values)))
    top = max(max(values), 1e-12)
    cell = size / side
    rects = []
    for i, v in enumerate(values):
        shade = 255 - int(round(255 * max(v, 0.0) / top))
        x, y = (i % side) * cell, (i // side) * cell
        rects.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell + 0.5:.1f}" height="{cell + 0.5:.1f}" '
            f'fill="rgb({shade},{shade},{shade})"/>'
        )
    return (
        f'<svg class="pixels" role="img" aria-label="pixel image" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">{"".join(rects)}</svg>'
    )
