"""The slice language: the same rows as pandas' query, and nothing but comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import InputError
from assay.train.augment._slice import MAX_LENGTH, evaluate_slice


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    out = pd.DataFrame(
        {
            "ink": rng.choice(["light", "heavy", "mid"], n),
            "label": rng.integers(0, 10, n),
            "score": rng.normal(size=n),
            "other": rng.normal(size=n),
            "flag": rng.random(n) < 0.3,
            "pixel 3": rng.integers(0, 16, n),
        },
        index=pd.Index([f"r{i}" for i in range(n)]),
    )
    out.loc[out.index[:5], "score"] = np.nan
    return out


@pytest.mark.parametrize(
    "predicate",
    [
        "ink == 'light'",
        "ink != \"light\"",
        "label < 5",
        "label <= 5 and score > 0",
        "label >= 7 or score < -1.5",
        "not (ink == 'mid' or label > 3)",
        "label in [1, 3, 5]",
        "ink not in ('light', 'mid')",
        "0 < label <= 4",
        "score > other",
        "score > -0.5",
        "flag",
        "not flag and label == 3",
        "flag == True",
        "(ink == 'light') & (label < 5) | ~(score > 1)",
        "`pixel 3` >= 8 and ink == 'heavy'",
    ],
)
def test_same_rows_as_pandas_query(frame: pd.DataFrame, predicate: str) -> None:
    got = evaluate_slice(frame, predicate)
    expected = frame.query(predicate, engine="python").index
    assert got.dtype == bool and got.shape == (len(frame),)
    assert list(frame.index[got]) == list(expected)


@pytest.mark.parametrize(
    ("predicate", "message"),
    [
        ("@frame.to_csv('out.csv')", "does not parse (SyntaxError"),
        ("ink.to_csv('out.csv') == 1", "uses a function call (ink.to_csv('out.csv'))"),
        ("ink.str.len() > 3", "uses a function call (ink.str.len())"),
        ("__import__('os').system('id')", "uses a function call (__import__('os').system('id'))"),
        ("label == __builtins__", "name '__builtins__' is not defined"),
        ("ink.values == 1", "uses an attribute (ink.values)"),
        ("label[0] == 1", "uses indexing (label[0])"),
        ("score + other > 1", "uses arithmetic (score + other)"),
        ("(lambda: 1)() == 1", "uses a function call"),
        ("label == (x := 3)", "uses an assignment (x := 3)"),
        ("colour == 'red'", "name 'colour' is not defined"),
        ("`no such` == 1", "name 'no such' is not defined"),
        ("label", "not a true/false condition: column 'label' holds int64"),
        ("'light'", "not a true/false condition: 'light' is a value alone"),
        ("ink = 'light'", "is an assignment, not a true/false condition"),
        ("ink ==", "SyntaxError"),
        ("1 == 1", "compares two values"),
        ("label in label", "needs a list after 'in'"),
        ("label in [1, score]", "uses an expression (score)"),
        ("ink > 3", "cannot compare ink with 3"),
        ("ink is None", "uses 'is'"),
        ("`pixel 3 == 1", "never closes it"),
        ("", "is empty"),
    ],
)
def test_refused_with_the_offending_part(frame: pd.DataFrame, predicate: str,
                                         message: str) -> None:
    with pytest.raises(InputError, match=None) as caught:
        evaluate_slice(frame, predicate, how="HOW.")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_never_runs_code(frame: pd.DataFrame, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for predicate in (
        "@frame.to_csv('x.csv')",
        "ink == 'a' or open('x.csv', 'w')",
        "[f for f in ().__class__.__base__.__subclasses__()] == 1",
        "label == 1 and label.to_csv('x.csv')",
    ):
        with pytest.raises(InputError):
            evaluate_slice(frame, predicate)
    assert list(tmp_path.iterdir()) == []


def test_quotes_and_backticks_inside_strings(frame: pd.DataFrame) -> None:
    frame = frame.assign(note=["it's `odd`"] * 3 + ["plain"] * (len(frame) - 3))
    assert evaluate_slice(frame, "note == \"it's `odd`\"").sum() == 3
    assert evaluate_slice(frame, "note == 'it\\'s `odd`'").sum() == 3


def test_size_limits(frame: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="over the limit"):
        evaluate_slice(frame, "label == 1 or " * (MAX_LENGTH // 10) + "label == 2")
    deep = "(" * 4000 + "label == 1" + ")" * 4000
    with pytest.raises(InputError, match="does not parse"):
        evaluate_slice(frame, deep)
