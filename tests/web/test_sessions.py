"""Server-side sessions, revocation commands, per-(account, address) back-off, trusted
proxies and the Secure cookie flag of ``assay ui``.

Sessions are rows of ``web_sessions`` (the cookie carries the secret, the table its
SHA-256). The app caches a looked-up session for ``SESSION_CACHE_SECONDS`` on its
clock; the tests move a fake clock, so they never sleep.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from webhelpers import PASSWORD, FakeClock, csrf_of, sign_in

from assay.cli.main import main
from assay.store import models as m
from assay.store.models import utcnow
from assay.store.users import add_token, authenticate, user_for_token
from assay.store.workspace import Workspace
from assay.web import create_app
from assay.web.app import SESSION_CACHE_SECONDS
from assay.web.ratelimit import address_key, pair_key
from assay.web.security import COOKIE


@pytest.fixture
def app(web_ws: Workspace, clock: FakeClock) -> object:
    return create_app(web_ws, secret_key="k" * 32, clock=clock)


def _from(app: object, address: str = "10.0.0.5") -> TestClient:
    return TestClient(app, client=(address, 40000))  # type: ignore[arg-type]


def _signed_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def _attempt(client: TestClient, name: str, password: str) -> object:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": name, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


def _cli(ws: Workspace, *args: str, stdin: str | None = None,
         monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main([*args, "-w", str(ws.root)])


def _sessions(ws: Workspace) -> list[m.WebSession]:
    with ws.session() as s:
        return list(s.scalars(select(m.WebSession)).all())


# --- server-side sessions ------------------------------------------------------------

def test_sign_out_ends_a_copied_cookie_at_once(app: object) -> None:
    browser, thief = _from(app), _from(app, "10.9.9.9")
    csrf = sign_in(browser, "rita")
    thief.cookies.set(COOKIE, browser.cookies[COOKIE])
    assert _signed_in(thief)
    out = browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert not _signed_in(thief)  # no clock move: the same process forgets it at once
    assert not _signed_in(browser)
    assert thief.get("/api/whoami").status_code == 401


def test_a_session_is_a_row_holding_only_the_secrets_hash(app: object, web_ws: Workspace) -> None:
    browser = _from(app, "10.0.0.77")
    sign_in(browser, "rita")
    rows = _sessions(web_ws)
    assert len(rows) == 1 and rows[0].address == "10.0.0.77"
    cookie = browser.cookies[COOKIE]
    assert rows[0].id not in cookie and len(rows[0].id) == 64
    with web_ws.session() as s:
        assert s.get(m.User, rows[0].user_id).name == "rita"  # type: ignore[union-attr]
    created = rows[0].created_at.replace(tzinfo=None)
    expires = rows[0].expires_at.replace(tzinfo=None)
    assert 11.9 * 3600 < (expires - created).total_seconds() <= 12 * 3600
    sign_in(browser, "vic")  # signing in again replaces this browser's session
    assert [r.address for r in _sessions(web_ws)] == ["10.0.0.77"]


def test_cli_session_rm_ends_a_users_sessions(app: object, web_ws: Workspace, clock: FakeClock,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rita1, rita2, vic = _from(app), _from(app), _from(app)
    for client, name in ((rita1, "rita"), (rita2, "rita"), (vic, "vic")):
        sign_in(client, name)
    assert _cli(web_ws, "session", "list") == 0
    assert capsys.readouterr().out.count("rita") == 2
    assert _cli(web_ws, "session", "rm", "rita") == 0
    assert "2 sessions" in capsys.readouterr().out
    clock.now += SESSION_CACHE_SECONDS  # another process: within the cache's seconds
    assert not _signed_in(rita1) and not _signed_in(rita2) and _signed_in(vic)
    assert _cli(web_ws, "session", "rm", "nobody") == 2
    assert "nobody" in capsys.readouterr().err
    with web_ws.session() as s:
        audit = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "session.end")).all()
    assert [(a.target, a.detail["sessions"]) for a in audit] == [("user:rita", 2)]


def test_cli_user_passwd_changes_the_password_and_ends_sessions(
    app: object, web_ws: Workspace, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = _from(app)
    sign_in(browser, "rita")
    assert _cli(web_ws, "user", "passwd", "rita", "--password-stdin",
                stdin="a new passphrase\n", monkeypatch=monkeypatch) == 0
    clock.now += SESSION_CACHE_SECONDS
    assert not _signed_in(browser) and _sessions(web_ws) == []
    assert authenticate(web_ws, "rita", PASSWORD) is None
    assert authenticate(web_ws, "rita", "a new passphrase") is not None
    assert _cli(web_ws, "user", "passwd", "rita", "--password-stdin", stdin="short\n",
                monkeypatch=monkeypatch) == 2
    assert _cli(web_ws, "user", "passwd", "ghost", "--password-stdin",
                stdin="long enough pw\n", monkeypatch=monkeypatch) == 2
    with web_ws.session() as s:
        actions = s.scalars(select(m.AuditLog.action).where(m.AuditLog.target == "user:rita")).all()
    assert "user.password" in actions


def test_cli_user_rm_deletes_the_user_its_tokens_and_sessions(
    app: object, web_ws: Workspace, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    browser = _from(app)
    sign_in(browser, "vic")
    token = add_token(web_ws, "reader", user="vic")
    assert _cli(web_ws, "user", "rm", "vic") == 0
    assert "vic" in capsys.readouterr().out
    clock.now += SESSION_CACHE_SECONDS
    assert not _signed_in(browser)
    assert user_for_token(web_ws, token) is None and _sessions(web_ws) == []
    assert _from(app).get("/api/whoami", headers={"authorization": f"Bearer {token}"}).status_code == 401
    assert _cli(web_ws, "user", "rm", "vic") == 2  # gone
    assert "no user named 'vic'" in capsys.readouterr().err
    with web_ws.session() as s:
        assert s.scalar(select(m.AuditLog).where(m.AuditLog.action == "user.rm")) is not None


def test_cli_token_list_and_rm(web_ws: Workspace, app: object,
                               capsys: pytest.CaptureFixture[str]) -> None:
    first = add_token(web_ws, "ingest", user="rita")
    second = add_token(web_ws, "ingest", user="rob")
    third = add_token(web_ws, "ci", user="rita")
    capsys.readouterr()
    assert _cli(web_ws, "token", "list", "--json") == 0
    import json

    listed = json.loads(capsys.readouterr().out)
    assert [(t["name"], t["user"]) for t in listed] == [("ingest", "rita"), ("ingest", "rob"),
                                                         ("ci", "rita")]
    assert all(set(t) == {"id", "name", "user", "created_at"} for t in listed)
    assert first not in json.dumps(listed)
    assert _cli(web_ws, "token", "rm", "ingest") == 2  # two tokens of that name: say which
    err = capsys.readouterr().err
    assert str(listed[0]["id"]) in err and str(listed[1]["id"]) in err and "--user" in err
    assert _cli(web_ws, "token", "rm", "ingest", "--user", "rob") == 0
    assert _cli(web_ws, "token", "rm", str(listed[0]["id"])) == 0
    assert _cli(web_ws, "token", "rm", "999999") == 2
    assert user_for_token(web_ws, first) is None and user_for_token(web_ws, second) is None
    client = _from(app)
    assert client.get("/api/whoami", headers={"authorization": f"Bearer {first}"}).status_code == 401
    assert client.get("/api/whoami", headers={"authorization": f"Bearer {third}"}).status_code == 200
    with web_ws.session() as s:
        removed = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "token.rm")).all()
    assert len(removed) == 2


def test_expired_sessions_are_refused_and_purged(app: object, web_ws: Workspace,
                                                 clock: FakeClock) -> None:
    old, fresh = _from(app), _from(app)
    sign_in(old, "rita")
    with web_ws.session() as s:
        s.execute(update(m.WebSession).values(expires_at=utcnow().replace(year=2020)))
    clock.now += SESSION_CACHE_SECONDS
    assert not _signed_in(old)
    sign_in(fresh, "rob")  # each sign-in purges expired rows
    assert [r.user_id for r in _sessions(web_ws)] != [] and len(_sessions(web_ws)) == 1


# --- back-off per (account, address) -------------------------------------------------

def test_wrong_passwords_from_one_address_do_not_lock_out_another(
    app: object, clock: FakeClock
) -> None:
    guesser = _from(app, "10.0.0.66")
    for i in range(8):  # each after the back-off of the one before
        assert _attempt(guesser, "rita", "wrong password").status_code == 401
        clock.now += 2**i
    assert _attempt(_from(app, "10.0.0.7"), "rita", PASSWORD).status_code == 303


def test_failures_back_off_exponentially_up_to_a_cap(app: object, clock: FakeClock) -> None:
    client = _from(app, "10.0.0.1")
    waits = []
    for _ in range(13):
        assert _attempt(client, "rita", "wrong password").status_code == 401
        refused = _attempt(client, "rita", PASSWORD)  # even the right password, at once
        assert refused.status_code == 429 and "try again in" in refused.text
        waits.append(int(refused.headers["retry-after"]))
        clock.now += waits[-1] - 1
        assert _attempt(client, "rita", PASSWORD).status_code == 429  # 1 s early
        clock.now += 1
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    assert _attempt(client, "rita", PASSWORD).status_code == 303
    # the right password cleared this account's count from this address (not the
    # address's own count: 13 failures, 10 free, so it waits 4 s after its last)
    limiter = client.app.state.web.limiter  # type: ignore[attr-defined]
    assert limiter.failures(pair_key("rita", "10.0.0.1")) == 0
    assert limiter.failures(address_key("10.0.0.1")) == 13


def test_an_address_guessing_many_accounts_backs_off_too(app: object, clock: FakeClock) -> None:
    sprayer = _from(app, "10.0.0.66")
    for i in range(11):  # one failure per account: 10 free ones, then the address waits
        assert _attempt(sprayer, f"user{i}", "wrong password").status_code == 401
    refused = _attempt(sprayer, "ada", PASSWORD)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert _attempt(_from(app, "10.0.0.67"), "ada", PASSWORD).status_code == 303


def test_a_valid_token_is_never_locked_out_by_bad_tokens(
    app: object, web_ws: Workspace, clock: FakeClock
) -> None:
    token = add_token(web_ws, "ingest", user="rita")
    shared = _from(app, "10.0.0.50")  # the attacker and the production client, one NAT
    codes = [shared.get("/api/whoami", headers={"authorization": f"Bearer assay_guess{i}"})
             .status_code for i in range(15)]
    assert codes[:10] == [401] * 10 and 429 in codes[10:]
    for _ in range(5):
        ok = shared.get("/api/whoami", headers={"authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()["user"]["name"] == "rita"
    again = shared.get("/api/whoami", headers={"authorization": "Bearer assay_guess99"})
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1


# --- trusted proxies and Secure cookies in `assay ui` --------------------------------

def _captured_ui(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, dict, object]:
    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((kw, app)))
    code = main(["ui", *args])
    return (code, *calls[-1]) if calls else (code, {}, None)  # type: ignore[return-value]


def test_ui_trusts_no_proxy_unless_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    Workspace.init(tmp_path / "ws").close()
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable is not obeyed
    code, options, _ = _captured_ui(monkeypatch, str(tmp_path / "ws"))
    assert code == 0 and options["proxy_headers"] is False
    assert options["forwarded_allow_ips"] == ""
    code, options, _ = _captured_ui(monkeypatch, str(tmp_path / "ws"),
                                    "--forwarded-allow-ips", "10.0.0.2, 10.1.0.0/16")
    assert code == 0 and options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.2,10.1.0.0/16"
    code, _, _ = _captured_ui(monkeypatch, str(tmp_path / "ws"), "--forwarded-allow-ips", "proxy")
    assert code == 2 and "--forwarded-allow-ips" in capsys.readouterr().err


def test_ui_secure_cookies_flag_and_environment(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ws = str(tmp_path / "ws")
    Workspace.init(tmp_path / "ws").close()
    monkeypatch.delenv("ASSAY_SECURE_COOKIES", raising=False)
    assert _captured_ui(monkeypatch, ws)[2].state.web.secure_cookies is False  # type: ignore[attr-defined]
    assert _captured_ui(monkeypatch, ws, "--secure-cookies")[2].state.web.secure_cookies is True  # type: ignore[attr-defined]
    monkeypatch.setenv("ASSAY_SECURE_COOKIES", "1")
    assert _captured_ui(monkeypatch, ws)[2].state.web.secure_cookies is True  # type: ignore[attr-defined]
    assert _captured_ui(monkeypatch, ws, "--no-secure-cookies")[2].state.web.secure_cookies is False  # type: ignore[attr-defined]
    # with workers the choice reaches the worker processes through the environment
    code, options, target = _captured_ui(monkeypatch, ws, "--secure-cookies", "--workers", "2")
    assert code == 0 and target == "assay.web.app:app_from_env"
    import os

    assert os.environ["ASSAY_SECURE_COOKIES"] == "1"
    from assay.web.app import app_from_env

    assert app_from_env().state.web.secure_cookies is True
    monkeypatch.setenv("ASSAY_SECURE_COOKIES", "maybe")
    assert _captured_ui(monkeypatch, ws)[0] == 2


@pytest.fixture
def served(sqlite_workspace: Workspace, request: pytest.FixtureRequest) -> Iterator[str]:
    """The app behind a real uvicorn, with the options `assay ui` gives it."""
    from webhelpers import fill

    from assay.cli.web import uvicorn_options

    fill(sqlite_workspace)
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    options = uvicorn_options("127.0.0.1", port, forwarded_allow_ips=request.param)
    srv = uvicorn.Server(uvicorn.Config(create_app(sqlite_workspace, secret_key="s" * 32),
                                        **options))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(("served", "seen"), [(None, "127.0.0.1"), ("127.0.0.1", "203.0.113.9")],
                         indirect=["served"])
def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    served: str, seen: str, sqlite_workspace: Workspace
) -> None:
    import httpx

    spoof = {"x-forwarded-for": "203.0.113.9"}
    with httpx.Client(base_url=served, headers=spoof) as client:
        token = csrf_of(client.get("/login").text)
        signed = client.post("/login", data={"username": "rita", "password": PASSWORD,
                                             "csrf_token": token})
        assert signed.status_code in (200, 303)
    assert [r.address for r in _sessions(sqlite_workspace)] == [seen]


def test_a_team_signing_in_at_once_from_one_address_is_let_in(
    app: object, web_ws: Workspace
) -> None:
    """Attempts in flight count against their account only: 14 people behind one NAT
    signing in at the same moment are not taken for a password sprayer (with the address
    counting attempts before their outcome, the 11th and later were refused)."""
    from assay.store.users import add_user

    names = [f"teammate{i}" for i in range(14)]
    for name in names:
        add_user(web_ws, name, role="reviewer", password=PASSWORD)
    codes: list[int] = []
    start = threading.Barrier(len(names))

    def sign_in_now(name: str) -> None:
        client = _from(app, "10.0.0.80")
        client.get("/login")
        start.wait()
        codes.append(_attempt(client, name, PASSWORD).status_code)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=sign_in_now, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [303] * len(names)
