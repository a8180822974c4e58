"""What a monitor window reports when the batch's schema changed (check_window)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.store.monitor_checks import check_window
from assay.store.workspace import Workspace
from assay.train.recipe import Recipe

RECIPE = "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"


def _data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 5)), columns=["a", "b", "c", "d", "e"])
    frame["y"] = (frame["a"] + frame["b"] > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace.init(Path(tmp_path_factory.mktemp("monitor")) / "ws")
    ws.import_dataset("d", _data(400, 0), label="y")
    ws.recipes.add("lr", Recipe.from_yaml(RECIPE))
    ws.monitors.add("plain", "d@v1")
    ws.monitors.add("scored", "d@v1", recipe="lr")
    return ws


def _check(ws: Workspace, name: str, batch: pd.DataFrame) -> dict[str, Any]:
    info = ws.monitors.get(name)
    model = None
    if info["recipe"]:  # fitted here: MonitorStore's model cache is per process, not per ws
        features, reference = info["config"]["features"], _data(400, 0)
        model = Recipe.from_yaml(RECIPE).build().fit(reference[features], reference["y"])
    state = info["config"].get("detector")
    return check_window(batch, ws.monitors._profile(name), ws.dataset("d@v1"), info["config"],
                        model, state)[1]


def test_clean_window_has_no_schema_alert(ws: Workspace) -> None:
    report = _check(ws, "plain", _data(300, 1).drop(columns=["y"]))
    assert report["alerts"] == [] and not report["drifted"]
    assert report["schema"] == {"missing": [], "type_changed": [], "other": [], "new": []}


def test_missing_column_is_drift_and_raises_an_alert(ws: Workspace) -> None:
    batch = _data(300, 2).drop(columns=["y", "e"]).assign(source_id=np.arange(300))
    report = _check(ws, "plain", batch)
    assert report["drifted"]  # 1 of 5 columns, below drift_share: schema drift decides
    assert report["schema"]["missing"] == ["e"] and report["schema"]["new"] == ["source_id"]
    assert any("missing from the window: e" in a for a in report["alerts"])
    assert not any("source_id" in a for a in report["alerts"])  # new columns: no alert
    drifted = {c["column"] for c in report["columns"] if c["drifted"]}
    assert drifted == {"e"}


def test_numbers_as_text_raise_a_type_change_alert(ws: Workspace) -> None:
    batch = _data(300, 3).drop(columns=["y"]).assign(c=["abc"] * 300)
    report = _check(ws, "plain", batch)
    assert report["drifted"] and report["schema"]["type_changed"] == ["c"]
    assert any("now hold text: c" in a for a in report["alerts"])
    row = next(c for c in report["columns"] if c["column"] == "c")
    assert row["n_unparsed"] == 300 and "do not parse as numbers" in row["finding"]


def test_window_missing_a_feature_is_checked_without_the_model(ws: Workspace) -> None:
    report = _check(ws, "scored", _data(300, 4).drop(columns=["y", "a"]))
    assert report["performance"] is None and report["drifted"]
    assert any(a.startswith("model not scored: feature column(s) a missing")
               for a in report["alerts"])
    assert report["schema"]["missing"] == ["a"]
    assert "prediction" not in {c["column"] for c in report["columns"]}
    scored = _check(ws, "scored", _data(300, 5).drop(columns=["y"]))
    assert scored["performance"] is not None and scored["schema"]["missing"] == []


def test_monitor_alert_settings_are_checked(tmp_path) -> None:
    import pandas as pd
    import pytest

    from assay.exceptions import InputError
    from assay.store.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", pd.DataFrame({"x": range(40), "label": [0, 1] * 20}), label="label")
    for alerts, message in [({"accuracy_drop": 2.0}, "between 0 and 1"),
                            ({"recall_drop": 0.1}, "unknown alert"),
                            ({"accuracy_drop": 0.1}, "needs a recipe")]:
        with pytest.raises(InputError, match=message):
            ws.monitors.add("m", "d@v1", alerts=alerts)
    assert ws.monitors.list() == []
    assert ws.monitors.add("m", "d@v1")["config"]["alerts"] == {"accuracy_drop": 0.05}
