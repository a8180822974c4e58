"""The boxes frame contract, IoU and matching (assay._boxes) on real and brute-forced boxes."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._boxes import check_boxes, iou_matrix, match_boxes, match_pair
from assay.exceptions import InputError

RACCOON = Path(__file__).resolve().parents[2] / "shared/data/detection/raccoon/data/raccoon_labels.csv"


def _iou_one(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 100, size=(n, 2))
    wh = rng.uniform(5, 60, size=(n, 2))
    return np.hstack([xy, wh])


def test_iou_matrix_equals_pairwise_formula() -> None:
    rng = np.random.default_rng(0)
    a, b = _random_boxes(rng, 7), _random_boxes(rng, 5)
    expected = np.array([[_iou_one(x, y) for y in b] for x in a])
    np.testing.assert_allclose(iou_matrix(a, b), expected, rtol=0, atol=1e-12)
    assert iou_matrix(a, a).diagonal() == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_match_pair_is_the_best_one_to_one_matching(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = _random_boxes(rng, 4), _random_boxes(rng, 5)
    rows, cols, ious = match_pair(a, b)
    iou = iou_matrix(a, b)
    best = max(
        sum(iou[i, j] for i, j in zip(range(4), perm, strict=True))
        for perm in itertools.permutations(range(5), 4)
    )
    assert ious.sum() == pytest.approx(best)
    assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
    assert (ious > 0).all()


def _raccoon() -> pd.DataFrame:
    with RACCOON.open() as f:
        rows = list(csv.DictReader(f))
    frame = pd.DataFrame(rows)
    xmin, ymin = frame["xmin"].astype(float), frame["ymin"].astype(float)
    return pd.DataFrame({
        "image": frame["filename"],
        "label": frame["class"],
        "x": xmin,
        "y": ymin,
        "w": frame["xmax"].astype(float) - xmin,
        "h": frame["ymax"].astype(float) - ymin,
    })


def test_match_boxes_on_real_boxes_finds_moved_and_dropped_ones() -> None:
    labels = check_boxes(_raccoon())
    rng = np.random.default_rng(1)
    moved = labels.copy()
    moved[["x", "y"]] += rng.normal(0, 2, size=(len(moved), 2))
    dropped = rng.choice(len(moved), size=20, replace=False)
    moved = check_boxes(moved.drop(index=dropped))
    matches = match_boxes(labels, moved, min_iou=0.5)
    paired = (matches.left >= 0) & (matches.right >= 0)
    assert paired.sum() == len(labels) - 20
    assert set(matches.left[matches.right < 0]) == set(dropped)
    assert (matches.right[matches.left < 0]).size == 0
    assert matches.iou[paired].min() > 0.5


def test_match_boxes_keeps_classes_apart_unless_asked() -> None:
    left = check_boxes(pd.DataFrame(
        {"image": ["a"], "label": ["cat"], "x": [0], "y": [0], "w": [10], "h": [10]}))
    right = left.assign(label="dog")
    assert (match_boxes(left, right).right == -1).sum() == 1
    across = match_boxes(left, right, by_label=False)
    assert across.left.tolist() == [0] and across.right.tolist() == [0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"w": [0.0]}, "positive width and height"),
        ({"x": [float("nan")]}, "column 'x'"),
        ({"label": [None]}, "column 'label' is empty"),
    ],
)
def test_check_boxes_names_the_bad_row(change: dict, message: str) -> None:
    frame = pd.DataFrame(
        {"image": ["a"], "label": ["cat"], "x": [0.0], "y": [0.0], "w": [3.0], "h": [4.0]})
    with pytest.raises(InputError, match=message) as info:
        check_boxes(frame.assign(**change))
    assert "row 0" in str(info.value)


def test_check_boxes_names_missing_columns() -> None:
    with pytest.raises(InputError, match="lacks the column"):
        check_boxes(pd.DataFrame({"image": ["a"]}), extra=("score",))
