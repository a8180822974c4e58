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


def test_a_drift_alert_counts_the_columns_it_does_not_name(tmp_path: Path) -> None:
    """Twelve shifted columns: the alert names eight and says how many more drifted."""
    rng = np.random.default_rng(0)
    columns = [f"x{i:02d}" for i in range(12)]
    ws = Workspace.init(tmp_path / "ws")
    reference = pd.DataFrame(rng.normal(size=(500, 12)), columns=columns).assign(y=0)
    ws.import_dataset("wide", reference, label="y")
    ws.monitors.add("wide", "wide@v1")
    batch = pd.DataFrame(rng.normal(2.0, 1.0, size=(300, 12)), columns=columns)
    window = ws.monitors.ingest("wide", batch)
    [alert] = [a for a in window["alerts"] if a.startswith("data drift")]
    assert alert == f"data drift: 12 column(s) drifted ({', '.join(columns[:8])} and 4 more)"
    ws.close()


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


def test_batches_of_values_no_window_can_hold_are_refused_whole(ws: Workspace) -> None:
    """Through the library: the DataFrame's index names rows; nothing is stored."""
    from assay.exceptions import InputError

    before = ws.monitors.status("plain")["windows"], len(list(ws.objects.digests()))
    base = _data(5, 6).drop(columns=["y"]).astype(object)
    cases = [
        ("a", [1.0, 2.0], "column 'a' index 2 holds a list"),
        ("note", {"k": 1}, "column 'note' index 2 holds an object"),
        ("e", 10**40, "column 'e' index 2 holds an integer of 41 digits"),
        ("b", True, "column 'b' index 2 holds True, not a number"),
        ("note", "text", "column 'note' index 2 holds 'text' (text) but index 0 holds a number"),
    ]
    for column, value, expected in cases:
        batch = base.copy()
        if column not in batch:
            batch[column] = pd.Series([1] * 5, dtype=object)
        batch.at[2, column] = value
        with pytest.raises(InputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            ws.monitors.ingest("plain", batch, source="batch")
    assert (ws.monitors.status("plain")["windows"], len(list(ws.objects.digests()))) == before


def test_a_window_from_another_writer_first_stores_nothing(workspace: Workspace) -> None:
    """The window number is taken in the storing transaction (the monitor's row locked
    on PostgreSQL): a stale one is refused."""
    from assay.exceptions import ConflictError

    ws = workspace
    ws.import_dataset("d", _data(200, 0), label="y")
    ws.monitors.add("plain", "d@v1")
    ws.monitors.ingest("plain", _data(50, 7).drop(columns=["y"]))
    windows = ws.monitors.windows("plain")
    report = dict(windows[-1]["report"])
    with pytest.raises(ConflictError, match="send the batch again"):
        ws.monitors._store("plain", _data(50, 8), report, head=len(windows) - 1)
    assert ws.monitors.windows("plain") == windows


@pytest.mark.parametrize(("text", "per_line", "line"), [
    (b'[{"a": 1}]', False, None),
    (b"[" * 65 + b"]" * 65, False, 1),
    (b"[" * 64 + b"]" * 64, False, None),
    (b'["' + b"[" * 500 + b'"]', False, None),  # brackets in a string are text
    (b'["\\"' + b"[" * 500 + b'"]', False, None),  # an escaped quote does not end it
    (b"[\n" * 70, False, 65),  # one document over lines: the line where it gets too deep
    (b"[\n" * 70, True, None),  # NDJSON: each line on its own
    (b"]" * 100 + b"\n" + b"[" * 100, True, 2),  # closing brackets do not lend depth
    (b'{"a": "' + b"[" * 100 + b"\n" + b"[" * 100, True, 2),  # unterminated: ends at the line
])
def test_nesting_depth_is_measured_outside_strings(
    text: bytes, per_line: bool, line: int | None
) -> None:
    from assay.store.json_depth import too_deep_line

    assert too_deep_line(text, per_line=per_line) == line


def test_depth_scan_is_linear_on_hostile_strings() -> None:
    """Quotes and escapes that make a naive string pattern quadratic."""
    import time

    from assay.store.json_depth import too_deep_line

    small, large = b'"\\' * 20_000, b'"\\' * 400_000
    start = time.perf_counter()
    too_deep_line(small, per_line=False)
    quick = time.perf_counter() - start
    start = time.perf_counter()
    assert too_deep_line(large, per_line=False) is None
    assert time.perf_counter() - start < max(1.0, quick * 200)  # 20x the text, not 400x
