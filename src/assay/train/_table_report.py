"""The base of the error-analysis reports (slices, tag table, recommendations, curves)."""

from __future__ import annotations

import html
import json
from typing import Any

import pandas as pd

__all__ = ["TableReport"]


class TableReport:
    """Base of the report objects of error analysis: a DataFrame plus text and HTML.

    Subclasses set ``table`` (a DataFrame) and ``title`` and implement ``summary()``.
    """

    title: str = "report"
    table: pd.DataFrame

    def summary(self) -> str:  # pragma: no cover - overridden
        """One paragraph of plain text, for the CLI."""
        return f"{self.title}: {len(self.table)} rows"

    def to_html(self) -> str:
        """The report as an HTML fragment: a heading, the summary and the table."""
        summary = html.escape(self.summary()).replace("\n", "<br>")
        body = self.table.to_html(index=False, escape=True, float_format=_fmt, na_rep="")
        return f"<div class='assay-report'><h3>{html.escape(self.title)}</h3>" \
            f"<p>{summary}</p>{body}</div>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content: title, summary and the table's rows (NaN as None)."""
        rows = json.loads(self.table.to_json(orient="records", default_handler=str))
        return {"title": self.title, "summary": self.summary(), "rows": rows}

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self.table)} rows>\n{self.summary()}"


def _fmt(x: float) -> str:
    return f"{x:.4g}"
