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
    "BarSeries",
    "LineSeries",
    "bar_chart",
    "cell_text",
    "escape",
    "figure",
    "finite_values",
    "heat_map",
    "index_lines",
    "interval_bars",
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
    xs: _Scale,
    ys: _Scale,
    box: tuple[float, float, float, float],
    x_label: str,
    y_label: str,
    x_names: Sequence[str] | None = None,
) -> list[str]:
    left, top, right, bottom = box
    out = [
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="#999"/>'
    ]
    if x_names is not None:
        xticks: list[float] = [float(i + 1) for i in range(len(x_names))]
    else:
        xticks = _log_ticks(xs.low, xs.high) if xs.log else nice_ticks(xs.low, xs.high)
    for k, t in enumerate(xticks):
        px = float(xs(t))
        name = _fmt(t) if x_names is None else str(x_names[k])[:14]
        out.append(
            f'<line x1="{px:.1f}" y1="{bottom}" x2="{px:.1f}" y2="{bottom + 5}" stroke="#555"/>'
        )
        out.append(
            f'<text x="{px:.1f}" y="{bottom + 18}" text-anchor="middle">{escape(name)}</text>'
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
            f'<circle class="mark" cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{color}"/>'
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
    x_names: Sequence[str] | None = None,
    events: Sequence[tuple[float, str]] = (),
    reference: tuple[float, str] | None = None,
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
    x_names : sequence of str, optional
        Names of the points 1, 2, ... of a categorical x axis (e.g. runs or windows).
    events : sequence of (x, text)
        Marked as red triangles on the x axis with the text as tooltip (e.g. alerts).
    reference : (y, text), optional
        A dashed horizontal line with its text (e.g. a reference accuracy).

    Returns
    -------
    str
        An ``<svg>`` element; each marker has class ``mark``, each event ``event``.
    """
    box = (64.0, 36.0 if title else 16.0, width - 16.0, height - 48.0 - 18.0 * len(series))
    x_lo, x_hi = _range(series, "x", 0.0)
    if x_names is not None:
        x_lo, x_hi = 0.6, len(x_names) + 0.4
    if log_x:
        x_lo = max(x_lo, 1e-12)
    xs = _Scale(x_lo, x_hi, box[0], box[2], log_x)
    y_lo, y_hi = _range(series, "y", 0.05)
    if reference is not None and math.isfinite(reference[0]):
        y_lo, y_hi = min(y_lo, reference[0]), max(y_hi, reference[0])
    ys = _Scale(y_lo, y_hi, box[3], box[1], False)
    parts = [_svg_open(width, height, "line chart")]
    if title:
        parts.append(
            f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
            f"{escape(title)}</text>"
        )
    parts += _axes(xs, ys, box, x_label, y_label, x_names)
    parts += _reference_line(reference, xs, ys, box)
    parts += _event_marks(events, xs, box)
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


def _svg_open(width: int, height: int, label: str, cls: str = "chart") -> str:
    """The opening ``<svg>`` tag: scales down with its container (viewBox)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        'font-family="sans-serif" font-size="11">'
    )


def _reference_line(
    reference: tuple[float, str] | None, xs: _Scale, ys: _Scale, box: tuple[float, ...]
) -> list[str]:
    if reference is None or not math.isfinite(reference[0]):
        return []
    py = float(ys(reference[0]))
    return [
        f'<line class="reference" x1="{box[0]}" y1="{py:.1f}" x2="{box[2]}" y2="{py:.1f}" '
        'stroke="#555" stroke-dasharray="4 3"/>',
        f'<text x="{box[2] - 4}" y="{py - 4:.1f}" text-anchor="end" fill="#555">'
        f"{escape(reference[1])}</text>",
    ]


def _event_marks(
    events: Sequence[tuple[float, str]], xs: _Scale, box: tuple[float, ...]
) -> list[str]:
    out = []
    for x, text in events:
        px = float(xs(x))
        out.append(
            f'<g class="event"><line x1="{px:.1f}" y1="{box[1]}" x2="{px:.1f}" y2="{box[3]}" '
            'stroke="#c0392b" stroke-opacity="0.35" stroke-width="6"/>'
            f'<path d="M{px - 6:.1f},{box[1] - 2} L{px + 6:.1f},{box[1] - 2} L{px:.1f},'
            f'{box[1] + 8}Z" fill="#c0392b"/><title>{escape(text)}</title></g>'
        )
    return out


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


