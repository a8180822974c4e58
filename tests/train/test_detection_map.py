"""mean_average_precision against pycocotools on real boxes, edge cases, bad input.

The real boxes, the simulated detector and the pycocotools reference (bench extra: a
test dependency, never skipped) are in ``detection_boxes.py`` beside this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.exceptions import InputError
from assay.train.evaluate import mean_average_precision
from assay.train.evaluate._detection import (
    _encode,
    _Engine,
    coco_dicts,
    engine_matches,
)
from assay.train.evaluate._detection_boot import weighted_ap

sys.path.insert(0, str(Path(__file__).parent))
from detection_boxes import STATS, predict, pycocotools_eval, real, reference_value  # noqa: E402


@pytest.mark.parametrize(("name", "seed"), [("raccoon", 0), ("raccoon", 1), ("bccd", 0),
                                            ("chess-test", 0), ("chess-valid", 1)])
def test_equal_to_pycocotools_on_real_boxes(name: str, seed: int) -> None:
    labels = real(name)
    preds = predict(labels, seed)
    ours = mean_average_precision(labels, preds)
    ref = pycocotools_eval(labels, preds)
    for metric, i in STATS.items():
        np.testing.assert_allclose(ours[metric], reference_value(ref.stats[i]), atol=1e-6, err_msg=metric)
    assert 0.2 < ours["map"] < ours["map50"] < 1
    # per class: pycocotools' precision array, class by class (sorted class names)
    precision = ref.eval["precision"][:, :, :, 0, -1]
    for k, cls in enumerate(sorted(set(labels["label"]) | set(preds["label"]))):
        cell = precision[:, :, k]
        expected = cell[cell > -1].mean() if (cell > -1).any() else np.nan
        np.testing.assert_allclose(ours["per_class"].loc[cls, "ap"], expected, atol=1e-6)
    assert ours["per_class"]["n_labels"].sum() == len(labels)
    assert ours.n_images == labels["image"].nunique() + 2


def test_custom_thresholds_and_max_detections_equal_pycocotools() -> None:
    labels = real("bccd")
    preds = predict(labels, 2)
    ours = mean_average_precision(labels, preds, iou_thresholds=[0.3, 0.5, 0.7],
                                  max_detections=5)
    ref = pycocotools_eval(labels, preds, iouThrs=np.array([0.3, 0.5, 0.7]), maxDets=[1, 5, 5])
    np.testing.assert_allclose(ours["map"], ref.eval["precision"][:, :, :, 0, -1].mean(),
                               atol=1e-6)
    np.testing.assert_allclose(ours["map50"], ref.eval["precision"][1, :, :, 0, -1].mean(),
                               atol=1e-6)
    assert np.isnan(ours["map75"])  # 0.75 is not among the thresholds
    # pycocotools sorts maxDets and caps at the last; keeping 5 of up to 30 boxes per
    # image and class loses recall
    assert ours["map"] < mean_average_precision(labels, preds,
                                                iou_thresholds=[0.3, 0.5, 0.7])["map"]


def test_perfect_predictions_score_one_and_false_positives_on_unlabelled_images_cost() -> None:
    labels = real("raccoon")
    perfect = labels.assign(score=np.linspace(0.2, 1.0, len(labels)))
    result = mean_average_precision(labels, perfect)
    assert result["map"] == pytest.approx(1.0) and result["mar100"] == pytest.approx(1.0)
    extra = labels.head(20).assign(image=[f"empty-{i}" for i in range(20)], score=1.0)
    worse = mean_average_precision(labels, pd.concat([perfect, extra], ignore_index=True))
    assert worse["map"] < 0.95
    assert worse.n_images == result.n_images + 20


def test_class_only_predicted_has_nan_ap_and_does_not_change_map() -> None:
    labels = real("chess-test")
    preds = predict(labels, 3)
    ghost = preds.head(10).assign(label="ghost-piece")
    with_ghost = mean_average_precision(labels, pd.concat([preds, ghost], ignore_index=True))
    without = mean_average_precision(labels, preds)
    assert np.isnan(with_ghost["per_class"].loc["ghost-piece", "ap"])
    assert with_ghost["per_class"].loc["ghost-piece", "n_predictions"] == 10
    assert with_ghost.info["classes_without_labels"] == ["ghost-piece"]
    assert with_ghost["map"] == pytest.approx(without["map"], abs=1e-12)


def test_no_predictions_give_zero_and_no_labels_give_nan() -> None:
    labels = real("raccoon")
    none = labels.head(0).assign(score=[])
    assert mean_average_precision(labels, none)["map"] == 0.0
    only_preds = mean_average_precision(labels.head(0), predict(labels, 0))
    assert np.isnan(only_preds["map"]) and only_preds["per_class"]["ap"].isna().all()


def test_images_without_boxes_count_only_when_listed() -> None:
    labels = real("raccoon")
    preds = predict(labels, 4)
    listed = [*pd.unique(pd.concat([labels["image"], preds["image"]])), "blank-1", "blank-2"]
    result = mean_average_precision(labels, preds, images=listed)
    assert result.n_images == len(listed)
    assert result["map"] == pytest.approx(mean_average_precision(labels, preds)["map"])
    with pytest.raises(InputError, match="not in `images`"):
        mean_average_precision(labels, preds, images=listed[5:])


@pytest.mark.parametrize("max_detections", [100, 4])
def test_unit_weights_reproduce_the_engine_ap(max_detections: int) -> None:
    """The bootstrap's re-weighted accumulation equals the engine at weights 1."""
    labels = real("bccd")
    preds = predict(labels, 5)
    coded = _encode(labels, preds.assign(score=preds["score"].round(2)), None)  # ties
    engine = _Engine(*coco_dicts(coded))
    ev = engine.evaluate(iou_thresholds=None, max_detections=max_detections)
    thresholds = np.asarray(ev.params.iouThrs)
    matches = engine_matches(engine, coded, thresholds, max_detections)
    ap = weighted_ap(matches, np.ones((1, len(coded.images))))[0]
    expected = ev.eval["precision"][:, :, :, 0, -1].mean(axis=1)  # (T, K)
    np.testing.assert_allclose(ap, expected, atol=1e-12)


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate() -> None:
    labels = real("raccoon")
    preds = predict(labels, 6)
    a = mean_average_precision(labels, preds, n_boot=100, seed=1)
    b = mean_average_precision(labels, preds, n_boot=100, seed=1)
    c = mean_average_precision(labels, preds, n_boot=100, seed=2)
    assert a.intervals == b.intervals and a.intervals != c.intervals
    for metric in ("map", "map50", "map75"):
        low, high = a.intervals[metric]
        assert low < a[metric] < high and high - low < 0.3
    assert mean_average_precision(labels, preds).intervals == {}


