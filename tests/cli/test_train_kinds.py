"""`assay train`, `assay experiments` and `assay compare` on a regression dataset (UCI wine
quality) and a multi-label one (MULAN yeast): the task's metrics and paired test, no
accuracy, lines of at most 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, mean_absolute_error, r2_score
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assay.store.workspace import Workspace
from assay.train.recipe import load_recipe

RIDGE = "name: ridge\nestimator: sklearn.linear_model.Ridge\nparams: {alpha: 1.0}\nseed: 0\n"
FOREST = ("name: forest\nestimator: sklearn.ensemble.RandomForestClassifier\n"
          "params: {n_estimators: 30}\nseed: 0\n")
LABELS = [f"Class{i}" for i in range(1, 15)]


def _short(text: str) -> bool:
    return all(len(line) <= 80 for line in text.splitlines())


@pytest.fixture
def wine(shared_data: Path, tmp_path: Path) -> dict[str, object]:
    frame = pd.read_csv(shared_data / "regression" / "wine-quality" / "winequality-red.csv",
                        sep=";")
    features = [c for c in frame.columns if c != "quality"]
    frame = frame.drop_duplicates(subset=features, ignore_index=True)
    frame.insert(0, "item_id", np.arange(len(frame)))
    frame["sweet"] = np.where(frame["residual sugar"] > 2.5, "yes", "no")
    test = np.random.default_rng(0).random(len(frame)) < 0.3
    paths = {}
    for name, part in (("train", frame[~test]), ("eval", frame[test])):
        paths[name] = tmp_path / f"wine-{name}.csv"
        part.to_csv(paths[name], index=False)
    return {"frame": frame, "test": test, "features": features, **paths}


def test_train_and_compare_a_regression(cli, tmp_path: Path, wine: dict) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    for name, key in (("w", "train"), ("wt", "eval")):
        code, _, err = cli("import", name, str(wine[key]), "--label", "quality", "--id",
                           "item_id", "--tags", "sweet", "--task", "regression", *w)
        assert code == 0, err
    ws.recipes.add("ridge", load_recipe(RIDGE))
    code, out, err = cli("train", "w", "--recipe", "ridge", "--eval", "wt", *w)
    assert code == 0, err
    assert "mae" in out and "r2" in out and "accuracy" not in out and _short(out)
    assert "residuals" in out and "absolute error per tag" in out
    code, out, _ = cli("experiments", "w", "--json", *w)
    exp = json.loads(out)[0]
    frame, test, features = wine["frame"], wine["test"], wine["features"]
    pred = Ridge(alpha=1.0).fit(frame.loc[~test, features], frame.loc[~test, "quality"]).predict(
        frame.loc[test, features])
    overall = exp["evaluation"]["overall"]
    assert exp["task"] == "regression" and exp["headline"]["metric"] == "mae"
    assert overall["mae"]["value"] == pytest.approx(
        mean_absolute_error(frame.loc[test, "quality"], pred), rel=1e-9)
    assert overall["r2"]["value"] == pytest.approx(r2_score(frame.loc[test, "quality"], pred),
                                                   rel=1e-9)
    # a second version: the first 200 training rows only
    half = tmp_path / "wine-half.csv"
    pd.read_csv(wine["train"]).iloc[:200].to_csv(half, index=False)
    assert cli("import", "w", str(half), "--label", "quality", "--id", "item_id", "--tags",
               "sweet", *w)[0] == 0
    assert cli("train", "w", "--recipe", "ridge", "--eval", "wt", *w)[0] == 0
    code, out, _ = cli("experiments", "w", *w)
    assert code == 0 and "mae [95%]" in out and "accuracy" not in out and _short(out)
    code, out, err = cli("compare", "E1", "E2", *w)
    assert code == 0, err
    assert "paired bootstrap (MAE)" in out and "mae" in out and "McNemar" not in out
    assert _short(out)
    code, out, _ = cli("compare", "E1", "E2", "--json", *w)
    paired = json.loads(out)["comparison"]
    assert paired["headline"] == "mae" and 0 < paired["p_value"] <= 1


@pytest.fixture
def yeast(shared_data: Path, tmp_path: Path) -> dict[str, object]:
    folder = shared_data / "multilabel" / "yeast"
    frame = pd.read_csv(folder / "yeast.csv").copy()
    train = pd.read_csv(folder / "yeast-mulan-split.csv")["split"].to_numpy() == "train"
    frame.insert(0, "item_id", np.arange(len(frame)))
    paths = {}
    for name, part in (("train", frame[train]), ("eval", frame[~train])):
        paths[name] = tmp_path / f"yeast-{name}.csv"
        part.to_csv(paths[name], index=False)
    return {"frame": frame, "is_train": train, **paths}


def test_train_and_compare_a_multilabel_model(cli, tmp_path: Path, yeast: dict) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    for name, key in (("y", "train"), ("yt", "eval")):
        code, _, err = cli("import", name, str(yeast[key]), "--label", ",".join(LABELS),
                           "--id", "item_id", *w)
        assert code == 0, err
    ws.recipes.add("forest", load_recipe(FOREST))
    code, out, err = cli("train", "y", "--recipe", "forest", "--eval", "yt", *w)
    assert code == 0, err
    assert "micro_f1" in out and "weakest labels" in out and "accuracy" not in out
    assert _short(out)
    code, out, _ = cli("experiments", "y", "--json", *w)
    exp = json.loads(out)[0]
    frame, train = yeast["frame"], yeast["is_train"]
    features = [c for c in frame.columns if c.startswith("Att")]
    order = sorted(LABELS)  # the task orders labels by name
    model = RandomForestClassifier(n_estimators=30, random_state=0)
    pred = model.fit(frame.loc[train, features], frame.loc[train, order]).predict(
        frame.loc[~train, features])
    assert exp["task"] == "multilabel"
    assert exp["evaluation"]["overall"]["micro_f1"]["value"] == pytest.approx(
        f1_score(frame.loc[~train, order], pred, average="micro"), rel=1e-9)
    smaller = tmp_path / "yeast-small.csv"
    pd.read_csv(yeast["train"]).iloc[:600].to_csv(smaller, index=False)
    assert cli("import", "y", str(smaller), "--label", ",".join(LABELS), "--id", "item_id",
               *w)[0] == 0
    assert cli("train", "y", "--recipe", "forest", "--eval", "yt", *w)[0] == 0
    code, out, err = cli("compare", "E1", "E2", *w)
    assert code == 0, err
    assert "paired bootstrap (micro F1)" in out and "Holm" in out and _short(out)


def test_a_single_output_recipe_learns_label_sets_one_label_at_a_time(
    cli, tmp_path: Path, yeast: dict  # type: ignore[type-arg]
) -> None:
    """A logistic regression recipe on yeast: train and monitor add fit one copy per
    label (MultiOutputClassifier), as scikit-learn would with the wrapper; they were an
    internal error ('y should be a 1d array')."""
    ws = Workspace.init(tmp_path / "ws")
    w = ["-w", ws.location]
    for name, key in (("y", "train"), ("yt", "eval")):
        assert cli("import", name, str(yeast[key]), "--label", ",".join(LABELS),
                   "--id", "item_id", *w)[0] == 0
    (tmp_path / "lr.yaml").write_text(
        "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\n"
    )
    assert cli("recipe", "add", "lr", str(tmp_path / "lr.yaml"), *w)[0] == 0
    code, out, err = cli("train", "y", "--recipe", "lr", "--eval", "yt", "--json", *w)
    assert code == 0, err
    frame, train = yeast["frame"], yeast["is_train"]
    features = [c for c in frame.columns if c.startswith("Att")]
    order = sorted(LABELS)
    expected = MultiOutputClassifier(make_pipeline(StandardScaler(), LogisticRegression()))
    pred = expected.fit(frame.loc[train, features], frame.loc[train, order]).predict(
        frame.loc[~train, features])
    assert json.loads(out)["evaluation"]["overall"]["micro_f1"]["value"] == pytest.approx(
        f1_score(frame.loc[~train, order], pred, average="micro"), rel=1e-9)
    code, out, err = cli("monitor", "add", "m", "--reference", "y", "--recipe", "lr", *w)
    assert code == 0 and "reference micro_f1 (out of sample)" in out, err
