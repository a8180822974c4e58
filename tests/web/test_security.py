"""Security of the web app, over HTTP on a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from webhelpers import PASSWORD, FakeClock, csrf_of, sign_in

from assay.store import models as m
from assay.store.users import add_token
from assay.store.workspace import Workspace
from assay.web import create_app


def _entry(ws: Workspace, position: int = 0) -> dict:
    return ws.review.list("digits").iloc[position].to_dict()


def test_unauthenticated_requests_are_rejected(app: object, web_ws: Workspace) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    page = client.get("/review/digits", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    for path in ("/", "/datasets/digits", "/review/entry/1", "/media/digits/x.png",
                 "/analyses/agreement", "/api/whoami"):
        assert client.get(path, headers={"accept": "application/json"}).status_code == 401, path
    entry = _entry(web_ws)
    posted = client.post(f"/review/entry/{entry['id']}/decide",
                         data={"action": "keep", "revision": entry["revision"]})
    assert posted.status_code == 401
    assert client.get("/?format=json", headers={"authorization": "Bearer assay_nope"}).status_code == 401
    assert _entry(web_ws)["status"] == "open"


def test_forged_or_tampered_session_is_refused(app: object, client_for) -> None:
    client, _ = client_for("rita")
    cookie = client.cookies.get("assay_session")
    assert cookie is not None
    body, mac = cookie.split(".")
    forged = TestClient(app, cookies={"assay_session": body + "." + mac[::-1]})  # type: ignore[arg-type]
    assert forged.get("/?format=json").status_code == 401
    assert client.get("/?format=json").status_code == 200


def test_session_cookie_is_httponly_and_samesite(app: object, web_ws: Workspace) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "rita", "password": PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "content-security-policy" in response.headers
    wrong = client.post("/login", data={"username": "rita", "password": "nope-nope",
                                        "csrf_token": token}, follow_redirects=False)
    assert wrong.status_code in (401, 403)


def test_missing_or_wrong_csrf_token_gets_403(client_for, web_ws: Workspace) -> None:
    client, token = client_for("rita")
    other, other_token = client_for("rob")
    entry = _entry(web_ws)
    url = f"/review/entry/{entry['id']}/decide"
    fields = {"action": "keep", "revision": entry["revision"]}
    assert client.post(url, data=fields).status_code == 403
    assert client.post(url, data={**fields, "csrf_token": "x" * 43}).status_code == 403
    assert client.post(url, data={**fields, "csrf_token": other_token}).status_code == 403
    assert client.post("/review/digits/apply", data={}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    # login form without its token
    fresh = TestClient(client.app)
    assert fresh.post("/login", data={"username": "rita", "password": PASSWORD}).status_code == 403
    assert _entry(web_ws)["status"] == "open"  # nothing was decided
    ok = client.post(url, data={**fields, "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    header = other.post(
        f"/review/entry/{_entry(web_ws)['id']}/decide",
        json={"action": "remove", "revision": _entry(web_ws)["revision"]},
        headers={"x-csrf-token": other_token, "accept": "application/json"},
    )
    assert header.status_code == 200, header.text


def test_roles_viewer_reads_reviewer_decides_admin_manages(client_for, web_ws: Workspace) -> None:
    viewer, vtoken = client_for("vic")
    entry = _entry(web_ws)
    assert viewer.get(f"/review/entry/{entry['id']}").status_code == 200
    refused = viewer.post(f"/review/entry/{entry['id']}/decide",
                          data={"action": "keep", "revision": entry["revision"],
                                "csrf_token": vtoken})
    assert refused.status_code == 403
    reviewer, _ = client_for("rita")
    assert reviewer.get("/audit").status_code == 403
    admin, _ = client_for("ada")
    assert admin.get("/audit").status_code == 200


@pytest.fixture
def media_ws(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    """A folder of images (media served from it); HTTP-level, so SQLite only."""
    workspace = sqlite_workspace
    root = tmp_path / "images"
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (8, 8), color=40 * i).save(root / label / f"{i}.png")
    (tmp_path / "secret.txt").write_text("top secret")
    (root / "cat" / "link.png").symlink_to(tmp_path / "secret.txt")
    workspace.import_dataset("pets", root, label="label")
    from assay.store.users import add_user

    add_user(workspace, "vic", role="viewer", password=PASSWORD)
    return workspace


def test_media_only_from_registered_root(media_ws: Workspace) -> None:
    client = TestClient(create_app(media_ws, secret_key="s" * 32))
    sign_in(client, "vic")
    good = client.get("/media/pets/cat/0.png")
    assert good.status_code == 200 and good.headers["content-type"] == "image/png"
    for path in ("/media/pets/..%2F..%2Fsecret.txt", "/media/pets/%2e%2e/%2e%2e/secret.txt",
                 "/media/pets/cat/..%2F..%2F..%2Fsecret.txt", "/media/pets/%2Fetc%2Fpasswd",
                 "/media/pets/cat/link.png", "/media/pets/cat/missing.png",
                 "/media/pets/..%5C..%5Csecret.txt"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "top secret" not in response.text
    item = client.get("/datasets/pets/items/cat%2F0.png")
    assert item.status_code == 200 and '<img class="media" src="/media/pets/cat/0.png"' in item.text


def test_script_in_label_and_reason_renders_inert(sqlite_workspace: Workspace) -> None:
    workspace = sqlite_workspace
    from assay.store.users import add_user
    evil = "<script>alert(1)</script>"
    frame = pd.DataFrame({"text": [f"hello {evil}", "fine"], "label": [evil, "ok"]})
    workspace.import_dataset("texts", frame, label="label")
    workspace.review.add("texts", pd.DataFrame({"item_id": ["0"], "reason": [evil], "score": [0.1],
                                                "given_label": [evil]}), source="label_issue")
    add_user(workspace, "rita", role="reviewer", password=PASSWORD)
    client = TestClient(create_app(workspace, secret_key="s" * 32))
    token = sign_in(client, "rita")
    entry = workspace.review.list("texts").iloc[0]
    listed = client.get("/review/texts").text
    assert "<script>alert" not in listed and "&lt;script&gt;alert(1)&lt;/script&gt;" in listed
    client.post(f"/review/entry/{entry['id']}/decide",
                data={"action": "keep", "note": evil, "revision": int(entry["revision"]),
                      "csrf_token": token})
    for path in (f"/review/entry/{entry['id']}", "/datasets/texts",
                 "/datasets/texts/items/0"):
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def _decide_at_once(clients: list[tuple[TestClient, str]], entry: dict) -> list[int]:
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []

    def run(client: TestClient, token: str, label: int) -> None:
        barrier.wait()
        response = client.post(
            f"/review/entry/{entry['id']}/decide",
            data={"relabel": str(label), "revision": entry["revision"], "csrf_token": token},
            follow_redirects=False,
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=run, args=(c, t, 3 + i)) for i, (c, t) in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_two_concurrent_decisions_one_conflict_no_lost_update(
    client_for, web_ws: Workspace
) -> None:
    rita, rob = client_for("rita"), client_for("rob")
    entry = _entry(web_ws)
    codes = _decide_at_once([rita, rob], entry)
    assert sorted(codes) == [303, 409]
    after = web_ws.review.get(int(entry["id"]))
    assert after["status"] == "decided" and after["revision"] == entry["revision"] + 1
    with web_ws.session() as s:
        logged = s.scalars(select(m.AuditLog).where(
            m.AuditLog.target == f"review:{entry['id']}")).all()
    assert len(logged) == 1  # exactly one decision happened, and it is the one stored
    assert logged[0].actor == after["decided_by"]
    assert logged[0].detail["label"] == after["decision_label"]
    # the loser sees who decided first
    loser = rita if after["decided_by"] == "rob" else rob
    again = loser[0].post(f"/review/entry/{entry['id']}/decide",
                          data={"action": "keep", "revision": entry["revision"],
                                "csrf_token": loser[1]})
    assert again.status_code == 409 and after["decided_by"] in again.text


def test_request_body_limit_gives_413(client_for, web_ws: Workspace) -> None:
    client, token = client_for("rita")
    entry = _entry(web_ws)
    response = client.post(f"/review/entry/{entry['id']}/decide",
                           data={"action": "keep", "note": "x" * (1 << 21), "csrf_token": token})
    assert response.status_code == 413
    assert _entry(web_ws)["status"] == "open"


def test_api_token_for_machine_clients(app: object, web_ws: Workspace) -> None:
    token = add_token(web_ws, "ingest", user="rita")
    with web_ws.session() as s:
        stored = s.scalars(select(m.ApiToken.token_hash)).all()
    assert token not in stored and all(len(h) == 64 for h in stored)
    client = TestClient(app)  # type: ignore[arg-type]
    auth = {"authorization": f"Bearer {token}"}
    assert client.get("/api/whoami", headers=auth).json()["user"]["name"] == "rita"
    body = {"source": "drift_sample",
            "entries": [{"item_id": "d50", "reason": "drifted", "score": 0.2}]}
    added = client.post("/api/datasets/digits/review", json=body, headers=auth)
    assert added.status_code == 200 and added.json()["added"] == 1
    assert web_ws.review.count("digits") == 13
    viewer_token = add_token(web_ws, "read", user="vic")
    refused = client.post("/api/datasets/digits/review", json=body,
                          headers={"authorization": f"Bearer {viewer_token}"})
    assert refused.status_code == 403


def test_only_admins_manage_users(client_for, web_ws: Workspace) -> None:
    reviewer, rtoken = client_for("rita")
    form = {"name": "newbie", "role": "viewer", "password": "long enough pw"}
    assert reviewer.get("/users").status_code == 403
    assert reviewer.post("/users", data={**form, "csrf_token": rtoken}).status_code == 403
    admin, atoken = client_for("ada")
    assert admin.post("/users", data=form).status_code == 403  # no CSRF token
    added = admin.post("/users", data={**form, "csrf_token": atoken}, follow_redirects=False)
    assert added.status_code == 303
    assert "newbie" in admin.get("/users").text
    with web_ws.session() as s:
        logged = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "user.add",
                                                    m.AuditLog.target == "user:newbie")).all()
    assert [x.actor for x in logged] == ["ada"]


def _attempt(client: TestClient, name: str, password: str) -> object:
    """One sign-in through the form (a fresh CSRF token each time)."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def limited_app(web_ws: Workspace, clock: FakeClock) -> object:
    """The app with the default limit (5 failures in 15 minutes) on a fake clock."""
    return create_app(web_ws, secret_key="k" * 32, clock=clock)


