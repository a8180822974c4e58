"""Benchmark: box agreement and consensus of labelers' boxes (object detection).

Run from the repository root::

    .venv/bin/python benchmarks/box_agreement.py          # writes results/box_agreement.md
    .venv/bin/python benchmarks/box_agreement.py --quick  # smoke test, prints only

There is no public set with several labelers' boxes, so labelers are simulated from
the real boxes in ``../shared/data/detection`` (BCCD blood cells, raccoons, chess
pieces) with *stated* conventions (``tests/collect/box_labelers.py``): ``truth`` keeps
the published boxes; ``loose`` draws boxes 15% larger in area and omits the smallest
10% of objects; ``merger`` draws one box around each pair of side-by-side objects of a
class; all three add Gaussian jitter (sd 2% of the box size per side).

Quality: the disagreement kinds :func:`assay.box_agreement` flags against the kinds
simulated, and the mean IoU of the real boxes with each labeler's boxes, with
:func:`assay.box_consensus` and with ``ensemble_boxes.weighted_boxes_fusion`` (MIT, the
reference WBF; fused boxes of score >= 0.5 kept, i.e. drawn by 2 of 3 labelers).

Speed: 100,000+ boxes from 3 labelers (BCCD repeated under new image names), median
wall and CPU time of agreement and consensus; anchors in the same run: the matching
alone as a plain per-image loop (IoU matrix + Hungarian per image and class, per
labeler pair) and ensemble_boxes' WBF per image (coordinates normalised by each
image's extent).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "collect"))
from _common import markdown_table, write_results  # noqa: E402
from box_labelers import (  # noqa: E402
    adjacent_pairs,
    closeness,
    load_bccd,
    load_chess,
    load_raccoon,
    simulate_labelers,
    truth_copies,
)

from assay._boxes import iou_matrix  # noqa: E402
from assay.collect.agreement_boxes import box_agreement  # noqa: E402
from assay.collect.consensus_boxes import box_consensus  # noqa: E402

LABELERS = ("truth", "loose", "merger")


def timed(func: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds over ``repeats`` runs, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = func()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def wbf(sim: pd.DataFrame) -> pd.DataFrame:
    """ensemble_boxes' weighted box fusion, image by image, labelers as models."""
    from ensemble_boxes import weighted_boxes_fusion

    codes, names = pd.factorize(sim["label"])
    frame = sim.assign(code=codes, x2=sim["x"] + sim["w"], y2=sim["y"] + sim["h"])
    out = []
    for image, group in frame.groupby("image", sort=False):
        sx, sy = group["x2"].max(), group["y2"].max()
        boxes, scores, labels = [], [], []
        for name in LABELERS:
            g = group[group["annotator"] == name]
            corners = g[["x", "y", "x2", "y2"]].to_numpy() / [sx, sy, sx, sy]
            boxes.append(corners.clip(0, 1).tolist())
            scores.append([1.0] * len(g))
            labels.append(g["code"].tolist())
        b, s, lab = weighted_boxes_fusion(boxes, scores, labels, iou_thr=0.55,
                                          skip_box_thr=0.0)
        keep = s >= 0.5
        b = b[keep] * [sx, sy, sx, sy]
        out.append(pd.DataFrame({"image": image, "label": names[lab[keep].astype(int)],
                                 "x": b[:, 0], "y": b[:, 1], "w": b[:, 2] - b[:, 0],
                                 "h": b[:, 3] - b[:, 1]}))
    return pd.concat(out, ignore_index=True)


def plain_matching(sim: pd.DataFrame) -> int:
    """The Hungarian matching of every labeler pair as a loop over images and classes."""
    ann, image, label = (pd.factorize(sim[c])[0] for c in ("annotator", "image", "label"))
    geometry = sim[["x", "y", "w", "h"]].to_numpy()
    n_groups = (image.max() + 1) * (label.max() + 1)
    key = ann * n_groups + image * (label.max() + 1) + label
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    groups = {int(key[part[0]]): geometry[part] for part in np.split(order, bounds)}
    n = 0
    for a, b in combinations(range(ann.max() + 1), 2):
        for g in range(n_groups):
            ga, gb = groups.get(a * n_groups + g), groups.get(b * n_groups + g)
            if ga is not None and gb is not None:
                iou = iou_matrix(ga, gb)
                r, k = linear_sum_assignment(iou, maximize=True)
                n += int((iou[r, k] >= 0.5).sum())
    return n


