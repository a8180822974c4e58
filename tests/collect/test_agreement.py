"""Agreement statistics against reference implementations and brute force."""

from __future__ import annotations

import itertools
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from assay.collect import agreement, classes_to_revise
from assay.exceptions import InputError

TOL = 1e-9


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    """items x annotators table of labels (NaN where missing)."""
    return df.pivot(index="item", columns="annotator", values="label")


def _fleiss_table(wide: pd.DataFrame, classes: list) -> np.ndarray:
    return np.stack([(wide == c).sum(axis=1).to_numpy() for c in classes], axis=1)


def test_cohen_matches_sklearn_on_every_pair(sim) -> None:
    df, _ = sim
    rep = agreement(df, ci=False)
    wide = _wide(df)
    checked = 0
    for a, b in itertools.combinations(wide.columns, 2):
        both = wide[[a, b]].dropna()
        if len(both) < 2:
            continue
        ref = cohen_kappa_score(both[a].astype(int), both[b].astype(int))
        assert rep.cohen_kappa.loc[a, b] == pytest.approx(ref, abs=TOL)
        assert rep.cohen_kappa.loc[b, a] == pytest.approx(ref, abs=TOL)
        assert rep.cohen_n.loc[a, b] == len(both)
        checked += 1
    assert checked == 15


def test_fleiss_matches_statsmodels_on_complete_data(simulator) -> None:
    sm = pytest.importorskip("statsmodels.stats.inter_rater")
    df, _ = simulator(n_items=200, n_annotators=4, per_item=4, n_classes=5, seed=3)
    rep = agreement(df, ci=False)
    table = _fleiss_table(_wide(df), list(range(5)))
    assert rep.fleiss_kappa == pytest.approx(sm.fleiss_kappa(table), abs=TOL)
    # percent agreement is Fleiss' P-bar: the mean share of agreeing pairs per item
    p_i = ((table * (table - 1)).sum(axis=1) / (4 * 3)).mean()
    assert rep.percent_agreement == pytest.approx(p_i, abs=TOL)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_matches_krippendorff_with_missing_values(simulator, level: str) -> None:
    kd = pytest.importorskip("krippendorff")
    df, _ = simulator(n_items=150, n_annotators=5, per_item=3, n_classes=5, seed=1)
    df.loc[df.index[::7], "label"] += 10  # spread the values for the interval metric
    rep = agreement(df, level=level, ci=False)
    data = _wide(df).T.to_numpy(dtype=float)
    assert rep.krippendorff_alpha == pytest.approx(
        kd.alpha(reliability_data=data, level_of_measurement=level), abs=TOL)


def test_ordinal_uses_given_class_order() -> None:
    kd = pytest.importorskip("krippendorff")
    df = pd.DataFrame({"item": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
                       "annotator": ["a", "b"] * 5,
                       "label": ["low", "mid", "mid", "mid", "high", "mid", "low", "low",
                                 "high", "high"]})
    order = ["low", "mid", "high"]
    rep = agreement(df, level="ordinal", classes=order, ci=False)
    codes = _wide(df).T.replace({c: i for i, c in enumerate(order)}).to_numpy(dtype=float)
    assert rep.krippendorff_alpha == pytest.approx(
        kd.alpha(reliability_data=codes, level_of_measurement="ordinal"), abs=TOL)
    with pytest.raises(InputError, match="numeric labels"):
        agreement(df, level="interval", ci=False)


