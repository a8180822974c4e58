"""Agreement of labelers' boxes (object detection): do they box the same objects alike?

:func:`box_agreement` compares every pair of labelers on the images both looked at:
boxes are paired one to one per image and class so that the total IoU is largest
(Hungarian matching, :func:`assay._boxes.match_boxes`); a pair at IoU >= 0.5 (0.75) is
a hit for box F1 at 0.5 (0.75), ``F1 = 2 hits / (boxes of a + boxes of b)``, pooled
over the labeler pairs. It then says *what kind* of disagreement remains (missing and
extra boxes, loose vs tight boxes, merged vs split groups, class confusion; see
:mod:`assay.collect._box_kinds`), with the label-book convention each kind calls for.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import Interval, Real, validate_params
from assay.collect._box_kinds import disagreement_events, kinds_table, size_table
from assay.collect._box_pairs import BoxSet, PairComparison, compare_pair, prepare
from assay.collect._kind_render import fmt, frame_records, html_page, text_table
from assay.exceptions import InputError

__all__ = ["BoxAgreementReport", "box_agreement"]


@dataclass
class BoxAgreementReport:
    """Agreement of labelers' boxes (see :func:`box_agreement`).

    Attributes
    ----------
    n_images, n_boxes, n_annotators : int
    annotators, labels : list of str
    overall : dict
        ``f1_50``, ``f1_75``, ``mean_iou`` (of pairs at IoU >= ``match_iou``),
        ``unmatched_share`` (boxes of a pair comparison without a partner),
        ``n_comparisons`` (boxes summed over labeler pairs), ``n_pairs``.
    per_class : DataFrame indexed by class
        ``n_boxes`` (all labelers), ``f1_50``, ``f1_75``, ``mean_iou``, ``n_unmatched``
        (boxes only one labeler of a pair drew, summed over pairs), ``unmatched_share``.
    pairs : DataFrame, one row per labeler pair
        ``annotator_a``, ``annotator_b``, ``n_images`` (both saw), ``n_boxes_a``,
        ``n_boxes_b``, ``f1_50``, ``f1_75``, ``mean_iou``, ``area_ratio`` (median area of
        a's matched boxes over b's).
    images : DataFrame, one row per image, most disagreement first
        ``image``, ``n_boxes``, ``n_annotators`` (who drew there), ``f1_50``,
        ``mean_iou``, ``n_disagreements``, ``main_kind``.
    disagreements : DataFrame indexed by kind
        ``count``, ``share``, ``low``, ``high`` (Wilson 95%), ``flagged``, ``who``,
        ``convention`` (see :mod:`assay.collect._box_kinds`).
    sizes : DataFrame, one row per labeler pair
        ``annotator_a``, ``annotator_b``, ``n_matched``, ``area_ratio``, ``low``,
        ``high`` (95% interval of the median), ``flagged``.
    events : DataFrame, one row per disagreement
        ``kind``, ``image``, ``annotator`` (who left out, added, merged or confused),
        ``other``, ``label``, ``other_label``, ``row`` (position in ``boxes``).
    boxes : DataFrame
        The checked input boxes (RangeIndex: ``row`` above).
    match_iou : float
    """

    n_images: int
    n_boxes: int
    n_annotators: int
    annotators: list[str]
    labels: list[str]
    overall: dict[str, float]
    per_class: pd.DataFrame
    pairs: pd.DataFrame
    images: pd.DataFrame
    disagreements: pd.DataFrame
    sizes: pd.DataFrame
    events: pd.DataFrame
    boxes: pd.DataFrame = field(repr=False)
    match_iou: float = 0.5

    @property
    def conventions(self) -> list[str]:
        """The label-book sentences of the flagged disagreement kinds, commonest first."""
        flagged = self.disagreements[self.disagreements["flagged"]]
        return flagged.sort_values("share", ascending=False)["convention"].tolist()

    def image_boxes(self, image: Any) -> pd.DataFrame:
        """Every labeler's boxes on one image, with the disagreements each is part of."""
        rows = self.boxes[self.boxes["image"] == image]
        kinds = self.events.groupby("row")["kind"].agg(lambda k: ",".join(sorted(set(k))))
        return rows.assign(disagreement=kinds.reindex(rows.index).fillna("").to_numpy())

    def summary(self) -> str:
        """Plain text, lines of at most 80 columns."""
        o = self.overall
        lines = [
            f"{self.n_boxes} boxes on {self.n_images} images by {self.n_annotators} "
            f"labelers, {len(self.labels)} classes",
            f"  box F1 at IoU 0.5: {fmt(o['f1_50'])}; at 0.75: {fmt(o['f1_75'])}; "
            f"mean IoU of matched boxes: {fmt(o['mean_iou'])}",
            "per class (worst first):",
        ]
        lines += text_table(self.per_class.sort_values("f1_50"), {
            "index": "class", "n_boxes": "boxes", "f1_50": "F1@.5", "f1_75": "F1@.75",
            "mean_iou": "IoU", "unmatched_share": "unmatched"})
        if len(self.pairs):
            lines.append("labeler pairs (worst first):")
            pairs = self.pairs.assign(pair=self.pairs["annotator_a"].astype(str) + " ~ "
                                      + self.pairs["annotator_b"].astype(str))
            lines += text_table(pairs.sort_values("f1_50").set_index("pair"), {
                "index": "pair", "f1_50": "F1@.5", "f1_75": "F1@.75", "mean_iou": "IoU",
                "area_ratio": "area a/b"})
        lines.append("kinds of disagreement:")
        for kind, row in self.disagreements.iterrows():
            mark = "*" if row["flagged"] else " "
            lines.append(f" {mark}{kind}: {row['count']} ({fmt(row['share'])})"
                         + (f"; {row['who']}" if row["who"] else ""))
        lines.append("label-book conventions to add (flagged *):")
        lines += [f"  - {c}" for c in self.conventions] or ["  (none)"]
        return "\n".join(part for line in lines for part in _wrap(line))

    def to_html(self) -> str:
        """A self-contained HTML fragment: the summary and the tables."""
        return html_page("Agreement (boxes)", self.summary(), {
            "Per class": self.per_class, "Kinds of disagreement": self.disagreements,
            "Labeler pairs": self.pairs, "Box sizes": self.sizes,
            "Images with the most disagreement": self.images.head(50)})

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_dict(self, max_images: int = 100) -> dict[str, Any]:
        """Statistics and tables, JSON-serialisable (NaN -> None)."""
        return {
            "kind": "detection", "n_images": self.n_images, "n_boxes": self.n_boxes,
            "n_annotators": self.n_annotators, "annotators": list(self.annotators),
            "labels": list(self.labels), "match_iou": self.match_iou,
            "overall": {k: (None if v != v else v) for k, v in self.overall.items()},
            "per_class": frame_records(self.per_class.rename_axis("label")),
            "pairs": frame_records(self.pairs.set_index("annotator_a")),
            "sizes": frame_records(self.sizes.set_index("annotator_a")),
            "disagreements": frame_records(self.disagreements),
            "images": frame_records(self.images.head(max_images).set_index("image")),
        }


