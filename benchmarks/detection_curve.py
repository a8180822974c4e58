"""Slide 19 in mAP: the fixed detection recipe's learning curve, clean vs noisy boxes.

Real boxes: raccoon (one class, the author's 160/40 split) and BCCD (three blood-cell
classes, the published train/test split, read by ``read_boxes``; zero-size boxes
dropped). For each training
size, seed and condition, :class:`assay.train.detect.HogDetector` is fitted on the
first ``n`` images of a seeded permutation of the training split and scored on the
whole test split by :func:`assay.train.evaluate.mean_average_precision` (COCO mAP),
with a percentile bootstrap over test images.

Noisy boxes (stated, applied to the training boxes only, seeded): 10% of the boxes
dropped; of the rest, 30% moved and resized: the centre shifted by N(0, 0.15) times
the box's width and height, each side scaled by exp(N(0, 0.2)), clipped to the image.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import RESULTS, markdown_table, write_results

from assay._charts import LineSeries, line_chart
from assay.store.box_formats import read_boxes
from assay.train.detect import HogDetector
from assay.train.evaluate import mean_average_precision

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "detection"
SIZES = {"raccoon": [20, 40, 80, 160], "bccd": [20, 40, 80, 160]}


def raccoon(split: str) -> tuple[dict[str, str], pd.DataFrame, dict[str, tuple[int, int]]]:
    df = pd.read_csv(DATA / "raccoon" / "data" / f"{split}_labels.csv")
    boxes = pd.DataFrame({"image": df["filename"], "label": df["class"], "x": df["xmin"],
                          "y": df["ymin"], "w": df["xmax"] - df["xmin"],
                          "h": df["ymax"] - df["ymin"]}).astype({c: float for c in "xywh"})
    sizes = {r.filename: (r.width, r.height) for r in df.itertuples()}
    return {f: str(DATA / "raccoon" / "images" / f) for f in sizes}, boxes, sizes


def bccd(split: str) -> tuple[dict[str, str], pd.DataFrame, dict[str, tuple[int, int]]]:
    root = DATA / "bccd" / "BCCD"
    read = read_boxes(root / "Annotations", "voc", images=root / "JPEGImages", drop_empty=True)
    names = {f"{i}.jpg" for i in (root / "ImageSets" / "Main" / f"{split}.txt").read_text().split()}
    images = read.images[read.images["image"].isin(names)]
    boxes = read.boxes[read.boxes["image"].isin(names)][["image", "label", "x", "y", "w", "h"]]
    sizes = {r.image: (int(r.width), int(r.height)) for r in images.itertuples()}
    return dict(zip(images["image"], images["path"].astype(str), strict=True)), \
        boxes.reset_index(drop=True), sizes


def noisy(boxes: pd.DataFrame, sizes: dict[str, tuple[int, int]],
          rng: np.random.Generator) -> pd.DataFrame:
    """The stated noise: 10% dropped, 30% of the rest shifted and rescaled."""
    out = boxes[rng.random(len(boxes)) >= 0.10].reset_index(drop=True).copy()
    moved = rng.random(len(out)) < 0.30
    n = int(moved.sum())
    w, h = out.loc[moved, "w"].to_numpy(), out.loc[moved, "h"].to_numpy()
    cx = out.loc[moved, "x"].to_numpy() + w / 2 + rng.normal(0, 0.15, n) * w
    cy = out.loc[moved, "y"].to_numpy() + h / 2 + rng.normal(0, 0.15, n) * h
    w, h = w * np.exp(rng.normal(0, 0.2, n)), h * np.exp(rng.normal(0, 0.2, n))
    width = np.array([sizes[i][0] for i in out.loc[moved, "image"]], dtype=float)
    height = np.array([sizes[i][1] for i in out.loc[moved, "image"]], dtype=float)
    x0, y0 = np.clip(cx - w / 2, 0, width - 2), np.clip(cy - h / 2, 0, height - 2)
    x1, y1 = np.clip(cx + w / 2, x0 + 2, width), np.clip(cy + h / 2, y0 + 2, height)
    out.loc[moved, ["x", "y", "w", "h"]] = np.column_stack([x0, y0, x1 - x0, y1 - y0])
    return out


def run(name: str, seeds: int, n_boot: int) -> pd.DataFrame:
    load = raccoon if name == "raccoon" else bccd
    train, train_boxes, sizes = load("train")
    test, test_boxes, _ = load("test")
    memory: dict[Any, np.ndarray] = {}  # HOG pyramids, shared by every fit of the run
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        order = list(rng.permutation(sorted(train)))
        noisy_boxes = noisy(train_boxes, sizes, rng)
        for n in SIZES[name]:
            chosen = {i: train[i] for i in order[:n]}
            for condition, boxes in (("clean", train_boxes), ("noisy", noisy_boxes)):
                start = time.perf_counter()
                detector = HogDetector(random_state=seed, memory=memory)
                found = detector.fit(chosen, boxes[boxes["image"].isin(chosen)]).predict(test)
                result = mean_average_precision(test_boxes, found, images=list(test),
                                                n_boot=n_boot, seed=0)
                rows.append({"data": name, "n": n, "seed": seed, "condition": condition,
                             "map": result["map"], "map50": result["map50"],
                             "map_low": result.intervals["map"][0],
                             "map_high": result.intervals["map"][1],
                             "map50_low": result.intervals["map50"][0],
                             "map50_high": result.intervals["map50"][1],
                             "seconds": time.perf_counter() - start})
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def summary(res: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per dataset, size and condition (intervals: mean of the seeds')."""
    return res.groupby(["data", "n", "condition"]).mean(numeric_only=True).reset_index()


