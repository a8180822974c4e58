"""Review and item pages for regression and multi-label datasets (issue 14, item 5).

The decision widget is the dataset's task's (``Task.review_widget``): a number field
pre-filled with the suggestion for regression, a toggle per label pre-set to the
suggested set for multi-label. Decisions go through the store's one path; a value the
task refuses shows the page again with the one-line error and writes nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from webhelpers import TAGS, fill_kinds

from assay.store import models as m
from assay.store.workspace import Workspace
from assay.web.widgets import format_number


@pytest.fixture
def kinds_ws(web_ws: Workspace) -> Workspace:
    fill_kinds(web_ws)
    return web_ws


def _first(ws: Workspace, dataset: str) -> dict:
    return ws.review.list(dataset).iloc[0].to_dict()


def _decide(client: TestClient, token: str, entry: dict, data: dict | list) -> Any:
    """Post the review form: ``data`` a dict, or a list of pairs (repeated fields)."""
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    pairs += [("revision", str(entry["revision"])), ("csrf_token", token)]
    return client.post(f"/review/entry/{entry['id']}/decide", content=_form(pairs),
                       headers={"content-type": "application/x-www-form-urlencoded"},
                       follow_redirects=False)


def _form(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(pairs)


def _decisions(ws: Workspace) -> int:
    with ws.session(readonly=True) as s:
        return int(s.scalar(select(func.count(m.ReviewDecision.id))) or 0)


def _error_line(html: str) -> str:
    found = re.search(r'<p class="error" id="decide-error" role="alert">([^<]*)</p>', html)
    assert found, "no inline error on the page"
    return found.group(1)


def test_format_number_reads_like_a_person_writes() -> None:
    assert [format_number(v) for v in (3.2, 151.0, 163.75, 0.000012345, -0.5, 7, None)] == \
        ["3.2", "151", "163.75", "0.000012345", "-0.5", "7", ""]
    assert format_number(0.1 + 0.2) == "0.3"


def test_regression_entry_has_a_number_field_prefilled_with_the_suggestion(
    client_for, kinds_ws: Workspace
) -> None:
    client, _ = client_for("rita")
    entry = _first(kinds_ws, "diabetes")
    data = client.get(f"/review/entry/{entry['id']}?format=json").json()
    assert (data["widget"], data["kind"]) == ("number", "regression")
    given, suggested = entry["given_label"], entry["suggested_label"]
    assert (data["decide"]["given"], data["decide"]["suggested"]) == (
        format_number(given), format_number(suggested))
    assert data["decide"]["value"] == format_number(suggested)
    assert data["decide"]["delta"] == "+12.5"
    html = client.get(f"/review/entry/{entry['id']}").text
    field = re.search(r'<input id="relabel" name="relabel"[^>]*>', html)
    assert field and f'value="{format_number(suggested)}"' in field.group(0)
    # Enter submits the form's default button: the first submit button is "accept"
    buttons = re.findall(r'<button type="submit"[^>]*>', html.split('id="decide"')[1])
    assert 'id="accept"' in buttons[0] and 'value="relabel"' in buttons[0]
    assert 'class="cls' not in html  # no class buttons for numbers


def test_regression_relabel_keep_and_bad_numbers(client_for, kinds_ws: Workspace) -> None:
    client, token = client_for("rita")
    entries = kinds_ws.review.list("diabetes")
    first, second = entries.iloc[0].to_dict(), entries.iloc[1].to_dict()
    before = _decisions(kinds_ws)
    for bad, words in (("abc", "not a number"), ("inf", "not a finite number"),
                       ("", "needs the new label")):
        page = _decide(client, token, first, {"action": "relabel", "relabel": bad})
        assert page.status_code == 400, bad
        line = _error_line(page.text)
        assert words in line and "\n" not in line, line
        # what was typed stays in the field (an empty field gets the suggestion back)
        kept = bad or format_number(first["suggested_label"])
        assert f'value="{kept}"' in page.text
    assert _decisions(kinds_ws) == before
    assert kinds_ws.review.get(int(first["id"]))["status"] == "open"

    moved = _decide(client, token, first, {"action": "relabel", "relabel": "170.5"})
    assert moved.status_code == 303
    stored = kinds_ws.review.get(int(first["id"]))
    assert (stored["decision"], stored["decision_label"]) == ("relabel", 170.5)
    # the number field posts along with "keep": keep wins, no label is recorded
    kept = _decide(client, token, second, {"action": "keep",
                                           "relabel": format_number(second["suggested_label"])})
    assert kept.status_code == 303
    stored = kinds_ws.review.get(int(second["id"]))
    assert (stored["decision"], stored["decision_label"]) == ("keep", None)
    page = client.get(f"/review/entry/{first['id']}").text
    assert re.search(r'<span id="decided">\s*170.5 <span class="delta">\(\+19.25\)</span>', page)


def test_multilabel_entry_has_toggles_preset_to_the_suggested_set(
    client_for, kinds_ws: Workspace
) -> None:
    client, _ = client_for("rita")
    entry = _first(kinds_ws, "tickets")
    assert (entry["given_label"], entry["suggested_label"]) == (["bug", "ui"], ["bug", "urgent"])
    data = client.get(f"/review/entry/{entry['id']}?format=json").json()
    assert (data["widget"], data["kind"]) == ("tags", "multilabel")
    tags = data["decide"]["tags"]
    assert [t["label"] for t in tags] == TAGS
    assert [t["key"] for t in tags] == ["1", "2", "3", "4", "5"]
    assert {t["label"]: t["state"] for t in tags} == {
        "billing": "off", "bug": "kept", "feature": "off", "ui": "removed", "urgent": "added"}
    assert [c["state"] for c in data["suggested"]["chips"]] == ["kept", "added", "removed"]
    html = client.get(f"/review/entry/{entry['id']}").text
    checked = re.findall(r'<input type="checkbox" name="relabel\[\]" value="([^"]+)" checked>',
                         html)
    assert checked == ["bug", "urgent"]
    assert re.search(r'adds <ins>urgent</ins> · removes <del>ui</del>', html)


def test_multilabel_relabel_empty_set_and_unknown_tag(client_for, kinds_ws: Workspace) -> None:
    client, token = client_for("rita")
    entries = kinds_ws.review.list("tickets")
    first, second = entries.iloc[0].to_dict(), entries.iloc[1].to_dict()
    before = _decisions(kinds_ws)
    page = _decide(client, token, first, [("action", "relabel"), ("relabel[]", ""),
                                          ("relabel[]", "bug"), ("relabel[]", "zzz")])
    assert page.status_code == 400
    line = _error_line(page.text)
    assert "zzz" in line and "\n" not in line, line
    assert _decisions(kinds_ws) == before
    assert kinds_ws.review.get(int(first["id"]))["status"] == "open"
    # the page keeps what was toggled
    assert re.findall(r'value="([^"]+)" checked>', page.text) == ["bug", "zzz"]

    moved = _decide(client, token, first, [("action", "relabel"), ("relabel[]", ""),
                                           ("relabel[]", "urgent"), ("relabel[]", "bug")])
    assert moved.status_code == 303
    stored = kinds_ws.review.get(int(first["id"]))
    assert (stored["decision"], stored["decision_label"]) == ("relabel", ["bug", "urgent"])
    emptied = _decide(client, token, second, [("action", "relabel"), ("relabel[]", "")])
    assert emptied.status_code == 303
    assert kinds_ws.review.get(int(second["id"]))["decision_label"] == []


def test_json_clients_decide_sets_and_numbers_and_get_400(client_for, kinds_ws: Workspace) -> None:
    client, token = client_for("rita")
    headers = {"accept": "application/json", "x-csrf-token": token}
    ticket, number = _first(kinds_ws, "tickets"), _first(kinds_ws, "diabetes")
    bad = client.post(f"/review/entry/{number['id']}/decide", headers=headers,
                      json={"action": "relabel", "label": "ten"})
    assert bad.status_code == 400 and "not a number" in bad.json()["error"]
    ok = client.post(f"/review/entry/{ticket['id']}/decide", headers=headers,
                     json={"action": "relabel", "relabel": ["feature", "bug"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["entry"]["decision_label"] == ["bug", "feature"]


def test_item_pages_show_given_and_suggested_of_every_kind(
    client_for, kinds_ws: Workspace
) -> None:
    client, token = client_for("rita")
    ticket = _first(kinds_ws, "tickets")
    _decide(client, token, ticket, [("action", "relabel"), ("relabel[]", ""),
                                    ("relabel[]", "bug"), ("relabel[]", "feature")])
    data = client.get(f"/datasets/tickets/items/{ticket['item_id']}?format=json").json()
    assert data["kind"] == "multilabel"
    assert data["item"]["label"] == ["bug", "ui"]
    shown = data["decisions"][0]["shown"]
    assert [(c["name"], c["state"]) for c in shown["decision"]["chips"]] == [
        ("bug", "kept"), ("feature", "added"), ("ui", "removed")]
    html = client.get(f"/datasets/tickets/items/{ticket['item_id']}").text
    assert '<span class="chip added" data-state="added">feature</span>' in html
    assert '<span class="chip removed" data-state="removed">ui</span>' in html

    number = _first(kinds_ws, "diabetes")
    data = client.get(f"/datasets/diabetes/items/{number['item_id']}?format=json").json()
    assert data["kind"] == "regression"
    row = data["decisions"][0]["shown"]
    assert (row["given"]["text"], row["suggested"]["text"], row["suggested"]["delta"]) == (
        format_number(number["given_label"]), format_number(number["suggested_label"]), "+12.5")
    html = client.get(f"/datasets/diabetes/items/{number['item_id']}").text
    assert f'{format_number(number["suggested_label"])} <span class="delta">(+12.5)</span>' in html


def test_dataset_pages_show_the_kind_and_the_label_distribution(
    client_for, kinds_ws: Workspace
) -> None:
    client, _ = client_for("vic")
    tickets = client.get("/datasets/tickets?format=json").json()
    assert tickets["kind"] == "multilabel"
    frame = kinds_ws.dataset("tickets").to_pandas()
    expected = pd.Series([t for tags in frame["tags"] for t in tags]).value_counts().to_dict()
    assert {c["label"]: c["count"] for c in tickets["label_counts"]} == expected
    assert 'class="chip' in client.get("/datasets/tickets").text
    diabetes = client.get("/datasets/diabetes?format=json").json()
    assert diabetes["kind"] == "regression"
    assert sum(c["count"] for c in diabetes["label_counts"]) == diabetes["version"]["rows"]
    assert 1 < len(diabetes["label_counts"]) <= 20
    stats = diabetes["label_summary"]["rows"]
    target = kinds_ws.dataset("diabetes").to_pandas()["target"]
    assert stats["mean"] == pytest.approx(target.mean())
    assert stats["max"] == pytest.approx(target.max())
    assert client.get("/datasets/digits?format=json").json()["kind"] == "classification"


def test_apply_then_diff_shows_old_and_new_labels(client_for, kinds_ws: Workspace) -> None:
    client, token = client_for("rita")
    ticket, number = _first(kinds_ws, "tickets"), _first(kinds_ws, "diabetes")
    _decide(client, token, ticket, [("action", "relabel"), ("relabel[]", ""),
                                    ("relabel[]", "bug")])
    _decide(client, token, number, {"action": "relabel", "relabel": "200"})
    for name in ("tickets", "diabetes"):
        applied = client.post(f"/review/{name}/apply", data={"csrf_token": token},
                              follow_redirects=False)
        assert applied.status_code == 303, applied.text
    diff = client.get("/datasets/tickets/diff?a=1&b=2&format=json").json()
    assert [(c["name"], c["state"]) for c in diff["relabeled"][0]["new"]["chips"]] == [
        ("bug", "kept"), ("ui", "removed")]
    assert diff["relabeled"][0]["change"] == "removed tag ui"
    diff = client.get("/datasets/diabetes/diff?a=1&b=2&format=json").json()
    assert diff["relabeled"][0]["new"]["text"] == "200"
    assert re.fullmatch(r"relabeled 151\.25 -> 200(\.0)?", diff["relabeled"][0]["change"])
    assert kinds_ws.dataset("diabetes").labels[number["item_id"]] == 200.0


def test_analysis_pages_show_the_kind_summary_and_headline_metric(
    client_for, kinds_ws: Workspace
) -> None:
    """A result of a new kind is shown from its JSON (and its summary text, when it
    carries one); experiments chart the task's headline metric (MAE for regression)."""
    for run, mae in enumerate((12.0, 9.5)):
        kinds_ws.record_analysis("experiment", {
            "id": f"exp-{run}", "recipe": "ridge", "evaluation": {"overall": {
                "mae": {"value": mae, "low": mae - 1, "high": mae + 1},
                "rmse": {"value": mae * 1.3, "low": mae, "high": mae * 1.6}}}},
            dataset="diabetes@v1")
    summary = "em: 30 items, 12 iterations (converged)\nannotator a: bias +1.5"
    kinds_ws.record_analysis("consensus", {"kind": "regression", "method": "em",
                                           "n_items": 30, "summary": summary},
                             dataset="diabetes@v1")
    client, _ = client_for("vic")
    data = client.get("/analyses/experiments?format=json").json()
    assert data["task"] == "regression"
    assert [p["value"] for p in data["headlines"]["mae"]] == [12.0, 9.5]
    assert set(data["headlines"]) == {"mae"}  # the headline only, not every metric
    html = client.get("/analyses/experiments").text
    assert 'data-metric="mae"' in html and "<svg" in html.split('data-metric="mae"')[1]
    page = client.get("/analyses/consensus").text
    assert '<span id="task-kind">regression</span>' in page
    assert "annotator a: bias +1.5" in page.split('id="summary">')[1].split("</pre>")[0]
    overview = client.get("/?format=json").json()
    kinds = {d["name"]: d["task"] for d in overview["datasets"]}
    assert kinds == {"digits": "classification", "diabetes": "regression",
                     "tickets": "multilabel"}


