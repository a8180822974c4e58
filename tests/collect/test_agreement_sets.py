"""Agreement of label sets: anchored on nltk (MASI alpha), statsmodels, krippendorff."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.collect import agreement
from assay.collect._sets import encode_sets, masi
from assay.collect.agreement_sets import SetAgreementReport, set_agreement
from assay.exceptions import InputError

TOL = 1e-9
YEAST = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "multilabel" / "yeast"


def simulate(truth: list[set[str]], names: list[str], n_annotators: int = 5,
             per_item: int = 3, drop: float = 0.2, add: float = 0.1,
             seed: int = 0) -> pd.DataFrame:
    """Annotators who drop each true tag with ``drop`` and add a random one with ``add``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, tags in enumerate(truth):
        for a in rng.choice(n_annotators, per_item, replace=False):
            got = {t for t in tags if rng.random() >= drop}
            if rng.random() < add:
                got.add(names[rng.integers(len(names))])
            rows.append((i, f"a{a}", sorted(got)))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def _random_truth(n: int, names: list[str], seed: int) -> list[set[str]]:
    rng = np.random.default_rng(seed)
    return [set(rng.choice(names, rng.integers(1, 4), replace=False)) for _ in range(n)]


def _nltk_alpha(df: pd.DataFrame) -> float:
    nltk_agreement = pytest.importorskip("nltk.metrics.agreement")
    from nltk.metrics.distance import masi_distance

    task = nltk_agreement.AnnotationTask(
        [(a, str(i), frozenset(lab)) for i, a, lab in df[["item", "annotator", "label"]]
         .itertuples(index=False)], distance=masi_distance)
    return float(task.alpha())


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


