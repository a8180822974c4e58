"""The fixed detection recipe on real raccoon boxes: HOG, NMS, the detector, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._boxes import iou_matrix
from assay.exceptions import InputError
from assay.train.detect import HogDetector, non_max_suppression
from assay.train.detect._hog import hog_grid

RACCOON = Path(__file__).resolve().parents[3] / "shared" / "data" / "detection" / "raccoon"
pytestmark = pytest.mark.skipif(not RACCOON.is_dir(), reason="shared raccoon data missing")


def _raccoon(n: int) -> tuple[dict[str, str], pd.DataFrame]:
    df = pd.read_csv(RACCOON / "data" / "train_labels.csv")
    names = sorted(df["filename"].unique())[:n]
    df = df[df["filename"].isin(names)]
    boxes = pd.DataFrame({"image": df["filename"], "label": df["class"], "x": df["xmin"],
                          "y": df["ymin"], "w": df["xmax"] - df["xmin"],
                          "h": df["ymax"] - df["ymin"]})
    return {name: str(RACCOON / "images" / name) for name in names}, boxes


def test_hog_grid_equals_scikit_image() -> None:
    skimage_feature = pytest.importorskip("skimage.feature")
    from PIL import Image

    pixels = np.asarray(Image.open(RACCOON / "images" / "raccoon-1.jpg").convert("L"),
                        dtype=np.float32)[:203, :301] / 255.0
    for image in (pixels, np.random.default_rng(0).random((67, 45)).astype(np.float32)):
        ref = skimage_feature.hog(image, orientations=9, pixels_per_cell=(8, 8),
                                  cells_per_block=(2, 2), block_norm="L2-Hys",
                                  feature_vector=False)
        ours = hog_grid(image, 8)
        assert ours.shape == (*ref.shape[:2], 36)
        np.testing.assert_allclose(ours, ref.reshape(ours.shape), atol=1e-5)


def _brute_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    kept: list[int] = []
    for i in sorted(range(len(scores)), key=lambda j: (-scores[j], j)):
        if all(iou_matrix(boxes[i], boxes[k])[0, 0] <= threshold for k in kept):
            kept.append(i)
    return kept


@pytest.mark.parametrize("seed", range(5))
def test_nms_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    boxes = np.column_stack([rng.uniform(0, 100, (60, 2)), rng.uniform(5, 40, (60, 2))])
    scores = rng.integers(0, 20, 60).astype(float)  # ties, to check the order rule
    for threshold in (0.0, 0.3, 0.7):
        kept = non_max_suppression(boxes, scores, iou_threshold=threshold)
        assert kept.tolist() == _brute_nms(boxes, scores, threshold)
    assert non_max_suppression(boxes, scores, max_keep=3).tolist() == \
        _brute_nms(boxes, scores, 0.3)[:3]
    assert non_max_suppression(np.zeros((0, 4)), np.zeros(0)).size == 0


def _hits(truth: pd.DataFrame, found: pd.DataFrame, top: int) -> float:
    """Share of true boxes that one of their image's ``top`` best boxes finds (IoU>.5)."""
    hits = []
    for image, group in truth.groupby("image"):
        best = found[found["image"] == image].nlargest(top, "score")
        iou = iou_matrix(group[["x", "y", "w", "h"]].to_numpy(),
                         best[["x", "y", "w", "h"]].to_numpy())
        hits += list(iou.max(axis=1, initial=0.0) > 0.5)
    return float(np.mean(hits))


def test_detector_finds_training_raccoons_better_than_random_boxes() -> None:
    images, boxes = _raccoon(10)
    found = HogDetector(max_side=160, random_state=0).fit(images, boxes).predict(images)
    assert list(found.columns) == ["image", "label", "x", "y", "w", "h", "score"]
    assert set(found["image"]) == set(images) and set(found["label"]) == {"raccoon"}
    rng = np.random.default_rng(0)
    sizes = pd.read_csv(RACCOON / "data" / "train_labels.csv").set_index("filename")
    random_rows = []
    for image in images:
        width, height = sizes.loc[[image], ["width", "height"]].iloc[0]
        for _ in range(5):
            w, h = rng.uniform(0.2, 1.0) * width, rng.uniform(0.2, 1.0) * height
            random_rows.append((image, rng.uniform(0, width - w), rng.uniform(0, height - h),
                                w, h, rng.random()))
    random_boxes = pd.DataFrame(random_rows, columns=["image", "x", "y", "w", "h", "score"])
    ours, chance = _hits(boxes, found, 5), _hits(boxes, random_boxes, 5)
    assert ours > chance + 0.2, (ours, chance)


def test_bad_input_says_what_and_where(tmp_path: Path) -> None:
    images, boxes = _raccoon(2)
    with pytest.raises(InputError, match="no rows"):
        HogDetector().fit(images, boxes.iloc[:0])
    missing = dict(images, **{"gone.jpg": str(tmp_path / "gone.jpg")})
    extra = pd.concat([boxes, boxes.iloc[:1].assign(image="gone.jpg")], ignore_index=True)
    with pytest.raises(InputError, match="gone.jpg.*does not exist"):
        HogDetector().fit(missing, extra)
    with pytest.raises(InputError, match="row 0: image 'raccoon-1.jpg' is not among"):
        HogDetector().fit({}, boxes)
    with pytest.raises(InputError, match="positive width"):
        HogDetector().fit(images, boxes.assign(w=0.0))
    with pytest.raises(InputError, match="not fitted"):
        HogDetector().predict(images)
    with pytest.raises(InputError, match="mapping of image id"):
        HogDetector().fit(str(RACCOON / "images" / "raccoon-1.jpg"), boxes)
