"""The shared interval statistics (assay._stats) against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from assay._stats import bootstrap_indices, percentile_interval, wilson_interval


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_matches_scipy_for_scalars_and_arrays(confidence: float) -> None:
    k, n = np.array([0, 1, 3, 50, 99, 100]), np.array([10, 7, 20, 100, 100, 100])
    low, high = wilson_interval(k, n, confidence=confidence)
    assert isinstance(low, np.ndarray) and low.shape == (6,)
    for i in range(len(k)):
        ci = stats.binomtest(int(k[i]), int(n[i])).proportion_ci(
            confidence_level=confidence, method="wilson")
        assert (low[i], high[i]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        one = wilson_interval(int(k[i]), int(n[i]), confidence=confidence)
        assert all(type(v) is float for v in one)
        assert one == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_matches_statsmodels_for_fractional_counts() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    k, n = np.array([0.5, 2.25, 7.0]), np.array([3.0, 9.5, 7.0])
    low, high = wilson_interval(k, n, confidence=0.9)
    ref_low, ref_high = proportion.proportion_confint(k, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_wilson_with_no_trials_is_the_uninformative_interval() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval([0, 2, 0], [0, 4, 0])
    assert low[0] == 0.0 and high[0] == 1.0 and low[2] == 0.0 and high[2] == 1.0
    assert 0.0 < low[1] < 0.5 < high[1] < 1.0


def test_percentile_interval_ignores_nan_and_is_nan_when_empty() -> None:
    values = np.concatenate([np.arange(101.0), [np.nan, np.inf]])
    assert percentile_interval(values) == pytest.approx((2.5, 97.5))
    assert percentile_interval(values, confidence=0.5) == pytest.approx((25.0, 75.0))
    low, high = percentile_interval(np.array([np.nan]))
    assert np.isnan(low) and np.isnan(high)


def test_bootstrap_indices_are_seeded_and_chunked() -> None:
    chunks = list(bootstrap_indices(1_500_000, 3, seed=1))
    assert [c.shape for c in chunks] == [(1, 1_500_000)] * 3
    a = np.vstack(list(bootstrap_indices(10, 50, seed=3)))
    b = np.vstack(list(bootstrap_indices(10, 50, seed=3)))
    assert a.shape == (50, 10) and (a == b).all() and a.min() >= 0 and a.max() < 10
