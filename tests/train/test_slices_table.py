"""slice_table and recommend: per-tag numbers against direct computation, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import f1_score

from assay.exceptions import InputError
from assay.train.slices import find_slices, recommend, slice_table

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _data(n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "noise": rng.choice(["car", "street", "quiet"], n, p=[0.1, 0.3, 0.6]),
        "tags": [list(rng.choice(["accent", "child", "far"], rng.integers(0, 3), replace=False))
                 for _ in range(n)],
        "joined": rng.choice(["x|y", "y", "x", ""], n),
        "is_night": rng.random(n) < 0.2,
        "one": "same",
    })
    y = rng.integers(0, 3, n)
    wrong = rng.random(n) < np.where(df["noise"] == "car", 0.4, 0.08)
    pred = np.where(wrong, (y + 1) % 3, y)
    return df, y, pred


def test_accuracy_share_and_wilson_match_direct_computation() -> None:
    df, y, pred = _data()
    st = slice_table(df, y, pred, by="noise", hlp=0.95, n_boot=200)
    t = st.table.set_index("tag")
    wrong = y != pred
    for value in ["car", "street", "quiet"]:
        m = (df["noise"] == value).to_numpy()
        row = t.loc[f"noise={value}"]
        assert row["n"] == m.sum()
        assert row["share"] == pytest.approx(m.mean())
        assert row["metric"] == pytest.approx(1 - wrong[m].mean())
        assert row["error_share"] == pytest.approx(wrong[m].sum() / wrong.sum())
        ci = stats.binomtest(int((~wrong[m]).sum()), int(m.sum())).proportion_ci(method="wilson")
        assert (row["metric_low"], row["metric_high"]) == pytest.approx((ci.low, ci.high))
        assert row["gap"] == pytest.approx(0.95 - row["metric"])
        assert row["gain"] == pytest.approx(row["gap"] * row["share"])
        assert row["gain_low"] <= row["gain"] <= row["gain_high"]
    assert st.table["tag"][0] == "noise=car"
    assert list(st.table["gain"]) == sorted(st.table["gain"], reverse=True)
    assert "noise=car" in st.summary() and "<table" in st.to_html()


def test_multivalued_boolean_and_delimited_tags() -> None:
    df, y, pred = _data()
    st = slice_table(df, y, pred, by=["tags", "is_night", "joined"], sep="|", min_support=1)
    t = st.table.set_index("tag")
    has_far = df["tags"].map(lambda v: "far" in v).to_numpy()
    assert t.loc["tags=far", "n"] == has_far.sum()
    assert t.loc["is_night", "n"] == df["is_night"].sum()
    has_x = df["joined"].str.split("|").map(lambda v: "x" in v).to_numpy()
    assert t.loc["joined=x", "n"] == has_x.sum()
    assert t.loc["joined=y", "n"] + t.loc["joined=x", "n"] > (df["joined"] != "").sum()
    assert np.array_equal(st.masks["tags=far"], has_far)


def test_per_row_agreement_gives_slice_hlp_and_flags_ambiguity() -> None:
    df, y, pred = _data(2000, seed=1)
    rng = np.random.default_rng(3)
    doubly = rng.random(len(df)) < 0.4
    agree_p = np.where(df["noise"] == "street", 0.6, 0.97)
    agreed = np.where(doubly, (rng.random(len(df)) < agree_p).astype(float), np.nan)
    st = slice_table(df, y, pred, by="noise", hlp=agreed)
    t = st.table.set_index("tag")
    m = (df["noise"] == "street").to_numpy() & doubly
    assert t.loc["noise=street", "hlp"] == pytest.approx(agreed[m].mean())
    assert t.loc["noise=street", "is_low_hlp"]
    assert not t.loc["noise=quiet", "is_low_hlp"]
    rec = recommend(st).table.set_index("slice")
    assert rec.loc["noise=street", "action"] == "clarify labels"
    assert "HLP" in rec.loc["noise=street", "evidence"]


def test_bad_input_is_explained_in_notes() -> None:
    df, y, pred = _data(300)
    pred = pred.copy()
    pred[(df["noise"] == "quiet").to_numpy()] = y[(df["noise"] == "quiet").to_numpy()]
    st = slice_table(df, y, pred, by=["noise", "one"], hlp={"noise=car": 0.9}, min_support=50)
    t = st.table.set_index("tag")
    assert "single value" in t.loc["one=same", "note"]
    assert "no errors" in t.loc["noise=quiet", "note"]
    assert "no HLP given" in t.loc["noise=street", "note"]
    small = t["n"] < 50
    assert small.any() and t.loc[small, "note"].str.contains("min_support").all()
    assert st.table["n"].tail(int(small.sum())).lt(50).all()  # small slices ranked last


def test_metric_undefined_on_one_class_slice_and_callable_metric() -> None:
    df = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40})
    y = np.r_[np.zeros(40, int), np.tile([0, 1], 20)]
    pred = np.r_[np.r_[np.zeros(30, int), np.ones(10, int)], np.tile([0, 0, 1, 1], 10)]
    st = slice_table(df, y, pred, by="g", metric="balanced_accuracy", n_boot=50)
    t = st.table.set_index("tag")
    assert np.isnan(t.loc["g=a", "metric"]) and "only class" in t.loc["g=a", "note"]
    assert np.isfinite(t.loc["g=b", "metric"])

    def macro_f1(a: np.ndarray, b: np.ndarray) -> float:
        return float(f1_score(a, b, average="macro"))

    st2 = slice_table(df, y, pred, by="g", metric=macro_f1, n_boot=50)
    m = (df["g"] == "b").to_numpy()
    row = st2.table.set_index("tag").loc["g=b"]
    assert row["metric"] == pytest.approx(macro_f1(y[m], pred[m]))
    assert row["metric_low"] <= row["metric"] <= row["metric_high"]


def test_parameter_errors() -> None:
    df, y, pred = _data(100)
    with pytest.raises(InputError, match="no column 'missing'"):
        slice_table(df, y, pred, by="missing")
    with pytest.raises(InputError, match="'metric' parameter"):
        slice_table(df, y, pred, by="noise", metric="nope")
    with pytest.raises(InputError, match="y_pred"):
        slice_table(df, y, pred[:5], by="noise")
    with pytest.raises(InputError, match="0/1"):
        slice_table(df, y, pred, by="noise", hlp=np.full(len(df), 0.5))
    hlp = np.r_[np.ones(3), 0.5, np.zeros(len(df) - 4)]
    with pytest.raises(InputError, match=r"hlp position 3 \(0-based\) is 0.5; per-row HLP"):
        slice_table(df, y, pred, by="noise", hlp=hlp)
    labelled = pd.Series(hlp, index=[f"h{i}" for i in range(len(df))])
    with pytest.raises(InputError, match=r"hlp index 'h3' is 0.5; per-row HLP"):
        slice_table(df, y, pred, by="noise", hlp=labelled)


def test_recommend_rules_collect_and_add_features() -> None:
    rng = np.random.default_rng(4)
    n = 4000
    df = pd.DataFrame({
        "region": rng.choice(["rare", "big", "other1", "other2"], n, p=[0.04, 0.46, 0.25, 0.25])
    })
    y = rng.integers(0, 2, n)
    wrong = rng.random(n) < np.where(df["region"].isin(["rare", "big"]), 0.35, 0.05)
    pred = np.where(wrong, 1 - y, y)
    st = slice_table(df, y, pred, by="region", hlp=0.98)
    tab = recommend(st, modality="tabular").table.set_index("slice")
    assert tab.loc["region=rare", "action"] == "collect / augment"
    assert "under-represented" in tab.loc["region=rare", "evidence"]
    assert tab.loc["region=big", "action"] == "add features"
    assert tab.loc["region=other1", "action"] == "no action"
    img = recommend(st, modality="image").table.set_index("slice")
    assert img.loc["region=big", "action"] == "collect / augment"
    issues = (df["region"] == "other1").to_numpy() & (rng.random(n) < 0.3)
    lab = recommend(st, label_issue_rate=issues).table.set_index("slice")
    assert lab.loc["region=other1", "action"] == "clarify labels"
    rep = find_slices(df, wrong.astype(float), k=3)
    assert set(recommend(rep).table["action"]) <= {"collect / augment", "add features",
                                                  "no action", "clarify labels"}
    with pytest.raises(InputError, match="modality"):
        recommend(st, modality="video")


def test_real_sentiment_sources(tmp_path: Path) -> None:
    text_dir = DATA / "text"
    if not text_dir.exists():
        pytest.skip(f"real data folder {text_dir} is absent (see ../shared/data/README.md)")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    frames = []
    for name in ("amazon_cells", "imdb", "yelp"):
        part = pd.read_csv(text_dir / f"{name}_labelled.txt", sep="\t", header=None,
                           names=["text", "label"], quoting=3)
        frames.append(part.assign(source=name))
    df = pd.concat(frames, ignore_index=True).dropna()
    X = TfidfVectorizer(min_df=2).fit_transform(df["text"])
    pred = cross_val_predict(LogisticRegression(max_iter=200), X, df["label"], cv=3)
    st = slice_table(df, "label", pred, by="source", hlp=0.95, n_boot=100)
    t = st.table.set_index("tag")
    for name in ("amazon_cells", "imdb", "yelp"):
        m = (df["source"] == name).to_numpy()
        assert t.loc[f"source={name}", "metric"] == pytest.approx(
            (pred[m] == df["label"].to_numpy()[m]).mean())
    assert t["n"].sum() == len(df)
