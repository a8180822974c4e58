"""Numbers out of range never reach the database: every integer a route takes is checked.

The routes are enumerated from ``app.routes``, so a route added later with an integer
path or query parameter is covered without touching this file. Integers read from
form or JSON fields (a decision's revision, bulk ``ID:REVISION`` pairs, a label-book
edit's base) are sent by hand. Run on SQLite and PostgreSQL (where integers from
2**31 on overflow the column type).
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from webhelpers import N_QUEUED

from assay.store.users import add_token
from assay.store.workspace import Workspace
from assay.web import create_app

BAD = ["99999999999999999999", str(2**31), str(2**63), "-1", "-99999999999999999999",
       "abc", "1.5", "1e3", ""]


def _int_params(route: APIRoute) -> tuple[list[str], list[str]]:
    """The names of ``route``'s integer path and query parameters."""

    def is_int(field: object) -> bool:
        annotation = getattr(getattr(field, "field_info", None), "annotation", None)
        return annotation is int or "int" in re.findall(r"\w+", str(annotation))

    path = [f.name for f in route.dependant.path_params if is_int(f)]
    query = [f.name for f in route.dependant.query_params if is_int(f)]
    return path, query


def _api_routes(routes: list[object], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every API route with its full path, also inside included routers (FastAPI keeps
    them nested from 0.16x on)."""
    out: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append((prefix + route.path, route))
        elif (inner := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            out += _api_routes(inner.routes, prefix + getattr(context, "prefix", ""))
    return out


def _url(path: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return values.get(name, "digits" if name == "name" else "1")

    return re.sub(r"\{([^}]+)\}", fill, path)


@pytest.fixture
def admin(web_ws: Workspace) -> TestClient:
    app = create_app(web_ws, secret_key="k" * 32)
    token = add_token(web_ws, "numbers", user="ada")
    return TestClient(app, headers={"authorization": f"Bearer {token}",
                                    "accept": "application/json"})


def test_every_integer_parameter_of_every_route_is_range_checked(admin: TestClient) -> None:
    routes = _api_routes(admin.app.routes)  # type: ignore[attr-defined]
    assert len(routes) > 20
    checked = []
    for path, route in routes:
        path_ints, query_ints = _int_params(route)
        method = sorted(route.methods - {"HEAD"})[0]
        for param in path_ints + query_ints:
            for value in BAD:
                if param in path_ints and value == "":
                    continue  # an empty path segment is another URL
                url = _url(path, {param: value} if param in path_ints else {})
                params = {param: value} if param in query_ints else {}
                response = admin.request(method, url, params=params, json={})
                where = f"{method} {path} {param}={value!r}"
                assert response.status_code in (400, 404), f"{where}: {response.status_code}"
                error = response.json()["error"]
                assert param in error or "#" in error, f"{where}: {error}"
                checked.append(where)
    # the routes known today, so that a broken enumeration cannot pass by checking nothing
    for expected in ("/review/entry/{entry_id}", "/datasets/{name} version",
                     "/datasets/{name}/diff a", "/analyses/{slug} id", "/labelbook/{name} version"):
        assert any(expected.split()[0] in c and (len(expected.split()) == 1 or
                   f" {expected.split()[1]}=" in c) for c in checked), expected


def test_out_of_range_messages_say_what_is_allowed(admin: TestClient) -> None:
    response = admin.get("/datasets/digits", params={"version": "99999999999999999999"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "version" in error and "2147483647" in error and "99999999999999999999" in error
    assert admin.get("/review/entry/2147483647").status_code == 404  # in range, absent


@pytest.mark.parametrize("revision", ["99999999999999999999", "-1", "x", "1.5"])
def test_integer_form_fields_are_range_checked(admin: TestClient, revision: str) -> None:
    entry = admin.get("/review/digits/next").json()["next"]
    decided = admin.post(f"/review/entry/{entry}/decide",
                         json={"action": "keep", "revision": revision})
    assert decided.status_code == 400 and "revision" in decided.json()["error"]
    for pair in (f"{entry}:{revision}", f"{revision}:1", "99999999999999999999:99999999999999999999"):
        bulk = admin.post("/review/digits/bulk", json={"action": "keep", "entries[]": [pair]})
        assert bulk.status_code in (400, 404), (pair, bulk.text)
    base = admin.post("/labelbook/digits/edit", json={"base": revision, "message": "m"})
    assert base.status_code == 400 and "base" in base.json()["error"]
    # nothing was decided
    assert admin.get("/review/digits/next").json()["next"] == entry


def test_bulk_refuses_entries_of_another_dataset(admin: TestClient, web_ws: Workspace) -> None:
    import pandas as pd

    web_ws.import_dataset("other", pd.DataFrame({"item_id": ["o1", "o2"], "label": [0, 1]}),
                          label="label", id="item_id")
    web_ws.review.add("other", pd.DataFrame({"item_id": ["o1", "o2"], "reason": ["r", "r"],
                                             "score": [0.1, 0.2]}), source="label_issue")
    foreign = [e["id"] for e in admin.get("/review/other?format=json").json()["entries"]]
    mine = admin.get("/review/digits/next").json()["next"]
    refused = admin.post("/review/digits/bulk",
                         json={"action": "remove", "entries[]": [str(mine), *map(str, foreign)]})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert all(f"#{i}" in error for i in foreign) and "'other'" in error and "digits" in error
    # nothing decided, in either dataset
    assert len(admin.get("/review/other?format=json").json()["entries"]) == 2
    assert admin.get("/review/digits?format=json").json()["total"] == N_QUEUED
    unknown = admin.post("/review/digits/bulk", json={"action": "keep", "entries[]": ["2147483647"]})
    assert unknown.status_code == 404 and "#2147483647" in unknown.json()["error"]


@pytest.mark.parametrize("field", ["label", "note", "source", "max_score", "q"])
def test_lists_and_objects_in_text_fields_are_refused_before_deciding(
    admin: TestClient, field: str
) -> None:
    entry = admin.get("/review/digits/next").json()["next"]
    for value in ([1], {"a": 1}):
        body = {"action": "relabel", "label": "3", field: value}
        refused = admin.post(f"/review/entry/{entry}/decide", json=body)
        assert refused.status_code == 400 and f"'{field}'" in refused.json()["error"]
        if field == "label":  # the one text field bulk reads
            bulk = admin.post("/review/digits/bulk", json={**body, "entries[]": [str(entry)]})
            assert bulk.status_code == 400, bulk.text
    assert admin.get("/review/digits/next").json()["next"] == entry  # nothing decided
