"""Labeling in the browser (issue 16), without a browser: the labeler role, blind
queues on every labeling route (HTML and JSON), live agreement, adjudication, apply.

Real workspaces on SQLite and PostgreSQL, real users signed in through the form, the
real workflows behind the routes; nothing of assay is mocked.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sklearn.metrics import cohen_kappa_score
from webhelpers import PASSWORD, digits_frame

from assay.store import models as m
from assay.store.users import add_user, has_role
from assay.store.workspace import Workspace
from assay.web import create_app
from assay.web.app import ROUTE_MODULES
from assay.workflows.labeling import plan_labeling

ITEMS = [f"d{i}" for i in range(20)]
TRUTH = dict(zip(digits_frame()["item_id"], digits_frame()["label"], strict=True))
LABELBOOK = {
    "classes": {
        str(d): {
            "description": f"the handwritten digit {d}",
            "examples": {"positive": ["d1"]} if d == 1 else {},
        }
        for d in range(10)
    }
}
#: Routes a labeler may use; every other labeling route must refuse them.
LABELER_ROUTES = {
    ("GET", "/label"),
    ("GET", "/label/{name}"),
    ("POST", "/label/{name}/submit"),
    ("GET", "/label/{name}/items/{item_id:path}/media"),
}


def _book(ws: Workspace) -> None:
    ws.labelbook.save("digits", LABELBOOK["classes"], message="digits", author="ada", base=0)


@pytest.fixture
def plan_ws(web_ws: Workspace) -> Workspace:
    """Digits with a label book; ann and ben label d0..d19, half of them both (the
    agreement sample); the model's suggestion (truth + 1) pre-fills the rest."""
    _book(web_ws)
    for name in ("ann", "benno", "cal"):
        add_user(web_ws, name, role="labeler", password=PASSWORD)
    suggestions = {i: (TRUTH[i] + 1) % 10 for i in ITEMS}
    plan_labeling(
        web_ws,
        "digits",
        labelers=["ann", "benno"],
        per_item=2,
        overlap=0.5,
        items=ITEMS,
        prefill=suggestions,
        seed=3,
        actor="ada",
    )
    return web_ws


