"""Benchmark: drift of images with boxes (``assay.deploy.drift_boxes``), speed and false
alarms on real boxes.

Run from the repository root::

    .venv/bin/python benchmarks/box_drift.py          # writes results/box_drift.md
    .venv/bin/python benchmarks/box_drift.py --quick  # smoke test, prints only

Data: BCCD's real boxes (364 microscope images, 4,886 boxes of RBC, WBC, platelets) and
its 364 JPEG files.

* **speed**: the per-image and per-box tables of BCCD repeated under new image names
  (``copies``), half the images as the reference (profiled once, as a monitor does) and
  half as the batch; median wall time of :func:`box_profiles` and of :func:`box_drift`
  against the stored profile; and :func:`image_statistics` per image on the real JPEGs.
* **false alarms**: batches of ``n`` images drawn at random from BCCD's own test split
  against a profile of its train split (no drift but the published split's): the share
  of batches whose label boxes are called drifted, per statistic. The per-box tests take
  boxes as independent although boxes of one image are alike, so this share is the
  honest measure of how often a calm batch alerts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import markdown_table, median_time, write_results  # noqa: E402

from assay.demo import detection_data as dd  # noqa: E402
from assay.deploy.drift_boxes import (  # noqa: E402
    box_drift,
    box_profiles,
    box_tables,
    image_statistics,
)


def _tables(boxes: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    where = {n: i for i, n in enumerate(names)}
    mine = boxes[boxes["image"].isin(where)]
    return box_tables(
        mine.assign(image=mine["image"].map(where)),
        [dd.WIDTH] * len(names),
        [dd.HEIGHT] * len(names),
    )


def speed(boxes: pd.DataFrame, copies: int, repeats: int) -> list[list[object]]:
    frames = [boxes.assign(image=boxes["image"] + f"#{k}") for k in range(copies)]
    big = pd.concat(frames, ignore_index=True)
    names = sorted(big["image"].unique())
    ref, cur = _tables(big, names[0::2]), _tables(big, names[1::2])
    t_profile, profiles = median_time(lambda: box_profiles(*ref), repeats)
    t_drift, _ = median_time(lambda: box_drift(profiles, *cur), repeats)
    return [[copies, len(names[1::2]), len(cur[1]), f"{t_profile:.3f}", f"{t_drift:.3f}"]]


def false_alarms(
    folder: Path, boxes: pd.DataFrame, sizes: list[int], trials: int
) -> list[list[object]]:
    train, test = dd.split_images(folder, 10_000, 10_000)
    train = [n for n in train if n in set(boxes["image"])]
    test = [n for n in test if n in set(boxes["image"])]
    reference = box_profiles(*_tables(boxes, train))
    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        hits: dict[str, int] = {}
        any_hit = 0
        for _ in range(trials):
            chosen = list(rng.choice(test, n, replace=False))
            report = box_drift(reference, *_tables(boxes, chosen))
            for column in report.drifted_columns:
                hits[column] = hits.get(column, 0) + 1
            any_hit += bool(report.drifted_columns)
        shares = {
            c.split(":")[-1]: hits.get(c, 0) / trials
            for c in ("label:boxes_per_image", "label:box_area", "label:box_aspect", "label:class")
        }
        rows.append([n, trials, f"{any_hit / trials:.2f}", *(f"{v:.2f}" for v in shares.values())])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    folder = dd.bccd_folder()
    boxes = dd.load_bccd(folder)
    copies = [1, 4] if args.quick else [1, 10, 40]
    fast = [r for c in copies for r in speed(boxes, c, 1 if args.quick else 3)]
    files = sorted((folder / "BCCD" / "JPEGImages").glob("*.jpg"))[: 20 if args.quick else 364]
    t_img, _ = median_time(lambda: image_statistics({p.name: p for p in files}), 1)
    alarms = false_alarms(
        folder, boxes, [10, 20] if args.quick else [10, 20, 50], 5 if args.quick else 100
    )
    body = (
        "Speed (reference = half the images, profiled once; batch = the other half):\n\n"
        + markdown_table(["copies", "batch images", "batch boxes", "profile s", "drift s"], fast)
        + f"\n\nimage_statistics on {len(files)} BCCD JPEGs (640 x 480): "
        f"{1000 * t_img / len(files):.1f} ms per image.\n\n"
        "False alarms: random batches of BCCD test images against a profile of its train "
        "split; share of batches called drifted (any statistic, then each):\n\n"
        + markdown_table(
            ["images", "batches", "any", "boxes_per_image", "box_area", "box_aspect", "class"],
            alarms,
        )
    )
    if args.quick:
        print(body)
    else:
        write_results("box_drift", "Box and image drift", body)


if __name__ == "__main__":
    main()
