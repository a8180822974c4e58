"""HTML for an :class:`~assay.train.audit._report.AuditReport` (every value escaped)."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from assay._validation import whole_number
from assay.train.audit.target_leakage import leak_advice

if TYPE_CHECKING:
    from assay.train.audit._report import AuditReport

__all__ = ["report_html"]

_STYLE = (
    "<style>.assay-audit table{border-collapse:collapse;margin:.5em 0}"
    ".assay-audit td,.assay-audit th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:left;vertical-align:top}"
    ".assay-audit .assay-warning{border-left:4px solid #b45309;background:#fffbeb;"
    "padding:4px 8px;max-width:60em}</style>"
)


def _summary_table(report: AuditReport) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{s['count']}</td><td>{s['rate']:.2%}</td>"
        f"<td>{s['score_mean']:.3f}</td></tr>"
        for name, s in report.summary.items()
    )
    head = "<tr><th>check</th><th>flagged</th><th>rate</th><th>mean score</th></tr>"
    return f"<table>{head}{rows}</table>"


def _worst_table(report: AuditReport, check: str, k: int, render: Callable[[int], str]) -> str:
    """The ``k`` worst examples of ``check``, each named by its item id."""
    worst = report.worst(check, k)
    result = report.results[check]
    positions = report.issues.index.get_indexer(worst.index)
    sets = result.issues.get(f"{check}_set")
    partners = {} if sets is None else report._pairs(check, sets.to_numpy())
    extra = "<th>given</th><th>suggested</th>" if check == "label" else ""
    extra += "<th>duplicate of</th>" if sets is not None else ""
    rows = []
    for pos, (_, row) in zip(positions, worst.iterrows(), strict=True):
        cells = (
            f"<td>{html.escape(_label_text(row['given_label']))}</td>"
            f"<td>{html.escape(_label_text(row['suggested_label']))}</td>"
            if check == "label"
            else ""
        )
        if sets is not None:
            partner = partners.get(int(pos))
            cells += f"<td>{'' if partner is None else _id(report, partner)}</td>"
        rows.append(
            f"<tr><td>{_id(report, int(pos))}</td><td>{row[result.score_column]:.3f}</td>"
            f"<td>{'yes' if row[result.flag_column] else 'no'}</td>{cells}"
            f"<td>{render(int(pos))}</td></tr>"
        )
    head = f"<tr><th>id</th><th>score</th><th>flagged</th>{extra}<th>item</th></tr>"
    return f"<h4>{html.escape(check)}: worst {len(worst)}</h4><table>{head}{''.join(rows)}</table>"


def _label_text(value: object) -> str:
    """A label as a cell shows it: a whole number without ``.0`` (a count of 601 bikes),
    a set of labels joined, nothing for a missing suggestion."""
    value = whole_number(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


def _id(report: AuditReport, position: int) -> str:
    return html.escape(str(report.item_id(position)))


def report_html(report: AuditReport, k: int, render: Callable[[int], str]) -> str:
    """Render the summary and the ``k`` worst examples of every check that flagged any.

    Parameters
    ----------
    report : AuditReport
    k : int
        Examples shown per check.
    render : callable
        ``render(position) -> html`` for one example (it must escape what it shows).
    """
    parts = [
        _STYLE,
        '<div class="assay-audit">',
        f"<h3>Data audit: {len(report.issues)} examples</h3>",
        *(f'<p class="assay-warning">{html.escape(leak_advice(leak))}</p>'
          for leak in report.target_leaks),
        _summary_table(report),
    ]
    for name, s in report.summary.items():
        if s["count"] > 0:
            parts.append(_worst_table(report, name, k, render))
    parts.append("</div>")
    return "".join(parts)
