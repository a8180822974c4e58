"""The analysis pages' views without a browser: missing numbers read as words, runs are
named like the CLI, and a bad comparison says why."""

from __future__ import annotations

import re

from assay.store.workspace import Workspace

SLICES = {
    "metric": "accuracy", "score": 0.8, "hlp_source": None,
    "tag_table": {"summary": "overall accuracy 0.800", "rows": [
        {"tag": "ink=light", "n": 40, "metric": 0.7, "metric_low": 0.6, "metric_high": 0.8,
         "hlp": None, "gain": None},
        {"tag": "ink=heavy", "n": 80, "metric": 0.85, "metric_low": 0.78, "metric_high": 0.9,
         "hlp": 0.95, "gain": 0.04, "gain_low": 0.01, "gain_high": 0.07}]},
    "tag_recommendations": {"rows": [{"slice": "ink=light", "action": "collect more data",
                                      "evidence": "accuracy 0.700 vs 0.800"}]},
}


def test_slices_page_says_no_human_level_estimate_instead_of_nan(
    client_for, web_ws: Workspace
) -> None:
    web_ws.record_analysis("slices", SLICES, dataset="digits@v1")
    client, _ = client_for("vic")
    html = client.get("/analyses/slices").text
    visible = re.sub(r"<details>.*?</details>", "", html, flags=re.S)
    assert "no human-level estimate" in visible and not re.search(r"\bnan\b", visible, re.I)
    assert "collect more data" in visible
    assert html.count('class="mark"') >= 2  # a bar per slice
    view = client.get("/analyses/slices?format=json").json()["view"]
    assert view["hlp"] is None and [r["hlp"] for r in view["rows"]] == [None, 0.95]
    overview = client.get("/?format=json").json()
    card = next(c for c in overview["cards"] if c["name"] == "coverage")
    assert card["value"] == "0.800" and "no human-level estimate" in card["meaning"]


def test_experiments_are_named_like_the_cli_and_a_bad_comparison_says_why(
    client_for, web_ws: Workspace
) -> None:
    for accuracy in (0.8, 0.9):
        web_ws.record_analysis("experiment", {"recipe": "r", "evaluation": {"overall": {
            "accuracy": {"value": accuracy, "low": accuracy - 0.05, "high": accuracy + 0.05}}}},
            dataset="digits@v1")
    client, _ = client_for("vic")
    body = client.get("/analyses/experiments?format=json").json()
    assert [r["name"] for r in body["runs"]] == ["E2", "E1"]
    assert [p["name"] for p in body["view"]["series"]["accuracy"]] == ["E1", "E2"]
    same = client.get("/analyses/experiments?format=json&a=E1&b=E1").json()["view"]
    assert same["comparison"] is None and "pick two different" in same["comparison_problem"]
    missing = client.get("/analyses/experiments?a=E7&b=E1")
    assert missing.status_code == 200 and "no experiment E7" in missing.text
    broken = client.get("/analyses/experiments?format=json&a=E1&b=E2").json()["view"]
    assert "lacks the field 'data'" in broken["comparison_problem"]  # these records are partial
    assert "#" not in re.sub(r"<details>.*?</details>", "", missing.text.split("<main>")[1],
                             flags=re.S).split("All runs")[1].split("</table>")[0]


def _curve(settled: bool | None) -> dict[str, object]:
    """A clean-vs-collect result as `run_curve` records it (red wine, a linear model)."""
    from assay.train.curves import tie_text

    extra = [0.0, 0.0, float("inf")]
    return {
        "metric": "mae", "greater_is_better": False, "n": 1599, "extra": 1599,
        "noise_rate": 0.03, "verdict": "collect", "verdict_settled": settled,
        "tie": tie_text(extra, 1599) if settled is False else None,
        "equivalent_extra": [0.0, 0.0, None], "table": [], "series": [],
        "summary": "cleaning ≈ collecting 0 more examples [95% interval 0, inf]",
    }


def test_a_curve_whose_interval_straddles_the_collected_examples_reads_as_a_tie(
    client_for, web_ws: Workspace
) -> None:
    web_ws.record_analysis("curve", _curve(settled=False), dataset="digits@v1")
    client, _ = client_for("vic")
    view = client.get("/analyses/curve?format=json").json()["view"]
    assert view["verdict_sentence"].startswith("A tie (by a nose: collect)")
    assert view["tie"].startswith("not settled") and "0 examples or more" in view["tie"]
    html = client.get("/analyses/curve").text
    assert 'id="tie"' in html and "Not settled: what cleaning is worth" in html
    card = next(c for c in client.get("/?format=json").json()["cards"] if c["name"] == "size")
    assert card["value"] == "tie (collect)"
    web_ws.record_analysis("curve", _curve(settled=True), dataset="digits@v1")
    view = client.get("/analyses/curve?format=json").json()["view"]
    assert view["verdict_sentence"].startswith("Collect more data first") and view["tie"] is None
    assert 'id="tie"' not in client.get("/analyses/curve").text
