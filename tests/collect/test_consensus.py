"""Consensus labels: majority vote and Dawid-Skene."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.collect import consensus
from assay.exceptions import InputError


def _accuracy(res, truth: np.ndarray) -> float:
    lab = res.labels["label"].reindex(np.arange(len(truth))).to_numpy()
    return float((lab == truth).mean())


def _spammers(seed: int = 0, n_items: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    """3 reliable annotators (90%) and 4 spammers (uniform), 5 of 7 per item."""
    rng = np.random.default_rng(seed)
    k = 3
    truth = rng.integers(0, k, n_items)
    acc = np.array([0.9, 0.9, 0.9, 1 / k, 1 / k, 1 / k, 1 / k])
    rows = []
    for i in range(n_items):
        for a in rng.choice(7, size=5, replace=False):
            lab = truth[i] if rng.random() < acc[a] else rng.integers(0, k)
            rows.append((i, f"w{a}", int(lab)))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"]), truth


@pytest.mark.filterwarnings("ignore::Warning:crowdkit.*")
def test_matches_crowdkit_dawid_skene_iteration_by_iteration(simulator) -> None:
    ck = pytest.importorskip("crowdkit.aggregation")
    df, _ = simulator(n_items=200, n_annotators=6, per_item=3, n_classes=3, accuracy=0.7,
                      seed=2)
    for n_iter in (1, 5):
        ref = ck.DawidSkene(n_iter=n_iter, tol=-np.inf).fit_predict_proba(
            df.rename(columns={"item": "task", "annotator": "worker"}))
        # classic DS: no pooled prior, (almost) no smoothing, exactly n_iter E-steps
        res = consensus(df, "dawid_skene", smoothing=1e-10, pool_strength=0, inference="point",
                        max_iter=n_iter, tol=0)
        ref = ref.reindex(index=res.probas.index, columns=res.probas.columns)
        np.testing.assert_allclose(res.probas.to_numpy(), ref.to_numpy(), atol=1e-8)


def test_majority_vote_and_columns() -> None:
    df = pd.DataFrame({"item": [1, 1, 1, 2, 2, 3], "annotator": list("abcabc"),
                       "label": ["x", "x", "y", "y", "y", "x"]})
    res = consensus(df)
    lab = res.labels
    assert lab["label"].tolist() == ["x", "y", "x"]
    assert lab["n_annotations"].tolist() == [3, 2, 1]
    assert lab["agreement"].tolist() == pytest.approx([2 / 3, 1.0, 1.0])
    assert ((lab["quality"] >= 0) & (lab["quality"] <= 1)).all()
    # unanimous two labels are more certain than one label, and than a 2-of-3 split
    quality = lab["quality"].to_dict()
    assert quality[2] > quality[3]
    assert quality[2] > quality[1]


def test_tie_break_prefers_frequent_class_then_class_order() -> None:
    df = pd.DataFrame({"item": [1, 1, 2, 2, 3], "annotator": list("ababa"),
                       "label": ["b", "a", "b", "c", "b"]})
    # overall: b x3, a x1, c x1 -> item 1 (a/b tie) -> b
    res = consensus(df)
    assert res.labels.loc[1, "label"] == "b"
    even = pd.DataFrame({"item": [1, 1, 2, 2], "annotator": list("abab"),
                         "label": ["z", "y", "y", "z"]})
    assert consensus(even).labels["label"].tolist() == ["y", "y"]  # y sorts first
    assert consensus(even, "dawid_skene").labels["label"].tolist() == ["y", "y"]


def test_dawid_skene_beats_majority_with_spammers() -> None:
    df, truth = _spammers()
    mv = consensus(df, "majority")
    ds = consensus(df, "dawid_skene")
    assert _accuracy(ds, truth) > _accuracy(mv, truth) + 0.03
    q = ds.annotators["quality"]
    assert q[["w0", "w1", "w2"]].min() > q[["w3", "w4", "w5", "w6"]].max()
    conf = ds.annotator_confusion("w0")
    np.testing.assert_allclose(conf.sum(axis=1), 1.0)
    assert np.diag(conf).min() > 0.8
    assert ds.converged or ds.n_iter == 100


def test_log_space_many_annotators_no_underflow() -> None:
    rng = np.random.default_rng(0)
    n_items, n_ann = 20, 400
    truth = rng.integers(0, 2, n_items)
    lab = np.where(rng.random((n_items, n_ann)) < 0.8, truth[:, None], 1 - truth[:, None])
    df = pd.DataFrame({"item": np.repeat(np.arange(n_items), n_ann),
                       "annotator": np.tile(np.arange(n_ann), n_items), "label": lab.ravel()})
    res = consensus(df, "dawid_skene")
    assert np.isfinite(res.probas.to_numpy()).all()
    np.testing.assert_allclose(res.probas.sum(axis=1), 1.0)
    assert _accuracy(res, truth) == 1.0


def test_gold_labels_are_clamped_and_checked() -> None:
    df, truth = _spammers(seed=1, n_items=200)
    gold = pd.Series(truth[:50], index=np.arange(50))
    res = consensus(df, "dawid_skene", gold=gold)
    assert (res.labels["label"].iloc[:50].to_numpy() == truth[:50]).all()
    assert (res.labels["quality"].iloc[:50] == 1.0).all()
    assert (consensus(df, gold=gold).labels["label"].iloc[:50].to_numpy() == truth[:50]).all()
    with pytest.warns(UserWarning, match="1 gold item"):
        consensus(df, "dawid_skene", gold={9999: 0})
    with pytest.raises(InputError, match="gold labels"):
        consensus(df, "dawid_skene", gold={0: 7})


def test_pred_probs_vote_like_an_annotator() -> None:
    df, truth = _spammers(seed=2, n_items=300)
    rng = np.random.default_rng(0)
    items = df["item"].drop_duplicates().to_numpy(dtype=np.int64)
    good = np.where(rng.random(len(items)) < 0.95, truth[items], rng.integers(0, 3, len(items)))
    probs = np.full((len(items), 3), 0.05)
    probs[np.arange(len(items)), good] = 0.9
    plain = consensus(df, "dawid_skene")
    with_model = consensus(df, "dawid_skene", pred_probs=probs)
    assert _accuracy(with_model, truth) > _accuracy(plain, truth)
    assert "__model__" in with_model.annotators.index
    # the calibrated model's quality is its argmax's accuracy (~0.95), above the spammers
    q = with_model.annotators["quality"]
    assert q["__model__"] > 0.9 > 0.8 > q[["w3", "w4", "w5", "w6"]].max()
    soft = consensus(df, "dawid_skene", pred_probs=probs, model_vote="soft")
    assert soft.model_temperature is None and with_model.model_temperature is not None
    # soft votes of 0.9 cap the model's estimated accuracy near 0.9 * 0.97
    assert 0.8 < soft.annotators.loc["__model__", "quality"] < 0.9
    frame = pd.DataFrame(probs, index=items, columns=[0, 1, 2]).iloc[::-1]
    again = consensus(df, "dawid_skene", pred_probs=frame)
    pd.testing.assert_frame_equal(again.labels, with_model.labels)
    with pytest.raises(InputError, match="pred_probs has 2 columns"):
        consensus(df, "dawid_skene", pred_probs=probs[:, :2] / probs[:, :2].sum(1)[:, None])


def test_bad_parameters() -> None:
    df, _ = _spammers(n_items=20)
    with pytest.raises(InputError, match="'method' parameter of consensus"):
        consensus(df, "glad")
    with pytest.raises(InputError, match="'max_iter' parameter"):
        consensus(df, "dawid_skene", max_iter=0)


def test_real_crowd_data_dawid_skene_at_least_majority(crowd, crowd_gold) -> None:
    df = crowd("BarzanMozafari")
    gold = crowd_gold("BarzanMozafari", "evaluation.txt")
    common = gold.index.intersection(df["item"].unique())
    assert len(common) == 1000

    def acc(res) -> float:
        return float((res.labels["label"].reindex(common) == gold[common]).mean())

    ds, mv = consensus(df, "dawid_skene"), consensus(df, "majority")
    assert acc(ds) >= acc(mv)
    assert acc(ds) > 0.7


def test_summary_names_spammers() -> None:
    df, _ = _spammers(n_items=200)
    text = consensus(df, "dawid_skene").summary()
    assert "dawid_skene: 200 items" in text
    worst = [w.split(" ")[0] for w in text.split("lowest-quality annotators: ")[1].split(", ")]
    assert len(worst) == 3 and set(worst) <= {"w3", "w4", "w5", "w6"}
    assert consensus(df).summary().startswith("majority: 200 items")


def test_estimate_strength_recovers_a_known_dirichlet_concentration() -> None:
    from assay.collect._dawid_skene import estimate_strength

    rng = np.random.default_rng(3)
    k, n_voters, per_row = 3, 400, 40
    pooled = np.array([[0.8, 0.1, 0.2], [0.15, 0.7, 0.1], [0.05, 0.2, 0.7]])  # columns: true
    for s_true in (3.0, 30.0):
        counts = np.zeros((n_voters, k, k))
        for a in range(n_voters):
            for c in range(k):
                counts[a, :, c] = rng.multinomial(per_row, rng.dirichlet(s_true * pooled[:, c]))
        est = estimate_strength(counts, counts.sum(0) / counts.sum((0, 1)))
        assert s_true / 1.3 < est < s_true * 1.3


def test_auto_strength_is_small_for_mixed_annotators_and_large_for_alike_ones(
    simulator,
) -> None:
    mixed, _ = _spammers(n_items=300)
    alike, _ = simulator(n_items=300, n_annotators=7, per_item=5, n_classes=3, accuracy=0.8,
                         seed=4)
    s_mixed = consensus(mixed, "dawid_skene").pool_strength
    s_alike = consensus(alike, "dawid_skene").pool_strength
    assert 0 < s_mixed < 50 < s_alike
    fixed = consensus(mixed, "dawid_skene", pool_strength=2.5)
    assert fixed.pool_strength == 2.5
    assert np.isnan(consensus(mixed).pool_strength)
    with pytest.raises(InputError, match="'pool_strength' parameter"):
        consensus(mixed, "dawid_skene", pool_strength="big")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'pool_strength' parameter"):
        consensus(mixed, "dawid_skene", pool_strength=-1)


def test_stops_when_the_objective_stops_improving() -> None:
    df, _ = _spammers(seed=5, n_items=300)
    res = consensus(df, "dawid_skene")
    assert res.converged and res.n_iter < 100
    tight = consensus(df, "dawid_skene", tol=1e-12, max_iter=1000)
    assert tight.n_iter > res.n_iter
    # the default tolerance leaves the posteriors (and labels) where full convergence has them
    assert np.abs(tight.probas.to_numpy() - res.probas.to_numpy()).max() < 0.05
    assert (tight.labels["label"] == res.labels["label"]).mean() > 0.99
    # EM never lowers the log-likelihood by much (it maximises log-likelihood + log prior)
    short = consensus(df, "dawid_skene", tol=0, max_iter=2)
    assert tight.log_likelihood > short.log_likelihood - 1e-6 * len(df)
    assert not consensus(df, "dawid_skene", tol=0, max_iter=2).converged


def _exact_log_evidence(df: pd.DataFrame, alpha: np.ndarray, smoothing: float) -> float:
    """log p(annotations) with z, confusion matrices and class prior all summed out."""
    from itertools import product

    from scipy.special import gammaln, logsumexp

    def log_dirmult(counts: np.ndarray, conc: np.ndarray) -> float:
        return float(gammaln(conc.sum()) - gammaln(conc.sum() + counts.sum())
                     + (gammaln(conc + counts) - gammaln(conc)).sum())

    item = pd.factorize(df["item"], sort=True)[0]
    ann = pd.factorize(df["annotator"], sort=True)[0]
    label = df["label"].to_numpy()
    k, n_ann = alpha.shape[0], ann.max() + 1
    terms = []
    for z in product(range(k), repeat=item.max() + 1):
        true = np.asarray(z)[item]
        total = log_dirmult(np.bincount(z, minlength=k).astype(float), np.full(k, smoothing))
        counts = np.zeros((n_ann, k, k))  # annotator, observed, true
        np.add.at(counts, (ann, label, true), 1.0)
        for a, t in product(range(n_ann), range(k)):
            total += log_dirmult(counts[a, :, t], alpha[:, t])
        terms.append(total)
    return float(logsumexp(terms))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_variational_objective_is_a_rising_lower_bound_on_the_evidence(seed: int) -> None:
    df, _ = _spammers(seed=seed, n_items=8)
    df["label"] = df["label"] % 2  # two classes keep the exact sum to 2^8 terms
    strength, smoothing = 3.0, 0.5
    elbos = [consensus(df, "dawid_skene", pool_strength=strength, smoothing=smoothing,
                       max_iter=n, tol=0).log_likelihood for n in (1, 2, 3, 5, 20)]
    assert np.all(np.diff(elbos) >= -1e-9)
    # the prior the fit used: pooled confusion of the annotators against majority vote
    mv = consensus(df, "majority").labels["label"]
    pooled = pd.crosstab(df["label"], df["item"].map(mv)).to_numpy().astype(float)
    pooled += smoothing
    alpha = smoothing + strength * pooled / pooled.sum(axis=0, keepdims=True)
    evidence = _exact_log_evidence(df, alpha, smoothing)
    assert elbos[-1] <= evidence + 1e-9
    assert elbos[-1] > evidence - 1.0  # a tight bound: within a nat on 8 items


def test_both_inference_modes_beat_majority_and_bad_values_are_refused() -> None:
    df, truth = _spammers(seed=3, n_items=300)
    mv = _accuracy(consensus(df, "majority"), truth)
    for inference in ("variational", "point"):
        res = consensus(df, "dawid_skene", inference=inference)
        assert _accuracy(res, truth) > mv + 0.02, inference
    with pytest.raises(InputError, match="'inference' parameter"):
        consensus(df, "dawid_skene", inference="exact")  # type: ignore[arg-type]


def _one_or_two_labels(
    rng: np.random.Generator, n: int, k: int, acc: list[float] | np.ndarray, model_acc: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Items with one or two labels from annotators of accuracy ``acc`` (errors uniform
    over the other classes), and a model's guesses right with probability
    ``model_acc``. Returns the annotations, the truth, where the model is right, and
    its guesses."""
    truth = rng.integers(0, k, n)
    rows = []
    for i in range(n):
        for a in rng.choice(len(acc), size=rng.integers(1, 3), replace=False):
            right = rng.random() < acc[a]
            rows.append((i, a, truth[i] if right else (truth[i] + rng.integers(1, k)) % k))
    df = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    hit = rng.random(n) < model_acc
    guess = np.where(hit, truth, (truth + rng.integers(1, k, n)) % k)
    return df, truth, hit, guess


