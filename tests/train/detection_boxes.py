"""Real detection boxes, a simulated detector and the pycocotools reference.

Shared by ``tests/train/test_detection_map.py`` and ``benchmarks/detection_map.py``.
Real label boxes: raccoon and BCCD (Pascal VOC XML), chess pieces (COCO JSON), parsed
with the standard library. Predictions are made from them with seeded drops, jitter of
position and size, and false positives (wrong places, wrong classes, images without
labels). pycocotools (the bench extra) is fed its own COCO dicts built here.
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
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

__all__ = ["STATS", "predict", "pycocotools_eval", "real", "reference_value"]

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
    """Label boxes of ``raccoon``, ``bccd``, ``chess-test`` or ``chess-valid``."""
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


def reference_value(value: float) -> float:
    return float("nan") if value == -1 else float(value)