def test_real_crowd_data_matches_references(crowd) -> None:
    kd = pytest.importorskip("krippendorff")
    sm = pytest.importorskip("statsmodels.stats.inter_rater")
    df = crowd("BarzanMozafari")  # 1,000 items x 5 of 83 workers, complete
    rep = agreement(df, ci=False)
    wide = _wide(df)
    assert (wide.notna().sum(axis=1) == 5).all()
    assert rep.fleiss_kappa == pytest.approx(
        sm.fleiss_kappa(_fleiss_table(wide, ["0", "1"])), abs=TOL)
    codes = wide.T.apply(pd.to_numeric).to_numpy(dtype=float)
    assert rep.krippendorff_alpha == pytest.approx(
        kd.alpha(reliability_data=codes, level_of_measurement="nominal"), abs=TOL)
    pairs = rep.pairs.sort_values("n_items", ascending=False).head(5)
    for a, b in zip(pairs["annotator_a"], pairs["annotator_b"], strict=True):
        both = wide[[a, b]].dropna()
        assert rep.cohen_kappa.loc[a, b] == pytest.approx(
            cohen_kappa_score(both[a], both[b]), abs=TOL)


@pytest.mark.parametrize("name", ["HITspam-UsingMTurk", "AdultContent2"])
def test_real_crowd_data_with_varying_label_counts(crowd, name: str) -> None:
    kd = pytest.importorskip("krippendorff")
    df = crowd(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AdultContent2 has items with a single label
        rep = agreement(df, ci=False)
    value_counts = pd.crosstab(df["item"], df["label"]).to_numpy()  # item x class
    per_item = value_counts.sum(axis=1)
    assert len(np.unique(per_item)) > 1  # items have different numbers of labels
    assert rep.krippendorff_alpha == pytest.approx(
        kd.alpha(value_counts=value_counts, level_of_measurement="nominal"), abs=TOL)
    assert rep.n_single == int((per_item == 1).sum())


def test_single_label_items_left_out_with_warning(sim) -> None:
    df, _ = sim
    extra = pd.DataFrame({"item": [1000, 1001], "annotator": ["a00", "a01"], "label": [0, 1]})
    with pytest.warns(UserWarning, match="2 item"):
        rep = agreement(pd.concat([df, extra]), ci=False)
    base = agreement(df, ci=False)
    assert rep.n_single == 2
    assert rep.fleiss_kappa == pytest.approx(base.fleiss_kappa, abs=TOL)
    assert rep.krippendorff_alpha == pytest.approx(base.krippendorff_alpha, abs=TOL)


def _brute_hlp(df: pd.DataFrame) -> tuple[float, dict]:
    credit: list[float] = []
    by_class: dict[object, tuple[float, float]] = {}
    for _, g in df.groupby("item"):
        labels = g["label"].tolist()
        for j, lab in enumerate(labels):
            others = Counter(labels[:j] + labels[j + 1:])
            if not others:
                continue
            top = max(others.values())
            tied = [c for c, v in others.items() if v == top]
            credit.append((lab in tied) / len(tied))
            for c in tied:
                w, h = by_class.get(c, (0.0, 0.0))
                by_class[c] = (w + 1 / len(tied), h + (lab == c) / len(tied))
    return float(np.mean(credit)), {c: h / w for c, (w, h) in by_class.items()}


def test_hlp_is_leave_one_out_majority(simulator) -> None:
    df, _ = simulator(n_items=120, per_item=4, n_classes=3, accuracy=0.6, seed=5)
    df = df.iloc[:-1]  # one item with 3 labels
    rep = agreement(df, ci=False)
    hlp, per_class = _brute_hlp(df)
    assert rep.hlp == pytest.approx(hlp, abs=TOL)
    for c, v in per_class.items():
        assert rep.per_class.loc[c, "hlp"] == pytest.approx(v, abs=TOL)


def _ambiguous_pair() -> pd.DataFrame:
    """Classes 'ant' and 'bee' are confused; 'cat' is always agreed on."""
    rows = []
    for i in range(40):
        truth = ["ant", "bee", "cat"][i % 3]
        a = truth
        b = {"ant": "bee", "bee": "ant"}.get(truth, truth) if i % 2 else truth
        rows += [(i, "x", a), (i, "y", b)]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def test_per_class_specific_agreement_and_confusion() -> None:
    df = _ambiguous_pair()
    rep = agreement(df, ci=False)
    pc = rep.per_class
    wide = _wide(df)
    for c in ["ant", "bee", "cat"]:
        # two annotators: specific agreement = 2 n_cc / (n_c. + n_.c)
        n_cc = ((wide["x"] == c) & (wide["y"] == c)).sum()
        expected = 2 * n_cc / ((wide["x"] == c).sum() + (wide["y"] == c).sum())
        assert pc.loc[c, "agreement"] == pytest.approx(expected, abs=TOL)
    assert pc.loc["ant", "confused_with"] == "bee"
    assert pc["confused_with"].isna().to_dict()["cat"]
    assert pc.loc["cat", "agreement"] == 1.0
    ex = pc["examples"].to_dict()["ant"]
    assert len(ex) == 3 and all(set(wide.loc[i].tolist()) == {"ant", "bee"} for i in ex)
    conf = rep.confusion
    assert (conf.to_numpy() == conf.to_numpy().T).all()
    assert conf.to_numpy().sum() == 2 * len(wide)  # ordered pairs: 2 per item
    revise = classes_to_revise(rep, k=2)
    assert set(revise.index) == {"ant", "bee"}


def test_disagreements_and_annotators() -> None:
    df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 2, 3, 3], "annotator": list("abcabcab"),
                       "label": ["p", "p", "p", "p", "q", "r", "p", "q"]})
    rep = agreement(df, ci=False)
    dis = rep.disagreements
    assert list(dis.index) == [2, 3]  # both 1 - P = 1; item 2 has more labels
    assert dis.loc[2, "labels"] == {"a": "p", "b": "q", "c": "r"}
    assert dis.loc[3, "disagreement"] == 1.0
    ann = rep.annotators
    # annotator a: pairs (1:ab,ac agree) (2: ab, ac disagree) (3: ab disagree) -> 2/5
    assert ann.loc["a", "agreement_with_others"] == pytest.approx(2 / 5)
    assert ann.loc["a", "n_annotations"] == 3


