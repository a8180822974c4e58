"""Per-image true/false positives and misses (assay.train.evaluate.detection_errors)
against a brute-force COCO matching, the F1-best threshold against a scan of every
score, and the derived slice columns of a detection dataset on real raccoon images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._boxes import iou_matrix
from assay.exceptions import InputError
from assay.tasks._detection_slices import detection_slice_columns
from assay.train.evaluate import detection_errors

GEOM = ["x", "y", "w", "h"]
RACCOON = Path(__file__).resolve().parents[3] / "shared/data/detection/raccoon"


def _frames(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 60
    lab = pd.DataFrame(rng.uniform(0, 50, (n, 2)), columns=["x", "y"])
    lab["w"], lab["h"] = rng.uniform(10, 30, n), rng.uniform(10, 30, n)
    lab.insert(0, "image", rng.integers(0, 8, n))
    lab.insert(1, "label", rng.choice(["a", "b"], n))
    pred = lab.sample(frac=0.8, random_state=seed).copy()
    pred[GEOM] = pred[GEOM].to_numpy() + rng.normal(0, 4, (len(pred), 4)).clip(-5, 5)
    extra = lab.sample(20, random_state=seed + 1).copy()
    extra[["x", "y"]] = extra[["x", "y"]].to_numpy() + rng.uniform(-15, 15, (20, 2))
    pred = pd.concat([pred, extra], ignore_index=True)
    pred["score"] = rng.uniform(0, 1, len(pred)).round(2)  # ties on purpose
    return lab.reset_index(drop=True), pred


def _brute(lab: pd.DataFrame, pred: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """COCO's greedy matching written out: predictions by score, each to its best free box."""
    kept = pred[pred["score"] >= threshold]
    rows = []
    for image in sorted(set(lab["image"]) | set(pred["image"])):
        tp = fp = 0
        found: set[int] = set()
        own = kept[kept["image"] == image].sort_values("score", ascending=False, kind="stable")
        for _, p in own.iterrows():
            cand = lab[(lab["image"] == image) & (lab["label"] == p["label"])]
            cand = cand[~cand.index.isin(list(found))]
            iou = (
                iou_matrix(p[GEOM].to_numpy(float), cand[GEOM].to_numpy(float)).ravel()
                if len(cand)
                else np.zeros(0)
            )
            if iou.size and iou.max() >= 0.5:
                found.add(int(cand.index[int(np.argmax(iou))]))
                tp += 1
            else:
                fp += 1
        fn = int((lab["image"] == image).sum()) - len(found)
        rows.append((image, tp, fp, fn))
    return pd.DataFrame(rows, columns=["image", "tp", "fp", "fn"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_equal_brute_force_and_the_threshold_is_f1_best(seed: int) -> None:
    lab, pred = _frames(seed)
    found = detection_errors(lab, pred, images=sorted(set(lab["image"]) | set(pred["image"])))
    table = found.per_image
    brute = _brute(lab, pred, found.score_threshold)
    np.testing.assert_array_equal(
        table[["tp", "fp", "fn"]].to_numpy(), brute[["tp", "fp", "fn"]].to_numpy()
    )
    best = max(
        2 * _brute(lab, pred, t)["tp"].sum() / ((pred["score"] >= t).sum() + len(lab))
        for t in np.unique(pred["score"])
    )
    assert found.f1 == pytest.approx(best)
    fixed = detection_errors(lab, pred, score_threshold=0.5)
    again = _brute(lab, pred, 0.5).set_index("image")
    assert (
        fixed.per_image.set_index("image")[["tp", "fp", "fn"]]
        .sort_index()
        .equals(again[["tp", "fp", "fn"]].sort_index())
    )
    total = table["tp"] + table["fp"] + table["fn"]
    np.testing.assert_allclose(table["error"], (table["fp"] + table["fn"]) / total)
    assert table["missed"].map(len).tolist() == table["fn"].tolist()
    assert table["false"].map(len).tolist() == table["fp"].tolist()


def test_images_without_boxes_count_and_unknown_images_are_refused() -> None:
    lab, pred = _frames(0)
    found = detection_errors(lab, pred, images=[*range(8), 99])
    assert found.per_image.iloc[-1][["tp", "fp", "fn", "error"]].tolist() == [0, 0, 0, 0.0]
    with pytest.raises(InputError, match="labels row .* is not among images"):
        detection_errors(lab, pred, images=[0, 1])


def test_slice_columns_of_real_raccoon_images() -> None:
    boxes = pd.read_csv(RACCOON / "data/raccoon_labels.csv").head(40)
    images = boxes.groupby("filename", sort=False)
    labels = [
        [
            {
                "label": "raccoon",
                "x": r.xmin,
                "y": r.ymin,
                "w": r.xmax - r.xmin,
                "h": r.ymax - r.ymin,
            }
            for r in g.itertuples()
        ]
        for _, g in images
    ]
    size = images[["width", "height"]].first()
    paths = [f"images/{name}" for name in size.index]
    out = detection_slice_columns(
        labels, width=size["width"], height=size["height"], paths=paths, root=RACCOON
    )
    assert list(out.columns) == ["image_size", "box_size", "n_boxes", "brightness"]
    assert set(out["brightness"]) == {"dark", "mid", "bright"}
    assert set(out["image_size"]) <= {"small", "medium", "large"}
    assert set(out["n_boxes"]) <= {"1", "2-4"} and set(out["box_size"]) <= {
        "small",
        "medium",
        "large",
    }
    missing = detection_slice_columns(labels, paths=["nowhere.jpg"] * len(labels))
    assert "brightness" not in missing.columns and "image_size" not in missing.columns
