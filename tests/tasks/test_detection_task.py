"""The detection task on real boxes (raccoon and BCCD, Pascal VOC): what a label is, how
a change reads box by box, and the engines that are not wired yet saying so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assay.exceptions import InputError
from assay.store.box_formats import read_voc
from assay.tasks import get_task
from assay.tasks.detection import BOX_LIST_TYPE, DetectionTask, as_boxes, boxes_frame


@pytest.fixture(scope="module")
def task() -> DetectionTask:
    found = get_task("detection")
    assert isinstance(found, DetectionTask)
    return found


@pytest.fixture(scope="module")
def bccd(shared_data: Path) -> dict[str, list[dict[str, Any]]]:
    """BCCD's boxes per image, as the task's labels (zero-area boxes dropped)."""
    read = read_voc(shared_data / "detection" / "bccd" / "BCCD" / "Annotations", drop_empty=True)
    columns = ["label", "x", "y", "w", "h"]
    per_image: dict[str, list[dict[str, Any]]] = {name: [] for name in read.images["image"]}
    for image, group in read.boxes.groupby("image"):
        per_image[str(image)] = group[columns].to_dict("records")  # type: ignore[assignment]
    return per_image


def _iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """IoU written out from the corners, independent of assay._boxes."""
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    return inter / (a["w"] * a["h"] + b["w"] * b["h"] - inter)


def test_a_moved_box_reads_with_its_iou(task: DetectionTask, bccd: dict) -> None:
    old = bccd["BloodImage_00001.jpg"]
    new = [dict(box) for box in old]
    new[2]["x"] += 15.0
    expected = _iou(old[2], new[2])
    assert 0.3 < expected < 0.95
    assert task.describe_change(old, new) == f"box 3 moved (IoU {expected:.2f} with the old one)"


def test_added_removed_and_class_changed_boxes(task: DetectionTask, bccd: dict) -> None:
    old = bccd["BloodImage_00001.jpg"]
    wbc = next(i for i, b in enumerate(old) if b["label"] == "WBC")
    new = [dict(box) for box in old]
    new[wbc]["label"] = "RBC"
    removed = new.pop(0 if wbc else 1)
    new.append({"label": "Platelets", "x": 1.0, "y": 1.0, "w": 5.0, "h": 5.0})
    change = task.describe_change(old, new)
    assert f"box {wbc + 1} class changed WBC -> RBC" in change
    assert f"box {1 if wbc else 2} removed ({removed['label']})" in change
    assert change.endswith("box added (Platelets)")
    assert " moved (" not in change
    assert task.describe_change(old, list(reversed(old))) == "unchanged"
    assert task.describe_change(None, old) == f"relabeled missing -> {len(old)} box(es)"


def test_same_labels_ignores_box_order_but_not_a_pixel(task: DetectionTask, bccd: dict) -> None:
    images = list(bccd)[:50]
    old = np.empty(50, dtype=object)
    old[:] = [bccd[i] for i in images]
    shuffled = np.empty(50, dtype=object)
    shuffled[:] = [list(reversed(bccd[i])) for i in images]
    assert task.same_labels(old, shuffled).all()
    nudged = shuffled.copy()
    nudged[7] = [dict(b) for b in nudged[7]]
    nudged[7][0]["w"] += 1.0
    assert np.flatnonzero(~task.same_labels(old, nudged)).tolist() == [7]


def test_stored_column_round_trips_through_json_text(task: DetectionTask, bccd: dict) -> None:
    labels = [bccd[i] for i in list(bccd)[:20]] + [[]]
    column = pa.chunked_array([pa.array(labels)])  # inferred struct, fields as given
    stored = task.stored_labels(column, name="label", where="f", rows=str)
    assert stored.type == BOX_LIST_TYPE
    task.check_labels(stored, name="label", where="f", rows=str)
    text = pa.chunked_array([pa.array([json.dumps(v) for v in labels])])
    assert task.stored_labels(text, name="label", where="f", rows=str).equals(stored)
    assert task.decode_label(task.encode_label(labels[3])) == labels[3]
    assert task.label_names(stored) == sorted({b["label"] for v in labels for b in v})


def test_bad_labels_are_refused_naming_the_row(task: DetectionTask) -> None:
    bad = pa.chunked_array([pa.array(
        [[{"label": "a", "x": 1.0, "y": 1.0, "w": 2.0, "h": 2.0}],
         [{"label": "a", "x": 1.0, "y": 1.0, "w": 0.0, "h": 2.0}]], type=BOX_LIST_TYPE)])

    def rows(positions: np.ndarray) -> str:
        return "rows " + ", ".join(str(int(p)) for p in positions)

    with pytest.raises(InputError, match=r"f: the label column 'label' has a box without .* on rows 1;"):
        task.check_labels(bad, name="label", where="f", rows=rows)
    with pytest.raises(InputError, match=r"holds string, not lists of boxes"):
        task.check_labels(pa.chunked_array([pa.array(["a"])]), name="label", where="f", rows=rows)
    with pytest.raises(InputError, match=r"box 1: needs finite coordinates and a positive width"):
        task.coerce_label('[["cat", 1, 2, -3, 4]]', BOX_LIST_TYPE)
    assert task.coerce_label('[["cat", 1, 2, 3, 4]]', BOX_LIST_TYPE) == [
        {"label": "cat", "x": 1.0, "y": 2.0, "w": 3.0, "h": 4.0}]


def test_unknown_classes_name_the_first_image(task: DetectionTask, bccd: dict) -> None:
    labels = [bccd[i] for i in list(bccd)[:30]]
    column = task.stored_labels(pa.chunked_array([pa.array(labels)]), name="l", where="f", rows=str)
    first = next(i for i, v in enumerate(labels) if any(b["label"] == "Platelets" for b in v))
    assert task.unknown_labels(column, ["RBC", "WBC"]) == (first, "Platelets")
    assert task.unknown_labels(column, ["RBC", "WBC", "Platelets"]) is None
    assert task.unknown_names(labels[first], {"RBC"}) == sorted(
        {b["label"] for b in labels[first]} - {"RBC"})


def test_describe_labels_counts_boxes_per_class(task: DetectionTask, bccd: dict) -> None:
    summary = task.describe_labels(pd.Series(list(bccd.values())))
    assert summary.rows["RBC"] == 4155 - 2 and summary.rows["WBC"] == 372
    assert summary.rows["Platelets"] == 361 and summary.rows["(all boxes)"] == 4886
    assert summary.rows["(boxes per image)"] == round(4886 / 364, 2)


def test_boxes_frame_is_the_engines_input(bccd: dict) -> None:
    images = list(bccd)[:10]
    frame = boxes_frame(images, [bccd[i] for i in images])
    assert list(frame.columns) == ["image", "label", "x", "y", "w", "h"]
    assert len(frame) == sum(len(bccd[i]) for i in images)
    assert as_boxes(frame.drop(columns="image").to_dict("records")) is not None


def test_model_fitting_is_not_available_and_monitoring_needs_no_recipe(
        task: DetectionTask, bccd: dict) -> None:
    labels = pd.Series([bccd[i] for i in list(bccd)[:5]])
    with pytest.raises(InputError, match="the detection task has no"):
        task.out_of_sample(None, None, labels)
    watch = task.performance_watch  # the detector's boxes come with each batch
    assert watch.metric == "map" and not watch.needs_model
    with pytest.raises(InputError, match="without a recipe"):
        watch.reference(None, pd.DataFrame(), labels)


def test_realised_performance_is_map_per_window(task: DetectionTask, bccd: dict) -> None:
    import assay

    names = list(bccd)[:12]
    truth = [bccd[n] for n in names]
    rng = np.random.default_rng(0)
    preds = [[{**b, "x": b["x"] + rng.normal(0, 3), "score": float(rng.uniform())}
              for b in boxes] for boxes in truth]
    window = np.repeat(["a", "b"], 6)
    table = task.realised_performance(truth, preds, window=window)
    assert list(table.index) == ["a", "b"] and table["n"].tolist() == [6, 6]
    for key, rows in (("a", slice(0, 6)), ("b", slice(6, 12))):
        lab = pd.DataFrame([{"image": i, **b} for i, bs in enumerate(truth[rows]) for b in bs])
        pred = pd.DataFrame([{"image": i, **b} for i, bs in enumerate(preds[rows]) for b in bs])
        expected = assay.mean_average_precision(lab, pred)["map"]
        assert table.loc[key, "map"] == pytest.approx(expected, abs=1e-9)
        assert table.loc[key, "map_low"] <= table.loc[key, "map"] <= table.loc[key, "map_high"]