def _from(app: object, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))  # type: ignore[arg-type]


def test_failed_sign_ins_get_429_with_retry_after(limited_app: object, clock: FakeClock) -> None:
    client = _from(limited_app, "10.0.0.1")
    assert _attempt(client, "rita", "wrong password").status_code == 401
    assert _attempt(client, "rita", "wrong again").status_code == 429  # at once: 1 s back-off
    clock.now += 1
    assert _attempt(client, "rita", "wrong again").status_code == 401
    refused = _attempt(client, "rita", PASSWORD)  # even the right password, 2 s after
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
    assert "too many failed sign-ins for this account from this address" in refused.text
    assert "try again in 2 seconds" in refused.text
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in
    as_json = client.post("/login?format=json", data={
        "username": "rita", "password": PASSWORD, "csrf_token": csrf_of(client.get("/login").text)})
    assert as_json.status_code == 429 and "too many" in as_json.json()["error"]
    clock.now += 1
    assert _attempt(client, "rita", PASSWORD).headers["retry-after"] == "1"
    clock.now += 1
    assert _attempt(client, "rita", PASSWORD).status_code == 303


def test_a_successful_sign_in_resets_the_account_counter(
    limited_app: object, clock: FakeClock
) -> None:
    client = _from(limited_app, "10.0.0.1")
    for i in range(4):
        assert _attempt(client, "rita", "wrong password").status_code == 401
        clock.now += 2**i
    assert _attempt(client, "rita", PASSWORD).status_code == 303
    assert _attempt(client, "rita", "wrong password").status_code == 401
    assert _attempt(client, "rita", PASSWORD).headers["retry-after"] == "1"  # not 16