def verdicts(res: pd.DataFrame) -> list[str]:
    """Per dataset: is clean above noisy at every size, by how much, how surely."""
    lines = []
    summ = summary(res).set_index(["data", "n", "condition"])
    for name, group in res.groupby("data"):
        wide = group.pivot_table(index=["n", "seed"], columns="condition", values="map")
        diff = (wide["clean"] - wide["noisy"]).groupby(level="n")
        above = bool((diff.mean() > 0).all())
        apart = [n for n in diff.groups
                 if summ.loc[(name, n, "clean"), "map_low"] > summ.loc[(name, n, "noisy"),
                                                                       "map_high"]]
        lines.append(
            f"- **{name}**: clean mAP above noisy at every size: **{'yes' if above else 'no'}**;"
            " clean - noisy mAP per size, mean over seeds [min, max]: "
            + ", ".join(f"n={n}: {d.mean():+.3f} [{d.min():+.3f}, {d.max():+.3f}]"
                        for n, d in diff)
            + f"; the two bootstrap intervals are apart at {len(apart)} of "
            f"{len(diff.groups)} sizes")
    return lines


def chart(summ: pd.DataFrame, name: str, metric: str) -> str:
    series = []
    for condition, color in (("clean", "#1f77b4"), ("noisy", "#d62728")):
        part = summ[(summ["data"] == name) & (summ["condition"] == condition)]
        series.append(LineSeries(x=part["n"].tolist(), y=part[metric].tolist(),
                                 low=part[f"{metric}_low"].tolist(),
                                 high=part[f"{metric}_high"].tolist(),
                                 label=f"{condition} boxes", color=color, markers=True))
    return line_chart(series, title=f"{name}: {metric} vs training images (HOG + SVM)",
                      x_label="training images", y_label=metric, log_x=True)


def markdown(res: pd.DataFrame, seconds: float, n_boot: int) -> str:
    summ = summary(res)
    header = ["data", "n", "condition", "mAP", "95% interval", "mAP50", "95% interval",
              "s per fit+predict"]
    rows = [[r.data, r.n, r.condition, f"{r.map:.3f}", f"{r.map_low:.3f}-{r.map_high:.3f}",
             f"{r.map50:.3f}", f"{r.map50_low:.3f}-{r.map50_high:.3f}", f"{r.seconds:.1f}"]
            for r in summ.itertuples()]
    for name in summ["data"].unique():
        (RESULTS / f"detection_curve_{name}.svg").write_text(chart(summ, name, "map50"))
    seeds = res["seed"].nunique()
    return "\n".join([
        f"HogDetector defaults (images shrunk to 240 px, one linear SVM per class, one "
        f"round of hard negatives, box regression), {seeds} seeds (image subset, noise, "
        f"detector), test split scored by `mean_average_precision` (COCO); intervals: "
        f"{n_boot} bootstrap resamples of the test images, averaged over seeds. Noise "
        "(training boxes only): 10% dropped, 30% of the rest shifted by N(0, 0.15) box "
        "sizes and scaled by exp(N(0, 0.2)) per side.", "",
        markdown_table(header, rows), "", "Verdict (mean over seeds):", *verdicts(res), "",
        "Charts (mAP50, bands = bootstrap intervals): "
        + ", ".join(f"`benchmarks/results/detection_curve_{n}.svg`"
                    for n in summ["data"].unique()),
        "", f"Whole run: {seconds:.0f} s."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--data", nargs="+", default=["raccoon", "bccd"])
    args = parser.parse_args()
    start = time.perf_counter()
    res = pd.concat([run(name, args.seeds, args.n_boot) for name in args.data])
    body = markdown(res, time.perf_counter() - start, args.n_boot)
    write_results("detection_curve", "Slide 19 in mAP: learning curve, clean vs noisy boxes",
                  body)


if __name__ == "__main__":
    main()
