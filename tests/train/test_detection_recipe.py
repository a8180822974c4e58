"""The fixed detection recipe ``hog``: its spec pins every HogDetector parameter, YAML may
name it with other parameters, bad ones are refused naming them, and its estimator fits
real raccoon images and predicts scored boxes per image (also cloned, cross-validated)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from assay.exceptions import InputError
from assay.tasks import get_task
from assay.train.recipe import BoxDetector, Recipe, load_recipe


def test_spec_pins_the_detector_and_yaml_may_change_it() -> None:
    recipe = load_recipe("hog")
    assert recipe.spec["kind"] == "detector" and recipe.reads_media and not recipe.reads_text
    assert recipe.spec["params"]["C"] == 0.1 and recipe.spec["params"]["max_side"] == 240
    assert load_recipe("hog").hash == recipe.hash
    assert Recipe.from_spec(recipe.spec).hash == recipe.hash
    assert load_recipe("hog", seed=1).hash != recipe.hash
    other = load_recipe("detector: hog\nparams: {C: 0.05}\n")
    assert other.spec["params"]["C"] == 0.05 and other.hash != recipe.hash
    assert isinstance(recipe.build(), BoxDetector)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("detector: yolo\n", "no built-in detector 'yolo'"),
        ("detector: hog\nparams: {depth: 3}\n", "'depth' is not a parameter"),
        ("detector: hog\nparams: {C: -1}\n", "C"),
        ("detector: hog\nestimator: x\n", "unknown key 'estimator'"),
        ("detector: hog\nseed: -2\n", "seed must be an integer >= 0"),
    ],
)
def test_bad_detection_recipes_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_recipe(text)


def _raccoon(shared_data: Path, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    root = shared_data / "detection" / "raccoon"
    table = pd.read_csv(root / "data" / "raccoon_labels.csv")
    names = sorted(table["filename"].unique())[:n]
    labels = np.empty(n, dtype=object)
    for i, name in enumerate(names):
        rows = table[table["filename"] == name]
        labels[i] = [
            {
                "label": r["class"],
                "x": float(r["xmin"]),
                "y": float(r["ymin"]),
                "w": float(r["xmax"] - r["xmin"]),
                "h": float(r["ymax"] - r["ymin"]),
            }
            for r in rows.to_dict("records")
        ]
    return pd.DataFrame({"path": [str(root / "images" / f) for f in names]}), labels


def test_box_detector_fits_real_images_and_cross_validates(shared_data: Path) -> None:
    X, y = _raccoon(shared_data, 16)
    model = clone(load_recipe("hog").build())
    found = model.fit(X.iloc[:12], y[:12]).predict(X.iloc[12:])
    assert found.shape == (4,) and found.dtype == object
    assert all(b["label"] == "raccoon" and b["w"] > 0 and "score" in b for f in found for b in f)
    task = get_task("detection")
    boxes, same = task.out_of_sample(model, X, y, cv=2, seed=0)
    assert boxes is same and len(boxes) == 16 and all(len(b) > 0 for b in boxes)
    assert 0.0 <= task.headline_score(y, boxes) <= 1.0
    with pytest.raises(InputError, match="give a detection recipe"):
        task.out_of_sample(None, X, y)
