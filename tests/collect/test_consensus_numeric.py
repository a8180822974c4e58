"""Consensus of numeric labels: EM with annotator bias and noise, mean and median."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assay.collect import consensus, numeric_consensus
from assay.exceptions import InputError


def _biased(
    seed: int = 0, n_items: int = 600, n_annotators: int = 8, per_item: int = 3
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Annotators with a bias ~ N(0, 1) and a noise sd ~ U(0.3, 2.5) on truths ~ N(5, 2)."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(5.0, 2.0, n_items)
    bias = rng.normal(0.0, 1.0, n_annotators)
    noise = rng.uniform(0.3, 2.5, n_annotators)
    who = np.concatenate([rng.choice(n_annotators, per_item, replace=False)
                          for _ in range(n_items)])
    item = np.repeat(np.arange(n_items), per_item)
    y = truth[item] + bias[who] + rng.normal(0.0, noise[who])
    df = pd.DataFrame({"item": item, "annotator": [f"a{a}" for a in who], "label": y})
    return df, truth, bias, noise


def _error(res, truth: np.ndarray) -> float:
    return float(np.abs(res.labels["label"].reindex(np.arange(len(truth))) - truth).mean())


def test_em_beats_mean_and_median_on_biased_annotators() -> None:
    wins = 0
    for seed in range(5):
        df, truth, _, _ = _biased(seed)
        em = _error(numeric_consensus(df), truth)
        mean = _error(numeric_consensus(df, method="mean"), truth)
        median = _error(numeric_consensus(df, method="median"), truth)
        wins += em < min(mean, median)
    assert wins == 5


def test_recovers_biases_and_noise() -> None:
    df, _, bias, noise = _biased(1, n_items=3000)
    res = numeric_consensus(df)
    ann = res.annotators.loc[[f"a{a}" for a in range(len(bias))]]
    assert res.converged
    assert ann["bias"].sum() == pytest.approx(0.0, abs=1e-9)  # the identifying constraint
    # ~1,100 annotations each, noise sd up to 2.5: bias standard errors of up to ~0.1
    np.testing.assert_allclose(ann["bias"], bias - bias.mean(), atol=0.25)
    assert np.corrcoef(ann["bias"], bias)[0, 1] > 0.98
    np.testing.assert_allclose(ann["noise_sd"], noise, rtol=0.1)
    # the noisiest annotator is the least reliable
    assert ann["quality"].idxmin() == f"a{int(np.argmax(noise))}"


def test_log_likelihood_never_falls() -> None:
    for seed in range(3):
        df, *_ = _biased(seed, n_items=200, n_annotators=5)
        res = numeric_consensus(df, tol=0, max_iter=300)
        steps = np.diff(res.history)
        assert len(steps) > 10
        assert (steps >= -1e-9 * np.abs(res.history[1:])).all(), steps.min()
        assert res.log_likelihood == pytest.approx(res.history[-1])


def _reference(df: pd.DataFrame, res) -> tuple[float, pd.Series, pd.Series]:
    """Log-likelihood, posterior mean and sd from the fitted parameters, by dense
    multivariate-normal algebra (scipy), item by item."""
    mu, tau2 = res.truth_mean, res.truth_sd**2
    ann = res.annotators
    ll, means, sds = 0.0, {}, {}
    for item, rows in df.groupby("item", sort=False):
        b = ann.loc[rows["annotator"], "bias"].to_numpy()
        s2 = ann.loc[rows["annotator"], "noise_sd"].to_numpy() ** 2
        y = rows["label"].to_numpy()
        cov = tau2 * np.ones((len(y), len(y))) + np.diag(s2)
        ll += stats.multivariate_normal(mu + b, cov).logpdf(y)
        gain = np.linalg.solve(cov, tau2 * np.ones(len(y)))
        means[item] = mu + gain @ (y - mu - b)
        sds[item] = np.sqrt(tau2 - tau2 * gain.sum())
    return ll, pd.Series(means), pd.Series(sds)


def test_likelihood_and_posterior_match_dense_gaussian_algebra() -> None:
    df, *_ = _biased(3, n_items=80, n_annotators=6)
    df = df.iloc[np.random.default_rng(0).permutation(len(df))[:200]]  # uneven per item
    res = numeric_consensus(df)
    ll, means, sds = _reference(df, res)
    assert res.log_likelihood == pytest.approx(ll, rel=1e-10)
    lab = res.labels
    np.testing.assert_allclose(lab["label"], means.reindex(lab.index), rtol=1e-9)
    np.testing.assert_allclose(lab["sd"], sds.reindex(lab.index), rtol=1e-9)


def test_mean_and_median_are_the_plain_statistics() -> None:
    df, *_ = _biased(4, n_items=50)
    for method in ("mean", "median"):
        res = numeric_consensus(df, method=method)
        expected = df.groupby("item")["label"].agg(method)
        np.testing.assert_allclose(res.labels["label"], expected.reindex(res.labels.index))
        assert res.n_iter == 0 and np.isnan(res.log_likelihood)
    # the mean's sd is the pooled within-item sd over sqrt(n); the median's is larger
    mean, median = (numeric_consensus(df, method=m).labels["sd"] for m in ("mean", "median"))
    np.testing.assert_allclose(median / mean, np.sqrt(np.pi / 2))


def test_columns_ranges_and_order() -> None:
    df = pd.DataFrame({
        "item": ["x", "x", "x", "y", "y", "z"],
        "annotator": ["a", "b", "c", "a", "b", "c"],
        "label": [3.0, 3.0, 3.0, 1.0, 9.0, 5.0],
    })
    for method in ("em", "mean", "median"):
        res = numeric_consensus(df, method=method)
        lab = res.labels
        assert list(lab.columns) == ["label", "quality", "n_annotations", "agreement", "sd"]
        assert lab.index.tolist() == ["x", "y", "z"]
        assert lab["n_annotations"].tolist() == [3, 2, 1]
        assert lab["quality"].between(0, 1).all() and lab["agreement"].between(0, 1).all()
        assert lab.at["x", "agreement"] == 1.0 and lab.at["z", "agreement"] == 1.0
        assert lab.at["y", "agreement"] < 0.5
        assert list(res.annotators.columns) == ["n_annotations", "bias", "noise_sd", "quality"]
        assert res.annotators.index.tolist() == ["a", "b", "c"]


def test_quality_grows_with_annotations() -> None:
    df, *_ = _biased(5, n_items=400, n_annotators=8, per_item=4)
    few = df.groupby("item").head(1).index[:100]  # items 0..99 keep one annotation
    df = df.drop(df[df["item"] < 100].index.difference(few))
    lab = numeric_consensus(df).labels
    one, four = lab[lab["n_annotations"] == 1], lab[lab["n_annotations"] == 4]
    assert one["quality"].median() < four["quality"].median()
    assert one["sd"].median() > four["sd"].median()


def test_equivariant_to_shift_and_scale() -> None:
    df, *_ = _biased(6, n_items=200)
    base = numeric_consensus(df).labels
    moved = numeric_consensus(df.assign(label=df["label"] * 3 + 100)).labels
    np.testing.assert_allclose(moved["label"], base["label"] * 3 + 100, rtol=1e-6)
    np.testing.assert_allclose(moved["quality"], base["quality"], atol=1e-6)


def test_task_argument_hands_off_to_the_regression_engine() -> None:
    df, truth, _, _ = _biased(7, n_items=100)
    res = consensus(df, task="regression")
    assert res.method == "em"
    np.testing.assert_allclose(res.labels["label"], numeric_consensus(df).labels["label"])
    assert consensus(df, "median", task="regression").method == "median"
    with pytest.raises(InputError, match="gold= apply to single-label classification"):
        consensus(df, task="regression", gold={0: 1.0})
    with pytest.raises(InputError, match="unknown task 'ranking'"):
        consensus(df, task="ranking")
    with pytest.raises(InputError, match="'method' parameter of numeric_consensus"):
        consensus(df, "dawid_skene", task="regression")


def test_summary_and_json() -> None:
    df, *_ = _biased(8, n_items=60)
    for method in ("em", "mean"):
        res = numeric_consensus(df, method=method)
        assert all(len(line) <= 80 for line in res.summary().splitlines())
        data = json.loads(json.dumps(res.to_dict()))
        assert data["method"] == method and data["n_items"] == 60
        assert set(data["labels"][0]) == {"item", "label", "quality", "n_annotations",
                                          "agreement", "sd"}
        assert len(data["annotators"]) == 8


@pytest.mark.parametrize(
    ("labels", "match"),
    [([1.0, np.nan, 2.0], "column .label. is missing in 1 row"),
     ([1.0, np.inf, 2.0], "not finite numbers"),
     ([1.0, "high", 2.0], "the first is 'high'")],
)
def test_bad_labels_are_refused(labels: list, match: str) -> None:
    df = pd.DataFrame({"item": [1, 1, 2], "annotator": ["a", "b", "a"], "label": labels})
    with pytest.raises(InputError, match=match):
        numeric_consensus(df)


def test_missing_column_and_bad_method() -> None:
    with pytest.raises(InputError, match="label"):
        numeric_consensus(pd.DataFrame({"item": [1], "annotator": ["a"]}))
    df = pd.DataFrame({"item": [1], "annotator": ["a"], "label": [2.0]})
    with pytest.raises(InputError, match="'method' parameter of numeric_consensus"):
        numeric_consensus(df, method="mode")


def test_single_annotation_and_constant_labels() -> None:
    one = numeric_consensus(pd.DataFrame({"item": [1], "annotator": ["a"], "label": [2.5]}))
    assert one.labels["label"].tolist() == [2.5]
    same = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"), "label": [4.0] * 4})
    res = numeric_consensus(same)
    np.testing.assert_allclose(res.labels["label"], [4.0, 4.0])
    assert res.labels["agreement"].tolist() == [1.0, 1.0]
