"""The pages: each answers as HTML and as JSON from one context; the review flow."""

from __future__ import annotations

import pandas as pd
from fastapi.testclient import TestClient

from assay.store import models as m
from assay.store.workspace import Workspace

PAGES = ["/", "/datasets", "/datasets/digits", "/datasets/digits/items/d3", "/review",
         "/review/digits", "/analyses/agreement", "/analyses/slices", "/analyses/experiments",
         "/monitoring", "/labelbook", "/labelbook/digits"]


def test_every_page_answers_html_and_json(client_for, web_ws: Workspace) -> None:
    client, _ = client_for("vic")
    for path in PAGES:
        html = client.get(path)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html"), path
        as_query = client.get(path, params={"format": "json"})
        as_header = client.get(path, headers={"accept": "application/json"})
        assert as_query.status_code == 200 and as_header.status_code == 200, path
        assert as_query.json() == as_header.json(), path
    data = client.get("/datasets/digits", params={"format": "json"}).json()
    assert data["version"]["ref"] == "digits@v1" and data["version"]["rows"] == 120
    expected = web_ws.dataset("digits").to_pandas()["label"].value_counts()
    assert {c["label"]: c["count"] for c in data["label_counts"]} == expected.to_dict()


def test_overview_says_not_run_yet_until_an_analysis_is_recorded(
    client_for, web_ws: Workspace
) -> None:
    client, _ = client_for("vic")
    tiles = {t["name"]: t for t in client.get("/?format=json").json()["scorecard"]}
    assert all(t["status"] == "not run yet" for t in tiles.values())
    assert "not run yet" in client.get("/").text
    matrix = [[40, 2], [3, 55]]
    web_ws.record_analysis("agreement", {"level": "nominal", "n_items": 100, "n_annotations": 300,
                                         "n_annotators": 3, "n_single": 0,
                                         "percent_agreement": 0.9, "krippendorff_alpha": 0.81,
                                         "matrix": matrix, "classes_to_revise": ["7"]},
                           dataset="digits@v1")
    tiles = {t["name"]: t for t in client.get("/?format=json").json()["scorecard"]}
    assert tiles["consistency"]["status"] == "ok"
    assert tiles["consistency"]["headline"][:2] == [["krippendorff_alpha", 0.81],
                                                    ["percent_agreement", 0.9]]
    assert tiles["label quality"]["status"] == "not run yet"
    page = client.get("/analyses/agreement")
    assert "krippendorff_alpha" in page.text and "<svg" in page.text  # the matrix as heat map
    body = client.get("/analyses/agreement?format=json").json()
    assert body["analysis"]["result"]["matrix"] == matrix


def test_monitoring_shows_drift_per_column_and_alerts(client_for, web_ws: Workspace) -> None:
    version = web_ws.dataset("digits")
    with web_ws.session() as s:
        mon = m.Monitor(name="prod", reference_version_id=version.id, config={})
        s.add(mon)
        s.flush()
        for k, score in enumerate([0.1, 0.4]):
            s.add(m.MonitorWindow(monitor_id=mon.id, number=k + 1, object_hash="0" * 64,
                                  n_rows=100,
                                  report={"drifted": score > 0.3, "columns": [
                                      {"column": "pixel_5", "psi": score, "statistic": 9.0},
                                      {"column": "pixel_6", "psi": score / 2}]},
                                  alerts=["pixel_5 drifted"] if score > 0.3 else []))
    client, _ = client_for("vic")
    body = client.get("/monitoring?format=json").json()
    assert body["monitors"][0]["drift"] == {"pixel_5": [0.1, 0.4], "pixel_6": [0.05, 0.2]}
    assert body["monitors"][0]["alerts"] == [{"window": 2, "alert": "pixel_5 drifted"}]
    tiles = {t["name"]: t for t in client.get("/?format=json").json()["scorecard"]}
    assert ["active alerts", 1] in tiles["feedback from production"]["headline"]
    assert "<polyline" in client.get("/monitoring").text


def _decide(client: TestClient, token: str, entry: dict, **fields: object) -> object:
    return client.post(f"/review/entry/{entry['id']}/decide",
                       data={"revision": entry["revision"], "csrf_token": token, **fields},
                       follow_redirects=False)


