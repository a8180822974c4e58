"""The box engines behind :class:`assay.tasks.detection.DetectionTask`.

The box engines take boxes frames (one row per box); the task speaks in items whose
label is a list of boxes. These adapters translate both ways: long-format annotations
(``item``, ``annotator``, ``label`` = list of boxes) into a labelers' boxes frame and the
images each labeler looked at; consensus boxes back into one list of boxes per item;
box label issues into the per-item table every task's ``find_label_issues`` returns;
mAP into intervals; and a label column into the box statistics whose drift is tested.
Engines are imported when first used (``tasks`` sits below the engines).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.tasks.detection import BOX_FIELDS, as_boxes

__all__ = [
    "DetectionAgreement",
    "DetectionConsensus",
    "annotation_boxes",
    "detection_agreement",
    "detection_consensus",
]

_GEOMETRY = list(BOX_FIELDS[1:])


def annotation_boxes(annotations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long-format box annotations as a labelers' boxes frame and its assignments.

    Parameters
    ----------
    annotations : DataFrame, shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (a list of boxes; ``[]``: looked, drew none).

    Returns
    -------
    boxes : DataFrame, shape (n_boxes, 7)
        ``image`` (the item), ``label``, ``x``, ``y``, ``w``, ``h``, ``annotator``.
    assignments : DataFrame, shape (n_annotations, 2)
        ``image``, ``annotator``: who looked at which image.

    Raises
    ------
    InputError
        A missing column, or a label that is not a list of boxes (naming its row).
    """
    missing = [c for c in ("item", "annotator", "label") if c not in annotations.columns]
    if missing:
        raise InputError(
            f"box annotations need columns item, annotator, label; missing {', '.join(missing)}."
        )
    frame, rows = flatten_boxes(annotations["label"], lambda p: _annotation(annotations, p))
    boxes = pd.concat(
        [
            pd.DataFrame({"image": annotations["item"].to_numpy()[rows]}),
            frame,
            pd.DataFrame({"annotator": annotations["annotator"].to_numpy()[rows]}),
        ],
        axis=1,
    )
    assignments = annotations[["item", "annotator"]].rename(columns={"item": "image"})
    return boxes, assignments.drop_duplicates(ignore_index=True)


def flatten_boxes(
    values: Any, where: Callable[[int], str], extra: Sequence[str] = ()
) -> tuple[pd.DataFrame, np.ndarray]:
    """Lists of boxes (one per row) as one frame, checked at once.

    Parameters
    ----------
    values : iterable of length n
        Lists of box mappings (as stored), or anything :func:`as_boxes` reads.
    where : callable
        Row position -> how a message names that row.
    extra : sequence of str
        Further box fields to keep (e.g. ``score``; missing: NaN).

    Returns
    -------
    frame : DataFrame, shape (n_boxes, 5 + len(extra))
        ``label`` (str), ``x``, ``y``, ``w``, ``h`` (float) and ``extra``.
    owner : ndarray of int, shape (n_boxes,)
        The row of each box.

    Raises
    ------
    InputError
        A value that is not a list of boxes, or a box without a class, finite
        coordinates or a positive size, naming its row.
    """
    owner: list[int] = []
    drawn: list[dict[str, Any]] = []
    for position, value in enumerate(values):
        boxes = value if holds_box_dicts(value) else _parsed(value, where, position)
        drawn.extend(boxes)
        owner.extend([position] * len(boxes))
    frame = pd.DataFrame.from_records(drawn, columns=[*BOX_FIELDS, *extra])
    rows = np.asarray(owner, dtype=np.int64)
    geometry = frame[_GEOMETRY].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    blank = frame["label"].isna().to_numpy() | (frame["label"].astype(str).str.strip() == "")
    bad = (
        blank
        | ~np.isfinite(geometry).all(axis=1)
        | ~(np.nan_to_num(geometry[:, 2:], nan=-1) > 0).all(axis=1)
    )
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{where(int(rows[first]))}: box {frame.iloc[first].to_dict()} needs a class, "
            "finite x, y and a positive width and height (pixels)."
        )
    frame[_GEOMETRY] = geometry
    frame["label"] = frame["label"].astype(str)
    return frame, rows


def holds_box_dicts(value: Any) -> bool:
    """A list (or array) of box mappings, as stored labels hold them."""
    return isinstance(value, (list, tuple, np.ndarray)) and all(isinstance(b, dict) for b in value)


