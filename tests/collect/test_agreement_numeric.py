"""Agreement of numeric labels: anchored on krippendorff, an ANOVA, and constructed cases."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.collect import agreement
from assay.collect._icc import complete_block, icc_table
from assay.collect.agreement import AgreementReport
from assay.collect.agreement_numeric import NumericAgreementReport, numeric_agreement
from assay.exceptions import InputError

TOL = 1e-9
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "regression"


def simulate(truth: np.ndarray, n_annotators: int = 5, per_item: int = 3, seed: int = 0,
             noise: float = 1.0) -> pd.DataFrame:
    """Annotators with an offset, a scale and noise, ``per_item`` of them per item."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    offset = rng.normal(0, noise, n_annotators)
    scale = rng.uniform(0.8, 1.2, n_annotators)
    who = np.argsort(rng.random((n, n_annotators)), axis=1)[:, :per_item]
    centre = truth.mean()
    value = (centre + scale[who] * (truth[:, None] - centre) + offset[who]
             + rng.normal(0, noise, who.shape))
    return pd.DataFrame({"item": np.repeat(np.arange(n), per_item),
                         "annotator": [f"r{j}" for j in who.ravel()], "label": value.ravel()})


def _wide(df: pd.DataFrame) -> np.ndarray:
    return df.pivot(index="annotator", columns="item", values="label").to_numpy(dtype=float)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", ["interval", "ratio"])
def test_alpha_equals_krippendorff_on_incomplete_designs(seed: int, level: str) -> None:
    kd = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(seed)
    df = simulate(rng.gamma(2.0, 10.0, 400), n_annotators=7, per_item=3, seed=seed)
    df = df.sample(frac=0.8, random_state=seed)  # unequal numbers per item, singles
    df["label"] = df["label"].abs().round(0)  # the package is O(items x values^2)
    rep = _quiet(numeric_agreement, df, level=level, ci=False)
    ref = kd.alpha(reliability_data=_wide(df), level_of_measurement=level)
    assert rep.krippendorff_alpha == pytest.approx(ref, abs=TOL)
    assert rep.n_single > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_ratio_alpha_on_continuous_values_with_zeros_equals_krippendorff(seed: int) -> None:
    kd = pytest.importorskip("krippendorff")
    rng = np.random.default_rng(seed)
    df = simulate(rng.gamma(1.5, 3.0, 80), n_annotators=5, per_item=3, seed=seed, noise=2.0)
    df["label"] = np.where(df["label"] < 1.0, 0.0, df["label"])  # zeros, no negatives
    df = df.sample(frac=0.85, random_state=seed)
    rep = _quiet(numeric_agreement, df, level="ratio", ci=False)
    ref = kd.alpha(reliability_data=_wide(df), level_of_measurement="ratio")
    assert (df["label"] == 0).sum() > 5
    assert rep.krippendorff_alpha == pytest.approx(ref, abs=TOL)


@pytest.mark.parametrize("kind", ["gamma", "lognormal", "rounded", "one value"])
def test_ratio_node_sums_equal_the_full_exponential(kind: str) -> None:
    from assay.collect._numeric import _log_nodes
    from assay.collect._ratio import _node_sums

    rng = np.random.default_rng(5)
    x = {"gamma": rng.gamma(2.0, 10.0, 5000), "lognormal": rng.lognormal(0.0, 4.0, 5000),
         "rounded": np.round(rng.gamma(2.0, 10.0, 5000), 1) + 0.1,
         "one value": np.full(10, 3.0)}[kind]
    uniq, count = np.unique(x, return_counts=True)
    v = uniq / uniq[-1]
    nodes = _log_nodes(v)
    ref = (v * count) @ np.exp(-np.outer(v, nodes)) * nodes
    got = _node_sums(x)
    assert np.abs(got - ref).max() <= 1e-13 * ref.max()


