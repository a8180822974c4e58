"""find_label_issues on Dask arrays equals the in-memory path (small sizes, no cluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import assay
from assay.exceptions import InputError

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _noisy(seed: int, n: int = 4000, k: int = 4, dtype: type = np.float64):
    """Labels with 20% flipped, and probabilities of a fair model (one class shifted)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) * rng.uniform(0.5, 1.5)
    logits[np.arange(n), truth] += rng.uniform(0.5, 2.5)
    logits[:, 0] += rng.uniform(-1, 1)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = truth.copy()
    flip = rng.random(n) < 0.2
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    return labels, probs.astype(dtype)


@pytest.mark.parametrize("method", ["prune_by_noise_rate", "prune_by_class", "both",
                                    "confident_learning"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_flags_and_scores_as_pandas(method: str, seed: int) -> None:
    labels, probs = _noisy(seed, dtype=np.float32 if seed == 2 else np.float64)
    score = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")[seed]
    want = assay.find_label_issues(labels, probs, method=method, score=score)
    lazy = assay.find_label_issues(da.from_array(labels, chunks=900),
                                   da.from_array(probs, chunks=(700, 2)),
                                   method=method, score=score)
    assert type(lazy).__module__.startswith("dask")
    got = lazy.compute()
    assert got["is_label_issue"].sum() > 0
    pd.testing.assert_index_equal(got.index, want.index, exact=False)
    np.testing.assert_array_equal(got["is_label_issue"], want["is_label_issue"])
    np.testing.assert_allclose(got["label_quality"], want["label_quality"], atol=1e-9)
    np.testing.assert_array_equal(got["suggested_label"], want["suggested_label"])


def test_string_labels_and_classes() -> None:
    codes, probs = _noisy(3, k=3)
    names = np.array(["cat", "dog", "eel"])
    want = assay.find_label_issues(names[codes], probs)
    got = assay.find_label_issues(da.from_array(names[codes], chunks=1000),
                                  da.from_array(probs, chunks=(1000, 3))).compute()
    np.testing.assert_array_equal(got["is_label_issue"], want["is_label_issue"])
    assert list(got["given_label"]) == list(want["given_label"])
    rev = ["eel", "dog", "cat"]
    want = assay.find_label_issues(names[codes], probs[:, ::-1], classes=rev)
    got = assay.find_label_issues(names[codes], da.from_array(probs[:, ::-1].copy(),
                                  chunks=(1500, 3)), classes=rev).compute()
    np.testing.assert_array_equal(got["is_label_issue"], want["is_label_issue"])


def test_bad_input_is_refused() -> None:
    labels, probs = _noisy(4, n=500)
    bad = probs.copy()
    bad[7, 0] = np.nan
    with pytest.raises(InputError):
        assay.find_label_issues(da.from_array(labels, chunks=100), da.from_array(bad, chunks=100))
    with pytest.raises(InputError, match="one label per row"):
        assay.find_label_issues(da.from_array(labels[:-1]), da.from_array(probs))
    with pytest.raises(InputError, match="classification"):
        assay.find_label_issues(da.from_array(labels), da.from_array(probs), task="multilabel")


def test_on_a_local_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    labels, probs = _noisy(5, n=3000)
    want = assay.find_label_issues(labels, probs)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c), dask.config.set(scheduler=None):
        got = assay.find_label_issues(da.from_array(labels, chunks=800),
                                      da.from_array(probs, chunks=(800, 4))).compute()
    np.testing.assert_array_equal(got["is_label_issue"], want["is_label_issue"])
