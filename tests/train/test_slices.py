"""find_slices / SliceLine: against brute force, the sliceline package, planted slices."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from threadpoolctl import threadpool_limits

from assay._stats import wilson_interval
from assay.exceptions import InputError
from assay.train.slices import find_slices
from assay.train.slices._stats import bh_adjust, error_rate_pvalues
from assay.train.slices.sliceline import encode_metadata, sliceline_search


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with threadpool_limits(1):
        yield


def _planted(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "site": rng.choice(["a", "b", "c", "d"], n),
        "device": rng.choice(["phone", "tablet", "pc"], n),
        "age": rng.normal(40, 10, n),
        "noise": rng.integers(0, 6, n),
    })
    planted = ((df["site"] == "b") & (df["device"] == "tablet")).to_numpy()
    err = rng.random(n) < np.where(planted, 0.5, 0.08)
    return df, err.astype(float), planted


def _brute_force(codes: np.ndarray, err: np.ndarray, alpha: float, min_sup: int, max_l: int
                 ) -> tuple[float, int, float]:
    """Best (score, size, errors) over every conjunction of up to max_l predicates."""
    n, f = codes.shape
    best = (-np.inf, 0, 0.0)
    for level in range(1, max_l + 1):
        for feats in itertools.combinations(range(f), level):
            for vals in itertools.product(*[np.unique(codes[:, j]) for j in feats]):
                m = np.all(codes[:, feats] == np.array(vals), axis=1)
                size = int(m.sum())
                if size < min_sup:
                    continue
                e = float(err[m].sum())
                sc = alpha * ((e / size) / err.mean() - 1) - (1 - alpha) * (n / size - 1)
                best = max(best, (sc, size, e))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sliceline_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    df = pd.DataFrame({f"f{i}": rng.integers(0, 3, n) for i in range(4)})
    err = (rng.random(n) < 0.15 + 0.3 * ((df.f0 == 1) & (df.f2 == 0))).astype(float)
    data = encode_metadata(df)
    res = sliceline_search(data, err, alpha=0.9, k=1, max_predicates=3, min_support=10)
    valid = (res.sizes >= 10) & (res.scores > 0)
    i = int(np.argmax(np.where(valid, res.scores, -np.inf)))
    sc, size, e = _brute_force(data.codes, err, 0.9, 10, 3)
    assert res.scores[i] == pytest.approx(sc)
    assert (res.sizes[i], res.errors[i]) == (size, e)


def test_same_top_slice_as_sliceline_package() -> None:
    sliceline = pytest.importorskip("sliceline")
    df, err, _ = _planted(2000, seed=3)
    df = df.drop(columns="age")
    report = find_slices(df, err, alpha=0.95, k=3, min_support=20)
    ref = sliceline.Slicefinder(alpha=0.95, k=3, max_l=3, min_sup=20, verbose=False)
    ref.fit(df.astype(str).to_numpy(), err)
    top = ref.top_slices_statistics_[0]
    assert report.table["size"][0] == top["slice_size"]
    assert report.table["errors"][0] == top["sum_slice_error"]
    assert report.table["score"][0] == pytest.approx(top["slice_score"])


def test_planted_slice_ranks_first_with_valid_statistics() -> None:
    df, err, planted = _planted()
    report = find_slices(df, err, k=5)
    t = report.table
    assert t["slice"][0] == "site = b AND device = tablet"
    assert np.array_equal(report.mask(0), planted)
    assert t["size"][0] == planted.sum()
    assert t["error_rate"][0] == pytest.approx(err[planted].mean())
    assert t["error_rate_low"][0] < t["error_rate"][0] < t["error_rate_high"][0]
    assert t["is_significant"][0]
    assert (t["q_value"] >= t["p_value"] - 1e-15).all()
    assert list(t["score"]) == sorted(t["score"], reverse=True)
    assert "site = b AND device = tablet" in report.summary()
    assert "<table" in report.to_html()


def test_published_alpha_prefers_larger_weaker_slices() -> None:
    # a small clearly broken slice vs its larger parent: alpha=0.6 penalises the size
    df, err, planted = _planted(4000, seed=5)
    low = find_slices(df, err, alpha=0.6, k=1).table["slice"]
    high = find_slices(df, err, k=1).table["slice"]
    assert high[0] == "site = b AND device = tablet"
    assert len(low) == 0 or low[0] != high[0]


def test_numeric_column_is_binned_and_constant_column_ignored() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    df = pd.DataFrame({"x": rng.uniform(0, 100, n), "const": "k", "g": rng.choice(list("pq"), n)})
    err = (rng.random(n) < np.where(df.x > 80, 0.6, 0.1)).astype(float)
    report = find_slices(df, err, k=3)
    assert report.table["slice"][0].startswith("x in [")
    assert not any("const" in s for s in report.table["slice"])
    assert any("single value" in note for note in report.notes)


def test_embedding_slices_find_planted_cluster_and_describe_it() -> None:
    rng = np.random.default_rng(2)
    n = 1200
    centres = rng.normal(0, 6, (4, 5))
    group = rng.integers(0, 4, n)
    emb = centres[group] + rng.normal(0, 1, (n, 5))
    tag = np.where(group == 2, rng.choice(["blur", "ok"], n, p=[0.9, 0.1]), "ok")
    err = (rng.random(n) < np.where(group == 2, 0.55, 0.05)).astype(float)
    report = find_slices(pd.DataFrame({"tag": tag}), err, embeddings=emb, n_clusters=4, k=2)
    emb_rows = report.table.index[report.table["kind"] == "embedding"]
    assert len(emb_rows) >= 1
    first = int(emb_rows[0])
    mask = report.mask(first)
    overlap = (mask & (group == 2)).sum() / max(mask.sum(), 1)
    assert overlap > 0.9
    assert "tag = blur" in report.table["slice"][first]
    examples = report.table["examples"][first]
    assert all(mask[i] and err[i] for i in examples)


@pytest.mark.parametrize("errors", [np.zeros(50), np.ones(50)])
def test_degenerate_errors_explained_not_raised(errors: np.ndarray) -> None:
    df = pd.DataFrame({"a": ["x", "y"] * 25})
    report = find_slices(df, errors)
    assert len(report.table) == 0
    assert report.notes
    assert report.summary()


def test_bad_input_raises_clear_errors() -> None:
    df = pd.DataFrame({"a": ["x", "y"] * 25})
    with pytest.raises(InputError, match="rows"):
        find_slices(df, np.zeros(10))
    with pytest.raises(InputError, match="non-negative"):
        find_slices(df, np.r_[np.nan, np.zeros(49)])
    with pytest.raises(InputError, match="'alpha' parameter of find_slices"):
        find_slices(df, np.r_[1, np.zeros(49)], alpha=1.5)
    with pytest.raises(InputError, match="embeddings"):
        find_slices(df, np.r_[1, np.zeros(49)], embeddings=np.zeros((3, 2)))


def test_bad_rows_are_named_by_index_label_or_position() -> None:
    df = pd.DataFrame({"a": ["x", "y"] * 25})
    errors = pd.Series(np.r_[np.zeros(7), -1.0, np.zeros(42)], index=range(100, 150))
    with pytest.raises(InputError, match=r"errors index 107 is -1.0; errors must be finite"):
        find_slices(df, errors)
    with pytest.raises(InputError, match=r"errors position 7 \(0-based\) is -1.0;"):
        find_slices(df, errors.to_numpy())
    emb = np.zeros((50, 2))
    emb[9, 1] = np.inf
    with pytest.raises(InputError, match=r"embeddings position 9 \(0-based\) contains NaN or inf"):
        find_slices(df, np.r_[1, np.zeros(49)], embeddings=emb)
    labelled = pd.DataFrame(emb, index=[f"e{i}" for i in range(50)])
    with pytest.raises(InputError, match=r"embeddings index 'e9' contains NaN or inf"):
        find_slices(df, np.r_[1, np.zeros(49)], embeddings=labelled)


def test_min_support_is_respected() -> None:
    df, err, _ = _planted(1500, seed=4)
    report = find_slices(df, err, min_support=200, k=10)
    assert (report.table["size"] >= 200).all()


def test_real_valued_errors() -> None:
    df, err, planted = _planted(2000, seed=6)
    loss = err * np.random.default_rng(0).uniform(0.5, 2.0, len(err))
    report = find_slices(df, loss, k=3)
    assert report.table["slice"][0] == "site = b AND device = tablet"
    assert 0 <= report.table["p_value"][0] < 0.01


def test_losses_are_summarised_as_a_mean_with_its_interval() -> None:
    # a regression's absolute errors: the slice's mean loss, never a percentage, and an
    # interval that holds that mean (Wilson's interval of a "rate" above 1 was [100%, 100%])
    df, err, planted = _planted(2000, seed=8)
    loss = np.abs(np.random.default_rng(1).normal(0, 10 + 25 * planted, len(err)))
    report = find_slices(df, loss, k=3)
    top = report.table.iloc[0]
    assert top["slice"] == "site = b AND device = tablet"
    inside = loss[report.mask(0)]
    assert top["error_rate"] == pytest.approx(inside.mean())
    se = inside.std() / np.sqrt(len(inside))
    assert top["error_rate_low"] == pytest.approx(inside.mean() - 1.96 * se, rel=1e-3)
    assert top["error_rate_high"] == pytest.approx(inside.mean() + 1.96 * se, rel=1e-3)
    summary = report.summary()
    assert f"overall mean error {loss.mean():.4g}" in summary and "%" not in summary
    assert report.to_dict()["errors"] == "loss"
    assert find_slices(df, err, k=3).to_dict()["errors"] == "0/1"


def test_found_loss_slices_are_recommended_on_their_mean_error() -> None:
    from assay.train.slices import recommend

    df, err, planted = _planted(2000, seed=8)
    loss = np.abs(np.random.default_rng(1).normal(0, 10 + 25 * planted, len(err)))
    rows = recommend(find_slices(df, loss, k=3)).table
    first = rows.iloc[0]
    assert first["slice"] == "site = b AND device = tablet"
    assert first["accuracy"] == pytest.approx(loss[planted].mean(), rel=0.05)
    assert first["accuracy"] > first["overall_accuracy"] == pytest.approx(loss.mean())
    assert "mean error" in first["evidence"] and first["action"] != "no action"


def test_stats_helpers_against_references() -> None:
    k, n = np.array([0, 3, 50, 99]), np.array([10, 20, 100, 100])
    low, high = wilson_interval(k, n)
    for i in range(len(k)):
        ci = stats.binomtest(int(k[i]), int(n[i])).proportion_ci(method="wilson")
        assert (low[i], high[i]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    p = error_rate_pvalues(k.astype(float), n.astype(float), 0.2)
    for i in range(len(k)):
        ref = stats.binomtest(int(k[i]), int(n[i]), 0.2, alternative="greater").pvalue
        assert p[i] == pytest.approx(ref)
    pv = np.random.default_rng(0).uniform(0, 0.2, 30)
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    ref_q = multitest.multipletests(pv, method="fdr_bh")[1]
    assert bh_adjust(pv) == pytest.approx(ref_q)


def test_report_to_dict_is_json_ready() -> None:
    import json

    df, err, _ = _planted(1500, seed=7)
    report = find_slices(df, err, k=3)
    content = json.loads(json.dumps(report.to_dict()))
    assert content["rows"][0]["slice"] == report.table["slice"][0]
    assert content["summary"] == report.summary()


def _all_scores(codes: np.ndarray, err: np.ndarray, alpha: float, min_sup: int, max_l: int
                ) -> np.ndarray:
    n, f = codes.shape
    out = []
    for level in range(1, max_l + 1):
        for feats in itertools.combinations(range(f), level):
            for vals in itertools.product(*[np.unique(codes[:, j]) for j in feats]):
                m = np.all(codes[:, feats] == np.array(vals), axis=1)
                if m.sum() >= min_sup:
                    e = err[m].sum()
                    out.append(alpha * ((e / m.sum()) / err.mean() - 1)
                               - (1 - alpha) * (n / m.sum() - 1))
    return np.sort(np.array(out))[::-1]


def test_pruned_lattice_keeps_the_exact_top_k() -> None:
    rng = np.random.default_rng(11)
    n = 600
    df = pd.DataFrame({f"f{i}": rng.integers(0, 3, n) for i in range(5)})
    err = (rng.random(n) < 0.1 + 0.4 * ((df.f1 == 0) & (df.f3 == 2) & (df.f4 != 1))).astype(float)
    data = encode_metadata(df)
    res = sliceline_search(data, err, alpha=0.97, k=6, max_predicates=3, min_support=8)
    found = np.sort(res.scores[(res.sizes >= 8) & (res.scores > 0)])[::-1][:6]
    truth = _all_scores(data.codes, err, 0.97, 8, 3)
    truth = truth[truth > 0][:6]
    assert len(truth) == 6
    assert found == pytest.approx(truth)
    assert sum(res.n_candidates) < sum(  # something was pruned
        len(list(itertools.combinations(range(5), lv))) * 3**lv for lv in (1, 2, 3))