NAMES = [f"tag{j}" for j in range(9)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_masi_alpha_equals_nltk_on_random_incomplete_designs(seed: int) -> None:
    df = simulate(_random_truth(150, NAMES, seed), NAMES, n_annotators=6, per_item=3, seed=seed)
    df = df.sample(frac=0.85, random_state=seed)  # singles and unequal numbers per item
    df = df[df["label"].map(len) > 0]  # nltk's masi_distance divides by zero on two empties
    rep = _quiet(set_agreement, df, ci=False)
    assert rep.krippendorff_alpha == pytest.approx(_nltk_alpha(df), abs=TOL)


def test_masi_alpha_equals_nltk_on_yeast() -> None:
    path = YEAST / "yeast.csv"
    if not path.is_file():
        pytest.skip(f"yeast not found at {path}")
    flags = pd.read_csv(path).filter(like="Class").head(400)
    names = list(flags.columns)
    truth = [set(np.array(names)[row.astype(bool)]) for row in flags.to_numpy()]
    df = simulate(truth, names, n_annotators=4, per_item=3, drop=0.15, add=0.2, seed=5)
    df = df[df["label"].map(len) > 0]
    rep = _quiet(set_agreement, df, labels=names, ci=False)
    assert rep.krippendorff_alpha == pytest.approx(_nltk_alpha(df), abs=TOL)
    assert rep.labels == names


def test_masi_matches_nltk_elementwise() -> None:
    from nltk.metrics.distance import masi_distance

    rng = np.random.default_rng(1)
    sets = [sorted(rng.choice(NAMES[:5], rng.integers(0, 4), replace=False)) for _ in range(60)]
    df = pd.DataFrame({"item": range(60), "annotator": "a", "label": sets})
    enc = encode_sets(df)
    a, b = np.meshgrid(np.arange(60), np.arange(60))
    got = masi(enc.sets, enc.set_size, enc.set_code[a.ravel()], enc.set_code[b.ravel()])
    ref = [0.0 if not sets[i] and not sets[j] else masi_distance(set(sets[i]), set(sets[j]))
           for i, j in zip(a.ravel(), b.ravel(), strict=True)]
    assert np.abs(got - np.array(ref)).max() < 1e-15


def test_per_label_statistics_match_references_on_complete_data() -> None:
    kd = pytest.importorskip("krippendorff")
    sm = pytest.importorskip("statsmodels.stats.inter_rater")
    from sklearn.metrics import cohen_kappa_score

    df = simulate(_random_truth(300, NAMES, 4), NAMES, n_annotators=3, per_item=3, seed=4)
    rep = set_agreement(df, ci=False)
    wide = df.pivot(index="item", columns="annotator", values="label")
    for name in NAMES:
        has = wide.map(lambda s, n=name: int(n in s))
        counts = np.column_stack([(has == 0).sum(axis=1), (has == 1).sum(axis=1)])
        row = rep.per_label.loc[name]
        assert row["fleiss_kappa"] == pytest.approx(sm.fleiss_kappa(counts), abs=TOL)
        assert row["alpha"] == pytest.approx(kd.alpha(
            reliability_data=has.T.to_numpy(float), level_of_measurement="nominal"), abs=TOL)
        kappas = [cohen_kappa_score(has[x], has[y]) for x, y in (("a0", "a1"), ("a0", "a2"),
                                                                   ("a1", "a2"))]
        assert row["cohen_kappa"] == pytest.approx(np.mean(kappas), abs=TOL)
        assert row["n_annotations"] == has.to_numpy().sum()
    assert rep.per_label_kappa.equals(rep.per_label["fleiss_kappa"])


def test_omissions_and_swaps_on_a_constructed_case() -> None:
    df = pd.DataFrame({
        "item": [1, 1, 2, 2, 3, 3, 4, 4],
        "annotator": list("abababab"),
        "label": [["cat", "dog"], ["cat"], ["cat"], ["dog"], ["fox"], ["fox"],
                  ["cat", "fox"], ["dog", "fox"]],
    })
    rep = set_agreement(df, ci=False)
    pl = rep.per_label
    # cat: item 1 (a only... no: both), item 2 (a only), item 4 (a only) -> 2 of 3 pairs
    assert pl.loc["cat", "n_omitted"] == 2
    assert pl.loc["cat", "omission_rate"] == pytest.approx(2 / 3)
    assert pl.loc["dog", "n_omitted"] == 3 and pl.loc["fox", "n_omitted"] == 0
    top = rep.confusions.iloc[0]
    assert (top["label_a"], top["label_b"], top["n_swapped"]) == ("cat", "dog", 2)
    assert top["share"] == pytest.approx(2 / 4) and len(rep.confusions) == 1
    assert rep.exact_agreement == pytest.approx(1 / 4)


def test_label_forms_are_equivalent() -> None:
    base = [["x", "y"], ["y"], ["x"], ["x", "z"], [], ["z"]]
    forms = [base, [tuple(s) for s in base], [json.dumps(s) for s in base],
             [np.array(s, dtype=object) for s in base], [list(reversed(s)) + s for s in base]]
    alphas = []
    for labels in forms:
        df = pd.DataFrame({"item": [1, 1, 2, 2, 3, 3], "annotator": list("ababab"),
                           "label": labels})
        alphas.append(set_agreement(df, ci=False).krippendorff_alpha)
    assert np.allclose(alphas, alphas[0])


def test_unknown_labels_and_bad_input() -> None:
    df = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"),
                       "label": [["x"], ["y"], ["x", "q"], ["y"]]})
    with pytest.raises(InputError, match=r"outside the label book: 'q' \(first 'q' at index 2"):
        set_agreement(df, labels=["x", "y"])
    rep = set_agreement(df, labels=["x", "y"], allow_new=True, ci=False)
    assert rep.labels == ["x", "y", "q"]
    for bad, where in (([["x"], 3, ["x"], ["y"]], "index 1"),
                       ([["x"], "y", ["x"], ["y"]], "index 1"),
                       ([["x"], ["y"], {"a": 1}, ["y"]], "index 2")):
        with pytest.raises(InputError, match=where) as info:
            set_agreement(df.assign(label=bad))
        assert "\n" not in str(info.value) and "mixed kinds" in str(info.value)
    with pytest.raises(InputError, match="column 'label' is missing"):
        set_agreement(df.assign(label=[["x"], None, ["x"], ["y"]]))
    with pytest.raises(InputError, match="no item has labels from two annotators"):
        set_agreement(df.assign(item=[1, 2, 3, 4]))


def test_dispatch_and_single_set_case() -> None:
    df = simulate(_random_truth(80, NAMES, 6), NAMES, seed=6)
    rep = agreement(df, ci=False)
    assert isinstance(rep, SetAgreementReport)
    assert rep.krippendorff_alpha == set_agreement(df, ci=False).krippendorff_alpha
    as_text = df.assign(label=df["label"].map(json.dumps))
    assert agreement(as_text, ci=False).krippendorff_alpha == pytest.approx(
        rep.krippendorff_alpha, abs=TOL)
    same = df.assign(label=[["a"]] * len(df))
    assert set_agreement(same, ci=False).krippendorff_alpha == 1.0  # as nltk


def test_bootstrap_summary_and_json() -> None:
    df = simulate(_random_truth(200, NAMES, 7), NAMES, n_annotators=8, per_item=3, seed=7)
    df["annotator"] = "an-annotator-with-a-long-name-" + df["annotator"]
    rep = set_agreement(df, n_boot=200, seed=3)
    low, high = rep.ci["krippendorff_alpha"]
    assert low < rep.krippendorff_alpha < high
    assert set_agreement(df, n_boot=200, seed=3).ci == rep.ci
    text = rep.summary()
    assert max(map(len, text.splitlines())) <= 80 and "MASI" in text
    out = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert out["kind"] == "multilabel" and len(out["per_label"]) == len(rep.labels)
    assert "<table" in rep.to_html()
    assert rep.to_revise(2).index[0] == rep.per_label["alpha"].idxmin()


