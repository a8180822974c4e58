"""Data drift: real-data correctness (Elec2), the two-gate rule, bad input, the report."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.deploy import DriftReport, drift, profile, render_summary
from assay.exceptions import InputError


def _halves(df: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    perm = np.random.default_rng(seed).permutation(len(df))
    half = len(df) // 2
    return df.iloc[perm[:half]].reset_index(drop=True), df.iloc[perm[half:]].reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_halves_of_elec_flag_nothing(elec: pd.DataFrame, seed: int) -> None:
    ref, cur = _halves(elec, seed)
    report = drift(ref, cur)
    assert report.drifted_columns == []
    assert not report.drifted
    assert report.columns.loc["class", "type"] == "categorical"


def test_planted_shifts_flag_exactly_those_columns(elec: pd.DataFrame) -> None:
    ref, cur = _halves(elec)
    rng = np.random.default_rng(7)
    cur["nswprice"] = cur["nswprice"] + 0.3 * elec["nswprice"].std()
    centre = cur["vicdemand"].mean()
    cur["vicdemand"] = centre + 1.5 * (cur["vicdemand"] - centre)
    flip = (cur["class"] == 0).to_numpy() & (rng.random(len(cur)) < 0.4)
    cur.loc[flip, "class"] = 1
    report = drift(ref, cur)
    assert sorted(report.drifted_columns) == ["class", "nswprice", "vicdemand"]
    assert report.columns.loc["nswprice", "effect_size"] == pytest.approx(0.3, abs=0.03)
    assert not report.drifted  # 3 of 7 columns < drift_share 0.5


def test_tiny_shift_on_200k_rows_is_not_flagged(elec: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    ref = elec.iloc[rng.integers(0, len(elec), 200_000)].reset_index(drop=True)
    cur = elec.iloc[rng.integers(0, len(elec), 200_000)].reset_index(drop=True)
    cur["nswdemand"] = cur["nswdemand"] + 0.01 * elec["nswdemand"].std()
    report = drift(ref, cur)
    assert report.drifted_columns == []
    effect: Any = report.columns.loc["nswdemand", "effect_size"]
    assert effect < 0.03


def test_significant_but_trivial_shift_is_not_flagged() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(size=200_000)})
    cur = pd.DataFrame({"x": rng.normal(0.03, 1, size=200_000)})
    row = drift(ref, cur).columns.loc["x"]
    assert row["p_adjusted"] < 1e-4  # statistically significant ...
    assert row["effect_size"] < row["threshold"]  # ... but practically trivial
    assert not row["drifted"]


def test_stored_profile_gives_the_same_verdict_as_the_frame(elec: pd.DataFrame) -> None:
    ref, cur = _halves(elec, 5)
    cur["period"] = cur["period"] * 0.5
    a, b = drift(ref, cur), drift(profile(ref), cur)
    pd.testing.assert_frame_equal(a.columns, b.columns)
    assert a.drifted_columns == ["period"]


def test_missing_rate_change_is_flagged() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=4_000)})
    x = rng.normal(size=4_000)
    x[rng.random(4_000) < 0.2] = np.nan
    row = drift(ref, pd.DataFrame({"x": x})).columns.loc["x"]
    assert row["missing_drifted"] and row["drifted"] and not row["distribution_drifted"]
    assert row["missing_cur"] == pytest.approx(np.isnan(x).mean())


def test_schema_problems_are_reported_not_raised() -> None:
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"a": rng.normal(size=500), "b": rng.integers(0, 3, 500),
                        "c": rng.normal(size=500)})
    cur = pd.DataFrame({"a": rng.normal(size=300).astype(str),  # numbers sent as strings
                        "b": rng.integers(0, 3, 300).astype(str),
                        "extra": np.arange(300)})
    report = drift(ref, cur)
    table: Any = report.columns
    assert table.loc["c", "drifted"] and "missing from the current batch" in table.loc["c",
                                                                                   "finding"]
    assert not table.loc["extra", "drifted"] and "not in the reference" in table.loc["extra",
                                                                                    "finding"]
    # numbers sent as strings: a type change (schema drift), though the values match
    assert table.loc["a", "schema"] == "type changed: number -> string"
    assert table.loc["a", "drifted"] and not table.loc["a", "distribution_drifted"]
    assert "all parse as numbers" in table.loc["a", "finding"]
    assert not table.loc["b", "drifted"]  # "1" and 1 are the same category
    assert table.loc["b", "unseen"] == ""
    assert report.schema_changes == {"missing": ["c"], "type_changed": ["a"], "other": [],
                                     "new": ["extra"]}


def test_null_markers_in_strings_are_missing_values() -> None:
    ref = pd.DataFrame({"a": np.arange(1_000, dtype=float)})
    cur = pd.DataFrame({"a": ["n/a"] * 150 + ["NULL"] * 50 + [str(v) for v in range(800)]})
    row = drift(ref, cur).columns.loc["a"]
    assert row["missing_cur"] == pytest.approx(0.2) and row["missing_drifted"]
    assert row["n_unparsed"] == 0 and "800 of 1000 values are strings" in row["finding"]


def test_all_null_nan_inf_one_row_and_unseen_categories() -> None:
    rng = np.random.default_rng(8)
    ref = pd.DataFrame({"x": rng.normal(size=1_000), "y": rng.normal(size=1_000),
                        "cat": rng.choice(["a", "b"], 1_000)})
    cur = pd.DataFrame({"x": [np.nan] * 100,
                        "y": np.r_[rng.normal(size=90), [np.inf] * 5, [-np.inf] * 5],
                        "cat": ["a"] * 50 + ["zzz"] * 50})
    table: Any = drift(ref, cur).columns
    assert table.loc["x", "drifted"] and "all values missing" in table.loc["x", "finding"]
    assert "10 infinite values" in table.loc["y", "finding"]
    assert table.loc["cat", "unseen"] == "zzz" and table.loc["cat", "drifted"]
    one: Any = drift(ref, cur.iloc[:1].assign(x=0.1, y=0.2, cat="a")).columns
    assert not one["drifted"].any()
    assert "low power" in one.loc["x", "finding"]


def test_all_null_reference_column_is_skipped() -> None:
    ref = pd.DataFrame({"e": pd.Series([None] * 50, dtype=object), "x": np.arange(50.0)})
    table: Any = drift(ref, pd.DataFrame({"e": ["v"] * 20, "x": np.arange(20.0)})).columns
    assert "all values missing in the reference" in table.loc["e", "finding"]
    assert table.loc["e", "missing_drifted"]


def test_bad_input_raises_clear_errors() -> None:
    ref = pd.DataFrame({"x": np.arange(10.0)})
    with pytest.raises(InputError, match="current batch has no rows"):
        drift(ref, ref.iloc[:0])
    with pytest.raises(InputError, match="reference data has no rows"):
        drift(ref.iloc[:0], ref)
    with pytest.raises(InputError, match="DataFrame"):
        drift(ref, np.arange(3))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'alpha' parameter of drift"):
        drift(ref, ref, alpha=2.0)
    with pytest.raises(InputError, match="'correction' parameter"):
        drift(ref, ref, correction="bonferroni")
    with pytest.raises(InputError, match="no column 'q'"):
        drift(profile(ref), ref, columns=["q"])


def test_prediction_drift_is_a_key_column() -> None:
    rng = np.random.default_rng(9)
    features = {f"f{i}": rng.normal(size=3_000) for i in range(5)}
    ref = pd.DataFrame({**features, "pred": rng.choice([0, 1, 2], 3_000, p=[0.6, 0.3, 0.1]),
                        "proba": rng.beta(5, 2, 3_000)})
    cur = ref.copy()
    cur["pred"] = rng.choice([0, 1, 2], 3_000, p=[0.2, 0.3, 0.5])
    report = drift(ref, cur, prediction=["pred", "proba"])
    assert report.drifted_columns == ["pred"]
    assert report.drifted and "pred" in report.rule
    assert report.columns.loc["pred", "role"] == "prediction"
    assert report.columns.loc["f0", "role"] == "feature"
    assert not drift(ref, cur).drifted  # without the key rule: 1 of 7 columns


def test_thresholds_and_correction_options() -> None:
    rng = np.random.default_rng(10)
    ref = pd.DataFrame({"x": rng.normal(size=5_000), "y": rng.normal(size=5_000)})
    cur = pd.DataFrame({"x": rng.normal(0.15, 1, 5_000), "y": rng.normal(0.15, 1, 5_000)})
    assert drift(ref, cur).drifted_columns == ["x", "y"]
    assert drift(ref, cur, thresholds={"numeric": 0.5}).drifted_columns == []
    assert drift(ref, cur, column_thresholds={"x": 0.5}).drifted_columns == ["y"]
    holm = drift(ref, cur, correction="holm").columns
    none = drift(ref, cur, correction="none").columns
    assert (holm["p_adjusted"] >= none["p_adjusted"]).all()
    with pytest.raises(InputError, match="thresholds key"):
        drift(ref, cur, thresholds={"numerik": 0.1})


def test_text_and_embedding_columns() -> None:
    rng = np.random.default_rng(11)
    words = np.array(["the", "cat", "sat", "on", "a", "mat", "while", "dog", "ran", "fast", "and", "slow", "bird", "flew", "over"])
    ref = pd.DataFrame({
        "text": [" ".join(rng.choice(words[:10], 8)) for _ in range(200)],
        "emb": list(rng.normal(size=(200, 8))),
    })
    same = pd.DataFrame({
        "text": [" ".join(rng.choice(words[:10], 8)) for _ in range(200)],
        "emb": list(rng.normal(size=(200, 8))),
    })
    shifted = pd.DataFrame({
        "text": [" ".join(rng.choice(words[5:], 8)) for _ in range(200)],
        "emb": list(rng.normal(0.7, 1, size=(200, 8))),
    })
    kw: dict[str, Any] = {"column_types": {"text": "text"}, "n_permutations": 3, "n_mmd_permutations": 50}
    table: Any = drift(ref, shifted, **kw).columns
    assert table["type"].tolist() == ["text", "embedding"]
    assert table["drifted"].all()
    assert (table["effect_size"] > 0.8).all()
    assert not drift(ref, same, **kw).columns["drifted"].any()
    bad = shifted.assign(emb=list(rng.normal(size=(200, 5))))
    row = drift(ref, bad, **kw).columns.loc["emb"]
    assert row["drifted"] and "vector length changed" in row["finding"]


def test_custom_text_embedder_is_used() -> None:
    calls = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.array([[len(t), t.count("a")] for t in texts], dtype=float)

    rng = np.random.default_rng(12)
    ref = pd.DataFrame({"t": [f"item {'a' * int(k)} here" for k in rng.integers(0, 5, 100)]})
    cur = pd.DataFrame({"t": [f"item {'a' * int(k)} here" for k in rng.integers(3, 9, 100)]})
    row = drift(ref, cur, column_types={"t": "text"}, text_embedder=embed, n_permutations=2,
                n_mmd_permutations=30).columns.loc["t"]
    assert calls and row["drifted"]


def test_report_html_json_and_summary(elec: pd.DataFrame) -> None:
    ref, cur = _halves(elec)
    cur["nswprice"] = cur["nswprice"] * 2
    report = drift(ref, cur)
    page = report.to_html()
    assert page == report._repr_html_()
    assert page.count("<svg") == 7 and "<table" in page
    assert not re.search(r"(src|href)=\"https?://", page)  # no CDN, self-contained
    assert "nswprice" in page and "DRIFT" not in page
    data = json.loads(json.dumps(report.to_dict()))
    assert [c["column"] for c in data["columns"] if c["drifted"]] == ["nswprice"]
    text = render_summary(report)
    assert text == report.summary() and "nswprice" in text.splitlines()[1]
    assert isinstance(report, DriftReport)


def test_threads_give_the_same_table(elec: pd.DataFrame) -> None:
    ref, cur = _halves(elec, 4)
    cur["transfer"] = cur["transfer"] * 1.5
    pd.testing.assert_frame_equal(drift(ref, cur).columns, drift(ref, cur, n_jobs=2).columns)