def paired_bars(
    ref: Sequence[float],
    cur: Sequence[float],
    *,
    width: int = 160,
    height: int = 40,
    title: str = "reference (grey) vs current (orange)",
) -> str:
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
            bars.append(
                f'<rect x="{x + inset:.1f}" y="{height - h:.1f}" '
                f'width="{max(step * 0.7 - 0.5, 0.5):.1f}" height="{h:.1f}" '
                f'fill="{color}"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f"<title>{escape(title)}</title>{''.join(bars)}</svg>"
    )


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
                f'<rect class="mark" x="{pad + j * cell}" y="{pad + i * cell}" width="{cell}" '
                f'height="{cell}" fill="rgb({shade},{shade},255)">'
                f"<title>{escape(_label(labels, i))} / {escape(_label(labels, j))}: "
                f"{escape(cell_text(v))}</title></rect>"
            )
            if vals and cell >= 22 and vals[0] != 0:
                parts.append(
                    f'<text x="{pad + j * cell + cell / 2}" y="{pad + i * cell + cell * 0.65}" '
                    f'text-anchor="middle" font-size="10" fill="{"#fff" if t > 0.6 else "#222"}">'
                    f"{escape(_cut(cell_text(vals[0]), 4))}</text>"
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
    return _svg_open(size, size, "heat map") + "".join(parts) + "</svg>"


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


@dataclass
class BarSeries:
    """One set of bars of :func:`interval_bars`, one value per category.

    Attributes
    ----------
    label : str
        Legend text.
    values : sequence of float
        One per category; a value that is not a finite number draws no bar.
    low, high : sequences of float, optional
        A 95% interval per value, drawn as a whisker.
    color : str, optional
        CSS colour; defaults to the palette.
    """

    label: str
    values: Sequence[Any]
    low: Sequence[Any] | None = None
    high: Sequence[Any] | None = None
    color: str | None = None


def _at(values: Sequence[Any] | None, i: int) -> float | None:
    if values is None or i >= len(values):
        return None
    found = finite_values([values[i]])
    return found[0] if found else None


def _bar_domain(series: Sequence[BarSeries], reference: float | None) -> tuple[float, float]:
    every = [
        v
        for s in series
        for seq in (s.values, s.low, s.high)
        if seq is not None
        for v in finite_values(list(seq))
    ] + ([reference] if reference is not None else [])
    lo, hi = min(every + [0.0]), max(every + [0.0])
    if hi <= 1.0 and lo >= 0.0 and hi > 0.5:
        return 0.0, 1.0
    return lo, hi if hi > lo else lo + 1.0


def _one_bar(
    name: str, s: BarSeries, i: int, y: float, h: float, xs: _Scale, color: str
) -> list[str]:
    v = _at(s.values, i)
    if v is None:
        return [f'<text x="{xs.start + 4}" y="{y + h * 0.75:.1f}" fill="#777">no value</text>']
    x0, x1 = float(xs(0.0)), float(xs(v))
    lo, hi = _at(s.low, i), _at(s.high, i)
    tip = f"{name} ({s.label}): {_fmt(v)}" + (
        f" [95% interval {_fmt(lo)}, {_fmt(hi)}]" if lo is not None and hi is not None else ""
    )
    out = [
        f'<rect class="mark" x="{min(x0, x1):.1f}" y="{y:.1f}" width="{abs(x1 - x0):.1f}" '
        f'height="{h:.1f}" fill="{color}"><title>{escape(tip)}</title></rect>'
    ]
    end = x1
    if lo is not None and hi is not None:
        a, b, mid = float(xs(lo)), float(xs(hi)), y + h / 2
        end = max(end, b)
        out.append(
            f'<path d="M{a:.1f},{mid:.1f}H{b:.1f}M{a:.1f},{y + 2:.1f}V{y + h - 2:.1f}'
            f'M{b:.1f},{y + 2:.1f}V{y + h - 2:.1f}" stroke="#222" stroke-width="1.2"/>'
        )
    out.append(f'<text x="{end + 4:.1f}" y="{y + h * 0.75:.1f}">{escape(_fmt(v))}</text>')
    return out


def interval_bars(
    labels: Sequence[Any],
    series: Sequence[BarSeries],
    *,
    reference: tuple[float, str] | None = None,
    x_label: str = "",
    width: int = 640,
    bar: int = 14,
    label_width: int = 150,
) -> str:
    """Horizontal bars per category, one per series, with 95% intervals as whiskers.

    Parameters
    ----------
    labels : sequence
        Category names (shortened on the axis, whole in each bar's tooltip).
    series : sequence of BarSeries
        Two series draw paired bars (e.g. before and after).
    reference : (value, text), optional
        A dashed vertical line (e.g. human-level performance).
    x_label : str
        Name of the values.
    width, bar, label_width : int
        Width of the chart, height of one bar and width of the label column, in pixels.

    Returns
    -------
    str
        An ``<svg class="chart">`` element; each bar has class ``mark``.
    """
    legend = 18 if len(series) > 1 or reference is not None else 0
    group = bar * len(series) + 8
    top = 8 + legend
    height = int(top + group * len(labels) + 40)
    lo, hi = _bar_domain(series, reference[0] if reference else None)
    xs = _Scale(lo, hi, label_width, width - 48, False)
    parts = [_svg_open(width, height, x_label or "bar chart")]
    bottom = top + group * len(labels)
    for t in nice_ticks(lo, hi):
        px = float(xs(t))
        parts.append(
            f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{bottom}" stroke="#eee"/>'
            f'<text x="{px:.1f}" y="{bottom + 14}" text-anchor="middle">{escape(_fmt(t))}</text>'
        )
    parts.append(
        f'<text x="{(label_width + width - 48) / 2}" y="{bottom + 30}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    for i, name in enumerate(labels):
        y0 = top + group * i + 4
        parts.append(
            f'<text x="{label_width - 6}" y="{y0 + group / 2:.1f}" text-anchor="end">'
            f"<title>{escape(name)}</title>{escape(_cut(name, label_width // 7))}</text>"
        )
        for k, s in enumerate(series):
            color = escape(s.color or PALETTE[k % len(PALETTE)])
            parts += _one_bar(str(name), s, i, y0 + k * bar, bar - 2, xs, color)
    parts += _bar_legend(series, reference, xs, top, bottom, label_width)
    parts.append("</svg>")
    return "".join(parts)


def _cut(text: Any, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "\u2026"


def _bar_legend(
    series: Sequence[BarSeries],
    reference: tuple[float, str] | None,
    xs: _Scale,
    top: float,
    bottom: float,
    left: float,
) -> list[str]:
    out = []
    x = left
    if len(series) > 1:
        for k, s in enumerate(series):
            color = escape(s.color or PALETTE[k % len(PALETTE)])
            out.append(
                f'<rect x="{x}" y="4" width="12" height="10" fill="{color}"/>'
                f'<text x="{x + 16}" y="13">{escape(_cut(s.label, 30))}</text>'
            )
            x += 24 + 7 * min(len(s.label), 30)
    if reference is not None and math.isfinite(reference[0]):
        px = float(xs(reference[0]))
        out.append(
            f'<line class="reference" x1="{px:.1f}" y1="{top - 2}" x2="{px:.1f}" '
            f'y2="{bottom}" stroke="#111" stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<line x1="{x}" y1="9" x2="{x + 18}" y2="9" stroke="#111" stroke-dasharray="5 3"/>'
            f'<text x="{x + 22}" y="13">{escape(reference[1])}</text>'
        )
    return out


def cell_text(value: Any) -> str:
    """A value as a table shows it: numbers with 3 significant digits (thousands with
    separators), ``None`` and non-finite numbers as an en dash, never ``nan``."""
    if value is None or isinstance(value, bool):
        return "\u2013" if value is None else ("yes" if value else "no")
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return _fmt(float(value)) if math.isfinite(float(value)) else "\u2013"
    return str(value)


def figure(
    svg: str,
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    name: str = "",
) -> str:
    """A chart with its caption and the same numbers as a table on demand (``<details>``).

    Parameters
    ----------
    svg : str
        The chart (from a function of this module).
    caption : str
        One sentence saying what the chart shows (escaped).
    headers, rows : sequences
        The table behind the chart; cells are written with :func:`cell_text`.
    name : str
        A ``data-chart`` name (tests and styles find the figure by it).

    Returns
    -------
    str
        A ``<figure class="chart-figure">`` element.
    """
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell_text(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return (
        f'<figure class="chart-figure" data-chart="{escape(name)}">'
        f'<div class="chart-box">{svg}</div>'
        f"<figcaption>{escape(caption)}</figcaption>"
        f"<details><summary>show as a table</summary>"
        f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        "</details></figure>"
    )


# Figures of the analyses: the same chart and table in the web app and in Jupyter.


def _num_or_none(value: Any) -> float | None:
    found = finite_values([value])
    return found[0] if found else None


def slices_figure(rows: Sequence[dict[str, Any]], *, metric: str, hlp: Any = None) -> str:
    """A bar per slice with its 95% interval, and the human-level line.

    Parameters
    ----------
    rows : sequence of dict
        ``tag`` (or ``slice``), ``n``, ``metric``, ``metric_low``, ``metric_high``, and
        optionally ``hlp``, ``gain``, ``action``.
    metric : str
        The metric's name (e.g. ``accuracy``).
    hlp : float, optional
        Overall human-level performance; drawn as a dashed line when finite.

    Returns
    -------
    str
        A figure (see :func:`figure`).
    """
    names = [r.get("tag") or r.get("slice") for r in rows]
    bars = BarSeries(
        metric,
        [r.get("metric") for r in rows],
        [r.get("metric_low") for r in rows],
        [r.get("metric_high") for r in rows],
        color="#4a78c2",
    )
    level = _num_or_none(hlp)
    svg = interval_bars(
        names,
        [bars],
        reference=None if level is None else (level, f"human level {_fmt(level)}"),
        x_label=f"{metric} (bar) with its 95% interval (whisker)",
    )
    table = [
        (
            n,
            r.get("n"),
            r.get("metric"),
            r.get("metric_low"),
            r.get("metric_high"),
            r.get("hlp"),
            r.get("gain"),
            r.get("action") or "",
        )
        for n, r in zip(names, rows, strict=True)
    ]
    return figure(
        svg,
        f"{metric} per slice; the dashed line is the human-level {metric}"
        if level is not None
        else f"{metric} per slice (no human-level estimate)",
        ["slice", "rows", metric, "low", "high", "human level", "potential gain", "action"],
        table,
        name="slices",
    )


def paired_class_figure(
    versions: dict[str, dict[str, Any]],
    *,
    what: str = "agreement",
    name: str = "classes",
    per: str = "class",
) -> str:
    """One bar per class and version (e.g. agreement under label book v1 and v2).

    Parameters
    ----------
    versions : dict of str to dict
        Per version name, the value per class (classes of every version are drawn).
    what : str
        What the values are.
    name : str
        The figure's ``data-chart`` name.
    per : str
        What a category is (``class``, ``check``).
    """
    classes: list[str] = []
    for per_class in versions.values():
        classes += [str(c) for c in per_class if str(c) not in classes]
    series = [
        BarSeries(
            label,
            [{str(k): v for k, v in per.items()}.get(c) for c in classes],
            color=("#9e9e9e", "#1f77b4", "#2ca02c")[k % 3] if len(versions) > 1 else None,
        )
        for k, (label, per) in enumerate(versions.items())
    ]
    svg = interval_bars(classes, series, x_label=what, bar=11 if len(series) > 1 else 14)
    rows = [[c] + [s.values[i] for s in series] for i, c in enumerate(classes)]
    return figure(
        svg,
        f"{what} per {per}" + (f": {' vs '.join(versions)}" if len(versions) > 1 else ""),
        [per, *versions],
        rows,
        name=name,
    )


def matrix_figure(
    matrix: Sequence[Sequence[Any]], labels: Sequence[Any], *, caption: str, name: str
) -> str:
    """A square matrix (confusion between labelers or between truth and prediction) as a
    heat map, and as a table on demand."""
    svg = heat_map(matrix, [str(x) for x in labels], cell=30 if len(labels) <= 12 else 18)
    rows = [[str(labels[i]), *row] for i, row in enumerate(matrix)]
    return figure(svg, caption, ["", *[str(x) for x in labels]], rows, name=name)


def curve_figure(series: Sequence[dict[str, Any]], *, metric: str, n: Any = None) -> str:
    """The learning curves (measured points, fitted band, clean vs as labelled).

    Parameters
    ----------
    series : sequence of dict
        ``label``, ``x``, ``y`` and optionally ``low``, ``high``, ``color``,
        ``dashed``, ``markers`` (as a curve analysis records them).
    metric : str
        The y axis.
    n : int, optional
        The current number of training examples, marked on the x axis.
    """
    lines = [
        LineSeries(
            x=s["x"],
            y=[np.nan if v is None else v for v in s["y"]],
            label=str(s["label"]),
            low=None if s.get("low") is None else [np.nan if v is None else v for v in s["low"]],
            high=None if s.get("high") is None else [np.nan if v is None else v for v in s["high"]],
            color=s.get("color"),
            dashed=bool(s.get("dashed")),
            markers=bool(s.get("markers")),
        )
        for s in series
        if s.get("x")
    ]
    events = [] if _num_or_none(n) is None else [(float(n), f"today: {cell_text(n)} examples")]
    svg = line_chart(
        lines,
        x_label="training examples (log scale)",
        y_label=metric,
        log_x=True,
        width=720,
        height=380,
        events=events,
    )
    rows = [
        (s.label, x, y)
        for s in lines
        for x, y in zip(np.asarray(s.x).tolist(), np.asarray(s.y).tolist(), strict=False)
    ]
    return figure(
        svg,
        f"{metric} against the number of training examples; dots are "
        "measured, lines and bands fitted (95%)",
        ["curve", "training examples", metric],
        rows,
        name="curve",
    )


def runs_figure(
    names: Sequence[str],
    values: Sequence[Any],
    low: Sequence[Any],
    high: Sequence[Any],
    *,
    metric: str,
    data: Sequence[str] | None = None,
) -> str:
    """A metric over runs (experiments), with its 95% interval as a band."""
    series = LineSeries(
        x=list(range(1, len(names) + 1)),
        y=[np.nan if _num_or_none(v) is None else float(v) for v in values],
        label=f"{metric} (95% interval shaded)",
        low=[np.nan if _num_or_none(v) is None else v for v in low],
        high=[np.nan if _num_or_none(v) is None else v for v in high],
        markers=True,
    )
    svg = line_chart(
        [series],
        x_label="experiment (oldest first)",
        y_label=metric,
        x_names=list(names),
        width=640,
        height=300,
    )
    rows = [
        (n, (data or [""] * len(names))[i], values[i], low[i], high[i]) for i, n in enumerate(names)
    ]
    return figure(
        svg,
        f"{metric} of each experiment on the frozen evaluation set",
        ["experiment", "data", metric, "low", "high"],
        rows,
        name="runs",
    )


def windows_figure(
    names: Sequence[str],
    series: dict[str, tuple[Sequence[Any], Sequence[Any] | None, Sequence[Any] | None]],
    *,
    y_label: str,
    caption: str,
    events: Sequence[tuple[float, str]] = (),
    reference: tuple[float, str] | None = None,
    name: str = "windows",
) -> str:
    """Values over monitoring windows (lines with optional bands), alerts as events.

    Parameters
    ----------
    names : sequence of str
        The windows, oldest first.
    series : dict of str to (values, low, high)
        One line per name.
    y_label, caption : str
    events : sequence of (window position starting at 1, text)
    reference : (value, text), optional
    name : str
        The figure's ``data-chart`` name.
    """

    def arr(vals: Sequence[Any] | None) -> list[float] | None:
        if vals is None:
            return None
        return [np.nan if _num_or_none(v) is None else float(v) for v in vals]

    lines = [
        LineSeries(
            x=list(range(1, len(names) + 1)),
            y=arr(v) or [],
            label=label,
            low=arr(lo),
            high=arr(hi),
            markers=True,
        )
        for label, (v, lo, hi) in series.items()
    ]
    svg = line_chart(
        lines,
        x_label="window",
        y_label=y_label,
        x_names=list(names),
        width=640,
        height=300 + 18 * max(len(lines) - 1, 0),
        events=events,
        reference=reference,
    )
    rows = [
        [
            n,
            *[vals[i] if i < len(vals) else None for vals, _, _ in series.values()],
            "; ".join(t for x, t in events if int(x) == i + 1),
        ]
        for i, n in enumerate(names)
    ]
    return figure(svg, caption, ["window", *series, "alerts"], rows, name=name)


def distribution_figure(
    column: str, ref: Sequence[float], cur: Sequence[float], edges: Sequence[Any] | None = None
) -> str:
    """Reference (grey) vs current (orange) histogram of one column, and as a table."""
    svg = paired_bars(ref, cur, width=240, height=60)
    if edges is not None and len(edges) == len(ref) + 1:  # numeric: bin edges
        bins = [f"{cell_text(a)} to {cell_text(b)}" for a, b in zip(edges, edges[1:], strict=False)]
    elif edges is not None:  # categorical: the categories
        bins = [str(e) for e in edges]
    else:
        bins = [str(i + 1) for i in range(len(ref))]
    rows = [
        (bins[i] if i < len(bins) else i, r, c)
        for i, (r, c) in enumerate(zip(ref, cur, strict=False))
    ]
    return figure(
        svg,
        f"{column}: reference (grey) vs current (orange)",
        ["bin", "reference", "current"],
        rows,
        name=f"dist-{column}",
    )
