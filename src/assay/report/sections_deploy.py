"""Report section of the deploy phase: monitors, windows, alerts."""

from __future__ import annotations

import html
from typing import Any

from assay.report.build import register_section
from assay.store.workspace import Workspace


def _window_rows(windows: list[dict[str, Any]]) -> str:
    rows = []
    for w in windows:
        report = w["report"]
        drifted = [c["column"] for c in report.get("columns", []) if c.get("drifted")]
        perf = report.get("performance") or {}
        est = (perf.get("estimated") or {}).get("estimated_accuracy")
        real = (perf.get("realised") or {}).get("accuracy")
        alerts = (
            "<br>".join(html.escape(a) for a in w["alerts"]) or "<span class='good'>none</span>"
        )
        rows.append(
            f"<tr><td>{w['window']}</td><td>{html.escape(str(report.get('source', '')))}</td>"
            f"<td class='num'>{w['rows']}</td><td class='num'>{len(drifted)}</td>"
            f"<td class='num'>{'-' if est is None else f'{est:.3f}'}</td>"
            f"<td class='num'>{'-' if real is None else f'{real:.3f}'}</td>"
            f"<td class='{'bad' if w['alerts'] else ''}'>{alerts}</td></tr>"
        )
    return "".join(rows)


@register_section("monitoring")
def monitoring_section(ws: Workspace) -> dict[str, Any] | None:
    """One table per monitor: a row per window with drift, performance and alerts."""
    monitors = ws.monitors.list()
    if not monitors:
        return None
    parts = []
    for mon in monitors:
        windows = ws.monitors.windows(mon["name"])
        ref_acc = mon["config"].get("reference_accuracy")
        head = (
            f"<h3>{html.escape(mon['name'])} <span class='muted'>reference {html.escape(str(mon['reference']))}"
            + (
                f", recipe {html.escape(mon['recipe'])}, reference accuracy {ref_acc:.3f}"
                if ref_acc
                else ""
            )
            + "</span></h3>"
        )
        parts.append(
            head + "<table><tr><th>window</th><th>source</th><th>rows</th><th>drifted columns</th>"
            "<th>estimated accuracy</th><th>realised accuracy</th><th>alerts</th></tr>"
            + _window_rows(windows)
            + "</table>"
        )
    queued = ws.review.list(source="drift_sample", status=None)
    parts.append(
        f"<p>{len(queued)} production items were sent to the review queue for labeling.</p>"
    )
    return {
        "title": "Deploy: drift, performance and feedback",
        "intro": "Each production batch is one window, checked against the stored reference "
        "profile: a column drifts only when the change is both significant and large enough to "
        "matter; accuracy is estimated from calibrated confidences before labels arrive.",
        "html": "".join(parts),
    }
