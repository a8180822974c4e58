"""Annotation tables: normalisation, bad input, CSV/TSV/Parquet and Label Studio."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from assay.collect import (
    encode_annotations,
    normalize_annotations,
    parse_label_studio,
    read_annotations,
)
from assay.exceptions import InputError


def _df() -> pd.DataFrame:
    return pd.DataFrame({"item": ["x", "x", "y", "y"], "annotator": ["a", "b", "a", "b"],
                         "label": ["cat", "dog", "dog", "dog"]})


def test_crowdkit_column_names_are_accepted() -> None:
    df = _df().rename(columns={"item": "task", "annotator": "worker"})
    out = normalize_annotations(df)
    assert list(out.columns) == ["item", "annotator", "label"]
    assert out["item"].tolist() == ["x", "x", "y", "y"]


def test_optional_columns_kept_and_others_dropped() -> None:
    df = _df().assign(time=pd.Timestamp("2026-01-01"), labelbook_version=2, junk=1)
    out = normalize_annotations(df)
    assert list(out.columns) == ["item", "annotator", "label", "time", "labelbook_version"]


def test_missing_annotator_is_an_error_naming_rows() -> None:
    df = _df().set_axis(["w", "x", "y", "z"])  # index labels differ from positions
    df.loc["y", "annotator"] = None
    with pytest.raises(InputError, match=r"'annotator' is missing in 1 row\(s\) \(index 'y'\)"):
        normalize_annotations(df)
    df.loc[["w", "z"], "label"] = None
    with pytest.raises(InputError, match=r"'label' is missing in 2 row\(s\) \(index labels 'w' and 'z'\)"):
        normalize_annotations(df.assign(annotator="a"))


def test_missing_values_in_a_file_are_named_by_line_or_row(tmp_path: Path) -> None:
    csv = tmp_path / "ann.csv"  # a quoted value spans lines 3-4, line 6 is blank
    csv.write_text('item,annotator,label\nx,a,cat\n"y\nz",b,dog\nx,,dog\n\ny,a,\n',
                   encoding="utf-8")
    assert len(pd.read_csv(csv)) == 4
    with pytest.raises(InputError, match=r"ann.csv: column 'annotator' is missing in 1 row\(s\) \(line 5\)"):
        read_annotations(csv)
    csv.write_text(csv.read_text(encoding="utf-8").replace("x,,dog", "x,c,dog"), encoding="utf-8")
    with pytest.raises(InputError, match=r"'label' is missing in 1 row\(s\) \(line 7\)"):
        read_annotations(csv)
    no_header = tmp_path / "labels.txt"
    no_header.write_text("a\tx\tcat\nb\tx\t\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'label' is missing in 1 row\(s\) \(line 2\)"):
        read_annotations(no_header, names=["annotator", "item", "label"])
    parquet = tmp_path / "ann.parquet"
    _df().assign(label=["cat", None, "dog", None]).to_parquet(parquet)
    with pytest.raises(InputError, match=r"'label' is missing in 2 row\(s\) \(rows 2 and 4\)"):
        read_annotations(parquet)


def test_missing_column_is_an_error() -> None:
    with pytest.raises(InputError, match="no column 'label'"):
        normalize_annotations(_df().drop(columns="label"))


def test_repeated_item_annotator_keeps_last_with_warning() -> None:
    df = pd.concat([_df(), pd.DataFrame({"item": ["x"], "annotator": ["a"], "label": ["bird"]})])
    with pytest.warns(UserWarning, match="1 annotation"):
        out = normalize_annotations(df)
    assert len(out) == 4
    assert out.loc[(out["item"] == "x") & (out["annotator"] == "a"), "label"].item() == "bird"
    with pytest.warns(UserWarning, match="kept the last"):
        enc = encode_annotations(df)
    xa = (enc.items[enc.item] == "x") & (enc.annotators[enc.annotator] == "a")
    assert enc.classes[enc.label[xa]].tolist() == ["bird"]


def test_labels_outside_classes_listed_unless_allow_new() -> None:
    with pytest.raises(InputError, match="outside the label book's classes: 'dog'"):
        normalize_annotations(_df(), classes=["cat", "bird"])
    enc = encode_annotations(_df(), classes=["cat", "bird"], allow_new=True)
    assert list(enc.classes) == ["cat", "bird", "dog"]


def test_encode_counts_matrix() -> None:
    enc = encode_annotations(_df())
    assert enc.counts().toarray().tolist() == [[1, 1], [0, 2]]


def test_empty_table_is_an_error() -> None:
    with pytest.raises(InputError, match="no rows"):
        normalize_annotations(_df().iloc[:0])


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_read_annotations_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"ann{suffix}"
    df = _df()
    if suffix == ".parquet":
        df.to_parquet(path)
    else:
        df.to_csv(path, sep="," if suffix == ".csv" else "\t", index=False)
    out = read_annotations(path)
    pd.testing.assert_frame_equal(out.astype(str), df.astype(str))


def test_read_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv is empty"):
        read_annotations(empty)
    with pytest.raises(InputError, match="does not exist"):
        read_annotations(tmp_path / "nope.csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text("item,annotator,label\n")
    with pytest.raises(InputError, match="header.csv has no rows"):
        read_annotations(header_only)


def test_read_csv_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("item,annotator,label\nx,a,caf\xe9\nx,b,th\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin.csv is not UTF-8"):
        read_annotations(path)


def _ls_export() -> list[dict]:
    def ann(user: object, choice: str | None, cancelled: bool = False) -> dict:
        result = [] if choice is None else [{
            "from_name": "sentiment", "to_name": "text", "type": "choices",
            "value": {"choices": [choice]}}]
        return {"id": 1, "completed_by": user, "result": result, "was_cancelled": cancelled,
                "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:05:00Z"}

    return [
        {"id": 11, "data": {"text": "good", "item": "s1"},
         "annotations": [ann(1, "Positive"), ann({"id": 2, "email": "b@x.org"}, "Negative")]},
        {"id": 12, "data": {"text": "bad", "item": "s2"},
         "annotations": [ann(1, "Negative"), ann(3, "Positive", cancelled=True),
                         ann(4, None)]},
    ]


def test_parse_label_studio_choices(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_ls_export()), encoding="utf-8")
    with pytest.warns(UserWarning, match="left out 2 cancelled"):
        out = parse_label_studio(path)
    assert out["item"].tolist() == ["s1", "s1", "s2"]  # data.item, not Label Studio's ids
    assert out["annotator"].tolist() == [1, "b@x.org", 1]
    assert out["label"].tolist() == ["Positive", "Negative", "Negative"]
    assert out["time"].iloc[0] == pd.Timestamp("2026-11-01T10:05:00Z")
    with pytest.warns(UserWarning):
        by_key = parse_label_studio(json.dumps(_ls_export()).encode(), item_key="text")
    assert by_key["item"].tolist() == ["good", "good", "bad"]
    with pytest.warns(UserWarning), pytest.raises(InputError, match="'Negative'"):
        parse_label_studio(path, classes=["Positive"])


def test_label_studio_rows_are_named_by_their_task() -> None:
    export = _ls_export()
    export[1]["annotations"][0]["completed_by"] = None
    with pytest.warns(UserWarning), pytest.raises(
        InputError, match=r"'annotator' is missing in 1 row\(s\) \(task 12\)"
    ):
        parse_label_studio(json.dumps(export).encode())


def test_label_studio_item_ids_keep_their_type_and_the_fallback_warns() -> None:
    export = _ls_export()
    for task, item in zip(export, [1168, 1159], strict=True):
        task["data"]["item"] = item
    with pytest.warns(UserWarning, match="left out"):
        out = parse_label_studio(json.dumps(export).encode())
    assert out["item"].tolist() == [1168, 1168, 1159]
    assert all(type(i) is int for i in out["item"].tolist())
    for task in export:
        del task["data"]["item"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fallback = parse_label_studio(json.dumps(export).encode())
    assert any("no task has data['item'], so Label Studio's task ids were taken"
               in str(w.message) for w in caught)
    assert fallback["item"].tolist() == [11, 11, 12]
    export[1]["data"]["item"] = "s2"  # one task has it, the other does not
    with pytest.raises(InputError, match=r"1 task\(s\) have no item id under data\['item'\] "
                       r"\(task ids 11; their data keys: 'text'\); pass item_key=KEY"):
        parse_label_studio(json.dumps(export).encode())
    with pytest.raises(InputError, match=r"2 task\(s\) have no item id under data\['image'\]"):
        parse_label_studio(json.dumps(export).encode(), item_key="image")


def test_read_annotations_item_key_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "ann.csv"
    pd.DataFrame({"image_id": ["p", "q"], "item": [1, 2], "annotator": ["a", "b"],
                  "label": ["x", "y"]}).to_csv(path, index=False)
    out = read_annotations(path, item_key="image_id")
    assert out["item"].tolist() == ["p", "q"]
    with pytest.raises(InputError, match="ann.csv has no column 'img' .*image_id, item"):
        read_annotations(path, item_key="img")


def test_label_outside_the_classes_is_shown_as_a_plain_value() -> None:
    import numpy as np

    df = pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"],
                       "label": np.array([1, 3], dtype=np.int64)})
    with pytest.raises(InputError, match=r"classes: 3; .*pass allow_new=True\.$") as err:
        normalize_annotations(df, classes=[1, 2])
    assert "np." not in str(err.value)


def test_parse_label_studio_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": 1, "annotations": [}', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.json is not valid JSON .*line 1"):
        parse_label_studio(bad)
    latin = tmp_path / "latin.json"
    latin.write_bytes('[{"data": {"t": "caf\xe9"}}]'.encode("latin-1"))
    with pytest.raises(InputError, match="latin.json is not UTF-8"):
        read_annotations(latin)
    empty = tmp_path / "empty.json"
    empty.write_text("  ")
    with pytest.raises(InputError, match="empty.json is empty"):
        parse_label_studio(empty)
    minimal = tmp_path / "min.json"
    minimal.write_text(json.dumps([{"text": "x", "sentiment": "Positive"}]))
    with pytest.raises(InputError, match="no 'annotations' list"):
        parse_label_studio(minimal)


def test_read_headerless_crowd_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_text("w1\tx\tG\nw2\tx\tP\nw1\ty\tG\n")
    out = read_annotations(path, names=["annotator", "item", "label"])
    assert out[["item", "annotator", "label"]].values.tolist() == [
        ["x", "w1", "G"], ["x", "w2", "P"], ["y", "w1", "G"]]
    with pytest.warns(UserWarning, match="no header row: its 3 columns are read as annotator"):
        sniffed = read_annotations(path)  # no cell names a column: worker, item, label
    pd.testing.assert_frame_equal(sniffed, out)
    path.write_text("worker\ttask\tlabel\nw1\tx\tG\n")  # a header: read as one
    assert read_annotations(path)["label"].tolist() == ["G"]
    path.write_text("w1\tx\tG\t3\nw2\tx\tP\t4\n")  # 4 columns: no layout to assume
    with pytest.raises(InputError, match="no column 'item'"):
        read_annotations(path)


def test_mixed_annotator_id_types_are_encoded() -> None:
    df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": [7, "b@x.org", 7, "b@x.org"],
                       "label": ["p", "q", "p", "p"]})
    enc = encode_annotations(df)
    assert list(enc.annotators) == [7, "b@x.org"]
    assert enc.annotators[enc.annotator].tolist() == [7, "b@x.org", 7, "b@x.org"]


def test_a_wide_matrix_converts_to_the_same_consensus_as_its_long_table() -> None:
    """cleanlab's labels_multiannotator layout: one column per annotator, NaN where an
    annotator did not label the item (real HITspam CrowdFlower labels, pivoted)."""
    import assay

    path = Path("/work/shared/data/crowd/HITspam-UsingCrowdflower/labels.txt")
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    long = assay.read_annotations(path, names=["annotator", "item", "label"])
    wide = long.pivot(index="item", columns="annotator", values="label")
    assert wide.isna().any().any()  # sparse: most annotators label few items
    back = assay.annotations_from_matrix(wide)
    assert len(back) == len(long) and back["label"].dtype == long["label"].dtype
    a = assay.consensus(long, "dawid_skene").labels.sort_index()
    b = assay.consensus(back, "dawid_skene").labels.sort_index()
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(InputError, match=r"annotations_from_matrix"):
        assay.consensus(wide)
    with pytest.raises(InputError, match="outside"):
        assay.annotations_from_matrix(wide, classes=[0])
