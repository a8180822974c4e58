"""Realised performance with Wilson intervals, and confidence-based estimation (CBPE)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.deploy import ConfidenceEstimator, realised_performance, wilson_interval
from assay.exceptions import InputError


def test_wilson_matches_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    k, n = np.array([0, 3, 50, 99, 100]), np.array([10, 10, 100, 100, 100])
    low, high = wilson_interval(k, n, confidence=0.9)
    ref_low, ref_high = proportion.proportion_confint(k, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)
    assert wilson_interval([0], [0]) == (0.0, 1.0)


def test_realised_performance_per_window() -> None:
    truth = np.array([0, 1, 1, 0, 1, 1, 0, 0])
    pred = np.array([0, 1, 0, 0, 1, 1, 1, 1])
    out: Any = realised_performance(truth, pred, window=["a"] * 4 + ["b"] * 4)
    assert out.loc["a", "accuracy"] == 0.75 and out.loc["b", "accuracy"] == 0.5
    assert out.loc["a", "n_correct"] == 3
    assert out.loc["a", "accuracy_low"] < 0.75 < out.loc["a", "accuracy_high"]
    assert out.loc["b", "macro_f1"] == pytest.approx(0.5 * (2 / 3 + 0))
    with pytest.raises(InputError, match="one prediction per label"):
        realised_performance(truth, pred[:3])
    with pytest.raises(InputError, match="one window label per row"):
        realised_performance(truth, pred, window=[1, 2])


def test_missing_truth_is_named_by_index_label_or_position() -> None:
    truth = pd.Series([0, 1, None, 0], index=[40, 41, 42, 43], dtype="float")
    pred = np.array([0, 1, 1, 0])
    with pytest.raises(InputError, match=r"y_true index 42 is missing; drop unlabelled rows"):
        realised_performance(truth, pred)
    with pytest.raises(InputError, match=r"y_true position 2 \(0-based\) is missing"):
        realised_performance(truth.to_numpy(), pred)


@pytest.mark.parametrize("method", ["isotonic", "temperature"])
def test_cbpe_on_mnist_covers_realised_accuracy(mnist_probs, method: str) -> None:
    probs, labels = mnist_probs
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(labels))
    ref, cur = perm[:5_000], perm[5_000:]
    est = ConfidenceEstimator(method=method).fit(probs[ref], labels[ref])
    # a shifted production mix: the hardest half of the current rows (low confidence)
    conf = probs[cur].max(axis=1)
    hard = cur[conf < np.quantile(conf, 0.5)]
    for rows in (cur, hard):
        out = est.estimate(probs[rows])
        realised = float((probs[rows].argmax(axis=1) == labels[rows]).mean())
        row = out.iloc[0]
        assert row["estimated_accuracy_low"] - 0.01 <= realised <= row[
            "estimated_accuracy_high"] + 0.01, (method, realised, row.to_dict())
    again = ConfidenceEstimator.from_dict(json.loads(json.dumps(est.to_dict())))
    np.testing.assert_allclose(again.calibrated_confidence(probs[cur]),
                               est.calibrated_confidence(probs[cur]))


def test_cbpe_interval_covers_on_synthetic_calibrated_model() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(40):
        p1 = rng.beta(4, 2, 4_000)  # calibrated binary model: P(y=1) = p1
        y = (rng.random(4_000) < p1).astype(int)
        probs = np.c_[1 - p1, p1]
        est = ConfidenceEstimator().fit(probs[:2_000], y[:2_000])
        out = est.estimate(probs[2_000:]).iloc[0]
        realised = (probs[2_000:].argmax(axis=1) == y[2_000:]).mean()
        covered += out["estimated_accuracy_low"] <= realised <= out["estimated_accuracy_high"]
    assert covered >= 34  # nominal 95%


def test_cbpe_windows_and_errors() -> None:
    est = ConfidenceEstimator()
    with pytest.raises(InputError, match="not fitted"):
        est.estimate(np.array([[0.5, 0.5]]))
    with pytest.raises(InputError, match="'method' parameter"):
        ConfidenceEstimator(method="platt").fit(np.array([[0.5, 0.5]]), [0])
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]] * 10)
    est.fit(probs, [0, 1, 1, 1] * 10)
    out = est.estimate(probs, window=[1, 2] * 20)
    assert list(out.index) == [1, 2] and (out["n"] == 20).all()
