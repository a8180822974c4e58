"""Real detection boxes and simulated labelers with stated conventions.

There is no public set with several labelers' boxes, so the box agreement and
consensus tests and ``benchmarks/box_agreement.py`` start from real boxes (BCCD blood
cells, raccoons, chess pieces in ``shared/data/detection``) and simulate labelers:

* ``truth``: the published boxes, each side moved by Gaussian jitter (sd 2% of the
  box's width or height);
* ``loose``: draws every box 15% larger in area (each side scaled by sqrt(1.15) about
  the centre) and omits small objects (the smallest ``omit_share`` of boxes by area),
  plus the same jitter;
* ``merger``: draws one box around each group of two horizontally adjacent boxes of
  the same class (disjoint pairs of nearest neighbours whose gap is under half a box
  width), plus the same jitter.

So the disagreements a report must name are exactly: missing boxes (``loose``), loose
vs tight boxes (``loose``), merged vs split (``merger``); no class confusion.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from assay._boxes import check_boxes, match_boxes

DETECTION = Path(__file__).resolve().parents[3] / "shared" / "data" / "detection"
LOOSE_AREA = 1.15
JITTER = 0.02


def load_bccd() -> pd.DataFrame:
    """BCCD's 4,888 boxes (3 classes) as a boxes frame; the two zero-area boxes dropped."""
    df = pd.read_csv(DETECTION / "bccd" / "test.csv")
    out = pd.DataFrame({
        "image": df["filename"], "label": df["cell_type"],
        "x": df["xmin"].astype(float), "y": df["ymin"].astype(float),
        "w": (df["xmax"] - df["xmin"]).astype(float),
        "h": (df["ymax"] - df["ymin"]).astype(float),
    })
    return out[(out["w"] > 0) & (out["h"] > 0)].reset_index(drop=True)


def load_raccoon() -> pd.DataFrame:
    """The raccoon set's 217 boxes (one class) as a boxes frame."""
    df = pd.read_csv(DETECTION / "raccoon" / "data" / "raccoon_labels.csv")
    return pd.DataFrame({
        "image": df["filename"], "label": df["class"],
        "x": df["xmin"].astype(float), "y": df["ymin"].astype(float),
        "w": (df["xmax"] - df["xmin"]).astype(float),
        "h": (df["ymax"] - df["ymin"]).astype(float),
    })


