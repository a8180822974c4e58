"""A dataset's kind of label (issue 14): stored, detected at the first import, fixed after.

Real data: UCI wine quality (integer scores), bike sharing (counts, temperatures) and
MULAN yeast (14 0/1 label columns). Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alembic import command

from assay import InputError
from assay.store.datasets import dataset_task
from assay.store.db import _alembic_config
from assay.store.workspace import Workspace

YEAST_LABELS = [f"Class{i}" for i in range(1, 15)]


@pytest.fixture
def wine(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "regression" / "wine-quality" / "winequality-red.csv",
                       sep=";")


@pytest.fixture
def yeast(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "multilabel" / "yeast" / "yeast.csv")


def _sets(frame: pd.DataFrame) -> list[list[str]]:
    """The label set of each row of yeast, sorted (the reference for the stored lists)."""
    return [sorted(c for c in YEAST_LABELS if row[c] == 1) for _, row in frame.iterrows()]


def _versions(ws: Workspace) -> list[str]:
    return [v.ref for d in ws.datasets() for v in ws.log(d.name)]


# -- the kind, stored and detected -------------------------------------------------------


def test_integer_scores_stay_classes_unless_regression_is_named(
    workspace: Workspace, wine: pd.DataFrame
) -> None:
    as_classes = workspace.import_dataset("wine_c", wine, label="quality")
    assert as_classes.task.kind == "classification" and pa.types.is_integer(as_classes.label_type)
    version = workspace.import_dataset("wine", wine, label="quality", task="regression")
    assert version.task.kind == "regression" and version.label_type == pa.float64()
    again = workspace.dataset("wine")
    assert again.task.kind == "regression" and again.to_dict()["task"] == "regression"
    assert dataset_task("wine", workspace).kind == "regression"
    with workspace.session(readonly=True) as s:
        assert dataset_task("wine_c", s).kind == "classification"
    np.testing.assert_array_equal(again.labels.to_numpy(), wine["quality"].to_numpy(float))


def test_a_float_label_column_is_detected_as_regression(
    workspace: Workspace, shared_data: Path
) -> None:
    day = shared_data / "regression" / "bike-sharing" / "day.csv"
    version = workspace.import_dataset("bike", day, label="temp", id="instant")
    assert version.task.kind == "regression"
    assert version.to_dict()["task"] == "regression" and version.to_dict()["label_names"] is None
    counts = workspace.import_dataset("bike_cnt", day, label="cnt", task="regression")
    assert counts.task.kind == "regression"
    assert counts.labels.sum() == pd.read_csv(day)["cnt"].sum()


def test_zero_one_columns_are_one_label_set_column(workspace: Workspace, yeast: pd.DataFrame) -> None:
    version = workspace.import_dataset("yeast", yeast, label=YEAST_LABELS)
    assert version.task.kind == "multilabel"
    assert version.roles.label == "labels" and version.label_names == tuple(YEAST_LABELS)
    assert version.label_type == pa.list_(pa.string())
    assert not set(YEAST_LABELS) & set(version.columns)  # the 0/1 columns are not features
    assert [list(v) for v in version.labels] == _sets(yeast)
    assert version.provenance["label_columns"] == YEAST_LABELS
    shown = version.task.describe_labels(version.labels)
    assert shown.rows == {c: int(yeast[c].sum()) for c in sorted(YEAST_LABELS)}
    again = workspace.import_dataset("yeast", yeast)  # the same columns, combined again
    assert again.ref == "yeast@v2" and again.summary["relabeled"] == 0


def test_separated_text_json_lists_and_parquet_lists_are_label_sets(
    workspace: Workspace, yeast: pd.DataFrame, tmp_path: Path
) -> None:
    small = yeast.head(200)
    sets = _sets(small)
    text = small.drop(columns=YEAST_LABELS).assign(tags=["|".join(s) for s in sets])
    piped = workspace.import_dataset("piped", text, label="tags", label_sep="|")
    assert piped.task.kind == "multilabel" and [list(v) for v in piped.labels] == sets
    assert piped.label_names == tuple(sorted({t for s in sets for t in s}))
    csv = tmp_path / "json_lists.csv"
    text.assign(tags=[json.dumps(s) for s in sets]).to_csv(csv, index=False)
    assert [list(v) for v in workspace.import_dataset("csv", csv, label="tags").labels] == sets
    jsonl = tmp_path / "lists.jsonl"
    jsonl.write_text("".join(json.dumps({"x": i, "tags": s}) + "\n" for i, s in enumerate(sets)))
    from_jsonl = workspace.import_dataset("jsonl", jsonl, label="tags")
    assert from_jsonl.task.kind == "multilabel" and [list(v) for v in from_jsonl.labels] == sets
    parquet = tmp_path / "lists.parquet"
    pq.write_table(pa.table({"x": range(len(sets)), "tags": sets}), parquet)
    assert workspace.import_dataset("pq", parquet, label="tags").task.kind == "multilabel"


def test_the_kind_is_fixed_at_the_first_import(workspace: Workspace, wine: pd.DataFrame) -> None:
    workspace.import_dataset("wine", wine, label="quality", task="regression")
    with pytest.raises(InputError, match=r"^dataset 'wine' is regression \(fixed at its first "
                                         r"import\); this import names --task classification"):
        workspace.import_dataset("wine", wine, task="classification")
    v2 = workspace.import_dataset("wine", wine.assign(quality=wine["quality"] + 0.5))
    assert v2.task.kind == "regression" and v2.summary["relabeled"] == len(wine)
    assert _versions(workspace) == ["wine@v2", "wine@v1"]


def test_a_stored_workspace_migrates_to_classification(workspace: Workspace, wine: pd.DataFrame) -> None:
    """Migration 0004 on a workspace written before it: its datasets are classification."""
    workspace.import_dataset("wine", wine, label="quality", task="regression")
    cfg = _alembic_config()
    with workspace.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with workspace.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert workspace.dataset("wine").task.kind == "classification"  # the old default


# -- diffs ------------------------------------------------------------------------------


def test_diffs_say_how_a_number_and_a_set_changed(
    workspace: Workspace, wine: pd.DataFrame, yeast: pd.DataFrame
) -> None:
    workspace.import_dataset("wine", wine.head(50), label="quality", task="regression")
    changed = wine.head(50).astype({"quality": float})
    changed.loc[3, "quality"] = 6.5
    workspace.commit("wine", changed, message="relabel item 3")
    delta = workspace.diff("wine@v1", "wine@v2")
    assert delta.label_changes() == [f"relabeled {float(wine.loc[3, 'quality'])} -> 6.5"]
    assert delta.to_dict()["label_changes"] == delta.label_changes()
    workspace.import_dataset("yeast", yeast.head(20), label=YEAST_LABELS)
    frame = workspace.dataset("yeast").to_pandas()
    before = sorted(frame.loc[0, "labels"])
    after = sorted((set(before) - {before[0]}) | {"Class14"})
    frame.at[0, "labels"] = after
    workspace.commit("yeast", frame, message="retag item 0")
    delta = workspace.diff("yeast@v1", "yeast@v2")
    assert delta.counts["relabeled"] == 1
    assert delta.label_changes() == [f"added tag Class14; removed tag {before[0]}"]
    assert json.dumps(delta.to_dict())  # lists, not numpy arrays


# -- bad input: one line, nothing written ---------------------------------------------


def test_non_finite_and_non_numeric_regression_labels_are_refused(
    workspace: Workspace, wine: pd.DataFrame
) -> None:
    with pytest.raises(InputError, match=r"missing, NaN or infinite on 1 row: index 7"):
        workspace.import_dataset("w", wine.assign(quality=wine["quality"].astype(float).where(
            wine.index != 7, np.inf)), label="quality", task="regression")
    words = wine.assign(quality=np.where(wine["quality"] > 5, "good", "poor"))
    with pytest.raises(InputError, match=r"holds text \(index 0 has .poor.\), not numbers"):
        workspace.import_dataset("w", words, label="quality", task="regression")
    assert _versions(workspace) == []
    # a missing number (NaN) is an item awaiting its label (issue 16), not an error
    version = workspace.import_dataset("w", wine.assign(quality=wine["quality"].where(
        wine.index != 4, np.nan).astype(float)), label="quality")
    assert version.task.kind == "regression" and version.labels.isna().sum() == 1


def test_mixed_lists_and_single_values_are_refused(workspace: Workspace, tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [["a"], ["a", "b"], "b"]})
    with pytest.raises(InputError, match=r"column 'y' mixes lists and single values"):
        workspace.import_dataset("m", frame, label="y")
    jsonl = tmp_path / "mixed.jsonl"
    jsonl.write_text('{"y": 1.5}\n{"y": 2.5}\n{"y": [1, 2]}\n')
    with pytest.raises(InputError, match=r"column 'y' mixes .*line 3"):
        workspace.import_dataset("m", jsonl, label="y")
    csv = tmp_path / "mixed.csv"
    csv.write_text('x,y\n1,"[""a""]"\n2,3.5\n')
    with pytest.raises(InputError, match=r"mixes lists and single values \(line 2 has .*line 3"):
        workspace.import_dataset("m", csv, label="y")
    assert _versions(workspace) == []


def test_a_zero_one_column_holding_another_value_is_refused(
    workspace: Workspace, yeast: pd.DataFrame
) -> None:
    bad = yeast.head(30).copy()
    bad.loc[12, "Class5"] = 2
    with pytest.raises(InputError, match=r"label column 'Class5' holds 2 at index 12; .*0 or 1"):
        workspace.import_dataset("y", bad, label=YEAST_LABELS)
    with pytest.raises(InputError, match=r"several label columns give a multilabel label, but "
                                         r"the task is regression"):
        workspace.import_dataset("y", yeast.head(30), label=YEAST_LABELS, task="regression")
    assert _versions(workspace) == []


def test_a_set_naming_an_unknown_label_is_refused(workspace: Workspace, yeast: pd.DataFrame) -> None:
    workspace.import_dataset("yeast", yeast.head(30), label=YEAST_LABELS)
    frame = workspace.dataset("yeast").to_pandas()
    frame.at[5, "labels"] = ["Class1", "Class99"]
    with pytest.raises(InputError, match=r"names 'Class99' at index 5, which is not in dataset "
                                         r"'yeast''s label list \(Class1, Class2"):
        workspace.commit("yeast", frame, message="typo")
    lists = pd.DataFrame({"id": range(3), "tags": [["a"], ["b"], ["a", "b"]]})
    workspace.import_dataset("tags", lists, label="tags", id="id")
    workspace.labelbook.save("tags", {"a": {}, "b": {}, "c": {}}, message="three tags")
    with_c = workspace.import_dataset("tags", lists.assign(tags=[["c"], ["b"], ["a"]]))
    assert with_c.summary["relabeled"] == 2  # 'c' is in the label book
    with pytest.raises(InputError, match=r"names 'd' at index 1, which is not in the label book"):
        workspace.import_dataset("tags", lists.assign(tags=[["a"], ["d"], []]))
    assert _versions(workspace) == ["tags@v2", "tags@v1", "yeast@v1"]


def test_a_production_batch_mixing_lists_and_single_values_is_refused() -> None:
    from assay.workflows.batches import json_rows

    rows, _ = json_rows(b'[{"x": 1, "pred": ["a", "b"]}, {"x": 2, "pred": []}]', ndjson=False)
    assert [r["pred"] for r in rows] == [["a", "b"], []]
    with pytest.raises(InputError, match=r"^column 'pred' line 1 holds a list but line 3 a "
                                         r"single value: the column mixes lists and single"):
        json_rows(b'{"x": 1, "pred": ["a"]}\n\n{"x": 2, "pred": 3.5}\n', ndjson=True)
    with pytest.raises(InputError, match=r"index 1 holds a list but index 0 a single value"):
        json_rows(b'[{"pred": 2}, {"pred": ["a"]}]', ndjson=False)
