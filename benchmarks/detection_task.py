"""Benchmark: the detection task's seam (box lists per item) against the box engines
on boxes frames, same data, same run.

Run from the repository root::

    .venv/bin/python benchmarks/detection_task.py          # writes results/detection_task.md
    .venv/bin/python benchmarks/detection_task.py --quick  # smoke test, prints only

Data: BCCD's real boxes repeated under new image names (``copies``), three labelers
simulated with the stated conventions of ``tests/collect/box_labelers.py`` (``loose``:
+15% area, omits the smallest 10%; ``merger``: side-by-side pairs as one box; jitter
2%). What is timed, median wall time of ``repeats`` runs:

* agreement: ``DetectionTask.agreement`` on long-format annotations (item, annotator,
  list of boxes) vs :func:`assay.collect.agreement_boxes.box_agreement` on the boxes frame;
* consensus: ``DetectionTask.consensus`` (box lists back per item) vs
  :func:`assay.collect.consensus_boxes.box_consensus`;
* label issues: ``DetectionTask.find_label_issues`` (per-image table, corrected box
  lists) vs :func:`assay.train.labels.find_box_issues`, on the truth labeler's boxes with
  the loose labeler's boxes as scored predictions.

The ratio is seam / engine: what translating box lists costs on top of the engine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "collect"))
from _common import markdown_table, median_time, write_results  # noqa: E402
from box_labelers import load_bccd, simulate_labelers  # noqa: E402

from assay.collect.agreement_boxes import box_agreement  # noqa: E402
from assay.collect.consensus_boxes import box_consensus  # noqa: E402
from assay.tasks import get_task  # noqa: E402
from assay.train.labels import find_box_issues  # noqa: E402

GEOM = ["x", "y", "w", "h"]


def _lists(frame: pd.DataFrame, images: list[str], score: bool = False) -> list[list[dict]]:
    by: dict[str, list[dict]] = {i: [] for i in images}
    cols = ["image", "label", *GEOM] + (["score"] if score else [])
    for row in frame[cols].to_dict("records"):
        by[row.pop("image")].append(row)
    return [by[i] for i in images]


def _long(labelers: pd.DataFrame, images: list[str]) -> pd.DataFrame:
    parts = [pd.DataFrame({"item": images, "annotator": name, "label": _lists(own, images)})
             for name, own in labelers.groupby("annotator")]
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    copies, repeats = (1, 1) if args.quick else (7, 3)
    labelers = simulate_labelers(load_bccd(), seed=0, copies=copies)
    images = sorted(labelers["image"].unique())
    annotations = _long(labelers, images)
    task = get_task("detection")
    truth = labelers[labelers["annotator"] == "truth"]
    preds = labelers[labelers["annotator"] == "loose"].assign(
        score=np.random.default_rng(0).beta(8, 2, (labelers["annotator"] == "loose").sum()))
    given, predicted = _lists(truth, images), _lists(preds, images, score=True)
    cases = [
        ("agreement", lambda: task.agreement(annotations), lambda: box_agreement(labelers)),
        ("consensus", lambda: task.consensus(annotations), lambda: box_consensus(labelers)),
        ("label issues", lambda: task.find_label_issues(given, predicted),
         lambda: find_box_issues(truth.drop(columns="annotator"),
                                 preds.drop(columns="annotator"))),
    ]
    rows = []
    for name, seam, engine in cases:
        t_seam, t_engine = median_time(seam, repeats)[0], median_time(engine, repeats)[0]
        rows.append([name, f"{t_seam:.2f}", f"{t_engine:.2f}", f"{t_seam / t_engine:.2f}"])
    body = (f"{len(labelers):,} boxes from 3 simulated labelers on {len(images):,} images "
            f"(BCCD x {copies}); median of {repeats} runs, wall seconds.\n\n"
            + markdown_table(["step", "task seam (box lists)", "engine (boxes frame)",
                              "ratio"], rows))
    if args.quick:
        print(body)
    else:
        write_results("detection_task", "Detection task seam vs box engines", body)


if __name__ == "__main__":
    main()
