"""Streamed import: a folder of Parquet files or a Dask DataFrame becomes a version in
several part objects (``ASSAY_PART_ROWS`` rows each), read, diffed, exported and
collected as a version in one object is, on SQLite and PostgreSQL.

The data is the electricity drift set (/work/shared/data/drift/elec.csv, 45,312 rows),
split into Parquet files; parts of 5,000 rows make about ten parts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay.cli.main import main
from assay.exceptions import InputError, StoreError
from assay.store import objects as objects_module
from assay.store.workspace import Workspace

ELEC = Path("/work/shared/data/drift/elec.csv")
PART_ROWS = 5_000


@pytest.fixture(scope="module")
def elec() -> pd.DataFrame:
    if not ELEC.exists():
        pytest.skip(f"{ELEC} is not on this machine")
    frame = pd.read_csv(ELEC)
    return frame.assign(uid=[f"e{i:05d}" for i in range(len(frame))])


@pytest.fixture(autouse=True)
def _small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_PART_ROWS", str(PART_ROWS))


def write_folder(frame: pd.DataFrame, folder: Path, files: int = 4) -> Path:
    """``frame`` as ``files`` Parquet files of small row groups (sorted names)."""
    folder.mkdir(parents=True)
    for number, rows in enumerate(np.array_split(np.arange(len(frame)), files)):
        table = pa.Table.from_pandas(frame.iloc[rows], preserve_index=False)
        pq.write_table(table, folder / f"part-{number:02d}.parquet", row_group_size=3_000)
    return folder


def changed(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A next version: 40 relabels, 30 changed prices, 100 rows gone, 50 new, shuffled."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    relabel = rng.choice(len(out), 40, replace=False)
    out.loc[relabel, "class"] = 1 - out.loc[relabel, "class"]
    moved = rng.choice(len(out), 30, replace=False)
    out.loc[moved, "nswprice"] = out.loc[moved, "nswprice"] + 1.0
    out = out.drop(index=rng.choice(len(out), 100, replace=False))
    new = frame.sample(50, random_state=seed).assign(uid=[f"new{seed}-{i}" for i in range(50)])
    out = pd.concat([out, new], ignore_index=True)
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_folder_imports_in_parts_and_reads_back(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    folder = write_folder(elec, tmp_path / "v1")
    version = workspace.import_dataset("elec", folder, label="class", id="uid")
    parts = workspace.objects.parts(version.object_hash)
    assert parts is not None and len(parts) >= 9
    assert sum(rows for _, rows in parts) == version.n_rows == len(elec)
    back = version.to_pandas()
    pd.testing.assert_frame_equal(back, elec[back.columns.tolist()], check_dtype=False)
    assert version.schema.names == back.columns.tolist()
    assert version.summary["added"] == len(elec)
    assert version.provenance["format"] == "parquet"


def test_diff_part_by_part_equals_the_diff_in_memory(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nxt = changed(elec)
    workspace.import_dataset("elec", write_folder(elec, tmp_path / "v1"), label="class", id="uid")
    v2 = workspace.import_dataset("elec", write_folder(nxt, tmp_path / "v2"))
    monkeypatch.setenv("ASSAY_PART_ROWS", str(10**9))  # the same data, one object each
    whole = Workspace.init(tmp_path / "whole")
    whole.import_dataset("elec", elec, label="class", id="uid")
    w2 = whole.import_dataset("elec", nxt)
    assert whole.objects.parts(w2.object_hash) is None
    assert v2.summary == w2.summary
    assert v2.summary["added"] == 50 and v2.summary["removed"] == 100
    assert 0 < v2.summary["relabeled"] <= 40 and 0 < v2.summary["changed"] <= 30
    streamed, memory = workspace.diff("elec@v1", "elec@v2"), whole.diff("elec@v1", "elec@v2")
    assert streamed.counts == memory.counts
    for kind in ("added", "removed", "relabeled", "changed"):
        assert sorted(getattr(streamed, kind)["item_id"]) == sorted(
            getattr(memory, kind)["item_id"]
        )
    whole.close()


def test_ids_repeated_across_files_are_refused(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    frame = elec.head(12_000).copy()
    frame.loc[11_000, "uid"] = frame.loc[10, "uid"]  # in the first and the last file
    folder = write_folder(frame, tmp_path / "dup")
    with pytest.raises(InputError, match=r"duplicate values across.*'e00010'.*part-00.*part-03"):
        workspace.import_dataset("elec", folder, label="class", id="uid")
    with pytest.raises(Exception, match="no dataset|not found|no version"):
        workspace.dataset("elec")


def test_a_file_with_other_columns_is_named(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    folder = write_folder(elec.head(9_000), tmp_path / "odd", files=3)
    pq.write_table(pa.table({"period": [0.5], "class": [1]}), folder / "part-09.parquet")
    with pytest.raises(InputError, match="part-09.parquet"):
        workspace.import_dataset("elec", folder, label="class")


def test_dask_frames_import_and_commit_in_parts(workspace: Workspace, elec: pd.DataFrame) -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = elec.head(20_000)
    v1 = workspace.import_dataset("elec", dd.from_pandas(frame, npartitions=4), label="class")
    assert len(workspace.objects.parts(v1.object_hash) or []) == 4
    assert v1.to_pandas()["item_id"].tolist() == list(range(len(frame)))  # numbered rows
    relabeled = frame.assign(**{"class": 1 - frame["class"]}).head(19_000)
    v2 = workspace.commit(
        "elec",
        dd.from_pandas(relabeled.assign(item_id=np.arange(19_000)), npartitions=3),
        message="flip",
    )
    assert v2.summary == {
        "rows": 19_000,
        "added": 0,
        "removed": 1_000,
        "relabeled": 19_000,
        "changed": 0,
    }
    assert workspace.diff("elec@v1", "elec@v2").counts["relabeled"] == 19_000


def test_gc_keeps_parts_and_a_damaged_part_is_reported(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    version = workspace.import_dataset(
        "elec", write_folder(elec, tmp_path / "v1"), label="class", id="uid"
    )
    with workspace.writing_object(pa.table({"a": [1, 2]})) as obj:  # never referenced
        orphan = obj.digest
    assert workspace.gc(grace_s=0) == [orphan]
    parts = workspace.objects.parts(version.object_hash) or []
    assert all(workspace.objects.exists(digest) for digest, _ in parts)
    assert version.to_arrow().num_rows == len(elec)
    path = workspace.objects.path(parts[3][0])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    objects_module._VERIFIED.clear()
    with pytest.raises(StoreError, match="does not match its hash"):
        workspace.dataset("elec").to_arrow()


def test_export_and_small_files_stay_one_object(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    version = workspace.import_dataset(
        "elec", write_folder(elec, tmp_path / "v1"), label="class", id="uid"
    )
    out = workspace.export(version.ref, tmp_path / "out.parquet")  # written part by part
    pd.testing.assert_frame_equal(pq.read_table(out).to_pandas(), version.to_pandas())
    csv = pd.read_csv(workspace.export(version.ref, tmp_path / "out.csv"))
    assert len(csv) == len(elec) and csv["uid"].tolist() == elec["uid"].tolist()
    lines = pd.read_json(workspace.export(version.ref, tmp_path / "out.jsonl"), lines=True)
    assert len(lines) == len(elec)
    small = tmp_path / "small.parquet"
    pq.write_table(pa.Table.from_pandas(elec.head(PART_ROWS), preserve_index=False), small)
    single = workspace.import_dataset("small", small, label="class", id="uid")
    assert workspace.objects.parts(single.object_hash) is None
    big = tmp_path / "big.parquet"  # one file of more rows than a part streams
    pq.write_table(pa.Table.from_pandas(elec, preserve_index=False), big, row_group_size=4_000)
    streamed = workspace.import_dataset("big", big, label="class", id="uid")
    assert len(workspace.objects.parts(streamed.object_hash) or []) >= 9


def test_cli_imports_a_folder_of_parquet_files(
    elec: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    folder = write_folder(elec.head(12_000), tmp_path / "v1", files=3)
    code = main(["import", "elec", str(folder), "--label", "class", "--json", "-w", str(ws)])
    out = capsys.readouterr().out
    assert code == 0, out
    shown = json.loads(out[out.index("{") :])
    assert shown["rows"] == 12_000 and shown["summary"]["added"] == 12_000


def test_one_object_and_parts_follow_each_other(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    frame = elec.head(12_000)
    nxt = changed(frame, seed=1)
    third = changed(nxt, seed=2)
    workspace.import_dataset("elec", frame, label="class", id="uid")  # one object
    v2 = workspace.import_dataset("elec", write_folder(nxt, tmp_path / "v2", files=3))
    v3 = workspace.import_dataset("elec", third)  # one object over parts
    assert workspace.objects.parts(v3.object_hash) is None
    whole = Workspace.init(tmp_path / "whole")
    for data in (frame, nxt, third):
        last = whole.import_dataset("elec", data, label="class", id="uid")
        if data is nxt:
            assert whole.dataset("elec").summary == v2.summary
    assert last.summary == v3.summary
    assert workspace.diff("elec@v1", "elec@v3").counts == whole.diff("elec@v1", "elec@v3").counts
    whole.close()


def test_empty_dask_partitions_add_no_rows(workspace: Workspace, elec: pd.DataFrame) -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = elec.head(20_000).assign(keep=np.arange(20_000) >= 10_000)
    ddf = dd.from_pandas(frame, npartitions=4)
    kept = ddf[ddf["keep"]].drop(columns="keep")  # the first two partitions are empty
    version = workspace.import_dataset("elec", kept, label="class", id="uid")
    assert version.n_rows == 10_000
    assert version.to_pandas()["uid"].tolist() == elec["uid"].iloc[10_000:20_000].tolist()


def test_parts_on_an_object_url_read_by_another_client(
    db_url: str | None, elec: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (tmp_path / "shared").as_uri()  # fsspec's file:// store, with a read cache
    monkeypatch.setenv("ASSAY_OBJECT_CACHE", str(tmp_path / "cache-a"))
    ws = Workspace.init(tmp_path / "ws", db=db_url, objects=url)
    version = ws.import_dataset("elec", write_folder(elec, tmp_path / "v1"), label="class")
    assert len(ws.objects.parts(version.object_hash) or []) >= 9
    monkeypatch.setenv("ASSAY_OBJECT_CACHE", str(tmp_path / "cache-b"))  # another machine
    objects_module._VERIFIED.clear()
    other = Workspace(tmp_path / "ws")
    assert other.dataset("elec").to_arrow().num_rows == len(elec)
    assert other.gc(grace_s=0) == []
    assert other.dataset("elec").to_pandas()["period"].tolist() == elec["period"].tolist()
    other.close()
    ws.close()


def test_hive_partition_folders_become_columns(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    frame = elec.head(12_000).assign(week=np.arange(12_000) // 2_000)
    pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False),
                        tmp_path / "hive", partition_cols=["week"])  # week=0/ ... week=5/
    version = workspace.import_dataset("elec", tmp_path / "hive", label="class", id="uid")
    back = version.to_pandas().set_index("uid").loc[frame["uid"]]
    assert back["week"].dtype.kind == "i"  # typed as pyarrow's hive partitioning infers
    assert (back["week"].to_numpy() == frame["week"].to_numpy()).all()
    pd.testing.assert_frame_equal(back.reset_index()[frame.columns], frame.reset_index(drop=True),
                                  check_dtype=False)


def test_hive_partition_folders_that_disagree_are_refused(
    workspace: Workspace, elec: pd.DataFrame, tmp_path: Path
) -> None:
    folder = tmp_path / "hive"
    pq.write_to_dataset(pa.Table.from_pandas(elec.head(2_000).assign(day=1),
                                             preserve_index=False), folder, partition_cols=["day"])
    pq.write_table(pa.Table.from_pandas(elec.iloc[2_000:2_100], preserve_index=False),
                   folder / "loose.parquet")
    with pytest.raises(InputError, match=r"mixes partition folders.*same key=value folders"):
        workspace.import_dataset("elec", folder, label="class", id="uid")
    clash = tmp_path / "clash" / "day=1"
    clash.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(elec.head(100).assign(day=1), preserve_index=False),
                   clash / "a.parquet")
    with pytest.raises(InputError, match=r"has a column 'day' and also sits under a day="):
        workspace.import_dataset("elec2", tmp_path / "clash", label="class", id="uid")
