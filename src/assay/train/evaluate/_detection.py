"""Mean average precision of a detector, COCO-style, computed by faster-coco-eval.

:func:`mean_average_precision` turns two boxes frames (one row per box: ``image``,
``label``, ``x``, ``y``, ``w``, ``h`` in pixels, top-left origin; ``score`` for the
predictions) into COCO dicts in memory and runs faster-coco-eval's ``COCOeval_faster``
(the C++ port of pycocotools' evaluation, equal to pycocotools to 1e-6, pinned by
``tests/train/test_detection_map.py``). Conventions, all COCO's:

- Every box is an ordinary box (``iscrowd = 0``, no ignore flags); a box's area for
  the small / medium / large split is ``w * h`` (below 32², 32² to 96², above 96²).
- An image is evaluated when it has label boxes or predictions (or is listed in
  ``images``). An image with predictions and no labels adds false positives; an image
  with neither changes no AP, only the bootstrap's number of images.
- A class with no label box (only predicted) has no AP: NaN in ``per_class`` and
  left out of every mean, as pycocotools leaves out its -1; its predictions are still
  counted in ``n_predictions``. A metric with no class to average is NaN.
- At most ``max_detections`` predictions per image and class count, the highest scores
  first (ties keep input order).

Intervals: percentile bootstrap over images (``n_boot`` resamples, seeded) for
``map``, ``map50`` and ``map75``, overall and per tag (:mod:`._detection_boot`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from assay._boxes import check_boxes
from assay._stats import percentile_interval
from assay._validation import Integral, Interval, Real, validate_params
from assay.exceptions import InputError
from assay.train.evaluate._detection_boot import Matches, resampled_ap
from assay.train.evaluate._result import _py, _records

__all__ = ["AREA_RANGES", "DETECTION_METRICS", "DetectionMAP", "mean_average_precision"]

#: COCO's box-area ranges in square pixels.
AREA_RANGES = {"small": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large": (96.0**2, 1e10)}
#: The scalar metrics of :class:`DetectionMAP`, headline first.
DETECTION_METRICS = ("map", "map50", "map75", "map_small", "map_medium", "map_large", "mar100")
_INTERVAL_METRICS = ("map", "map50", "map75")
_TABLES = ("per_class", "per_size", "intervals", "by_tag")


def _silent(*_: Any, **__: Any) -> None:
    """faster-coco-eval prints progress through this."""


@dataclass(frozen=True, eq=False)
class DetectionMAP(Mapping[str, Any]):
    """COCO-style detection metrics; a mapping of :data:`DETECTION_METRICS` and tables.

    Attributes
    ----------
    metrics : dict
        ``map`` (AP over IoU 0.50:0.95), ``map50``, ``map75``, ``map_small``,
        ``map_medium``, ``map_large``, ``mar100`` (recall with at most
        ``max_detections`` predictions per image and class, averaged like ``map``).
    per_class : DataFrame, shape (n_classes, 6)
        Index ``class``; ``ap``, ``ap50``, ``ap75``, ``ar100`` (NaN for a class with no
        label box), ``n_labels``, ``n_predictions``.
    per_size : DataFrame, shape (3, 4)
        Index ``small``/``medium``/``large``; ``ap``, ``ar100``, ``n_labels``,
        ``n_predictions`` (boxes by their area).
    intervals : dict
        ``{metric: (low, high)}`` for ``map``, ``map50``, ``map75``; empty when
        ``n_boot`` is 0.
    by_tag : DataFrame
        One row per tag value (index ``tag``): ``n_images``, ``n_labels``, ``map``,
        ``map50`` and their intervals (``map_low`` ...); empty without ``by``.
    n_images : int
        Images evaluated.
    info : dict
        ``iou_thresholds``, ``max_detections``, ``n_boot``, ``seed``, ``confidence``,
        ``classes_without_labels``, ``engine``.
    """

    metrics: dict[str, float]
    per_class: pd.DataFrame
    per_size: pd.DataFrame
    n_images: int
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    by_tag: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        if key in self.metrics:
            return self.metrics[key]
        if key in _TABLES:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter((*self.metrics, *_TABLES))

    def __len__(self) -> int:
        return len(self.metrics) + len(_TABLES)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (NaN as None); tables as lists of records with their index."""
        return {
            "metrics": {k: _py(v) for k, v in self.metrics.items()},
            "intervals": {k: [_py(v) for v in band] for k, band in self.intervals.items()},
            "per_class": _records(self.per_class.reset_index()),
            "per_size": _records(self.per_size.reset_index()),
            "by_tag": _records(self.by_tag.reset_index()) if len(self.by_tag) else [],
            "n_images": self.n_images,
            "info": {k: (v if isinstance(v, list) else _py(v)) for k, v in self.info.items()},
        }

    def summary(self) -> str:
        """A few lines of plain text: the headline metrics with intervals, worst classes."""
        lines = [f"{self.n_images} images, {len(self.per_class)} classes"]
        for name in DETECTION_METRICS:
            low, high = self.intervals.get(name, (np.nan, np.nan))
            band = f"  [{low:.4f}, {high:.4f}]" if np.isfinite(low) else ""
            lines.append(f"  {name:<11} {self.metrics[name]:.4f}{band}")
        worst = self.per_class["ap"].dropna().sort_values().head(3)
        if len(worst):
            lines.append("  weakest classes: " + ", ".join(f"{c} (AP {v:.3f})"
                                                          for c, v in worst.items()))
        return "\n".join(lines)


