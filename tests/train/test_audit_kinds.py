"""``assay.audit`` and ``assay audit`` on regression and multi-label labels.

Real data (scikit-learn's diabetes, a seeded multi-label set) with planted errors: the
audit's ranking is scored against them and against cleanlab 2.9 on the same model's
out-of-sample predictions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, make_multilabel_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import average_precision_score
from sklearn.model_selection import KFold, cross_val_predict

import assay
from assay.cli.main import main
from assay.exceptions import InputError
from assay.store.workspace import Workspace


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = X.copy()
    # the noise of benchmarks/label_issues_kinds.py: 10% of the labels, half drawn from
    # the label marginal, half shifted by 1-3 SD
    rng = np.random.default_rng(0)
    clean = y.to_numpy(dtype=float)
    rows = rng.choice(len(clean), len(clean) // 10, replace=False)
    half = len(rows) // 2
    target = clean.copy()
    target[rows[:half]] = clean[rng.integers(0, len(clean), half)]
    shift = rng.choice([-1.0, 1.0], len(rows) - half) * rng.uniform(1, 3, len(rows) - half)
    target[rows[half:]] += shift * clean.std()
    wrong = target != clean
    frame["y"] = target
    frame.index = [f"p{i}" for i in range(len(frame))]
    return frame, wrong


@pytest.fixture(scope="module")
def tagged() -> tuple[pd.DataFrame, list[str], np.ndarray]:
    X, Y = make_multilabel_classification(
        n_samples=800, n_features=12, n_classes=5, n_labels=2, random_state=1
    )
    rng = np.random.default_rng(1)
    noisy = Y.copy()
    rows = rng.choice(len(Y), 80, replace=False)
    cols = rng.integers(0, Y.shape[1], 80)
    noisy[rows, cols] = 1 - noisy[rows, cols]  # a tag dropped or added
    names = [f"tag_{j}" for j in range(Y.shape[1])]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame[names] = noisy
    return frame, names, (noisy != Y).any(axis=1)


def test_regression_audit_beats_cleanlab_and_skips_class_checks(diabetes) -> None:
    rank = pytest.importorskip("cleanlab.regression.rank")
    frame, wrong = diabetes
    report = assay.audit(frame, label="y", model=Ridge())
    assert "class_imbalance" not in report.checks and "label" in report.checks
    assert {"outlier", "near_duplicate", "exact_duplicate"} <= set(report.checks)
    issues = report.issues
    assert issues.index.equals(frame.index)
    assert issues["is_label_issue"].dtype == bool
    assert issues["label_quality"].between(0, 1).all()
    X = frame.drop(columns="y").to_numpy()
    pred = cross_val_predict(Ridge(), X, frame["y"], cv=KFold(5, shuffle=True, random_state=0))
    ref = average_precision_score(wrong, -rank.get_label_quality_scores(frame["y"], pred))
    ours = average_precision_score(wrong, -issues["label_quality"])
    assert ours >= ref
    flagged = issues["is_label_issue"].to_numpy()
    assert flagged.sum() > 0 and wrong[flagged].mean() >= 0.6
    assert report.summary["label"]["label_probs_source"] == "Ridge"


def test_multilabel_audit_beats_cleanlab(tagged) -> None:
    rank = pytest.importorskip("cleanlab.multilabel_classification.rank")
    frame, names, wrong = tagged
    model = LogisticRegression(max_iter=500)
    report = assay.audit(frame, label=names, model=model)
    assert "class_imbalance" not in report.checks
    issues = report.issues
    assert issues.index.equals(frame.index)
    for column in ("is_label_issue", "label_quality", "missing_labels", "extra_labels"):
        assert column in issues
    assert set().union(*issues["suggested_label"].map(set)) <= set(names)
    X = frame.drop(columns=names).to_numpy()
    cv = KFold(5, shuffle=True, random_state=0)
    probs = np.column_stack([
        cross_val_predict(model, X, frame[n], cv=cv, method="predict_proba")[:, 1] for n in names
    ])
    sets = [list(np.flatnonzero(r)) for r in frame[names].to_numpy()]
    ref = average_precision_score(wrong, -rank.get_label_quality_scores(sets, probs))
    assert average_precision_score(wrong, -issues["label_quality"]) >= ref


def test_column_of_lists_is_multilabel_and_task_overrides(tagged, diabetes) -> None:
    frame, names, _ = tagged
    lists = frame.drop(columns=names)
    lists["tags"] = [[n for n, v in zip(names, row, strict=True) if v]
                     for row in frame[names].to_numpy()]
    report = assay.audit(lists, label="tags", model=LogisticRegression(max_iter=300),
                         checks=["label"])
    assert "missing_labels" in report.issues
    reg, _ = diabetes
    whole = reg.assign(y=reg["y"].round().astype(int))
    as_regression = assay.audit(whole, label="y", model=Ridge(), task="regression",
                                checks=["label"])
    assert "residual" in as_regression.issues


def test_bad_input_is_one_line(diabetes, tagged) -> None:
    frame, _ = diabetes
    broken = frame.copy()
    broken.iloc[3, broken.columns.get_loc("y")] = np.nan
    cases = [
        (lambda: assay.audit(broken, label="y", model=Ridge()), "NaN or infinite"),
        (lambda: assay.audit(frame, label="y", model=Ridge(), checks=["class_imbalance"]),
         "applies to classification"),
        (lambda: assay.audit(frame, label="y", task="regresion"), "'task' parameter"),
    ]
    tags, names, _ = tagged
    bad = tags.copy()
    bad.loc[0, names[0]] = 2
    cases.append((lambda: assay.audit(bad, label=names), "other than 0 and 1"))
    for call, match in cases:
        with pytest.raises(InputError, match=match) as err:
            call()
        assert "\n" not in str(err.value)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_audit_of_regression_and_multilabel_datasets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], diabetes, tagged
) -> None:
    ws = Workspace.init(tmp_path / "ws")
    frame, _ = diabetes
    ws.import_dataset("diabetes", frame.reset_index(names="id"), label="y", id="id")
    tags, names, _ = tagged
    ws.import_dataset("tags", tags, label=names)
    for name, kind in (("diabetes", "regression"), ("tags", "multilabel")):
        assert ws.dataset(name).task.kind == kind
        code, out, err = _cli(capsys, "audit", name, "--json", "--report",
                              str(tmp_path / f"{name}.html"), "-w", ws.location)
        assert code == 0, err
        record = json.loads(out)
        assert "label" in record["checks"] and "class_imbalance" not in record["checks"]
        assert record["queued"].get("label_issue", 0) == record["checks"]["label"]["count"]
        [analysis] = [a for a in ws.analyses("audit") if a["version"].startswith(name)]
        table = ws.analysis_table(analysis)
        assert table is not None and "label_quality" in table.column_names
    # a multi-label suggestion reads as the tags it adds and removes, here and in the queue
    code, out, err = _cli(capsys, "audit", "tags", "--no-queue", "--report",
                          str(tmp_path / "again.html"), "-w", ws.location)
    worst = record["worst_labels"][0]  # the JSON of the loop's last audit (tags): the same
    change = ws.dataset("tags").task.show_suggestion(worst["given_label"], worst["suggested_label"])
    assert change and set(change.split()) == (
        {f"+{t}" for t in set(worst["suggested_label"]) - set(worst["given_label"])}
        | {f"-{t}" for t in set(worst["given_label"]) - set(worst["suggested_label"])}
    )
    assert code == 0 and f"{worst['item_id']} " in out and change in out and "['" not in out
    code, out, err = _cli(capsys, "review", "list", "tags", "--source", "label_issue",
                          "-w", ws.location)
    assert code == 0 and "['" not in out and any(
        line.split()[2].startswith(("+", "-")) for line in out.splitlines()[3:]
    ), out
