"""Delta-method intervals (``agreement(ci_method="delta")``) against the 1,000-resample
percentile bootstrap on real crowd data.

Tolerance: for percent agreement, Fleiss' kappa and Krippendorff's alpha each endpoint
lies within 6% of the bootstrap interval's width of the bootstrap's endpoint (the
bootstrap's own Monte Carlo error at 1,000 resamples is a few percent of its width).
The mean Cohen's kappa is compared by width (within 10%): its bootstrap distribution is
shifted below the estimate by the small-sample bias of kappa that resampling repeats
(see :mod:`assay.collect._bootstrap`), while the delta interval is centred on the
estimate.
"""

from __future__ import annotations

import warnings

import pytest

from assay.collect.agreement import agreement
from assay.exceptions import InputError

EXACT = ("percent_agreement", "fleiss_kappa", "krippendorff_alpha")


def _both(df, level: str = "nominal") -> tuple[dict, dict, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        boot = agreement(df, level=level, n_boot=1000)
        delta = agreement(df, level=level, ci_method="delta")
    return boot.ci, delta.ci, delta


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("BarzanMozafari", "nominal"),
        ("HITspam-UsingMTurk", "nominal"),
        ("AdultContent2", "ordinal"),
    ],
)
def test_delta_interval_matches_the_bootstrap_on_crowd_data(crowd, name: str, level: str) -> None:
    boot, delta, report = _both(crowd(name), level)
    assert set(delta) == set(boot)
    for key in EXACT:
        width = boot[key][1] - boot[key][0]
        assert width > 0
        assert abs(delta[key][0] - boot[key][0]) <= 0.06 * width, (key, boot[key], delta[key])
        assert abs(delta[key][1] - boot[key][1]) <= 0.06 * width, (key, boot[key], delta[key])
    width = boot["cohen_kappa"][1] - boot["cohen_kappa"][0]
    assert delta["cohen_kappa"][1] - delta["cohen_kappa"][0] == pytest.approx(width, rel=0.10)
    low, high = delta["cohen_kappa"]
    assert (low + high) / 2 == pytest.approx(report.mean_cohen_kappa, abs=1e-9)


def test_delta_is_not_the_default_and_names_a_bad_method(crowd) -> None:
    df = crowd("BarzanMozafari")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert agreement(df, n_boot=50).ci == agreement(df, n_boot=50, ci_method="bootstrap").ci
        with pytest.raises(InputError, match="ci_method"):
            agreement(df, ci_method="jackknife")


def test_delta_interval_of_perfect_agreement_is_a_point() -> None:
    import pandas as pd

    df = pd.DataFrame(
        {"item": [1, 1, 2, 2, 3, 3], "annotator": list("ababab"), "label": list("xxyyxx")}
    )
    ci = agreement(df, ci_method="delta").ci
    assert ci["percent_agreement"] == pytest.approx((1.0, 1.0))
    assert ci["fleiss_kappa"] == pytest.approx((1.0, 1.0))


def test_delta_intervals_stay_within_the_statistics_range() -> None:
    """Two labelers agreeing on 29 of 30 items: kappa near 1, where theta + 1.96 se
    passes 1; the interval stops at 1 (a new user saw 0.933 [0.844, 1.023])."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    truth = rng.choice(["cat", "dog", "fox"], 30)
    other = truth.copy()
    other[0] = "fox" if truth[0] != "fox" else "cat"
    df = pd.DataFrame(
        {
            "item": np.tile(np.arange(30), 2),
            "annotator": ["ann"] * 30 + ["ben"] * 30,
            "label": np.concatenate([truth, other]),
        }
    )
    report = agreement(df, ci_method="delta")
    for key, (low, high) in report.ci.items():
        assert -1.0 <= low <= high <= 1.0, (key, low, high)
    assert report.ci["percent_agreement"][0] >= 0.0
    assert report.ci["cohen_kappa"][1] == 1.0  # clipped: unclipped it is above 1
