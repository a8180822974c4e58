"""Monitors end to end on a real workspace: add, ingest, status exit codes, sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace

RECIPE = (
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"
)


def _data(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    frame = pd.DataFrame(x + shift, columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "blue"], size=n)
    frame["y"] = y
    return frame


@pytest.fixture
def ws(tmp_path: Path, cli) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset("d", _data(400, 0), label="y")
    (tmp_path / "r.yaml").write_text(RECIPE)
    assert cli("recipe", "add", "lr", str(tmp_path / "r.yaml"), "-w", ws.location)[0] == 0
    code, _, err = cli(
        "monitor", "add", "m", "--reference", "d@v1", "--recipe", "lr", "-w", ws.location
    )
    assert code == 0, err
    return ws


def test_clean_then_shifted_window(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    _data(300, 1).drop(columns=["y"]).to_csv(tmp_path / "clean.csv", index=False)
    code, out, _ = cli("monitor", "ingest", "m", str(tmp_path / "clean.csv"), "--json", *w)
    assert code == 0 and json.loads(out)["alerts"] == []
    assert cli("monitor", "status", *w)[0] == 0
    _data(300, 2, shift=1.0).to_parquet(tmp_path / "shifted.parquet")
    code, out, _ = cli("monitor", "ingest", "m", str(tmp_path / "shifted.parquet"), "--json", *w)
    window = json.loads(out)
    drifted = {c["column"] for c in window["columns"] if c["drifted"]}
    assert {"a", "b", "c"} <= drifted and "colour" not in drifted
    assert (
        window["performance"]["realised"]["accuracy"] < window["performance"]["reference_accuracy"]
    )
    code, _, err = cli("monitor", "status", "m", *w)
    assert code == 1 and "Alerts are active" in err
    code, out, _ = cli("monitor", "sample", "m", "--n", "15", "--json", *w)
    assert code == 0 and len(json.loads(out)) == 15
    queued = ws.review.list("d", source="drift_sample")
    assert len(queued) == 15 and queued["item_id"].str.startswith("m:w2:").all()


def test_bad_batches_exit_2_and_store_nothing(cli, ws: Workspace, tmp_path: Path) -> None:
    w = ["-w", ws.location]
    _data(50, 3).drop(columns=["a"]).to_csv(tmp_path / "missing.csv", index=False)
    (tmp_path / "header.csv").write_text("a,b,c,colour\n")
    for file, expected in (
        ("missing.csv", "lacks monitored column(s) a"),
        ("header.csv", "has no rows"),
    ):
        code, _, err = cli("monitor", "ingest", "m", str(tmp_path / file), *w)
        assert code == 2 and expected in err, err
    assert ws.monitors.status("m")["windows"] == 0


def test_drift_between_files(cli, tmp_path: Path) -> None:
    _data(2000, 4).to_csv(tmp_path / "ref.csv", index=False)
    _data(2000, 5).to_csv(tmp_path / "same.csv", index=False)
    _data(2000, 6, shift=0.5).to_csv(tmp_path / "moved.csv", index=False)
    report = tmp_path / "d.html"
    code, out, _ = cli(
        "drift",
        str(tmp_path / "ref.csv"),
        str(tmp_path / "same.csv"),
        "--json",
        "--report",
        str(report),
    )
    assert code == 0 and json.loads(out)["drifted"] is False
    code, out, _ = cli(
        "drift",
        str(tmp_path / "ref.csv"),
        str(tmp_path / "moved.csv"),
        "--json",
        "--report",
        str(report),
    )
    assert code == 1 and json.loads(out)["drifted"] is True
    assert report.exists()


def test_drift_between_versions_and_files(cli, ws: Workspace, tmp_path: Path) -> None:
    # versions of the workspace stand for files: their rows, without the id column
    ws.import_dataset("later", _data(400, 7, shift=0.5), label="y")
    ws.import_dataset("d", _data(400, 8), label="y")  # d@v2, like d@v1
    report = ["--report", str(tmp_path / "v.html"), "--json", "-w", ws.location]
    code, out, err = cli("drift", "d@v1", "later", *report)
    moved = json.loads(out)
    assert code == 1 and moved["drifted"] is True, err
    assert {c["column"] for c in moved["columns"]} == {"a", "b", "c", "colour", "y"}
    code, out, err = cli("drift", "d@v1", "d@v2", *report)
    assert code == 0 and json.loads(out)["drifted"] is False, err
    _data(400, 9, shift=0.5).to_csv(tmp_path / "batch.csv", index=False)
    code, out, err = cli("drift", "d@v1", str(tmp_path / "batch.csv"), *report)
    assert code == 1 and json.loads(out)["drifted"] is True, err
    code, _, err = cli("drift", "d@v9", "later", *report)
    assert code == 2 and "d@v9 is not a file" in err and "no version v9" in err


def test_per_column_thresholds(cli, tmp_path: Path) -> None:
    """A column with a raised threshold stops alerting; a bad threshold exits 2."""
    ws = Workspace.init(tmp_path / "ws2")
    ws.import_dataset("d", _data(2000, 0), label="y")
    w = ["-w", ws.location]
    code, _, err = cli("monitor", "add", "m", "--reference", "d@v1", "--threshold", "nope=0.2", *w)
    assert code == 2 and "no monitored column 'nope'" in err
    code, _, err = cli("monitor", "add", "m", "--reference", "d@v1", "--threshold", "a", *w)
    assert code == 2 and "COLUMN=EFFECT" in err
    assert cli("monitor", "add", "strict", "--reference", "d@v1", *w)[0] == 0
    assert cli("monitor", "add", "lenient", "--reference", "d@v1", "--threshold", "a=5", *w)[0] == 0
    moved = _data(2000, 1)
    moved["a"] += 0.4
    moved.to_csv(tmp_path / "moved.csv", index=False)
    for name, expected in (("strict", True), ("lenient", False)):
        code, out, _ = cli("monitor", "ingest", name, str(tmp_path / "moved.csv"), "--json", *w)
        drifted = {c["column"]: c["drifted"] for c in json.loads(out)["columns"]}
        assert code == 0 and drifted["a"] is expected


def test_reference_split(cli, tmp_path: Path) -> None:
    """--reference-split uses one split's rows; a split that is not there exits 2."""
    ws = Workspace.init(tmp_path / "ws3")
    frame = _data(400, 0)
    frame["part"] = np.where(np.arange(400) < 300, "train", "test")
    ws.import_dataset("d", frame, label="y", split="part")
    w = ["-w", ws.location]
    code, _, err = cli(
        "monitor", "add", "m", "--reference", "d@v1", "--reference-split", "trian", *w
    )
    assert code == 2 and "no rows in split 'trian'" in err
    code, out, _ = cli(
        "monitor", "add", "m", "--reference", "d@v1", "--reference-split", "train", "--json", *w
    )
    assert code == 0 and json.loads(out)["config"]["split"] == "train"
    assert ws.monitors._profile("m").n_rows == 300