def test_ratio_alpha_without_and_with_the_bootstrap_agree() -> None:
    """The point estimate from value totals equals the one from per-item features."""
    rng = np.random.default_rng(4)
    df = simulate(rng.gamma(2.0, 10.0, 3000), n_annotators=6, per_item=3, seed=4)
    df["label"] = df["label"].abs()
    fast = numeric_agreement(df, level="ratio", ci=False).krippendorff_alpha
    full = numeric_agreement(df, level="ratio", n_boot=5).krippendorff_alpha
    assert fast == pytest.approx(full, abs=1e-12)


def test_alpha_on_real_targets_equals_krippendorff() -> None:
    kd = pytest.importorskip("krippendorff")
    wine = DATA / "wine-quality" / "winequality-red.csv"
    bikes = DATA / "bike-sharing" / "day.csv"
    if not wine.is_file() or not bikes.is_file():
        pytest.skip(f"real regression data not found under {DATA}")
    # wine: integer grades as the experts gave; bikes: counts read to the nearest 100
    # (the package is O(items x distinct values^2))
    for truth, noise, unit in ((pd.read_csv(wine, sep=";")["quality"].to_numpy(float), 0.7, 1),
                               (pd.read_csv(bikes)["cnt"].to_numpy(float), 600.0, 100)):
        df = simulate(truth, n_annotators=4, per_item=3, noise=noise, seed=3)
        df["label"] = (df["label"].abs() / unit).round() * unit
        for level in ("interval", "ratio"):
            rep = numeric_agreement(df, level=level, ci=False)
            ref = kd.alpha(reliability_data=_wide(df), level_of_measurement=level)
            assert rep.krippendorff_alpha == pytest.approx(ref, abs=TOL)


def _anova_icc(table: np.ndarray) -> tuple[float, float]:
    """ICC(2,1) and ICC(3,1) from statsmodels' two-way ANOVA of rating ~ item + rater."""
    sm = pytest.importorskip("statsmodels.formula.api")
    anova_lm = pytest.importorskip("statsmodels.stats.anova").anova_lm
    n, k = table.shape
    long = pd.DataFrame({"y": table.ravel(), "item": np.repeat(np.arange(n), k).astype(str),
                         "rater": np.tile(np.arange(k), n).astype(str)})
    aov = anova_lm(sm.ols("y ~ C(item) + C(rater)", data=long).fit())
    ms = aov["sum_sq"] / aov["df"]
    msr, msc, mse = ms["C(item)"], ms["C(rater)"], ms["Residual"]
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    return icc2, icc3


def test_icc_equals_a_two_way_anova_on_complete_data() -> None:
    rng = np.random.default_rng(4)
    df = simulate(rng.normal(50, 10, 120), n_annotators=4, per_item=4, noise=4.0, seed=4)
    rep = numeric_agreement(df, ci=False)
    table = df.pivot(index="item", columns="annotator", values="label").to_numpy()
    icc2, icc3 = _anova_icc(table)
    assert rep.icc.loc["ICC(2,1)", "icc"] == pytest.approx(icc2, abs=TOL)
    assert rep.icc.loc["ICC(3,1)", "icc"] == pytest.approx(icc3, abs=TOL)
    assert (rep.icc["n_items"] == 120).all() and (rep.icc["n_raters"] == 4).all()
    assert (rep.icc["low"] < rep.icc["icc"]).all() and (rep.icc["icc"] < rep.icc["high"]).all()


def test_icc_reproduces_shrout_and_fleiss_with_psych_intervals() -> None:
    # Shrout & Fleiss (1979), table 2: 6 targets x 4 judges; R psych::ICC's output
    table = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                      [6, 2, 4, 7]], dtype=float)
    out = icc_table(table, list("abcd"))
    assert out.loc["ICC(2,1)", ["icc", "low", "high"]].tolist() == pytest.approx(
        [0.29, 0.019, 0.76], abs=0.006)
    assert out.loc["ICC(3,1)", ["icc", "low", "high"]].tolist() == pytest.approx(
        [0.71, 0.342, 0.95], abs=0.006)
    assert out.loc["ICC(3,1)", "F"] == pytest.approx(11.0, abs=0.05)


