"""Report sections of the train phase: label quality, error analysis, clean vs collect.

Each section is built from the latest recorded analysis of its kind (``audit``,
``slices``, ``curve``) and is omitted when none was run. Items render the way their
modality shows them: square ``pixel_*`` columns (e.g. the 8x8 digits) as small inline
PNG images, media files through :mod:`assay.modalities`, other rows as tables. Every
user-supplied text is escaped; the chart is redrawn from stored numbers.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay._charts import LineSeries, line_chart
from assay.report.build import register_section
from assay.store.workspace import Workspace

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion

__all__ = [
    "curve_chart",
    "item_renderer",
    "pixel_columns",
    "pixel_image_html",
]

RenderItem = Callable[[int], str]
_MAX_FIELDS = 12


def pixel_columns(frame: pd.DataFrame) -> list[str] | None:
    """``pixel_0 .. pixel_{n-1}`` when ``frame`` has them and n is a square >= 16."""
    n = sum(1 for c in frame.columns if str(c).startswith("pixel_") and str(c)[6:].isdigit())
    side = math.isqrt(n)
    names = [f"pixel_{i}" for i in range(n)]
    if n < 16 or side * side != n or any(c not in frame.columns for c in names):
        return None
    return names


def pixel_image_html(values: Any, *, size: int = 64, alt: str = "image") -> str:
    """A square grid of pixel intensities as an inline PNG (dark ink on white).

    Parameters
    ----------
    values : array-like of shape (side * side,)
        Intensities (any non-negative scale), row by row.
    size : int
        Width and height of the shown image, in pixels.
    alt : str
        Alternative text (escaped).
    """
    from PIL import Image

    arr = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0).clip(min=0.0)
    side = math.isqrt(arr.size)
    top = float(arr.max()) or 1.0
    gray = (255 - np.rint(255 * arr / top)).astype(np.uint8).reshape(side, side)
    image = Image.fromarray(gray, mode="L").resize((size, size), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" width="{size}" height="{size}" '
        f'alt="{html.escape(alt)}" style="image-rendering:pixelated;border:1px solid #ccc">'
    )


def _row_html(row: pd.Series) -> str:
    fields = list(row.items())[:_MAX_FIELDS]
    cells = "; ".join(f"{html.escape(str(k))}={html.escape(str(v)[:80])}" for k, v in fields)
    more = f" (+{len(row) - _MAX_FIELDS} more)" if len(row) > _MAX_FIELDS else ""
    return f"<code>{cells}{more}</code>"


def item_renderer(version: DatasetVersion, frame: pd.DataFrame) -> RenderItem:
    """``render(position) -> html`` for the rows of ``frame`` (a version's rows).

    Pixel columns become an image; image and audio files render through their
    modality (thumbnail, player); texts as escaped text; other rows as their fields.
    """
    pixels = pixel_columns(frame)
    if pixels is not None:
        grid = frame[pixels].to_numpy(dtype=np.float64)
        return lambda pos: pixel_image_html(grid[pos], alt=f"row {pos}")
    if version.modality in ("image", "audio", "text") and version.roles.media in frame.columns:
        from assay.modalities import get_modality
        from assay.store.features import media_paths

        modality = get_modality(version.modality)
        items = (
            frame["text"].astype(str).tolist()
            if version.modality == "text" and "text" in frame.columns
            else media_paths(version, frame)
        )
        return lambda pos: modality.render_html(items[pos])
    skip = {version.roles.id}
    shown = frame[[c for c in frame.columns if c not in skip]]
    # one row as objects: a row of int and float columns would read 3.0 for 3
    return lambda pos: _row_html(shown.iloc[pos : pos + 1].astype(object).iloc[0])


def _num(value: Any, fmt: str = ".3f") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "-"
    return "-" if not math.isfinite(v) else format(v, fmt)


def _interval(r: dict[str, Any], mid: str, low: str, high: str, fmt: str = ".3f") -> str:
    return f"{_num(r.get(mid), fmt)} [{_num(r.get(low), fmt)}, {_num(r.get(high), fmt)}]"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """An HTML table from already-escaped cells."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


# ----------------------------------------------------------------- label quality
def _check_rows(checks: dict[str, Any]) -> list[list[str]]:
    return [
        [
            _esc(name),
            str(int(s.get("count", 0))),
            _num(s.get("rate"), ".1%"),
            _num(s.get("score_mean")),
        ]
        for name, s in checks.items()
    ]


def _worst_label_html(ws: Workspace, record: dict[str, Any], k: int = 12) -> str:
    table = ws.analysis_table(record)
    if table is None or record.get("version") is None:
        return ""
    issues = table.to_pandas()
    if "is_label_issue" not in issues.columns:
        return ""
    version = ws.dataset(record["version"])
    frame = version.to_pandas()
    flagged = issues[issues["is_label_issue"].astype(bool)].sort_values("label_quality")
    positions = pd.Index(frame[version.roles.id].astype(str)).get_indexer(
        flagged["item_id"].astype(str).head(k)
    )
    render = item_renderer(version, frame)
    rows = [
        [
            render(int(pos)),
            _esc(r["item_id"]),
            _esc(r["given_label"]),
            _esc(r["suggested_label"]),
            _num(r["label_quality"]),
        ]
        for pos, (_, r) in zip(positions, flagged.head(k).iterrows(), strict=True)
        if pos >= 0
    ]
    if not rows:
        return "<p>No label issue was flagged.</p>"
    title = f"<h4>Most likely label errors ({len(flagged)} flagged, worst {len(rows)})</h4>"
    return title + _table(["item", "id", "given", "suggested", "label quality"], rows)


def _audit_block(ws: Workspace, record: dict[str, Any], k: int) -> str:
    result = record["result"]
    queued = result.get("queued") or {}
    summary = _table(
        ["check", "flagged", "rate", "mean score"], _check_rows(result.get("checks", {}))
    )
    note = (
        f"<p>{sum(queued.values())} flagged items were entered into the review queue "
        f"({_esc(', '.join(f'{k}: {v}' for k, v in queued.items()))}).</p>"
        if queued
        else ""
    )
    head = f"<h3>Audit of {_esc(record['version'])}</h3>"
    return head + summary + note + _worst_label_html(ws, record, k)


def _latest_per_version(records: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The newest audit of each version (records come newest first), oldest version first."""
    seen: dict[Any, dict[str, Any]] = {}
    for record in records:
        seen.setdefault(record["version"], record)
    latest = sorted(seen.values(), key=lambda r: r["id"])
    return latest[-limit:]


@register_section("label_quality")
def label_quality_section(ws: Workspace) -> dict[str, Any] | None:
    """The audits (newest per version): issues per check and the worst label errors."""
    records = _latest_per_version(ws.analyses("audit"), limit=4)
    if not records:
        return None
    blocks = [_audit_block(ws, r, 12 if i == 0 else 6) for i, r in enumerate(records)]
    return {
        "title": "Train: label quality (" + ", ".join(str(r["version"]) for r in records) + ")",
        "intro": "Out-of-sample predictions of the fixed recipe (repeated cross-validation, "
        "blended with nearest-neighbour votes) rank every label; a label quality near 0 "
        "means the given label is very likely wrong. Outliers and duplicates come from "
        "nearest-neighbour distances in feature space.",
        "html": "".join(blocks),
    }


# ----------------------------------------------------------------- error analysis
def _tag_rows(rows: list[dict[str, Any]], gain: str = ".2%") -> list[list[str]]:
    return [
        [
            _esc(r.get("tag")),
            str(r.get("n")),
            _num(r.get("share"), ".1%"),
            _interval(r, "metric", "metric_low", "metric_high"),
            _num(r.get("hlp")),
            _num(r.get("gap")),
            _interval(r, "gain", "gain_low", "gain_high", gain),
            "low HLP: clarify labels" if r.get("is_low_hlp") else "",
            _esc(r.get("note")),
        ]
        for r in rows
    ]


def _slice_rows(rows: list[dict[str, Any]], fmt: str = ".1%") -> list[list[str]]:
    return [
        [
            _esc(r.get("slice")),
            str(r.get("size")),
            _interval(r, "error_rate", "error_rate_low", "error_rate_high", fmt),
            _num(r.get("lift"), ".2f"),
            _num(r.get("q_value"), ".2g"),
            "yes" if r.get("is_significant") else "no",
        ]
        for r in rows
    ]


def _rec_rows(*tables: dict[str, Any] | None) -> list[list[str]]:
    return [
        [_esc(r.get("slice")), _esc(r.get("action")), _esc(r.get("evidence"))]
        for t in tables
        for r in (t or {}).get("rows", [])
        if r.get("action") != "no action"
    ]


def _metric_name(metric: str) -> str:
    """A metric as a sentence starts with it: ``Accuracy``, ``MAE``, ``Micro F1``."""
    words = metric.replace("_", " ").split()
    return " ".join(w.upper() if len(w) <= 3 else w.capitalize() for w in words)


@register_section("error_analysis")
def error_analysis_section(ws: Workspace) -> dict[str, Any] | None:
    """The latest slices analysis: tag table, discovered slices, recommendations."""
    records = ws.analyses("slices")
    if not records:
        return None
    record = records[0]
    res = record["result"]
    tag = res.get("tag_table") or {}
    metric = str(res.get("metric") or "accuracy")
    gain = ".2%" if res.get("greater_is_better", True) else ".4g"  # a loss: its own units
    parts = [
        f"<p>{_esc(_metric_name(metric))} (out of sample) {_num(res.get(metric))}; "
        f"HLP: {_esc(res.get('hlp_source'))}.</p>",
        "<h3>Tag table (sorted by potential gain)</h3>",
        _table(
            ["tag", "n", "share", f"{metric} [95%]", "HLP", "gap", "gain [95%]", "flag", "note"],
            _tag_rows(tag.get("rows", []), gain),
        )
        if tag.get("rows")
        else "<p>No tag columns: only the slices found over the other columns.</p>",
    ]
    found = res.get("slices")
    if found is not None:
        losses = found.get("errors") == "loss"
        rows = _slice_rows(found.get("rows", []), ".4g" if losses else ".1%")
        error = "mean error [95%]" if losses else "error rate [95%]"
        parts += [
            "<h3>Discovered slices (SliceLine)</h3>",
            f"<p>{_esc(found.get('summary', '')).replace(chr(10), '<br>')}</p>",
            _table(["slice", "size", error, "lift", "q-value", "significant"], rows)
            if rows
            else "",
        ]
    recs = _rec_rows(res.get("tag_recommendations"), res.get("slice_recommendations"))
    parts += [
        "<h3>Recommendations</h3>",
        _table(["slice", "action", "evidence"], recs)
        if recs
        else "<p>No slice is significantly worse than overall: no action.</p>",
    ]
    return {
        "title": f"Train: error analysis ({record['version']})",
        "intro": "Where does the model err, and what would help? Each tag's accuracy against "
        "human-level performance (HLP); the potential gain is the gap to HLP times the "
        "tag's share of the data.",
        "html": "".join(parts),
    }


# ----------------------------------------------------------------- clean vs collect
def curve_chart(series: list[dict[str, Any]]) -> str:
    """Redraw the clean-vs-collect chart from stored series (see ``assay curve``)."""
    lines = [
        LineSeries(
            x=s["x"],
            y=s["y"],
            label=str(s.get("label", "")),
            low=s.get("low"),
            high=s.get("high"),
            color=_color(s.get("color")),
            dashed=bool(s.get("dashed")),
            markers=bool(s.get("markers")),
        )
        for s in series
    ]
    return line_chart(
        lines,
        title="Clean vs collect",
        log_x=True,
        x_label="number of training examples",
        y_label="accuracy",
    )


def _color(value: Any) -> str | None:
    text = str(value or "")
    return text if text.startswith("#") and len(text) <= 9 and text[1:].isalnum() else None


@register_section("clean_vs_collect")
def clean_vs_collect_section(ws: Workspace) -> dict[str, Any] | None:
    """The latest curve analysis: accuracy vs training examples, clean vs noisy."""
    records = ws.analyses("curve")
    if not records:
        return None
    record = records[0]
    res = record["result"]
    est, low, high = (res.get("equivalent_extra") or [None, None, None])[:3]
    rows = [
        [
            _esc(r.get("scenario")),
            _num(r.get("n_train"), ",.0f"),
            _interval(r, "accuracy", "low", "high"),
        ]
        for r in res.get("table", [])
    ]
    headline = (
        f"<p><b>Cleaning the labels ~ collecting {_num(est, ',.0f')} more examples</b> "
        f"[95% interval {_num(low, ',.0f')}, {_num(high, ',.0f')}]; estimated label noise "
        f"{_num(res.get('noise_rate'), '.1%')}. Verdict: <b>{_esc(res.get('verdict'))}</b>.</p>"
    )
    chart = curve_chart(res.get("series", [])) if res.get("series") else ""
    return {
        "title": f"Train: clean vs collect ({record['version']})",
        "intro": "The fixed recipe trained on nested subsamples, as labelled and with the "
        "flagged labels removed, both scored against the estimated true labels; a power law "
        "with a bootstrap band is fitted to each.",
        "html": headline
        + chart
        + _table(["scenario", "training examples", "accuracy [95%]"], rows),
    }
