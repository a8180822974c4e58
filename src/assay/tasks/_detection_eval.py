"""Evaluating a detector on a detection dataset and comparing two detectors on the same
images: COCO mAP with image-bootstrap intervals, and a paired bootstrap over images on
mAP (both detectors scored on the same resamples, so the interval of the difference
carries the correlation of their errors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.tasks._detection_engines import label_frame, scored_boxes
from assay.tasks.base import Interval
from assay.tasks.detection import as_boxes

__all__ = [
    "DetectionEvaluation", "compare_detection", "cross_val_boxes", "evaluate_detection",
]

_METRICS = ("map", "map50", "map75")


@dataclass
class DetectionEvaluation:
    """A detector's boxes against the label boxes of the same items.

    Attributes
    ----------
    overall : dict
        ``{"map" | "map50" | "map75": {"value", "low", "high", "method"}}``.
    per_class : DataFrame indexed by class
        ``ap``, ``ap50``, ``ap75``, ``ar100``, ``n_labels``, ``n_predictions``.
    y_true, y_pred : list, length n
        Each item's label boxes and predicted (scored) boxes.
    ids : list or None
        Item ids.
    per_tag : DataFrame
        AP by tag (empty without tags).
    per_image : DataFrame, one row per item
        True positives, false positives and misses at IoU 0.5 and the F1-best score
        (:func:`assay.train.evaluate._detection_errors.detection_errors`): ``item``
        (position), ``tp``, ``fp``, ``fn``, ``error``, ``missed`` (the item's label boxes
        no kept prediction found, by position in its list), ``false`` (its kept
        predictions that found no label box, by position in its list).
    score_threshold : float
        The score at and above which predictions are kept in ``per_image``.
    duration_s : float or None
        Seconds spent fitting the detector (an experiment's fit).
    info : dict
        What the fit recorded (``recipe_hash``, ``n_train``, ``predict_seconds``).
    """

    overall: dict[str, Interval]
    per_class: pd.DataFrame
    y_true: list[Any]
    y_pred: list[Any]
    ids: list[Any] | None = None
    per_tag: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_image: pd.DataFrame = field(default_factory=pd.DataFrame)
    score_threshold: float = float("nan")
    duration_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    kind = "detection"

    @property
    def n(self) -> int:
        """Images evaluated."""
        return len(self.y_true)

    @property
    def item_errors(self) -> np.ndarray:
        """Per item, ``(fp + fn) / (tp + fp + fn)`` at IoU 0.5 (what slices search)."""
        if self.per_image.empty:
            self.per_image, self.score_threshold = image_table(self.y_true, self.y_pred)
        return self.per_image["error"].to_numpy(dtype=float)

    def tables(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """What a face shows beside the metrics: (title, header, rows) per table; the
        weakest classes by AP, and AP per tag."""
        header = ["class", "AP", "AP50", "labels", "predictions"]
        worst = self.per_class.sort_values("ap").head(5)
        rows = [[str(c), _num(r["ap"]), _num(r["ap50"]), int(r["n_labels"]),
                 int(r["n_predictions"])] for c, r in worst.iterrows()]
        out: list[tuple[str, list[str], list[list[Any]]]] = [("weakest classes", header, rows)]
        if len(self.per_tag):
            tag_rows = [[str(v) for v in r] for r in self.per_tag.head(20).itertuples(index=False)]
            out.append(("AP per tag", [str(c) for c in self.per_tag.columns], tag_rows))
        return out

    def summary(self) -> str:
        """Plain text (at most 80 columns): the metrics with intervals, weakest classes."""
        lines = [f"{len(self.y_true)} images, {len(self.per_class)} classes"]
        for name, m in self.overall.items():
            lines.append(f"  {name:<6} {m['value']:.4f}  [{m['low']:.4f}, {m['high']:.4f}]")
        worst = self.per_class["ap"].dropna().sort_values().head(3)
        if len(worst):
            lines.append("  weakest: " + ", ".join(f"{c} {v:.3f}" for c, v in worst.items()))
        return "\n".join(line[:80] for line in lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; :func:`DetectionEvaluation.from_dict` reads it back."""
        return {
            "kind": self.kind,
            "overall": {k: dict(v) for k, v in self.overall.items()},
            "per_class": self.per_class.reset_index().to_dict("records"),
            "y_true": self.y_true,
            "y_pred": self.y_pred,
            "ids": self.ids,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectionEvaluation:
        per_class = pd.DataFrame(data["per_class"])
        return cls(
            dict(data["overall"]),
            per_class.set_index(per_class.columns[0]),
            list(data["y_true"]),
            list(data["y_pred"]),
            data.get("ids"),
        )


def _num(value: Any) -> str:
    """An AP in a table cell (3 decimals; a class without labels: ``-``)."""
    return "-" if pd.isna(value) else f"{float(value):.3f}"


def _pred_lists(y_pred: Any, n: int) -> list[list[dict[str, Any]]]:
    frame = scored_boxes(y_pred, n, default_score=1.0)
    out: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for row in frame.to_dict("records"):
        out[int(row.pop("image"))].append({str(k): v for k, v in row.items()})
    return out


def evaluate_detection(
    y_true: Any,
    y_pred: Any,
    *,
    ids: Any = None,
    tags: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> DetectionEvaluation:
    """COCO mAP, AP50, AP75 with image-bootstrap intervals, per class and per tag
    (:func:`assay.train.evaluate._detection.mean_average_precision`)."""
    from assay.train.evaluate._detection import mean_average_precision

    truth = [as_boxes(v) or [] for v in y_true]
    lab, n = label_frame(truth)
    preds = _pred_lists(y_pred, n)
    by = None if tags is None else dict(enumerate(pd.Series(list(tags)).astype(str)))
    result = mean_average_precision(
        lab, scored_boxes(preds, n), images=range(n), by=by, n_boot=n_boot, seed=seed
    )
    method = f"bootstrap over {n} images ({n_boot} resamples)"
    overall: dict[str, Interval] = {
        m: {
            "value": float(result[m]),
            "low": float(result.intervals[m][0]),
            "high": float(result.intervals[m][1]),
            "method": method,
        }
        for m in _METRICS
    }
    per_image, threshold = image_table(truth, preds)
    return DetectionEvaluation(
        overall,
        result.per_class,
        truth,
        preds,
        None if ids is None else list(ids),
        result.by_tag,
        per_image,
        threshold,
    )


def image_table(truth: list[Any], preds: list[Any]) -> tuple[pd.DataFrame, float]:
    """Per item: tp, fp, fn at IoU 0.5 and the F1-best score, the boxes behind them
    (positions in the item's own lists), and the score threshold."""
    from assay.train.evaluate._detection_errors import detection_errors

    lab, n = label_frame(truth)
    pred = scored_boxes(preds, n)
    found = detection_errors(lab, pred, images=range(n))
    table = found.per_image.rename(columns={"image": "item"})
    table["missed"] = _local(table["missed"], lab["image"].to_numpy())
    table["false"] = _local(table["false"], pred["image"].to_numpy())
    return table, found.score_threshold


def _local(rows: pd.Series, image: np.ndarray) -> list[list[int]]:
    """Row positions of a flat boxes frame as positions within each item's list."""
    first: dict[int, int] = {}
    for position, item in enumerate(image.tolist()):
        first.setdefault(item, position)
    return [[r - first[int(image[r])] for r in row] for row in rows]


class ImageMAP:
    """mAP over a multiset of items, for the slice table's bootstrap: called with item
    positions (repeated as a resample draws them), it weights each item's boxes by its
    count in COCO's accumulation (:func:`assay.train.evaluate._detection_boot.weighted_ap`),
    so a resample costs one accumulation, not an engine run."""

    __name__ = "map"

    def __init__(self, truth: list[Any], preds: list[Any]) -> None:
        self.matches, _ = _matches(truth, preds)
        self.n = len(truth)

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        from assay.train.evaluate._detection_boot import weighted_ap

        weights = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=self.n)
        ap = weighted_ap(self.matches, weights[None, :].astype(np.float64))[0]
        per_class = ap.mean(axis=0)  # over the IoU thresholds
        return float(np.nanmean(per_class)) if np.isfinite(per_class).any() else float("nan")


def detection_slice_inputs(evaluation: DetectionEvaluation) -> tuple[Any, Any, Any]:
    """``(y_true, y_pred, metric)`` for the slice table: items as positions, the
    prediction of an item with a false positive or a miss marked -1 (so the table
    counts images with an error), and :class:`ImageMAP` as the metric."""
    n = len(evaluation.y_true)
    y_true = np.arange(n)
    y_pred = np.where(evaluation.item_errors > 0, -1, y_true)
    return y_true, y_pred, ImageMAP(evaluation.y_true, evaluation.y_pred)


def _matches(truth: list[Any], preds: list[Any]) -> tuple[Any, np.ndarray]:
    """The engine's true positives of every prediction (a ``Matches``) and the IoU
    thresholds they are at."""
    from assay._boxes import check_boxes
    from assay.train.evaluate._detection import (
        _check_predictions,
        _encode,
        _Engine,
        coco_dicts,
        engine_matches,
    )

    lab, n = label_frame(truth)
    coded = _encode(check_boxes(lab), _check_predictions(scored_boxes(preds, n)), range(n))
    engine = _Engine(*coco_dicts(coded))
    used = np.asarray(
        engine.evaluate(iou_thresholds=None, max_detections=100).params.iouThrs, dtype=np.float64
    )
    return engine_matches(engine, coded, used, 100), used


def _replicates(
    truth: list[Any], preds: list[Any], n_boot: int, seed: int
) -> dict[str, np.ndarray]:
    """map / map50 / map75 of each bootstrap resample of the images (same resamples for
    the same ``n`` and ``seed``)."""
    from assay.train.evaluate._detection import _summaries
    from assay.train.evaluate._detection_boot import resampled_ap

    matches, used = _matches(truth, preds)
    n = len(truth)
    return _summaries(resampled_ap(matches, np.arange(n), n, n_boot=n_boot, seed=seed), used)


def compare_detection(
    eval_a: DetectionEvaluation,
    eval_b: DetectionEvaluation,
    *,
    names: tuple[str, str] = ("A", "B"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Any:
    """Paired bootstrap over the images on mAP, AP50 and AP75 (a
    :class:`~assay.train.evaluate._paired.PairedComparison`).

    Raises
    ------
    InputError
        The evaluations are not of the same images with the same label boxes.
    """
    from assay.train.evaluate._paired import PairedComparison, bootstrap_p_value, interval

    if len(eval_a.y_true) != len(eval_b.y_true) or any(
        a != b for a, b in zip(eval_a.y_true, eval_b.y_true, strict=True)
    ):
        raise InputError(
            "the two evaluations are not of the same images with the same "
            "label boxes; evaluate both detectors on one evaluation set."
        )
    rep_a = _replicates(eval_a.y_true, eval_a.y_pred, int(n_boot), int(seed))
    rep_b = _replicates(eval_b.y_true, eval_b.y_pred, int(n_boot), int(seed))
    metrics = {}
    for m in _METRICS:
        va, vb = float(eval_a.overall[m]["value"]), float(eval_b.overall[m]["value"])
        low, high = interval(rep_b[m] - rep_a[m])
        metrics[m] = {"a": va, "b": vb, "delta": vb - va, "low": low, "high": high}
    return PairedComparison(
        names=(str(names[0]), str(names[1])),
        n=len(eval_a.y_true),
        test="paired bootstrap over images (mAP)",
        p_value=bootstrap_p_value(rep_b["map"] - rep_a["map"], metrics["map"]["delta"]),
        metrics=metrics,
        headline="map",
        per_group=pd.DataFrame(),
        per_tag=pd.DataFrame(),
        alpha=alpha,
    )


def _take(rows: Any, positions: np.ndarray) -> Any:
    return rows.iloc[positions] if isinstance(rows, pd.DataFrame) else rows[positions]


def cross_val_boxes(model: Any, X: Any, y: Any, *, cv: int = 5, seed: int = 0) -> np.ndarray:
    """Each image's scored boxes from a clone of ``model`` fitted on the other folds.

    Parameters
    ----------
    model : estimator
        A detection recipe's model (``fit(X, y)``, ``predict(X)`` -> one list of scored
        boxes per image, e.g. :class:`assay.train.recipe.BoxDetector`).
    X : DataFrame or sequence, length n
        What the model reads (image paths).
    y : sequence of length n
        Each image's label boxes.
    cv : int
        Folds (seeded shuffle); at most n.

    Returns
    -------
    ndarray of object, shape (n,)
        One list of scored boxes per image.

    Raises
    ------
    InputError
        Fewer than two images.
    """
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    labels = np.empty(len(y), dtype=object)
    labels[:] = [as_boxes(v) or [] for v in y]
    if len(labels) < 2:
        raise InputError(f"{len(labels)} image(s): out-of-sample boxes need at least two.")
    out = np.empty(len(labels), dtype=object)
    rows = X if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object)
    folds = KFold(n_splits=min(int(cv), len(labels)), shuffle=True, random_state=seed)
    for train, test in folds.split(np.arange(len(labels))):
        fitted = clone(model).fit(_take(rows, train), labels[train])
        found = fitted.predict(_take(rows, test))
        for position, boxes in zip(test.tolist(), found, strict=True):
            out[position] = list(boxes)
    return out