def test_icc_on_an_incomplete_design_uses_the_largest_complete_block() -> None:
    rng = np.random.default_rng(5)
    full = simulate(rng.normal(0, 5, 90), n_annotators=3, per_item=3, seed=5)
    extra = simulate(rng.normal(0, 5, 20), n_annotators=2, per_item=2, seed=6)
    extra["item"] += 1000
    df = pd.concat([full, extra], ignore_index=True)
    rep = _quiet(numeric_agreement, df, ci=False)
    assert (rep.icc["n_items"] == 90).all() and (rep.icc["n_raters"] == 3).all()
    table = full.pivot(index="item", columns="annotator", values="label").to_numpy()
    icc2, _ = _anova_icc(table)
    assert rep.icc.loc["ICC(2,1)", "icc"] == pytest.approx(icc2, abs=TOL)
    block, raters = complete_block(np.array([0, 1]), np.array([0, 1]), np.zeros(2), 2, 2)
    assert block.shape == (0, 0) and len(raters) == 0


def test_bland_altman_mad_and_bias_on_a_constructed_case() -> None:
    truth = np.arange(20, dtype=float)
    wiggle = np.tile([0.5, -0.5], 10)
    df = pd.DataFrame({"item": np.tile(np.arange(20), 2), "annotator": ["a"] * 20 + ["b"] * 20,
                       "label": np.concatenate([truth, truth + 2.0 + wiggle])})
    rep = numeric_agreement(df, ci=False, min_shared=5)
    row = rep.bland_altman.iloc[0]
    diff = -(2.0 + wiggle)  # a - b
    assert (row["annotator_a"], row["annotator_b"], row["n_items"]) == ("a", "b", 20)
    assert row["bias"] == pytest.approx(-2.0)
    assert row["sd"] == pytest.approx(np.std(diff, ddof=1))
    assert row["lower"] == pytest.approx(-2.0 - 1.96 * np.std(diff, ddof=1))
    assert row["upper"] == pytest.approx(-2.0 + 1.96 * np.std(diff, ddof=1))
    assert rep.mean_absolute_difference == pytest.approx(np.mean(np.abs(diff)))
    assert rep.annotator_bias.loc["b", "offset"] == pytest.approx(2.0)
    assert rep.annotator_bias.loc["a", "offset"] == pytest.approx(-2.0)
    assert numeric_agreement(df, ci=False, min_shared=21).bland_altman.empty


def test_annotator_scale_and_offset_are_recovered() -> None:
    rng = np.random.default_rng(7)
    truth = rng.normal(0, 10, 3000)
    df = pd.DataFrame({"item": np.tile(np.arange(3000), 3),
                       "annotator": np.repeat(["fair", "loud", "shifted"], 3000),
                       "label": np.concatenate([truth, 1.5 * truth, truth + 3.0])
                       + rng.normal(0, 0.1, 9000)})
    bias = numeric_agreement(df, ci=False).annotator_bias
    assert bias.loc["shifted", "offset"] == pytest.approx(3.0 + 0.0, abs=0.1)
    assert bias.loc["loud", "scale"] > 1.3 and bias.loc["fair", "scale"] < 1.0
    # the others' mean of "fair" is (1.5 t + t + 3) / 2: slope 1 / 1.25
    assert bias.loc["fair", "scale"] == pytest.approx(1 / 1.25, abs=0.01)


def test_mean_absolute_difference_equals_all_pairs() -> None:
    rng = np.random.default_rng(8)
    df = _quiet(lambda: simulate(rng.normal(0, 3, 200), 6, 4, seed=8).sample(700, random_state=1))
    rep = _quiet(numeric_agreement, df, ci=False)
    diffs = [abs(x - y) for _, g in df.groupby("item") for i, x in enumerate(g["label"])
             for y in g["label"].iloc[i + 1:]]
    assert rep.mean_absolute_difference == pytest.approx(np.mean(diffs), abs=TOL)