class _Coded(NamedTuple):
    """Boxes as integer codes: images and classes numbered from 0 in first-seen order."""

    images: pd.Index
    classes: list[Any]
    gt_image: np.ndarray
    gt_class: np.ndarray
    gt_box: np.ndarray
    dt_image: np.ndarray
    dt_class: np.ndarray
    dt_box: np.ndarray
    dt_score: np.ndarray


# -- input ----------------------------------------------------------------------------
def _check_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    if isinstance(predictions, pd.DataFrame) and "score" not in predictions.columns:
        raise InputError(
            "predictions lack a 'score' column: mean average precision ranks a model's "
            "boxes by confidence; add the score of each predicted box (any finite number, "
            "higher = more confident)"
        )
    return check_boxes(predictions, where="predictions", extra=("score",))


def _classes(labels: pd.DataFrame, predictions: pd.DataFrame) -> list[Any]:
    found = list(pd.unique(pd.concat([labels["label"], predictions["label"]],
                                     ignore_index=True)))
    try:
        return sorted(found)
    except TypeError:  # mixed kinds of class names: keep first-seen order
        return found


def _encode(labels: pd.DataFrame, predictions: pd.DataFrame,
            images: Sequence[Any] | None) -> _Coded:
    given = pd.Series(list(images) if images is not None else [], dtype=object)
    keys = pd.Index(pd.unique(pd.concat([given, labels["image"].astype(object),
                                         predictions["image"].astype(object)],
                                        ignore_index=True)))
    if images is not None and len(keys) > len(given.unique()):
        outside = keys[len(given.unique())]
        raise InputError(
            f"image {outside!r} has boxes but is not in `images`; list every evaluated "
            "image in `images`, or leave it out to evaluate the images that have boxes"
        )
    classes = _classes(labels, predictions)
    class_index = pd.Index(classes)
    geometry = ["x", "y", "w", "h"]
    return _Coded(
        images=keys, classes=classes,
        gt_image=keys.get_indexer(pd.Index(labels["image"])),
        gt_class=class_index.get_indexer(pd.Index(labels["label"])),
        gt_box=labels[geometry].to_numpy(np.float64),
        dt_image=keys.get_indexer(pd.Index(predictions["image"])),
        dt_class=class_index.get_indexer(pd.Index(predictions["label"])),
        dt_box=predictions[geometry].to_numpy(np.float64),
        dt_score=predictions["score"].to_numpy(np.float64),
    )


