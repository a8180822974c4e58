"""Sampling production rows for labeling: targeted, with an unbiased random share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.deploy import domain_classifier_scores, horvitz_thompson_mean, sample_for_labeling
from assay.exceptions import InputError


def _batch(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "conf": rng.random(n),
                         "drift": rng.random(n) ** 3})


def test_sizes_flags_and_probabilities() -> None:
    batch = _batch()
    out = sample_for_labeling(batch, n=100, drift_scores="drift", confidence="conf",
                              random_share=0.2, seed=1)
    assert len(out) == 100 and out.index.is_unique
    assert out["random"].sum() == 20
    assert set(out.loc[out["random"], "reason"]) == {"random"}
    assert set(out.loc[~out["random"], "reason"]) <= {"drift", "low_confidence"}
    assert np.allclose(out.loc[out["random"], "inclusion_probability"], 20 / 2_000)
    assert (out["inclusion_probability"] > 0).all() and (out["inclusion_probability"] <= 1).all()
    targeted = out[~out["random"]]
    assert targeted["score"].is_monotonic_decreasing
    # targeted rows lean toward high drift and low confidence
    # (expected shift for PPS on the mean score: about +0.10 and -0.11 here)
    assert targeted["drift"].mean() > batch["drift"].mean() + 0.05
    assert targeted["conf"].mean() < batch["conf"].mean() - 0.05


def test_horvitz_thompson_is_unbiased_on_both_parts() -> None:
    batch = _batch(1_000, seed=2)
    truth = (batch["conf"] > 0.3).astype(float)  # e.g. "model was right"
    random_est, weighted_est = [], []
    for seed in range(300):
        out = sample_for_labeling(batch, n=60, drift_scores="drift", confidence="conf",
                                  seed=seed)
        rnd = out[out["random"]]
        random_est.append(horvitz_thompson_mean(truth[rnd.index], rnd["inclusion_probability"],
                                                len(batch)))
        tgt = out[~out["random"]]
        rest = len(batch) - len(rnd)
        weighted_est.append(horvitz_thompson_mean(truth[tgt.index], tgt["inclusion_probability"],
                                                  rest) * rest / len(batch)
                            + truth[rnd.index].sum() / len(batch))
    assert np.mean(random_est) == pytest.approx(truth.mean(), abs=0.02)
    assert np.mean(weighted_est) == pytest.approx(truth.mean(), abs=0.02)
    # the naive mean of the targeted rows is biased (they are low-confidence rows)
    out = sample_for_labeling(batch, n=60, drift_scores="drift", confidence="conf", seed=0)
    assert truth[out[~out["random"]].index].mean() < truth.mean() - 0.1


def test_without_scores_everything_is_random_and_n_is_capped() -> None:
    batch = _batch(50)
    out = sample_for_labeling(batch, n=10)
    assert out["random"].all() and (out["reason"] == "random").all()
    assert len(sample_for_labeling(batch, n=500, confidence="conf")) == 50


def test_bad_input() -> None:
    batch = _batch(20)
    with pytest.raises(InputError, match="not a column"):
        sample_for_labeling(batch, n=5, confidence="nope")
    with pytest.raises(InputError, match=r"in \[0, 1\]"):
        sample_for_labeling(batch, n=5, confidence=np.full(20, 2.0))
    with pytest.raises(InputError, match="one score per batch row"):
        sample_for_labeling(batch, n=5, drift_scores=np.zeros(3))
    with pytest.raises(InputError, match="'n' parameter"):
        sample_for_labeling(batch, n=0)
    with pytest.raises(InputError, match="non-empty"):
        sample_for_labeling(batch.iloc[:0], n=3)


def test_domain_classifier_scores_find_the_drifted_region() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"a": rng.normal(size=1_500), "c": rng.choice(["u", "v"], 1_500)})
    cur = pd.DataFrame({"a": np.r_[rng.normal(size=1_000), rng.normal(4, 0.5, 500)],
                        "c": rng.choice(["u", "v"], 1_500)})
    scores = domain_classifier_scores(ref, cur, seed=0)
    assert scores.shape == (1_500,)
    assert scores[1_000:].mean() > 0.85 and abs(scores[:1_000].mean() - 0.5) < 0.1