def test_bootstrap_interval(sim) -> None:
    df, _ = sim
    rep = agreement(df, n_boot=200, seed=1)
    again = agreement(df, n_boot=200, seed=1)
    assert rep.ci == again.ci
    for key, value in [("fleiss_kappa", rep.fleiss_kappa),
                       ("krippendorff_alpha", rep.krippendorff_alpha),
                       ("percent_agreement", rep.percent_agreement),
                       ("cohen_kappa", rep.mean_cohen_kappa)]:
        lo, hi = rep.ci[key]
        assert lo < value < hi
        assert hi - lo < 0.2


def test_bad_input_messages() -> None:
    one_each = pd.DataFrame({"item": [1, 2], "annotator": ["a", "b"], "label": ["x", "y"]})
    with pytest.raises(InputError, match="no item has labels from two annotators"):
        agreement(one_each)
    df = _ambiguous_pair()
    with pytest.raises(InputError, match="'level' parameter of agreement must be one of"):
        agreement(df, level="ratio")
    with pytest.raises(InputError, match="outside the label book's classes: 'cat'"):
        agreement(df, classes=["ant", "bee"])


def test_summary_and_html_are_self_contained() -> None:
    rep = agreement(_ambiguous_pair(), ci=True, n_boot=50)
    text = rep.summary()
    assert f"{rep.krippendorff_alpha:.3f}" in text and "confused with" in text
    html = rep._repr_html_()
    assert "<table" in html and "background:" in html
    offline = html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, not a fetch
    assert "http" not in offline and "<script" not in html
    assert rep.to_dict()["ci"]["fleiss_kappa"][0] < rep.fleiss_kappa


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_bootstrap_replicate_with_unit_weights_is_the_point_estimate(simulator, level) -> None:
    from assay.collect import _stats
    from assay.collect._bootstrap import item_features, replicate_stats
    from assay.collect.annotations import encode_annotations

    df, _ = simulator(n_items=80, n_annotators=5, per_item=3, n_classes=4, seed=7)
    df = pd.concat([df, pd.DataFrame({"item": [999], "annotator": ["a00"], "label": [1]})])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = agreement(df, level=level, ci=False)
    enc = encode_annotations(df)
    counts = enc.counts()
    p_item, n_item = _stats.item_agreement(counts)
    pairs = _stats.annotation_pairs(enc.item, enc.annotator, enc.label)
    present, inv = _stats.pair_index(pairs, len(enc.annotators))
    feats = item_features(counts, p_item, n_item, pairs, inv, len(present))
    values = np.arange(4.0) if level == "interval" else None
    got = replicate_stats(feats, np.ones((1, len(feats.p_item))), level, values)
    assert got["percent_agreement"][0] == pytest.approx(rep.percent_agreement, abs=TOL)
    assert got["fleiss_kappa"][0] == pytest.approx(rep.fleiss_kappa, abs=TOL)
    assert got["krippendorff_alpha"][0] == pytest.approx(rep.krippendorff_alpha, abs=TOL)
    assert got["cohen_kappa"][0] == pytest.approx(rep.mean_cohen_kappa, abs=TOL)


