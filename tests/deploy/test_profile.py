"""Reference profiles: exact summaries, mergeable samples, JSON, Parquet chunks, Dask."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from assay.deploy import Profile, ProfileBuilder, drift, profile, profile_parquet
from assay.deploy._columns import infer_kind
from assay.exceptions import InputError


def _frame(n: int = 3_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, n)
    x[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "x": x,
        "k": rng.integers(0, 4, n),
        "city": pd.Series(rng.choice(["paris", "rome", "oslo"], n), dtype="str"),
        "big": rng.integers(0, 10_000, n),
    })


def test_exact_moments_and_counts_match_pandas() -> None:
    df = _frame()
    prof = profile(df)
    x = prof.columns["x"]
    assert x.kind == "numeric"
    assert x.n == len(df) and x.n_missing == int(df["x"].isna().sum())
    assert x.mean == pytest.approx(df["x"].mean())
    assert x.std == pytest.approx(df["x"].std(ddof=0))
    assert x.min == df["x"].min() and x.max == df["x"].max()
    # fewer rows than max_sample: the sample is every finite value, sorted
    np.testing.assert_array_equal(x.sample, np.sort(df["x"].dropna().to_numpy()))
    assert prof.columns["k"].kind == "categorical"
    expected = {str(k): int(v) for k, v in df["k"].value_counts().items()}
    assert prof.columns["k"].categories == expected
    assert prof.columns["city"].categories == df["city"].value_counts().to_dict()
    assert prof.columns["big"].kind == "numeric"


def test_chunked_profile_merges_exactly() -> None:
    df = _frame(5_000)
    whole = profile(df, max_sample=800)
    chunked = profile(df, max_sample=800, chunksize=700)
    for name in ("x", "big"):
        a, b = whole.columns[name], chunked.columns[name]
        assert b.mean == pytest.approx(a.mean) and b.std == pytest.approx(a.std)
        assert (b.n, b.n_missing, b.min, b.max) == (a.n, a.n_missing, a.min, a.max)
        assert len(b.sample) == 800
        assert set(b.sample) <= set(df[name].dropna())
    assert chunked.columns["city"].categories == whole.columns["city"].categories


def test_a_profile_built_chunk_by_chunk_equals_the_chunked_profile() -> None:
    df = _frame(5_000, seed=3)
    builder = ProfileBuilder(columns=["x", "k", "city"], column_types={"k": "categorical"},
                             max_sample=500, seed=4)
    for start in range(0, len(df), 1_200):
        builder.add(df.iloc[start:start + 1_200])
    built = builder.result()
    whole = profile(df, columns=["x", "k", "city"], column_types={"k": "categorical"},
                    max_sample=500, chunksize=1_200, seed=4)
    assert built.to_dict() == whole.to_dict()
    with pytest.raises(InputError, match="no rows were profiled"):
        ProfileBuilder().result()


def test_drift_of_a_batch_profile_equals_drift_of_the_batch() -> None:
    reference, current = _frame(seed=0), _frame(seed=1)
    current["x"] += 1.0
    ref = profile(reference)
    builder = ProfileBuilder(column_types=ref.kinds)
    for start in range(0, len(current), 1_000):
        builder.add(current.iloc[start:start + 1_000])
    by_profile, by_rows = drift(ref, builder.result()), drift(ref, current)
    assert by_profile.drifted_columns == by_rows.drifted_columns == ["x"]
    for name in ("x", "big"):  # numeric: every current value is in the sample
        assert by_profile.columns.loc[name, "p_value"] == pytest.approx(
            by_rows.columns.loc[name, "p_value"], rel=1e-12)
    assert by_profile.params["n_cur"] == len(current)


def test_bottom_k_sample_is_uniform() -> None:
    from scipy import stats

    rng = np.random.default_rng(3)
    values = np.sort(rng.exponential(size=50_000))
    pvalues = [
        stats.ks_2samp(profile(pd.DataFrame({"v": values}), max_sample=2_000, chunksize=9_000,
                               seed=seed).columns["v"].sample, values).pvalue
        for seed in range(20)
    ]
    # samples of sorted data drawn chunk by chunk: their KS p-values look uniform
    assert stats.kstest(pvalues, "uniform").pvalue > 0.01


def test_json_round_trip_gives_the_same_drift_result() -> None:
    df = _frame()
    prof = profile(df)
    text = json.dumps(prof.to_dict())
    again = Profile.from_dict(json.loads(text))
    assert again.kinds == prof.kinds
    cur = _frame(seed=1)
    cur["x"] = cur["x"] + 2.0
    a, b = drift(prof, cur), drift(again, cur)
    pd.testing.assert_frame_equal(a.columns, b.columns)
    assert "x" in a.drifted_columns


def test_format_version_is_checked() -> None:
    data = profile(_frame(100)).to_dict()
    data["format_version"] = 99
    with pytest.raises(InputError, match="format_version"):
        Profile.from_dict(data)


def test_parquet_in_chunks_equals_in_memory(tmp_path) -> None:
    df = _frame(4_000)
    path = tmp_path / "ref.parquet"
    df.to_parquet(path, row_group_size=1_000)
    from_file = profile_parquet(str(path), chunksize=1_000, max_sample=500)
    in_memory = profile(df, chunksize=1_000, max_sample=500)
    for name in df.columns:
        a, b = in_memory.columns[name].to_dict(), from_file.columns[name].to_dict()
        assert a == b, name


def test_parquet_errors(tmp_path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InputError, match="Parquet"):
        profile_parquet(str(bad))
    df = _frame(50)
    path = tmp_path / "ok.parquet"
    df.to_parquet(path)
    with pytest.raises(InputError, match="nope"):
        profile_parquet(str(path), columns=["nope"])


def test_dask_dataframe_on_local_cluster() -> None:
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    df = _frame(3_000)
    ddf = dd.from_pandas(df, npartitions=3)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl):
        prof = profile(ddf, max_sample=1_000)
    ref = profile(df, max_sample=1_000)
    for name in ("x", "big"):
        a, b = ref.columns[name], prof.columns[name]
        assert b.mean == pytest.approx(a.mean) and b.std == pytest.approx(a.std)
        assert (b.n, b.n_missing) == (a.n, a.n_missing)
    assert prof.columns["city"].categories == ref.columns["city"].categories
    assert prof.columns["k"].categories == ref.columns["k"].categories


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pd.Series([1.5, 2.0, np.nan]), "numeric"),
        (pd.Series([True, False, True]), "categorical"),
        (pd.Series(["a", "b", "a"]), "categorical"),
        (pd.Series([None, None], dtype=object), "empty"),
        (pd.Series([np.zeros(3), np.ones(3)]), "embedding"),
        (pd.Series([f"a long review number {i} about the film" for i in range(40)]), "text"),
        (pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])), "numeric"),
    ],
)
def test_infer_kind(values: pd.Series, kind: str) -> None:
    assert infer_kind(values) == kind


def test_bad_parameters_and_inputs() -> None:
    with pytest.raises(InputError, match="'max_sample' parameter of profile"):
        profile(_frame(10), max_sample=0)
    with pytest.raises(InputError, match="DataFrame"):
        profile(np.zeros((3, 2)))
    with pytest.raises(InputError, match="no column 'q'"):
        profile(_frame(10), columns=["q"])
    with pytest.raises(InputError, match="column_types"):
        profile(_frame(10), column_types={"x": "weird"})
    with pytest.raises(InputError, match="different lengths"):
        profile(pd.DataFrame({"e": [np.zeros(3), np.zeros(4)]}), column_types={"e": "embedding"})


def test_id_like_categoricals_are_capped(monkeypatch) -> None:
    from assay.deploy import _partial

    monkeypatch.setattr(_partial, "MAX_CATEGORIES", 50)
    rng = np.random.default_rng(4)
    ids = pd.Series([f"id{i}" for i in rng.integers(0, 500, 5_000)], dtype="str")
    prof = profile(pd.DataFrame({"id": ids}))
    cats = prof.columns["id"].categories
    assert len(cats) == 50 and sum(cats.values()) == 5_000
    counts = ids.value_counts()
    top = counts[counts > counts.iloc[49]]  # clear winners (ties at the cut may go either way)
    assert len(top) > 10 and all(cats[str(k)] == v for k, v in top.items())
    cur = pd.DataFrame({"id": pd.Series([f"new{i}" for i in range(300)], dtype="str")})
    row = drift(prof, cur).columns.loc["id"]
    assert "lumped" in str(row["finding"]) and row["effect_size"] > 0.2


def test_schema_problems_name_the_column_and_row() -> None:
    from assay.deploy import schema_problems

    prof = profile(_frame(200))
    assert schema_problems(prof, _frame(20)) == []
    bad = _frame(20).drop(columns=["k"]).assign(extra=1)
    bad["x"] = bad["x"].astype(object)
    bad.index = [f"r{i}" for i in range(100, 120)]  # labels differ from positions
    bad.iloc[3, bad.columns.get_loc("x")] = "oops"
    problems = schema_problems(prof, bad)
    assert any("missing columns 'k'" in p for p in problems)
    assert any("unknown columns 'extra'" in p for p in problems)
    assert any("'x' index 'r103' holds 'oops'" in p for p in problems), problems
    named = schema_problems(prof, bad, rows=lambda position: f"line {position + 2}")
    assert any("'x' line 5 holds 'oops'" in p for p in named), named
    assert schema_problems(prof, _frame(20).iloc[:0])[0].startswith("the batch has no rows")