@dataclass
class _Counts:
    """Sums over labeler pairs, by class (or image): boxes, hits, IoU, unmatched."""

    boxes: np.ndarray
    hit50: np.ndarray
    hit75: np.ndarray
    hits: np.ndarray
    iou: np.ndarray
    unmatched: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> _Counts:
        return cls(*(np.zeros(n) for _ in range(6)))

    def add(self, key: np.ndarray, p: PairComparison, match_iou: float) -> None:
        n = self.boxes.size
        rows = np.concatenate([p.rows_a, p.rows_b])
        matched = key[p.match_a]
        self.boxes += np.bincount(key[rows], minlength=n)
        self.hit50 += np.bincount(matched, p.iou >= 0.5, minlength=n)
        self.hit75 += np.bincount(matched, p.iou >= 0.75, minlength=n)
        ok = p.iou >= match_iou
        self.hits += np.bincount(matched, ok, minlength=n)
        self.iou += np.bincount(matched, np.where(ok, p.iou, 0.0), minlength=n)
        self.unmatched += np.bincount(key[rows], minlength=n) - 2 * np.bincount(
            matched, ok, minlength=n)

    def table(self) -> pd.DataFrame:
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.DataFrame({
                "f1_50": 2 * self.hit50 / self.boxes, "f1_75": 2 * self.hit75 / self.boxes,
                "mean_iou": self.iou / self.hits,
                "n_unmatched": self.unmatched.astype(np.int64),
                "unmatched_share": self.unmatched / self.boxes,
            })


