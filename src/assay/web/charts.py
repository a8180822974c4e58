"""Inline SVG charts, rendered on the server: no JavaScript, no CDN, works offline.

The templates' chart helpers: each draws with a primitive of :mod:`assay._charts`
(which escapes every text part, so a label such as ``<script>`` shows as text) and
returns it as ``Markup``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from assay import _charts

__all__ = ["bar_svg", "figure", "heatmap_svg", "line_svg", "metric_svg", "pixel_svg", "pixel_values"]


def pixel_values(row: dict[str, Any]) -> list[float] | None:
    """The ``pixel_0 .. pixel_{n-1}`` values of a row when n is a square, else None."""
    names = [k for k in row if k.startswith("pixel_") and k[6:].isdigit()]
    side = int(math.isqrt(len(names)))
    if len(names) < 4 or side * side != len(names):
        return None
    values = _charts.finite_values([row.get(f"pixel_{i}") for i in range(len(names))])
    return values if len(values) == len(names) else None


def pixel_svg(values: Sequence[float], *, size: int = 160) -> Markup:
    """A grayscale image of square pixel features (see :func:`assay._charts.pixel_image`)."""
    return Markup(_charts.pixel_image(values, size=size))


def heatmap_svg(
    matrix: Sequence[Sequence[Any]], labels: Sequence[Any], *, cell: int = 28
) -> Markup:
    """A square matrix as a blue heat map (see :func:`assay._charts.heat_map`)."""
    return Markup(_charts.heat_map(matrix, labels, cell=cell))


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
    return Markup(_charts.bar_chart(pairs, width=width, bar=bar))


def line_svg(series: dict[str, Sequence[Any]], *, width: int = 480, height: int = 180) -> Markup:
    """One polyline per named series over its index (see :func:`assay._charts.index_lines`)."""
    return Markup(_charts.index_lines(series, width=width, height=height))


def metric_svg(
    metric: str, points: Sequence[dict[str, Any]], *, width: int = 560, height: int = 260
) -> Markup:
    """A metric over runs with its 95% interval as a band (``{"run", "value", "low",
    "high"}`` each; see :func:`assay.web.summaries.headline_series`)."""
    def column(key: str) -> list[float]:
        return [float("nan") if p.get(key) is None else float(p[key]) for p in points]

    series = _charts.LineSeries(
        x=list(range(1, len(points) + 1)), y=column("value"), label=metric,
        low=column("low"), high=column("high"), markers=True,
    )
    return Markup(_charts.line_chart([series], x_label="run (oldest first)", y_label=metric,
                                     width=width, height=height))


_FIGURES = ("slices", "paired_class", "matrix", "curve", "runs", "windows", "distribution")


def figure(kind: str, *args: Any, **kwargs: Any) -> Markup:
    """A chart with its table on demand: ``assay._charts.<kind>_figure(*args, **kwargs)``."""
    if kind not in _FIGURES:
        raise ValueError(f"no figure {kind!r}; figures: {', '.join(_FIGURES)}")
    return Markup(getattr(_charts, f"{kind}_figure")(*args, **kwargs))
