"""What kind of disagreement two labelers' boxes show, and the label-book rule for it.

Used by :func:`assay.collect.agreement_boxes.box_agreement` after every labeler pair has
been compared (:func:`assay.collect._box_pairs.compare_pair`):

* **missing / extra**: a box one labeler of a pair drew and the other did not. Counted
  as *missing* (by the one who did not draw it) when at least half of the labelers who
  saw the image drew it, else as *extra* (by the one who did). With two labelers every
  such box is a miss of the other.
* **loose vs tight**: the median log area ratio of matched boxes per labeler pair, with
  a distribution-free interval of the median (order statistics); flagged when the
  interval excludes 0 and the ratio differs from 1 by at least ``size_tolerance``.
* **merged vs split**: a box drawn around two or more of the other labeler's boxes
  (each lying mostly inside it: intersection over the *smaller* box), where the match
  is missing.
* **class confusion**: unmatched boxes that match across classes (IoU >= match_iou).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from assay._stats import wilson_interval
from assay.collect._box_pairs import BoxSet, PairComparison

__all__ = ["KINDS", "CONVENTIONS", "disagreement_events", "kinds_table", "size_table"]

KINDS = ("missing", "extra", "loose_tight", "merged_split", "class_confusion")

CONVENTIONS = {
    "missing": "Box every object of the listed classes, including small, distant and "
               "partly hidden ones; state the smallest object that still gets a box.",
    "extra": "Box only objects of the listed classes; state what does not count "
             "(reflections, pictures of the object, background clutter).",
    "loose_tight": "Draw boxes tight to the object's edges with no margin; box the whole "
                   "object including occluded parts.",
    "merged_split": "One box per object, not per group: box touching or overlapping "
                    "objects separately.",
    "class_confusion": "Write down how to tell {a} from {b}, with example images of each.",
}


def disagreement_events(bs: BoxSet, comparisons: list[PairComparison],
                        matched_by: np.ndarray) -> pd.DataFrame:
    """One row per disagreement: ``kind``, ``image``, ``annotator`` (who did it),
    ``other``, ``label``, ``other_label``, ``row`` (the box in the checked frame),
    ``n_boxes`` (boxes involved: 1, 2 for a confusion, 1 + covered for a group)."""
    parts = []
    for p in comparisons:
        for lone, drew, other in ((p.lone_a, p.a, p.b), (p.lone_b, p.b, p.a)):
            voters = bs.saw[bs.image[lone]].sum(axis=1)
            others = matched_by[lone].sum(axis=1) - matched_by[lone, other]
            # matched_by never marks a box's own labeler, so 1 + others drew it
            missed = (1 + others) * 2 >= voters
            parts.append(_events(bs, "missing", lone[missed], other, drew))
            parts.append(_events(bs, "extra", lone[~missed], drew, other))
        parts.append(_events(bs, "merged_split", p.merged_by_a, p.a, p.b,
                             n_boxes=1 + p.group_size_a))
        parts.append(_events(bs, "merged_split", p.merged_by_b, p.b, p.a,
                             n_boxes=1 + p.group_size_b))
        parts.append(_events(bs, "class_confusion", p.confused_a, p.a, p.b,
                             other_rows=p.confused_b, n_boxes=2))
    return pd.concat(parts, ignore_index=True)


def _events(bs: BoxSet, kind: str, rows: np.ndarray, who: int, other: int,
            other_rows: np.ndarray | None = None, n_boxes: int | np.ndarray = 1
            ) -> pd.DataFrame:
    return pd.DataFrame({
        "kind": kind,
        "image": bs.images[bs.image[rows]],
        "annotator": np.repeat(bs.annotators[who], rows.size),
        "other": np.repeat(bs.annotators[other], rows.size),
        "label": bs.labels[bs.label[rows]],
        "other_label": (bs.labels[bs.label[other_rows]] if other_rows is not None
                        else pd.Index([None] * rows.size, dtype=object)),
        "row": rows.astype(np.int64),
        "n_boxes": np.broadcast_to(n_boxes, rows.shape).astype(np.int64),
    })


def median_interval(values: np.ndarray, confidence: float = 0.95
                    ) -> tuple[float, float, float]:
    """Median and its distribution-free interval (binomial order statistics)."""
    n = values.size
    if n == 0:
        return np.nan, np.nan, np.nan
    z = float(special.ndtri(0.5 + 0.5 * confidence))
    lo = int(max(0, np.floor(n / 2 - z * np.sqrt(n) / 2)))
    hi = int(min(n - 1, np.ceil(n / 2 + z * np.sqrt(n) / 2)))
    part = np.partition(values, sorted({lo, hi}))
    return float(np.median(values)), float(part[lo]), float(part[hi])


def size_table(bs: BoxSet, comparisons: list[PairComparison], match_iou: float,
               size_tolerance: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Per labeler pair: matched boxes' median area ratio (a / b) with its interval.

    Returns the table and, per comparison, how many matched pairs differ in the
    flagged direction by more than ``size_tolerance`` (0 for unflagged pairs).
    """
    rows, systematic = [], []
    area, cut = bs.area, np.log1p(size_tolerance)
    for p in comparisons:
        ok = p.iou >= match_iou
        log_ratio = np.log(area[p.match_a[ok]] / area[p.match_b[ok]])
        med, lo, hi = median_interval(log_ratio)
        flagged = bool(log_ratio.size and abs(med) >= cut and (lo > 0 or hi < 0))
        beyond = np.sign(med) * log_ratio > cut if flagged else np.zeros(0, dtype=bool)
        systematic.append(int(beyond.sum()))
        rows.append({"annotator_a": bs.annotators[p.a], "annotator_b": bs.annotators[p.b],
                     "n_matched": int(log_ratio.size), "area_ratio": np.exp(med),
                     "low": np.exp(lo), "high": np.exp(hi), "flagged": flagged})
    return pd.DataFrame(rows), np.asarray(systematic, dtype=np.int64)