def test_ap_by_tag_equals_ap_of_the_tagged_images() -> None:
    labels = real("bccd")
    preds = predict(labels, 7)
    images = sorted(set(labels["image"]) | set(preds["image"]))
    tag = pd.Series(["early" if i < len(images) // 3 else "late" for i in range(len(images))],
                    index=images)
    result = mean_average_precision(labels, preds, by=tag, n_boot=50)
    assert list(result.by_tag.index) == ["early", "late"]
    for value in ("early", "late"):
        keep = set(tag[tag == value].index)
        alone = mean_average_precision(labels[labels["image"].isin(keep)],
                                       preds[preds["image"].isin(keep)])
        row = result.by_tag.loc[value]
        assert row["map"] == pytest.approx(alone["map"], abs=1e-12)
        assert row["map50"] == pytest.approx(alone["map50"], abs=1e-12)
        assert row["n_images"] == len(keep)
        assert row["map_low"] < row["map"] < row["map_high"]


def test_tag_column_must_hold_one_value_per_image() -> None:
    labels = real("raccoon").assign(source=lambda f: np.where(f.index % 2, "web", "phone"))
    preds = predict(real("raccoon"), 0)
    with pytest.raises(InputError, match="several tags in column 'source'"):
        mean_average_precision(labels, preds, by="source")
    one = labels.assign(source=labels["image"].str.len() % 2)
    result = mean_average_precision(one, preds, by="source")
    assert result.by_tag["n_images"].sum() == one["image"].nunique()
    with pytest.raises(InputError, match="not a column"):
        mean_average_precision(labels, preds, by="camera")


def test_bad_input_is_refused_with_the_row() -> None:
    labels = real("raccoon")
    preds = predict(labels, 0)
    with pytest.raises(InputError, match="lack a 'score' column"):
        mean_average_precision(labels, preds.drop(columns="score"))
    bad = preds.copy()
    bad.loc[4, "score"] = np.inf
    with pytest.raises(InputError, match=r"predictions row 4, column 'score'"):
        mean_average_precision(labels, bad)
    flat = labels.copy()
    flat.loc[2, "h"] = 0
    with pytest.raises(InputError, match="labels row 2"):
        mean_average_precision(flat, preds)
    with pytest.raises(InputError, match="iou_thresholds"):
        mean_average_precision(labels, preds, iou_thresholds=[0.5, 1.5])
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        mean_average_precision(labels.to_dict(), preds)  # type: ignore[arg-type]


def test_result_is_a_mapping_with_tables() -> None:
    labels = real("chess-valid")
    result = mean_average_precision(labels, predict(labels, 8))
    assert set(result) >= {"map", "map50", "map75", "per_class", "per_size", "mar100"}
    assert list(result["per_size"].index) == ["small", "medium", "large"]
    assert result["per_size"]["n_labels"].sum() == len(labels)
    assert "map" in result.summary() and "weakest classes" in result.summary()
    data = json.loads(json.dumps(result.to_dict()))
    assert data["metrics"]["map"] == pytest.approx(result["map"])
    assert data["metrics"]["map_small"] is None  # no small chess piece: NaN -> null
    assert len(data["per_class"]) == 12 and data["per_class"][0]["class"] == "black-bishop"
