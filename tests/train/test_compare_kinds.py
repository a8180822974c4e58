"""Paired comparison through the task: regression (paired bootstrap on absolute errors)
and multi-label (McNemar per label with Holm, paired bootstrap on micro F1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multioutput import MultiOutputClassifier
from statsmodels.stats.multitest import multipletests

import assay
from assay.exceptions import InputError
from assay.train.evaluate import Comparison, evaluate_predictions
from assay.train.evaluate._multilabel import evaluate_multilabel
from assay.train.evaluate._paired import PairedComparison, bootstrap_p_value, holm
from assay.train.evaluate._regression import evaluate_regression

LABELS = [f"Class{i}" for i in range(1, 15)]


@pytest.fixture(scope="module")
def diabetes_pair() -> tuple[Any, Any]:
    X, y = load_diabetes(return_X_y=True)
    preds = [Ridge(alpha=a).fit(X[:300], y[:300]).predict(X[300:]) for a in (0.1, 10.0)]
    ids = np.arange(300, len(y))
    a = evaluate_regression(y[300:], preds[0], ids=ids, n_boot=200)
    order = np.random.default_rng(0).permutation(ids.size)  # B stored in another order
    b = evaluate_regression(y[300:][order], preds[1][order], ids=ids[order], n_boot=200)
    return a, b


@pytest.fixture(scope="module")
def yeast_pair(shared_data: Path) -> tuple[Any, Any]:
    folder = shared_data / "multilabel" / "yeast"
    data = pd.read_csv(folder / "yeast.csv")
    train = pd.read_csv(folder / "yeast-mulan-split.csv")["split"].to_numpy() == "train"
    features = [c for c in data.columns if c.startswith("Att")]
    evals = []
    for c in (1.0, 0.01):
        model = MultiOutputClassifier(LogisticRegression(C=c, max_iter=2000))
        model.fit(data.loc[train, features], data.loc[train, LABELS])
        pred = model.predict(data.loc[~train, features])
        evals.append(evaluate_multilabel(data.loc[~train, LABELS].to_numpy(), pred,
                                         classes=LABELS, n_boot=200))
    return evals[0], evals[1]


def test_regression_pairs_by_id_and_bootstraps_the_mae_difference(diabetes_pair: Any) -> None:
    a, b = diabetes_pair
    result = assay.compare(a, b, names=("E1", "E2"), n_boot=500)
    assert isinstance(result, PairedComparison) and result.headline == "mae"
    pos = pd.Index(b.ids).get_indexer(a.ids)
    mae_b = float(np.mean(np.abs(b.y_pred[pos] - a.y_true)))
    m = result.metrics["mae"]
    assert m["b"] == pytest.approx(mae_b) and m["a"] == a.overall["mae"]["value"]
    assert m["low"] < m["delta"] < m["high"]
    assert m["delta"] == pytest.approx(mae_b - m["a"])
    assert result.per_group["n"].sum() == a.n
    assert all(len(line) <= 80 for line in result.summary().splitlines())
    same = assay.compare(a, a, n_boot=200)
    assert same.metrics["mae"]["delta"] == 0 and same.p_value == 1.0


def test_the_paired_bootstrap_holds_its_level_under_the_null() -> None:
    """Two models with errors of the same distribution: about 5% rejections at 0.05."""
    rng = np.random.default_rng(0)
    rejected = 0
    runs = 200
    for _ in range(runs):
        y = rng.normal(0, 1, 150)
        a = evaluate_regression(y, y + rng.normal(0, 1, 150), n_boot=300)
        b = evaluate_regression(y, y + rng.normal(0, 1, 150), n_boot=300)
        rejected += assay.compare(a, b, n_boot=300, seed=int(rng.integers(1e6))).significant
    assert 0.01 <= rejected / runs <= 0.10


def test_bootstrap_p_value_and_holm_against_statsmodels() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 0.2, 12)
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])
    with_nan = np.append(p, np.nan)
    assert np.isnan(holm(with_nan)[-1]) and np.allclose(holm(with_nan)[:-1], holm(p))
    far = rng.normal(1.0, 0.1, 999)  # every centred replicate closer to 1 than 1 to 0
    assert bootstrap_p_value(far, 1.0) == pytest.approx(1 / 1000)


def test_multilabel_mcnemar_per_label_and_bootstrap_on_micro_f1(yeast_pair: Any) -> None:
    a, b = yeast_pair
    result = assay.compare(a, b, n_boot=300)
    assert result.headline == "micro_f1" and result.test == "paired bootstrap (micro F1)"
    m = result.metrics["micro_f1"]
    assert m["delta"] == pytest.approx(b.overall["micro_f1"]["value"]
                                       - a.overall["micro_f1"]["value"])
    assert m["low"] < m["delta"] < m["high"]
    Y, Pa = a.matrices
    _, Pb = b.matrices
    tests = result.per_group.set_index("label")
    for j, name in enumerate(a.classes):
        ca, cb = Pa[:, j] == Y[:, j], Pb[:, j] == Y[:, j]
        only_a, only_b = int((ca & ~cb).sum()), int((cb & ~ca).sum())
        assert (tests.loc[name, "only_a"], tests.loc[name, "only_b"]) == (only_a, only_b)
        if only_a + only_b:
            exact = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
            assert tests.loc[name, "p_value"] == pytest.approx(exact)
    assert np.allclose(tests["p_holm"], multipletests(tests["p_value"], method="holm")[1])
    assert "Holm" in result.summary()
    assert all(len(line) <= 80 for line in result.summary().splitlines())


def test_classification_keeps_mcnemar_and_kinds_do_not_mix(diabetes_pair: Any) -> None:
    y = np.array(["a", "b"] * 50)
    flip = y.copy()
    flip[:10] = np.where(flip[:10] == "a", "b", "a")
    ca = evaluate_predictions(y, y, n_boot=50)
    cb = evaluate_predictions(y, flip, n_boot=50)
    result = assay.compare(ca, cb, n_boot=50)
    assert isinstance(result, Comparison) and result.only_a == 10
    assert result.to_dict()["test"] == "McNemar exact"
    with pytest.raises(InputError, match="different kinds"):
        assay.compare(ca, diabetes_pair[0])
    with pytest.raises(InputError, match="100 and 142 items"):
        assay.compare(evaluate_regression(np.ones(100), np.ones(100)), diabetes_pair[0])
