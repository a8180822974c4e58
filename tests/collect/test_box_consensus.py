"""Box consensus (assay.collect.consensus_boxes): fusion on real boxes with simulated
labelers, exact fused boxes on small inputs, and bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._boxes import check_boxes
from assay.collect.consensus_boxes import box_consensus
from assay.exceptions import InputError

sys.path.insert(0, str(Path(__file__).parent))
from box_labelers import (  # noqa: E402
    DETECTION,
    closeness,
    load_bccd,
    load_chess,
    load_raccoon,
    simulate_labelers,
)

pytestmark = pytest.mark.skipif(not DETECTION.is_dir(),
                                reason="shared/data/detection is not beside the repo")


@pytest.mark.parametrize("load", [load_bccd, load_raccoon, load_chess])
def test_consensus_is_closer_to_the_real_boxes_than_the_worst_labeler(load) -> None:
    real = load()
    sim = simulate_labelers(real, seed=0)
    result = box_consensus(sim)
    labelers = {a: closeness(real, sim[sim["annotator"] == a])
                for a in ("truth", "loose", "merger")}
    fused = closeness(real, result.boxes)
    assert fused > min(labelers.values()) + 0.05
    assert fused > 0.9
    # the labeler who keeps the published boxes agrees best with the consensus (on
    # chess the merger finds nothing to merge and ties with it)
    assert result.annotators.loc["truth", "f1"] == result.annotators["f1"].max()
    assert result.annotators["recall"].to_dict()["loose"] < 0.95  # it omitted small objects


def test_a_cluster_holds_at_most_one_box_per_labeler() -> None:
    sim = simulate_labelers(load_bccd(), seed=1)
    result = box_consensus(sim)
    frame = check_boxes(sim, extra=("annotator",))
    per = frame.assign(cluster=result.members.to_numpy()).groupby("cluster")["annotator"]
    assert (per.nunique() == per.size()).all()
    kept = result.clusters[result.clusters["kept"]]
    assert (kept["support"] >= 0.5).all()
    assert len(result.boxes) == len(kept)


def _box(ann: str, x: float, y: float, w: float, h: float, image: str = "i",
         label: str = "cat") -> dict:
    return {"image": image, "label": label, "x": x, "y": y, "w": w, "h": h, "annotator": ann}


def test_fused_box_is_the_weighted_mean_of_corners() -> None:
    boxes = pd.DataFrame([_box("a", 0, 0, 10, 10), _box("b", 1, 0, 10, 12),
                          _box("c", 2, 1, 10, 10), _box("c", 50, 50, 5, 5)])
    result = box_consensus(boxes, weights={"a": 2.0})
    assert len(result.boxes) == 1  # the lone box of c has support 1/4 < 0.5
    box = result.boxes.iloc[0]
    # corners x1, y1, x2, y2 weighted a: 2, b: 1, c: 1
    x1, y1 = (2 * 0 + 1 + 2) / 4, (0 + 0 + 1) / 4
    x2, y2 = (2 * 10 + 11 + 12) / 4, (2 * 10 + 12 + 11) / 4
    assert [box["x"], box["y"], box["w"], box["h"]] == pytest.approx([x1, y1, x2 - x1, y2 - y1])
    assert box["support"] == pytest.approx(1.0)
    assert box["n_annotators"] == 3
    ious = []
    for g in ([0, 0, 10, 10], [1, 0, 10, 12], [2, 1, 10, 10]):
        ix = min(g[0] + g[2], x2) - max(g[0], x1)
        iy = min(g[1] + g[3], y2) - max(g[1], y1)
        inter = ix * iy
        ious.append(inter / (g[2] * g[3] + (x2 - x1) * (y2 - y1) - inter))
    assert box["mean_iou"] == pytest.approx(np.mean(ious))
    lone = result.clusters[~result.clusters["kept"]].iloc[0]
    assert lone["support"] == pytest.approx(1 / 4)


def test_support_keeps_what_half_the_labelers_drew_and_rates_labelers() -> None:
    boxes = pd.DataFrame([
        _box("a", 0, 0, 10, 10), _box("b", 0, 0, 10, 10), _box("c", 0, 0, 10, 10),
        _box("a", 40, 40, 10, 10), _box("b", 40, 41, 10, 10),
        _box("c", 80, 0, 10, 10),
    ])
    result = box_consensus(boxes)
    assert sorted(result.boxes["support"].round(3)) == [0.667, 1.0]
    ann = result.annotators
    assert ann.loc["a", "f1"] == pytest.approx(1.0)
    assert ann.loc["c", "precision"] == pytest.approx(0.5)
    assert ann.loc["c", "recall"] == pytest.approx(0.5)
    json.dumps(result.to_dict())
    assert all(len(line) <= 80 for line in result.summary().splitlines())


def test_boxes_of_other_classes_never_fuse() -> None:
    boxes = pd.DataFrame([_box("a", 0, 0, 10, 10), _box("b", 0, 0, 10, 10, label="dog")])
    result = box_consensus(boxes, min_support=0.0)
    assert sorted(result.boxes["label"]) == ["cat", "dog"]
    assert (result.boxes["n_annotators"] == 1).all()


def test_bad_input_is_refused_with_a_clear_message() -> None:
    real = load_raccoon()
    with pytest.raises(InputError, match="lacks the column.*annotator"):
        box_consensus(real)
    with pytest.raises(InputError, match="at least two annotators"):
        box_consensus(real.assign(annotator="solo"))
    sim = simulate_labelers(real, seed=0)
    bad = sim.copy()
    bad.loc[3, "h"] = -2.0
    with pytest.raises(InputError, match="row 3 .*positive width and height"):
        box_consensus(bad)
    with pytest.raises(InputError, match="weights names labeler"):
        box_consensus(sim, weights={"nobody": 1.0})
    with pytest.raises(InputError, match="finite positive"):
        box_consensus(sim, weights={"truth": 0.0})
