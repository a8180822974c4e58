"""The monitoring ingestion endpoint over real HTTP semantics (TestClient)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from assay.store import users
from assay.store.workspace import Workspace
from assay.train.recipe import Recipe
from assay.web import create_app


def _rows(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)) + shift, columns=["a", "b", "c"])
    frame["y"] = (frame["a"] > shift).astype(int)
    return frame


@pytest.fixture
def client(tmp_path: Path) -> tuple[TestClient, str, Workspace]:
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", _rows(300, 0), label="y")
    ws.recipes.add("lr", Recipe.from_yaml("featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"))
    ws.monitors.add("m", "d@v1", recipe="lr")
    users.add_user(ws, "feeder", role="reviewer", password="correct horse battery")
    token = users.add_token(ws, "prod-service", user="feeder")
    app = create_app(ws, secret_key="k" * 32, max_body_bytes=200_000)
    return TestClient(app), token, ws


def test_json_and_ndjson_batches_become_windows(client) -> None:
    http, token, ws = client
    auth = {"Authorization": f"Bearer {token}"}
    rows = _rows(200, 1).drop(columns=["y"]).to_dict(orient="records")
    answer = http.post("/api/monitors/m/ingest", json=rows, headers=auth)
    assert answer.status_code == 201, answer.text
    assert answer.json()["window"] == 1 and answer.json()["alerts"] == []
    shifted = _rows(200, 2, shift=1.5).drop(columns=["y"])
    body = "\n".join(json.dumps(r) for r in shifted.to_dict(orient="records"))
    answer = http.post("/api/monitors/m/ingest", content=body.encode(),
                       headers={**auth, "Content-Type": "application/x-ndjson"})
    assert answer.status_code == 201 and answer.json()["drifted"] is True
    windows = ws.monitors.windows("m")
    assert [w["rows"] for w in windows] == [200, 200]  # durable once answered


def test_rejections_say_why_and_store_nothing(client) -> None:
    http, token, ws = client
    auth = {"Authorization": f"Bearer {token}"}
    cases = [
        (b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        (json.dumps([{"a": 1.0, "b": 2.0}]).encode(), {"Content-Type": "application/json"}, 400, "lacks monitored column(s) c"),
        (json.dumps([{"a": "x", "b": 1, "c": 1}] * 3).encode(), {"Content-Type": "application/json"}, 400, "'a'"),
        (json.dumps([]).encode(), {"Content-Type": "application/json"}, 400, "no rows"),
        (b"x" * 300_000, {"Content-Type": "application/json"}, 413, ""),
    ]
    for body, headers, status, expected in cases:
        answer = http.post("/api/monitors/m/ingest", content=body, headers={**auth, **headers})
        assert answer.status_code == status, (expected, answer.text)
        assert expected in answer.text
    assert http.post("/api/monitors/m/ingest", json=[{"a": 1, "b": 1, "c": 1}]).status_code in (401, 403)
    bad_token = {"Authorization": "Bearer nope"}
    assert http.post("/api/monitors/m/ingest", json=[{"a": 1, "b": 1, "c": 1}], headers=bad_token).status_code == 401
    assert ws.monitors.windows("m") == []


def test_rejections_name_the_ndjson_line_or_json_index(client) -> None:
    http, token, ws = client
    auth = {"Authorization": f"Bearer {token}"}
    good = json.dumps({"a": 1.0, "b": 2.0, "c": 3.0})
    bad = json.dumps({"a": 1.0, "b": "lots", "c": 3.0})
    body = "\n".join([good, "", good, bad, good]).encode()  # line 2 is blank
    answer = http.post("/api/monitors/m/ingest", content=body,
                       headers={**auth, "Content-Type": "application/x-ndjson"})
    assert answer.status_code == 400, answer.text
    assert "column 'b' line 4 holds 'lots'" in answer.text, answer.text
    answer = http.post("/api/monitors/m/ingest", json=[json.loads(good), json.loads(bad)],
                       headers=auth)
    assert answer.status_code == 400 and "column 'b' index 1 holds 'lots'" in answer.text
    assert ws.monitors.windows("m") == []
