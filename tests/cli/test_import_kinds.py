"""``assay import`` of regression and multi-label data, their diffs and review decisions.

Real data: UCI wine quality (``;``-separated), bike sharing ``day.csv`` and MULAN yeast
(``Class1``..``Class14`` 0/1 columns). Every refusal: exit 2, one line naming the
column and the row, nothing written. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from assay.store.workspace import Workspace

YEAST = ",".join(f"Class{i}" for i in range(1, 15))


@pytest.fixture
def w(tmp_path: Path, cli, db_url: str | None) -> list[str]:
    args = ["init", str(tmp_path / "ws")] + (["--db", db_url] if db_url else [])
    assert cli(*args)[0] == 0
    return ["-w", str(tmp_path / "ws")]


@pytest.fixture
def wine(shared_data: Path) -> Path:
    return shared_data / "regression" / "wine-quality" / "winequality-red.csv"


@pytest.fixture
def yeast(shared_data: Path) -> Path:
    return shared_data / "multilabel" / "yeast" / "yeast.csv"


def _state(w: list[str]) -> tuple[list[str], list[str]]:
    """Versions and object files: what 'nothing written' compares."""
    ws = Workspace(w[1])
    refs = [v.ref for d in ws.datasets() for v in ws.log(d.name)]
    objects = sorted(p.name for p in (Path(w[1]) / ".assay" / "objects").rglob("*.parquet"))
    ws.close()
    return refs, objects


def _one_line_refusal(cli, w: list[str], *args: str) -> str:
    before = _state(w)
    code, _, err = cli(*args, *w)
    assert code == 2, err
    assert err.startswith("error: ") and err.strip().count("\n") == 0, err
    assert _state(w) == before
    return err


def test_import_names_the_kind_and_show_and_log_show_it(cli, w: list[str], wine: Path,
                                                        shared_data: Path) -> None:
    code, out, _ = cli("import", "wine", str(wine), "--label", "quality", "--task", "regression", *w)
    assert code == 0 and "Regression labels in 'quality'" in " ".join(out.split()), out
    code, out, _ = cli("show", "wine", "--json", *w)
    shown = json.loads(out)
    assert shown["task"] == "regression"
    quality = pd.read_csv(wine, sep=";")["quality"]
    assert shown["label_counts"]["count"] == len(quality)
    assert shown["label_counts"]["mean"] == pytest.approx(quality.mean())
    assert shown["label_counts"]["median"] == pytest.approx(quality.median())
    code, out, _ = cli("show", "wine", *w)
    assert code == 0 and "task: regression labels in 'quality'" in out
    code, out, _ = cli("log", "wine", *w)
    assert code == 0 and "wine (regression)" in out
    code, out, _ = cli("log", "wine", "--json", *w)
    assert json.loads(out)[0]["task"] == "regression"
    day = shared_data / "regression" / "bike-sharing" / "day.csv"
    code, out, _ = cli("import", "bike", str(day), "--label", "atemp", "--id", "instant", *w)
    assert code == 0 and "Regression labels in 'atemp'" in " ".join(out.split())  # float: detected
    code, out, _ = cli("import", "classes", str(wine), "--label", "quality", *w)
    assert code == 0 and "Classification labels" in " ".join(out.split())  # integers stay classes


def test_zero_one_columns_and_a_separator_are_label_sets(cli, w: list[str], yeast: Path,
                                                         tmp_path: Path) -> None:
    code, out, _ = cli("import", "yeast", str(yeast), "--label", YEAST, "--json", *w)
    version = json.loads(out)
    assert code == 0 and version["task"] == "multilabel" and version["label_column"] == "labels"
    assert version["label_names"] == YEAST.split(",")
    frame = pd.read_csv(yeast)
    code, out, _ = cli("show", "yeast", "--json", *w)
    counts = json.loads(out)["label_counts"]
    assert counts == {c: int(frame[c].sum()) for c in sorted(YEAST.split(","))}
    piped = tmp_path / "piped.csv"
    names = YEAST.split(",")
    frame.drop(columns=names).assign(
        tags=["|".join(c for c in names if row[c]) for _, row in frame.iterrows()]
    ).to_csv(piped, index=False)
    code, out, _ = cli("import", "piped", str(piped), "--label", "tags", "--label-sep", "|", *w)
    assert code == 0 and "Multilabel labels in 'tags'" in " ".join(out.split())
    ws = Workspace(w[1])
    assert ws.dataset("piped").labels.map(list).tolist() == ws.dataset("yeast").labels.map(
        list).tolist()
    ws.close()


def test_diff_says_relabeled_numbers_and_added_and_removed_tags(cli, w: list[str], wine: Path,
                                                                yeast: Path) -> None:
    assert cli("import", "wine", str(wine), "--label", "quality", "--task", "regression", *w)[0] == 0
    ws = Workspace(w[1])
    frame = ws.dataset("wine").to_pandas()
    frame.loc[0, "quality"] = 5.5
    ws.commit("wine", frame, message="half a point")
    code, out, _ = cli("diff", "wine@v1", "wine@v2", *w)
    assert code == 0 and "relabeled 5.0 -> 5.5" in out
    assert cli("import", "yeast", str(yeast), "--label", YEAST, *w)[0] == 0
    sets = ws.dataset("yeast").to_pandas()
    sets.at[1, "labels"] = ["Class3", "Class14"]  # was Class3, Class4
    ws.commit("yeast", sets, message="retag")
    code, out, _ = cli("diff", "yeast@v1", "yeast@v2", "--json", *w)
    delta = json.loads(out)
    assert delta["label_changes"] == ["added tag Class14; removed tag Class4"]
    assert delta["relabeled"] == [{"item_id": 1, "old_label": ["Class3", "Class4"],
                                   "new_label": ["Class14", "Class3"]}]
    ws.close()


def test_review_decides_a_number_and_edits_a_set(cli, w: list[str], wine: Path, yeast: Path) -> None:
    assert cli("import", "wine", str(wine), "--label", "quality", "--task", "regression", *w)[0] == 0
    assert cli("import", "yeast", str(yeast), "--label", YEAST, *w)[0] == 0
    ws = Workspace(w[1])
    ws.review.add("wine", pd.DataFrame({
        "item_id": [0, 1], "reason": ["residual"] * 2, "score": [0.1, 0.2],
        "source": ["label_issue"] * 2, "given_label": [5.0, 5.0], "suggested_label": [5.6, 4.2],
    }))
    ws.review.add("yeast", pd.DataFrame({
        "item_id": [1], "reason": ["set"], "score": [0.1], "source": ["label_issue"],
        "given_label": [["Class3", "Class4"]], "suggested_label": [["Class3"]],
    }))
    wine_ids, yeast_id = [1, 2], 3
    code, out, _ = cli("review", "decide", str(wine_ids[0]), "--accept", "--json", *w)
    assert code == 0 and json.loads(out)["decision_label"] == 5.6
    assert cli("review", "decide", str(wine_ids[1]), "--relabel", "4.25", *w)[0] == 0
    code, out, _ = cli("review", "decide", str(yeast_id), "--add-tag", "Class14",
                       "--remove-tag", "Class4", "--json", *w)
    assert code == 0 and json.loads(out)["decision_label"] == ["Class14", "Class3"]
    assert cli("review", "apply", "wine", *w)[0] == 0
    assert cli("review", "apply", "yeast", *w)[0] == 0
    wine_v2, yeast_v2 = ws.dataset("wine@v2"), ws.dataset("yeast@v2")
    assert wine_v2.label_type == pa.float64() and wine_v2.labels.iloc[:2].tolist() == [5.6, 4.25]
    assert yeast_v2.label_type == pa.list_(pa.string())
    assert list(yeast_v2.labels.iloc[1]) == ["Class14", "Class3"]
    assert yeast_v2.summary["relabeled"] == 1 and wine_v2.summary["relabeled"] == 2
    ws.close()


# -- bad input ----------------------------------------------------------------------------


def test_bad_regression_labels_are_one_line_and_write_nothing(cli, w: list[str], wine: Path,
                                                              tmp_path: Path) -> None:
    frame = pd.read_csv(wine, sep=";")
    nan = tmp_path / "nan.csv"
    frame.assign(quality=frame["quality"].astype(float).where(frame.index != 9)).to_csv(
        nan, index=False)
    # a missing number is an item awaiting a label (issue 16), not bad input
    code, out, err = cli("import", "nan", str(nan), "--label", "quality", *w)
    assert code == 0, err
    assert "1 of 1599 items await a label" in " ".join(out.split())
    inf = tmp_path / "inf.csv"
    frame.assign(quality=frame["quality"].astype(float).where(frame.index != 2, float("inf"))
                 ).to_csv(inf, index=False)
    err = _one_line_refusal(cli, w, "import", "w", str(inf), "--label", "quality")
    assert "missing, NaN or infinite on 1 row: line 4" in err
    words = tmp_path / "words.csv"
    frame.assign(quality=frame["quality"].astype(str).where(frame.index != 5, "good")).to_csv(
        words, index=False)
    err = _one_line_refusal(cli, w, "import", "w", str(words), "--label", "quality",
                            "--task", "regression")
    assert "holds text (line 7 has 'good'), not numbers" in err
    assert cli("import", "wine", str(wine), "--label", "quality", "--task", "regression", *w)[0] == 0
    err = _one_line_refusal(cli, w, "import", "wine", str(wine), "--task", "multilabel")
    assert "dataset 'wine' is regression (fixed at its first import)" in err


def test_bad_label_sets_are_one_line_and_write_nothing(cli, w: list[str], yeast: Path,
                                                       tmp_path: Path) -> None:
    frame = pd.read_csv(yeast)
    two = tmp_path / "two.csv"
    frame.assign(Class7=frame["Class7"].where(frame.index != 20, 2)).to_csv(two, index=False)
    err = _one_line_refusal(cli, w, "import", "y", str(two), "--label", YEAST)
    assert "label column 'Class7' holds 2 at line 22" in err
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"x": 1, "y": ["a"]}\n{"x": 2, "y": ["a", "b"]}\n{"x": 3, "y": "b"}\n')
    err = _one_line_refusal(cli, w, "import", "m", str(mixed), "--label", "y")
    assert "column 'y' mixes kinds of value (lists, then text at line 3)" in err
    numbers = tmp_path / "numbers_and_lists.jsonl"
    numbers.write_text('{"x": 1, "y": 2.5}\n{"x": 2, "y": [1, 2]}\n')
    err = _one_line_refusal(cli, w, "import", "m", str(numbers), "--label", "y")
    assert "column 'y' mixes kinds of value (numbers, then lists at line 2)" in err
    scalar = tmp_path / "scalars.csv"
    scalar.write_text('x,y\n1,"[""a"", ""b""]"\n2,b\n')
    err = _one_line_refusal(cli, w, "import", "m", str(scalar), "--label", "y")
    assert "mixes lists and single values (line 2 has '[\"a\", \"b\"]', line 3 has 'b')" in err
    err = _one_line_refusal(cli, w, "import", "m", str(tmp_path / "two.csv"), "--label", "Att1",
                            "--task", "multilabel")
    assert "the label column 'Att1' holds double, not lists of labels" in err
    assert cli("import", "yeast", str(yeast), "--label", YEAST, *w)[0] == 0
    unknown = tmp_path / "unknown.jsonl"
    ws = Workspace(w[1])
    rows = ws.dataset("yeast").to_pandas().head(5)
    ws.close()
    rows.at[3, "labels"] = ["Class1", "Class15"]
    rows.to_json(unknown, orient="records", lines=True)
    err = _one_line_refusal(cli, w, "import", "yeast", str(unknown))
    assert "names 'Class15' at line 4, which is not in dataset 'yeast''s label list" in err


def test_review_refuses_bad_numbers_and_unknown_tags(cli, w: list[str], wine: Path,
                                                     yeast: Path) -> None:
    assert cli("import", "wine", str(wine), "--label", "quality", "--task", "regression", *w)[0] == 0
    assert cli("import", "yeast", str(yeast), "--label", YEAST, *w)[0] == 0
    ws = Workspace(w[1])
    ws.review.add("wine", pd.DataFrame({"item_id": [0], "reason": ["r"], "score": [0.1],
                                        "given_label": [5.0]}), source="label_issue")
    ws.review.add("yeast", pd.DataFrame({"item_id": [0], "reason": ["r"], "score": [0.1],
                                         "given_label": [["Class1"]]}), source="label_issue")
    ws.close()
    for args, message in [
        (("1", "--relabel", "nan"), "label 'nan' is not a finite number"),
        (("1", "--relabel", "inf"), "label 'inf' is not a finite number"),
        (("1", "--relabel", "tall"), "label 'tall' is not a number"),
        (("1", "--accept"), "review entry #1 has no suggested label; give --relabel LABEL."),
        (("1", "--accept", "--relabel", "4"), "exactly one way: --relabel LABEL, --accept"),
        (("1", "--add-tag", "x"), "adding and removing labels edits a set of labels; this "
                                  "dataset's labels are regression"),
        (("2", "--add-tag", "Class99"), "'Class99' is not a class of yeast"),
        (("2", "--add-tag", "Class2", "--remove-tag", "Class2"), "Class2 would be both added and removed"),
    ]:
        err = _one_line_refusal(cli, w, "review", "decide", *args)
        assert message in err, err
    ws = Workspace(w[1])
    assert ws.review.count(status="open") == 2
    ws.close()


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_an_export_imports_back_as_the_same_kind(cli, w: list[str], yeast: Path, tmp_path: Path,
                                                 ext: str) -> None:
    assert cli("import", "yeast", str(yeast), "--label", YEAST, *w)[0] == 0
    target = tmp_path / f"yeast.{ext}"
    assert cli("export", "yeast", str(target), *w)[0] == 0
    code, out, _ = cli("import", "again", str(target), "--label", "labels", "--json", *w)
    assert code == 0 and json.loads(out)["task"] == "multilabel"
    code, out, _ = cli("import", "yeast", str(target), *w)  # a new version of the same sets
    assert code == 0 and "0 relabeled" in out
    ws = Workspace(w[1])
    assert ws.dataset("again").labels.map(list).tolist() == ws.dataset("yeast").labels.map(
        list).tolist()
    ws.close()
