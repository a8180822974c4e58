"""Missing feature values meet a recipe that cannot take them (issue 12).

Missing values are accepted at import (missing data is normal); ``assay train`` and
``assay curve`` used to exit 3 with scikit-learn's "Input X contains NaN". Now a recipe
whose estimator cannot take NaN is refused up front with one line naming the first row
and column with a missing value and what to do; a recipe that handles NaN still works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assay.cli.main import main
from assay.exceptions import InputError
from assay.store.workspace import Workspace
from assay.train.curves import clean_vs_collect, learning_curve
from assay.train.evaluate import evaluate, fit_and_evaluate
from assay.train.recipe import load_recipe

RECIPE = """\
name: lr
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {max_iter: 300}
seed: 0
"""
HGB = """\
name: hgb
featurizer: none
estimator: sklearn.ensemble.HistGradientBoostingClassifier
params: {max_iter: 20}
seed: 0
"""


@pytest.fixture
def iris() -> pd.DataFrame:
    """Iris without its duplicate rows, an id, and one missing sepal width (row 7)."""
    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "label"]
    frame = frame.drop_duplicates(subset=frame.columns[:4]).reset_index(drop=True)
    frame.insert(0, "id", np.arange(len(frame)))
    frame.loc[7, "sepal_width"] = np.nan
    return frame


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    held = frame.index % 5 == 1
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)


# -- library ---------------------------------------------------------------------------
def test_fit_and_evaluate_names_row_column_and_fix(iris: pd.DataFrame) -> None:
    train, test = _split(iris)
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    model = make_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(InputError) as err:
        fit_and_evaluate(model, train[features], train["label"], test[features], test["label"])
    msg = str(err.value)
    assert "\n" not in msg
    assert "'sepal_width'" in msg and "training data" in msg and "index 5" in msg
    assert "SimpleImputer" in msg and "HistGradientBoostingClassifier" in msg
    assert "LogisticRegression" in msg


def test_missing_only_in_evaluation_rows(iris: pd.DataFrame) -> None:
    train, test = _split(iris.assign(sepal_width=iris["sepal_width"].fillna(3.0)))
    test.loc[4, "petal_length"] = np.nan
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    with pytest.raises(InputError, match=r"'petal_length' of the evaluation data .*index 4"):
        fit_and_evaluate(LogisticRegression(), train[features], train["label"],
                         test[features], test["label"])
    fitted = LogisticRegression(max_iter=300).fit(train[features], train["label"])
    with pytest.raises(InputError, match="evaluation data"):
        evaluate(fitted, test[features].to_numpy(), test["label"])


@pytest.mark.parametrize(
    "model",
    [make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=300)),
     make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=20)),
     HistGradientBoostingClassifier(max_iter=20)],
)
def test_recipes_that_take_missing_values_still_work(iris: pd.DataFrame, model) -> None:
    train, test = _split(iris)
    test.loc[2, "petal_width"] = np.nan
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    result = fit_and_evaluate(model, train[features], train["label"], test[features],
                              test["label"], n_boot=10)
    assert result.overall["accuracy"]["value"] > 0.8


def test_learning_curve_and_clean_vs_collect_refuse(iris: pd.DataFrame) -> None:
    X = iris.drop(columns=["id", "label"]).to_numpy()
    y = iris["label"].to_numpy()
    for run in (learning_curve, clean_vs_collect):
        with pytest.raises(InputError, match=r"column 1 .* index 7.*SimpleImputer"):
            run(LogisticRegression(), X, y, repeats=2, n_boot=5)
    curve = learning_curve(HistGradientBoostingClassifier(max_iter=10), X, y, repeats=2,
                           n_boot=5, seed=0)
    assert np.isfinite(curve.scores_).all()


# -- command line ----------------------------------------------------------------------
@pytest.fixture
def ws(tmp_path: Path, iris: pd.DataFrame) -> Workspace:
    train, test = _split(iris)
    ws = Workspace.init(tmp_path / "ws")
    for name, frame in (("d", train), ("t", test)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        ws.import_dataset(name, tmp_path / f"{name}.csv", label="label", id="id")
    for name, text in (("lr", RECIPE), ("hgb", HGB)):
        (tmp_path / f"{name}.yaml").write_text(text)
        ws.recipes.add(name, load_recipe(tmp_path / f"{name}.yaml"))
    return ws


@pytest.mark.parametrize(
    "args", [("train", "d", "--recipe", "lr", "--eval", "t"),
             ("curve", "d", "--recipe", "lr", "--repeats", "2")],
)
def test_cli_refuses_in_one_line(capsys, ws: Workspace, args: tuple[str, ...]) -> None:
    code = main([*args, "-w", ws.location])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err
    assert "'sepal_width'" in err and "index 5" in err and "SimpleImputer" in err
    assert main(["experiments", "d", "--json", "-w", ws.location]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_cli_train_with_a_recipe_that_takes_nan(capsys, ws: Workspace) -> None:
    code = main(["train", "d", "--recipe", "hgb", "--eval", "t", "-w", ws.location])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "E1" in captured.out
