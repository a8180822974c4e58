"""Multi-label label issues: cleanlab 2.9 as the anchor, the table contract, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_multilabel_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import KFold, cross_val_predict

import assay
from assay.exceptions import InputError
from assay.train.labels import find_multilabel_issues


def _plant(Y: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Drop one tag, add one, or both, on a share of the items."""
    rng = np.random.default_rng(seed)
    noisy = Y.copy()
    for i in rng.choice(len(Y), int(rate * len(Y)), replace=False):
        op = rng.integers(3)
        on, off = np.flatnonzero(noisy[i]), np.flatnonzero(noisy[i] == 0)
        if op != 1 and len(on) > 1:
            noisy[i, rng.choice(on)] = 0
        if op != 0 and len(off):
            noisy[i, rng.choice(off)] = 1
    return noisy


@pytest.fixture(scope="module")
def tagged() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, Y = make_multilabel_classification(
        n_samples=1500, n_features=20, n_classes=6, n_labels=2, random_state=0
    )
    noisy = _plant(Y, 0.1, seed=0)
    cv = KFold(5, shuffle=True, random_state=0)
    probs = np.column_stack([
        cross_val_predict(LogisticRegression(max_iter=500), X, noisy[:, j], cv=cv,
                          method="predict_proba")[:, 1]
        for j in range(Y.shape[1])
    ])
    return noisy, probs, (noisy != Y).any(axis=1)


def _sets(Y: np.ndarray) -> list[list[int]]:
    return [list(np.flatnonzero(row)) for row in Y]


def test_auprc_and_f1_beat_cleanlab(tagged) -> None:
    rank = pytest.importorskip("cleanlab.multilabel_classification.rank")
    from cleanlab.multilabel_classification import filter as cl_filter

    Y, probs, wrong = tagged
    table = find_multilabel_issues(Y, probs)
    ref = average_precision_score(wrong, -rank.get_label_quality_scores(_sets(Y), probs))
    assert average_precision_score(wrong, -table["label_quality"]) >= ref
    ref_f1 = f1_score(wrong, cl_filter.find_label_issues(_sets(Y), probs))
    assert f1_score(wrong, table["is_label_issue"]) > ref_f1 + 0.1


def _rule_tags(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and tags that are a fixed function of them (thresholded projections)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    Y = (X @ rng.normal(size=(8, 6)) > rng.normal(0.5, 0.5, size=6)).astype(int)
    return X, Y


@pytest.mark.parametrize(("rate", "seed"), [(0.1, 2), (0.1, 4), (0.2, 3)])
def test_flagged_count_tracks_the_planted_count(rate: float, seed: int) -> None:
    X, Y = _rule_tags(3000, seed)
    noisy = _plant(Y, rate, seed)
    wrong = (noisy != Y).any(axis=1)
    cv = KFold(5, shuffle=True, random_state=0)
    probs = np.column_stack([
        cross_val_predict(LogisticRegression(max_iter=500), X, noisy[:, j], cv=cv,
                          method="predict_proba")[:, 1]
        for j in range(Y.shape[1])
    ])
    table = find_multilabel_issues(noisy, probs)
    flagged = int(table["is_label_issue"].sum())
    assert abs(flagged - wrong.sum()) <= 0.3 * wrong.sum()
    assert f1_score(wrong, table["is_label_issue"]) >= 0.7
    # on most caught sets the suggestion is closer to the truth than the given set
    caught = np.flatnonzero(table["is_label_issue"].to_numpy() & wrong)
    suggested = np.zeros_like(Y)
    for i in caught:
        suggested[i, table["suggested_label"].iloc[i]] = 1
    closer = (suggested[caught] != Y[caught]).sum(1) < (noisy[caught] != Y[caught]).sum(1)
    assert closer.mean() >= 0.7


def test_table_contract_with_names() -> None:
    labels = [["cat", "dog"], ["dog"], [], ["cat", "fox"]] * 30
    probs = np.array([[0.9, 0.9, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.1], [0.8, 0.2, 0.9]] * 30)
    probs[0] = [0.02, 0.95, 0.97]  # "cat" looks added, "fox" omitted
    table = find_multilabel_issues(labels, probs, classes=["cat", "dog", "fox"])
    assert list(table.columns) == [
        "is_label_issue", "label_quality", "given_label", "suggested_label",
        "missing_labels", "extra_labels",
    ]
    assert table.index.equals(pd.RangeIndex(120))
    row = table.iloc[0]
    assert row["is_label_issue"] and row["given_label"] == ["cat", "dog"]
    assert row["missing_labels"] == ["fox"] and row["extra_labels"] == ["cat"]
    assert row["suggested_label"] == ["dog", "fox"]
    assert table["label_quality"].idxmin() == 0
    assert table.loc[2, "given_label"] == [] and not table.loc[1:, "is_label_issue"].any()
    # a label no item carries cannot be learnt: never flagged, still scored
    alone = find_multilabel_issues([["cat"], ["dog"]] * 5, np.full((10, 3), 0.5),
                                   classes=["cat", "dog", "fox"])
    assert not alone["missing_labels"].map(bool).any()
    q = table["label_quality"].to_numpy()
    assert ((q >= 0) & (q <= 1)).all()


def test_matrix_dataframe_and_sets_agree(tagged) -> None:
    Y, probs, _ = tagged
    names = [f"t{j}" for j in range(Y.shape[1])]
    frame = pd.DataFrame(Y, columns=names, index=[f"i{i}" for i in range(len(Y))])
    by_frame = find_multilabel_issues(frame, probs)
    by_sets = find_multilabel_issues([[names[j] for j in s] for s in _sets(Y)], probs,
                                     classes=names)
    assert by_frame.index.equals(frame.index)
    np.testing.assert_array_equal(by_frame["label_quality"], by_sets["label_quality"])
    assert by_frame["suggested_label"].tolist() == by_sets["suggested_label"].tolist()


def test_public_find_label_issues_hands_off_to_the_multilabel_task(tagged) -> None:
    Y, probs, _ = tagged
    pd.testing.assert_frame_equal(
        assay.find_label_issues(Y, probs, task="multilabel"), find_multilabel_issues(Y, probs)
    )


@pytest.mark.parametrize(
    ("labels", "probs", "classes", "match"),
    [
        ([["a"], ["zebra"]], [[0.5, 0.5], [0.5, 0.5]], ["a", "b"], "names 'zebra'"),
        (np.array([[0, 2], [1, 0]]), [[0.5, 0.5], [0.5, 0.5]], None, "other than 0 and 1"),
        (np.array([[0, np.nan], [1, 0]]), [[0.5, 0.5], [0.5, 0.5]], None, "other than 0 and 1"),
        (np.array([[0, 1], [1, 0]]), [[0.5, 0.5]], None, "must have shape"),
        (np.array([[0, 1], [1, 0]]), [[0.5, np.inf], [0.5, 0.5]], None, "NaN, infinite"),
        (np.array([[0, 1], [1, 0]]), [[0.5, 1.5], [0.5, 0.5]], None, "outside"),
        ([["a"], "a"], [[0.5], [0.5]], ["a"], "not a list of labels"),
    ],
)
def test_bad_input_is_one_line(labels, probs, classes, match) -> None:
    with pytest.raises(InputError, match=match) as err:
        find_multilabel_issues(labels, np.asarray(probs, dtype=float), classes=classes)
    assert "\n" not in str(err.value)