def load_chess(split: str = "valid") -> pd.DataFrame:
    """One split of the chess-pieces COCO export (12 classes) as a boxes frame."""
    coco = json.loads((DETECTION / "chess-pieces" / split / "_annotations.coco.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {i["id"]: i["file_name"] for i in coco["images"]}
    ann = coco["annotations"]
    bbox = np.array([a["bbox"] for a in ann], dtype=float)
    return pd.DataFrame({
        "image": [files[a["image_id"]] for a in ann],
        "label": [names[a["category_id"]] for a in ann],
        "x": bbox[:, 0], "y": bbox[:, 1], "w": bbox[:, 2], "h": bbox[:, 3],
    })


def _jitter(boxes: pd.DataFrame, rng: np.random.Generator, sd: float = JITTER) -> pd.DataFrame:
    out = boxes.copy()
    w, h = out["w"].to_numpy(), out["h"].to_numpy()
    x1 = out["x"].to_numpy() + rng.normal(0, sd, len(out)) * w
    y1 = out["y"].to_numpy() + rng.normal(0, sd, len(out)) * h
    x2 = out["x"].to_numpy() + w + rng.normal(0, sd, len(out)) * w
    y2 = out["y"].to_numpy() + h + rng.normal(0, sd, len(out)) * h
    out["x"], out["y"], out["w"], out["h"] = x1, y1, x2 - x1, y2 - y1
    return out


def _scaled(boxes: pd.DataFrame, area: float) -> pd.DataFrame:
    out = boxes.copy()
    s = np.sqrt(area)
    out["x"] = out["x"] - out["w"] * (s - 1) / 2
    out["y"] = out["y"] - out["h"] * (s - 1) / 2
    out["w"], out["h"] = out["w"] * s, out["h"] * s
    return out


def adjacent_pairs(boxes: pd.DataFrame) -> list[tuple[int, int]]:
    """Disjoint pairs of same-class boxes side by side (gap < half the narrower width,
    vertical overlap > half the lower height), nearest first."""
    pairs: list[tuple[int, int]] = []
    for _, group in boxes.groupby(["image", "label"], sort=False):
        idx = group.index.to_numpy()
        x, y, w, h = (group[c].to_numpy() for c in ("x", "y", "w", "h"))
        gap = x[None, :] - (x + w)[:, None]  # left edge of j minus right edge of i
        v = np.minimum(y + h, (y + h)[:, None]) - np.maximum(y, y[:, None])
        ok = (gap > -0.2 * w[:, None]) & (gap < 0.5 * np.minimum(w, w[:, None]))
        ok &= v > 0.5 * np.minimum(h, h[:, None])
        np.fill_diagonal(ok, False)
        used: set[int] = set()
        for i, j in sorted(zip(*np.nonzero(ok), strict=True), key=lambda p: abs(gap[p])):
            if i not in used and j not in used:
                used.update((int(i), int(j)))
                pairs.append((int(idx[i]), int(idx[j])))
    return pairs


def _merged(boxes: pd.DataFrame) -> pd.DataFrame:
    pairs = np.array(adjacent_pairs(boxes), dtype=np.int64).reshape(-1, 2)
    out = boxes.copy()
    x1, y1 = out["x"].to_numpy(), out["y"].to_numpy()
    x2, y2 = x1 + out["w"].to_numpy(), y1 + out["h"].to_numpy()
    i, j = pairs[:, 0], pairs[:, 1]
    nx1, ny1 = np.minimum(x1[i], x1[j]), np.minimum(y1[i], y1[j])
    nx2, ny2 = np.maximum(x2[i], x2[j]), np.maximum(y2[i], y2[j])
    rows = out.index[i]
    out.loc[rows, "x"], out.loc[rows, "y"] = nx1, ny1
    out.loc[rows, "w"], out.loc[rows, "h"] = nx2 - nx1, ny2 - ny1
    return out.drop(index=out.index[j])


def _copies(boxes: pd.DataFrame, copies: int) -> pd.DataFrame:
    if copies == 1:
        return boxes
    parts = [boxes.assign(image=boxes["image"].astype(str) + f"#{r}") for r in range(copies)]
    return pd.concat(parts, ignore_index=True)


def simulate_labelers(boxes: pd.DataFrame, seed: int = 0, omit_share: float = 0.1,
                      copies: int = 1) -> pd.DataFrame:
    """Three labelers' boxes (``truth``, ``loose``, ``merger``) from real boxes.

    ``copies > 1`` repeats the images under new names (``name#k``) before the jitter,
    to make a large set with the same conventions.
    """
    rng = np.random.default_rng(seed)
    boxes = boxes.reset_index(drop=True)
    area = boxes["w"] * boxes["h"]
    small = area <= area.quantile(omit_share)
    frames = {
        "truth": boxes,
        "loose": _scaled(boxes[~small], LOOSE_AREA),
        "merger": _merged(boxes),
    }
    return pd.concat([_jitter(_copies(f, copies), rng).assign(annotator=name)
                      for name, f in frames.items()], ignore_index=True)


def truth_copies(boxes: pd.DataFrame, copies: int) -> pd.DataFrame:
    """The real boxes under the image names :func:`simulate_labelers` gives them."""
    return _copies(boxes.reset_index(drop=True), copies)


def closeness(real: pd.DataFrame, boxes: pd.DataFrame) -> float:
    """Mean over the real boxes of the IoU with their partner in ``boxes`` (0 without)."""
    columns = ["image", "label", "x", "y", "w", "h"]
    m = match_boxes(check_boxes(real[columns]), check_boxes(boxes[columns]))
    mine = m.left >= 0
    return float(np.where(m.right[mine] >= 0, m.iou[mine], 0.0).sum() / len(real))