def _who(kind: str, events: pd.DataFrame, sizes: pd.DataFrame) -> str:
    if kind == "loose_tight":
        flagged = sizes[sizes["flagged"]]
        if flagged.empty:
            return ""
        top = flagged.loc[(np.log(flagged["area_ratio"])).abs().idxmax()]
        big, small = ((top["annotator_a"], top["annotator_b"]) if top["area_ratio"] > 1
                      else (top["annotator_b"], top["annotator_a"]))
        ratio = max(top["area_ratio"], 1 / top["area_ratio"])
        return (f"{big} draws boxes {100 * (ratio - 1):.0f}% larger in area than {small} "
                f"(median area ratio {top['area_ratio']:.3f} "
                f"[{top['low']:.3f}, {top['high']:.3f}], a/b)")
    mine = events[events["kind"] == kind]
    if mine.empty:
        return ""
    if kind == "class_confusion":
        pair = (mine["label"] + " / " + mine["other_label"].astype(str)).value_counts()
        return f"{pair.index[0]} ({int(pair.iloc[0])} times)"
    counts = mine["annotator"].value_counts()
    verb = {"missing": "left out", "extra": "added", "merged_split": "merged"}[kind]
    noun = "groups others boxed one by one" if kind == "merged_split" else (
        "boxes others drew" if kind == "missing" else "boxes no other labeler drew")
    return f"{counts.index[0]} {verb} {int(counts.iloc[0])} {noun}"


def kinds_table(events: pd.DataFrame, sizes: pd.DataFrame, systematic: np.ndarray,
                n_compared: int, n_matched: int, min_share: float) -> pd.DataFrame:
    """The disagreement kinds: ``count`` (events), ``share`` (of the compared boxes that
    are involved; for loose vs tight, of the matched pairs), with a Wilson interval, ``flagged``,
    ``who`` (the labeler or class pair that does it most) and the ``convention``."""
    counts = events["kind"].value_counts()
    involved = events.groupby("kind")["n_boxes"].sum()
    rows = []
    for kind in KINDS:
        if kind == "loose_tight":
            count = share_of = int(systematic.sum())
            total = n_matched
            flagged = bool(len(sizes) and sizes["flagged"].any())
        else:
            count, total = int(counts.get(kind, 0)), n_compared
            share_of = int(involved.get(kind, 0))
            flagged = total > 0 and share_of / total >= min_share
        low, high = wilson_interval(share_of, total)
        rows.append({"kind": kind, "count": count,
                     "share": share_of / total if total else np.nan, "low": low,
                     "high": high, "flagged": flagged, "who": _who(kind, events, sizes),
                     "convention": _convention(kind, events)})
    return pd.DataFrame(rows).set_index("kind")


def _convention(kind: str, events: pd.DataFrame) -> str:
    if kind != "class_confusion":
        return CONVENTIONS[kind]
    mine = events[events["kind"] == kind]
    if mine.empty:
        return CONVENTIONS[kind].format(a="one class", b="the other")
    top = (mine["label"] + "\0" + mine["other_label"].astype(str)).value_counts().index[0]
    a, b = top.split("\0")
    return CONVENTIONS[kind].format(a=a, b=b)