def quality_rows() -> tuple[list[list[Any]], list[list[Any]]]:
    kinds: list[list[Any]] = []
    fusion: list[list[Any]] = []
    for name, load in (("BCCD", load_bccd), ("raccoon", load_raccoon),
                       ("chess (valid)", load_chess)):
        real = load()
        sim = simulate_labelers(real, seed=0)
        report = box_agreement(sim)
        d = report.disagreements
        flagged = set(d.index[d["flagged"]])
        expected = {"missing", "loose_tight"} | (
            {"merged_split"} if adjacent_pairs(real) else set())
        kinds.append([name, len(real), len(adjacent_pairs(real)),
                      ", ".join(sorted(expected)), ", ".join(sorted(flagged)),
                      "yes" if flagged == expected else "NO",
                      f"{d['share'].to_dict()['missing']:.3f}",
                      f"{d['share'].to_dict()['merged_split']:.3f}",
                      f"{report.sizes['area_ratio'].max():.3f}",
                      f"{report.overall['f1_50']:.3f}"])
        cons = box_consensus(sim)
        per = [closeness(real, sim[sim["annotator"] == a]) for a in LABELERS]
        fusion.append([name, *(f"{v:.4f}" for v in per),
                       f"{closeness(real, cons.boxes):.4f}", f"{closeness(real, wbf(sim)):.4f}"])
    return kinds, fusion


def speed_rows(copies: int, repeats: int) -> tuple[list[list[Any]], int, tuple[float, float]]:
    sim = simulate_labelers(load_bccd(), seed=0, copies=copies)
    real = truth_copies(load_bccd(), copies)
    agree = timed(lambda: box_agreement(sim), repeats)
    cons = timed(lambda: box_consensus(sim), repeats)
    plain = timed(lambda: plain_matching(sim), 1)
    ens = timed(lambda: wbf(sim), 1)
    ours = (agree[0] + cons[0], agree[1] + cons[1])
    rows: list[list[Any]] = [
        ["assay box_agreement (all tables and kinds)", f"{agree[0]:.2f}", f"{agree[1]:.2f}",
         "-"],
        ["assay box_consensus (fusion + labeler F1)", f"{cons[0]:.2f}", f"{cons[1]:.2f}",
         f"{closeness(real, cons[2].boxes):.4f}"],
        ["assay agreement + consensus", f"{ours[0]:.2f}", f"{ours[1]:.2f}", "-"],
        ["plain loop: Hungarian per image, class and labeler pair (matching only)",
         f"{plain[0]:.2f}", f"{plain[1]:.2f}", "-"],
        ["ensemble_boxes weighted_boxes_fusion per image", f"{ens[0]:.2f}", f"{ens[1]:.2f}",
         f"{closeness(real, ens[2]):.4f}"],
    ]
    return rows, len(sim), ours


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, no results file")
    args = parser.parse_args()
    copies, repeats = (2, 1) if args.quick else (8, 3)
    kinds, fusion = quality_rows()
    speed, n_boxes, ours = speed_rows(copies, repeats)
    load = os.getloadavg()[0]
    body = "\n\n".join([
        "Labelers simulated from the real boxes (stated conventions: `loose` +15% box "
        "area and omits the smallest 10% of objects; `merger` boxes side-by-side pairs "
        "of a class as one; jitter sd 2% per side for all three; seed 0). Does "
        "`box_agreement` flag exactly the simulated kinds?",
        markdown_table(["data", "real boxes", "adjacent pairs merged", "simulated kinds",
                        "flagged kinds", "exact", "missing share", "merged share",
                        "largest area ratio", "box F1@0.5"], kinds),
        "Mean IoU of the real (published) boxes with each labeler's boxes and with the "
        "consensus (0 for a real box without a partner):",
        markdown_table(["data", *LABELERS, "assay box_consensus",
                        "ensemble_boxes WBF (score >= 0.5)"], fusion),
        f"Speed at {n_boxes:,} boxes from 3 labelers (BCCD x {copies} under new image "
        f"names), median of {repeats} (anchors: 1 run):",
        markdown_table(["what", "wall s", "CPU s", "mean IoU with real boxes"], speed),
        f"Target: agreement + consensus <= 3 s at 100,000 boxes: "
        f"{'met' if ours[1] <= 3 else 'NOT met'} in CPU time ({ours[1]:.2f} s at "
        f"{n_boxes:,} boxes), {'met' if ours[0] <= 3 else 'NOT met'} in wall time "
        f"({ours[0]:.2f} s) with a load average of {load:.1f} on 2 cores. Wall and CPU are "
        "medians on cores shared with other jobs (CPU time is the steadier). The "
        "matching pairs boxes per connected component of overlapping boxes "
        "(`assay._boxes.match_boxes`): a component with one box on a side takes its best "
        "partner, components up to 4 x 4 boxes try all 24 pairings at once, only larger "
        "ones reach the Hungarian solver. ensemble_boxes is not used at run time (a Python loop per "
        "box, fuses by score, lets one labeler's two boxes join a cluster, imports numba).",
    ])
    if args.quick:
        print(body)
        return
    write_results("box_agreement", "Box agreement and consensus (object detection)", body)


if __name__ == "__main__":
    main()
