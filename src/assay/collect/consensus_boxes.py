"""Consensus of labelers' boxes (object detection): weighted box fusion across labelers.

:func:`box_consensus` fuses the labelers' boxes of each image and class into one box
per object, as weighted box fusion (Solovyev et al., 2021) does for a model ensemble,
with one change for labelers: a cluster holds **at most one box per labeler** (a
labeler boxes an object once, so two of their boxes are two objects). Labelers are
taken in turn (most boxes first); each one's boxes are paired one to one with the
current fused boxes of the same image and class (Hungarian on IoU,
:func:`assay._boxes.match_boxes`, pairs at IoU >= ``iou_threshold``); a paired box
joins that cluster, whose fused box becomes the weighted mean of its members' corners;
an unpaired box starts a new cluster.

A fused box is kept when its **support** (the weight of the labelers who drew it over
the weight of those who saw the image) reaches ``min_support``. Its quality:
``support``, ``mean_iou`` (mean IoU of the members with the fused box) and
``quality = support * mean_iou``. Each labeler's quality is their box precision,
recall and F1 at IoU 0.5 against the kept consensus (their own boxes took part in it),
and the mean IoU of their matched boxes.

``ensemble-boxes`` (MIT) is not used at run time: it fuses model predictions by score
(no labeler scores here), lets one model's boxes join the same cluster, runs a Python
loop per box, and imports numba; ``benchmarks/box_agreement.py`` measures it on the
same boxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._boxes import iou_rows, match_boxes
from assay._validation import Interval, Real, validate_params
from assay.collect._box_pairs import BoxSet, prepare
from assay.collect._kind_render import frame_records, text_table
from assay.exceptions import InputError

__all__ = ["BoxConsensusResult", "box_consensus"]


@dataclass
class BoxConsensusResult:
    """Consensus boxes (see :func:`box_consensus`).

    Attributes
    ----------
    boxes : DataFrame, one row per kept fused box
        ``image``, ``label``, ``x``, ``y``, ``w``, ``h``, ``n_annotators`` (who drew
        it), ``support``, ``mean_iou``, ``quality``, ``cluster``.
    clusters : DataFrame, one row per cluster (kept or not)
        The columns of ``boxes`` (``cluster`` as the index) and ``kept``.
    members : Series, indexed like the checked input boxes
        The cluster of every input box.
    annotators : DataFrame indexed by annotator
        ``n_images``, ``n_boxes``, ``precision``, ``recall``, ``f1``, ``mean_iou``,
        ``weight``.
    iou_threshold, min_support : float
    """

    boxes: pd.DataFrame
    clusters: pd.DataFrame
    members: pd.Series
    annotators: pd.DataFrame
    iou_threshold: float = 0.55
    min_support: float = 0.5

    def summary(self) -> str:
        """A few lines of plain text: boxes kept, their quality, the labelers."""
        kept = self.boxes
        lines = [
            f"{len(kept)} consensus boxes from {len(self.members)} boxes by "
            f"{len(self.annotators)} labelers",
            f"  ({len(self.clusters) - len(kept)} candidates below support "
            f"{self.min_support:g} left out)",
            f"  mean support {kept['support'].mean():.3f}; mean IoU of the members with "
            f"the fused box {kept['mean_iou'].mean():.3f}",
            "labelers against the consensus (IoU 0.5):",
        ]
        lines += text_table(self.annotators.sort_values("f1"), {
            "index": "labeler", "n_boxes": "boxes", "precision": "prec",
            "recall": "recall", "f1": "F1", "mean_iou": "IoU"})
        return "\n".join(line[:80] for line in lines)

    def to_dict(self, max_boxes: int = 1000) -> dict[str, Any]:
        """JSON-able form: the labelers and the first ``max_boxes`` boxes."""
        return {
            "kind": "detection", "n_boxes": len(self.boxes),
            "n_candidates": len(self.clusters), "iou_threshold": self.iou_threshold,
            "min_support": self.min_support,
            "annotators": frame_records(self.annotators.rename_axis("annotator")),
            "boxes": frame_records(self.boxes.head(max_boxes).set_index("cluster")),
        }


@dataclass
class _Clusters:
    """Running clusters: weighted corner sums, weights, image and class, members."""

    corners: np.ndarray  # (k, 4) weighted sums of x1, y1, x2, y2
    weight: np.ndarray  # (k,)
    image: np.ndarray
    label: np.ndarray

    def frame(self) -> pd.DataFrame:
        c = self.corners / self.weight[:, None]
        return pd.DataFrame({"image": self.image, "label": self.label, "x": c[:, 0],
                             "y": c[:, 1], "w": c[:, 2] - c[:, 0], "h": c[:, 3] - c[:, 1]})


def _corners(geometry: np.ndarray) -> np.ndarray:
    return np.column_stack([geometry[:, 0], geometry[:, 1], geometry[:, 0] + geometry[:, 2],
                            geometry[:, 1] + geometry[:, 3]])


def _fuse(bs: BoxSet, weights: np.ndarray, iou_threshold: float) -> np.ndarray:
    """The cluster of every box (labelers in turn, most boxes first)."""
    member = np.full(len(bs.frame), -1, dtype=np.int64)
    corners = _corners(bs.geometry)
    cl = _Clusters(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    for a in np.argsort(-np.bincount(bs.annotator), kind="stable"):
        rows = np.flatnonzero(bs.annotator == a)
        own = pd.DataFrame({"image": bs.image[rows], "label": bs.label[rows],
                            "x": bs.geometry[rows, 0], "y": bs.geometry[rows, 1],
                            "w": bs.geometry[rows, 2], "h": bs.geometry[rows, 3]})
        m = match_boxes(own, cl.frame(), min_iou=iou_threshold)
        both = (m.left >= 0) & (m.right >= 0)
        joined, target = rows[m.left[both]], m.right[both]
        np.add.at(cl.corners, target, weights[a] * corners[joined])
        np.add.at(cl.weight, target, weights[a])
        member[joined] = target
        new = rows[m.left[m.right < 0]]
        member[new] = len(cl.weight) + np.arange(new.size)
        cl = _Clusters(np.vstack([cl.corners, weights[a] * corners[new]]),
                       np.r_[cl.weight, np.full(new.size, weights[a])],
                       np.r_[cl.image, bs.image[new]], np.r_[cl.label, bs.label[new]])
    return member


def _cluster_table(bs: BoxSet, member: np.ndarray, weights: np.ndarray,
                   min_support: float) -> pd.DataFrame:
    k = int(member.max()) + 1
    w = weights[bs.annotator]
    total = np.bincount(member, w, minlength=k)
    fused = np.column_stack([np.bincount(member, w * c, minlength=k)
                             for c in _corners(bs.geometry).T]) / total[:, None]
    image = np.zeros(k, dtype=np.int64)
    image[member] = bs.image
    label = np.zeros(k, dtype=np.int64)
    label[member] = bs.label
    saw = (bs.saw[image] * weights[None, :]).sum(axis=1)
    g = np.column_stack([fused[:, :2], fused[:, 2:] - fused[:, :2]])
    member_iou = iou_rows(bs.geometry, g[member])
    table = pd.DataFrame({
        "image": bs.images[image], "label": bs.labels[label],
        "x": g[:, 0], "y": g[:, 1], "w": g[:, 2], "h": g[:, 3],
        "n_annotators": np.bincount(member, minlength=k),
        "support": total / saw,
        "mean_iou": np.bincount(member, member_iou, minlength=k) / np.bincount(member,
                                                                             minlength=k),
    }, index=pd.RangeIndex(k, name="cluster"))
    table["quality"] = table["support"] * table["mean_iou"]
    table["kept"] = table["support"] >= min_support - 1e-12
    return table


def _labeler_quality(bs: BoxSet, kept: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """Each labeler's precision, recall, F1 (IoU 0.5) and mean IoU against the consensus."""
    rows = []
    image_code = bs.images.get_indexer(pd.Index(kept["image"]))
    for a, name in enumerate(bs.annotators):
        seen = bs.saw[:, a]
        mine = bs.frame.iloc[bs.rows_of(a)].reset_index(drop=True)
        ref = kept[seen[image_code]].reset_index(drop=True)
        m = match_boxes(mine, ref, min_iou=0.5)
        hits = int(((m.left >= 0) & (m.right >= 0)).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            rows.append({
                "annotator": name, "n_images": int(seen.sum()), "n_boxes": len(mine),
                "precision": hits / len(mine) if len(mine) else np.nan,
                "recall": hits / len(ref) if len(ref) else np.nan,
                "f1": 2 * hits / (len(mine) + len(ref)) if len(mine) + len(ref) else np.nan,
                "mean_iou": float(m.iou[m.iou > 0].mean()) if hits else np.nan,
                "weight": float(weights[a]),
            })
    return pd.DataFrame(rows).set_index("annotator")


def _weights(bs: BoxSet, weights: Mapping[Any, float] | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(bs.annotators))
    unknown = [k for k in weights if str(k) not in set(bs.annotators)]
    if unknown:
        raise InputError(f"weights names labeler(s) {unknown[:5]} that drew no box; use "
                         f"the annotator names {list(bs.annotators)[:10]}")
    by_name = {str(k): float(v) for k, v in weights.items()}
    out = np.array([by_name.get(str(a), 1.0) for a in bs.annotators])
    if not (np.isfinite(out).all() and (out > 0).all()):
        raise InputError("weights must be finite positive numbers, one per labeler; "
                         f"got {by_name}")
    return out


@validate_params({
    "iou_threshold": [Interval(Real, 0, 1, closed="right")],
    "min_support": [Interval(Real, 0, 1)],
})
def box_consensus(
    boxes: pd.DataFrame,
    *,
    assignments: pd.DataFrame | None = None,
    iou_threshold: float = 0.55,
    min_support: float = 0.5,
    weights: Mapping[Any, float] | None = None,
) -> BoxConsensusResult:
    """Fuse several labelers' boxes into one consensus box per object.

    Parameters
    ----------
    boxes : DataFrame, shape (n_boxes, >= 7)
        ``image``, ``label``, ``x``, ``y``, ``w``, ``h`` (pixels) and ``annotator``.
    assignments : DataFrame, optional
        ``image``, ``annotator``: which images each labeler looked at (support counts
        only those labelers). Default: every labeler saw every image.
    iou_threshold : float, default 0.55
        A labeler's box joins a cluster when its IoU with the fused box reaches this
        (0.55 is weighted box fusion's default).
    min_support : float, default 0.5
        Keep a fused box when the (weighted) share of the labelers who saw the image
        and drew it reaches this: 0.5 keeps what half of them drew.
    weights : mapping of annotator to float, optional
        Each labeler's weight in the fused corners and in the support (default 1);
        for instance their F1 from a first consensus.

    Returns
    -------
    BoxConsensusResult
        ``boxes`` (kept fused boxes with their quality), ``clusters``, ``members``,
        ``annotators``.

    Raises
    ------
    InputError
        A missing column, a bad box, fewer than two labelers, or bad weights.
    """
    bs = prepare(boxes, assignments)
    w = _weights(bs, weights)
    member = _fuse(bs, w, iou_threshold)
    clusters = _cluster_table(bs, member, w, min_support)
    kept = clusters[clusters["kept"]].drop(columns="kept").reset_index()
    kept = kept[[c for c in kept.columns if c != "cluster"] + ["cluster"]]
    return BoxConsensusResult(
        boxes=kept, clusters=clusters, members=pd.Series(member, name="cluster"),
        annotators=_labeler_quality(bs, kept, w), iou_threshold=iou_threshold,
        min_support=min_support,
    )
