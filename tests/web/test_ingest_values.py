"""Ingest refuses, whole and with a 400 naming row and column, what it cannot check.

A monitor without a recipe takes missing values (its drift report counts them); a
recipe's model is asked before any refusal of a missing value. Values no monitor can
compare or store (JSON's non-standard ``NaN``/``Infinity``, numbers beyond 64 bits,
nested values, mixed types, bodies nested deeper than :data:`MAX_DEPTH`) are refused
before any work: no window, no object.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from assay.store import users
from assay.store.workspace import Workspace
from assay.train.recipe import Recipe
from assay.web import create_app
from assay.web.routes.ingest import MAX_DEPTH

LR = "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"
HGB = "featurizer: none\nestimator: sklearn.ensemble.HistGradientBoostingClassifier\nseed: 0\n"
GOOD = {"a": 0.1, "b": -0.2, "c": 0.3, "colour": "red"}


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "blue"], size=n)
    frame["y"] = (frame["a"] > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict, Workspace]]:
    ws = Workspace.init(Path(tmp_path_factory.mktemp("ingest")) / "ws")
    ws.import_dataset("d", _rows(300, 0), label="y")
    ws.recipes.add("lr", Recipe.from_yaml(LR))
    ws.recipes.add("hgb", Recipe.from_yaml(HGB))
    ws.monitors.add("m", "d@v1", recipe="lr")
    ws.monitors.add("plain", "d@v1")
    ws.monitors.add("native", "d@v1", recipe="hgb")
    users.add_user(ws, "feeder", role="reviewer", password="correct horse battery")
    token = users.add_token(ws, "prod-service", user="feeder")
    app = create_app(ws, secret_key="k" * 32, max_body_bytes=400_000)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http, {"Authorization": f"Bearer {token}"}, ws


def _post(setup: Any, monitor: str, body: str, ndjson: bool = False) -> httpx.Response:
    http, auth, _ = setup
    kind = "application/x-ndjson" if ndjson else "application/json"
    return http.post(f"/api/monitors/{monitor}/ingest", content=body.encode(),
                     headers={**auth, "Content-Type": kind})


def _array(bad: str) -> str:
    """A JSON array: a good row, then one whose ``a`` is the literal text ``bad``."""
    row = json.dumps(GOOD).replace('"a": 0.1', f'"a": {bad}')
    return f"[{json.dumps(GOOD)}, {row}]"


def _refused(setup: Any, monitor: str, body: str, *expected: str, ndjson: bool = False) -> None:
    ws = setup[2]
    before = len(ws.monitors.windows(monitor)), len(list(ws.objects.digests()))
    answer = _post(setup, monitor, body, ndjson)
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]
    assert "\n" not in message
    for part in expected:
        assert part in message, (part, message)
    assert (len(ws.monitors.windows(monitor)), len(list(ws.objects.digests()))) == before


@pytest.mark.parametrize(("bad", "expected"), [
    ("NaN", "holds NaN, which is not JSON; send null"),
    ("Infinity", "holds Infinity, which is not JSON"),
    ("-Infinity", "holds -Infinity, which is not JSON"),
    ("1e400", "beyond the range of a 64-bit float"),
    (str(10**40), "an integer of 41 digits, beyond the 64-bit range"),
    (str(2**63), "an integer of 19 digits, beyond the 64-bit range"),
    ("9" * 5000, "an integer of 5000 digits"),
    ('"many"', "holds 'many', not a number"),
    ("true", "holds True, not a number"),
    ("[1, 2]", "holds a list"),
    ('{"x": 1}', "holds an object"),
])
def test_values_no_monitor_can_take_are_refused(setup: Any, bad: str, expected: str) -> None:
    for monitor in ("m", "plain"):
        _refused(setup, monitor, _array(bad), "column 'a' index 1", expected)


def test_missing_value_the_model_needs_is_refused_naming_row_and_column(setup: Any) -> None:
    lacking = {k: v for k, v in GOOD.items() if k != "b"}
    _refused(setup, "m", _array("null"), "column 'a' index 1 is missing", "recipe 'lr'",
             "cannot score", "send a value")
    _refused(setup, "m", json.dumps([GOOD, GOOD, lacking]), "column 'b' index 2 is missing")
    body = "\n".join([json.dumps(GOOD), "", json.dumps({**GOOD, "c": None})])
    _refused(setup, "m", body, "column 'c' line 3 is missing", ndjson=True)


def test_missing_values_are_data_for_drift_and_for_models_that_take_them(setup: Any) -> None:
    rows = _rows(100, 1).drop(columns=["y"])
    rows["a"] = rows["a"].mask(rows.index % 4 == 0)  # a quarter missing
    body = rows.to_json(orient="records")  # missing -> null
    answer = _post(setup, "plain", body)
    assert answer.status_code == 201, answer.text
    window = setup[2].monitors.windows("plain")[-1]
    assert window["rows"] == 100
    assert "a" in {c["column"] for c in window["report"]["columns"] if c["drifted"]}
    answer = _post(setup, "native", body)  # HistGradientBoosting scores missing values
    assert answer.status_code == 201, answer.text
    assert setup[2].monitors.windows("native")[-1]["report"]["performance"] is not None


@pytest.mark.parametrize(("rows", "expected"), [
    ([GOOD, {**GOOD, "colour": 5}], ["column 'colour' index 1 holds 5 (a number) but index 0",
                                     "send one type"]),
    ([GOOD, {**GOOD, "colour": True}], ["column 'colour' index 1 holds True (true/false)",
                                        "send one type"]),
    ([{**GOOD, "note": 1}, {**GOOD, "note": "x"}], ["column 'note' index 1 holds 'x' (text)",
                                                    "send one type"]),
    ([{**GOOD, "y": 1}, {**GOOD, "y": "x"}], ["column 'y' index 1 holds 'x'"]),
    ([GOOD, {**GOOD, "colour": ["red"]}], ["column 'colour' index 1 holds a list"]),
    ([GOOD, {**GOOD, "note": {"k": [1]}}], ["column 'note' index 1 holds an object"]),
    ([GOOD, {**GOOD, "note": 10**30}], ["column 'note' index 1 holds an integer of 31 digits"]),
])
def test_values_that_cannot_be_stored_are_refused(
    setup: Any, rows: list, expected: list[str]
) -> None:
    for monitor in ("m", "plain"):
        _refused(setup, monitor, json.dumps(rows), *expected)


def test_label_of_another_type_than_the_references_is_refused(setup: Any) -> None:
    _refused(setup, "m", json.dumps([{**GOOD, "y": "1"}, {**GOOD, "y": "0"}]),
             "column 'y' index 0 holds '1'", "labels are numbers")


def test_deep_nesting_is_refused_before_parsing(setup: Any) -> None:
    _refused(setup, "plain", "[" * 50_000, f"deeper than {MAX_DEPTH} levels", "line 1")
    deep = '{"a": ' + "[" * 100 + "]" * 100 + ', "b": 1, "c": 1, "colour": "red"}'
    _refused(setup, "plain", "\n".join([json.dumps(GOOD)] * 3 + [deep]), "line 4", ndjson=True)
    _refused(setup, "plain", f'{{"rows": [{json.dumps(GOOD)}, {deep}]}}', "line 1")
    # brackets inside strings are text, not nesting
    text = "[" * 1000 + '\\"' + "{" * 1000
    answer = _post(setup, "plain", json.dumps([GOOD, {**GOOD, "colour": text}]))
    assert answer.status_code == 201, answer.text


def test_other_requests_are_served_while_a_batch_is_checked(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest computes in a worker thread: a cheap request does not wait for it."""
    http, auth, ws = setup
    monkeypatch.setenv("ASSAY_FAULT_SLEEP", "monitor_before_store:2.0")
    finished: list[str] = []
    body = _rows(50, 2).drop(columns=["y"]).to_json(orient="records")

    async def run() -> dict[str, float]:
        transport = httpx.ASGITransport(app=http.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            async def ingest() -> float:
                start = time.perf_counter()
                answer = await client.post("/api/monitors/plain/ingest", content=body,
                                           headers={**auth, "Content-Type": "application/json"})
                assert answer.status_code == 201, answer.text
                finished.append("ingest")
                return time.perf_counter() - start

            async def cheap() -> float:
                await asyncio.sleep(0.2)  # the ingest is under way
                start = time.perf_counter()
                answer = await client.get("/api/whoami", headers=auth)
                assert answer.status_code == 200, answer.text
                finished.append("cheap")
                return time.perf_counter() - start

            slow, quick = await asyncio.gather(ingest(), cheap())
            return {"slow": slow, "quick": quick}

    took = asyncio.run(run())
    assert finished == ["cheap", "ingest"], took
    assert took["quick"] < took["slow"] / 4, took


def test_concurrent_batches_become_consecutive_windows(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two batches at once: both stored, as the next two windows, the second
    continuing the first's error detector (none lost, none numbered twice)."""
    http, auth, ws = setup
    monkeypatch.setenv("ASSAY_FAULT_SLEEP", "monitor_before_store:0.5")
    before = len(ws.monitors.windows("m"))
    body = _rows(40, 3).to_json(orient="records")  # labelled: the detector moves

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=http.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = await asyncio.gather(*[
                client.post("/api/monitors/m/ingest", content=body,
                            headers={**auth, "Content-Type": "application/json"})
                for _ in range(2)
            ])
        return [a.status_code for a in answers]

    assert asyncio.run(run()) == [201, 201]
    windows = ws.monitors.windows("m")[before:]
    assert [w["window"] for w in windows] == [before + 1, before + 2]
    first, second = (w["report"]["detector"] for w in windows)
    assert second != first  # the second window updated the first's detector state