@pytest.mark.parametrize("n_labels", [1, 4, 9])
def test_lattice_expected_disagreement_equals_the_sum_over_pairs(n_labels: int) -> None:
    from assay.collect._masi_lattice import compact_masks, expected_masi_lattice

    rng = np.random.default_rng(n_labels)
    k = min(2**n_labels, 60)
    masks = np.r_[0, 1 + rng.choice(2**n_labels - 1, k - 1, replace=False)]  # empty too
    words = (masks << 3)[:, None]  # labels 3.. in use: compacted to 0..
    counts = rng.integers(0, 40, (4, k)).astype(np.float64)
    compact = compact_masks(words, n_labels + 3)
    assert compact is not None and list(compact[1]) == list(range(3, 3 + n_labels))
    got = expected_masi_lattice(compact[0], len(compact[1]), counts)
    size = np.bitwise_count(words).sum(axis=1).astype(np.float64)
    dist = masi(words, size, np.arange(k)[:, None], np.arange(k)[None, :])
    ref = np.einsum("bi,ij,bj->b", counts, dist, counts)
    assert np.abs(got - ref).max() <= 1e-12 * ref.max()


@pytest.mark.parametrize("path", ["lattice", "pairs"])
@pytest.mark.parametrize("seed", [0, 1])
def test_masi_alpha_equals_nltk_on_both_expected_paths(monkeypatch, path: str,
                                                       seed: int) -> None:
    from assay.collect import agreement_sets

    monkeypatch.setattr(agreement_sets, "lattice_fits", lambda *a: path == "lattice")
    names = [f"t{j}" for j in range(11)]
    df = simulate(_random_truth(250, names, seed), names, n_annotators=6, per_item=4,
                  drop=0.3, add=0.5, seed=seed).sample(frac=0.9, random_state=seed)
    df = df[df["label"].map(len) > 0]
    rep = _quiet(set_agreement, df, ci=False)
    assert rep.krippendorff_alpha == pytest.approx(_nltk_alpha(df), abs=TOL)
    boot = _quiet(set_agreement, df, n_boot=50, seed=1).ci["krippendorff_alpha"]
    monkeypatch.setattr(agreement_sets, "lattice_fits", lambda *a: path != "lattice")
    other = _quiet(set_agreement, df, n_boot=50, seed=1).ci["krippendorff_alpha"]
    assert boot == pytest.approx(other, abs=1e-6)  # the pairs path keeps float32 distances


def test_many_distinct_sets_take_the_lattice() -> None:
    from assay.collect._masi_lattice import compact_masks, lattice_fits

    rng = np.random.default_rng(3)
    names = [f"t{j:02d}" for j in range(14)]
    flags = rng.random((6000, 14)) < 0.4
    df = pd.DataFrame({"item": np.repeat(np.arange(3000), 2), "annotator": ["a", "b"] * 3000,
                       "label": [list(np.array(names)[f]) for f in flags]})
    enc = encode_sets(df)
    compact = compact_masks(enc.sets, len(enc.labels))
    assert compact is not None and len(enc.sets) > 2500
    assert lattice_fits(len(compact[1]), len(enc.sets), float(len(df)))


@pytest.mark.parametrize("n_labels", [5, 70])
def test_pair_tables_from_masks_equal_the_sparse_products(n_labels: int) -> None:
    from assay.collect._set_pairs import pair_label_counts
    from assay.collect._stats import annotation_pairs, pair_index
    from assay.collect.agreement_sets import _sparse_pair_counts

    names = [f"t{j:02d}" for j in range(n_labels)]
    df = simulate(_random_truth(400, names, 2), names, n_annotators=7, per_item=4, seed=2)
    enc = encode_sets(df, labels=names)
    pairs = annotation_pairs(enc.item, enc.annotator, np.arange(len(enc.item)))
    present, inv = pair_index(pairs, len(enc.annotators))
    got = pair_label_counts(enc.sets, len(enc.labels), enc.set_code[pairs.lab_a],
                            enc.set_code[pairs.lab_b], inv, len(present))
    ref = _sparse_pair_counts(enc, pairs, inv, len(present))
    if (np.asarray(enc.member.sum(axis=0)).ravel() > 0).sum() > 62:
        assert got is None  # more than 62 labels in use: the sparse products
        return
    assert got is not None
    for mine, theirs in zip(got, ref, strict=True):
        theirs = theirs.toarray() if hasattr(theirs, "toarray") else theirs
        assert np.array_equal(mine, theirs)