def _parsed(value: Any, where: Callable[[int], str], position: int) -> list[dict[str, Any]]:
    """One label read by :func:`as_boxes` (JSON text, ``[label, x, ...]`` lists)."""
    if _missing_label(value):
        return []
    try:
        return as_boxes(value) or []
    except InputError as exc:
        raise InputError(f"{where(position)}: {exc}") from exc


def _missing_label(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _annotation(annotations: pd.DataFrame, position: int) -> str:
    row = annotations.iloc[position]
    return f"annotation {position + 1} (item {row['item']!r}, annotator {row['annotator']!r})"


@dataclass
class DetectionAgreement:
    """:class:`assay.collect.agreement_boxes.BoxAgreementReport` as the agreement
    workflow reads it: the report's tables and text, ``to_revise`` (the classes with
    the lowest box F1 at IoU 0.5) and no Krippendorff's alpha (NaN: boxes have none).
    ``gate_statistic`` is what a minimum-agreement gate (``assay agree --min-alpha``)
    compares instead: the overall box F1 at IoU 0.5 (matched boxes over all drawn
    boxes, pooled over labeler pairs), on the same 0-1 scale with 1 = perfect."""

    report: Any

    krippendorff_alpha = float("nan")

    @property
    def gate_statistic(self) -> tuple[str, float]:
        """``("box F1 at IoU 0.5", value)``: the statistic an agreement gate compares."""
        return "box F1 at IoU 0.5", float(self.report.overall["f1_50"])

    def __getattr__(self, name: str) -> Any:
        if name == "report":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.report, name)

    def to_revise(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` classes with the lowest box F1 at IoU 0.5, most boxes first on ties."""
        table = self.report.per_class
        return table.sort_values(["f1_50", "n_boxes"], ascending=[True, False], kind="stable").head(
            k
        )

    def summary(self) -> str:
        """The report's text (lines of at most 80 columns)."""
        return str(self.report.summary())

    def to_html(self) -> str:
        return str(self.report.to_html())

    def to_dict(self) -> dict[str, Any]:
        return dict(self.report.to_dict())


def detection_agreement(annotations: pd.DataFrame, **options: Any) -> DetectionAgreement:
    """Box agreement of long-format annotations
    (:func:`assay.collect.agreement_boxes.box_agreement`; ``options`` it takes:
    ``match_iou``, ``cover``, ``size_tolerance``, ``min_share``)."""
    from assay.collect.agreement_boxes import box_agreement

    boxes, assignments = annotation_boxes(annotations)
    return DetectionAgreement(box_agreement(boxes, assignments=assignments, **options))


@dataclass
class DetectionConsensus:
    """Consensus boxes per item.

    Attributes
    ----------
    labels : DataFrame indexed by item
        ``label`` (the consensus list of boxes), ``n_boxes``, ``quality`` (in [0, 1]:
        the mean over the image's candidate boxes of the fused box's quality, support
        times mean IoU, when kept, and 1 - support when left out; 1 where no labeler
        drew a box).
    annotators : DataFrame indexed by annotator
        ``n_images``, ``n_boxes``, ``precision``, ``recall``, ``mean_iou`` against the
        consensus (IoU 0.5) and ``quality`` (their F1).
    result : BoxConsensusResult
        The engine's result (boxes, clusters, members).
    """

    labels: pd.DataFrame
    annotators: pd.DataFrame
    result: Any

    def summary(self) -> str:
        """The engine's text (lines of at most 80 columns)."""
        return str(self.result.summary())

    def to_dict(self) -> dict[str, Any]:
        return dict(self.result.to_dict())


def detection_consensus(
    annotations: pd.DataFrame, *, method: str = "weighted_box_fusion", **options: Any
) -> DetectionConsensus:
    """Consensus boxes of long-format annotations by labeler-aware weighted box fusion
    (:func:`assay.collect.consensus_boxes.box_consensus`; ``options``:
    ``iou_threshold``, ``min_support``, ``weights``).

    Raises
    ------
    InputError
        Another ``method``, or annotations the engine refuses.
    """
    from assay.collect.consensus_boxes import box_consensus

    if method != "weighted_box_fusion":
        raise InputError(
            f"method {method!r} does not combine boxes; use "
            "method='weighted_box_fusion' (the only box consensus)."
        )
    boxes, assignments = annotation_boxes(annotations)
    result = box_consensus(boxes, assignments=assignments, **options)
    items = pd.Index(pd.unique(annotations["item"]), name="item")
    labels = _item_labels(result, items)
    quality = result.annotators.rename(columns={"f1": "quality"}).drop(columns="weight")
    return DetectionConsensus(labels, quality, result)


def _item_labels(result: Any, items: pd.Index) -> pd.DataFrame:
    """One row per item: its consensus boxes, their count and the item's quality."""
    kept = result.boxes
    lists: dict[Any, list[dict[str, Any]]] = {item: [] for item in items}
    for record in kept[["image", *BOX_FIELDS]].to_dict("records"):
        lists[record.pop("image")].append(
            {"label": str(record["label"]), **{k: float(record[k]) for k in _GEOMETRY}}
        )
    clusters = result.clusters
    certainty = np.where(clusters["kept"], clusters["quality"], 1.0 - clusters["support"])
    quality = (
        pd.Series(certainty, index=clusters.index)
        .groupby(clusters["image"].to_numpy())
        .mean()
        .reindex(items, fill_value=1.0)
    )
    return pd.DataFrame(
        {
            "label": [lists[item] for item in items],
            "n_boxes": [len(lists[item]) for item in items],
            "quality": quality.clip(0.0, 1.0).to_numpy(),
        },
        index=items,
    )


def scored_boxes(
    predictions: Any, n: int, ids: Sequence[Any] | None = None, default_score: float | None = None
) -> pd.DataFrame:
    """Predicted boxes as a boxes frame with ``score``, images as item positions.

    Parameters
    ----------
    predictions : DataFrame or sequence of length n
        A boxes frame with ``score`` whose ``image`` is the item position (0 .. n-1),
        or the item id when ``ids`` is given; or one list of scored boxes
        (``{"label", "x", "y", "w", "h", "score"}``) per item.
    n : int
        The number of items.
    ids : sequence of length n, optional
        The item ids a frame's ``image`` names.
    default_score : float, optional
        The score of a box that has none (None: refuse it).

    Returns
    -------
    DataFrame, shape (n_predictions, 7)
        ``image`` (position), ``label``, ``x``, ``y``, ``w``, ``h``, ``score``.

    Raises
    ------
    InputError
        A box without a score, or an image that names no item.
    """
    if isinstance(predictions, pd.DataFrame):
        return _frame_positions(predictions, n, ids, default_score)
    if len(predictions) != n:
        raise InputError(
            f"predictions hold {len(predictions)} lists of boxes for {n} items; "
            "give one list (maybe empty) per item."
        )
    frame, owner = flatten_boxes(predictions, lambda p: f"predictions of item {p}", extra=["score"])
    if default_score is not None:
        frame["score"] = frame["score"].fillna(default_score)
    score = pd.to_numeric(frame["score"], errors="coerce")
    if score.isna().any():
        first = int(owner[int(np.flatnonzero(score.isna().to_numpy())[0])])
        raise InputError(
            f"a predicted box of item {first} has no score; give each "
            "predicted box its confidence as score."
        )
    return frame.assign(score=score.astype(float)).assign(image=owner)[
        ["image", *BOX_FIELDS, "score"]
    ]


def _frame_positions(
    frame: pd.DataFrame, n: int, ids: Sequence[Any] | None, default_score: float | None
) -> pd.DataFrame:
    if "score" not in frame.columns and default_score is not None:
        frame = frame.assign(score=default_score)
    if "score" not in frame.columns or "image" not in frame.columns:
        raise InputError(
            "predictions need columns image, label, x, y, w, h and score "
            "(the detector's confidence)."
        )
    if ids is None:
        position = pd.to_numeric(frame["image"], errors="coerce").to_numpy(dtype=float)
    else:
        index = pd.Index([str(i) for i in ids])
        position = index.get_indexer(pd.Index(frame["image"].astype(str))).astype(float)
        position[position < 0] = np.nan
    bad = ~np.isfinite(position) | (position < 0) | (position >= n)
    if bad.any():
        first = frame["image"].iloc[int(np.flatnonzero(bad)[0])]
        raise InputError(
            f"prediction image {first!r} names no item of the dataset "
            f"({int(bad.sum())} predicted box(es)); predict on its images."
        )
    return frame.assign(image=position.astype(np.int64))[["image", *BOX_FIELDS, "score"]]


def label_frame(labels: Any) -> tuple[pd.DataFrame, int]:
    """A label column as a boxes frame keyed by item position, and the item count."""
    values = list(labels)
    frame, owner = flatten_boxes(values, lambda p: f"the label of item {p}")
    return frame.assign(image=owner)[["image", *BOX_FIELDS]], len(values)
