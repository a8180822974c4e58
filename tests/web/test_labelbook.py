"""The label book in the browser: versions, classes with examples, edits, conflicts, diffs."""

from __future__ import annotations

import html
import threading
from html.parser import HTMLParser

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from webhelpers import PASSWORD, sign_in

from assay.store.users import add_token, add_user
from assay.store.workspace import Workspace
from assay.web import create_app

EXAMPLES = {"positive": ["d3", "d13"], "negative": ["d5"], "borderline": ["d23"]}


class _Form(HTMLParser):
    """The fields a browser would send for one form: inputs, checked boxes, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.textarea = form_id, False, None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        elif self.inside and tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields[str(a["name"])] = a.get("value") or ""
        elif self.inside and tag == "textarea":
            self.textarea = a.get("name")
            self.fields[str(self.textarea)] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data


def edit_form(client: TestClient, dataset: str = "digits") -> dict[str, str]:
    """The edit form's fields as the browser would submit them unchanged."""
    page = client.get(f"/labelbook/{dataset}/edit")
    assert page.status_code == 200, page.text
    parser = _Form("labelbook-form")
    parser.feed(page.text)
    return parser.fields


def row_of(fields: dict[str, str], name: str) -> str:
    """The field prefix of class ``name`` in the form."""
    for key, value in fields.items():
        if key.endswith("-name") and value == name:
            return key[: -len("name")]
    raise AssertionError(f"no row for class {name!r}")


@pytest.fixture
def book_ws(web_ws: Workspace) -> Workspace:
    classes = {
        str(d): {"description": f"the handwritten digit {d}", "rules": [], "examples": {}}
        for d in range(10)
    }
    classes["3"]["rules"] = ["a closed top loop is still a 3"]
    classes["3"]["examples"] = EXAMPLES
    web_ws.labelbook.save("digits", classes, message="first definitions", author="lead")
    return web_ws


def test_labelbook_pages_show_classes_examples_and_versions(client_for, book_ws: Workspace) -> None:
    client, _ = client_for("vic")
    assert '<a href="/labelbook">Label books</a>' in client.get("/").text
    listing = client.get("/labelbook?format=json").json()
    assert listing["datasets"][0]["dataset"] == "digits"
    assert listing["datasets"][0]["latest"]["version"] == 1
    page = client.get("/labelbook/digits")
    assert page.status_code == 200
    assert "the handwritten digit 7" in page.text and "a closed top loop is still a 3" in page.text
    examples = sum(len(ids) for ids in EXAMPLES.values())
    assert page.text.count('<svg class="pixels"') == examples  # digits render as pixel images
    assert 'href="/datasets/digits/items/d13"' in page.text
    assert 'id="edit"' not in page.text  # a viewer reads, does not edit
    data = client.get("/labelbook/digits", headers={"accept": "application/json"}).json()
    assert data["book"]["classes"] == book_ws.labelbook.get("digits").classes
    shown = data["examples"]["3"]["positive"]
    assert [i["item_id"] for i in shown] == EXAMPLES["positive"]
    assert shown[0]["label"] == int(book_ws.dataset("digits").labels["d3"])
    assert client.get("/labelbook/nope").status_code == 404
    assert client.get("/labelbook/digits?version=9").status_code == 404


