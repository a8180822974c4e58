"""Label books of numeric labels (units, range, rounding) and label sets (requires,
excludes), and one label checked against a version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from assay.cli.main import main
from assay.exceptions import InputError
from assay.store.labelbook import (
    check_classes,
    check_label_against_book,
    dumps_yaml,
    parse_labelbook,
    parse_labelbook_content,
)
from assay.store.workspace import Workspace
from assay.workflows.labelbook import save_edited_text, start_edit

SCORE_BOOK = """\
units: points
range: [0, 10]
rounding: 0.5
"""

TAG_BOOK = """\
classes:
  cat: a cat
  kitten:
    description: a young cat
    requires: [cat]
    excludes: dog
  dog: a dog
"""


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.import_dataset("scores", pd.DataFrame({"x": [1, 2, 3],
                                                     "score": [2.5, 7.0, 9.5]}), label="score")
    workspace.import_dataset("pets", pd.DataFrame(
        {"x": [1, 2], "tags": [["cat", "kitten"], ["dog"]]}), label="tags")
    return workspace


def test_numeric_conventions_parse_to_one_form() -> None:
    classes, numeric = parse_labelbook_content(SCORE_BOOK, "b.yaml")
    assert classes == {}
    assert numeric == {"units": "points", "range": [0, 10], "rounding": {"step": 0.5}}
    _, numeric = parse_labelbook_content("range: [1.5, 4]\nrounding: {decimals: 1}\n", "b")
    assert numeric == {"range": [1.5, 4], "rounding": {"decimals": 1}}
    # a classification book has no conventions, and parse_labelbook keeps its result
    assert parse_labelbook_content("classes:\n  cat: a cat\n", "b")[1] == {}
    assert parse_labelbook(SCORE_BOOK, "b") == {}


@pytest.mark.parametrize(("text", "message"), [
    ("range: [10, 0]\n", r"range \[10, 0\] is empty"),
    ("range: [0]\n", r"range must be \[min, max\]"),
    ("range: [0, .inf]\n", r"range must be \[min, max\]"),
    ("range: [a, b]\n", r"range must be \[min, max\]"),
    ("rounding: -0.5\n", "the rounding step must be a number > 0"),
    ("rounding: {decimals: 1.5}\n", "rounding decimals must be an int from 0 to 12"),
    ("rounding: {step: 1, decimals: 1}\n", "is not a step or decimals"),
    ("rounding: half\n", "is not a step or decimals"),
    ("units: [a, b]\n", "units must be text"),
])
def test_bad_numeric_conventions_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_labelbook_content(text, "book.yaml")


def test_cooccurrence_rules_are_checked_and_stored_only_when_given() -> None:
    classes = parse_labelbook(TAG_BOOK, "b")
    assert classes["kitten"]["requires"] == ["cat"]
    assert classes["kitten"]["excludes"] == ["dog"]
    assert "requires" not in classes["cat"] and "excludes" not in classes["dog"]
    for bad, message in [
        ({"a": {"requires": ["b"]}}, "requires names 'b', which is not a class"),
        ({"a": {"excludes": ["a"]}}, "excludes names the class itself"),
        ({"a": {"requires": [{"b": 1}]}, "b": {}}, "requires must list class names"),
        # a requires b, b requires c, a excludes c: a can never be given
        ({"a": {"requires": ["b"], "excludes": ["c"]}, "b": {"requires": ["c"]}, "c": {}},
         "class 'a' can never be given"),
        ({"a": {"requires": ["b", "c"]}, "b": {"excludes": ["c"]}, "c": {}},
         "'b' excludes 'c'"),
    ]:
        with pytest.raises(InputError, match=message):
            check_classes(bad, "book.yaml")


def test_store_round_trip_yaml_and_diff(ws: Workspace, tmp_path: Path) -> None:
    file = tmp_path / "book.yaml"
    file.write_text(SCORE_BOOK)
    v1 = ws.labelbook.save_file("scores", file)
    assert v1.numeric == {"units": "points", "range": [0, 10], "rounding": {"step": 0.5}}
    assert ws.labelbook.get("scores").to_dict()["numeric"] == v1.numeric
    assert parse_labelbook_content(dumps_yaml(v1), "again")[1] == v1.numeric
    v2 = ws.labelbook.save("scores", {}, message="finer", numeric={**v1.numeric,
                                                                    "rounding": 0.1})
    assert v2.numeric["rounding"] == {"step": 0.1}
    delta = ws.labelbook.diff("scores", 1, 2)
    assert delta["numeric"] == {"rounding": {"old": {"step": 0.5}, "new": {"step": 0.1}}}
    with pytest.raises(InputError, match="range"):
        ws.labelbook.save("scores", {}, message="bad", numeric={"range": [3, 1]})
    with pytest.raises(InputError, match="not a class"):
        ws.labelbook.save("pets", {"kitten": {"requires": ["cat"]}}, message="bad")
    # a classification book's stored form and JSON are unchanged
    ws.labelbook.save("pets", {"cat": {"description": "a cat"}}, message="plain")
    book = ws.labelbook.get("pets")
    assert book.classes == {"cat": {"description": "a cat"}} and "numeric" not in book.to_dict()
    assert "numeric" not in ws.labelbook.diff("scores", 2, 2)


def test_check_label_against_book_numbers(ws: Workspace, tmp_path: Path) -> None:
    file = tmp_path / "book.yaml"
    file.write_text(SCORE_BOOK)
    book = ws.labelbook.save_file("scores", file)
    for ok in (0, 10, 7.5, np.float64(3.0), np.int64(4), 0.5 + 1e-12):
        check_label_against_book(book, ok, what="relabel")
    with pytest.raises(InputError) as err:
        check_label_against_book(book, 12.5, what="relabel")
    assert str(err.value).startswith(
        "relabel 12.5 is outside the label book's range 0-10 points (labelbook v1); ")
    with pytest.raises(InputError, match=r"rounding \(steps of 0.5\) \(labelbook v1\); "
                                         r"give 3.5\."):
        check_label_against_book(book, 3.4)
    decimals = ws.labelbook.save("scores", {}, message="d",
                                 numeric={"rounding": {"decimals": 1}})
    check_label_against_book(decimals, 3.4)
    check_label_against_book(decimals, 123.0)  # no range in this version
    with pytest.raises(InputError, match=r"label 3.45 does not follow .*1 decimal\) "
                                         r"\(labelbook v2\)"):
        check_label_against_book(decimals, 3.45)
    check_label_against_book(None, 99.0)  # no label book: nothing to check


def test_check_label_against_book_sets(ws: Workspace) -> None:
    book = ws.labelbook.save("pets", parse_labelbook(TAG_BOOK, "b"), message="tags")
    for ok in (["cat"], ["cat", "kitten"], ("dog",), [], np.array(["cat", "kitten"])):
        check_label_against_book(book, ok)
    with pytest.raises(InputError, match=r"relabel \[kitten\] has 'kitten' without 'cat'"):
        check_label_against_book(book, ["kitten"], what="relabel")
    with pytest.raises(InputError, match=r"has 'kitten' together with 'dog', which the "
                                         r"label book excludes \(labelbook v1\)"):
        check_label_against_book(book, ["cat", "dog", "kitten"])
    with pytest.raises(InputError, match=r"names 'fox', not a label of the label book"):
        check_label_against_book(book, {"cat", "fox"})
    # one class per item: not checked here
    check_label_against_book(book, "fox")


def test_edit_in_text_keeps_the_conventions_and_starts_from_the_data(ws: Workspace) -> None:
    start = start_edit(ws, "scores")
    assert start.base == 0
    skeleton = yaml.safe_load(start.text)
    assert skeleton["range"] == [2.5, 9.5] and skeleton["classes"] == {}
    book = save_edited_text(ws, "scores", start, start.text.replace("units: ''", "units: pt"))
    assert book.numeric == {"units": "pt", "range": [2.5, 9.5]}
    again = start_edit(ws, "scores")
    assert yaml.safe_load(again.text)["units"] == "pt"
    tags = yaml.safe_load(start_edit(ws, "pets").text)["classes"]
    assert sorted(tags) == ["cat", "dog", "kitten"]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_show_renders_the_new_fields(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ["-w", ws.location]
    score, tags = tmp_path / "score.yaml", tmp_path / "tags.yaml"
    score.write_text(SCORE_BOOK)
    tags.write_text(TAG_BOOK)
    assert _cli(capsys, "labelbook", "edit", "scores", "--file", str(score), *w)[0] == 0
    code, out, _ = _cli(capsys, "labelbook", "show", "scores", *w)
    assert code == 0
    assert "units: points" in out and "range: 0 to 10 points" in out
    assert "rounding: steps of 0.5" in out
    code, out, _ = _cli(capsys, "labelbook", "show", "scores", "--json", *w)
    assert json.loads(out)["numeric"]["range"] == [0, 10]
    code, out, _ = _cli(capsys, "labelbook", "show", "scores", "--markdown", *w)
    assert "## Values" in out and "- range: 0 to 10 points" in out
    assert _cli(capsys, "labelbook", "edit", "pets", "--file", str(tags), *w)[0] == 0
    code, out, _ = _cli(capsys, "labelbook", "show", "pets", *w)
    assert code == 0 and "requires" in out and "excludes" in out
    score.write_text("range: [5, 1]\n")
    code, _, err = _cli(capsys, "labelbook", "edit", "scores", "--file", str(score), *w)
    assert code == 2 and "is empty" in err
    score.write_text(SCORE_BOOK.replace("0.5", "0.25"))
    assert _cli(capsys, "labelbook", "edit", "scores", "--file", str(score), *w)[0] == 0
    code, out, _ = _cli(capsys, "labelbook", "diff", "scores", "1", "2", *w)
    assert code == 0 and "rounding: {'step': 0.5} -> {'step': 0.25}" in out
