"""Evaluation, honesty checks and paired comparison, against reference implementations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from assay.exceptions import InputError
from assay.train.augment import augment
from assay.train.evaluate import (
    Evaluation,
    check_eval_classes,
    check_leakage,
    check_not_augmented,
    compare,
    evaluate,
    evaluate_predictions,
    find_id_collisions,
    find_leakage,
    fit_and_evaluate,
)
from assay.train.recipe import Recipe

LOGREG = Recipe.from_yaml(
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\n"
    "params: {max_iter: 1000}\nseed: 0"
)


def _noisy_predictions(n: int, k: int, accuracy: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    wrong = rng.random(n) > accuracy
    pred = np.where(wrong, rng.integers(0, k, n), y)
    return y, pred


@pytest.fixture(scope="module")
def digits_split() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400], X[1000:1400], y[1000:1400]


def test_overall_metrics_match_scikit_learn() -> None:
    y, pred = _noisy_predictions(300, 5, 0.7, seed=1)
    pred[pred == 4] = 3  # class 4 is never predicted: zero-division paths
    ev = evaluate_predictions(y, pred, n_boot=200)
    assert ev.overall["accuracy"]["value"] == pytest.approx(accuracy_score(y, pred))
    assert ev.overall["macro_f1"]["value"] == pytest.approx(
        f1_score(y, pred, average="macro", zero_division=0)
    )
    assert ev.overall["balanced_accuracy"]["value"] == pytest.approx(
        balanced_accuracy_score(y, pred)
    )
    np.testing.assert_array_equal(ev.confusion, confusion_matrix(y, pred, labels=range(5)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=range(5), zero_division=0
    )
    np.testing.assert_allclose(ev.per_class["precision"], precision)
    np.testing.assert_allclose(ev.per_class["recall"], recall)
    np.testing.assert_allclose(ev.per_class["f1"], f1)
    np.testing.assert_array_equal(ev.per_class["support"], support)


def test_accuracy_interval_is_wilson() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    y, pred = _noisy_predictions(137, 3, 0.8, seed=2)
    ev = evaluate_predictions(y, pred, n_boot=10)
    low, high = proportion.proportion_confint((y == pred).sum(), 137, method="wilson")
    assert ev.overall["accuracy"]["low"] == pytest.approx(low)
    assert ev.overall["accuracy"]["high"] == pytest.approx(high)


def test_bootstrap_intervals_equal_a_naive_resampling_loop() -> None:
    y, pred = _noisy_predictions(120, 4, 0.75, seed=3)
    n_boot, seed = 150, 5
    ev = evaluate_predictions(y, pred, n_boot=n_boot, seed=seed)
    idx = np.random.default_rng(seed).integers(0, 120, size=(n_boot, 120))
    labels = np.unique(np.concatenate([y, pred]))
    f1s = [f1_score(y[i], pred[i], labels=labels, average="macro", zero_division=0) for i in idx]
    expected = np.quantile(f1s, [0.025, 0.975])
    assert ev.overall["macro_f1"]["low"] == pytest.approx(expected[0])
    assert ev.overall["macro_f1"]["high"] == pytest.approx(expected[1])
    bas = [balanced_accuracy_score(y[i], pred[i]) for i in idx]
    expected = np.quantile(bas, [0.025, 0.975])
    assert ev.overall["balanced_accuracy"]["low"] == pytest.approx(expected[0])
    assert ev.overall["balanced_accuracy"]["high"] == pytest.approx(expected[1])


def test_per_tag_accuracy_with_wilson_intervals() -> None:
    y, pred = _noisy_predictions(200, 3, 0.7, seed=4)
    tag = np.where(np.arange(200) % 3 == 0, "car", "quiet")
    ev = evaluate_predictions(y, pred, tags={"noise": tag}, n_boot=10)
    for value in ("car", "quiet"):
        rows = tag == value
        got = ev.per_tag.set_index("value").loc[value]
        assert got["n"] == rows.sum()
        assert got["accuracy"] == pytest.approx((y[rows] == pred[rows]).mean())
        ci = stats.binomtest(int((y[rows] == pred[rows]).sum()), int(rows.sum()))
        ci = ci.proportion_ci(method="wilson")
        assert (got["low"], got["high"]) == pytest.approx((ci.low, ci.high))


def test_string_labels_and_json_round_trip() -> None:
    y = np.array(["cat", "dog", "cow", "dog", "cat", "cow", "dog"] * 10)
    pred = np.roll(y, 1)
    ev = evaluate_predictions(
        y, pred, tags=pd.DataFrame({"site": ["a", "b"] * 35}), ids=np.arange(70), n_boot=50
    )
    data = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    back = Evaluation.from_dict(data)
    assert back.classes == ["cat", "cow", "dog"]
    assert back.overall == ev.overall
    pd.testing.assert_frame_equal(back.per_class, ev.per_class, check_dtype=False)
    pd.testing.assert_frame_equal(back.per_tag, ev.per_tag, check_dtype=False)
    np.testing.assert_array_equal(back.confusion, ev.confusion)
    assert list(back.y_pred) == list(pred)
    assert "3 classes" in back.summary()


def test_bad_evaluation_input_is_refused() -> None:
    with pytest.raises(InputError, match="shape"):
        evaluate_predictions([0, 1, 1], [0, 1])
    with pytest.raises(InputError, match="tags has 2 rows"):
        evaluate_predictions([0, 1, 1], [0, 1, 1], tags={"t": [1, 2]})
    with pytest.raises(InputError, match="'n_boot'"):
        evaluate_predictions([0, 1], [0, 1], n_boot=0)
    with pytest.raises(InputError, match="more than once"):
        evaluate_predictions([0, 1], [0, 1], ids=["a", "a"])


def test_leakage_by_id_and_by_content() -> None:
    check_leakage([1, 2, 3], [4, 5])  # nothing shared: no error
    with pytest.raises(InputError, match=r"2 evaluation rows.*: 3, 5"):
        check_leakage([1, 2, 3, 5], [3, 4, 5])
    X_train = np.arange(12.0).reshape(4, 3)
    X_eval = np.vstack([X_train[2], [100.0, 101.0, 102.0], X_train[0]])
    mask = find_leakage(X_train=X_train, X_eval=X_eval)
    np.testing.assert_array_equal(mask, [True, False, True])
    with pytest.raises(InputError, match="e1, e3"):
        check_leakage(X_train=X_train, X_eval=X_eval, eval_ids=["e1", "e2", "e3"])
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert find_leakage(X_train=frame, X_eval=frame.iloc[::-1]).all()
    with pytest.raises(InputError, match="needs train_ids"):
        find_leakage()


def test_unseen_eval_classes_are_refused() -> None:
    check_eval_classes([0, 1, 2], [2, 1])
    with pytest.raises(InputError, match=r"'zebra' \(2 items\)"):
        check_eval_classes(["cat", "dog"], ["cat", "zebra", "zebra"])


def test_augmented_rows_never_enter_evaluation(digits_split: tuple[np.ndarray, ...]) -> None:
    X_train, y_train, X_eval, y_eval = digits_split
    frame = pd.DataFrame(X_eval[:40], columns=[f"p{i}" for i in range(64)])
    frame["label"], frame["id"] = y_eval[:40], [f"e{i}" for i in range(40)]
    extra = augment(frame, modality="tabular", label="label", factor=0.1, seed=0)
    eval_frame = pd.concat([frame, extra], ignore_index=True)
    with pytest.raises(InputError, match="augmented rows never enter"):
        check_not_augmented(eval_frame)
    model = LOGREG.build().fit(X_train, y_train)
    with pytest.raises(InputError, match=re.escape(str(extra["id"].iloc[0]))):
        evaluate(model, eval_frame, eval_frame["label"])
    with pytest.raises(InputError, match="augmented rows never enter"):
        fit_and_evaluate(LOGREG, X_train, y_train, eval_frame, eval_frame["label"])
    with pytest.raises(InputError, match=r"1 augmented rows \(b\)"):
        check_not_augmented(np.array([False, True]), ids=["a", "b"])


def test_fit_and_evaluate_matches_a_manual_fit(digits_split: tuple[np.ndarray, ...]) -> None:
    X_train, y_train, X_eval, y_eval = digits_split
    ev = fit_and_evaluate(LOGREG, X_train, y_train, X_eval, y_eval, n_boot=100)
    manual = LOGREG.build().fit(X_train, y_train).predict(X_eval)
    assert ev.accuracy == pytest.approx(accuracy_score(y_eval, manual))
    assert ev.duration_s is not None and ev.duration_s > 0
    assert ev.info["recipe_hash"] == LOGREG.hash and ev.info["n_train"] == 400
    with pytest.raises(InputError, match="also sit in the training data"):
        fit_and_evaluate(LOGREG, X_train, y_train, X_train[:10], y_train[:10])
    with pytest.raises(InputError, match="never occur in training"):
        fit_and_evaluate(LOGREG, X_train[y_train < 5], y_train[y_train < 5], X_eval, y_eval)


def test_mcnemar_matches_statsmodels() -> None:
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    y = np.zeros(100, dtype=int)
    a = np.zeros(100, dtype=int)
    b = np.zeros(100, dtype=int)
    a[:9] = 1  # only B right on 9
    b[9:12] = 1  # only A right on 3
    a[12:20] = b[12:20] = 1  # both wrong on 8
    comp = compare(evaluate_predictions(y, a, n_boot=10), evaluate_predictions(y, b, n_boot=10))
    assert (comp.only_a, comp.only_b) == (3, 9)
    table = [[80, 3], [9, 8]]  # rows: A right / wrong; columns: B right / wrong
    assert comp.p_value == pytest.approx(contingency.mcnemar(table, exact=True).pvalue)
    mid = comp.p_value - stats.binom.pmf(3, 12, 0.5)
    assert comp.p_mid == pytest.approx(mid)
    assert comp.metrics["accuracy"]["delta"] == pytest.approx(0.06)


def test_paired_bootstrap_interval_equals_a_naive_loop() -> None:
    y, a = _noisy_predictions(150, 3, 0.7, seed=6)
    _, b = _noisy_predictions(150, 3, 0.8, seed=6)
    comp = compare(
        evaluate_predictions(y, a, n_boot=5),
        evaluate_predictions(y, b, n_boot=5),
        n_boot=150,
        seed=9,
    )
    idx = np.random.default_rng(9).integers(0, 150, size=(150, 150))
    deltas = [(b[i] == y[i]).mean() - (a[i] == y[i]).mean() for i in idx]
    low, high = np.quantile(deltas, [0.025, 0.975])
    assert (comp.metrics["accuracy"]["low"], comp.metrics["accuracy"]["high"]) == pytest.approx(
        (low, high)
    )
    f1_deltas = [
        f1_score(y[i], b[i], average="macro") - f1_score(y[i], a[i], average="macro") for i in idx
    ]
    assert comp.metrics["macro_f1"]["low"] == pytest.approx(np.quantile(f1_deltas, 0.025))


def test_compare_pairs_by_id_in_any_order() -> None:
    y, a = _noisy_predictions(80, 3, 0.6, seed=7)
    _, b = _noisy_predictions(80, 3, 0.9, seed=8)
    ids = np.array([f"i{j}" for j in range(80)])
    tags = {"half": np.arange(80) < 40}
    ea = evaluate_predictions(y, a, ids=ids, tags=tags, n_boot=5)
    order = np.random.default_rng(0).permutation(80)
    eb = evaluate_predictions(
        y[order], b[order], ids=ids[order], tags={"half": tags["half"][order]}, n_boot=5
    )
    eb_same = evaluate_predictions(y, b, ids=ids, tags=tags, n_boot=5)
    c1, c2 = compare(ea, eb, n_boot=100), compare(ea, eb_same, n_boot=100)
    assert (c1.only_a, c1.only_b, c1.p_value) == (c2.only_a, c2.only_b, c2.p_value)
    assert c1.metrics == c2.metrics
    assert len(c1.per_tag) == 2
    assert json.dumps(c1.to_dict(), allow_nan=False)
    assert "McNemar" in c1.summary()


def test_compare_refuses_unpaired_evaluations() -> None:
    y, a = _noisy_predictions(50, 3, 0.6, seed=1)
    ea = evaluate_predictions(y, a, n_boot=5)
    with pytest.raises(InputError, match="50 and 49 items"):
        compare(ea, evaluate_predictions(y[:49], a[:49], n_boot=5))
    with pytest.raises(InputError, match="different true labels"):
        compare(ea, evaluate_predictions((y + 1) % 3, a, n_boot=5))
    with_ids = evaluate_predictions(y, a, ids=np.arange(50), n_boot=5)
    with pytest.raises(InputError, match="not in B"):
        compare(with_ids, evaluate_predictions(y, a, ids=np.arange(1, 51), n_boot=5))


def test_sentiment_per_source_on_real_text(shared_data: Path) -> None:
    """Real data: UCI sentiment sentences, TF-IDF recipe, the source site as a tag."""
    frames = []
    for source in ("amazon_cells", "yelp", "imdb"):
        path = shared_data / "text" / f"{source}_labelled.txt"
        if not path.exists():
            pytest.skip(f"{path} is absent")
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        rows = [r for r in (line.rsplit("\t", 1) for line in lines) if len(r) == 2]
        frames.append(pd.DataFrame(rows, columns=["text", "label"]).assign(source=source))
    data = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=0)
    data = data.drop_duplicates("text")
    train, held = data.iloc[:2000], data.iloc[2000:]
    recipe = Recipe.from_yaml(
        "featurizer: tfidf\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0"
    )
    ev = fit_and_evaluate(
        recipe,
        train["text"],
        train["label"],
        held["text"],
        held["label"],
        tags=held[["source"]],
        n_boot=200,
    )
    assert 0.7 < ev.accuracy < 0.95  # TF-IDF + logistic regression on these sentences
    assert set(ev.per_tag["value"]) == {"amazon_cells", "yelp", "imdb"}
    assert ev.per_tag["n"].sum() == len(held)


def test_augmented_copies_of_eval_items_in_training_leak() -> None:
    parents = [None, "e2", np.nan, "t9"]
    mask = find_leakage(["t1", "t2", "t3", "t4"], ["e1", "e2"], train_parent_ids=parents)
    np.testing.assert_array_equal(mask, [False, True])
    with pytest.raises(InputError, match=r"augmented copy\): e2"):
        check_leakage(["t1", "t2", "t3", "t4"], ["e1", "e2"], train_parent_ids=parents)


def test_check_not_augmented_accepts_only_tables_and_masks() -> None:
    check_not_augmented(pd.DataFrame({"x": [1, 2]}))  # no provenance column: nothing to refuse
    check_not_augmented(pd.DataFrame({"augmented": [False, None]}))
    with pytest.raises(InputError, match="1-d boolean mask"):
        check_not_augmented(np.array([0, 1]))


def test_content_digests_confirm_ids() -> None:
    """Two corpora with the same file names: an id leaks only with the same content."""
    train_ids, train_dig = ["cat/1", "cat/2", "dog/1"], ["a", "b", "c"]
    eval_ids, eval_dig = ["cat/1", "cat/2", "dog/9", "dog/1"], ["x", "b", "c", "y"]
    digests = {"train_digests": train_dig, "eval_digests": eval_dig}
    # without digests every shared name is leakage
    np.testing.assert_array_equal(find_leakage(train_ids, eval_ids), [True, True, False, True])
    # cat/2: same name, same bytes; dog/9: the bytes of dog/1 under another name
    mask = find_leakage(train_ids, eval_ids, **digests)
    np.testing.assert_array_equal(mask, [False, True, True, False])
    np.testing.assert_array_equal(
        find_id_collisions(train_ids, eval_ids, train_dig, eval_dig), [True, False, False, True]
    )
    with pytest.raises(
        InputError,
        match=r"2 evaluation rows .*\(1 by id and content, 1 as identical content "
        r"under another id\): cat/2, dog/9;",
    ):
        check_leakage(train_ids, eval_ids, **digests)
    check_leakage(["cat/1"], ["cat/1"], train_digests=["a"], eval_digests=["z"])  # no error


def test_augmented_copy_is_confirmed_by_the_parent_content() -> None:
    train_ids, train_dig = ["cat/1", "cat/2"], ["a", "b"]
    parents = [None, None, "cat/1", "cat/7"]  # cat/7's original is no longer in training
    leak = find_leakage(
        train_ids,
        ["cat/1", "cat/7", "cat/9"],
        train_parent_ids=parents,
        train_digests=train_dig,
        eval_digests=["x", "y", "z"],
    )
    # cat/1 of the evaluation set is another file than the parent cat/1: not its copy;
    # cat/7's parent cannot be checked, so its copy still counts as leakage
    np.testing.assert_array_equal(leak, [False, True, False])
    with pytest.raises(InputError, match=r"augmented copy\): cat/1"):
        check_leakage(
            train_ids,
            ["cat/1"],
            train_parent_ids=parents,
            train_digests=train_dig,
            eval_digests=["a"],
        )


def test_digests_must_come_in_pairs_aligned_with_ids() -> None:
    with pytest.raises(InputError, match="both train_digests and eval_digests"):
        find_leakage(["a"], ["b"], train_digests=["x"])
    with pytest.raises(InputError, match="one content digest per eval id"):
        find_leakage(["a"], ["b", "c"], train_digests=["x"], eval_digests=["y"])


def test_fit_and_evaluate_uses_the_digests() -> None:
    rng = np.random.default_rng(0)
    X_train, X_eval = rng.normal(size=(40, 3)), rng.normal(size=(10, 3))
    y_train, y_eval = np.arange(40) % 2, np.arange(10) % 2
    ids = [f"f{i}.png" for i in range(10)]  # the evaluation names are training names too
    train_ids = [f"f{i}.png" for i in range(40)]
    with pytest.raises(InputError, match="10 evaluation rows"):
        fit_and_evaluate(
            LOGREG, X_train, y_train, X_eval, y_eval, train_ids=train_ids, eval_ids=ids, n_boot=10
        )
    ev = fit_and_evaluate(
        LOGREG,
        X_train,
        y_train,
        X_eval,
        y_eval,
        train_ids=train_ids,
        eval_ids=ids,
        train_digests=[f"t{i}" for i in range(40)],
        eval_digests=[f"e{i}" for i in range(10)],
        n_boot=10,
    )
    assert ev.n == 10