def test_bootstrap_interval_covers_the_true_kappa() -> None:
    """Two annotators drawn from a joint distribution with a known kappa of 0.6."""
    kappa, p = 0.6, np.array([0.5, 0.3, 0.2])
    joint = (1 - kappa) * np.outer(p, p) + kappa * np.diag(p)
    rng = np.random.default_rng(11)
    hits, n_sims = 0, 40
    for sim in range(n_sims):
        cells = rng.choice(9, size=200, p=joint.ravel())
        df = pd.DataFrame({"item": np.repeat(np.arange(200), 2),
                           "annotator": np.tile(["x", "y"], 200),
                           "label": np.column_stack([cells // 3, cells % 3]).ravel()})
        lo, hi = agreement(df, n_boot=200, seed=sim).ci["cohen_kappa"]
        hits += lo <= kappa <= hi
    assert hits >= 0.85 * n_sims  # nominal 95%


def test_confusion_heatmap_is_sequential_and_kappa_stays_diverging() -> None:
    from assay.collect._render import heatmap_html

    def alphas(html: str) -> list[tuple[str, float]]:
        import re

        cells = re.findall(r"background:rgba\((\d+),(\d+),(\d+),([\d.]+)\)", html)
        return [(f"{r},{g},{b}", float(a)) for r, g, b, a in cells]

    shares = pd.DataFrame([[0.9, 0.1, 0.0], [0.3, 0.7, 0.0], [0.0, 0.0, 1.0]],
                          index=["<a>", "b", "c"], columns=["<a>", "b", "c"])
    cells = alphas(heatmap_html(shares, title="t", scale="sequential"))
    off = [cells[i] for i in (1, 2, 3, 5, 6, 7)]  # row-major, off the diagonal
    zero = [a for (_, a), v in zip(off, [0.1, 0.0, 0.3, 0.0, 0.0, 0.0], strict=True) if v == 0.0]
    assert zero and all(a == 0.0 for a in zero)  # 0 is white, not alarming red
    assert off[2][1] == max(a for _, a in off) > off[0][1] > 0  # largest confusion darkest
    assert len({rgb for rgb, _ in off}) == 1 and cells[0][0] != off[0][0]  # diagonal tinted apart
    html = heatmap_html(shares, title="<x>", scale="sequential")
    assert "&lt;a&gt;" in html and "&lt;x&gt;" in html and "<a>" not in html
    kappa = alphas(heatmap_html(pd.DataFrame([[1.0, -0.2]]), title="k", lo=-0.2, hi=1.0))
    assert kappa[0][0] != kappa[1][0]  # green for high, red for low
    with pytest.raises(InputError, match="'scale' parameter"):
        heatmap_html(shares, title="t", scale="rainbow")


def _crowd_design(seed: int, n_items: int = 3000, accuracy: float = 0.7,
                  n_classes: int = 3) -> pd.DataFrame:
    """A sparse crowd: 8 regular annotators and 200 occasional ones, 3 labels per item.

    Most of the ~3,600 annotator pairs share one or two items; annotators are right with
    probability ``accuracy``, else uniform, so every pair's kappa is the same number.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n_items)
    regular = rng.random((n_items, 3)) < 0.5
    who = np.where(regular, rng.integers(0, 8, (n_items, 3)), 8 + rng.integers(0, 200, (n_items, 3)))
    right = rng.random((n_items, 3)) < accuracy
    label = np.where(right, truth[:, None], rng.integers(0, n_classes, (n_items, 3)))
    df = pd.DataFrame({"item": np.repeat(np.arange(n_items), 3),
                       "annotator": [f"w{w}" for w in who.ravel()], "label": label.ravel()})
    return df.drop_duplicates(["item", "annotator"]).reset_index(drop=True)


def test_mean_cohen_kappa_lies_in_its_interval_on_adultcontent2(crowd) -> None:
    """825 annotators, most pairs sharing a handful of items (the CLI's defaults)."""
    df = crowd("AdultContent2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # items with a single label
        rep = agreement(df)
    lo, hi = rep.ci["cohen_kappa"]
    assert lo <= rep.mean_cohen_kappa <= hi
    assert rep.cohen_min_shared == 10 and 0 < rep.n_cohen_pairs < len(rep.pairs)
    assert f"mean over {rep.n_cohen_pairs} pairs sharing >= 10 items" in rep.summary()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_cohen_kappa_and_interval_on_a_sparse_design(seed: int) -> None:
    accuracy, k = 0.7, 3
    p_agree = accuracy**2 + 2 * accuracy * (1 - accuracy) / k + (1 - accuracy) ** 2 / k
    true_kappa = (p_agree - 1 / k) / (1 - 1 / k)
    with pytest.warns(UserWarning, match="single label"):
        rep = agreement(_crowd_design(seed, accuracy=accuracy, n_classes=k), seed=seed)
    lo, hi = rep.ci["cohen_kappa"]
    assert lo <= rep.mean_cohen_kappa <= hi
    assert lo <= true_kappa <= hi
    # the estimator, recomputed from the pairs table: shared-item weights, n >= 10
    pairs = rep.pairs[(rep.pairs["n_items"] >= 10) & rep.pairs["cohen_kappa"].notna()]
    expected = np.average(pairs["cohen_kappa"], weights=pairs["n_items"])
    assert rep.mean_cohen_kappa == pytest.approx(expected, abs=TOL)
    assert rep.n_cohen_pairs == len(pairs) < len(rep.pairs) / 10


def test_min_shared_falls_back_to_the_best_covered_pairs() -> None:
    """A small complete design keeps every pair; the threshold is a checked parameter."""
    df = pd.DataFrame({"item": np.repeat(np.arange(6), 3), "annotator": list("abc") * 6,
                       "label": [0, 0, 1, 1, 1, 1, 0, 1, 0, 2, 2, 2, 1, 0, 1, 0, 0, 0]})
    rep = agreement(df, ci=False)
    assert (rep.cohen_min_shared, rep.n_cohen_pairs) == (6, 3)
    kappas = [cohen_kappa_score(df.label[df.annotator == a], df.label[df.annotator == b])
              for a, b in itertools.combinations("abc", 2)]
    assert rep.mean_cohen_kappa == pytest.approx(np.mean(kappas), abs=TOL)
    assert rep.to_dict()["cohen_min_shared"] == 6
    with pytest.raises(InputError, match="'min_shared' parameter of agreement"):
        agreement(df, min_shared=0)


def test_no_pair_message_names_the_python_function() -> None:
    one_each = pd.DataFrame({"item": [1, 2], "annotator": ["a", "b"], "label": ["x", "y"]})
    with pytest.raises(InputError, match=r"\(see assay\.plan_sample\)"):
        agreement(one_each)