def _task(client: TestClient) -> dict[str, Any] | None:
    response = client.get("/label/digits", headers={"accept": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()["task"]  # type: ignore[no-any-return]


def _submit(client: TestClient, csrf: str, item: str, label: Any, **extra: str) -> Any:
    return client.post(
        "/label/digits/submit",
        data={"csrf_token": csrf, "item_id": item, "label": str(label), **extra},
        follow_redirects=False,
    )


def _label_all(
    client: TestClient, csrf: str, wrong: set[str] = frozenset(), note: str = ""
) -> list[str]:
    """Label the whole queue (the truth, or truth + 2 for ``wrong`` items)."""
    done = []
    while (task := _task(client)) is not None:
        item = task["item_id"]
        label = (TRUTH[item] + 2) % 10 if item in wrong else TRUTH[item]
        assert _submit(client, csrf, item, label, note=note).status_code == 303
        done.append(item)
    return done


def test_labeler_role_is_below_viewer_and_refused_everywhere_else(
    plan_ws: Workspace, client_for: Any
) -> None:
    assert not has_role("labeler", "viewer") and has_role("viewer", "labeler")
    ann, csrf = client_for("ann")
    for path in (
        "/",
        "/datasets",
        "/datasets/digits",
        "/review",
        "/review/digits",
        "/labelbook",
        "/labelbook/digits",
        "/analyses/agreement",
        "/monitoring",
        "/datasets/digits/items/d0",
        "/api/whoami",
        "/users",
        "/audit",
    ):
        assert ann.get(path, follow_redirects=False).status_code == 403, path
    assert ann.post("/review/digits/apply", data={"csrf_token": csrf}).status_code == 403
    nav = ann.get("/label").text
    assert 'href="/label"' in nav and 'href="/datasets"' not in nav
    out = ann.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and ann.get("/label", follow_redirects=False).status_code == 303


def test_a_labeler_signs_in_to_their_queue(plan_ws: Workspace) -> None:
    client = TestClient(create_app(plan_ws, secret_key="k" * 32))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    landed = client.post(
        "/login",
        data={"username": "ann", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert landed.headers["location"] == "/label"
    home = client.get("/label?format=json").json()
    assert home["queues"] == [
        {"dataset": "digits", "done": 0, "skipped": 0, "total": 15, "remaining": 15}
    ]
    assert home["projects"] == []  # plans are the reviewers' business


def test_only_the_labelers_of_the_plan_label(plan_ws: Workspace, client_for: Any) -> None:
    cal, csrf = client_for("cal")
    assert cal.get("/label/digits").status_code == 403
    assert _submit(cal, csrf, "d0", 0).status_code == 403
    assert cal.get("/label?format=json").json()["queues"] == []
    rita, _ = client_for("rita")  # a reviewer, not named in the plan
    assert rita.get("/label/digits").status_code == 403
    ann, acsrf = client_for("ann")
    response = _submit(ann, acsrf, "d999", 1)
    assert response.status_code == 400 and "d999" in response.text


def _walk_blind(ann: TestClient, csrf: str, ben_items: set[str]) -> int:
    """Label ann's queue, checking each page (HTML and JSON) and each submit answer."""
    sample_seen = 0
    while True:
        html = ann.get("/label/digits").text
        page = ann.get("/label/digits?format=json").json()
        task = page["task"]
        for text in (html, json.dumps(page)):
            assert "benno" not in text and "secret-note" not in text
        if task is None:
            return sample_seen
        item = task["item_id"]
        assert set(task) == {"item_id", "position", "labelbook_version"}
        assert "label" not in page["item"]["row"]
        if item in ben_items:  # the agreement sample: no suggestion, nothing pre-chosen
            sample_seen += 1
            assert page["suggestion"] is None and 'id="suggestion"' not in html
            assert " checked" not in html
        else:
            assert page["suggestion"] == (TRUTH[item] + 1) % 10  # pre-annotation
        answer = ann.post(
            "/label/digits/submit?format=json",
            data={"csrf_token": csrf, "item_id": item, "label": TRUTH[item]},
        )
        assert answer.status_code == 200 and "benno" not in answer.text
        assert set(answer.json()) == {"label", "next"}


def test_blind_on_every_labeling_route(plan_ws: Workspace, client_for: Any) -> None:
    ben, bcsrf = client_for("benno")
    ben_items = set(_label_all(ben, bcsrf, wrong=set(ITEMS[:6]), note="secret-note"))
    ann, csrf = client_for("ann")
    assert _walk_blind(ann, csrf, ben_items) == 10
    checked = set(LABELER_ROUTES)
    for text in (ann.get("/label").text, ann.get("/label?format=json").text):
        assert "benno" not in text
    # every other labeling route refuses a labeler, whatever it is asked
    for module in ROUTE_MODULES:
        if not module.startswith("labeling"):
            continue
        routes = importlib.import_module(f"assay.web.routes.{module}").router.routes
        for route in routes:
            assert isinstance(route, APIRoute)
            for method in route.methods:
                if (method, route.path) in LABELER_ROUTES:
                    continue
                path = route.path.replace("{name}", "digits").replace("{item_id:path}", "d0")
                for fmt in ("", "?format=json"):
                    got = ann.request(method, path + fmt, data={"csrf_token": csrf})
                    assert got.status_code == 403, (method, path, got.text)
                    assert "benno" not in got.text
                checked.add((method, route.path))
    assert len(checked) >= 9


def test_media_by_item_id_only_for_the_item_in_front(
    tmp_path: Path, sqlite_workspace: Workspace
) -> None:
    from PIL import Image

    root = tmp_path / "images"
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (8, 8), color=i * 40).save(root / label / f"{i}.png")
    ws = sqlite_workspace
    ws.import_dataset("pets", root, label="label")
    add_user(ws, "ann", role="labeler", password=PASSWORD)
    plan = plan_labeling(ws, "pets", labelers=["ann"], per_item=1, overlap=0.0, actor="t")
    assert plan.items == 6
    client = TestClient(create_app(ws, secret_key="k" * 32))
    from webhelpers import sign_in

    sign_in(client, "ann")
    page = client.get("/label/pets?format=json").json()
    html = client.get("/label/pets").text
    assert page["item"]["row"] == {}  # neither the label nor the path
    url = page["item"]["media_url"]
    assert url in html and "/media/pets/" not in html
    assert client.get(url).headers["content-type"] == "image/png"
    others = [
        i
        for i in ws.dataset("pets").to_pandas()["item_id"].astype(str)
        if i != page["task"]["item_id"]
    ]
    other = url.rsplit("/", 2)[0] + f"/{others[0]}/media"
    assert client.get(other).status_code == 403


def test_keys_skip_unsure_and_refusals(plan_ws: Workspace, client_for: Any) -> None:
    ann, csrf = client_for("ann")
    page = ann.get("/label/digits?format=json").json()
    assert [c["keys"] for c in page["classes"]][:3] == [["0"], ["1"], ["2"]]
    assert page["labelbook"]["version"] == 1
    assert page["classes"][1]["examples"][0]["item_id"] == "d1"
    item = page["task"]["item_id"]
    bad = _submit(ann, csrf, item, "99")
    assert bad.status_code == 400 and "not a class" in bad.text and 'id="label-error"' in bad.text
    assert _submit(ann, csrf, item, "eleven").status_code == 400
    assert _submit(ann, csrf, item, "", skip="1").status_code == 303
    nxt = _task(ann)
    assert nxt is not None and nxt["item_id"] != item
    saved = ann.post(
        "/label/digits/submit?format=json",
        data={
            "csrf_token": csrf,
            "item_id": nxt["item_id"],
            "label": "3",
            "unsure": "1",
            "note": "faint stroke",
            "labeler": "benno",  # ignored: the label is the signed-in user's
        },
    ).json()["label"]
    assert saved["unsure"] and saved["note"] == "faint stroke" and saved["labelbook_version"] == 1
    assert saved["labeler"] == "ann"
    again = ann.post(
        "/label/digits/submit?format=json",
        data={"csrf_token": csrf, "item_id": nxt["item_id"], "label": "4"},
    )
    assert again.status_code == 409
    no_csrf = ann.post("/label/digits/submit", data={"item_id": item, "label": "1"})
    assert no_csrf.status_code == 403


def _kappa(ws: Workspace) -> float:
    with ws.session(readonly=True) as s:
        rows = s.query(
            m.LabelingLabel.item_id, m.LabelingLabel.labeler, m.LabelingLabel.label
        ).all()
    by: dict[str, dict[str, str]] = {}
    for item, who, label in rows:
        by.setdefault(item, {})[who] = label
    both = sorted(i for i, d in by.items() if len(d) == 2)
    return float(cohen_kappa_score([by[i]["ann"] for i in both], [by[i]["benno"] for i in both]))


def test_agreement_adjudication_and_apply(plan_ws: Workspace, client_for: Any) -> None:
    ben, bcsrf = client_for("benno")
    ben_items = _label_all(ben, bcsrf, wrong=set(ITEMS[:8]))
    ann, acsrf = client_for("ann")
    ann_items = _label_all(ann, acsrf)
    rita, rcsrf = client_for("rita")
    live = rita.get("/label/digits/agreement?format=json").json()
    pair = live["pairs"][0]
    assert pair["cohen_kappa"] == pytest.approx(_kappa(plan_ws))
    assert pair["kappa_ci"][0] < pair["cohen_kappa"] < pair["kappa_ci"][1]
    disagreed = {d["item"] for d in live["disagreed"]}
    assert disagreed == set(ITEMS[:8]) & set(ben_items) & set(ann_items) and disagreed
    assert live["revise"] and all(r["agreement"] < 1 for r in live["revise"])
    body = rita.get("/label/digits/agreement/live").text
    assert f'data-stamp="{live["stamp"]}"' in body and "<html" not in body
    page = rita.get("/label/digits/agreement").text
    assert 'data-live="/label/digits/agreement/live"' in page and "svg" in page
    for item in sorted(disagreed):
        shown = rita.get(f"/label/digits/adjudicate/{item}?format=json").json()
        assert {lab["labeler"] for lab in shown["entry"]["labels"]} == {"ann", "benno"}
        done = rita.post(
            f"/label/digits/adjudicate/{item}",
            data={"csrf_token": rcsrf, "label": str(TRUTH[item])},
            follow_redirects=False,
        )
        assert done.status_code == 303
    assert rita.get("/label/digits/adjudicate?format=json").json()["queue"] == []
    made = rita.post(
        "/label/digits/apply?format=json", data={"csrf_token": rcsrf, "message": "labels of plan 1"}
    )
    assert made.status_code == 201, made.text
    version = plan_ws.dataset(made.json()["applied"]["version"])
    frame = version.to_pandas()
    labels = dict(zip(frame["item_id"], frame["label"], strict=True))
    alone = (set(ben_items) - set(ann_items)) & set(ITEMS[:8])  # benno's wrong labels stay
    expected = {i: (TRUTH[i] + 2) % 10 if i in alone else TRUTH[i] for i in ITEMS}
    assert {i: labels[i] for i in ITEMS} == expected
    assert made.json()["applied"]["methods"]["adjudicated"] == len(disagreed)


SPEECH = Path("/work/shared/data/speech/mini-librispeech")


@pytest.mark.skipif(not SPEECH.is_dir(), reason="the shared speech set is missing")
def test_transcripts_are_typed_beside_a_player(tmp_path: Path, sqlite_workspace: Workspace) -> None:
    import shutil

    import pandas as pd
    from webhelpers import sign_in

    from assay.cli.main import main

    folder = tmp_path / "clips"
    folder.mkdir()
    table = pd.read_csv(SPEECH / "transcripts.csv").head(3)
    for file in table["file"]:
        shutil.copy(SPEECH / file, folder / Path(file).name)
    table.assign(file=table["file"].map(lambda f: Path(f).name)).to_csv(
        tmp_path / "transcripts.csv", index=False
    )
    ws = sqlite_workspace
    w = ["-w", ws.location]
    assert (
        main(
            [
                "import",
                "speech",
                str(folder),
                "--transcripts",
                str(tmp_path / "transcripts.csv"),
                *w,
            ]
        )
        == 0
    )
    for name, role in (("ann", "labeler"), ("benno", "labeler"), ("rita", "reviewer")):
        add_user(ws, name, role=role, password=PASSWORD)
    plan_labeling(ws, "speech", labelers=["ann", "benno"], overlap=1.0, actor="t")
    client = TestClient(create_app(ws, secret_key="k" * 32))
    csrf = sign_in(client, "ann")
    page = client.get("/label/speech?format=json").json()
    html = client.get("/label/speech").text
    assert page["input"] == "text" and "data-free-text" in html and "<audio" in html
    truth = table.set_index(table["file"].map(lambda f: Path(f).stem))["transcript"]
    item = page["task"]["item_id"]
    assert truth[item] not in html and "transcript" not in page["item"]["row"]
    audio = client.get(page["item"]["media_url"])
    assert audio.status_code == 200 and audio.headers["content-type"].startswith("audio/")
    saved = client.post(
        "/label/speech/submit?format=json",
        data={"csrf_token": csrf, "item_id": item, "label": "um todays weather"},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["label"]["label"] == "um todays weather"
    other = TestClient(create_app(ws, secret_key="k" * 32))
    ocsrf = sign_in(other, "benno")
    for said in ("today's weather", "todays weather", "the weather"):
        task = other.get("/label/speech?format=json").json()["task"]
        assert "um todays weather" not in json.dumps(task)
        other.post(
            "/label/speech/submit",
            data={"csrf_token": ocsrf, "item_id": task["item_id"], "label": said},
        )
    reviewer = TestClient(create_app(ws, secret_key="k" * 32))
    sign_in(reviewer, "rita")
    live = reviewer.get("/label/speech/agreement?format=json").json()
    assert live["n_items"] == 1 and live["report"] is not None
    assert reviewer.get("/label/speech/agreement").status_code == 200
    decide = reviewer.get(f"/label/speech/adjudicate/{item}").text
    assert "data-free-text" in decide and "um todays weather" in decide


def test_agreement_per_labelbook_version(plan_ws: Workspace, client_for: Any) -> None:
    """A label-book edit starts a new round: the page tracks agreement per version."""
    ann, acsrf = client_for("ann")
    ben, bcsrf = client_for("benno")
    for client, csrf in ((ann, acsrf), (ben, bcsrf)):
        for _ in range(8):
            task = _task(client)
            assert task is not None
            assert _submit(client, csrf, task["item_id"], TRUTH[task["item_id"]]).status_code == 303
    classes = {**LABELBOOK["classes"], "7": {"description": "a 7, crossed or not"}}
    plan_ws.labelbook.save("digits", classes, message="7s", author="rita", base=1)
    for client, csrf in ((ann, acsrf), (ben, bcsrf)):
        page = client.get("/label/digits?format=json").json()
        assert page["labelbook"]["version"] == 2
        _label_all(client, csrf, wrong={"d4", "d8", "d12"} if client is ben else set())
    rita, _ = client_for("rita")
    live = rita.get("/label/digits/agreement?format=json").json()
    assert [b["version"] for b in live["by_labelbook"]] == ["v1", "v2"]
    html = rita.get("/label/digits/agreement").text
    assert 'id="chart-books"' in html and html.count("<tr><td>v") == 2


def test_text_and_table_rows_with_letter_keys(sqlite_workspace: Workspace) -> None:
    """Text items show their text, table rows their fields (never the label); classes
    get a digit and their first letter, except s and u (skip, unsure)."""
    import pandas as pd
    from webhelpers import sign_in

    ws = sqlite_workspace
    texts = pd.DataFrame(
        {"item_id": ["t0", "t1"], "text": ["great food", "cold soup"], "label": ["ham", "spam"]}
    )
    ws.import_dataset("mail", texts, label="label", id="item_id")
    ws.labelbook.save(
        "mail",
        {"ham": {}, "spam": {}, "eggs": {}, "unknown": {}},
        message="four",
        author="t",
        base=0,
    )
    rows = pd.DataFrame({"item_id": ["r0"], "age": [41], "income": [52000.5], "label": ["high"]})
    ws.import_dataset("credit", rows, label="label", id="item_id")
    add_user(ws, "ann", role="labeler", password=PASSWORD)
    for name in ("mail", "credit"):
        plan_labeling(ws, name, labelers=["ann"], per_item=1, overlap=0.0, actor="t")
    client = TestClient(create_app(ws, secret_key="k" * 32))
    sign_in(client, "ann")
    page = client.get("/label/mail?format=json").json()
    assert [c["keys"] for c in page["classes"]] == [["1", "h"], ["2"], ["3", "e"], ["4"]]
    html = client.get("/label/mail").text
    assert page["item"]["text"] in html and '<blockquote class="text">' in html
    assert page["item"]["row"] == {}  # the text is shown as such
    table = client.get("/label/credit?format=json").json()["item"]["row"]
    assert table == {"age": 41, "income": 52000.5}
    shown = client.get("/label/credit").text
    assert "<th>income</th>" in shown and " checked" not in shown


def test_hostile_ids_and_fields_are_refused_in_one_line(
    plan_ws: Workspace, client_for: Any
) -> None:
    ann, csrf = client_for("ann")
    rita, rcsrf = client_for("rita")
    for item in ("a\x00b", "x" * 5000, "d0/../d1"):
        got = ann.post(
            "/label/digits/submit?format=json",
            data={"csrf_token": csrf, "item_id": item, "label": "1"},
        )
        assert got.status_code in (400, 404), got.text
        assert "\n" not in got.json()["error"]
        path = "/label/digits/adjudicate/" + item.replace("\x00", "%00")
        assert rita.get(path).status_code in (400, 404)
        assert rita.post(path, data={"csrf_token": rcsrf, "label": "1"}).status_code in (400, 404)
        media = ann.get("/label/digits/items/" + item.replace("\x00", "%00") + "/media")
        assert media.status_code in (400, 403, 404)
    task = _task(ann)
    assert task is not None
    for field, value in (
        ("unsure", "maybe"),
        ("expected_revision", "-1"),
        ("labelbook_version", "99999999999"),
        ("note", ["a", "b"]),
    ):
        got = ann.post(
            "/label/digits/submit?format=json",
            data={"csrf_token": csrf, "item_id": task["item_id"], "label": "1", field: value},
        )
        assert got.status_code == 400, (field, got.text)
    bad = rita.post("/label/digits/apply?format=json", data={"csrf_token": rcsrf, "method": "vote"})
    assert bad.status_code == 400 and "method" in bad.json()["error"]


def test_cli_adds_a_labeler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from assay.cli.main import main
    from assay.store.users import list_users

    path = tmp_path / "ws"
    Workspace.init(path).close()
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine password\n"))
    assert (
        main(["user", "add", "lea", "--role", "labeler", "--password-stdin", "-w", str(path)]) == 0
    )
    ws = Workspace(path)
    assert [(u["name"], u["role"]) for u in list_users(ws)] == [("lea", "labeler")]
    ws.close()
