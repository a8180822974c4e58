"""Monitors with a recipe on labels of any type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assay.store.workspace import Workspace
from assay.train.recipe import Recipe


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame["y"] = (frame["a"] > 0).astype(int)
    return frame


def test_a_monitor_with_a_recipe_takes_text_and_sparse_integer_labels(tmp_path: Path) -> None:
    """Calibration gets class positions, not the labels themselves (it refused 'cat'
    and labels like 3/7 that are not 0..k-1)."""
    ws = Workspace.init(tmp_path / "ws")
    ws.recipes.add("lr", Recipe.from_yaml(
        "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\n"
    ))
    for name, mapping in (("text", {0: "cat", 1: "dog"}), ("sparse", {0: 3, 1: 7})):
        frame = _frame(300, 3)
        frame["y"] = frame["y"].map(mapping)
        ws.import_dataset(name, frame, label="y")
        info = ws.monitors.add(f"m-{name}", f"{name}@v1", recipe="lr")
        assert info["config"]["classes"] == sorted(mapping.values())
        window = ws.monitors.ingest(f"m-{name}", _frame(100, 4).drop(columns="y"), source="b")
        assert window["window"] == 1
