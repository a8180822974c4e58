"""Two-sample statistics against scipy / statsmodels reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from assay.deploy._stats import (
    adjust_pvalues,
    chi_square_js,
    ks_pvalue,
    ks_wasserstein,
    psi,
    two_proportion_test,
)


@pytest.mark.parametrize("ties", [False, True])
def test_ks_and_wasserstein_match_scipy(ties: bool) -> None:
    rng = np.random.default_rng(0)
    for _ in range(60):
        n, m = rng.integers(1, 400, 2)
        if ties:
            a, b = rng.integers(0, 6, n).astype(float), rng.integers(1, 7, m).astype(float)
        else:
            a, b = rng.normal(size=n), rng.normal(0.2, 1.3, size=m)
        a.sort()
        b.sort()
        ks, w1 = ks_wasserstein(a, b)
        assert ks == pytest.approx(stats.ks_2samp(a, b).statistic)
        assert w1 == pytest.approx(stats.wasserstein_distance(a, b))


def test_ks_pvalue_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    for n, m in [(20, 30), (300, 500), (5_000, 40_000)]:
        a, b = np.sort(rng.normal(size=n)), np.sort(rng.normal(0.05, 1, size=m))
        ks, _ = ks_wasserstein(a, b)
        method = "exact" if n * m <= 10_000 else "asymp"
        expected = stats.ks_2samp(a, b, method=method).pvalue
        assert ks_pvalue(ks, n, m, a, b) == pytest.approx(expected, abs=2e-3)


def test_psi_by_hand() -> None:
    ref, cur = np.array([50, 50]), np.array([25, 75])
    expected = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert psi(ref, cur) == pytest.approx(expected)
    assert psi(ref, ref) == 0.0


def test_chi_square_and_js_match_scipy() -> None:
    ref, cur = np.array([30.0, 50.0, 20.0, 0.0]), np.array([10.0, 40.0, 30.0, 5.0])
    chi2, p, js = chi_square_js(ref, cur)
    expected = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert chi2 == pytest.approx(expected.statistic) and p == pytest.approx(expected.pvalue)
    assert js == pytest.approx(jensenshannon(ref, cur, base=2))
    assert chi_square_js(np.array([5.0]), np.array([7.0])) == (0.0, 1.0, 0.0)


def test_two_proportion_matches_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    z, p = two_proportion_test(30, 1_000, 60, 1_200)
    z_ref, p_ref = proportion.proportions_ztest([60, 30], [1_200, 1_000])
    assert z == pytest.approx(z_ref) and p == pytest.approx(p_ref)
    assert two_proportion_test(0, 10, 0, 20) == (0.0, 1.0)


@pytest.mark.parametrize(("method", "sm_method"), [("bh", "fdr_bh"), ("holm", "holm")])
def test_adjust_matches_statsmodels(method: str, sm_method: str) -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(2)
    p = rng.random(30) ** 3
    expected = multitest.multipletests(p, method=sm_method)[1]
    np.testing.assert_allclose(adjust_pvalues(p, method), expected)
    with_nan = np.r_[p[:3], np.nan]
    out = adjust_pvalues(with_nan, method)
    assert np.isnan(out[-1])
    np.testing.assert_allclose(out[:3], multitest.multipletests(p[:3], method=sm_method)[1])


def test_mmd_pvalue_is_calibrated_under_the_null_and_powerful_under_a_shift() -> None:
    from assay.deploy._domain import mmd_test

    rng = np.random.default_rng(3)
    null = [mmd_test(rng.normal(size=(80, 3)), rng.normal(size=(80, 3)), n_permutations=60,
                     seed=i)[1] for i in range(40)]
    assert np.mean(np.array(null) < 0.05) <= 0.125  # about 5% (binomial noise allowed)
    _, p = mmd_test(rng.normal(size=(80, 3)), rng.normal(0.6, 1, size=(80, 3)),
                    n_permutations=60, seed=0)
    assert p < 1e-4
