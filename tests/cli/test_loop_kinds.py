"""`assay slices`, `assay curve` and `assay loop` on a regression dataset (UCI wine
quality): the task's metric (MAE, lower is better), no accuracy, 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.store.workspace import Workspace
from assay.train.recipe import load_recipe

RIDGE = "name: ridge\nestimator: sklearn.linear_model.Ridge\nparams: {alpha: 1.0}\nseed: 0\n"


@pytest.fixture
def wine_ws(shared_data: Path, tmp_path: Path) -> Workspace:
    frame = pd.read_csv(shared_data / "regression" / "wine-quality" / "winequality-red.csv",
                        sep=";")
    features = [c for c in frame.columns if c != "quality"]
    frame = frame.drop_duplicates(subset=features, ignore_index=True)
    frame.insert(0, "item_id", np.arange(len(frame)))
    frame["sweet"] = np.where(frame["residual sugar"] > 2.5, "yes", "no")
    test = np.random.default_rng(0).random(len(frame)) < 0.3
    ws = Workspace.init(tmp_path / "ws")
    for name, part in (("w", frame[~test]), ("wt", frame[test])):
        path = tmp_path / f"{name}.csv"
        part.to_csv(path, index=False)
        ws.import_dataset(name, path, label="quality", id="item_id", tags=["sweet"],
                          task="regression")
    ws.recipes.add("ridge", load_recipe(RIDGE))
    return ws


def _short(text: str) -> bool:
    return all(len(line) <= 80 for line in text.splitlines())


def test_slices_curve_and_loop_on_a_regression(cli, wine_ws: Workspace) -> None:  # type: ignore[no-untyped-def]
    w = ["-w", wine_ws.location]
    code, out, err = cli("slices", "w", "--recipe", "ridge", "--find", *w)
    assert code == 0, err
    assert "mae" in out and "accuracy" not in out and _short(out)
    code, out, _ = cli("slices", "w", "--recipe", "ridge", "--json", *w)
    result = json.loads(out)
    assert result["metric"] == "mae" and result["greater_is_better"] is False
    assert 0.3 < result["mae"] == result["score"] < 1.0
    code, text, err = cli("curve", "w", "--recipe", "ridge", "--repeats", "2", *w)
    assert code == 0, err
    assert "mae" in text and "accuracy" not in text and "verdict:" in text and _short(text)
    code, out, _ = cli("curve", "w", "--recipe", "ridge", "--repeats", "2", "--json", *w)
    curve = json.loads(out)
    assert curve["metric"] == "mae" and curve["task"] == "regression"
    cleaned, collected = curve["table"][1]["mae"], curve["table"][2]["mae"]
    assert curve["verdict"] == ("clean" if cleaned <= collected else "collect")
    # red wine with a linear model: the two actions tie within their intervals
    _, low, high = curve["equivalent_extra"]  # JSON has no infinity: null is unbounded
    assert low <= curve["extra"] <= (np.inf if high is None else high)
    assert curve["verdict_settled"] is False
    assert curve["tie"].startswith("not settled") and curve["tie"] in " ".join(text.split())
    code, out, err = cli("loop", "w", "--recipe", "ridge", "--eval", "wt", *w)
    assert code == 0, err
    assert "mae" in out and "accuracy" not in out
