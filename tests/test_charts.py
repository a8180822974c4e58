"""The shared SVG chart primitives (assay._charts): escaping, well-formed SVG, and one
chart maker behind the report, the web app and the drift report."""

from __future__ import annotations

import re
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


def test_slices_figure_draws_a_bar_per_slice_and_says_when_there_is_no_human_level() -> None:
    rows = [{"tag": "ink=light", "n": 40, "metric": 0.7, "metric_low": 0.6, "metric_high": 0.8,
             "hlp": float("nan"), "gain": 0.05},
            {"tag": "<b>wide</b>", "n": 9, "metric": float("nan"), "metric_low": None,
             "metric_high": None, "hlp": None, "gain": None}]
    with_line = _charts.slices_figure(rows, metric="accuracy", hlp=0.9)
    assert with_line.count('class="mark"') == 1  # the missing value draws no bar
    assert 'class="reference"' in with_line and "human level 0.9" in with_line
    without = _charts.slices_figure(rows, metric="accuracy", hlp=float("nan"))
    assert 'class="reference"' not in without and "no human-level estimate" in without
    for html in (with_line, without):
        assert "nan" not in html.lower().replace("no human", "")
        assert "<b>wide" not in html and "&lt;b&gt;wide" in html  # escaped, never markup
        assert html.count("<tr>") == 3  # header + one row per slice in the table


def test_interval_bars_put_the_whisker_on_the_interval() -> None:
    svg = _charts.interval_bars(["a"], [_charts.BarSeries("m", [0.5], [0.25], [0.75])],
                                width=400, label_width=100)
    whisker = re.search(r'<path d="M([0-9.]+),[0-9.]+H([0-9.]+)', svg)
    assert whisker is not None
    left, right = 100.0, 400.0 - 48  # the value axis runs 0..1 over these pixels
    low, high = (float(x) for x in whisker.groups())
    assert low == pytest.approx(left + 0.25 * (right - left), abs=0.1)
    assert high == pytest.approx(left + 0.75 * (right - left), abs=0.1)


def test_windows_figure_marks_alerts_and_lists_them_in_its_table() -> None:
    html = _charts.windows_figure(
        ["window 1", "window 2"], {"realised accuracy": ([0.9, 0.7], [0.85, 0.6], [0.95, 0.8])},
        y_label="accuracy", caption="c", events=[(2.0, "accuracy fell")],
        reference=(0.93, "reference"))
    assert html.count('class="mark"') == 2 and html.count('class="event"') == 1
    assert "<td>accuracy fell</td>" in html and 'class="reference"' in html


def test_cell_text_never_writes_nan() -> None:
    assert [_charts.cell_text(v) for v in (float("nan"), None, 1234, 0.12345, True)] == [
        "\u2013", "\u2013", "1,234", "0.123", "yes"]


def test_result_objects_draw_the_page_charts_in_jupyter() -> None:
    """Agreement, slice table and comparison: ``_repr_html_`` holds the same figures as
    the web pages, with no network reference."""
    from assay.collect.agreement import agreement
    from assay.train.slices import slice_table

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 60)
    rows = [(i, who, int(t if rng.random() < 0.8 else (t + 1) % 3))
            for i, t in enumerate(truth) for who in ("ann", "ben")]
    report = agreement(pd.DataFrame(rows, columns=["item", "annotator", "label"]), ci=False)
    html = report._repr_html_()
    assert 'data-chart="classes"' in html and 'data-chart="confusion"' in html
    assert html.count('class="mark"') == 3 + 9  # a bar per class, a cell per pair
    meta = pd.DataFrame({"ink": rng.choice(["light", "heavy"], 60)})
    pred = np.where(rng.random(60) < 0.8, truth, (truth + 1) % 3)
    table = slice_table(meta, truth, pred, by="ink", hlp=0.95, n_boot=50)
    assert table._repr_html_().count('class="mark"') == 2
    from assay import compare
    from assay.train.evaluate import evaluate_predictions as evaluate

    a = evaluate(truth, pred, n_boot=50)
    b = evaluate(truth, truth, n_boot=50)
    html = compare(a, b, names=("E1", "E2"), n_boot=50)._repr_html_()
    assert 'data-chart="compare"' in html and "E1" in html and "E2" in html
    for shown in (report._repr_html_(), table._repr_html_(), html):
        assert "http" not in shown.replace("http://www.w3.org/2000/svg", "")


def test_audit_report_draws_what_each_check_flagged_in_jupyter() -> None:
    from sklearn.datasets import load_digits

    from assay import audit

    x, _ = load_digits(return_X_y=True)
    frame = pd.DataFrame(x[:120], columns=[f"p{i}" for i in range(64)])
    frame = pd.concat([frame, frame.iloc[:3]], ignore_index=True)  # three exact copies
    report = audit(frame, label=None)
    html = report._repr_html_()
    assert 'data-chart="checks"' in html
    assert html.count('class="mark"') == len(report.summary)  # one bar per check
    exact = re.search(r"exact duplicate \(items flagged\): (\d+)", html)
    assert exact is not None and int(exact.group(1)) == report.summary["exact_duplicate"]["count"]
    assert report.summary["exact_duplicate"]["count"] >= 3
