"""The data of ``assay demo --task detection``: real BCCD blood-cell boxes, planted box
errors, two simulated labelers with stated conventions, and COCO files.

BCCD (github.com/Shenggan/BCCD_Dataset, MIT) holds 364 microscope images (640 x 480)
with 4,888 boxes of three classes (RBC, WBC, Platelets). The demo copies the images it
uses into its workspace, so the workspace stands on its own.

Planted errors follow the issue's recipe on the training images' boxes (seeded): 10%
of the boxes are dropped (an overlooked cell), 10% shifted by 30-50% of their size
and rescaled by 0.7-1.4 (a badly located box), 5% get another class (swapped); all of
them in half of the images (a careless labeler's share), so that the audit's ranking of
images can be scored.

Labelers (there is no public set with two labelers' boxes): ``ana`` draws every box as
published with Gaussian jitter of each side (sd 2% of the box's size); ``ben`` draws
boxes 15% larger in area ("box the whole cell with a margin") and omits the smallest
10% of the boxes ("platelets too small to matter"), with the same jitter.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError

__all__ = [
    "GEOMETRY",
    "box_lists",
    "bccd_folder",
    "load_bccd",
    "plant_box_errors",
    "simulate_labelers",
    "simulated_detector",
    "split_images",
    "write_coco",
]

GEOMETRY = ["x", "y", "w", "h"]
#: BCCD images are all this size.
WIDTH, HEIGHT = 640, 480
#: Planted errors: shares of the training boxes dropped, moved, given another class,
#: all in this share of the images (the others are as published).
DROP, MOVE, SWAP = 0.10, 0.10, 0.05
ERROR_IMAGES = 0.5
#: Labeler ``ben``: area factor of his boxes, share of the smallest boxes he omits.
LOOSE_AREA, OMIT_SMALL, JITTER = 1.15, 0.10, 0.02


def bccd_folder() -> Path:
    """The BCCD folder: ``$ASSAY_DETECTION_DATA/bccd``, else ``shared/data/detection/bccd``
    beside the repository.

    Raises
    ------
    InputError
        The folder is not there.
    """
    env = os.environ.get("ASSAY_DETECTION_DATA")
    base = (
        Path(env) if env else Path(__file__).resolve().parents[4] / "shared" / "data" / "detection"
    )
    folder = base / "bccd"
    if not (folder / "BCCD" / "JPEGImages").is_dir():
        raise InputError(
            f"the detection demo reads the BCCD images in {folder}, which is not "
            "there; set ASSAY_DETECTION_DATA to the folder that holds bccd/."
        )
    return folder


def load_bccd(folder: Path) -> pd.DataFrame:
    """Every BCCD box as a boxes frame (``image`` is the file name), cut to the image;
    the zero-area boxes dropped."""
    table = pd.read_csv(folder / "test.csv")  # columns run xmin, xmax, ymin, ymax
    x0, x1 = table["xmin"].clip(0, WIDTH).astype(float), table["xmax"].clip(0, WIDTH).astype(float)
    y0, y1 = (
        table["ymin"].clip(0, HEIGHT).astype(float),
        table["ymax"].clip(0, HEIGHT).astype(float),
    )
    boxes = pd.DataFrame(
        {
            "image": table["filename"],
            "label": table["cell_type"],
            "x": x0,
            "y": y0,
            "w": x1 - x0,
            "h": y1 - y0,
        }
    )
    return boxes[(boxes["w"] > 0) & (boxes["h"] > 0)].reset_index(drop=True)


def split_images(folder: Path, n_train: int, n_test: int) -> tuple[list[str], list[str]]:
    """The first ``n_train`` images of BCCD's published train split and the first
    ``n_test`` of its test split (file names)."""
    sets = folder / "BCCD" / "ImageSets" / "Main"
    train = [f"{s.strip()}.jpg" for s in (sets / "train.txt").read_text().split() if s.strip()]
    test = [f"{s.strip()}.jpg" for s in (sets / "test.txt").read_text().split() if s.strip()]
    return sorted(train)[:n_train], sorted(test)[:n_test]


def copy_images(folder: Path, names: list[str], target: Path) -> None:
    """Copy BCCD images into ``target`` (the demo's own copy)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(folder / "BCCD" / "JPEGImages" / name, target / name)


def plant_box_errors(boxes: pd.DataFrame, *, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Drop, move and swap boxes (:data:`DROP`, :data:`MOVE`, :data:`SWAP`).

    Returns
    -------
    noisy : DataFrame
        The boxes as collected.
    planted : Series indexed by image
        How many errors each image got (0: none).
    """
    rng = np.random.default_rng(seed)
    boxes = boxes.reset_index(drop=True)
    images = np.asarray(pd.unique(boxes["image"]))
    chosen = set(rng.choice(images, int(round(ERROR_IMAGES * len(images))), replace=False))
    order = rng.permutation(np.flatnonzero(boxes["image"].isin(chosen).to_numpy()))
    n_drop, n_move, n_swap = (int(round(s * len(boxes))) for s in (DROP, MOVE, SWAP))
    drop, move = order[:n_drop], order[n_drop : n_drop + n_move]
    swap = order[n_drop + n_move : n_drop + n_move + n_swap]
    noisy = boxes.copy()
    w, h = noisy.loc[move, "w"].to_numpy(), noisy.loc[move, "h"].to_numpy()
    sign = rng.choice([-1.0, 1.0], (len(move), 2))
    noisy.loc[move, "x"] += sign[:, 0] * rng.uniform(0.3, 0.5, len(move)) * w
    noisy.loc[move, "y"] += sign[:, 1] * rng.uniform(0.3, 0.5, len(move)) * h
    scale = rng.uniform(0.7, 1.4, len(move))  # both sides: the aspect stays
    noisy.loc[move, "w"], noisy.loc[move, "h"] = w * scale, h * scale
    noisy = _inside(noisy)
    classes = sorted(boxes["label"].unique())
    swap = swap if len(classes) > 1 else swap[:0]  # one class: nothing to swap with
    noisy.loc[swap, "label"] = [
        rng.choice([c for c in classes if c != lab]) for lab in noisy.loc[swap, "label"]
    ]
    touched = boxes.loc[np.r_[drop, move, swap], "image"]
    planted = touched.value_counts().reindex(boxes["image"].unique(), fill_value=0)
    return noisy.drop(index=list(drop)).reset_index(drop=True), planted


def _inside(boxes: pd.DataFrame) -> pd.DataFrame:
    """Boxes cut to the image (each keeps at least one pixel)."""
    x0 = boxes["x"].clip(0, WIDTH - 1)
    y0 = boxes["y"].clip(0, HEIGHT - 1)
    x1 = (boxes["x"] + boxes["w"]).clip(x0 + 1, WIDTH)
    y1 = (boxes["y"] + boxes["h"]).clip(y0 + 1, HEIGHT)
    return boxes.assign(x=x0, y=y0, w=x1 - x0, h=y1 - y0)


def _jitter(boxes: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    w, h = boxes["w"].to_numpy(), boxes["h"].to_numpy()
    x0 = boxes["x"].to_numpy() + rng.normal(0, JITTER, len(boxes)) * w
    y0 = boxes["y"].to_numpy() + rng.normal(0, JITTER, len(boxes)) * h
    x1 = boxes["x"].to_numpy() + w + rng.normal(0, JITTER, len(boxes)) * w
    y1 = boxes["y"].to_numpy() + h + rng.normal(0, JITTER, len(boxes)) * h
    return _inside(boxes.assign(x=x0, y=y0, w=x1 - x0, h=y1 - y0))


def simulate_labelers(boxes: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """``ana``'s and ``ben``'s boxes on the images of ``boxes`` (see the module text),
    as long-format annotations: ``item``, ``annotator``, ``label`` (a list of boxes)."""
    rng = np.random.default_rng(seed)
    area = boxes["w"] * boxes["h"]
    s = np.sqrt(LOOSE_AREA)
    kept = boxes[area > area.quantile(OMIT_SMALL)]
    loose = kept.assign(
        x=kept["x"] - kept["w"] * (s - 1) / 2,
        y=kept["y"] - kept["h"] * (s - 1) / 2,
        w=kept["w"] * s,
        h=kept["h"] * s,
    )
    images = list(pd.unique(boxes["image"]))
    rows = []
    for name, drawn in (("ana", _jitter(boxes, rng)), ("ben", _jitter(loose, rng))):
        lists = box_lists(drawn, images)
        rows += [{"item": image, "annotator": name, "label": lists[image]} for image in images]
    return pd.DataFrame(rows)


def simulated_detector(
    boxes: pd.DataFrame, *, seed: int, missed: float = 0.05, false_per_image: int = 2
) -> pd.DataFrame:
    """A strong detector's boxes, simulated from the published ones: each box found
    with probability ``1 - missed``, each side jittered (sd 3% of its size), scored in
    (0.6, 1); plus ``false_per_image`` spurious boxes per image scored in (0.05, 0.4).

    Returns
    -------
    DataFrame
        ``image, label, x, y, w, h, score``.
    """
    rng = np.random.default_rng(seed)
    found = boxes[rng.random(len(boxes)) >= missed]
    w, h = found["w"].to_numpy(), found["h"].to_numpy()
    found = _inside(
        found.assign(
            x=found["x"] + rng.normal(0, 0.03, len(found)) * w,
            y=found["y"] + rng.normal(0, 0.03, len(found)) * h,
            w=w * np.exp(rng.normal(0, 0.03, len(found))),
            h=h * np.exp(rng.normal(0, 0.03, len(found))),
        )
    )
    found = found.assign(score=rng.uniform(0.6, 1.0, len(found)))
    images = np.repeat(np.asarray(pd.unique(boxes["image"])), false_per_image)
    side = rng.uniform(20, 80, (len(images), 2))
    spurious = _inside(
        pd.DataFrame(
            {
                "image": images,
                "label": rng.choice(sorted(boxes["label"].unique()), len(images)),
                "x": rng.uniform(0, WIDTH - 80, len(images)),
                "y": rng.uniform(0, HEIGHT - 80, len(images)),
                "w": side[:, 0],
                "h": side[:, 1],
                "score": rng.uniform(0.05, 0.4, len(images)),
            }
        )
    )
    return pd.concat([found, spurious], ignore_index=True)[["image", "label", *GEOMETRY, "score"]]


def box_lists(boxes: pd.DataFrame, images: list[Any]) -> dict[Any, list[dict[str, Any]]]:
    """Each image's boxes as a list of ``{"label", "x", "y", "w", "h"}`` (empty: none)."""
    out: dict[Any, list[dict[str, Any]]] = {image: [] for image in images}
    for row in boxes.to_dict("records"):
        if row["image"] in out:
            out[row["image"]].append(
                {"label": str(row["label"]), **{k: float(row[k]) for k in GEOMETRY}}
            )
    return out


def write_coco(path: Path, boxes: pd.DataFrame, images: list[str]) -> Path:
    """``boxes`` of ``images`` (all 640 x 480) as a COCO file."""
    classes = sorted(boxes["label"].unique())
    ids = {name: i + 1 for i, name in enumerate(images)}
    data = {
        "images": [
            {"id": ids[n], "file_name": n, "width": WIDTH, "height": HEIGHT} for n in images
        ],
        "categories": [{"id": i + 1, "name": c} for i, c in enumerate(classes)],
        "annotations": [
            {
                "id": k + 1,
                "image_id": ids[r["image"]],
                "category_id": classes.index(r["label"]) + 1,
                "bbox": [float(r[g]) for g in GEOMETRY],
                "area": float(r["w"] * r["h"]),
                "iscrowd": 0,
            }
            for k, r in enumerate(boxes[boxes["image"].isin(ids)].to_dict("records"))
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path