def test_review_filters_next_and_decisions(client_for, web_ws: Workspace) -> None:
    client, token = client_for("rita")
    first = client.get("/review/digits/next", follow_redirects=False)
    queue = web_ws.review.list("digits")
    assert first.headers["location"] == f"/review/entry/{queue.iloc[0]['id']}"
    label = str(queue.iloc[0]["given_label"])
    listed = client.get(f"/review/digits?format=json&label={label}").json()
    assert listed["total"] == int((queue["given_label"].astype(str) == label).sum())
    low = client.get("/review/digits?format=json&max_score=0.2").json()
    assert low["total"] == int((queue["score"] <= 0.2).sum())
    entry = client.get(f"/review/entry/{queue.iloc[0]['id']}?format=json").json()["entry"]
    moved = _decide(client, token, entry, relabel="7", note="looks like a seven")
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/review/digits/next?after={entry['id']}"
    following = client.get(moved.headers["location"], follow_redirects=False)
    assert following.headers["location"] == f"/review/entry/{queue.iloc[1]['id']}"
    stored = web_ws.review.get(int(entry["id"]))
    assert (stored["decision"], stored["decision_label"], stored["decided_by"]) == \
        ("relabel", 7, "rita")
    undone = client.post("/review/digits/undo", data={"csrf_token": token},
                         follow_redirects=False)
    assert undone.headers["location"] == f"/review/entry/{entry['id']}"
    assert web_ws.review.get(int(entry["id"]))["status"] == "open"
    with web_ws.session() as s:
        actions = [a.action for a in s.query(m.AuditLog).filter(
            m.AuditLog.target == f"review:{entry['id']}").order_by(m.AuditLog.id)]
    assert actions == ["review.relabel", "review.undo"]


def test_bulk_decisions_report_conflicts_per_entry(client_for, web_ws: Workspace) -> None:
    client, token = client_for("rita")
    queue = web_ws.review.list("digits")
    a, b = queue.iloc[0], queue.iloc[1]
    web_ws.review.decide(int(b["id"]), "keep", user="rob")  # b changes behind rita's back
    response = client.post("/review/digits/bulk", headers={"accept": "application/json"},
                           data={"csrf_token": token, "action": "remove",
                                 "entries[]": [f"{a['id']}:{a['revision']}",
                                               f"{b['id']}:{b['revision']}"]})
    body = response.json()
    assert body["decided"] == [int(a["id"])]
    assert [c["id"] for c in body["conflicts"]] == [int(b["id"])]
    assert web_ws.review.get(int(b["id"]))["decided_by"] == "rob"


def test_apply_makes_a_version_and_the_item_page_shows_history(
    client_for, web_ws: Workspace
) -> None:
    client, token = client_for("rita")
    entry = web_ws.review.list("digits").iloc[0].to_dict()
    old = int(entry["given_label"])
    _decide(client, token, entry, relabel=str((old + 1) % 10))
    applied = client.post("/review/digits/apply", data={"csrf_token": token},
                          follow_redirects=False)
    assert applied.headers["location"] == "/datasets/digits/diff?a=1&b=2"
    diff = client.get("/datasets/digits/diff?a=1&b=2&format=json").json()
    assert diff["diff"]["counts"]["relabeled"] == 1
    assert diff["diff"]["relabeled"] == [
        {"item_id": entry["item_id"], "old_label": old, "new_label": (old + 1) % 10}]
    item = client.get(f"/datasets/digits/items/{entry['item_id']}?format=json").json()
    assert [h["label"] for h in item["history"]] == [(old + 1) % 10, old]
    assert item["decisions"][0]["status"] == "applied"
    assert item["item"]["pixels"] is not None and len(item["item"]["pixels"]) == 64
    assert client.get(f"/datasets/digits/items/{entry['item_id']}").text.count("<rect") == 64
    assert client.get("/datasets/digits/items/nope").status_code == 404


def test_text_items_and_unknown_things(client_for, web_ws: Workspace) -> None:
    web_ws.import_dataset("texts", pd.DataFrame({"text": ["good film", "bad film"],
                                                 "label": ["pos", "neg"]}), label="label")
    client, _ = client_for("vic")
    page = client.get("/datasets/texts/items/1")
    assert '<blockquote class="text">bad film</blockquote>' in page.text
    assert client.get("/datasets/nope").status_code == 404
    assert client.get("/review/entry/999999").status_code == 404
    assert client.get("/analyses/nope").status_code == 404
