"""The workspace store on real SQLite and PostgreSQL: datasets, versions, diffs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from assay import InputError, NotFoundError, StoreError
from assay.store.workspace import Workspace


def _frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "uid": [f"u{i:03d}" for i in range(n)],
            "x": rng.normal(size=n),
            "colour": rng.choice(["red", "blue"], size=n),
            "y": rng.choice(["cat", "dog", "bird"], size=n),
        }
    )


def test_import_dataframe_round_trips(workspace: Workspace) -> None:
    frame = _frame()
    version = workspace.import_dataset("pets", frame, label="y", id="uid", tags=["colour"])
    assert version.ref == "pets@v1"
    assert version.summary["added"] == len(frame)
    back = workspace.dataset("pets@v1").to_pandas()
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert workspace.dataset("pets").roles.tags == ("colour",)


def test_versions_diff_and_log(workspace: Workspace) -> None:
    frame = _frame()
    workspace.import_dataset("pets", frame, label="y", id="uid")
    changed = frame.copy()
    changed.loc[3, "y"] = "fish"
    changed.loc[7, "x"] = 99.0
    changed = changed.drop(index=[10, 11])
    extra = pd.DataFrame({"uid": ["new1"], "x": [0.0], "colour": ["red"], "y": ["cat"]})
    changed = pd.concat([changed, extra], ignore_index=True)
    v2 = workspace.commit("pets", changed, message="fix labels")
    assert v2.ref == "pets@v2" and v2.parent_number == 1
    assert v2.summary == {"rows": 49, "added": 1, "removed": 2, "relabeled": 1, "changed": 1}
    delta = workspace.diff("pets@v1", "pets@v2")
    assert delta.relabeled.to_dict(orient="records") == [
        {"item_id": "u003", "old_label": frame.loc[3, "y"], "new_label": "fish"}
    ]
    assert list(delta.changed["item_id"]) == ["u007"]
    assert list(delta.changed["columns"].iloc[0]) == ["x"]
    assert sorted(delta.removed["item_id"]) == ["u010", "u011"]
    assert list(delta.added["item_id"]) == ["new1"]
    assert [v.ref for v in workspace.log("pets")] == ["pets@v2", "pets@v1"]
    assert workspace.dataset("pets").number == 2


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_import_and_export_files(sqlite_workspace: Workspace, tmp_path: Path, suffix: str) -> None:
    frame = _frame(20)
    source = tmp_path / f"pets{suffix}"
    if suffix == ".csv":
        frame.to_csv(source, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(source)
    else:
        frame.to_json(source, orient="records", lines=True)
    sqlite_workspace.import_dataset("pets", source, label="y", id="uid")
    out = tmp_path / f"out{suffix}"
    sqlite_workspace.export("pets@v1", out)
    reread = sqlite_workspace.import_dataset("again", out, label="y", id="uid").to_pandas()
    pd.testing.assert_frame_equal(reread, frame, check_dtype=False)


def test_generated_ids_are_row_numbers(sqlite_workspace: Workspace) -> None:
    digits = load_digits(as_frame=True).frame.head(30)
    version = sqlite_workspace.import_dataset("digits", digits, label="target")
    assert version.roles.id == "item_id"
    assert version.to_pandas()["item_id"].tolist() == list(range(30))


def test_media_folder_is_referenced_not_copied(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "images"
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (4, 4), color=i * 40).save(root / label / f"{i}.png")
    version = sqlite_workspace.import_dataset("imgs", root, label="label")
    frame = version.to_pandas()
    assert version.modality == "image"
    assert Path(version.media_root or "") == root.resolve()
    assert sorted(frame["path"]) == sorted(f"{c}/{i}.png" for c in ("cat", "dog") for i in range(3))
    assert (frame["label"] == frame["path"].str.split("/").str[0]).all()


def test_objects_are_content_addressed_and_immutable(sqlite_workspace: Workspace) -> None:
    frame = _frame()
    v1 = sqlite_workspace.import_dataset("a", frame, label="y", id="uid")
    v2 = sqlite_workspace.import_dataset("b", frame, label="y", id="uid")
    assert v1.object_hash == v2.object_hash
    path = sqlite_workspace.objects.path(v1.object_hash)
    assert sqlite_workspace.objects.file_hash(path) == v1.object_hash


def test_unknown_version_and_dataset(workspace: Workspace) -> None:
    workspace.import_dataset("pets", _frame(), label="y", id="uid")
    with pytest.raises(NotFoundError, match="has no version v7; it has v1 to v1"):
        workspace.dataset("pets@v7")
    with pytest.raises(NotFoundError, match="no dataset named 'cats'"):
        workspace.dataset("cats")
    with pytest.raises(InputError, match="not a dataset reference"):
        workspace.dataset("pets@7")


def test_gc_removes_only_orphans(sqlite_workspace: Workspace) -> None:
    version = sqlite_workspace.import_dataset("pets", _frame(), label="y", id="uid")
    with sqlite_workspace.writing_object(version.to_arrow().slice(0, 5)) as obj:
        orphan = obj.digest  # released unreferenced, as by a write that failed
    removed = sqlite_workspace.gc(grace_s=0)
    assert removed == [orphan]
    assert sqlite_workspace.objects.exists(version.object_hash)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    with ws.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    ws.close()
    with pytest.raises(StoreError, match="written by a newer assay"):
        Workspace(tmp_path / "ws")


def test_unreachable_database_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "ws"
    with pytest.raises(StoreError, match="cannot reach the database"):
        Workspace.init(target, db="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert not target.exists()


def test_missing_workspace_says_how_to_create(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="assay init"):
        Workspace(tmp_path / "nothing")


def test_sqlite_uses_wal(sqlite_workspace: Workspace) -> None:
    with sqlite_workspace.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    config = json.loads((Path(sqlite_workspace.location) / ".assay" / "config.json").read_text())
    assert config["db"] is None


def test_analyses_are_recorded_with_their_version(workspace: Workspace) -> None:
    workspace.import_dataset("pets", _frame(), label="y", id="uid")
    first = workspace.record_analysis("audit", {"issues": 3}, dataset="pets@v1", params={"k": 1})
    workspace.record_analysis("curve", {"slope": 0.1}, dataset="pets")
    audits = workspace.analyses("audit")
    assert [a["id"] for a in audits] == [first]
    assert audits[0]["version"] == "pets@v1" and audits[0]["result"] == {"issues": 3}
    assert len(workspace.analyses(dataset="pets")) == 2


def test_reimport_keeps_the_roles_of_the_first_import(sqlite_workspace: Workspace) -> None:
    frame = _frame().assign(part=lambda d: np.where(d.index % 4 == 0, "test", "train"))
    sqlite_workspace.import_dataset(
        "pets", frame, label="y", id="uid", tags=["colour"], split="part"
    )
    v2 = sqlite_workspace.import_dataset("pets", frame.assign(x=frame["x"] + 1))
    assert v2.roles == sqlite_workspace.dataset("pets@v1").roles
    assert v2.roles.split == "part" and v2.roles.tags == ("colour",) and v2.roles.label == "y"
    with pytest.raises(InputError, match="has no column 'part'; dataset 'pets' takes each row"):
        sqlite_workspace.import_dataset("pets", frame.drop(columns="part"))
    with pytest.raises(InputError, match="slices by tag column\\(s\\) 'colour'"):
        sqlite_workspace.import_dataset("pets", frame, tags=["x"])
    with pytest.raises(InputError, match="has no column 'colour'; dataset 'pets' slices by"):
        sqlite_workspace.import_dataset("pets", frame.drop(columns="colour"))
    assert [v.ref for v in sqlite_workspace.log("pets")] == ["pets@v2", "pets@v1"]


def test_a_folder_cannot_become_a_version_of_a_table(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    root = tmp_path / "texts"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        (root / label / "1.txt").write_text(f"text {label}")
    sqlite_workspace.import_dataset("t", pd.DataFrame({"label": ["a", "b"], "x": [1, 2]}))
    with pytest.raises(InputError, match="imported from a table, not a folder"):
        sqlite_workspace.import_dataset("t", root)


def test_diff_lists_columns_added_and_removed(sqlite_workspace: Workspace) -> None:
    frame = _frame()
    sqlite_workspace.import_dataset("pets", frame, label="y", id="uid")
    v2 = sqlite_workspace.import_dataset("pets", frame.drop(columns="x").assign(w=1))
    assert v2.summary["columns_added"] == ["w"] and v2.summary["columns_removed"] == ["x"]
    delta = sqlite_workspace.diff("pets@v1", "pets@v2")
    assert delta.columns_added == ["w"] and delta.columns_removed == ["x"]
    assert delta.counts["changed"] == 0
    assert delta.summary().endswith("0 with changed features; 1 column added (w), 1 removed (x)")


def test_os_errors_creating_a_workspace_are_input_errors() -> None:
    with pytest.raises(InputError, match="cannot create a workspace at /proc/assay-x: No such"):
        Workspace.init("/proc/assay-x")


def test_row_names_follow_the_file(tmp_path: Path) -> None:
    from assay.store.readers import RowNames, read_source

    (tmp_path / "a.csv").write_text('k,v\n1,"two\nlines"\n\n2,x\n3,y\n')
    _, info = read_source(tmp_path / "a.csv")
    assert info["rows"](1) == "line 5" and info["rows"].many([0, 2]) == "lines 2 and 6"
    (tmp_path / "a.jsonl").write_text('{"k": 1}\n\n{"k": 2}\n')
    table, info = read_source(tmp_path / "a.jsonl")
    assert table.num_rows == 2 and info["rows"](1) == "line 3"
    frame = pd.DataFrame({"k": range(7)}, index=list("abcdefg"))
    names = read_source(frame)[1]["rows"]
    assert names.many(list(range(7))) == "index labels 'a', 'b', 'c', 'd', 'e' ..."
    assert RowNames("row").many([0, 9]) == "rows 1 and 10"