def _pairs_table(bs: BoxSet, comparisons: list[PairComparison], match_iou: float,
                 sizes: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for p in comparisons:
        c = _Counts.zeros(1)
        c.add(np.zeros(len(bs.frame), dtype=np.int64), p, match_iou)
        t = c.table().iloc[0]
        rows.append({"annotator_a": bs.annotators[p.a], "annotator_b": bs.annotators[p.b],
                     "n_images": int(p.shared.sum()), "n_boxes_a": int(p.rows_a.size),
                     "n_boxes_b": int(p.rows_b.size), "f1_50": t["f1_50"],
                     "f1_75": t["f1_75"], "mean_iou": t["mean_iou"]})
    out = pd.DataFrame(rows)
    out["area_ratio"] = sizes["area_ratio"].to_numpy() if len(sizes) else np.nan
    return out


def _images_table(bs: BoxSet, comparisons: list[PairComparison], match_iou: float,
                  events: pd.DataFrame) -> pd.DataFrame:
    counts = _Counts.zeros(len(bs.images))
    for p in comparisons:
        counts.add(bs.image, p, match_iou)
    table = counts.table()[["f1_50", "mean_iou"]]
    image_of = bs.image[events["row"].to_numpy()]
    kind, kinds = pd.factorize(events["kind"])
    by_kind = np.zeros((len(bs.images), max(len(kinds), 1)), dtype=np.int64)
    np.add.at(by_kind, (image_of, kind), 1)
    drew = pd.DataFrame({"i": bs.image, "a": bs.annotator}).drop_duplicates()
    table.insert(0, "image", bs.images)
    table.insert(1, "n_boxes", np.bincount(bs.image, minlength=len(bs.images)))
    table.insert(2, "n_annotators", np.bincount(drew["i"], minlength=len(bs.images)))
    table["n_disagreements"] = by_kind.sum(axis=1)
    main = np.asarray(kinds, dtype=object)[by_kind.argmax(axis=1)] if len(kinds) else ""
    table["main_kind"] = np.where(by_kind.sum(axis=1) > 0, main, "")
    return table.sort_values(["f1_50", "n_disagreements"], ascending=[True, False],
                             kind="stable", na_position="last").reset_index(drop=True)


def _matched_by(bs: BoxSet, comparisons: list[PairComparison]) -> np.ndarray:
    """(n_boxes, n_annotators) bool: the box has a partner at match_iou from that labeler."""
    out = np.zeros((len(bs.frame), len(bs.annotators)), dtype=bool)
    for p in comparisons:
        out[p.hit_a, p.b] = True
        out[p.hit_b, p.a] = True
    return out


def _wrap(line: str, width: int = 80) -> list[str]:
    """A summary line in lines of at most ``width`` columns, continued under its text."""
    if len(line) <= width:
        return [line]
    lead = " " * (len(line) - len(line.lstrip()) + 4)
    return textwrap.wrap(line, width, subsequent_indent=lead, break_on_hyphens=False)


@validate_params({
    "match_iou": [Interval(Real, 0, 1, closed="right")],
    "cover": [Interval(Real, 0, 1, closed="right")],
    "size_tolerance": [Interval(Real, 0, None)],
    "min_share": [Interval(Real, 0, 1)],
})
def box_agreement(
    boxes: pd.DataFrame,
    *,
    assignments: pd.DataFrame | None = None,
    match_iou: float = 0.5,
    cover: float = 0.7,
    size_tolerance: float = 0.05,
    min_share: float = 0.02,
) -> BoxAgreementReport:
    """Measure how consistently labelers box the same objects.

    Parameters
    ----------
    boxes : DataFrame, shape (n_boxes, >= 7)
        One row per box: ``image``, ``label`` (class), ``x``, ``y``, ``w``, ``h``
        (pixels, top-left origin) and ``annotator``.
    assignments : DataFrame, optional
        ``image``, ``annotator``: which images each labeler looked at (an image a
        labeler saw and left empty has a row here and no boxes). Default: every labeler
        saw every image in ``boxes``.
    match_iou : float, default 0.5
        IoU at which two boxes of a pair count as the same object (mean IoU, unmatched
        boxes, the kinds of disagreement).
    cover : float, default 0.7
        Merged groups: each smaller box lies at least this much inside the group box
        (intersection over the smaller box's area).
    size_tolerance : float, default 0.05
        Loose vs tight is flagged when a labeler pair's median area ratio differs from 1
        by at least this (and its 95% interval excludes 1).
    min_share : float, default 0.02
        A counted kind is flagged when its share of the compared boxes reaches this.

    Returns
    -------
    BoxAgreementReport
        ``per_class``, ``overall``, ``pairs``, ``images``, ``disagreements``, ...

    Raises
    ------
    InputError
        A missing column (``annotator`` included), a box of zero or negative size, a
        non-finite coordinate, fewer than two labelers, or no image that two labelers
        looked at.
    """
    bs = prepare(boxes, assignments)
    comparisons = [compare_pair(bs, a, b, match_iou=match_iou, cover=cover)
                   for a, b in combinations(range(len(bs.annotators)), 2)]
    if not any(p.shared.any() for p in comparisons):
        raise InputError(
            "no image was looked at by two labelers (see assignments), so box agreement "
            "is undefined; have a second labeler box a sample of the images")
    events = disagreement_events(bs, comparisons, _matched_by(bs, comparisons))
    sizes, systematic = size_table(bs, comparisons, match_iou, size_tolerance)
    per_class = _Counts.zeros(len(bs.labels))
    for p in comparisons:
        per_class.add(bs.label, p, match_iou)
    overall = _Counts(*(np.atleast_1d(x.sum()) for x in vars(per_class).values()))
    n_compared = int(per_class.boxes.sum())
    n_matched = int(per_class.hits.sum())
    table = per_class.table().set_index(bs.labels.rename("label"))
    table.insert(0, "n_boxes", np.bincount(bs.label, minlength=len(bs.labels)))
    o = overall.table().iloc[0]
    return BoxAgreementReport(
        n_images=len(bs.images), n_boxes=len(bs.frame), n_annotators=len(bs.annotators),
        annotators=[str(a) for a in bs.annotators], labels=[str(c) for c in bs.labels],
        overall={"f1_50": float(o["f1_50"]), "f1_75": float(o["f1_75"]),
                 "mean_iou": float(o["mean_iou"]),
                 "unmatched_share": float(o["unmatched_share"]),
                 "n_comparisons": float(n_compared), "n_pairs": float(len(comparisons))},
        per_class=table, pairs=_pairs_table(bs, comparisons, match_iou, sizes),
        images=_images_table(bs, comparisons, match_iou, events),
        disagreements=kinds_table(events, sizes, systematic, n_compared, n_matched,
                                  min_share),
        sizes=sizes, events=events, boxes=bs.frame, match_iou=match_iou,
    )