def test_edit_saves_a_new_version_and_keeps_the_old(client_for, book_ws: Workspace) -> None:
    client, token = client_for("rita")
    assert 'id="edit"' in client.get("/labelbook/digits").text
    fields = edit_form(client)
    assert fields["base"] == "1" and fields["csrf_token"] == token
    three, seven = row_of(fields, "3"), row_of(fields, "7")
    assert fields[three + "rules"] == "a closed top loop is still a 3"
    assert fields[three + "positive"] == "d3\nd13"
    fields[seven + "description"] = "a 7, with or without the middle bar"
    fields[seven + "rules"] = "judge the shape\nnot the stroke width"
    fields[seven + "borderline"] = "d7\n d17 "
    fields[three + "remove"] = "1"
    new = f"class-{int(fields['rows']) - 1}-"  # an empty row at the end: a new class
    fields.update({new + "name": "smudge", new + "description": "no digit at all"})
    fields["message"] = "sharper 7; 3 goes; smudges"
    saved = client.post("/labelbook/digits/edit", data=fields, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/labelbook/digits?version=2"
    old, latest = book_ws.labelbook.get("digits", 1), book_ws.labelbook.get("digits")
    assert latest.number == 2 and latest.author == "rita" and latest.message == fields["message"]
    assert old.classes["7"]["description"] == "the handwritten digit 7" and "3" in old.classes
    assert latest.classes["7"] == {"description": "a 7, with or without the middle bar",
                                   "rules": ["judge the shape", "not the stroke width"],
                                   "examples": {"borderline": ["d7", "d17"]}}
    assert "3" not in latest.classes and latest.classes["smudge"]["description"] == "no digit at all"
    assert latest.classes["5"] == old.classes["5"]
    diff = client.get("/labelbook/digits/diff")
    assert "v1 → v2" in diff.text and "<ins>not the stroke width</ins>" in diff.text
    delta = client.get("/labelbook/digits/diff?a=1&b=2&format=json").json()["diff"]
    assert [c["class"] for c in delta["added"]] == ["smudge"]
    assert [c["class"] for c in delta["removed"]] == ["3"]
    assert delta["changed"][0]["examples"]["borderline"] == {"removed": [], "added": ["d7", "d17"]}


def test_unchanged_or_wrong_edits_are_refused_and_the_form_kept(
    client_for, book_ws: Workspace
) -> None:
    client, _ = client_for("rita")
    fields = {**edit_form(client), "message": "nothing really"}
    unchanged = client.post("/labelbook/digits/edit", data=fields)
    assert unchanged.status_code == 400 and "nothing changed" in unchanged.text
    five = row_of(fields, "5")
    cases = [
        ({five + "name": ""}, "has a definition but no name"),
        ({five + "name": "6"}, "appears twice"),
        ({five + "positive": "d5\nd9999"}, "no item 'd9999' in digits@v1"),
        ({five + "description": "new words", "message": " "}, "say what changed"),
    ]
    for change, error in cases:
        refused = client.post("/labelbook/digits/edit", data={**fields, **change})
        assert refused.status_code == 400 and error in html.unescape(refused.text), error
        kept = _Form("labelbook-form")
        kept.feed(refused.text)  # the form comes back with what was typed
        for key, value in change.items():
            if key.endswith("-name") and not value:
                continue  # a nameless row moves, but its description stays on the form
            assert value.strip() in kept.fields.values(), key
    assert [b.number for b in book_ws.labelbook.versions("digits")] == [1]


def test_a_stale_edit_gets_a_conflict_page_not_a_lost_update(
    client_for, book_ws: Workspace
) -> None:
    rita, _ = client_for("rita")
    rob, _ = client_for("rob")
    mine, theirs = edit_form(rita), edit_form(rob)  # both start from v1
    theirs[row_of(theirs, "1") + "description"] = "a single vertical stroke"
    theirs["message"] = "rob's 1"
    assert rob.post("/labelbook/digits/edit", data=theirs, follow_redirects=False).status_code == 303
    mine[row_of(mine, "8") + "description"] = "two stacked loops"
    mine["message"] = "rita's 8"
    conflict = rita.post("/labelbook/digits/edit", data=mine)
    assert conflict.status_code == 409
    assert "started from version 1" in conflict.text and "rob&#39;s 1" in conflict.text
    assert "<ins>a single vertical stroke</ins>" in conflict.text  # what rob changed
    assert "two stacked loops" in conflict.text  # rita's edit is shown, not lost
    versions = book_ws.labelbook.versions("digits")
    assert [b.number for b in versions] == [1, 2] and versions[1].author == "rob"
    assert versions[1].classes["8"]["description"] == "the handwritten digit 8"
    as_json = rita.post("/labelbook/digits/edit", data=mine, headers={"accept": "application/json"})
    assert as_json.status_code == 409 and as_json.json()["latest"]["version"] == 2
    again = edit_form(rita)  # reloading starts from v2 and saves v3
    again[row_of(again, "8") + "description"] = "two stacked loops"
    again["message"] = "rita's 8"
    assert rita.post("/labelbook/digits/edit", data=again, follow_redirects=False).status_code == 303
    latest = book_ws.labelbook.get("digits")
    assert latest.number == 3 and latest.classes["1"]["description"] == "a single vertical stroke"


def test_two_edits_at_once_one_saved_one_conflict(client_for, book_ws: Workspace) -> None:
    editors = [client_for("rita"), client_for("rob")]
    forms = [edit_form(client) for client, _ in editors]
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def run(client: TestClient, fields: dict[str, str], words: str) -> None:
        fields = {**fields, row_of(fields, "2") + "description": words, "message": words}
        barrier.wait()
        codes.append(client.post("/labelbook/digits/edit", data=fields,
                                 follow_redirects=False).status_code)

    threads = [threading.Thread(target=run, args=(c, f, f"edit {i}"))
               for i, ((c, _), f) in enumerate(zip(editors, forms, strict=True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [303, 409]
    versions = book_ws.labelbook.versions("digits")
    assert [b.number for b in versions] == [1, 2]
    assert versions[1].classes["2"]["description"] == versions[1].message


def test_editing_needs_a_reviewer_and_a_csrf_token(client_for, book_ws: Workspace) -> None:
    client, token = client_for("rita")
    fields = edit_form(client)
    fields[row_of(fields, "4") + "description"] = "changed"
    fields["message"] = "m"
    no_token = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert client.post("/labelbook/digits/edit", data=no_token).status_code == 403
    assert client.post("/labelbook/digits/edit",
                       data={**fields, "csrf_token": "x" * 43}).status_code == 403
    viewer, vtoken = client_for("vic")
    assert viewer.get("/labelbook/digits/edit").status_code == 403
    assert viewer.post("/labelbook/digits/edit",
                       data={**fields, "csrf_token": vtoken}).status_code == 403
    anonymous = TestClient(client.app)
    assert anonymous.post("/labelbook/digits/edit", data=fields).status_code == 401
    assert anonymous.get("/labelbook/digits", follow_redirects=False).status_code == 303
    assert [b.number for b in book_ws.labelbook.versions("digits")] == [1]


def test_api_token_clients_edit_with_json(app: object, book_ws: Workspace) -> None:
    token = add_token(book_ws, "books", user="rita")
    client = TestClient(app)  # type: ignore[arg-type]
    auth = {"authorization": f"Bearer {token}", "accept": "application/json"}
    body = {"base": 1, "message": "from a script",
            "classes": {"0": {"description": "zero", "rules": ["round"]}, "1": "one"}}
    saved = client.post("/labelbook/digits/edit", json=body, headers=auth)
    assert saved.status_code == 201 and saved.json()["labelbook"]["version"] == 2
    assert book_ws.labelbook.get("digits").classes["1"] == {"description": "one", "rules": [],
                                                            "examples": {}}
    stale = client.post("/labelbook/digits/edit", json=body, headers=auth)
    assert stale.status_code == 409 and "started from version 1" in stale.json()["error"]
    bad = client.post("/labelbook/digits/edit", headers=auth,
                      json={**body, "base": 2, "classes": {"0": {"colour": "red"}}})
    assert bad.status_code == 400 and "unknown key(s) colour" in bad.json()["error"]


def test_the_first_version_starts_from_the_classes_in_the_data(client_for, web_ws: Workspace) -> None:
    client, _ = client_for("rita")
    page = client.get("/labelbook/digits")
    assert page.status_code == 200 and "No label book yet" in page.text
    fields = edit_form(client)
    assert fields["base"] == "0"
    assert sorted(v for k, v in fields.items() if k.endswith("-name") and v) == list("0123456789")
    fields[row_of(fields, "0") + "description"] = "a round zero"
    fields["message"] = "first book"
    assert client.post("/labelbook/digits/edit", data=fields,
                       follow_redirects=False).status_code == 303
    assert web_ws.labelbook.get("digits").classes["0"]["description"] == "a round zero"


def test_script_in_a_label_book_renders_inert(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    evil = "<script>alert(1)</script>"
    ws.import_dataset("texts", pd.DataFrame({"text": [f"hi {evil}", "fine"], "label": ["a", "b"]}),
                      label="label")
    add_user(ws, "rita", role="reviewer", password=PASSWORD)
    client = TestClient(create_app(ws, secret_key="s" * 32))
    sign_in(client, "rita")
    fields = edit_form(client, "texts")
    a = row_of(fields, "a")
    fields.update({a + "description": evil, a + "rules": f"<img src=x onerror=alert(2)>\n{evil}",
                   a + "positive": "0", "message": evil})
    new = f"class-{int(fields['rows']) - 1}-"
    fields.update({new + "name": f"<b>{evil}</b>", new + "description": evil})
    assert client.post("/labelbook/texts/edit", data=fields, follow_redirects=False).status_code == 303
    stale = client.post("/labelbook/texts/edit", data={**fields, "message": "again"})
    assert stale.status_code == 409  # the form said base 0; v1 exists now
    second = edit_form(client, "texts")
    second[row_of(second, "a") + "description"] = f"{evil} (v2)"
    second["message"] = f"v2 {evil}"
    assert client.post("/labelbook/texts/edit", data=second, follow_redirects=False).status_code == 303
    pages = [client.get(p).text for p in ("/labelbook/texts", "/labelbook/texts/edit",
                                          "/labelbook", "/labelbook/texts/diff?a=1&b=2")]
    for text in [*pages, stale.text]:
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "hi &lt;script&gt;" in pages[0]  # the example item's text, escaped