def _thresholds(iou_thresholds: Sequence[float] | None) -> np.ndarray | None:
    if iou_thresholds is None:
        return None
    thr = np.unique(np.asarray(iou_thresholds, dtype=np.float64).ravel())
    if thr.size == 0 or not np.all((thr > 0) & (thr <= 1)):
        raise InputError(
            f"iou_thresholds must be numbers in (0, 1]; got {list(iou_thresholds)!r}; "
            "leave it out for COCO's 0.50:0.05:0.95"
        )
    return thr


# -- the engine ------------------------------------------------------------------------
def coco_dicts(coded: _Coded) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The label boxes as a COCO dataset dict and the predictions as COCO results.

    Image ids are the image codes + 1 and category ids the class codes + 1; label
    annotation ids run from 1 in row order; ``area`` is ``w * h``.
    """
    gt = [
        {"id": i + 1, "image_id": im + 1, "category_id": k + 1, "bbox": [x, y, w, h],
         "area": w * h, "iscrowd": 0}
        for i, (im, k, (x, y, w, h)) in enumerate(
            zip(coded.gt_image.tolist(), coded.gt_class.tolist(), coded.gt_box.tolist(),
                strict=True))
    ]
    dt = [
        {"image_id": im + 1, "category_id": k + 1, "bbox": box, "score": s}
        for im, k, box, s in zip(coded.dt_image.tolist(), coded.dt_class.tolist(),
                                 coded.dt_box.tolist(), coded.dt_score.tolist(), strict=True)
    ]
    dataset = {
        "images": [{"id": i + 1} for i in range(len(coded.images))],
        "annotations": gt,
        "categories": [{"id": k + 1, "name": str(c)} for k, c in enumerate(coded.classes)],
    }
    return dataset, dt


class _Engine:
    """faster-coco-eval's COCO objects of one pair of frames, evaluated on request."""

    def __init__(self, dataset: dict[str, Any], results: list[dict[str, Any]]) -> None:
        from faster_coco_eval import COCO

        self.gt = COCO(dataset)
        self.gt.print_function = _silent
        self.dt = self.gt.loadRes(results)

    def evaluate(self, *, iou_thresholds: np.ndarray | None, max_detections: int,
                 image_ids: Sequence[int] | None = None, all_areas_only: bool = False) -> Any:
        """Run ``COCOeval_faster`` and return it, evaluated and accumulated."""
        from faster_coco_eval import COCOeval_faster

        ev = COCOeval_faster(self.gt, self.dt, "bbox", print_function=_silent)
        if iou_thresholds is not None:
            ev.params.iouThrs = np.asarray(iou_thresholds, dtype=np.float64)
        # faster-coco-eval sorts maxDets and reads the last: the cap must be the largest
        smaller = [d for d in (1, 10) if d < max_detections and not all_areas_only]
        ev.params.maxDets = [*smaller, max_detections]
        if all_areas_only:
            ev.params.areaRng = [[0.0, 1e10]]
            ev.params.areaRngLbl = ["all"]
        if image_ids is not None:
            ev.params.imgIds = list(image_ids)
        ev.evaluate()
        ev.accumulate()
        return ev


def _mean_valid(values: np.ndarray) -> float:
    """Mean over the entries that are not COCO's -1 (NaN when there is none)."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else float("nan")


def _at(thresholds: np.ndarray, value: float) -> np.ndarray:
    return np.flatnonzero(np.isclose(thresholds, value))


def _metrics(ev: Any) -> dict[str, float]:
    """The scalar metrics from an accumulated evaluation's precision and recall."""
    prec, rec = ev.eval["precision"], ev.eval["recall"]  # [T,R,K,A,M], [T,K,A,M]
    thr = np.asarray(ev.params.iouThrs)
    out = {
        "map": _mean_valid(prec[:, :, :, 0, -1]),
        "map50": _mean_valid(prec[_at(thr, 0.5), :, :, 0, -1]),
        "map75": _mean_valid(prec[_at(thr, 0.75), :, :, 0, -1]),
    }
    for a, size in enumerate(AREA_RANGES, start=1):
        out[f"map_{size}"] = _mean_valid(prec[:, :, :, a, -1])
    out["mar100"] = _mean_valid(rec[:, :, 0, -1])
    return out


