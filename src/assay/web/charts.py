"""Inline SVG charts, rendered on the server: no JavaScript, no CDN, works offline.

Every function takes plain numbers and labels and returns ``Markup`` whose text parts
are escaped, so a label such as ``<script>`` shows as text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

__all__ = ["bar_svg", "heatmap_svg", "line_svg", "pixel_svg", "pixel_values"]


def _finite(values: Sequence[Any]) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def pixel_values(row: dict[str, Any]) -> list[float] | None:
    """The ``pixel_0 .. pixel_{n-1}`` values of a row when n is a square, else None."""
    names = [k for k in row if k.startswith("pixel_") and k[6:].isdigit()]
    side = int(math.isqrt(len(names)))
    if len(names) < 4 or side * side != len(names):
        return None
    values = _finite([row.get(f"pixel_{i}") for i in range(len(names))])
    return values if len(values) == len(names) else None


def pixel_svg(values: Sequence[float], *, size: int = 160) -> Markup:
    """A grayscale image of square pixel features (dark = high, like ink on paper)."""
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
    return Markup(
        f'<svg class="pixels" role="img" aria-label="pixel image" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">{"".join(rects)}</svg>'
    )


def heatmap_svg(
    matrix: Sequence[Sequence[Any]], labels: Sequence[Any], *, cell: int = 28
) -> Markup:
    """A square matrix (e.g. a confusion or agreement matrix) as a blue heat map."""
    flat = _finite([v for row in matrix for v in row])
    top = max(flat) if flat else 1.0
    n = len(matrix)
    pad = 60
    parts = []
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            vals = _finite([v])
            t = vals[0] / top if vals and top > 0 else 0.0
            shade = int(255 - 200 * t)
            parts.append(
                f'<rect x="{pad + j * cell}" y="{pad + i * cell}" width="{cell}" height="{cell}" '
                f'fill="rgb({shade},{shade},255)"><title>{escape(str(labels[i]) if i < len(labels) else i)}'
                f" / {escape(str(labels[j]) if j < len(labels) else j)}: {escape(str(v))}</title></rect>"
            )
    for k, name in enumerate(labels[:n]):
        parts.append(
            f'<text x="{pad - 4}" y="{pad + k * cell + cell * 0.65}" text-anchor="end" '
            f'font-size="11">{escape(str(name))[:10]}</text>'
        )
        parts.append(
            f'<text x="{pad + k * cell + cell / 2}" y="{pad - 6}" text-anchor="middle" '
            f'font-size="11">{escape(str(name))[:6]}</text>'
        )
    size = pad + n * cell + 4
    return Markup(
        f'<svg class="chart" role="img" width="{size}" height="{size}">{"".join(parts)}</svg>'
    )


def bar_svg(
    pairs: Sequence[Any],
    *,
    key: str | None = None,
    value: str | None = None,
    width: int = 420,
    bar: int = 18,
) -> Markup:
    """Horizontal bars for (label, value) pairs, or dicts read with ``key``/``value``."""
    if key is not None and value is not None:
        pairs = [(d.get(key), d.get(value)) for d in pairs]
    values = _finite([v for _, v in pairs])
    top = max((abs(v) for v in values), default=1.0) or 1.0
    pad = 140
    parts = []
    for k, (name, amount) in enumerate(pairs):
        v = _finite([amount])
        length = (width - pad - 60) * abs(v[0]) / top if v else 0
        y = k * (bar + 4)
        parts.append(
            f'<text x="{pad - 6}" y="{y + bar * 0.75}" text-anchor="end" font-size="12">'
            f"{escape(str(name))[:22]}</text>"
            f'<rect x="{pad}" y="{y}" width="{length:.1f}" height="{bar}" fill="#4a78c2"/>'
            f'<text x="{pad + length + 4:.1f}" y="{y + bar * 0.75}" font-size="12">'
            f"{escape(_short(amount))}</text>"
        )
    height = len(pairs) * (bar + 4) + 4
    return Markup(
        f'<svg class="chart" role="img" width="{width}" height="{height}">{"".join(parts)}</svg>'
    )


def line_svg(series: dict[str, Sequence[Any]], *, width: int = 480, height: int = 180) -> Markup:
    """One polyline per named series over its index (e.g. drift per window)."""
    colours = ["#4a78c2", "#c2554a", "#3f9a5b", "#9a7a3f", "#7a4ac2", "#333333"]
    allv = _finite([v for vals in series.values() for v in vals])
    lo, hi = (min(allv), max(allv)) if allv else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1.0
    longest = max((len(v) for v in series.values()), default=1)
    parts = []
    for k, (name, vals) in enumerate(series.items()):
        pts = []
        for i, v in enumerate(vals):
            f = _finite([v])
            if f:
                x = 40 + (width - 50) * (i / max(longest - 1, 1))
                y = height - 20 - (height - 30) * (f[0] - lo) / (hi - lo)
                pts.append(f"{x:.1f},{y:.1f}")
        colour = colours[k % len(colours)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(pts)}">'
            f"<title>{escape(str(name))}</title></polyline>"
        )
        parts.append(
            f'<text x="{width - 4}" y="{14 + 13 * k}" text-anchor="end" font-size="11" '
            f'fill="{colour}">{escape(str(name))[:24]}</text>'
        )
    parts.append(
        f'<text x="2" y="14" font-size="10">{_short(hi)}</text>'
        f'<text x="2" y="{height - 20}" font-size="10">{_short(lo)}</text>'
    )
    return Markup(
        f'<svg class="chart" role="img" width="{width}" height="{height}">{"".join(parts)}</svg>'
    )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
