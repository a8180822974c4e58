"""The audit's automatic action on label issues: relabel the confident flags, drop the rest.

Real data (scikit-learn's bundled wine and breast-cancer sets), seeded label noise, the
label check with a logistic regression held fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assay.exceptions import InputError
from assay.train.audit import AuditReport, audit
from assay.train.audit._action import suggestion_columns

NAMES = np.array(["barolo", "grignolino", "barbera"])


def _noisy_audit(loader, flips: int, seed: int, names: np.ndarray | None = None):
    X, y = loader(return_X_y=True)
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    noisy = y.copy()
    idx = rng.choice(y.size, flips, replace=False)
    noisy[idx] = (y[idx] + rng.integers(1, k, idx.size)) % k
    labels = noisy if names is None else names[noisy]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    report = audit(pd.DataFrame({"label": labels}), label="label", features=X, model=model,
                   checks=["label"], seed=seed, n_jobs=1)
    truth = y if names is None else names[y]
    return report, truth, labels


@pytest.fixture(scope="module")
def wine() -> tuple[AuditReport, np.ndarray, np.ndarray]:
    return _noisy_audit(load_wine, 25, 3, NAMES)


def test_relabels_only_confident_suggestions_and_drops_the_rest(wine) -> None:
    report, truth, given = wine
    issues = report.issues
    act = report.label_action("relabel")
    flagged = issues["is_label_issue"].to_numpy()
    sure = (issues["suggested_probability"] >= issues["suggested_threshold"]).to_numpy()
    kind = act["action"].to_numpy()
    assert (kind == "keep").sum() == (~flagged).sum() and (kind[~flagged] == "keep").all()
    assert (kind[flagged & sure] == "relabel").all() and (kind[flagged & ~sure] == "drop").all()
    assert 0 < (kind == "relabel").sum() < flagged.sum()  # both branches are taken here
    relabelled = kind == "relabel"
    np.testing.assert_array_equal(act["label"][relabelled], issues["suggested_label"][relabelled])
    np.testing.assert_array_equal(act["label"][~relabelled], given[~relabelled])
    # the confident suggestions are mostly the true labels, and more often than the dropped ones
    right = (act["label"].to_numpy() == truth)[relabelled].mean()
    dropped_right = (issues["suggested_label"].to_numpy() == truth)[kind == "drop"].mean()
    assert right >= 0.9 and right > dropped_right


def test_the_default_action_relabels_confident_flags(wine) -> None:
    report = wine[0]
    pd.testing.assert_frame_equal(report.label_action(), report.label_action("relabel", "class"))


def test_drop_drops_every_flag_and_a_bar_of_zero_relabels_every_flag(wine) -> None:
    report, _, given = wine
    flagged = report.issues["is_label_issue"].to_numpy()
    drop = report.label_action("drop")
    assert ((drop["action"] == "drop").to_numpy() == flagged).all()
    np.testing.assert_array_equal(drop["label"], given)
    every = report.label_action("relabel", 0.0)["action"].to_numpy()
    assert (every[flagged] == "relabel").all() and (every[~flagged] == "keep").all()
    strict = report.label_action("relabel", 1.0)["action"].to_numpy()
    assert (strict[flagged] == "drop").all()


def test_disagreeing_scope_acts_also_on_rows_whose_suggestion_differs(wine) -> None:
    report, truth, given = wine
    issues = report.issues
    differs = (issues["suggested_label"] != issues["given_label"]).to_numpy()
    touched = issues["is_label_issue"].to_numpy() | differs
    assert differs.sum() > issues["is_label_issue"].sum()  # the scope reaches more rows here
    drop = report.label_action("drop", scope="disagreeing")["action"].to_numpy()
    assert ((drop == "drop") == touched).all()
    act = report.label_action("relabel", scope="disagreeing")
    kind = act["action"].to_numpy()
    sure = (issues["suggested_probability"] >= issues["suggested_threshold"]).to_numpy()
    assert (kind[touched & sure & differs] == "relabel").all()
    assert (kind[touched & ~sure] == "drop").all() and (kind[~touched] == "keep").all()
    # more of the wrong labels are fixed or removed than with the flagged rows alone
    wrong = given != truth
    flagged_only = report.label_action("relabel")
    still_wrong = lambda a: ((a["label"].to_numpy() != truth) & (a["action"] != "drop")).sum()  # noqa: E731
    assert still_wrong(act) <= still_wrong(flagged_only) < wrong.sum()


def test_relabelling_the_confident_flags_keeps_more_true_labels_than_dropping() -> None:
    report, truth, given = _noisy_audit(load_breast_cancer, 40, 0)
    kept_drop = report.label_action("drop")
    kept_fix = report.label_action("relabel")
    right_drop = ((kept_drop["label"] == truth) & (kept_drop["action"] != "drop")).sum()
    right_fix = ((kept_fix["label"] == truth) & (kept_fix["action"] != "drop")).sum()
    wrong_fix = ((kept_fix["label"] != truth) & (kept_fix["action"] != "drop")).sum()
    assert right_fix > right_drop and wrong_fix <= (given != truth).sum() // 2


def test_suggestion_columns_are_the_argmax_and_its_class_threshold() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    codes = np.array([0, 0, 1, 0])
    cols = suggestion_columns(codes, probs)
    np.testing.assert_allclose(cols["suggested_probability"], [0.9, 0.7, 0.6, 0.6])
    # class 0: mean of 0.9, 0.7, 0.2; class 1: 0.6; class 2 has no row: 1.0 (never relabel)
    np.testing.assert_allclose(cols["suggested_threshold"], [0.6, 0.6, 0.6, 1.0])


@pytest.mark.parametrize(("action", "threshold", "scope"), [
    ("fix", "class", "flagged"), ("relabel", 1.5, "flagged"), ("relabel", "mean", "flagged"),
    ("relabel", True, "flagged"), ("relabel", "class", "all"),
])
def test_bad_action_threshold_or_scope_is_one_line_error(wine, action, threshold, scope) -> None:
    with pytest.raises(InputError, match=r"^label_action: [^\n]+$"):
        wine[0].label_action(action, threshold, scope)


def test_action_needs_the_label_check() -> None:
    X, _ = load_wine(return_X_y=True)
    report = audit(pd.DataFrame({"a": X[:, 0]}), label=None, features=X, checks=["outlier"],
                   n_jobs=1)
    with pytest.raises(InputError, match="did not run"):
        report.label_action("relabel")