def test_a_calibrated_model_counts_by_its_accuracy_where_items_have_few_labels() -> None:
    """Five annotators (accuracy 0.85-0.65), one or two labels per item, and an
    under-confident model that is right 90% of the time: the calibrated expert follows
    the model where it is sure; the soft voter, rated by its mean confidence, mostly
    follows the annotators."""
    rng = np.random.default_rng(4)
    n, k = 2_000, 5
    df, truth, hit, guess = _one_or_two_labels(rng, n, k, [0.85, 0.8, 0.75, 0.7, 0.65], 0.9)
    # under-confident (mean top probability ~0.6 for 90% right), surer when right
    sure = np.where(hit, rng.uniform(0.4, 0.9, n), rng.uniform(0.25, 0.6, n))
    probs = np.tile(((1 - sure) / (k - 1))[:, None], (1, k))
    probs[np.arange(n), guess] = sure
    calibrated = consensus(df, "dawid_skene", pred_probs=probs)
    soft = consensus(df, "dawid_skene", pred_probs=probs, model_vote="soft")
    assert calibrated.model_temperature > 1.0  # sharpened: the model is under-confident
    assert _accuracy(calibrated, truth) > _accuracy(soft, truth) + 0.03
    assert _accuracy(calibrated, truth) > (guess == truth).mean()
    with pytest.raises(InputError, match="model_vote"):
        consensus(df, "dawid_skene", pred_probs=probs, model_vote="hard")