def _drift(cli, tmp_path: Path, ref: pd.DataFrame, cur: pd.DataFrame, *extra: str):
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return cli(
        "drift",
        str(tmp_path / "ref.csv"),
        str(tmp_path / "cur.csv"),
        "--report",
        str(tmp_path / "d.html"),
        *extra,
    )


def test_drift_constant_reference_column(cli, tmp_path: Path) -> None:
    """A constant column: same constant is no drift; a column that starts to vary is."""
    ref = _data(1000, 7).assign(k=0.1)
    cols = ("--columns", "a,k")
    code, out, _ = _drift(cli, tmp_path, ref, _data(800, 8).assign(k=0.1), *cols)
    assert code == 0 and "dataset drifted: no (0 of 2 columns" in out and " k " not in out
    varying = _data(800, 8).assign(k=np.random.default_rng(9).normal(0.1, 0.5, 800))
    code, out, _ = _drift(cli, tmp_path, ref, varying, *cols)
    assert code == 1 and "k [numeric]: distribution drift (wasserstein/mixture std" in out
    code, out, _ = _drift(cli, tmp_path, ref, varying, *cols, "--json")
    row = next(c for c in json.loads(out)["columns"] if c["column"] == "k")
    assert code == 1 and row["drifted"] and 0.5 < row["effect_size"] <= 2.0
    assert row["method"] == "constant+fisher" and "constant reference (0.1)" in row["finding"]