def _per_class(ev: Any, coded: _Coded) -> pd.DataFrame:
    prec, rec = ev.eval["precision"], ev.eval["recall"]
    thr = np.asarray(ev.params.iouThrs)
    k = len(coded.classes)
    rows = {
        "ap": [_mean_valid(prec[:, :, j, 0, -1]) for j in range(k)],
        "ap50": [_mean_valid(prec[_at(thr, 0.5), :, j, 0, -1]) for j in range(k)],
        "ap75": [_mean_valid(prec[_at(thr, 0.75), :, j, 0, -1]) for j in range(k)],
        "ar100": [_mean_valid(rec[:, j, 0, -1]) for j in range(k)],
        "n_labels": np.bincount(coded.gt_class, minlength=k),
        "n_predictions": np.bincount(coded.dt_class, minlength=k),
    }
    return pd.DataFrame(rows, index=pd.Index(coded.classes, name="class"))


def _per_size(ev: Any, coded: _Coded, metrics: Mapping[str, float]) -> pd.DataFrame:
    rec = ev.eval["recall"]
    gt_area = coded.gt_box[:, 2] * coded.gt_box[:, 3]
    dt_area = coded.dt_box[:, 2] * coded.dt_box[:, 3]
    rows = []
    for a, (size, (low, high)) in enumerate(AREA_RANGES.items(), start=1):
        rows.append({
            "ap": metrics[f"map_{size}"], "ar100": _mean_valid(rec[:, :, a, -1]),
            "n_labels": int(((gt_area >= low) & (gt_area <= high)).sum()),
            "n_predictions": int(((dt_area >= low) & (dt_area <= high)).sum()),
        })
    return pd.DataFrame(rows, index=pd.Index(list(AREA_RANGES), name="size"))


def engine_matches(engine: _Engine, coded: _Coded, thresholds: np.ndarray,
                   max_detections: int) -> Matches:
    """Which predictions the engine matches at each IoU threshold, in its score order.

    One engine run per threshold (area range "all" only): faster-coco-eval keeps its
    per-image matches in C++ and reports only the pairs matched in a run.
    """
    order = np.lexsort((np.arange(coded.dt_score.size), coded.dt_image, -coded.dt_score))
    rank = pd.Series(np.arange(order.size), index=order).sort_index().to_numpy()
    group = pd.DataFrame({"i": coded.dt_image, "k": coded.dt_class, "r": rank})
    kept = (group.groupby(["i", "k"])["r"].rank(method="first") <= max_detections).to_numpy()
    tp = np.zeros((coded.dt_score.size, thresholds.size), dtype=bool)
    for t, value in enumerate(thresholds):
        ev = engine.evaluate(iou_thresholds=np.array([value]), max_detections=max_detections,
                             all_areas_only=True)
        ids = [int(key.split("_", 1)[0]) - 1 for key in ev.eval["matched"]]
        tp[ids, t] = True
    order = order[kept[order]]
    return Matches(tp=tp[order], dt_image=coded.dt_image[order],
                   dt_class=coded.dt_class[order], gt_image=coded.gt_image,
                   gt_class=coded.gt_class, n_classes=len(coded.classes))


