"""Benchmark: COCO mAP of boxes against pycocotools 2.0, equality and speed.

Run from the repository root::

    .venv/bin/python benchmarks/detection_map.py          # writes results/detection_map.md
    .venv/bin/python benchmarks/detection_map.py --quick  # smoke test, prints only

Equality: ``assay.mean_average_precision`` (faster-coco-eval underneath) and pycocotools
on the real label boxes of ``../shared/data/detection`` (raccoon and BCCD from their
Pascal VOC XML, chess pieces from the COCO JSON of both splits) with predictions of a
simulated detector (seeded: 15% of boxes dropped, position and size jittered, 30% false
positives at wrong places and classes, a few on images without labels); largest
absolute difference over AP@[.5:.95], AP50, AP75, AP small/medium/large, AR@100 and
per-class AP. The loaders, the detector and the pycocotools call are those of the
tests (``tests/train/detection_boxes.py``).

Speed: 10,000 images x 10 label boxes made from real box statistics (each image takes
one of the three sets at random, its boxes' class, width and height drawn from that
set's boxes, placed uniformly inside that set's image extent), predictions by the same
detector. Both tools start from the boxes frames (pycocotools' time includes building
its COCO dicts); median wall time over repeats, and the bootstrap's extra time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "train"))
from _common import markdown_table, median_time, write_results  # noqa: E402
from detection_boxes import STATS, predict, pycocotools_eval, real, reference_value  # noqa: E402

from assay.train.evaluate import mean_average_precision  # noqa: E402

SETS = ("raccoon", "bccd", "chess-test", "chess-valid")


def max_difference(labels: pd.DataFrame, preds: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """Largest |assay - pycocotools| over the summary metrics and per-class AP."""
    ours = mean_average_precision(labels, preds)
    ref = pycocotools_eval(labels, preds)
    diffs = [abs(ours[m] - reference_value(ref.stats[i])) for m, i in STATS.items()
             if not np.isnan(ours[m])]
    precision = ref.eval["precision"][:, :, :, 0, -1]
    for k, ap in enumerate(ours["per_class"]["ap"]):
        cell = precision[:, :, k]
        if (cell > -1).any():
            diffs.append(abs(ap - cell[cell > -1].mean()))
    return max(diffs), dict(ours.metrics)


def equality_rows(seeds: range) -> list[list[object]]:
    rows = []
    for name in SETS:
        labels = real(name)
        worst, metrics = 0.0, dict[str, float]()
        for seed in seeds:
            diff, m = max_difference(labels, predict(labels, seed))
            worst, metrics = max(worst, diff), metrics or m
        rows.append([name, labels["image"].nunique(), len(labels),
                     labels["label"].nunique(), len(seeds), f"{metrics['map']:.4f}",
                     f"{metrics['map50']:.4f}", f"{worst:.1e}"])
    return rows


def synthetic(n_images: int, per_image: int, seed: int) -> pd.DataFrame:
    """Label boxes drawn from the real sets' box statistics (see the module docstring)."""
    rng = np.random.default_rng(seed)
    pools = [real(name) for name in ("raccoon", "bccd", "chess-valid")]
    source = rng.integers(0, len(pools), n_images)
    parts = []
    for s, pool in enumerate(pools):
        images = np.flatnonzero(source == s)
        drawn = pool.iloc[rng.integers(0, len(pool), images.size * per_image)]
        extent = (pool["x"] + pool["w"]).max(), (pool["y"] + pool["h"]).max()
        w, h = drawn["w"].to_numpy(), drawn["h"].to_numpy()
        parts.append(pd.DataFrame({
            "image": [f"img-{i}" for i in np.repeat(images, per_image)], "label": drawn["label"].to_numpy(),
            "x": rng.uniform(0, 1, w.size) * np.maximum(extent[0] - w, 1),
            "y": rng.uniform(0, 1, h.size) * np.maximum(extent[1] - h, 1), "w": w, "h": h,
        }))
    return pd.concat(parts, ignore_index=True).sort_values("image", kind="stable")


def speed_rows(n_images: int, repeats: int) -> list[list[object]]:
    labels = synthetic(n_images, 10, seed=0)
    preds = predict(labels, 0)
    t_ref, ref = median_time(lambda: pycocotools_eval(labels, preds), repeats)
    t_ours, ours = median_time(lambda: mean_average_precision(labels, preds), repeats)
    t_boot, boot = median_time(lambda: mean_average_precision(labels, preds, n_boot=200), 1)
    low, high = boot.intervals["map"]
    return [
        [f"{n_images:,} x 10", len(preds), f"{ref.stats[0]:.6f}", f"{ours['map']:.6f}",
         f"{t_ref:.2f}", f"{t_ours:.2f}", f"{t_ref / t_ours:.1f}x",
         f"{t_boot:.1f} ([{low:.4f}, {high:.4f}])"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, no results file")
    args = parser.parse_args()
    n_images, repeats, seeds = (1_000, 1, range(1)) if args.quick else (10_000, 3, range(3))
    body = "\n\n".join([
        f"Equality with pycocotools on real label boxes, predictions of a simulated detector "
        f"(seeds {seeds.start}..{seeds.stop - 1}); largest absolute difference over the "
        "summary metrics and per-class AP (map / map50 of the first seed).",
        markdown_table(["set", "images", "boxes", "classes", "seeds", "map", "map50",
                        "max |assay - pycocotools|"], equality_rows(seeds)),
        f"Speed, median of {repeats} runs (seconds), from the boxes frames; the last column "
        "is one run with the 200-resample image bootstrap (map's 95% interval).",
        markdown_table(["images x boxes", "predictions", "pycocotools map", "assay map",
                        "pycocotools", "assay", "ratio", "assay + bootstrap"],
                       speed_rows(n_images, repeats)),
    ])
    if args.quick:
        print(body)
        return
    write_results("detection_map", "Detection mAP: equality with pycocotools and speed", body)


if __name__ == "__main__":
    main()