def test_limits_are_per_address_and_per_account(limited_app: object) -> None:
    guesser = _from(limited_app, "10.0.0.66")
    for i in range(11):  # one failure per account: 10 free ones, then the address waits
        assert _attempt(guesser, f"user{i}", "wrong password").status_code == 401
    assert _attempt(guesser, "rita", PASSWORD).status_code == 429
    assert _attempt(_from(limited_app, "10.0.0.7"), "rita", PASSWORD).status_code == 303
    # one account guessed from five addresses: the right password from a sixth works
    for i in range(5):
        assert _attempt(_from(limited_app, f"10.1.0.{i}"), "rob", "wrong").status_code == 401
        assert _attempt(_from(limited_app, f"10.1.0.{i}"), "rob", PASSWORD).status_code == 429
    assert _attempt(_from(limited_app, "10.1.0.99"), "rob", PASSWORD).status_code == 303


def test_sign_ins_sent_at_once_cannot_pass_the_limit(limited_app: object) -> None:
    clients = [_from(limited_app, "10.0.0.9") for _ in range(8)]
    tokens = [csrf_of(c.get("/login").text) for c in clients]
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []

    def run(client: TestClient, token: str) -> None:
        barrier.wait()
        codes.append(client.post("/login", data={"username": "rita", "password": "wrong one",
                                                 "csrf_token": token}).status_code)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [401] + [429] * 7  # the clock stands still: one try, then wait