def test_drift_numbers_sent_as_text(cli, tmp_path: Path) -> None:
    """Text in a numeric column is a type change: exit 1, explained in text and JSON."""
    cur = _data(500, 10)
    cur["a"] = ["abc"] * 400 + ["1.5"] * 100
    code, out, _ = _drift(cli, tmp_path, _data(1000, 11), cur)
    assert code == 1 and "dataset drifted: yes" in out
    assert "schema: numeric column(s) now hold text: a" in out
    assert "a [numeric]: type changed: number in the reference, text in the current" in out
    assert "400 do not parse as numbers (e.g. 'abc')" in out
    assert "all values missing" not in out
    code, out, _ = _drift(cli, tmp_path, _data(1000, 11), cur, "--json")
    data = json.loads(out)
    row = next(c for c in data["columns"] if c["column"] == "a")
    assert code == 1 and data["schema"]["type_changed"] == ["a"]
    assert row["schema"] == "type changed: number -> string" and row["n_unparsed"] == 400


def test_drift_missing_and_new_columns(cli, tmp_path: Path) -> None:
    """A missing column makes the dataset drift (exit 1); a new one is only listed."""
    ref = _data(1000, 12)
    code, out, _ = _drift(cli, tmp_path, ref, _data(800, 13).drop(columns=["c"]))
    assert code == 1 and "schema: missing column(s): c" in out
    assert "c [numeric]: missing from the current batch (schema drift)" in out
    code, out, _ = _drift(cli, tmp_path, ref, _data(800, 13).assign(z=1.0), "--json")
    data = json.loads(out)
    assert code == 0 and data["drifted"] is False and data["schema"]["new"] == ["z"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--n", "5", "--seed", "-1"], "'--seed'"),
        (["--n", "0"], "'--n'"),
        (["--n", "-3"], "'--n'"),
        (["--n", "5", "--window", "0"], "'--window'"),
    ],
)
def test_monitor_sample_bad_numbers_exit_2(
    cli, ws: Workspace, tmp_path: Path, args: list[str], flag: str
) -> None:
    """A negative seed used to crash (exit 3); --n 0 named the Python parameter 'n'."""
    w = ["-w", ws.location]
    _data(100, 1).drop(columns=["y"]).to_csv(tmp_path / "batch.csv", index=False)
    assert cli("monitor", "ingest", "m", str(tmp_path / "batch.csv"), *w)[0] == 0
    code, out, err = cli("monitor", "sample", "m", *args, *w)
    assert code == 2 and flag in err and out == "", err
    assert "parameter of" not in err and "internal error" not in err
    assert ws.review.count(status=None) == 0
    assert cli("monitor", "sample", "m", "--n", "5", "--seed", "0", *w)[0] == 0
    assert ws.review.count(status=None) == 5


@pytest.mark.parametrize("drop", ["-1", "0", "1", "nan"])
def test_monitor_add_accuracy_drop_out_of_range_exit_2(cli, ws: Workspace, drop: str) -> None:
    w = ["-w", ws.location]
    code, _, err = cli("monitor", "add", "m2", "--reference", "d@v1", "--accuracy-drop", drop, *w)
    assert code == 2 and "'--accuracy-drop'" in err and "(0, 1)" in err, err
    assert [m["name"] for m in ws.monitors.list()] == ["m"]
    code, _, err = cli("monitor", "add", "m2", "--reference", "d@v1", "--accuracy-drop", "0.1",
                       *w)
    assert code == 2 and "accuracy_drop needs a recipe" in err, err
    code, out, _ = cli("monitor", "add", "m2", "--reference", "d@v1", "--recipe", "lr",
                       "--accuracy-drop", "0.1", "--json", *w)
    assert code == 0 and json.loads(out)["config"]["alerts"]["accuracy_drop"] == 0.1


