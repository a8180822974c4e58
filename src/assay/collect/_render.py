"""Text and HTML rendering of an agreement report (no CDN, no JavaScript)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay._validation import check_in

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


def _cohen_name(report: AgreementReport) -> str:
    pairs = f"{report.n_cohen_pairs} pair{'s' if report.n_cohen_pairs != 1 else ''}"
    if report.cohen_min_shared > 1:
        pairs += f" sharing >= {report.cohen_min_shared} items"
    return f"Cohen's kappa (mean over {pairs})"


def _stat_lines(report: AgreementReport) -> list[tuple[str, str]]:
    rows = []
    for key, label in _STATS:
        name = _cohen_name(report) if key == "mean_cohen_kappa" else label
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


def _diverging(v: float, lo: float, hi: float) -> str:
    """Red (``lo``) to green (``hi``): for kappa-like statistics, where low is bad."""
    if not np.isfinite(v):
        return "#eeeeee"
    t = 0.0 if hi <= lo else min(max((v - lo) / (hi - lo), 0.0), 1.0)
    r, g = int(215 + (26 - 215) * t), int(48 + (150 - 48) * t)
    return f"rgba({r},{g},65,{0.25 + 0.6 * abs(t - 0.5) * 2:.2f})"


def _sequential(v: float, top: float, rgb: tuple[int, int, int]) -> str:
    """White at 0 to ``rgb`` at ``top`` (a count or share: 0 is neutral, not bad)."""
    if not np.isfinite(v):
        return "#eeeeee"
    t = 0.0 if top <= 0 else min(max(v / top, 0.0), 1.0)
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.85 * t:.2f})"


_CONFUSED = (230, 97, 1)  # orange: off-diagonal cells, the ambiguous class pairs
_AGREED = (90, 160, 90)  # muted green: the diagonal


def _cell_colours(values: np.ndarray, *, scale: str, lo: float, hi: float) -> list[list[str]]:
    """Background colour of every cell (see :func:`heatmap_html`)."""
    n_rows, n_cols = values.shape
    if scale == "diverging":
        return [[_diverging(values[i, j], lo, hi) for j in range(n_cols)] for i in range(n_rows)]
    off = ~np.eye(n_rows, n_cols, dtype=bool)
    finite = np.where(np.isfinite(values), values, 0.0)
    top_off = float(finite[off].max(initial=0.0))
    return [
        [_sequential(values[i, j], top_off, _CONFUSED) if off[i, j]
         else _sequential(values[i, j], 1.0, _AGREED) for j in range(n_cols)]
        for i in range(n_rows)
    ]


def heatmap_html(
    frame: pd.DataFrame, *, title: str, lo: float = 0.0, hi: float = 1.0,
    scale: str = "diverging",
) -> str:
    """An HTML table with coloured cells.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_cols), numeric
    title : str
        Caption.
    lo, hi : float
        ``scale="diverging"``: values mapped to red (``lo``) and green (``hi``); for
        kappa-like statistics where low means poor agreement.
    scale : {"diverging", "sequential"}, default "diverging"
        ``"sequential"`` (for a class x class co-occurrence matrix of shares): 0 is
        white; off-diagonal cells (confusions) go to saturated orange at the largest
        off-diagonal value, so the most ambiguous class pairs stand out; diagonal
        cells (agreement) use a muted green on a 0-to-1 scale.
    """
    check_in(scale, ("diverging", "sequential"), name="scale", func="heatmap_html")
    values = frame.to_numpy(dtype=np.float64)
    colours = _cell_colours(values, scale=scale, lo=lo, hi=hi)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for i, idx in enumerate(frame.index):
        cells = "".join(
            f'<td style="background:{colours[i][j]};text-align:right">{_fmt(float(v))}</td>'
            for j, v in enumerate(values[i])
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
        heatmap_html(conf.div(rows, axis=0), scale="sequential",
                     title="class x class: share of pairs (row = first annotator's class; "
                     "orange = confusion, darker = more often)"),
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