def test_bootstrap_interval_is_seeded_and_brackets_alpha() -> None:
    rng = np.random.default_rng(9)
    df = simulate(rng.normal(0, 3, 300), 5, 3, seed=9)
    one, two = (numeric_agreement(df, n_boot=300, seed=1) for _ in range(2))
    low, high = one.ci["krippendorff_alpha"]
    assert low < one.krippendorff_alpha < high and one.ci == two.ci
    other = numeric_agreement(df, n_boot=300, seed=2).ci["krippendorff_alpha"]
    assert other != (low, high)
    ratio = numeric_agreement(df.assign(label=df["label"].abs()), level="ratio", n_boot=200)
    lo, hi = ratio.ci["krippendorff_alpha"]
    assert lo < ratio.krippendorff_alpha < hi


@pytest.mark.parametrize(("label", "message"), [
    ([1.0, np.nan, 2.0, 3.0], "column 'label' is missing in 1 row"),
    ([1.0, np.inf, 2.0, 3.0], r"1 label\(s\) are not finite \(index 1"),
    ([1.0, "high", 2.0, 3.0], r"1 label\(s\) are not numbers \(index 1, e.g. 'high'\)"),
    ([1.0, [2.0], 2.0, 3.0], r"are not numbers \(index 1"),
])
def test_bad_labels_are_one_line_errors(label, message) -> None:
    df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"), "label": label})
    with pytest.raises(InputError, match=message) as info:
        numeric_agreement(df)
    assert "\n" not in str(info.value)


def test_other_bad_input() -> None:
    neg = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"),
                        "label": [1.0, -2.0, 3.0, 4.0]})
    with pytest.raises(InputError, match="level='ratio' needs non-negative labels"):
        numeric_agreement(neg, level="ratio")
    with pytest.raises(InputError, match="no item has ratings from two annotators"):
        numeric_agreement(neg.assign(item=[1, 2, 3, 4]))
    with pytest.raises(InputError, match="'level' parameter of numeric_agreement"):
        numeric_agreement(neg, level="nominal")
    with pytest.raises(InputError, match="true/false"):
        numeric_agreement(neg.assign(label=[True, False, True, True]))


def test_dispatch_from_agreement() -> None:
    rng = np.random.default_rng(10)
    df = simulate(rng.normal(0, 3, 100), 4, 3, seed=10)
    rep = agreement(df, level="interval", ci=False)
    assert isinstance(rep, NumericAgreementReport)
    assert rep.krippendorff_alpha == numeric_agreement(df, ci=False).krippendorff_alpha
    ints = df.assign(label=df["label"].round().astype(int))
    assert isinstance(agreement(ints, level="interval", ci=False), AgreementReport)
    assert isinstance(agreement(ints, level="interval", task="regression", ci=False),
                      NumericAgreementReport)
    assert agreement(ints.assign(label=ints["label"].abs()), level="ratio",
                     ci=False).level == "ratio"


def test_summary_fits_80_columns_and_to_dict_is_json() -> None:
    rng = np.random.default_rng(11)
    df = simulate(rng.normal(0, 3, 200), 12, 3, seed=11)
    df["annotator"] = "a-rather-long-annotator-name-" + df["annotator"]
    rep = numeric_agreement(df, n_boot=100)
    text = rep.summary()
    assert max(map(len, text.splitlines())) <= 80
    assert "ICC(2,1)" in text and "Bland-Altman" in text
    out = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert out["krippendorff_alpha"] == pytest.approx(rep.krippendorff_alpha)
    assert len(out["icc"]) == 2 and out["kind"] == "regression"
    assert "<table" in rep.to_html() and "<script" not in rep.to_html()
    assert list(rep.to_revise(3).index) == list(
        rep.annotator_bias["offset"].abs().sort_values(ascending=False).index[:3])
