"""Every route of the web app, fed generated hostile requests (issue 12: "nothing lost").

The routes are read from the router modules of :mod:`assay.web.routes` (a test checks
they are exactly the app's), so a route added later is fuzzed without touching this
file. Each route gets :data:`REQUESTS_PER_ROUTE` seeded requests: hostile path and query
values, extra query parameters, form fields, JSON bodies (wrong types, huge and
non-finite numbers, deep nesting, unicode, missing and extra fields), raw bytes; signed in
as an admin with a valid CSRF token, and some with a wrong one, with an API token, or
not signed in. A request passes when the status is below 500, a JSON error names its
problem in one line, and a refused request (4xx) changed no version, review decision or
label-book version. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import random
import sys
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from assay.store.users import add_token
from assay.store.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))  # the hostile values
from fuzzing import HOSTILE_NUMBERS, HOSTILE_TEXT, hostile_json  # noqa: E402
from webhelpers import sign_in  # noqa: E402

REQUESTS_PER_ROUTE = 24
#: Valid path values: the fuzz mixes them with hostile ones, so requests get past the
#: first check and reach the code behind it.
VALID = {"name": "digits", "entry_id": "1", "slug": "audit", "item_id": "d0",
         "path": "a.png"}
#: Field names the state-changing routes read (forms and JSON bodies).
FIELDS = ["action", "relabel", "label", "revision", "note", "entries", "entries[]", "base",
          "classes", "rules", "examples", "description", "message", "name", "role",
          "password", "username", "next", "text", "rows", "items", "decision", "ids[]"]
COUNTED = ["versions", "review_decisions", "labelbook_versions"]
#: Known failures, by test id: each is reported in the issue and fixed elsewhere.
XFAIL: dict[str, str] = {}
#: A JSON body nested deeper than Python's recursion limit: json.loads raises
#: RecursionError (not ValueError), which web/deps.py's _read_fields lets through.
def _routes() -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) of every route of every router module."""
    import assay.web.routes as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for route in module.router.routes:
            found += [(method, route.path, route) for method in sorted(route.methods)]
    return sorted(found, key=lambda r: (r[1], r[0]))


ROUTES = _routes()


def _params() -> list[Any]:
    out = []
    for method, path, _ in ROUTES:
        case_id = f"{method} {path}"
        marks = ([pytest.mark.xfail(strict=True, reason=XFAIL[case_id])]
                 if case_id in XFAIL else [])
        out.append(pytest.param(method, path, id=case_id, marks=marks))
    return out


