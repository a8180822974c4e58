"""The data commands end to end, and every bad input: message, exit code 2, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace


@pytest.fixture
def ws_path(tmp_path: Path, cli) -> Path:
    path = tmp_path / "ws"
    assert cli("init", str(path))[0] == 0
    return path


@pytest.fixture
def pets_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "uid": [f"p{i}" for i in range(40)],
            "w": rng.normal(size=40),
            "y": rng.choice(["a", "b"], 40),
        }
    )
    path = tmp_path / "pets.csv"
    frame.to_csv(path, index=False)
    return path


def _state(ws_path: Path) -> tuple[list[str], list[str]]:
    """Every version reference and every object file: what 'nothing written' compares."""
    ws = Workspace(ws_path)
    refs = [v.ref for d in ws.datasets() for v in ws.log(d.name)]
    objects = sorted(p.name for p in (ws_path / ".assay" / "objects").rglob("*") if p.is_file())
    ws.close()
    return refs, objects


def test_import_log_show_diff_export(cli, ws_path: Path, pets_csv: Path, tmp_path: Path) -> None:
    w = ["-w", str(ws_path)]
    code, out, _ = cli("import", "pets", str(pets_csv), "--label", "y", "--id", "uid", *w)
    assert code == 0 and "pets@v1: 40 rows" in out
    frame = pd.read_csv(pets_csv)
    frame.loc[0, "y"] = "b" if frame.loc[0, "y"] == "a" else "a"
    frame.to_csv(pets_csv, index=False)
    assert cli("import", "pets", str(pets_csv), "--label", "y", "--id", "uid", *w)[0] == 0
    code, out, _ = cli("log", "pets", "--json", *w)
    log = json.loads(out)
    assert [v["ref"] for v in log] == ["pets@v2", "pets@v1"]
    assert log[0]["summary"]["relabeled"] == 1
    code, out, _ = cli("diff", "pets@v1", "pets@v2", "--json", *w)
    assert json.loads(out)["relabeled"][0]["item_id"] == "p0"
    code, out, _ = cli("show", "pets@v1", "--json", *w)
    assert json.loads(out)["rows"] == 40
    target = tmp_path / "out.parquet"
    assert cli("export", "pets@v2", str(target), *w)[0] == 0
    assert pd.read_parquet(target)["y"].tolist() == frame["y"].tolist()


def _bad_files(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("uid,w,y\n")
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "ragged.csv").write_text("uid,w,y\np1,1,a\np2,2,b,extra\n")
    (tmp_path / "latin1.csv").write_bytes("uid,w,y\np1,1,caf\xe9\n".encode("latin-1"))
    (tmp_path / "dups.csv").write_text("uid,w,y\np1,1,a\np2,2,b\np1,3,a\n")
    (tmp_path / "nolabels.csv").write_text("uid,w,y\np1,1,\np2,2,\n")
    return {
        "missing file": (["nope.csv"], "does not exist"),
        "empty file": (["empty.csv"], "is empty"),
        "empty dataset": (["header.csv"], "has no rows"),
        "corrupt parquet": (["corrupt.parquet"], "cannot be read as PARQUET"),
        "ragged csv": (["ragged.csv"], "cannot be read as CSV"),
        "not utf-8": (["latin1.csv"], "cannot be read as CSV"),
        "duplicate ids": (
            ["dups.csv", "--id", "uid"],
            "duplicate values (2 rows), e.g. 'p1' at lines 2 and 4",
        ),
        "all labels missing": (["nolabels.csv"], "every value of the label column 'y' is missing"),
        "another label column": (
            ["dups.csv", "--label", "target"],
            "labels are in column 'y', not 'target'; use --label y",
        ),
        "another id column": (["dups.csv", "--id", "key"], "identifies its items by column 'uid'"),
    }


def test_bad_imports_exit_2_and_write_nothing(
    cli, ws_path: Path, pets_csv: Path, tmp_path: Path
) -> None:
    w = ["-w", str(ws_path)]
    assert cli("import", "pets", str(pets_csv), "--label", "y", "--id", "uid", *w)[0] == 0
    before = _state(ws_path)
    for case, (args, expected) in _bad_files(tmp_path).items():
        args = [str(tmp_path / args[0]), *args[1:]]
        if "--label" not in args:
            args += ["--label", "y"]
        code, out, err = cli("import", "pets", *args, *w)
        assert code == 2, case
        assert expected in err, (case, err)
        assert "Traceback" not in err + out, case
        assert _state(ws_path) == before, case


def test_unknown_version_exits_2(cli, ws_path: Path, pets_csv: Path) -> None:
    w = ["-w", str(ws_path)]
    cli("import", "pets", str(pets_csv), "--label", "y", *w)
    code, _, err = cli("show", "pets@v3", *w)
    assert code == 2 and "has no version v3" in err
    code, _, err = cli("diff", "pets@v1", "cats@v1", *w)
    assert code == 2 and "no dataset named 'cats'" in err


def test_newer_workspace_and_unreachable_db_exit_2(cli, ws_path: Path, tmp_path: Path) -> None:
    ws = Workspace(ws_path)
    with ws.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'from_the_future'")
    ws.close()
    code, _, err = cli("log", "pets", "-w", str(ws_path))
    assert code == 2 and "written by a newer assay" in err and "pip install -U assay" in err
    target = tmp_path / "pgws"
    code, _, err = cli("init", str(target), "--db", "postgresql+psycopg://u@127.0.0.1:1/db")
    assert code == 2 and "cannot reach the database" in err and "Traceback" not in err
    assert not target.exists()


def test_real_binary_no_traceback(tmp_path: Path) -> None:
    """The installed console script: exit codes and messages from a real process."""
    exe = Path(sys.executable).with_name("assay")
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [str(exe), "log", "x", "-w", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert "no assay workspace" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("assay ")