def test_drift_bad_columns_and_report_exit_2(cli, tmp_path: Path) -> None:
    _data(300, 4).to_csv(tmp_path / "ref.csv", index=False)
    _data(300, 5).to_csv(tmp_path / "cur.csv", index=False)
    files = [str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv")]
    report = tmp_path / "d.html"
    code, _, err = cli("drift", *files, "--columns", "a,nope", "--report", str(report))
    assert code == 2 and "ref.csv has no column 'nope' (--columns)" in err
    assert "its columns are: a, b, c, colour, y" in err
    code, _, err = cli("drift", *files, "--columns", " , ", "--report", str(report))
    assert code == 2 and "--columns" in err and "names no column" in err
    assert not report.exists()
    (tmp_path / "out").mkdir()
    code, _, err = cli("drift", *files, "--report", str(tmp_path / "out"))
    assert code == 2 and "--report" in err and "is a folder" in err
    assert list((tmp_path / "out").iterdir()) == []
    code, _, err = cli("drift", *files, "--columns", "a,a,b", "--report", str(report))
    assert code in (0, 1) and report.exists(), err


def test_values_the_model_cannot_score_exit_2_naming_line_and_column(
    cli, ws: Workspace, tmp_path: Path
) -> None:
    """A missing or infinite feature value: exit 2, one line naming where; nothing stored.
    A monitor without a recipe takes the same files: missing values are drift data."""
    w = ["-w", ws.location]
    good = "a,b,c,colour\n0.1,0.2,0.3,red\n"
    (tmp_path / "empty.csv").write_text(good + "0.1,,0.3,red\n")
    (tmp_path / "inf.csv").write_text(good + "0.1,0.2,inf,red\n")
    (tmp_path / "null.jsonl").write_text(
        '{"a": 0.1, "b": 0.2, "c": 0.3, "colour": "red"}\n{"a": null, "b": 0.2, "c": 0.3}\n'
    )
    pd.DataFrame(
        {"a": [0.1, np.nan], "b": [0.2, 0.2], "c": [0.3, 0.3], "colour": ["red", "blue"]}
    ).to_parquet(tmp_path / "nan.parquet")
    for file, expected in (
        ("empty.csv", "column 'b' line 3 is missing (null) and recipe 'lr' cannot score"),
        ("inf.csv", "column 'c' line 3 holds inf; recipe 'lr' cannot score infinite values"),
        ("null.jsonl", "column 'a' line 2 is missing"),
        ("nan.parquet", "column 'a' row 2 is missing"),
    ):
        code, out, err = cli("monitor", "ingest", "m", str(tmp_path / file), *w)
        assert code == 2, (file, out, err)
        assert expected in " ".join(err.split()), (file, err)
        assert "send a" in err and "Traceback" not in err
    assert ws.monitors.status("m")["windows"] == 0
    assert cli("monitor", "add", "plain", "--reference", "d@v1", *w)[0] == 0
    for file in ("empty.csv", "inf.csv", "null.jsonl", "nan.parquet"):
        code, _, err = cli("monitor", "ingest", "plain", str(tmp_path / file), "--json", *w)
        assert code == 0, (file, err)
    assert ws.monitors.status("plain")["windows"] == 4


def test_deeply_nested_jsonl_exits_2_not_a_crash(ws: Workspace, tmp_path: Path) -> None:
    """pyarrow's JSON reader crashes the process on deep nesting: measured first.
    (A subprocess, so that a crash fails this test rather than the test run.)"""
    import subprocess
    import sys

    deep = '{"a": ' + "[" * 50_000 + "]" * 50_000 + ', "b": 1, "c": 1, "colour": "red"}'
    (tmp_path / "deep.jsonl").write_text(deep + "\n")
    run = subprocess.run(
        [sys.executable, "-c", "from assay.cli.main import main; raise SystemExit(main())",
         "monitor", "ingest", "m", str(tmp_path / "deep.jsonl"), "-w", str(ws.location)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "line 1 nests arrays or objects deeper than 64 levels" in " ".join(run.stderr.split())
    assert ws.monitors.status("m")["windows"] == 0
