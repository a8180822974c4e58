"""Label Studio exports in every format, annotator maps, tasks and labeling configs out.

The exports (tests/collect/label_studio_exports.py) copy the shape of real exports of
Label Studio 1.23.2; benchmarks/label_studio_roundtrip.py checks the same against a
running server.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from tests.collect.label_studio_exports import ANNOTATIONS, csv_export, full_export, min_export

from assay.collect import parse_label_studio, read_annotations, to_label_studio_tasks
from assay.collect.label_studio import read_annotator_map
from assay.collect.sampling import label_config, media_urls
from assay.exceptions import InputError


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def _triples(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    return sorted(zip(frame["item"].astype(str), frame["annotator"].astype(str),
                      frame["label"].astype(str), strict=True))


EXPECTED = sorted((item, str(who), label) for _, item, who, label, _ in ANNOTATIONS)


def test_two_controls_are_refused_without_from_name_listing_them(tmp_path: Path) -> None:
    for path in (_write(tmp_path / "full.json", full_export()),
                 _write(tmp_path / "min.json", min_export())):
        with pytest.raises(InputError, match=r"2 Choices controls \('label', 'clarity'\)"):
            read_annotations(path)
        assert _triples(read_annotations(path, from_name="label")) == EXPECTED
        clarity = read_annotations(path, from_name="clarity")
        assert sorted(clarity["label"]) == sorted(c for *_, c in ANNOTATIONS)
        with pytest.raises(InputError, match=r"no Choices control named 'quality'; its "
                                             r"Choices controls are 'label', 'clarity'"):
            read_annotations(path, from_name="quality")


def test_json_min_and_csv_read_the_same_annotations_as_json(tmp_path: Path) -> None:
    full = read_annotations(_write(tmp_path / "full.json", full_export()), from_name="label")
    mini = read_annotations(_write(tmp_path / "min.json", min_export()), from_name="label")
    table = read_annotations(csv_export(tmp_path / "export.csv"))  # the control named label
    assert _triples(full) == _triples(mini) == _triples(table) == EXPECTED
    assert table["time"].notna().all() and full["time"].notna().all()


def test_csv_with_another_control_name_needs_from_name(tmp_path: Path) -> None:
    path = csv_export(tmp_path / "export.csv", control="sentiment")
    with pytest.raises(InputError, match=r"no column 'label'; its other columns .* "
                                         r"'clarity', .*'sentiment'.* pass from_name="):
        read_annotations(path)
    assert _triples(read_annotations(path, from_name="sentiment")) == EXPECTED
    with pytest.raises(InputError, match="no Choices control named 'mood'.*'sentiment'"):
        read_annotations(path, from_name="mood")


def test_csv_keeps_text_ids_as_written(tmp_path: Path) -> None:
    rows = [(1, "007", 1, "a", "clear"), (1, "007", 2, "b", "clear")]
    path = tmp_path / "export.csv"
    pd.DataFrame(min_export(rows)).to_csv(path, index=False, quoting=2)
    assert read_annotations(path, from_name="label")["item"].tolist() == ["007", "007"]


def test_multiple_choices_are_joined_in_every_format(tmp_path: Path) -> None:
    rows = [(1, "x", 1, ["b", "a"], "clear"), (1, "x", 2, ["a"], "clear")]
    full = parse_label_studio(json.dumps(full_export(rows)).encode(), from_name="label")
    mini = read_annotations(_write(tmp_path / "min.json", min_export(rows)), from_name="label")
    path = tmp_path / "export.csv"
    frame = pd.DataFrame(min_export(rows))
    frame["label"] = [json.dumps(v) if isinstance(v, dict) else v for v in frame["label"]]
    frame.to_csv(path, index=False)
    table = read_annotations(path)
    for out in (full, mini, table):
        assert out["label"].tolist() == ["a|b", "a"]


def test_unlabeled_tasks_in_json_min_are_left_out_with_a_warning(tmp_path: Path) -> None:
    records = [*min_export(), {"item": "amz-9", "text": "t", "id": 44}]
    with pytest.warns(UserWarning, match="left out 1 record"):
        out = read_annotations(_write(tmp_path / "min.json", records), from_name="label")
    assert len(out) == len(ANNOTATIONS)


def test_annotator_ids_are_mapped_from_the_users_api_or_a_csv(tmp_path: Path) -> None:
    users = [{"id": 9, "email": "ann@lab.org", "username": ""},
             {"id": 10, "email": "ben@lab.org", "username": "ben"}]
    api = _write(tmp_path / "users.json", users)
    table = tmp_path / "users.csv"
    table.write_text("id,email\n9,ann@lab.org\n10,ben@lab.org\n")
    assert read_annotator_map(api) == read_annotator_map(table) == {
        "9": "ann@lab.org", "10": "ben@lab.org"}
    for source in (_write(tmp_path / "full.json", full_export()),
                   _write(tmp_path / "min.json", min_export()),
                   csv_export(tmp_path / "export.csv")):
        for mapping in (api, table, {9: "ann@lab.org", 10: "ben@lab.org"}):
            out = read_annotations(source, from_name="label", annotators=mapping)
            assert set(out["annotator"]) == {"ann@lab.org", "ben@lab.org"}
    table.write_text("id,email\n9,ann@lab.org\n")
    with pytest.raises(InputError, match=r"annotator\(s\) 10 are not in the annotator map"):
        read_annotations(csv_export(tmp_path / "export.csv"), annotators=table)
    (tmp_path / "bad.csv").write_text("user,mail\n9,a\n")
    with pytest.raises(InputError, match="needs a header with the columns id and email"):
        read_annotator_map(tmp_path / "bad.csv")


def test_an_expanded_completed_by_is_read_as_the_email() -> None:
    export = full_export()
    for task in export:
        for ann in task["annotations"]:
            ann["completed_by"] = {"id": ann["completed_by"], "email": f"u{ann['completed_by']}@x"}
    out = parse_label_studio(json.dumps(export).encode(), from_name="label")
    assert set(out["annotator"]) == {"u9@x", "u10@x"}


def test_a_table_label_column_is_named_by_from_name(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame({"item": [1, 1], "annotator": ["a", "b"], "mood": ["x", "y"],
                  "label": ["old", "old"]}).to_csv(path, index=False)
    assert read_annotations(path, from_name="mood")["label"].tolist() == ["x", "y"]
    with pytest.raises(InputError, match=r"no column 'tone' \(from_name\); its columns are"):
        read_annotations(path, from_name="tone")


def test_predictions_carry_scores_and_skip_missing_suggestions() -> None:
    sample = pd.DataFrame({"item": [1, 2, 3], "text": ["a", "b", "c"],
                           "suggested": [None, "dog", ["cat", "dog"]],
                           "score": [None, 0.8, 0.6]})
    tasks = to_label_studio_tasks(sample, data_cols=["text"], label_col="suggested",
                                  score_col="score", model_version="assay audit")
    assert "predictions" not in tasks[0]  # blind: no suggestion, no prediction
    first = tasks[1]["predictions"][0]
    assert first["score"] == 0.8 and first["model_version"] == "assay audit"
    assert first["result"][0]["value"] == {"choices": ["dog"]}
    assert first["result"][0]["score"] == 0.8
    assert tasks[2]["predictions"][0]["result"][0]["value"]["choices"] == ["cat", "dog"]
    assert all(set(t["data"]) == {"item", "text"} for t in tasks)


def test_label_config_and_media_urls(tmp_path: Path) -> None:
    config = label_config(["cat", 'a "b"'], modality="image")
    assert '<Image name="image" value="$image"/>' in config
    assert 'toName="image" choice="single"' in config and 'value="a &quot;b&quot;"' in config
    tabular = label_config(["x"], modality="tabular", data_cols=["age", "bmi"], multiple=True)
    assert '<Text name="col_1" value="$bmi"/>' in tabular and 'choice="multiple"' in tabular
    root = tmp_path / "docs"
    (root / "set" / "a b").mkdir(parents=True)
    urls = media_urls(["a b/1.jpg"], root / "set", "local-files", root)
    assert urls == ["/data/local-files/?d=set/a%20b/1.jpg"]
    assert media_urls(["a b/1.jpg"], root, "https://h.org/m") == ["https://h.org/m/a%20b/1.jpg"]
    with pytest.raises(InputError, match="not under Label Studio's document root"):
        media_urls(["1.jpg"], tmp_path, "local-files", root)
    with pytest.raises(InputError, match="needs Label Studio's document root"):
        media_urls(["1.jpg"], root, "local-files", None)
    with pytest.raises(InputError, match="neither 'local-files' nor a base URL"):
        media_urls(["1.jpg"], root, "ftp://x")


def test_no_warning_when_every_record_is_complete(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_annotations(_write(tmp_path / "min.json", min_export()), from_name="label")
