"""The label-book store: append-only versions, compare-and-set saves, checked definitions."""

from __future__ import annotations

import pandas as pd
import pytest

from assay.exceptions import ConflictError, InputError
from assay.store.labelbook import check_classes, parse_labelbook
from assay.store.workspace import Workspace


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.import_dataset("pets", pd.DataFrame({"x": [1, 2], "label": ["cat", "dog"]}),
                             label="label")
    return workspace


def test_save_with_a_stale_base_is_refused_and_saves_nothing(ws: Workspace) -> None:
    first = ws.labelbook.save("pets", {"cat": {"description": "a cat"}}, message="v1", base=0)
    assert first.number == 1
    with pytest.raises(ConflictError, match="you started from version 0"):
        ws.labelbook.save("pets", {"cat": {"description": "other"}}, message="late", base=0)
    second = ws.labelbook.save("pets", {"cat": {"description": "a small cat"}}, message="v2",
                               base=1, author="rita")
    assert (second.number, second.author) == (2, "rita")
    with pytest.raises(ConflictError, match="no version 7"):
        ws.labelbook.save("pets", {"cat": {}}, message="x", base=7)
    assert [b.message for b in ws.labelbook.versions("pets")] == ["v1", "v2"]
    assert ws.labelbook.get("pets", 1).classes == {"cat": {"description": "a cat"}}
    # without a base the next version is added as before
    assert ws.labelbook.save("pets", {"dog": {}}, message="v3").number == 3


def test_check_classes_brings_definitions_to_one_form() -> None:
    checked = check_classes({"cat": "a cat", 3: None,
                             "dog": {"rules": ["r"], "examples": {"positive": [1, "b"]}}}, "book")
    assert checked == {
        "cat": {"description": "a cat", "rules": [], "examples": {}},
        "3": {"description": "", "rules": [], "examples": {}},
        "dog": {"description": "", "rules": ["r"], "examples": {"positive": ["1", "b"]}},
    }
    assert parse_labelbook("classes:\n  cat: a cat\n", "b.yaml")["cat"]["description"] == "a cat"
    for bad, message in [
        ({"cat": {"colour": "red"}}, "unknown key"),
        ({"cat": {"rules": "one rule"}}, "rules must be a list"),
        ({"cat": {"examples": {"positive": "a1"}}}, "positive must be a list"),
        ({"cat": {"examples": {"typical": ["a1"]}}}, "example kinds must be"),
        ({"cat": ["a list"]}, "a definition is a mapping"),
        ({"cat": {"examples": {"positive": 5}}}, r"positive must be a list, not 5; write positive: \[5\]"),
        ({"cat": {"examples": {"negative": 2.5}}}, "negative must be a list, not 2.5"),
        ({"cat": {"examples": {"borderline": True}}}, "borderline must be a list, not True"),
        ({"cat": {"rules": 5}}, "rules must be a list, not 5"),
        ({"cat": {"examples": 5}}, "examples must be a mapping of borderline, negative"),
        ({"cat": {"examples": {"positive": [[1, 2]]}}}, "positive must list item ids"),
        (["cat"], "'classes:' mapping"),
    ]:
        with pytest.raises(InputError, match=message):
            check_classes(bad, "book.yaml")


def test_an_unquoted_rule_with_a_colon_is_refused_with_a_quoting_hint() -> None:
    text = "classes:\n  cat:\n    rules:\n      - Unreadable: remove it\n"
    with pytest.raises(InputError, match=r'quote the rule: - "Unreadable: remove it"'):
        parse_labelbook(text, "book.yaml")
    quoted = text.replace("- Unreadable: remove it", '- "Unreadable: remove it"')
    assert parse_labelbook(quoted, "book.yaml")["cat"]["rules"] == ["Unreadable: remove it"]
    with pytest.raises(InputError, match="description must be text"):
        parse_labelbook("classes:\n  cat:\n    description: {a: b}\n", "book.yaml")
