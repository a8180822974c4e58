"""Box agreement (assay.collect.agreement_boxes) on real boxes with simulated labelers,
against brute force on small inputs, and on bad input."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from assay._boxes import check_boxes, iou_matrix, match_boxes
from assay.collect.agreement_boxes import box_agreement
from assay.exceptions import InputError

sys.path.insert(0, str(Path(__file__).parent))
from box_labelers import (  # noqa: E402
    DETECTION,
    LOOSE_AREA,
    adjacent_pairs,
    load_bccd,
    load_chess,
    load_raccoon,
    simulate_labelers,
)

pytestmark = pytest.mark.skipif(not DETECTION.is_dir(),
                                reason="shared/data/detection is not beside the repo")


def _flagged(report) -> set[str]:
    return set(report.disagreements.index[report.disagreements["flagged"]])


@pytest.mark.parametrize("seed", [0, 1])
def test_bccd_report_names_exactly_the_simulated_conventions(seed: int) -> None:
    report = box_agreement(simulate_labelers(load_bccd(), seed=seed))
    assert _flagged(report) == {"missing", "loose_tight", "merged_split"}
    kinds = report.disagreements
    assert str(kinds.at["missing", "who"]).startswith("loose left out")
    assert str(kinds.at["merged_split", "who"]).startswith("merger merged")
    assert str(kinds.at["loose_tight", "who"]).startswith("loose draws boxes 15% larger")
    assert kinds.at["class_confusion", "count"] == 0
    assert "One box per object, not per group" in " ".join(report.conventions)
    sizes = report.sizes.set_index(["annotator_a", "annotator_b"])
    assert sizes.loc[("loose", "truth"), "area_ratio"] == pytest.approx(LOOSE_AREA, abs=0.02)
    assert not sizes.loc[("merger", "truth"), "flagged"]


def test_chess_has_no_adjacent_pieces_so_no_merges_are_reported() -> None:
    chess = load_chess()
    assert adjacent_pairs(chess) == []  # the premise: the merger has nothing to merge
    report = box_agreement(simulate_labelers(chess, seed=0))
    assert _flagged(report) == {"missing", "loose_tight"}
    assert report.per_class.loc["white-king", "f1_50"] == pytest.approx(1.0)


def test_labelers_who_only_jitter_raise_no_flag() -> None:
    real = load_raccoon()
    rng = np.random.default_rng(3)
    frames = []
    for name in ("a", "b", "c"):
        j = real.copy()
        j[["x", "y"]] += rng.normal(0, 0.02, (len(j), 2)) * j[["w", "h"]].to_numpy()
        frames.append(j.assign(annotator=name))
    report = box_agreement(pd.concat(frames, ignore_index=True))
    assert _flagged(report) == set()
    assert report.overall["f1_50"] > 0.98
    assert report.conventions == []


def test_swapped_classes_are_reported_as_class_confusion() -> None:
    real = load_bccd()
    rng = np.random.default_rng(0)
    other = real.copy()
    swap = rng.choice(np.flatnonzero(other["label"] == "WBC"), 150, replace=False)
    other.loc[swap, "label"] = "Platelets"
    boxes = pd.concat([real.assign(annotator="a"), other.assign(annotator="b")],
                      ignore_index=True)
    report = box_agreement(boxes)
    kinds = report.disagreements
    assert kinds.at["class_confusion", "count"] == 150
    assert kinds.at["class_confusion", "flagged"]
    assert str(kinds.at["class_confusion", "who"]).startswith("WBC / Platelets (150")
    assert "WBC" in str(kinds.at["class_confusion", "convention"])
    assert kinds.at["missing", "count"] == 0
    f1 = report.per_class["f1_50"].to_dict()
    assert f1["WBC"] < f1["RBC"]


# ---- brute force -----------------------------------------------------------------


def _best_matching(iou: np.ndarray) -> list[tuple[int, int]]:
    """The one-to-one pairing with the largest total IoU, by enumeration."""
    n, m = iou.shape
    best, pairs = -1.0, []
    small, big = (n, m) if n <= m else (m, n)
    for perm in itertools.permutations(range(big), small):
        cand = [(i, perm[i]) if n <= m else (perm[i], i) for i in range(small)]
        total = sum(iou[i, j] for i, j in cand)
        if total > best + 1e-12:
            best, pairs = total, cand
    return [(i, j) for i, j in pairs if iou[i, j] > 0]


def _random_labelers(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for image in range(3):
        for label in ("cat", "dog"):
            base = np.column_stack([rng.uniform(0, 60, (4, 2)), rng.uniform(8, 30, (4, 2))])
            for ann in ("a", "b"):
                keep = rng.random(4) < 0.8
                g = base[keep] + rng.normal(0, 3, (keep.sum(), 4)) * [1, 1, 0.5, 0.5]
                for x, y, w, h in g:
                    rows.append((image, label, x, y, abs(w) + 1, abs(h) + 1, ann))
    return pd.DataFrame(rows, columns=["image", "label", "x", "y", "w", "h", "annotator"])


@pytest.mark.parametrize("seed", range(6))
def test_f1_and_iou_equal_brute_force(seed: int) -> None:
    boxes = _random_labelers(seed)
    hits50 = hits75 = n_hit = 0
    iou_sum = 0.0
    for _, group in boxes.groupby(["image", "label"]):
        a = group[group["annotator"] == "a"][["x", "y", "w", "h"]].to_numpy()
        b = group[group["annotator"] == "b"][["x", "y", "w", "h"]].to_numpy()
        if len(a) and len(b):
            iou = iou_matrix(a, b)
            for i, j in _best_matching(iou):
                hits50 += iou[i, j] >= 0.5
                hits75 += iou[i, j] >= 0.75
                if iou[i, j] >= 0.5:
                    n_hit += 1
                    iou_sum += iou[i, j]
    report = box_agreement(boxes)
    assert report.overall["f1_50"] == pytest.approx(2 * hits50 / len(boxes))
    assert report.overall["f1_75"] == pytest.approx(2 * hits75 / len(boxes))
    assert report.overall["mean_iou"] == pytest.approx(iou_sum / n_hit)
    assert report.per_class["n_unmatched"].sum() == len(boxes) - 2 * n_hit


@pytest.mark.parametrize("span", [80, 400])  # dense (large components) and sparse
@pytest.mark.parametrize("seed", range(12))
def test_match_boxes_components_equal_one_hungarian_per_group(seed: int, span: int) -> None:
    rng = np.random.default_rng(seed)

    def frame(n: int) -> pd.DataFrame:
        return check_boxes(pd.DataFrame({
            "image": rng.integers(0, 3, n), "label": rng.integers(0, 2, n),
            "x": rng.uniform(0, span, n), "y": rng.uniform(0, span, n),
            "w": rng.uniform(5, 40, n), "h": rng.uniform(5, 40, n)}))

    left, right = frame(int(rng.integers(1, 40))), frame(int(rng.integers(1, 40)))
    for by_label in (True, False):
        keys = ["image", "label"] if by_label else ["image"]
        expected = 0.0
        for key, lg in left.groupby(keys):
            rg = right[(right[keys] == list(np.atleast_1d(np.asarray(key)))).all(axis=1)]
            if len(rg):
                iou = iou_matrix(lg[["x", "y", "w", "h"]].to_numpy(), rg[["x", "y", "w", "h"]].to_numpy())
                r, c = linear_sum_assignment(iou, maximize=True)
                expected += iou[r, c].sum()
        m = match_boxes(left, right, by_label=by_label)
        paired = (m.left >= 0) & (m.right >= 0)
        assert m.iou[paired].sum() == pytest.approx(expected)
        assert len(set(m.left[paired])) == paired.sum() == len(set(m.right[paired]))
        assert sorted(m.left[m.left >= 0]) == list(range(len(left)))
        assert sorted(m.right[m.right >= 0]) == list(range(len(right)))


# ---- tables, rendering, assignments ---------------------------------------------


def _box(image: str, ann: str, x: float, label: str = "cat") -> dict:
    return {"image": image, "label": label, "x": x, "y": 0.0, "w": 10.0, "h": 10.0,
            "annotator": ann}


def test_images_rank_the_disagreeing_image_first_and_show_its_boxes() -> None:
    boxes = pd.DataFrame([
        _box("calm", "a", 0), _box("calm", "b", 0.5),
        _box("busy", "a", 0), _box("busy", "a", 30), _box("busy", "b", 0.5),
    ])
    report = box_agreement(boxes)
    assert report.images["image"].tolist() == ["busy", "calm"]
    assert report.images.loc[0, "main_kind"] == "missing"
    shown = report.image_boxes("busy")
    assert sorted(shown["annotator"]) == ["a", "a", "b"]
    assert shown["disagreement"].tolist().count("missing") == 1
    json.dumps(report.to_dict())
    assert all(len(line) <= 80 for line in report.summary().splitlines())
    assert "<table" in report.to_html()


def test_assignments_leave_unseen_images_out_and_count_empty_ones() -> None:
    boxes = pd.DataFrame([_box("one", "a", 0), _box("one", "b", 0), _box("two", "a", 0)])
    seen_both = pd.DataFrame({"image": ["one", "one", "two", "two"],
                              "annotator": ["a", "b", "a", "b"]})
    assert box_agreement(boxes, assignments=seen_both).overall["f1_50"] == pytest.approx(2 / 3)
    only_a = seen_both.iloc[:3]
    assert box_agreement(boxes, assignments=only_a).overall["f1_50"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="annotator 'a' drew boxes on image 'two'"):
        box_agreement(boxes, assignments=seen_both.iloc[[0, 1]])
    apart = pd.DataFrame([_box("one", "a", 0), _box("two", "b", 0)])
    with pytest.raises(InputError, match="no image was looked at by two labelers"):
        box_agreement(apart, assignments=pd.DataFrame({"image": ["one", "two"],
                                                       "annotator": ["a", "b"]}))


# ---- bad input --------------------------------------------------------------------


def test_missing_annotator_column_is_named() -> None:
    with pytest.raises(InputError, match="lacks the column.*annotator"):
        box_agreement(load_raccoon())


def test_a_single_labeler_is_refused() -> None:
    with pytest.raises(InputError, match="at least two annotators.*only 'solo'"):
        box_agreement(load_raccoon().assign(annotator="solo"))


def test_zero_size_box_names_its_row() -> None:
    boxes = simulate_labelers(load_raccoon(), seed=0)
    boxes.loc[5, "w"] = 0.0
    with pytest.raises(InputError, match="row 5 .*positive width and height"):
        box_agreement(boxes)


def test_bad_parameter_is_an_input_error() -> None:
    with pytest.raises(InputError, match="match_iou"):
        box_agreement(simulate_labelers(load_raccoon(), seed=0), match_iou=0.0)
