"""Per-label CBPE: estimated micro / macro F1 and Hamming loss without labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, hamming_loss

from assay.deploy.estimate_multilabel import MultilabelConfidenceEstimator
from assay.exceptions import InputError

K = 6
NAMES = ["a", "b", "c", "d", "e", "f"]


def _calibrated(n: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated model: label j applies with exactly the predicted probability."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(shift, 1.5, (n, K)) + np.linspace(-2, 1, K)
    probs = 1 / (1 + np.exp(-logits))
    return probs, (rng.random((n, K)) < probs).astype(int)


@pytest.fixture(scope="module")
def estimator() -> MultilabelConfidenceEstimator:
    probs, truth = _calibrated(5_000, 0)
    return MultilabelConfidenceEstimator().fit(probs, truth, classes=NAMES)


@pytest.mark.parametrize("shift", [0.0, -0.7, 0.7])
def test_estimates_follow_realised_under_covariate_shift(estimator, shift: float) -> None:
    probs, truth = _calibrated(3_000, 1, shift)
    decided = probs >= 0.5
    out = estimator.estimate(probs).iloc[0]
    realised = {"micro_f1": f1_score(truth, decided, average="micro"),
                "macro_f1": f1_score(truth, decided, average="macro"),
                "hamming_loss": hamming_loss(truth, decided)}
    for metric, value in realised.items():
        assert out[f"estimated_{metric}"] == pytest.approx(value, abs=0.02), metric
        assert out[f"estimated_{metric}_low"] - 0.01 <= value <= out[
            f"estimated_{metric}_high"] + 0.01, metric
    per_label = estimator.estimate_per_label(probs)
    assert per_label.index.tolist() == NAMES
    np.testing.assert_allclose(per_label["estimated_f1"],
                               f1_score(truth, decided, average=None), atol=0.05)


def test_bands_cover_on_most_windows_and_alert_on_a_drop(estimator) -> None:
    probs, truth = _calibrated(8_000, 2)
    window = np.repeat(np.arange(8), 1_000)
    out = estimator.estimate(probs, window=window)
    covered = 0
    for w in range(8):
        rows = window == w
        value = f1_score(truth[rows], probs[rows] >= 0.5, average="micro")
        row = out.loc[w]
        covered += row["estimated_micro_f1_low"] <= value <= row["estimated_micro_f1_high"]
    assert covered >= 6
    assert not out["alert"].any()
    worse, _ = _calibrated(1_000, 3, shift=-1.5)  # fewer positives: lower F1
    assert estimator.estimate(worse).iloc[0]["alert"]


def test_label_sets_and_round_trip(estimator) -> None:
    probs, truth = _calibrated(600, 4)
    sets = [[NAMES[j] for j in np.flatnonzero(row)] for row in truth]
    again = MultilabelConfidenceEstimator().fit(probs, sets, classes=NAMES)
    direct = MultilabelConfidenceEstimator().fit(probs, truth, classes=NAMES)
    np.testing.assert_allclose(again.label_probabilities(probs),
                               direct.label_probabilities(probs))
    copy = MultilabelConfidenceEstimator.from_dict(json.loads(json.dumps(estimator.to_dict())))
    np.testing.assert_allclose(copy.label_probabilities(probs),
                               estimator.label_probabilities(probs))


def test_bad_input_is_refused(estimator) -> None:
    probs, truth = _calibrated(100, 5)
    bad = probs.copy()
    bad[7, 2] = np.nan
    with pytest.raises(InputError, match=r"row 7 \(0-based\).*not a probability"):
        estimator.estimate(bad)
    with pytest.raises(InputError, match="fitted on 6 labels"):
        estimator.estimate(probs[:, :4])
    with pytest.raises(InputError, match="one 0/1 per row and label"):
        MultilabelConfidenceEstimator().fit(probs, truth[:50])
    with pytest.raises(InputError, match="give classes="):
        MultilabelConfidenceEstimator().fit(probs, [["a"]] * 100)
    with pytest.raises(InputError, match="'z', not among classes"):
        MultilabelConfidenceEstimator().fit(probs, [["z"]] * 100, classes=NAMES)
    with pytest.raises(InputError, match="one window label per row"):
        estimator.estimate(probs, window=[1])
    with pytest.raises(InputError, match="not fitted"):
        MultilabelConfidenceEstimator().estimate(probs)
    with pytest.raises(InputError, match="threshold"):
        MultilabelConfidenceEstimator(threshold=1.0).fit(probs, truth)
