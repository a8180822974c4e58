"""Box and image drift engines on real boxes: the raccoon photos and the BCCD blood-cell
micrographs. Tables are checked by hand, drift against assay.drift on the same columns,
a random split of one set against a batch of the other."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.deploy import drift
from assay.deploy.drift_boxes import (
    box_drift,
    box_profiles,
    box_tables,
    image_statistics,
    outlier_scores,
)
from assay.exceptions import InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collect"))
from box_labelers import load_bccd, load_raccoon  # noqa: E402


def _positions(boxes: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    names = sorted(boxes["image"].unique())
    where = {n: i for i, n in enumerate(names)}
    return boxes.assign(image=boxes["image"].map(where)), names


def test_box_tables_by_hand() -> None:
    boxes = pd.DataFrame({"image": [0, 0, 2], "label": ["a", "b", "a"], "x": [0.0, 1, 2],
                          "y": [0.0, 0, 0], "w": [10.0, 20, 5], "h": [10.0, 5, 5]})
    per_image, per_box = box_tables(boxes, [100, 50, 10], [100, 50, 10], prefix="p")
    assert per_image["p:boxes_per_image"].tolist() == [2.0, 0.0, 1.0]
    assert per_box["p:box_area"].tolist() == pytest.approx([0.01, 0.01, 0.25])
    assert per_box["p:box_aspect"].tolist() == pytest.approx([0.0, 2.0, 0.0])
    assert per_box["p:class"].tolist() == ["a", "b", "a"]
    with pytest.raises(InputError, match="positive, finite width"):
        box_tables(boxes, [100, 0, 10], [100, 50, 10])
    with pytest.raises(InputError, match="outside 0..1"):
        box_tables(boxes, [100, 50], [100, 50])


def test_image_statistics_of_arrays_and_files(shared_data: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (40, 60)).astype(np.uint8)
    stats = image_statistics({"a": pixels, "b": np.full((5, 5, 3), 0.25)})
    assert stats.loc["a", "brightness"] == pytest.approx(pixels.mean() / 255)
    assert stats.loc["a", "contrast"] == pytest.approx(pixels.std() / 255)
    assert stats.loc["b"].tolist() == pytest.approx([0.25, 0.0])
    photo = shared_data / "detection" / "raccoon" / "images" / "raccoon-1.jpg"
    assert 0 < image_statistics({"r": photo}).loc["r", "brightness"] < 1
    with pytest.raises(InputError, match="does not exist"):
        image_statistics({"x": tmp_path / "none.jpg"})


def _tables(boxes: pd.DataFrame, size: tuple[float, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    coded, names = _positions(boxes)
    return box_tables(coded, [size[0]] * len(names), [size[1]] * len(names))


def test_box_drift_flags_another_domain_not_a_random_split(shared_data: Path) -> None:
    bccd = load_bccd()
    images = np.array(sorted(bccd["image"].unique()))
    rng = np.random.default_rng(0)
    half = set(rng.choice(images, len(images) // 2, replace=False))
    ref = _tables(bccd[bccd["image"].isin(half)], (640, 480))
    same = _tables(bccd[~bccd["image"].isin(half)], (640, 480))
    reference = {"images": ref[0], "boxes": ref[1]}
    calm = box_drift(reference, *same)
    assert not calm.drifted, calm.columns[["p_adjusted", "effect_size"]]
    profiled = box_drift(box_profiles(*ref), *same)  # the stored profile decides the same
    assert profiled.columns["drifted"].tolist() == calm.columns["drifted"].tolist()
    raccoon = load_raccoon()
    sizes = pd.read_csv(shared_data / "detection" / "raccoon" / "data" / "raccoon_labels.csv")
    coded, names = _positions(raccoon)
    first = sizes.drop_duplicates("filename").set_index("filename").loc[names]
    other = box_tables(coded, first["width"].tolist(), first["height"].tolist())
    shifted = box_drift(reference, *other)
    assert shifted.drifted
    assert {"label:box_area", "label:class", "label:boxes_per_image"} <= set(
        shifted.drifted_columns)
    direct = drift(ref[1], other[1], column_types={"label:class": "categorical"})
    assert shifted.columns.loc["label:box_area", "p_value"] == pytest.approx(
        direct.columns.loc["label:box_area", "p_value"])


def test_outlier_scores_rank_the_tails() -> None:
    reference = pd.DataFrame({"brightness": np.linspace(0, 1, 101)})
    prof = box_profiles(reference, pd.DataFrame())["images"]
    scores = outlier_scores(prof, pd.DataFrame({"brightness": [0.5, 0.9, 1.5, np.nan]}))
    assert scores.tolist() == pytest.approx([0.0, 0.8, 1.0, 0.0], abs=0.01)
