"""The shared SVG chart primitives (assay._charts): escaping, well-formed SVG, and one
chart maker behind the report, the web app and the drift report."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import markupsafe
import numpy as np
import pandas as pd
import pytest

from assay import _charts
from assay.deploy.report import DriftReport
from assay.web import charts as web_charts

NASTY = "<script>alert('x')</script> & \"q\""
SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [el.text or "" for el in root.iter() if el.tag.endswith(("text", "title"))]


def test_escape_is_markupsafes() -> None:
    for text in (NASTY, "plain", 7, 0.5, None, "&amp;"):
        assert _charts.escape(text) == str(markupsafe.escape(str(text)))


@pytest.mark.parametrize("draw", [
    lambda: _charts.line_chart([_charts.LineSeries([1, 10, 100], [0.2, 0.5, 0.7], NASTY,
                                                   low=[0.1, 0.4, 0.6], high=[0.3, 0.6, 0.8])],
                               title=NASTY, x_label=NASTY, y_label="acc", log_x=True),
    lambda: _charts.index_lines({"a<b & 'c": [0.1, None, 0.3], "b": [1, 2]}),
    lambda: _charts.bar_chart([("a<b & 'c", 3), ("b", float("nan")), ("c", -1.5)]),
    lambda: _charts.paired_bars([0.2, 0.8], [0.5, 0.5], title=NASTY),
    lambda: _charts.heat_map([[1, 2], [3, "x"]], [NASTY, "b"]),
])
def test_every_chart_is_well_formed_svg_with_text_escaped(draw: object) -> None:
    svg = draw()  # type: ignore[operator]
    assert "<script>" not in svg
    assert any(t.startswith(("<script>", "a<b & 'c")) for t in _texts(svg))  # shown as text


def test_pixel_image_draws_one_square_per_pixel_dark_for_high() -> None:
    svg = _charts.pixel_image([0.0, 4.0, 2.0, 0.0], size=40)
    rects = list(ET.fromstring(svg).iter("rect"))
    assert len(rects) == 4
    assert [r.get("fill") for r in rects] == ["rgb(255,255,255)", "rgb(0,0,0)",
                                              "rgb(127,127,127)", "rgb(255,255,255)"]


def test_line_chart_log_axis_ticks_and_nan_points_left_out() -> None:
    svg = _charts.line_chart([_charts.LineSeries([10, 100, 1000], [0.5, np.nan, 0.9], "a")],
                             log_x=True)
    polyline = next(ET.fromstring(svg).iter(f"{SVG}polyline"))
    assert len(polyline.get("points", "").split()) == 2
    assert {"10", "100", "1,000"} <= set(_texts(svg))


def test_web_helpers_are_the_shared_charts_as_markup() -> None:
    pairs = [("a", 2), ("b", 1)]
    bars = web_charts.bar_svg([{"k": "a", "v": 2}, {"k": "b", "v": 1}], key="k", value="v")
    assert isinstance(bars, markupsafe.Markup) and str(bars) == _charts.bar_chart(pairs)
    assert str(web_charts.heatmap_svg([[1]], ["a"])) == _charts.heat_map([[1]], ["a"])
    assert str(web_charts.line_svg({"a": [1, 2]})) == _charts.index_lines({"a": [1, 2]})
    assert str(web_charts.pixel_svg([1, 2, 3, 4])) == _charts.pixel_image([1, 2, 3, 4])


def test_drift_report_draws_its_histograms_with_paired_bars() -> None:
    table = pd.DataFrame({c: [v] for c, v in {
        "type": "number", "role": "feature", "method": "ks", "statistic": 0.5,
        "p_adjusted": 0.01, "effect_size": 0.5, "threshold": 0.1, "psi": 0.3,
        "missing_ref": 0.0, "missing_cur": 0.0, "drifted": True, "finding": "",
        "schema": "", "schema_drift": False}.items()}, index=["x"])
    chart = {"ref": [0.25, 0.75], "cur": [0.6, 0.4]}
    report = DriftReport.build(table, {"x": chart}, [], 0.5, {})
    assert _charts.paired_bars(chart["ref"], chart["cur"]) in report.to_html()


@pytest.mark.parametrize("draw", [
    lambda label: _charts.index_lines({label: [0.1, 0.3]}),
    lambda label: _charts.bar_chart([(label, 3)]),
    lambda label: _charts.heat_map([[1, 2], [3, 4]], [label, "b"]),
])
def test_long_labels_are_cut_before_escaping(draw: object) -> None:
    label = "a'b\"c<d>e&f" * 4  # every cut falls next to a character that needs escaping
    svg = draw(label)  # type: ignore[operator]
    shown = [t for t in _texts(svg) if t and label.startswith(t)]  # parses: no broken entity
    assert shown and all(len(t) in (6, 10, 22, 24) for t in shown if t != label)