# -- intervals and tags -----------------------------------------------------------------
def _summaries(ap: np.ndarray, thresholds: np.ndarray) -> dict[str, np.ndarray]:
    """map / map50 / map75 per resample from (n_boot, T, K) AP (NaN = no labels)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: no class labelled
        per_t = np.nanmean(ap, axis=2)  # COCO: mean over classes with labels, then over T
        out = {"map": np.nanmean(per_t, axis=1)}
        for name, value in (("map50", 0.5), ("map75", 0.75)):
            at = _at(thresholds, value)
            out[name] = per_t[:, at[0]] if at.size else np.full(ap.shape[0], np.nan)
    return out


def _intervals(matches: Matches, pool: np.ndarray, n_images: int, thresholds: np.ndarray,
               *, n_boot: int, seed: int, confidence: float) -> dict[str, tuple[float, float]]:
    ap = resampled_ap(matches, pool, n_images, n_boot=n_boot, seed=seed)
    return {name: percentile_interval(values, confidence=confidence)
            for name, values in _summaries(ap, thresholds).items()}


def _image_tags(by: str | Mapping[Any, Any] | pd.Series, labels: pd.DataFrame,
                predictions: pd.DataFrame, images: pd.Index) -> pd.Series:
    """One tag per image code (NaN for an untagged image)."""
    if isinstance(by, str):
        frames = [f[["image", by]] for f in (labels, predictions) if by in f.columns]
        if not frames:
            raise InputError(f"by={by!r} is not a column of labels or predictions; give a "
                             "column holding each image's tag, or a Series image -> tag")
        pairs = pd.concat(frames, ignore_index=True).dropna().drop_duplicates()
        repeated = pairs["image"].duplicated(keep=False)
        if repeated.any():
            image = pairs.loc[repeated, "image"].iloc[0]
            tags = sorted(map(str, pairs.loc[pairs["image"] == image, by]))
            raise InputError(f"image {image!r} has several tags in column {by!r} ({', '.join(tags)}); "
                             "a tag describes the whole image: give each image one value")
        tag_of = pd.Series(pairs[by].to_numpy(), index=pairs["image"].to_numpy())
    else:
        tag_of = pd.Series(by)
    return pd.Series(tag_of.reindex(images).to_numpy(), index=np.arange(len(images)))


def _by_tag(engine: _Engine, coded: _Coded, tags: pd.Series, matches: Matches | None,
            opts: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for value, codes in tags.dropna().groupby(tags.dropna(), sort=True).groups.items():
        pool = np.asarray(codes, dtype=np.int64)
        ev = engine.evaluate(iou_thresholds=opts["iou_thresholds"],
                             max_detections=opts["max_detections"],
                             image_ids=(pool + 1).tolist())
        m = _metrics(ev)
        row: dict[str, Any] = {"tag": value, "n_images": pool.size,
                               "n_labels": int(np.isin(coded.gt_image, pool).sum()),
                               "map": m["map"], "map50": m["map50"]}
        band = (_intervals(matches, pool, len(coded.images), np.asarray(ev.params.iouThrs),
                           n_boot=opts["n_boot"], seed=opts["seed"],
                           confidence=opts["confidence"]) if matches is not None else {})
        for name in ("map", "map50"):
            row[f"{name}_low"], row[f"{name}_high"] = band.get(name, (np.nan, np.nan))
        rows.append(row)
    columns = ["tag", "n_images", "n_labels", "map", "map_low", "map_high", "map50",
               "map50_low", "map50_high"]
    return pd.DataFrame(rows, columns=columns).set_index("tag")


# -- the public function ------------------------------------------------------------------
@validate_params({
    "max_detections": [Interval(Integral, 1, None)],
    "n_boot": [Interval(Integral, 0, None)],
    "seed": [Interval(Integral, 0, None)],
    "confidence": [Interval(Real, 0, 1, closed="neither")],
})
def mean_average_precision(
    labels: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    iou_thresholds: Sequence[float] | None = None,
    by: str | Mapping[Any, Any] | pd.Series | None = None,
    images: Sequence[Any] | None = None,
    max_detections: int = 100,
    n_boot: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> DetectionMAP:
    """COCO-style mean average precision of predicted boxes against label boxes.

    Parameters
    ----------
    labels : DataFrame, shape (n_labels, >= 6)
        The label boxes: ``image``, ``label`` (class), ``x``, ``y``, ``w``, ``h``.
    predictions : DataFrame, shape (n_predictions, >= 7)
        A model's boxes with the same columns plus ``score`` (higher = more confident).
        A class that only predictions have gets NaN AP and does not lower ``map``.
    iou_thresholds : sequence of float, optional
        IoU thresholds in (0, 1]; COCO's 0.50:0.05:0.95 when left out. ``map50`` /
        ``map75`` are NaN when 0.5 / 0.75 is not among them.
    by : str, mapping or Series, optional
        Per-image tags for AP by tag: a column of ``labels`` / ``predictions`` (one
        value per image), or image -> tag. Untagged images are left out of ``by_tag``.
    images : sequence, optional
        Every evaluated image, including those with no box at all (they weigh in the
        bootstrap). Boxes on an image outside it raise InputError.
    max_detections : int
        Predictions kept per image and class, best scores first (COCO: 100).
    n_boot : int
        Bootstrap resamples of the images for the intervals of ``map``, ``map50``,
        ``map75`` (and per tag); 0 (default) skips them: they cost one engine run per
        IoU threshold (about 1.5x the point estimate's time) plus the resampling.
    seed : int
        Seed of the bootstrap.
    confidence : float
        Two-sided level of the percentile intervals.

    Returns
    -------
    DetectionMAP
        A mapping with ``map``, ``map50``, ``map75``, ``map_small``, ``map_medium``,
        ``map_large``, ``mar100``, ``per_class``, ``per_size``, ``intervals``, ``by_tag``.

    Raises
    ------
    InputError
        Predictions without a score, a non-finite score or coordinate, a box of zero
        size, bad thresholds, or an image tagged twice.
    """
    checked_labels = check_boxes(labels, where="labels")
    checked_preds = _check_predictions(predictions)
    thresholds = _thresholds(iou_thresholds)
    if int(max_detections) < 1 or int(n_boot) < 0 or not 0 < confidence < 1:
        raise InputError(f"max_detections must be >= 1, n_boot >= 0 and confidence in (0, 1); "
                         f"got {max_detections}, {n_boot}, {confidence}")
    coded = _encode(checked_labels, checked_preds, images)
    engine = _Engine(*coco_dicts(coded))
    ev = engine.evaluate(iou_thresholds=thresholds, max_detections=int(max_detections))
    used = np.asarray(ev.params.iouThrs, dtype=np.float64)
    metrics = _metrics(ev)
    opts = {"iou_thresholds": thresholds, "max_detections": int(max_detections),
            "n_boot": int(n_boot), "seed": int(seed), "confidence": float(confidence)}
    matches = engine_matches(engine, coded, used, int(max_detections)) if n_boot else None
    intervals = ({} if matches is None else
                 _intervals(matches, np.arange(len(coded.images)), len(coded.images), used,
                            n_boot=int(n_boot), seed=int(seed), confidence=float(confidence)))
    per_class = _per_class(ev, coded)
    tags = (None if by is None else
            _image_tags(by, checked_labels, checked_preds, coded.images))
    return DetectionMAP(
        metrics=metrics, per_class=per_class, per_size=_per_size(ev, coded, metrics),
        n_images=len(coded.images), intervals=intervals,
        by_tag=pd.DataFrame() if tags is None else _by_tag(engine, coded, tags, matches, opts),
        info={**opts, "iou_thresholds": used.tolist(),
              "classes_without_labels": per_class.index[per_class["n_labels"] == 0].tolist(),
              "engine": _engine_version()},
    )


def _engine_version() -> str:
    import faster_coco_eval

    return f"faster-coco-eval {faster_coco_eval.__version__}"