def test_limits_are_configurable(web_ws: Workspace, clock: FakeClock) -> None:
    app = create_app(web_ws, secret_key="k" * 32, clock=clock,
                     login_backoff_cap=3, address_free_failures=1)
    client = _from(app, "10.0.0.3")
    waits = []
    for _ in range(4):
        assert _attempt(client, "vic", "nope").status_code == 401
        waits.append(int(_attempt(client, "vic", PASSWORD).headers["retry-after"]))
        clock.now += waits[-1]
    assert waits == [1, 2, 3, 3]
    assert _attempt(client, "vic", PASSWORD).status_code == 303
    assert _attempt(client, "ada", "nope").status_code == 401  # the address: 5 failures, 1 free
    assert _attempt(client, "ada", PASSWORD).headers["retry-after"] == "3"
    from assay.exceptions import InputError

    with pytest.raises(InputError, match="back-off cap"):
        create_app(web_ws, secret_key="k" * 32, login_backoff_cap=0)
    with pytest.raises(InputError, match="address_free_failures"):
        create_app(web_ws, secret_key="k" * 32, address_free_failures=-1)


def test_unknown_api_tokens_are_throttled_per_address(
    limited_app: object, web_ws: Workspace, clock: FakeClock
) -> None:
    token = add_token(web_ws, "ingest", user="rita")
    guesser, other = _from(limited_app, "10.0.0.50"), _from(limited_app, "10.0.0.51")
    url, rows = "/api/monitors/prod/ingest", [{"pixel_0": 0.0}]
    for i in range(11):
        wrong = guesser.post(url, json=rows, headers={"authorization": f"Bearer assay_guess{i}"})
        assert wrong.status_code == 401
    refused = guesser.post(url, json=rows, headers={"authorization": "Bearer assay_guess"})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "too many" in refused.json()["error"]
    # a right token gets through to the endpoint (no monitor "prod": 404), from the
    # guesser's address too: it is checked before the address's back-off
    for client in (guesser, other):
        passed = client.post(url, json=rows, headers={"authorization": f"Bearer {token}"})
        assert passed.status_code == 404 and "prod" in passed.json()["error"]
    for _ in range(10):  # right tokens are never counted as failures
        assert other.get("/api/whoami", headers={"authorization": f"Bearer {token}"}).status_code == 200
    clock.now += 1
    assert guesser.get("/api/whoami", headers={"authorization": "Bearer x"}).status_code == 401
