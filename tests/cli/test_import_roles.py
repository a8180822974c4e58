"""Re-imports keep a dataset's column roles; bad role columns and labels are refused.

Every refusal: exit 2, a message naming the column and what to do, nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace


def _iris(n: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sepal": rng.normal(5.8, 0.8, n).round(2),
            "petal": rng.normal(3.7, 1.7, n).round(2),
            "site": rng.choice(["north", "south"], n),
            "species": rng.choice(["setosa", "versicolor", "virginica"], n),
        }
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    iris = _iris()
    paths = {"iris": tmp_path / "iris.csv", "split": tmp_path / "iris_split.csv"}
    iris.to_csv(paths["iris"], index=False)
    iris.assign(part=np.where(np.arange(len(iris)) % 5 == 0, "test", "train")).to_csv(
        paths["split"], index=False
    )
    return paths


@pytest.fixture
def w(tmp_path: Path, cli) -> list[str]:
    assert cli("init", str(tmp_path / "ws"))[0] == 0
    return ["-w", str(tmp_path / "ws")]


def _state(w: list[str]) -> tuple[list[str], list[str], list[tuple]]:
    """Versions, object files and dataset roles: what 'nothing written' compares."""
    ws = Workspace(w[1])
    refs = [v.ref for d in ws.datasets() for v in ws.log(d.name)]
    roles = [tuple(vars(d.roles).values()) for d in ws.datasets()]
    objects = sorted(p.name for p in (Path(w[1]) / ".assay" / "objects").rglob("*") if p.is_file())
    ws.close()
    return refs, objects, roles


def _refused(cli, w: list[str], args: list[str], *expected: str) -> str:
    before = _state(w)
    code, out, err = cli("import", *args, *w)
    assert code == 2, (code, out, err)
    for text in expected:
        assert text in err, (text, err)
    assert "Traceback" not in err
    assert _state(w) == before
    return err


def test_reimport_lacking_the_split_column_is_refused(cli, w, files) -> None:
    assert (
        cli("import", "irs", str(files["split"]), "--label", "species", "--split", "part", *w)[0]
        == 0
    )
    _refused(
        cli,
        w,
        ["irs", str(files["iris"]), "--label", "species"],
        "has no column 'part'",
        "split",
        "set at its first import",
    )


def test_reimport_may_leave_out_the_role_flags(cli, w, files) -> None:
    args = ["irs", str(files["split"]), "--label", "species", "--split", "part", "--tags", "site"]
    assert cli("import", *args, *w)[0] == 0
    code, out, err = cli("import", "irs", str(files["split"]), "--json", *w)
    assert code == 0, err
    info = json.loads(out)
    assert info["ref"] == "irs@v2" and info["split_column"] == "part"
    assert info["label_column"] == "species" and info["tag_columns"] == ["site"]


def test_reimport_cannot_add_or_change_roles(cli, w, files) -> None:
    assert cli("import", "iris", str(files["iris"]), "--label", "species", *w)[0] == 0
    err = _refused(
        cli,
        w,
        ["iris", str(files["split"]), "--label", "species", "--split", "part"],
        "dataset 'iris' has no split column",
        "import under another name",
    )
    assert "without --split" in err
    _refused(cli, w, ["iris", str(files["iris"]), "--tags", "site"], "has no tag columns", "--tags")
    _refused(
        cli,
        w,
        ["iris", str(files["iris"]), "--label", "site"],
        "labels are in column 'species'",
        "--label species",
    )
    assert (
        cli("import", "irs", str(files["split"]), "--label", "species", "--split", "part", *w)[0]
        == 0
    )
    _refused(
        cli,
        w,
        ["irs", str(files["split"]), "--split", "site"],
        "takes each row's split from column 'part'",
        "--split part",
    )


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--split", "species"], "--split 'species' is the label column"),
        (["--tags", "site,species"], "--tags names 'species', the label column"),
        (["--id", "sepal", "--split", "sepal"], "--split 'sepal' is the id column"),
        (["--tags", "sepal", "--id", "sepal"], "--tags names 'sepal', the id column"),
        (["--split", "nope"], "has no column 'nope' (given as --split)"),
        (["--tags", "site,nope"], "has no column 'nope' (given as --tags)"),
        (["--label", "nope"], "has no column 'nope' (given as --label)"),
        (["--id", "nope"], "has no column 'nope' (given as --id)"),
    ],
)
def test_split_and_tags_must_be_other_columns(cli, w, files, flags, expected) -> None:
    _refused(cli, w, ["iris2", str(files["iris"]), "--label", "species", *flags], expected)


def test_diff_reports_added_and_removed_columns(cli, w, files, tmp_path: Path) -> None:
    assert cli("import", "iris", str(files["iris"]), "--label", "species", *w)[0] == 0
    pd.read_csv(files["iris"]).assign(extra=1.0).drop(columns=["petal"]).to_csv(
        tmp_path / "more.csv", index=False
    )
    code, out, err = cli("import", "iris", str(tmp_path / "more.csv"), *w)
    assert code == 0 and "Column added: extra. Column removed: petal." in out, out
    code, out, _ = cli("diff", "iris@v1", "iris@v2", *w)
    assert "0 with changed features" in out
    assert "1 column added (extra), 1 removed (petal)" in " ".join(out.split())  # wrapped
    code, out, _ = cli("diff", "iris@v1", "iris@v2", "--json", *w)
    delta = json.loads(out)
    assert delta["columns_added"] == ["extra"] and delta["columns_removed"] == ["petal"]
    code, out, _ = cli("log", "iris", "--json", *w)
    assert json.loads(out)[0]["summary"]["columns_added"] == ["extra"]


def test_missing_labels_await_labeling(cli, w, tmp_path: Path) -> None:
    """Rows without a label (empty, blank) import as items awaiting labels (issue 16);
    engines that need labels name them."""
    frame = _iris(8)
    frame.loc[2, "species"] = None
    frame.loc[5, "species"] = "  "
    frame.to_csv(tmp_path / "holes.csv", index=False)
    code, _, err = cli("import", "iris", str(tmp_path / "holes.csv"), "--label", "species", *w)
    assert code == 0, err
    labels = Workspace(w[1]).dataset("iris").to_pandas()["species"]
    assert labels.isna().tolist() == [i in (2, 5) for i in range(8)]
    code, _, err = cli("curve", "iris", "--recipe", "none", *w)
    assert code == 2 and "2 item(s) have no label yet (ids 2, 5)" in err, err


def test_a_missing_label_in_a_dataframe_awaits_labeling(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    frame = _iris(5).set_axis(["a", "b", "c", "d", "e"])
    frame.loc["c", "species"] = np.nan
    version = ws.import_dataset("iris", frame, label="species")
    assert version.to_pandas()["species"].isna().sum() == 1


def test_a_label_column_with_no_label_at_all_is_refused(cli, w, tmp_path: Path) -> None:
    """A named label column that is empty throughout is a wrong --label, not a dataset
    awaiting labels (that is a source without the column)."""
    frame = _iris(4).assign(species=None)
    frame.to_csv(tmp_path / "none.csv", index=False)
    _refused(cli, w, ["iris", str(tmp_path / "none.csv"), "--label", "species"],
             "every value of the label column 'species' is missing")


def test_an_own_item_id_column_with_duplicates(cli, w, tmp_path: Path) -> None:
    (tmp_path / "ids.csv").write_text("item_id,x,y\na,1,p\nb,2,q\na,3,p\n")
    err = _refused(
        cli,
        w,
        ["d", str(tmp_path / "ids.csv"), "--label", "y"],
        "column 'item_id' has duplicate values (2 rows), e.g. 'a' at lines 2 and 4",
        "--id item_id",
        "rename",
    )
    assert "leave out --id" not in err
    (tmp_path / "uid.csv").write_text("uid,x,y\na,1,p\nb,2,q\na,3,p\n")
    err = _refused(
        cli,
        w,
        ["d", str(tmp_path / "uid.csv"), "--label", "y", "--id", "uid"],
        "e.g. 'a' at lines 2 and 4",
        "leave out --id",
    )


def test_row_numbers_are_lines_of_the_file(cli, w, tmp_path: Path) -> None:
    (tmp_path / "latin1.csv").write_bytes("uid,w,y\np1,1,a\np2,1,caf\xe9\n".encode("latin-1"))
    _refused(cli, w, ["d", str(tmp_path / "latin1.csv"), "--label", "y"], "first at line 3")
    (tmp_path / "noid.csv").write_text('uid,w,y\np1,1,"two\nlines"\n,2,a\n')
    _refused(
        cli,
        w,
        ["d", str(tmp_path / "noid.csv"), "--label", "y", "--id", "uid"],
        "id column 'uid' is empty at line 4",
    )
    (tmp_path / "d.jsonl").write_text('{"k": "a", "y": 1}\n{"k": null, "y": 2}\n')
    _refused(cli, w, ["d", str(tmp_path / "d.jsonl"), "--label", "y", "--id", "k"],
             "empty at line 2")
    pd.DataFrame({"y": ["a", "c", "b"], "k": ["p", None, "q"]}).to_parquet(
        tmp_path / "d.parquet"
    )
    _refused(cli, w, ["d", str(tmp_path / "d.parquet"), "--label", "y", "--id", "k"],
             "empty at row 2")


def test_semicolon_separated_csv_is_detected(cli, w, tmp_path: Path) -> None:
    (tmp_path / "semi.csv").write_text(
        "sepal;petal;species\n5,1;1,4;setosa\n7,0;4,7;versicolor\n6,3;6,0;virginica\n"
    )
    code, out, err = cli("import", "eu", str(tmp_path / "semi.csv"), "--label", "species", *w)
    assert code == 0, err
    assert "read with ';' as separator and ',' as decimal mark" in out
    frame = Workspace(w[1]).dataset("eu").to_pandas()
    assert frame["sepal"].tolist() == [5.1, 7.0, 6.3] and frame["species"].iloc[0] == "setosa"


def test_semicolon_file_that_cannot_be_split_gets_a_hint(cli, w, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("sepal;petal;species\n5;1;setosa\n7;4\n6;6;virginica\n")
    _refused(
        cli,
        w,
        ["eu", str(tmp_path / "bad.csv"), "--label", "species"],
        "the file seems to use ';' as separator",
        "line 3",
    )


def test_a_byte_order_mark_is_read(cli, w, tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfuid,x,y\np1,1,a\np2,2,b\n")
    code, out, err = cli(
        "import", "b", str(tmp_path / "bom.csv"), "--label", "y", "--id", "uid", *w
    )
    assert code == 0, err
    assert Workspace(w[1]).dataset("b").columns == ["uid", "x", "y"]
    (tmp_path / "bomsemi.csv").write_bytes(b"\xef\xbb\xbfuid;x;y\np1;1;a\np2;2;b\n")
    code, out, err = cli(
        "import", "c", str(tmp_path / "bomsemi.csv"), "--label", "y", "--id", "uid", *w
    )
    assert code == 0, err
    assert Workspace(w[1]).dataset("c").columns == ["uid", "x", "y"]


def test_os_errors_creating_a_workspace_or_an_export(cli, w, files, tmp_path: Path) -> None:
    code, out, err = cli("init", "/proc/assay-nope/ws")
    assert code == 2 and "/proc/assay-nope/ws" in err and "No such file" in err, err
    assert cli("import", "iris", str(files["iris"]), "--label", "species", *w)[0] == 0
    code, out, err = cli("export", "iris", "/proc/assay-export.csv", *w)
    assert code == 2 and "/proc/assay-export.csv" in err and "choose another path" in err, err
    assert "internal error" not in err


def test_monitor_ingest_names_lines(cli, w, files, tmp_path: Path) -> None:
    assert cli("import", "iris", str(files["iris"]), "--label", "species", *w)[0] == 0
    assert cli("monitor", "add", "m", "--reference", "iris@v1", *w)[0] == 0
    batch = pd.read_csv(files["iris"]).astype({"sepal": object})
    batch.loc[3, "sepal"] = "abc"
    batch.to_csv(tmp_path / "batch.csv", index=False)
    code, _, err = cli("monitor", "ingest", "m", str(tmp_path / "batch.csv"), *w)
    assert code == 2 and "column 'sepal' line 5 holds 'abc'" in err, err
    assert Workspace(w[1]).monitors.status("m")["windows"] == 0
