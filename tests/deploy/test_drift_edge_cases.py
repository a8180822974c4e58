"""Drift edge cases found by QA: constant columns, numbers sent as text, missing columns."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assay.deploy import drift, profile
from assay.exceptions import InputError


def _frame(n: int, seed: int, **columns: Any) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = {f"f{i}": rng.normal(size=n) for i in range(4)}
    return pd.DataFrame({**base, **columns})


# --- 1. a constant reference column --------------------------------------------------


def test_constant_reference_has_a_bounded_effect_size() -> None:
    rng = np.random.default_rng(20)
    ref = _frame(2_000, 20, k=np.full(2_000, 0.1))  # computed std ~1e-17, not 0
    assert 0 < profile(ref).columns["k"].std < 1e-12  # the case that gave ~1e15
    moved = drift(ref, _frame(1_000, 21, k=rng.normal(0.1, 1.0, 1_000))).columns.loc["k"]
    assert moved["method"] == "constant+fisher" and moved["drifted"]
    assert 0.5 < moved["effect_size"] <= 2.0
    assert "constant reference (0.1)" in moved["finding"]
    other = drift(ref, _frame(1_000, 22, k=np.full(1_000, 0.25))).columns.loc["k"]
    assert other["effect_size"] == pytest.approx(2.0) and other["drifted"]
    assert "now constant at 0.25" in other["finding"]


def test_constant_at_the_same_value_is_not_drift() -> None:
    ref = _frame(2_000, 23, k=np.full(2_000, 0.1))
    report = drift(ref, _frame(1_000, 24, k=np.full(1_000, 0.1)))
    row = report.columns.loc["k"]
    assert row["effect_size"] == 0.0 and row["p_value"] == 1.0 and not row["drifted"]
    assert row["finding"] == "" and not report.drifted


@pytest.mark.parametrize(("changed", "expected"), [(1, False), (100, True)])
def test_a_constant_column_that_starts_to_vary(changed: int, expected: bool) -> None:
    """1 changed value in 2,000 is noise; 5% of the values leaving the constant is drift."""
    ref = _frame(5_000, 25, k=np.full(5_000, 3.0))
    values = np.full(2_000, 3.0)
    values[:changed] = np.random.default_rng(26).normal(10.0, 2.0, changed)
    row = drift(ref, _frame(2_000, 27, k=values)).columns.loc["k"]
    share = changed / 2_000
    assert row["statistic"] == pytest.approx(share)
    # a share p moved off the constant gives 2 sqrt(p / (2 - p)) whatever the distance
    assert row["effect_size"] == pytest.approx(2 * np.sqrt(share / (2 - share)), rel=0.05)
    p_value = stats.fisher_exact([[0, 5_000], [changed, 2_000 - changed]]).pvalue
    assert row["p_value"] == pytest.approx(p_value)
    assert bool(row["drifted"]) is expected


def test_constant_reference_from_a_stored_profile_gives_the_same_row() -> None:
    ref = _frame(1_000, 28, k=np.full(1_000, -7.5))
    cur = _frame(800, 29, k=np.r_[np.full(700, -7.5), np.full(100, 1.0)])
    stored = profile(ref).to_dict()
    from assay.deploy import Profile

    again = Profile.from_dict(json.loads(json.dumps(stored)))
    pd.testing.assert_frame_equal(drift(ref, cur).columns, drift(again, cur).columns)


# --- 2. numbers that arrive as text --------------------------------------------------


def test_unparseable_text_is_a_type_change_not_missing_values() -> None:
    ref = _frame(1_000, 30, x=np.random.default_rng(30).normal(size=1_000))
    cur = _frame(400, 31, x=["abc"] * 300 + ["def"] * 50 + [None] * 50)
    report = drift(ref, cur)
    row = report.columns.loc["x"]
    assert row["schema"] == "type changed: number -> string" and row["schema_drift"]
    assert row["drifted"] and row["n_unparsed"] == 350
    assert row["missing_cur"] == pytest.approx(50 / 400)  # only the real nulls
    assert "all values missing" not in row["finding"]
    assert "350 do not parse as numbers (e.g. 'abc', 'def')" in row["finding"]
    assert row["finding"].startswith("type changed: number in the reference, text")
    assert report.drifted and report.schema_changes["type_changed"] == ["x"]


def test_partly_parseable_text_is_tested_on_the_numbers() -> None:
    rng = np.random.default_rng(32)
    ref = _frame(2_000, 32, x=rng.normal(size=2_000))
    text = [f"{v:.6f}" for v in rng.normal(size=1_900)] + ["oops"] * 100
    row = drift(ref, _frame(2_000, 33, x=text)).columns.loc["x"]
    assert row["n_unparsed"] == 100 and row["n_cur"] == 2_000
    assert row["method"] == "ks+wasserstein" and not row["distribution_drifted"]
    assert row["drifted"]  # the type change alone


def test_text_in_a_categorical_or_float_object_column_is_not_a_type_change() -> None:
    rng = np.random.default_rng(34)
    ref = pd.DataFrame({"x": rng.normal(size=500), "c": rng.integers(0, 3, 500)})
    cur = pd.DataFrame({"x": pd.Series(list(rng.normal(size=300)), dtype=object),
                        "c": rng.integers(0, 3, 300).astype(str)})
    table: Any = drift(ref, cur).columns
    assert (table["schema"] == "").all() and not table["drifted"].any()


# --- 3. missing and new columns ------------------------------------------------------


def test_one_missing_column_makes_the_dataset_drift() -> None:
    ref = _frame(1_000, 40, g=np.random.default_rng(40).normal(size=1_000))
    cur = _frame(1_000, 41)  # f0..f3 present, g missing: 1 of 5 columns < drift_share
    report = drift(ref, cur)
    assert report.drifted_columns == ["g"] and report.drifted
    assert report.params["share_drifted"] == pytest.approx(0.2)
    assert "schema drift" in report.rule
    assert report.schema_changes["missing"] == ["g"]
    assert "schema: missing column(s): g" in report.summary()
    assert json.loads(json.dumps(report.to_dict()))["schema"]["missing"] == ["g"]


def test_new_columns_are_reported_but_not_drift() -> None:
    ref = _frame(1_000, 42)
    cur = _frame(1_000, 43, brand_new=np.arange(1_000.0))
    report = drift(ref, cur)
    assert not report.drifted and report.drifted_columns == []
    assert report.params["share_drifted"] == 0.0  # new columns do not dilute the share
    assert report.schema_changes["new"] == ["brand_new"]
    assert "new column(s), not tested: brand_new" in report.summary()
    assert "new column(s), not tested" in report.to_html()


def test_columns_missing_from_a_reference_frame_are_named_with_its_columns() -> None:
    ref = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0)})
    with pytest.raises(InputError, match=r"no column 'zz'; its columns are: a, b\."):
        drift(ref, ref, columns=["a", "zz"])