def _numeric_book(ws: Workspace, numeric: dict) -> None:
    with ws.session() as s:
        ds = s.query(m.Dataset).filter_by(name="diabetes").one()
        s.add(m.LabelBookVersion(dataset_id=ds.id, number=1,
                                 content={"classes": {}, "numeric": numeric},
                                 message="progression scale", author="test"))


def test_number_widget_follows_the_label_books_conventions(
    client_for, kinds_ws: Workspace
) -> None:
    _numeric_book(kinds_ws, {"units": "points", "range": [25, 346], "rounding": {"step": 0.5}})
    client, _ = client_for("rita")
    entry = _first(kinds_ws, "diabetes")  # suggested 163.75: not a multiple of 0.5 from 25
    data = client.get(f"/review/entry/{entry['id']}?format=json").json()
    assert data["decide"]["scale"] == {"units": "points", "min": "25", "max": "346",
                                       "step": "0.5", "decimals": None}
    expected = 25 + round((entry["suggested_label"] - 25) / 0.5) * 0.5
    assert data["decide"]["value"] == format_number(expected)
    assert data["decide"]["suggested"] == format_number(entry["suggested_label"])
    html = client.get(f"/review/entry/{entry['id']}").text
    assert "in points · from 25 to 346 · in steps of 0.5" in html


def test_a_number_outside_the_label_books_range_is_refused_inline(
    client_for, kinds_ws: Workspace
) -> None:
    _numeric_book(kinds_ws, {"units": "points", "range": [25, 346]})
    client, token = client_for("rita")
    entry = _first(kinds_ws, "diabetes")
    before = _decisions(kinds_ws)
    page = _decide(client, token, entry, {"action": "relabel", "relabel": "400"})
    assert page.status_code == 400
    line = _error_line(page.text)
    assert "400" in line and "346" in line and "\n" not in line, line
    assert _decisions(kinds_ws) == before
