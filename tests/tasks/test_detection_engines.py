"""The detection task's engines (agreement, consensus, label issues, mAP, label drift)
through the Task seam, on real boxes (BCCD, raccoon, chess) with the stated labeler
simulation of tests/collect/box_labelers.py and planted label errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from assay._boxes import iou_matrix
from assay.collect.agreement_boxes import box_agreement
from assay.collect.consensus_boxes import box_consensus
from assay.exceptions import InputError
from assay.tasks import get_task
from assay.train.evaluate._detection import mean_average_precision

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collect"))
from box_labelers import (  # noqa: E402
    DETECTION,
    load_bccd,
    load_chess,
    load_raccoon,
    simulate_labelers,
)

pytestmark = pytest.mark.skipif(not DETECTION.is_dir(),
                                reason="shared/data/detection is not beside the repo")
GEOM = ["x", "y", "w", "h"]
TASK = get_task("detection")


def _lists(boxes: pd.DataFrame, images: list[str]) -> list[list[dict]]:
    """A boxes frame as one list of boxes per image (in ``images`` order)."""
    by = {image: [] for image in images}
    for row in boxes.to_dict("records"):
        box = {"label": row["label"], **{k: float(row[k]) for k in GEOM}}
        if "score" in row:
            box["score"] = float(row["score"])
        by[row["image"]].append(box)
    return [by[i] for i in images]


def _long(labelers: pd.DataFrame) -> pd.DataFrame:
    """Labelers' boxes as long-format annotations: every labeler saw every image."""
    images = sorted(labelers["image"].unique())
    rows = []
    for name, own in labelers.groupby("annotator"):
        rows += [{"item": i, "annotator": name, "label": b}
                 for i, b in zip(images, _lists(own, images), strict=True)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def raccoon_annotations() -> pd.DataFrame:
    return _long(simulate_labelers(load_raccoon(), seed=1))


def test_agreement_equals_the_engine_and_ranks_classes(raccoon_annotations) -> None:
    report = TASK.agreement(raccoon_annotations)
    labelers = simulate_labelers(load_raccoon(), seed=1)
    direct = box_agreement(labelers)
    assert report.overall["f1_50"] == pytest.approx(direct.overall["f1_50"], abs=1e-12)
    assert report.overall["mean_iou"] == pytest.approx(direct.overall["mean_iou"], abs=1e-12)
    assert np.isnan(report.krippendorff_alpha)
    assert list(report.to_revise(5).index) == ["raccoon"]
    flagged = set(report.disagreements.index[report.disagreements["flagged"]])
    assert {"missing", "loose_tight"} <= flagged and "class_confusion" not in flagged
    assert all(len(line) <= 80 for line in report.summary().splitlines())


def test_agreement_counts_an_image_a_labeler_left_empty() -> None:
    boxes = load_chess()
    images = sorted(boxes["image"].unique())[:6]
    lists = _lists(boxes[boxes["image"].isin(images)], images)
    rows = [{"item": i, "annotator": "a", "label": b} for i, b in zip(images, lists, strict=True)]
    rows += [{"item": i, "annotator": "b", "label": b if n else []}
             for n, (i, b) in enumerate(zip(images, lists, strict=True))]
    report = TASK.agreement(pd.DataFrame(rows))
    worst = report.images.iloc[0]
    assert worst["image"] == images[0] and report.overall["f1_50"] < 1.0
    assert report.disagreements.loc["missing", "count"] == len(lists[0])


def test_consensus_gives_box_lists_per_item_close_to_the_real_boxes(raccoon_annotations) -> None:
    real = load_raccoon()
    out = TASK.consensus(raccoon_annotations, method=TASK.consensus_method)
    images = sorted(real["image"].unique())
    assert list(out.labels.index) == images
    direct = box_consensus(simulate_labelers(real, seed=1))
    assert out.labels["n_boxes"].sum() == len(direct.boxes)
    got = pd.DataFrame([{"image": i, **b} for i, bs in out.labels["label"].items() for b in bs])
    ious = [iou_matrix(g[GEOM].to_numpy(float), real[real["image"] == i][GEOM].to_numpy(float))
            .max() for i, g in got.groupby("image")]
    assert np.median(ious) > 0.9
    assert out.labels["quality"].between(0, 1).all()
    assert out.annotators.loc["truth", "quality"] > out.annotators.loc["merger", "quality"]
    with pytest.raises(InputError, match="weighted_box_fusion"):
        TASK.consensus(raccoon_annotations, method="majority")


def _plant(true: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, set[str]]:
    """In a random quarter of the images, one box each is dropped, moved by a third of
    its size, or given the next class (a third of those images each)."""
    images = true["image"].unique()
    touched = set(rng.choice(images, len(images) // 4, replace=False))
    rows = np.array([rng.choice(np.flatnonzero(true["image"].to_numpy() == i))
                     for i in sorted(touched)])
    drop, move, swap = np.array_split(rng.permutation(rows), 3)
    noisy = true.copy()
    g = noisy.loc[move, GEOM].to_numpy(copy=True)
    g[:, :2] += g[:, 2:] * 0.35 * rng.choice([-1, 1], (len(g), 2))
    noisy.loc[move, GEOM] = g
    classes = sorted(true["label"].unique())
    noisy.loc[swap, "label"] = [classes[(classes.index(c) + 1) % len(classes)]
                                for c in true.loc[swap, "label"]]
    return noisy.drop(index=drop), touched


def _detector(true: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Sees 97% of the true boxes (3% jitter), plus low-score false alarms."""
    seen = true[rng.uniform(size=len(true)) < 0.97].copy()
    g = seen[GEOM].to_numpy(copy=True)
    g[:, :2] += rng.normal(0, 0.03, (len(g), 2)) * g[:, 2:]
    seen[GEOM] = g
    seen["score"] = rng.beta(8, 2, len(seen))
    return seen


@pytest.fixture(scope="module")
def bccd_issues():
    rng = np.random.default_rng(0)
    true = load_bccd()
    noisy, touched = _plant(true, rng)
    images = sorted(true["image"].unique())
    table = TASK.find_label_issues(_lists(noisy, images), _lists(_detector(true, rng), images))
    return true, images, touched, table


def test_label_issues_are_one_row_per_image_and_rank_planted_images(bccd_issues) -> None:
    true, images, touched, table = bccd_issues
    assert len(table) == len(images)
    assert {"is_label_issue", "label_quality", "given_label", "suggested_label", "issues"} <= set(
        table.columns)
    planted = np.array([i in touched for i in images])
    assert roc_auc_score(planted, -table["label_quality"]) > 0.9
    first = np.argsort(table["label_quality"].to_numpy(), kind="stable")[: planted.sum()]
    assert planted[first].mean() > 0.85  # a quarter of the images hold an error
    flagged = table["is_label_issue"].to_numpy()
    assert (flagged & planted).sum() / planted.sum() > 0.9
    assert all(bool(r["issues"]) == bool(r["is_label_issue"]) for _, r in table.iterrows())


def test_suggested_labels_are_closer_to_the_real_boxes(bccd_issues) -> None:
    true, images, touched, table = bccd_issues
    truth = _lists(true, images)

    def f1(a: list[dict], b: list[dict]) -> float:
        if not a and not b:
            return 1.0
        frame = lambda bs, img: pd.DataFrame([{"image": img, **x} for x in bs],  # noqa: E731
                                             columns=["image", "label", *GEOM])
        la, lb = frame(a, 0), frame(b, 0)
        hits = sum(int((iou_matrix(la[la.label == c][GEOM].to_numpy(float),
                                   lb[lb.label == c][GEOM].to_numpy(float)) >= 0.5).any(1).sum())
                   for c in set(la.label) & set(lb.label))
        return 2 * hits / (len(a) + len(b))

    planted = [n for n, i in enumerate(images) if i in touched]
    fixed = table.loc[planted].query("is_label_issue").index
    before = np.array([f1(table.at[i, "given_label"], truth[i]) for i in fixed])
    after = np.array([f1(table.at[i, "suggested_label"], truth[i]) for i in fixed])
    assert after.mean() > before.mean() + 0.05
    assert (after > before).mean() > 0.7


def test_score_is_coco_map_with_intervals_around_it() -> None:
    rng = np.random.default_rng(3)
    true = load_raccoon()
    pred = _detector(true, rng)
    images = sorted(true["image"].unique())
    scores = TASK.score(_lists(true, images), _lists(pred, images), seed=0)
    direct = mean_average_precision(true, pred)
    for name in TASK.metrics:
        assert scores[name]["value"] == pytest.approx(direct[name], abs=1e-9)
        assert scores[name]["low"] <= scores[name]["value"] <= scores[name]["high"]
    assert TASK.headline(scores).metric == "map"
    assert TASK.headline_score(_lists(true, images), _lists(pred, images)) == pytest.approx(
        direct["map"], abs=1e-12)
    assert scores["map"]["value"] < scores["map50"]["value"]


def test_label_drift_flags_a_changed_class_mix_and_not_a_random_split() -> None:
    boxes = load_bccd()
    images = sorted(boxes["image"].unique())
    lists = pd.Series(_lists(boxes, images), name="label")
    rng = np.random.default_rng(0)
    half = rng.permutation(len(images))
    same = TASK.label_drift(lists.iloc[half[:180]], lists.iloc[half[180:]])
    assert not same.drifted
    no_rbc = lists.map(lambda bs: [b for b in bs if b["label"] != "RBC"])
    shifted = TASK.label_drift(lists.iloc[half[:180]], no_rbc.iloc[half[180:]])
    assert shifted.drifted
    assert {"label:class", "label:boxes_per_image"} <= set(shifted.drifted_columns)


def test_predictions_naming_no_item_are_refused() -> None:
    labels = [[{"label": "a", "x": 0, "y": 0, "w": 5, "h": 5}]]
    with pytest.raises(InputError, match="no score"):
        TASK.find_label_issues(labels, [[{"label": "a", "x": 0, "y": 0, "w": 5, "h": 5}]])
    frame = pd.DataFrame([{"image": "other.jpg", "label": "a", "x": 0, "y": 0, "w": 5, "h": 5,
                           "score": 0.9}])
    with pytest.raises(InputError, match="names no item"):
        TASK.find_label_issues(labels, frame, ids=["one.jpg"])


def test_evaluation_and_paired_comparison_of_two_detectors() -> None:
    true = load_raccoon()
    images = sorted(true["image"].unique())
    truth = _lists(true, images)
    good = _detector(true, np.random.default_rng(5))
    worse = good.copy()
    rng = np.random.default_rng(6)
    worse[["x", "y"]] += rng.normal(0, 0.15, (len(worse), 2)) * worse[["w", "h"]].to_numpy()
    ev_a = TASK.evaluate_predictions(truth, _lists(good, images), n_boot=200, seed=0)
    ev_b = TASK.evaluate_predictions(truth, _lists(worse, images), n_boot=200, seed=0)
    assert ev_a.overall["map"]["value"] == pytest.approx(mean_average_precision(true, good)["map"])
    assert TASK.verdict(ev_a.overall, ev_b.overall) == "worse"
    again = TASK.evaluation_from_dict(ev_a.to_dict())
    assert again.overall == ev_a.overall and again.y_pred == ev_a.y_pred
    paired = TASK.compare(ev_a, ev_b, n_boot=200, seed=0)
    m = paired.metrics["map"]
    assert m["delta"] < 0 and m["low"] <= m["delta"] <= m["high"] < 0 and paired.significant
    same = TASK.compare(ev_a, ev_a, n_boot=200, seed=0)
    assert same.metrics["map"]["delta"] == 0 and not same.significant
    with pytest.raises(InputError, match="same images"):
        TASK.compare(ev_a, TASK.evaluate_predictions(truth[:-1], ev_a.y_pred[:-1], n_boot=10))
    assert all(len(line) <= 80 for line in paired.summary().splitlines())


def test_label_drift_when_the_current_labels_hold_no_box() -> None:
    boxes = load_raccoon()
    images = sorted(boxes["image"].unique())
    lists = pd.Series(_lists(boxes, images), name="label")
    report = TASK.label_drift(lists, pd.Series([[]] * 50, name="label"))
    assert report.drifted and report.drifted_columns == ["label:boxes_per_image"]


@pytest.mark.parametrize(("label", "message"), [
    ([{"label": "a", "x": 1, "y": 1, "w": 0, "h": 3}], "annotation 2 .*positive width"),
    ([{"label": "", "x": 1, "y": 1, "w": 2, "h": 3}], "annotation 2 .*needs a class"),
    ([{"label": "a", "x": 1, "y": 1, "w": 2}], "annotation 2 .*finite x"),
    ("not json", "annotation 2 .*not a list of boxes"),
])
def test_bad_box_annotations_name_their_row(label, message) -> None:
    good = [{"label": "a", "x": 1.0, "y": 1.0, "w": 2.0, "h": 3.0}]
    frame = pd.DataFrame({"item": ["i1", "i1"], "annotator": ["p", "q"],
                          "label": [good, label]})
    with pytest.raises(InputError, match=message):
        TASK.agreement(frame)