def _app_routes(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of the app's API routes, also inside included routers."""
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            out |= {(m, prefix + route.path) for m in route.methods or ()}
        elif (inner := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            out |= _app_routes(inner.routes, prefix + getattr(context, "prefix", ""))
    return out


@pytest.fixture
def fuzz_ws(web_ws: Workspace) -> tuple[Workspace, str]:
    """The digits workspace with a monitor ``m`` and an API token of the admin."""
    web_ws.monitors.add("m", "digits")
    return web_ws, add_token(web_ws, "fuzz", user="ada")


def _counts(ws: Workspace) -> dict[str, int]:
    with ws.session(readonly=True) as session:
        return {t: session.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in COUNTED}


def _path(template: str, rng: random.Random) -> str:
    """``template`` with each ``{param}`` valid or hostile (percent-encoded)."""
    out = template
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        name = out[start + 1:end].split(":")[0]
        value = VALID.get(name, "1") if rng.random() < 0.5 else rng.choice(
            HOSTILE_TEXT + HOSTILE_NUMBERS
        )
        out = out[:start] + (quote(value, safe="") or "%20") + out[end + 1:]
    return out


def _query(route: APIRoute, rng: random.Random) -> dict[str, str]:
    names = [f.name for f in route.dependant.query_params]
    if rng.random() < 0.3:
        names.append(rng.choice(["format", "id", "limit", "x", "offset[]", "é"]))
    return {name: rng.choice(HOSTILE_TEXT + HOSTILE_NUMBERS + ["json"])
            for name in names if rng.random() < 0.7}


def _body(rng: random.Random, csrf: str) -> dict[str, Any]:
    """Keyword arguments of ``client.request`` for a state-changing request."""
    token = csrf if rng.random() < 0.8 else rng.choice(["", "x", csrf[:-1] + "A"])
    kind = rng.random()
    fields = rng.sample(FIELDS, rng.randrange(0, 5))
    if kind < 0.35:
        form: dict[str, Any] = {
            f: [rng.choice(HOSTILE_TEXT) for _ in range(rng.randrange(1, 3))]
            if rng.random() < 0.3 else rng.choice(HOSTILE_TEXT + HOSTILE_NUMBERS)
            for f in fields
        }
        form["csrf_token"] = token
        return {"data": form}
    headers = {"content-type": "application/json", "x-csrf-token": token}
    if kind < 0.75:
        payload: Any = {f: hostile_json(rng) for f in fields}
        if rng.random() < 0.2:
            payload = hostile_json(rng)
        raw: str | bytes = json.dumps(payload, allow_nan=True)
    elif kind < 0.95:
        raw = np.random.default_rng(rng.randrange(10**6)).bytes(rng.randrange(0, 3000))
    else:
        raw = ""
    return {"content": raw, "headers": headers}


def _request(method: str, path: str, route: APIRoute, rng: random.Random, csrf: str,
             api_token: str) -> tuple[str, dict[str, Any], str]:
    """The URL, keyword arguments and who signs in (session, token, nobody)."""
    url = _path(path, rng)
    kwargs: dict[str, Any] = {"params": _query(route, rng), "headers": {}}
    if method == "POST":
        kwargs.update(_body(rng, csrf))
    who = rng.choices(["session", "token", "nobody"], [0.75, 0.15, 0.1])[0]
    if "ingest" in path and rng.random() < 0.7:
        who = "token"
    headers = dict(kwargs.pop("headers") or {})
    if who == "token":
        headers["authorization"] = f"Bearer {api_token}"
    if rng.random() < 0.5:
        headers["accept"] = "application/json"
    kwargs["headers"] = headers
    return url, kwargs, who


def _check(response: Any, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:400]}"
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        error = response.json().get("error")
        assert isinstance(error, str) and error.strip(), where
        assert "\n" not in error.strip() and "Traceback" not in error, f"{where}: {error!r}"


def test_the_fuzzed_routes_are_the_apps(app: Any) -> None:
    assert {(m, p) for m, p, _ in ROUTES} == _app_routes(app.routes)


@pytest.mark.parametrize(("method", "path"), _params())
def test_hostile_requests_never_fail_the_server(app: Any, fuzz_ws: tuple[Workspace, str],
                                                method: str, path: str) -> None:
    ws, api_token = fuzz_ws
    route = next(r for m, p, r in ROUTES if (m, p) == (method, path))
    with TestClient(app) as admin, TestClient(app) as anonymous:
        csrf = sign_in(admin, "ada")
        for index in range(REQUESTS_PER_ROUTE):
            rng = random.Random(f"{method} {path}-{index}")
            url, kwargs, who = _request(method, path, route, rng, csrf, api_token)
            client = admin if who == "session" else anonymous
            before = _counts(ws)
            shown = {k: (repr(v)[:300]) for k, v in kwargs.items() if v}
            where = f"#{index} {method} {url[:200]} as {who} {shown}"
            try:
                response = client.request(method, url, follow_redirects=False, **kwargs)
            except Exception as exc:  # the server raised: a 500 in production
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                origin = f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})"
                pytest.fail(f"{where}: 500, {type(exc).__name__}: {str(exc)[:200]} at {origin}")
            _check(response, where)
            if response.status_code >= 400:
                assert _counts(ws) == before, f"{where}: refused, yet the workspace changed"
            if who == "session" and path == "/logout" and response.status_code < 400:
                csrf = sign_in(admin, "ada")
        assert admin.get("/", headers={"accept": "application/json"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [pytest.param(m, p, id=f"{m} {p}") for m, p, _ in ROUTES if m == "POST"],
)
def test_deeply_nested_json_is_refused(app: Any, fuzz_ws: tuple[Workspace, str], method: str,
                                       path: str) -> None:
    """A JSON body nested 100000 deep is bad input (400/413), for sessions and tokens."""
    ws, api_token = fuzz_ws
    url = path.replace("{name}", "digits" if "ingest" not in path else "m")
    url = url.replace("{entry_id}", "1")
    body = "[" * 100_000 + "1" + "]" * 100_000
    with TestClient(app) as admin:
        csrf = sign_in(admin, "ada")
        for headers in ({"x-csrf-token": csrf}, {"authorization": f"Bearer {api_token}"}):
            headers |= {"content-type": "application/json", "accept": "application/json"}
            response = admin.request(method, url, content=body, headers=headers)
            _check(response, f"{method} {url} with {sorted(headers)}")
