"""Plain text (<= 80 columns) and HTML for the numeric and label-set agreement reports."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fmt", "frame_records", "html_page", "text_table", "with_ci"]

WIDTH = 80


def fmt(value: Any, digits: int = 3) -> str:
    """A number for people: ``n/a`` for NaN, integers plainly, else ``digits`` decimals."""
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if np.isnan(number):
            return "n/a"
        if number.is_integer() and abs(number) < 1e15 and digits == 0:
            return str(int(number))
        return f"{number:.{digits}f}"
    return str(value)


def with_ci(value: float, ci: tuple[float, float] | None) -> str:
    """``0.712 [0.650, 0.771]``, or the value alone without an interval."""
    return f"{fmt(value)} [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else fmt(value)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "~"


def text_table(
    frame: pd.DataFrame, columns: dict[str, str], *, digits: dict[str, int] | None = None,
    max_rows: int = 10, indent: str = "  ",
) -> list[str]:
    """Rows of ``frame`` as aligned text lines no wider than 80 columns.

    Parameters
    ----------
    frame : DataFrame
    columns : dict
        Column of ``frame`` (``"index"`` for the index) -> header.
    digits : dict, optional
        Decimals per column (default 3).
    max_rows : int
        At most this many rows, then a line saying how many were left out.
    """
    digits = digits or {}
    shown = frame.head(max_rows)
    cells = [[fmt(shown.index[i] if col == "index" else shown[col].iloc[i], digits.get(col, 3))
              for col in columns] for i in range(len(shown))]
    headers = list(columns.values())
    widths = [max([len(h), *(len(r[j]) for r in cells)]) for j, h in enumerate(headers)]
    room = WIDTH - len(indent) - 2 * (len(widths) - 1)
    if sum(widths) > room:  # shrink the first (text) column
        widths[0] = max(6, widths[0] - (sum(widths) - room))
    lines = [indent + "  ".join(_clip(h, w).ljust(w) if j == 0 else _clip(h, w).rjust(w)
                                for j, (h, w) in enumerate(zip(headers, widths, strict=True)))]
    for r in cells:
        lines.append(indent + "  ".join(_clip(c, w).ljust(w) if j == 0 else c.rjust(w)
                                        for j, (c, w) in enumerate(zip(r, widths, strict=True))))
    if len(frame) > max_rows:
        lines.append(f"{indent}... {len(frame) - max_rows} more (see to_dict(), or --json)")
    return [line.rstrip()[:WIDTH] for line in lines]


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` (index included) as JSON-ready records (NaN -> None)."""
    out = frame.reset_index()
    return list(json.loads(out.to_json(orient="records", default_handler=str)))


def html_page(title: str, summary: str, tables: dict[str, pd.DataFrame]) -> str:
    """A self-contained HTML fragment: the summary, then each table (no JavaScript)."""
    parts = [f"<h2>{html.escape(title)}</h2>", f"<pre>{html.escape(summary)}</pre>"]
    for name, frame in tables.items():
        parts.append(f"<h3>{html.escape(name)}</h3>")
        parts.append(frame.head(200).to_html(float_format=lambda x: f"{x:.3f}", escape=True,
                                              na_rep="n/a", border=0))
    return "\n".join(parts)
