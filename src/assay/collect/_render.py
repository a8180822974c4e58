"""Text and HTML rendering of an agreement report (no CDN, no JavaScript)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from assay.collect.agreement import AgreementReport

__all__ = ["heatmap_html", "report_html", "report_summary"]

_STATS = (
    ("percent_agreement", "percent agreement"),
    ("fleiss_kappa", "Fleiss' kappa"),
    ("krippendorff_alpha", "Krippendorff's alpha"),
    ("mean_cohen_kappa", "Cohen's kappa (mean over pairs)"),
    ("hlp", "human-level performance"),
)
_CI_KEY = {"mean_cohen_kappa": "cohen_kappa"}


def _fmt(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return "n/a" if np.isnan(x) else f"{x:.3f}"
    return str(x)


def _stat_lines(report: AgreementReport) -> list[tuple[str, str]]:
    rows = []
    for key, name in _STATS:
        val = _fmt(getattr(report, key))
        ci = report.ci.get(_CI_KEY.get(key, key))
        rows.append((name, f"{val} [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else val))
    return rows


def report_summary(report: AgreementReport) -> str:
    """A few lines of plain text: sizes, the statistics with intervals, weakest classes."""
    lines = [
        f"{report.n_annotations} annotations of {report.n_items} items by "
        f"{report.n_annotators} annotators, {len(report.classes)} classes "
        f"({report.n_single} items with a single label left out; level={report.level})"
    ]
    lines += [f"  {name}: {val}" for name, val in _stat_lines(report)]
    pc = report.per_class.dropna(subset=["agreement"]).sort_values("agreement").head(3)
    for cls, row in pc.iterrows():
        other = "" if pd.isna(row["confused_with"]) else f", confused with {row['confused_with']}"
        lines.append(f"  class {cls}: agreement {_fmt(row['agreement'])}{other}")
    return "\n".join(lines)


def _colour(v: float, lo: float, hi: float) -> str:
    if not np.isfinite(v):
        return "#eeeeee"
    t = 0.0 if hi <= lo else min(max((v - lo) / (hi - lo), 0.0), 1.0)
    r, g = int(215 + (26 - 215) * t), int(48 + (150 - 48) * t)
    return f"rgba({r},{g},65,{0.25 + 0.6 * abs(t - 0.5) * 2:.2f})"


def heatmap_html(frame: pd.DataFrame, *, title: str, lo: float = 0.0, hi: float = 1.0) -> str:
    """An HTML table whose cells are coloured red (``lo``) to green (``hi``).

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_cols), numeric
    title : str
        Caption.
    lo, hi : float
        Values mapped to the ends of the colour scale.
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for idx, row in frame.iterrows():
        cells = "".join(
            f'<td style="background:{_colour(float(v), lo, hi)};text-align:right">'
            f"{_fmt(float(v))}</td>"
            for v in row.to_numpy(dtype=np.float64)
        )
        body.append(f"<tr><th>{html.escape(str(idx))}</th>{cells}</tr>")
    return (
        f'<table class="assay-heatmap"><caption>{html.escape(title)}</caption>'
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _table(frame: pd.DataFrame, caption: str) -> str:
    shown = frame.map(lambda v: _fmt(v) if isinstance(v, (float, np.floating)) else v)
    return f"<h4>{html.escape(caption)}</h4>" + shown.to_html(escape=True, border=0)


def report_html(report: AgreementReport) -> str:
    """A self-contained HTML fragment: statistics, heat maps, per-class and items."""
    stats = "".join(
        f"<tr><th>{html.escape(n)}</th><td>{html.escape(v)}</td></tr>"
        for n, v in _stat_lines(report)
    )
    conf = report.confusion
    rows = conf.sum(axis=1).replace(0, np.nan)
    parts = [
        '<div class="assay-agreement">',
        f"<h3>Agreement: {report.n_annotations} annotations, {report.n_items} items, "
        f"{report.n_annotators} annotators</h3>",
        f"<table>{stats}</table>",
        heatmap_html(conf.div(rows, axis=0), title="class x class: share of pairs (row = "
                     "first annotator's class)"),
        _table(report.per_class.drop(columns=["examples"]), "Per class"),
    ]
    if report.n_annotators <= 40:
        parts.append(heatmap_html(report.cohen_kappa, title="Cohen's kappa, annotator pairs",
                                  lo=-0.2, hi=1.0))
    parts.append(_table(report.annotators, "Annotators"))
    dis = report.disagreements.head(20).assign(labels=lambda d: d["labels"].map(str))
    parts.append(_table(dis, "Most disagreed-on items"))
    parts.append("</div>")
    return "\n".join(parts)
