"""The report's line chart: re-exported from :mod:`assay._charts`, where it now lives.

Kept so that ``from assay.report.svg import LineSeries, line_chart, nice_ticks`` still
works; new code imports :mod:`assay._charts`.
"""

from __future__ import annotations

from assay._charts import PALETTE, LineSeries, line_chart, nice_ticks

__all__ = ["PALETTE", "LineSeries", "line_chart", "nice_ticks"]
