"""`assay demo --task regression|multilabel`: the stories on scikit-learn's diabetes data
and on its digits with descriptive tags. Each demo is built once (module fixtures); the
tests check its facts against what the workspace holds and against scikit-learn,
krippendorff and the truth the demo planted its errors from."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, mean_absolute_error
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MultiLabelBinarizer

from assay.cli.main import main
from assay.demo import multilabel as ml
from assay.demo import regression as reg
from assay.demo.data import PIXELS
from assay.store.workspace import Workspace

CHAPTERS = ("Data", "Collect", "Train", "Iterate", "Deploy")


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _build(root: Path, task: str) -> dict[str, Any]:
    path = root / f"demo-{task}"
    code, text, err = _run("demo", "--task", task, str(path))
    assert code == 0, err
    code, out, err = _run("demo", "--task", task, str(path), "--json")  # replaces the demo
    assert code == 0, err
    return {"path": path, "text": text, "json": json.loads(out)}


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build(tmp_path_factory.mktemp("reg"), "regression")


@pytest.fixture(scope="module")
def multilabel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build(tmp_path_factory.mktemp("ml"), "multilabel")


def _story_lines_are_short(text: str, path: Path) -> None:
    story = [line for line in text.splitlines() if str(path) not in line]
    assert max(len(line) for line in story) <= 80, [line for line in story if len(line) > 80]
    for chapter in CHAPTERS:
        assert any(line.startswith(chapter + "  ") for line in story), chapter


# -- regression ---------------------------------------------------------------------


def test_planted_numeric_errors_are_plausible_and_seeded() -> None:
    y = reg.diabetes_frame()["progression"].to_numpy()
    noisy, wrong = reg.plant_errors(y, rate=0.12, seed=0)
    again, _ = reg.plant_errors(y, rate=0.12, seed=0)
    assert np.array_equal(noisy, again)
    assert wrong.sum() == pytest.approx(0.12 * len(y), abs=2)
    assert np.array_equal(noisy, np.round(noisy)) and noisy.min() >= y.min()
    assert np.array_equal(noisy[~wrong], y[~wrong])


def test_regression_demo_tells_every_chapter(regression: dict[str, Any]) -> None:
    path = regression["path"]
    _story_lines_are_short(regression["text"], path)
    assert (path / "report.html").is_file()
    assert "mae" in (path / "report.html").read_text()
    steps = regression["json"]["next"]
    assert f"assay compare E1 E3 -w {path}" in steps


def test_regression_facts_match_the_workspace(regression: dict[str, Any]) -> None:
    facts, path = regression["json"]["facts"], regression["path"]
    frame = reg.diabetes_frame()
    truth = frame.set_index("item_id")["progression"]
    ws = Workspace(path)
    try:
        v1 = ws.dataset("diabetes@v1").to_pandas()
        assert ws.dataset("diabetes").task.kind == "regression"
        wrong = v1["progression"].to_numpy() != truth.loc[v1["item_id"]].to_numpy()
        assert facts["data"]["label_errors"] == int(wrong.sum()) > 0
        latest = ws.dataset("diabetes").to_pandas()
        left = latest["progression"].to_numpy() != truth.loc[latest["item_id"]].to_numpy()
        assert facts["iterate"]["errors_left"] == int(left.sum())
        assert sum(facts["iterate"]["relabeled"]) == int(wrong.sum() - left.sum()) > 0
        ratings = ws.annotations.load("diabetes")
    finally:
        ws.close()
    table = ratings.pivot(index="annotator", columns="item", values="label").to_numpy(float)
    alpha = krippendorff.alpha(reliability_data=table, level_of_measurement="interval")
    assert facts["collect"]["alpha"] == pytest.approx(alpha, abs=1e-9)
    mae = facts["collect"]["consensus_mae"]
    assert mae["em"] < mae["mean"] and mae["em"] < mae["median"]
    assert facts["collect"]["most_biased"] == "ben"  # the rater reading 20 points high


def test_regression_audit_and_experiments_against_references(
    regression: dict[str, Any],
) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    facts, path = regression["json"]["facts"], regression["path"]
    audit = facts["audit"]
    assert audit["flagged"] > 0 and audit["precision"] >= 0.5
    assert audit["auprc"] > 2 * audit["base_rate"]
    ws = Workspace(path)
    try:
        v1 = ws.dataset("diabetes@v1").to_pandas()
        test = ws.dataset("diabetes-test").to_pandas()
    finally:
        ws.close()
    model = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    pred = model.fit(v1[reg.FEATURES], v1["progression"]).predict(test[reg.FEATURES])
    it = facts["iterate"]
    assert it["metric"] == "mae" and it["test"].startswith("paired bootstrap")
    assert it["before"] == pytest.approx(mean_absolute_error(test["progression"], pred))
    assert it["after"] < it["before"] and 0 < it["p_value"] <= 1
    windows = facts["deploy"]["windows"]
    # window 1 is the test set, scored by the model of the latest version: E3's MAE
    assert windows[0]["realised_mae"] == pytest.approx(it["after"], rel=1e-9)
    assert windows[0]["estimated_mae"] is not None and not windows[0]["alerts"]
    assert any(a.startswith("data drift") for a in windows[1]["alerts"])


# -- multi-label --------------------------------------------------------------------


def test_tags_describe_each_digit_uniquely() -> None:
    sets = ml.tag_sets(np.arange(10))
    assert len(set(sets)) == 10 and all(sets)
    assert sets[0] == ("cube", "even", "loop") and sets[7] == ("large", "prime", "stroke")


def test_planted_tag_errors_change_every_chosen_set() -> None:
    sets = ml.tag_sets(np.arange(10).repeat(50))
    noisy, wrong = ml.plant_tag_errors(sets, rate=0.12, seed=0)
    assert wrong.sum() == round(0.12 * len(sets))
    assert all(noisy) and all(set(s) <= set(ml.NAMES) for s in noisy)
    assert [s for s, w in zip(noisy, wrong, strict=True) if not w] == [
        s for s, w in zip(sets, wrong, strict=True) if not w]


def test_multilabel_demo_tells_every_chapter(multilabel: dict[str, Any]) -> None:
    path = multilabel["path"]
    _story_lines_are_short(multilabel["text"], path)
    assert (path / "report.html").is_file()
    assert "McNemar per label (Holm)" in multilabel["text"]


def _binary(sets: Any) -> np.ndarray:
    return MultiLabelBinarizer(classes=ml.NAMES).fit([ml.NAMES]).transform(
        [list(s) for s in sets])


def test_multilabel_facts_match_the_workspace(multilabel: dict[str, Any]) -> None:
    facts, path = multilabel["json"]["facts"], multilabel["path"]
    from assay.demo.data import digits_frame

    digits = digits_frame().reset_index(drop=True)
    truth = pd.Series(ml.tag_sets(digits["label"].to_numpy()))
    ws = Workspace(path)
    try:
        assert ws.dataset("digit-tags").task.kind == "multilabel"
        v1 = ws.dataset("digit-tags@v1").to_pandas()
        latest = ws.dataset("digit-tags").to_pandas()
        test = ws.dataset("digit-tags-test").to_pandas()
    finally:
        ws.close()
    wrong = [tuple(sorted(t)) != truth[i] for i, t in zip(v1["item_id"], v1["tags"],
                                                           strict=True)]
    assert facts["data"]["label_errors"] == sum(wrong) > 0
    left = [tuple(sorted(t)) != truth[i] for i, t in zip(latest["item_id"], latest["tags"],
                                                         strict=True)]
    assert facts["iterate"]["errors_left"] == sum(left)
    consensus = facts["collect"]["consensus"]
    assert consensus["dawid_skene"]["hamming"] <= consensus["majority"]["hamming"]
    assert facts["collect"]["revise"] in ("prime", "loop")  # a tagger's blind spot
    # E1: the recipe (2 nearest neighbours, distance-weighted) on v1, scored on the test set
    knn = KNeighborsClassifier(n_neighbors=2, weights="distance")
    pred = knn.fit(v1[PIXELS], _binary(v1["tags"])).predict(test[PIXELS])
    before = f1_score(_binary(test["tags"]), pred, average="micro")
    it = facts["iterate"]
    assert it["metric"] == "micro_f1" and it["before"] == pytest.approx(before, rel=1e-9)
    assert it["after"] > it["before"] and it["p_value"] < 0.05


def test_multilabel_audit_and_monitor(multilabel: dict[str, Any]) -> None:
    facts = multilabel["json"]["facts"]
    audit = facts["audit"]
    assert audit["precision"] >= 0.7 and audit["recall"] >= 0.7 and audit["auprc"] >= 0.8
    first, shifted = facts["deploy"]["windows"]
    assert abs(first["estimated_micro_f1"] - first["realised_micro_f1"]) < 0.02
    # the test set scored by the latest version's model, as E3 (the monitor reads sets
    # from probabilities: ties of the two neighbours may go the other way)
    assert first["realised_micro_f1"] == pytest.approx(facts["iterate"]["after"], abs=0.005)
    assert shifted["realised_micro_f1"] < first["realised_micro_f1"]
    assert any(a.startswith("data drift") for a in shifted["alerts"])


# -- bad input ----------------------------------------------------------------------


def test_an_unknown_task_is_one_line_and_builds_nothing(tmp_path: Path) -> None:
    code, out, err = _run("demo", "--task", "ranking", str(tmp_path / "d"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "regression" in err and "multilabel" in err and out == ""
    assert not (tmp_path / "d").exists()


def test_a_workspace_the_demo_did_not_make_is_left_alone(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "mine")
    ws.close()
    code, _, err = _run("demo", "--task", "regression", str(tmp_path / "mine"))
    assert code == 2 and "left alone" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "mine" / "report.html").exists()
