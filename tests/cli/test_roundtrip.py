"""Export -> edit -> re-import keeps item identity, in every export format."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.cli.conftest import Cli

from assay.store.workspace import Workspace

N = 30
IDS = {
    "integers": list(range(100, 100 + N)),
    "text like numbers": ["007", "0", "1", *(str(i) for i in range(2, N - 1))],
    "generated": None,
}
NEW_IDS = {"integers": [900, 901, 902, 903], "text like numbers": ["0007", "00", "x", "99"]}


def _first_version(ws: Workspace, kind: str) -> None:
    frame = pd.DataFrame({"x": [float(i) for i in range(N)]})
    # labels of the text-id dataset are text too ("0", "1"), else integers
    frame["label"] = [str(i % 3) if kind == "text like numbers" else i % 3 for i in range(N)]
    if IDS[kind] is not None:
        frame.insert(0, "item_id", IDS[kind])
    ws.import_dataset("digits", frame, label="label", id="item_id" if IDS[kind] else None)


def _append(path: Path, fmt: str, kind: str) -> None:
    """Add four rows the way a user would: as text (CSV, JSONL) or with pyarrow."""
    ids = NEW_IDS.get(kind, [N, N + 1, N + 2, N + 3])
    labels: list[object] = ["2", "0", "1", "2"] if kind == "text like numbers" else [2, 0, 1, 2]
    if fmt == "csv":
        with path.open("a") as fh:
            fh.writelines(
                f"{i},{float(j)},{lab}\n"
                for j, (i, lab) in enumerate(zip(ids, labels, strict=True))
            )
    elif fmt == "jsonl":
        with path.open("a") as fh:
            for j, (i, lab) in enumerate(zip(ids, labels, strict=True)):
                fh.write(json.dumps({"item_id": i, "x": float(j), "label": lab}) + "\n")
    else:
        table = pq.read_table(path)
        extra = pa.table(
            {"item_id": ids, "x": [float(j) for j in range(4)], "label": labels},
            schema=table.schema,
        )
        pq.write_table(pa.concat_tables([table, extra]), path)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
@pytest.mark.parametrize("kind", list(IDS))
def test_export_edit_reimport_adds_only_the_new_rows(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path, fmt: str, kind: str
) -> None:
    ws, where = sqlite_workspace, str(sqlite_workspace.root)
    _first_version(ws, kind)
    path = tmp_path / f"d.{fmt}"
    assert cli("export", "digits", str(path), "-w", where)[0] == 0
    _append(path, fmt, kind)
    ident = ["--id", "item_id"] if IDS[kind] is not None else []
    code, out, err = cli("import", "digits", str(path), "--label", "label", *ident, "-w", where)
    assert code == 0, err
    delta = ws.diff("digits@v1", "digits@v2")
    assert delta.counts == {"added": 4, "removed": 0, "relabeled": 0, "changed": 0}, delta.summary()
    v1, v2 = ws.dataset("digits@v1"), ws.dataset("digits@v2")
    assert v2.schema.field("item_id").type == v1.schema.field("item_id").type
    assert v2.label_type == v1.label_type
    expected = NEW_IDS.get(kind, [N, N + 1, N + 2, N + 3])
    assert sorted(map(str, delta.added["item_id"])) == sorted(map(str, expected))
    if kind == "text like numbers":
        assert v2.to_pandas()["item_id"].iloc[0] == "007"


def test_an_id_that_is_not_of_the_dataset_type_is_refused(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _first_version(sqlite_workspace, "integers")
    path = tmp_path / "d.csv"
    assert cli("export", "digits", str(path), "-w", str(sqlite_workspace.root))[0] == 0
    with path.open("a") as fh:
        fh.write("a7,1.0,2\n")
    code, _, err = cli("import", "digits", str(path), "-w", str(sqlite_workspace.root))
    text = " ".join(err.split())
    assert code == 2
    assert "the id column 'item_id' holds int64 values in dataset 'digits'" in text
    assert f"line {N + 2} has 'a7'" in text
    assert [v.ref for v in sqlite_workspace.log("digits")] == ["digits@v1"]


def test_a_relabel_keeps_the_label_type(
    cli: Cli, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _first_version(sqlite_workspace, "text like numbers")  # labels "0", "1", "2" as text
    path = tmp_path / "d.csv"
    assert cli("export", "digits", str(path), "-w", str(sqlite_workspace.root))[0] == 0
    lines = path.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",2"  # item 007: label "0" -> "2"
    path.write_text("\n".join(lines) + "\n")
    assert cli("import", "digits", str(path), "-w", str(sqlite_workspace.root))[0] == 0
    delta = sqlite_workspace.diff("digits@v1", "digits@v2")
    assert delta.counts == {"added": 0, "removed": 0, "relabeled": 1, "changed": 0}
    assert delta.relabeled.iloc[0].tolist() == ["007", "0", "2"]