def test_with_a_model_items_of_one_label_do_not_inflate_the_annotators() -> None:
    """Sparse design (one or two labels per item), annotators 0.9 to 0.5 accurate (mean
    0.7), a model right 85% of the time: the pooled prior is counted on items with two or
    more labels. Counted on every item, the single-label items (where the initial vote is
    the label itself) rated the annotators 0.84 and the consensus kept their labels
    against the model (0.77 accuracy, below the model's 0.85)."""
    n, k, acc = 3_000, 4, np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    df, truth, hit, guess = _one_or_two_labels(np.random.default_rng(7), n, k, acc, 0.85)
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), guess] = 0.7
    res = consensus(df, "dawid_skene", pred_probs=probs)
    quality = res.annotators["quality"].drop("__model__")
    assert abs(quality.mean() - acc.mean()) < 0.06
    assert _accuracy(res, truth) > hit.mean() + 0.01


def test_counts_against_the_other_labels_tell_annotators_apart() -> None:
    """``others_counts`` (the strength of amendment 3 of
    benchmarks/consensus_with_model.py, not the default): each label against the other
    labels of its item, so the five annotators of the sparse design agree with the others
    in the order of their accuracies, and the Dirichlet strength they give is finite."""
    from assay.collect._dawid_skene import STRENGTH_BOUNDS, estimate_strength, others_counts
    from assay.collect.annotations import encode_annotations
    from assay.collect.consensus import _design

    n, k, acc = 3_000, 4, np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    df, *_ = _one_or_two_labels(np.random.default_rng(7), n, k, acc, 0.85)
    enc = encode_annotations(df)
    counts = others_counts(_design(enc, None), k)
    assert counts.shape == (5, k, k)
    two = (df.groupby("item").size() == 2).sum()
    assert counts.sum() == pytest.approx(2 * two)  # single-label items add nothing
    agree = np.trace(counts, axis1=1, axis2=2) / counts.sum(axis=(1, 2))
    assert (np.diff(agree[enc.annotators.get_indexer(range(5))]) < 0).all()
    pooled = counts.sum(axis=0) / counts.sum(axis=(0, 1))
    assert estimate_strength(counts, pooled) < STRENGTH_BOUNDS[1] / 10
