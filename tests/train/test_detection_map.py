"""mean_average_precision against pycocotools on real boxes, edge cases, bad input.

Real label boxes: raccoon and BCCD (Pascal VOC XML), chess pieces (COCO JSON), parsed
here with the standard library. Predictions are made from them with seeded drops,
jitter of position and size, and false positives (wrong places, wrong classes, images
without labels). pycocotools (the bench extra) is the reference, fed its own COCO dicts
built here.
"""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from assay.exceptions import InputError
from assay.train.evaluate import mean_average_precision
from assay.train.evaluate._detection import (
    _encode,
    _Engine,
    coco_dicts,
    engine_matches,
)
from assay.train.evaluate._detection_boot import weighted_ap

DETECTION = Path(__file__).resolve().parents[3] / "shared" / "data" / "detection"
COLUMNS = ["image", "label", "x", "y", "w", "h"]
STATS = {"map": 0, "map50": 1, "map75": 2, "map_small": 3, "map_medium": 4, "map_large": 5,
         "mar100": 8}


def _voc(folder: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(folder.glob("*.xml")):
        for obj in ET.parse(path).getroot().iter("object"):
            box = obj.find("bndbox")
            assert box is not None
            x1, y1, x2, y2 = (float(box.findtext(k, "nan")) for k in ("xmin", "ymin", "xmax",
                                                                       "ymax"))
            rows.append((path.stem, obj.findtext("name", "").strip(), x1, y1, x2 - x1, y2 - y1))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # BCCD has two RBC boxes of zero area (see the data README): not boxes.
    return frame[(frame["w"] > 0) & (frame["h"] > 0)].reset_index(drop=True)


def _coco_json(path: Path) -> pd.DataFrame:
    data = json.loads(path.read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    files = {i["id"]: i["file_name"] for i in data["images"]}
    rows = [(files[a["image_id"]], names[a["category_id"]], *a["bbox"])
            for a in data["annotations"]]
    return pd.DataFrame(rows, columns=COLUMNS)


@cache
def real(name: str) -> pd.DataFrame:
    if name == "raccoon":
        return _voc(DETECTION / "raccoon" / "annotations")
    if name == "bccd":
        return _voc(DETECTION / "bccd" / "BCCD" / "Annotations")
    split = "test" if name == "chess-test" else "valid"
    return _coco_json(DETECTION / "chess-pieces" / split / "_annotations.coco.json")


def predict(labels: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A simulated detector: drops 15%, jitters the rest, adds 30% false positives."""
    rng = np.random.default_rng(seed)
    hits = labels[rng.random(len(labels)) > 0.15].copy()
    wh = hits[["w", "h"]].to_numpy()
    hits[["x", "y"]] += rng.normal(0, 0.08, (len(hits), 2)) * wh
    hits[["w", "h"]] = wh * np.exp(rng.normal(0, 0.1, (len(hits), 2)))
    hits["score"] = rng.beta(5, 2, len(hits))
    wrong = labels.iloc[rng.integers(0, len(labels), int(0.3 * len(labels)))].reset_index(drop=True)
    wrong[["x", "y"]] += rng.uniform(-1.5, 1.5, (len(wrong), 2)) * wrong[["w", "h"]].to_numpy()
    wrong["label"] = rng.choice(sorted(labels["label"].unique()), len(wrong))
    wrong["score"] = rng.beta(2, 5, len(wrong))
    wrong.loc[wrong.index[:3], "image"] = ["no-labels-1", "no-labels-1", "no-labels-2"]
    return pd.concat([hits, wrong], ignore_index=True)


def pycocotools_eval(labels: pd.DataFrame, preds: pd.DataFrame, **params: object) -> COCOeval:
    """pycocotools on its own COCO dicts (images: every image with a box)."""
    images = sorted(set(labels["image"]) | set(preds["image"]))
    image_id = {im: i + 10 for i, im in enumerate(images)}
    classes = sorted(set(labels["label"]) | set(preds["label"]))
    class_id = {c: 3 * i + 1 for i, c in enumerate(classes)}
    boxes = labels[["x", "y", "w", "h"]].to_numpy(float).tolist()
    anns = [{"id": i + 1, "image_id": image_id[im], "category_id": class_id[c], "bbox": b,
             "area": b[2] * b[3], "iscrowd": 0}
            for i, (im, c, b) in enumerate(zip(labels["image"], labels["label"], boxes,
                                               strict=True))]
    gt = COCO()
    gt.dataset = {"images": [{"id": v} for v in image_id.values()], "annotations": anns,
                  "categories": [{"id": v, "name": k} for k, v in class_id.items()]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        dt = gt.loadRes([{"image_id": image_id[im], "category_id": class_id[c], "bbox": b,
                          "score": s}
                         for im, c, b, s in zip(preds["image"], preds["label"],
                                                preds[["x", "y", "w", "h"]].to_numpy(float)
                                                .tolist(), preds["score"], strict=True)])
        ev = COCOeval(gt, dt, "bbox")
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _ref(value: float) -> float:
    return float("nan") if value == -1 else float(value)


@pytest.mark.parametrize(("name", "seed"), [("raccoon", 0), ("raccoon", 1), ("bccd", 0),
                                            ("chess-test", 0), ("chess-valid", 1)])
def test_equal_to_pycocotools_on_real_boxes(name: str, seed: int) -> None:
    labels = real(name)
    preds = predict(labels, seed)
    ours = mean_average_precision(labels, preds)
    ref = pycocotools_eval(labels, preds)
    for metric, i in STATS.items():
        np.testing.assert_allclose(ours[metric], _ref(ref.stats[i]), atol=1e-6, err_msg=metric)
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
