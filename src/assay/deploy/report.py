"""The drift report: a table, a dataset-level verdict, text and self-contained HTML.

The HTML has no external assets (no CDN): a table and one small inline SVG chart per
column (reference bars in grey, current bars in orange).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay._charts import paired_bars

__all__ = ["DriftReport", "render_summary", "schema_changes"]

#: Columns of :attr:`DriftReport.columns` shown in the HTML table.
HTML_COLUMNS = ["type", "role", "method", "statistic", "p_adjusted", "effect_size",
                "threshold", "psi", "missing_ref", "missing_cur", "drifted", "finding"]
CHART_W, CHART_H = 160, 40
MISSING_COLUMN, NEW_COLUMN = "missing column", "new column"


@dataclass
class DriftReport:
    """Result of :func:`assay.drift`.

    Attributes
    ----------
    columns : pandas DataFrame, indexed by column name
        type, role, method, statistic, p_value, p_adjusted, effect_size, effect_name,
        threshold, psi, missing_ref, missing_cur, missing_p_value, missing_p_adjusted,
        n_ref, n_cur, unseen, schema, n_unparsed, distribution_drifted, missing_drifted,
        schema_drift, drifted, finding. ``schema`` names a schema change ("missing
        column", "new column", "type changed: number -> string", "vector length
        changed"; empty when none); ``n_unparsed`` counts values of a numeric column
        that do not parse as numbers.
    drifted : bool
        The dataset-level verdict (see :attr:`rule`).
    rule : str
        The dataset-level rule, in words.
    charts : dict
        Per column, histogram data behind the inline charts.
    params : dict
        alpha, correction, thresholds, n_ref, n_cur.
    """

    columns: pd.DataFrame
    drifted: bool
    rule: str
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, table: pd.DataFrame, charts: dict[str, dict[str, Any]],
              key_columns: Iterable[str], drift_share: float,
              params: dict[str, Any]) -> DriftReport:
        """Apply the dataset-level rule to a finished table.

        The dataset drifted when the share of drifted reference columns (new columns
        are not counted) reaches ``drift_share``, when any column has schema drift (a
        reference column is missing or changed type), or when a key column drifted.
        """
        keys = sorted(k for k in key_columns if k in table.index)
        tested = table[table["schema"] != NEW_COLUMN]
        share = float(tested["drifted"].mean()) if len(tested) else 0.0
        key_hit = bool(table.loc[keys, "drifted"].any()) if keys else False
        schema_hit = bool(tested["schema_drift"].any())
        rule = (f"share of drifted columns >= {drift_share:g}, or any schema drift "
                "(a missing column or a changed type)")
        if keys:
            rule += f", or any key column drifted ({', '.join(keys)})"
        params = {**params, "drift_share": drift_share, "share_drifted": share,
                  "key_columns": keys}
        return cls(table, bool(share >= drift_share or key_hit or schema_hit), rule, charts,
                   params)

    @property
    def schema_changes(self) -> dict[str, list[str]]:
        """Schema changes by kind: ``missing``, ``type_changed``, ``new`` and ``other``.

        ``missing`` and ``type_changed`` (and ``other``, e.g. a changed vector length)
        are schema drift; ``new`` columns are only reported.
        """
        return schema_changes(self.columns)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        return [str(c) for c in self.columns.index[self.columns["drifted"].to_numpy(bool)]]

    def summary(self) -> str:
        """A few lines of plain text (for logs and the CLI)."""
        return render_summary(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: verdict, rule, params and one record per column."""
        records = []
        for name, row in self.columns.iterrows():
            records.append({"column": str(name), **{k: _json_value(v) for k, v in row.items()}})
        return {"drifted": self.drifted, "rule": self.rule,
                "params": _json_value(self.params), "schema": self.schema_changes,
                "columns": records, "charts": _json_value(self.charts)}

    def to_html(self) -> str:
        """A self-contained HTML fragment: verdict, table and inline SVG charts."""
        verdict = "DRIFT" if self.drifted else "no drift"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ["column", "chart", *HTML_COLUMNS])
        body = "".join(self._html_row(str(name), row) for name, row in self.columns.iterrows())
        return (
            '<div class="assay-drift-report">'
            f"<p><strong>Dataset: {verdict}</strong> "
            f"({len(self.drifted_columns)} of {len(self.columns)} columns drifted; "
            f"rule: {html.escape(self.rule)}; reference rows {self.params.get('n_ref')}, "
            f"current rows {self.params.get('n_cur')})</p>"
            f"{_html_schema(self.schema_changes)}"
            f'<table border="1" style="border-collapse:collapse;font-size:12px">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def _html_row(self, name: str, row: pd.Series) -> str:
        style = ' style="background:#fde2e1"' if row["drifted"] else ""
        cells = [html.escape(name), _svg(self.charts.get(name, {}))]
        cells += [html.escape(_fmt(row[c])) for c in HTML_COLUMNS]
        return f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def schema_changes(table: pd.DataFrame) -> dict[str, list[str]]:
    """Column names by schema change, from a drift table's ``schema`` column.

    Returns
    -------
    dict of str to list of str
        ``missing``, ``type_changed``, ``other`` (schema drift) and ``new`` (reported).
    """
    out: dict[str, list[str]] = {"missing": [], "type_changed": [], "other": [], "new": []}
    for name, change in zip(map(str, table.index), table["schema"].astype(str), strict=True):
        if change == MISSING_COLUMN:
            out["missing"].append(name)
        elif change == NEW_COLUMN:
            out["new"].append(name)
        elif change.startswith("type changed"):
            out["type_changed"].append(name)
        elif change:
            out["other"].append(name)
    return out


def _schema_line(changes: dict[str, list[str]]) -> str:
    parts = []
    for key, words in (("missing", "missing column(s)"), ("type_changed", "numeric column(s) now hold text"),
                       ("other", "changed shape"), ("new", "new column(s), not tested")):
        if changes[key]:
            parts.append(f"{words}: {', '.join(changes[key])}")
    return "schema: " + "; ".join(parts) if parts else ""


def _html_schema(changes: dict[str, list[str]]) -> str:
    line = _schema_line(changes)
    return f"<p><strong>{html.escape(line)}</strong></p>" if line else ""


def render_summary(report: DriftReport) -> str:
    """Plain-text summary of a :class:`DriftReport` (one line per drifted column)."""
    cols = report.columns
    lines = [
        f"dataset drifted: {'yes' if report.drifted else 'no'} "
        f"({len(report.drifted_columns)} of {len(cols)} columns; rule: {report.rule})"
    ]
    schema = _schema_line(report.schema_changes)
    if schema:
        lines.append(f"  {schema}")
    kinds = dict(zip(map(str, cols.index), cols["type"].astype(str), strict=True))
    findings = dict(zip(map(str, cols.index), cols["finding"].astype(str), strict=True))
    drifted = set(report.drifted_columns)
    for name in report.drifted_columns:
        lines.append(f"  {name} [{kinds[name]}]: {findings[name]}")
    for name, finding in findings.items():
        if name not in drifted and finding:
            lines.append(f"  note {name}: {finding}")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.3g}"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _svg(chart: dict[str, Any]) -> str:
    """Inline SVG bars: reference (grey) behind current (orange)."""
    if not chart:
        return ""
    return paired_bars(chart["ref"], chart["cur"], width=CHART_W, height=CHART_H)
