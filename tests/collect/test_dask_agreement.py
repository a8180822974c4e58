"""Agreement and consensus of a Dask DataFrame equal the pandas path (small sizes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assay
from assay.exceptions import InputError

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")

pytestmark = pytest.mark.filterwarnings("ignore:.*single label:UserWarning")


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _annotations(seed: int, n_items: int = 1500, m: int = 8) -> pd.DataFrame:
    """Items with 1 to 4 labels from annotators of accuracy 0.4 to 0.95, shuffled."""
    rng = np.random.default_rng(seed)
    names = np.array(["cat", "dog", "eel", "fox"])
    truth = rng.integers(0, 4, n_items)
    acc = rng.uniform(0.4, 0.95, m)
    rows = []
    for i in range(n_items):
        for a in rng.choice(m, rng.integers(1, 5), replace=False):
            lab = truth[i] if rng.random() < acc[a] else rng.integers(0, 4)
            rows.append((f"it{i}", f"w{a}", names[lab]))
    df = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("method", ["dawid_skene", "majority"])
def test_consensus_equals_pandas(method: str) -> None:
    df = _annotations(0)
    want = assay.consensus(df, method=method)
    got = assay.consensus(dd.from_pandas(df, npartitions=4), method=method)
    assert got.n_iter == want.n_iter
    labels = got.labels.compute().loc[want.labels.index]
    assert (labels["label"] == want.labels["label"]).all()
    np.testing.assert_allclose(labels["quality"], want.labels["quality"], rtol=1e-9, atol=1e-12)
    probas = got.probas.compute().loc[want.labels.index]
    np.testing.assert_allclose(probas.to_numpy(), want.probas.to_numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.confusion, want.confusion, rtol=1e-9, atol=1e-12)
    ann = got.annotators.loc[want.annotators.index]
    np.testing.assert_allclose(ann.to_numpy(float), want.annotators.to_numpy(float), rtol=1e-9)
    if method == "dawid_skene":
        assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_agreement_equals_pandas(level: str) -> None:
    df = _annotations(1)
    want = assay.agreement(df, level=level, ci=False)
    got = assay.agreement(dd.from_pandas(df, npartitions=3), level=level)
    for name in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha",
                 "mean_cohen_kappa", "hlp"):
        assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-9, abs=1e-12)
    assert (got.n_items, got.n_single, got.n_annotations) == (
        want.n_items, want.n_single, want.n_annotations)
    pd.testing.assert_frame_equal(got.cohen_kappa, want.cohen_kappa)
    pd.testing.assert_frame_equal(got.pairs, want.pairs)
    pd.testing.assert_frame_equal(got.confusion, want.confusion)
    pd.testing.assert_frame_equal(got.annotators, want.annotators, check_dtype=False)
    pd.testing.assert_frame_equal(got.per_class.drop(columns="examples"),
                                  want.per_class.drop(columns="examples"), check_dtype=False)
    np.testing.assert_allclose(np.sort(got.disagreements["disagreement"]),
                               np.sort(want.disagreements["disagreement"]))


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_intervals_equal_the_in_memory_bootstrap(level: str) -> None:
    """Both draw over the items' class-count patterns with the same seed: same intervals
    (Cohen's kappa, whose items do not repeat, takes the delta method's on Dask)."""
    df = _annotations(4)
    want = assay.agreement(df, level=level, n_boot=300, seed=7)
    delta = assay.agreement(df, level=level, ci_method="delta")
    got = assay.agreement(dd.from_pandas(df, npartitions=3), level=level, n_boot=300, seed=7)
    assert set(got.ci) == set(want.ci)
    for key, (low, high) in got.ci.items():
        expected = delta.ci[key] if key == "cohen_kappa" else want.ci[key]
        assert (low, high) == pytest.approx(expected, rel=1e-9), key
        name = "mean_cohen_kappa" if key == "cohen_kappa" else key
        assert low < getattr(got, name) < high
    other_seed = assay.agreement(dd.from_pandas(df, npartitions=2), level=level, n_boot=300,
                                 seed=8)
    assert other_seed.ci["fleiss_kappa"] != got.ci["fleiss_kappa"]


@pytest.mark.parametrize(("level", "parts"), [("nominal", 1), ("ordinal", 4), ("interval", 7)])
def test_delta_intervals_equal_the_in_memory_ones(level: str, parts: int) -> None:
    """The influences' moments merged over any partitioning give the in-memory
    standard errors (the width tells the two apart: a wrong merge changes it)."""
    df = _annotations(6).assign(label=lambda d: d["label"].map(
        {"cat": 1, "dog": 2, "eel": 3, "fox": 5}) if level == "interval" else d["label"])
    want = assay.agreement(df, level=level, ci_method="delta")
    got = assay.agreement(dd.from_pandas(df, npartitions=parts), level=level,
                          ci_method="delta")
    assert set(got.ci) == set(want.ci) == {"percent_agreement", "fleiss_kappa",
                                            "krippendorff_alpha", "cohen_kappa"}
    for key, (low, high) in got.ci.items():
        assert (low, high) == pytest.approx(want.ci[key], rel=1e-9), key
        assert high - low > 0.005, key


def test_too_many_patterns_fall_back_to_the_delta_method(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assay.collect import _dask as dask_path

    monkeypatch.setattr(dask_path, "MAX_PATTERNS", 5)
    df = _annotations(5, n_items=300)
    with pytest.warns(UserWarning, match="more than 5 distinct patterns.*delta"):
        report = assay.agreement(dd.from_pandas(df, npartitions=2))
    want = assay.agreement(df, ci_method="delta")
    for key, bounds in want.ci.items():
        assert report.ci[key] == pytest.approx(bounds, rel=1e-9), key


def test_refused_options() -> None:
    ddf = dd.from_pandas(_annotations(2, n_items=50), npartitions=2)
    with pytest.raises(InputError, match="Dask"):
        assay.consensus(ddf, gold={"it1": "cat"})
    with pytest.raises(InputError, match="classes"):
        assay.agreement(ddf.assign(label=1.5))


def test_on_a_local_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    df = _annotations(3, n_items=400)
    want = assay.consensus(df, method="dawid_skene")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c), dask.config.set(scheduler=None):
        got = assay.consensus(dd.from_pandas(df, npartitions=3), method="dawid_skene")
        labels = got.labels.compute().loc[want.labels.index]
        report = assay.agreement(dd.from_pandas(df, npartitions=2))
    assert (labels["label"] == want.labels["label"]).all()
    assert report.krippendorff_alpha == pytest.approx(
        assay.agreement(df, ci=False).krippendorff_alpha, rel=1e-9)
