"""Object detection: an item is an image, its label the list of boxes drawn on it.

A label is a list of boxes, each ``{"label": class, "x", "y", "w", "h"}`` in pixels
(top-left origin), stored as Arrow ``list<struct<label: string, x, y, w, h: double>>``;
the empty list is a valid label (an image without objects). Two labels are the same
when they hold the same boxes in any order; a change is described box by box, boxes
paired by IoU (:func:`assay._boxes.match_pair`): ``box added (raccoon), box 3 moved
(IoU 0.62 with the old one), box 2 class changed RBC -> WBC``.

The engines that measure box agreement, fuse consensus boxes, find box label issues
and compute mAP take boxes frames (one row per box, ``assay._boxes``); the adapters in
:mod:`assay.tasks._detection_engines` and :mod:`assay.tasks._detection_model` translate
between them and a column of box lists.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assay._boxes import match_pair
from assay.exceptions import InputError
from assay.tasks.base import Interval, LabelSummary, RowNamer, Task

__all__ = [
    "BOX_FIELDS", "BOX_LIST_TYPE", "DetectionTask", "as_boxes", "box_count", "boxes_frame",
    "check_in_image",
]

BOX_FIELDS = ("label", "x", "y", "w", "h")
#: The stored type of a detection label column.
BOX_LIST_TYPE = pa.list_(pa.struct(
    [("label", pa.string())] + [(name, pa.float64()) for name in BOX_FIELDS[1:]]
))
#: Boxes whose corners move less than this (pixels) are the same box.
_SAME_PIXELS = 1e-6


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def as_boxes(value: Any) -> list[dict[str, Any]] | None:
    """One label as a list of boxes ``{"label", "x", "y", "w", "h"}`` (None: missing).

    Accepts a list (or array) of such mappings or of ``[label, x, y, w, h]`` lists, or
    its JSON text.

    Raises
    ------
    InputError
        A box without a class, with a coordinate that is not a finite number, or with a
        width or height that is not positive.
    """
    if _missing(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"label {value!r} is not a list of boxes; write it as JSON, e.g. "
                '[{"label": "cat", "x": 10, "y": 20, "w": 30, "h": 40}].'
            ) from exc
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise InputError(f"label {value!r} is not a list of boxes.")
    return [_box(item, number) for number, item in enumerate(value, start=1)]


def _box(item: Any, number: int) -> dict[str, Any]:
    if isinstance(item, (list, tuple)) and len(item) == 5:
        item = dict(zip(BOX_FIELDS, item, strict=True))
    if not isinstance(item, dict) or any(k not in item for k in BOX_FIELDS):
        raise InputError(
            f"box {number} ({item!r}) is not a box; give label, x, y, w, h (pixels, "
            "top-left origin)."
        )
    if _missing(item["label"]) or not str(item["label"]).strip():
        raise InputError(f"box {number} has no class; give each box its label.")
    try:
        x, y, w, h = (float(item[k]) for k in BOX_FIELDS[1:])
    except (TypeError, ValueError) as exc:
        raise InputError(f"box {number}: x, y, w, h must be numbers of pixels; got {item!r}.") from exc
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise InputError(
            f"box {number}: needs finite coordinates and a positive width and height; got "
            f"x={x:g}, y={y:g}, w={w:g}, h={h:g}."
        )
    return {"label": str(item["label"]), "x": x, "y": y, "w": w, "h": h}


def box_count(value: Any, *, top: int = 2) -> str:
    """One image's boxes in a few words: ``7 boxes: white-pawn 3, black-rook 2, ...``
    (the ``top`` commonest classes; ``no boxes``; ``no label`` when missing)."""
    boxes = as_boxes(value)
    if boxes is None:
        return "no label"
    if not boxes:
        return "no boxes"
    counts = pd.Series([b["label"] for b in boxes]).value_counts(sort=True)
    shown = ", ".join(f"{c} {n}" for c, n in counts.head(top).items())
    more = ", ..." if len(counts) > top else ""
    return f"{len(boxes)} box{'es' if len(boxes) > 1 else ''}: {shown}{more}"


def boxes_frame(images: Sequence[Any], labels: Iterable[Any]) -> pd.DataFrame:
    """A label column as a boxes frame (one row per box), for the box engines.

    Parameters
    ----------
    images : sequence, length n
        The item id of each label.
    labels : iterable, length n
        Labels of this task (missing labels contribute no box).

    Returns
    -------
    DataFrame, shape (n_boxes, 6)
        ``image``, ``label``, ``x``, ``y``, ``w``, ``h``.
    """
    rows = [{"image": image, **box} for image, value in zip(images, labels, strict=True)
            for box in as_boxes(value) or ()]
    return pd.DataFrame.from_records(rows, columns=["image", *BOX_FIELDS])


def check_in_image(boxes: Sequence[dict[str, Any]], width: float, height: float) -> None:
    """Refuse a box that leaves its image (``width`` x ``height`` pixels).

    Raises
    ------
    InputError
        The first box that starts before 0 or ends past the image's edge.
    """
    for number, box in enumerate(boxes, start=1):
        right, bottom = box["x"] + box["w"], box["y"] + box["h"]
        if box["x"] < -_SAME_PIXELS or box["y"] < -_SAME_PIXELS or \
                right > width + _SAME_PIXELS or bottom > height + _SAME_PIXELS:
            raise InputError(
                f"box {number} ({box['label']}) spans x {box['x']:g}-{right:g}, y "
                f"{box['y']:g}-{bottom:g}: outside the image ({width:g} x {height:g} pixels); "
                "draw it inside the image."
            )


def _geometry(boxes: list[dict[str, Any]]) -> np.ndarray:
    return np.array([[b[k] for k in BOX_FIELDS[1:]] for b in boxes], dtype=float).reshape(-1, 4)


def _canonical(boxes: list[dict[str, Any]] | None) -> list[tuple[Any, ...]] | None:
    if boxes is None:
        return None
    return sorted((b["label"], *(round(b[k] / _SAME_PIXELS) for k in BOX_FIELDS[1:])) for b in boxes)


def _is_box_list(label_type: pa.DataType) -> bool:
    if not (pa.types.is_list(label_type) or pa.types.is_large_list(label_type)):
        return False
    inner = label_type.value_type
    return bool(pa.types.is_struct(inner)) and all(
        inner.get_field_index(name) >= 0 for name in BOX_FIELDS
    )


class DetectionTask(Task):
    """A list of boxes per image."""

    kind = "detection"
    review_widget = "boxes"
    agreement_statistics = ("f1_50", "f1_75", "mean_iou")
    consensus_method = "weighted_box_fusion"
    metrics = ("map", "map50", "map75")
    greater_is_better = True
    curve_start = 8  # a detector learns from a few images: each holds boxes and background

    def check_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> None:
        """Every row holds a list of boxes (an empty list is a valid label), each box
        with a class and a positive width and height.

        Raises
        ------
        InputError
        """
        if not _is_box_list(column.type):
            raise InputError(
                f"{where}: the label column {name!r} holds {column.type}, not lists of boxes "
                "(label, x, y, w, h); import boxes with assay import NAME --boxes FILE "
                "--format coco|yolo|voc|label-studio."
            )
        missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if missing.any():
            raise InputError(
                f"{where}: the label column {name!r} is missing on "
                f"{rows(np.flatnonzero(missing))}; give every image a list of boxes ([] for "
                "none), or remove those rows."
            )
        self._check_box_values(column, name, where, rows)

    def _check_box_values(
        self, column: pa.ChunkedArray, name: str, where: str, rows: RowNamer
    ) -> None:
        flat = pc.list_flatten(column)
        bad = np.asarray(pc.is_null(pc.struct_field(flat, "label")).to_numpy(zero_copy_only=False), bool)
        for key in ("w", "h"):
            size = np.asarray(pc.struct_field(flat, key).to_numpy(zero_copy_only=False), dtype=float)
            bad |= ~(np.nan_to_num(size, nan=-1.0) > 0)
        for key in ("x", "y"):
            bad |= ~np.isfinite(np.asarray(pc.struct_field(flat, key).to_numpy(zero_copy_only=False), float))
        if bad.any():
            parents = pc.list_parent_indices(column).to_numpy()
            raise InputError(
                f"{where}: the label column {name!r} has a box without a class, a finite "
                f"position or a positive size on {rows(np.unique(parents[np.flatnonzero(bad)]))}; "
                "fix or remove those boxes."
            )

    def coerce_label(self, value: Any, label_type: pa.DataType) -> Any:
        """A list of boxes typed by a person (JSON text or a list)."""
        boxes = as_boxes(value)
        if boxes is None:
            raise InputError("a list of boxes is required ([] for none).")
        return boxes

    def check_item_label(self, value: Any, row: Callable[[], Any]) -> None:
        """Each box inside its image (the row's ``width`` x ``height``, when it has them)."""
        boxes, item = as_boxes(value), row() or {}
        width, height = item.get("width", math.nan), item.get("height", math.nan)
        if boxes and not _missing(width) and not _missing(height):
            check_in_image(boxes, float(width), float(height))

    def encode_label(self, value: Any) -> str | None:
        """A list of boxes as JSON text, boxes in their order."""
        boxes = as_boxes(value)
        return None if boxes is None else json.dumps(boxes)

    def decode_label(self, text: str | None) -> Any:
        return None if text is None else as_boxes(json.loads(text))

    def detects(self, label_type: pa.DataType) -> bool:
        """A list of structs with label, x, y, w, h is a detection column."""
        return _is_box_list(label_type)

    def stored_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> pa.ChunkedArray:
        """Lists of boxes as :data:`BOX_LIST_TYPE` (other struct fields dropped); JSON
        text (a CSV export) is parsed. Any other column is returned for
        :meth:`check_labels` to refuse."""
        text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if not (_is_box_list(column.type) or text):
            return column
        values = []
        for position, value in enumerate(column.to_pylist()):
            try:
                values.append(as_boxes(value))
            except InputError as exc:
                raise InputError(f"{where}: the label column {name!r} on "
                                 f"{rows(np.array([position]))}: {exc}") from exc
        return pa.chunked_array([pa.array(values, type=BOX_LIST_TYPE)])

    def label_names(self, column: pa.ChunkedArray) -> list[str] | None:
        """The classes the boxes use, sorted (the dataset's class list)."""
        if not _is_box_list(column.type):
            return None
        classes = pc.unique(pc.struct_field(pc.list_flatten(column), "label")).to_pylist()
        return sorted(str(c) for c in classes if c is not None)

    def unknown_labels(
        self, column: pa.ChunkedArray, allowed: Sequence[str]
    ) -> tuple[int, str] | None:
        """The first image with a box of a class outside ``allowed``, and that class."""
        if not _is_box_list(column.type):
            return None
        classes = pc.struct_field(pc.list_flatten(column), "label").cast(pa.string())
        outside = pc.invert(pc.is_in(classes, value_set=pa.array(list(allowed), pa.string())))
        mask = np.asarray(pc.fill_null(outside, False).to_numpy(zero_copy_only=False), bool)
        if not mask.any():
            return None
        first = int(np.flatnonzero(mask)[0])
        return int(pc.list_parent_indices(column).to_numpy()[first]), str(classes[first].as_py())

    def unknown_names(self, value: Any, allowed: set[str]) -> list[str]:
        """The classes of the boxes that are not ``allowed``."""
        return sorted({b["label"] for b in as_boxes(value) or () if b["label"] not in allowed})

    def same_labels(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """The same boxes in any order (corners within a millionth of a pixel); two
        missing labels are the same."""
        return np.array(
            [_canonical(as_boxes(a)) == _canonical(as_boxes(b)) for a, b in zip(old, new, strict=True)],
            dtype=bool,
        )

    def describe_labels(self, values: pd.Series) -> LabelSummary:
        """Boxes per class, then all boxes, the mean boxes per image and the images
        without boxes."""
        labels = [as_boxes(v) for v in values]
        present = [boxes for boxes in labels if boxes is not None]
        counts: dict[str, int] = {}
        for boxes in present:
            for box in boxes:
                counts[box["label"]] = counts.get(box["label"], 0) + 1
        rows: dict[str, Any] = dict(sorted(counts.items()))
        total = sum(counts.values())
        rows["(all boxes)"] = total
        rows["(boxes per image)"] = round(total / len(present), 2) if present else 0.0
        rows["(images without boxes)"] = sum(1 for boxes in present if not boxes)
        return LabelSummary(("class", "boxes"), rows)

    def show_label(self, value: Any) -> str:
        """``3 boxes: dog, raccoon ×2`` (classes with their counts)."""
        try:
            boxes = as_boxes(value) if value is not None else None
        except InputError:
            return str(value)
        if boxes is None:
            return ""
        per_class: dict[str, int] = {}
        for box in boxes:
            per_class[box["label"]] = per_class.get(box["label"], 0) + 1
        shown = ", ".join(f"{n} ×{k}" if k > 1 else n for n, k in sorted(per_class.items()))
        count = f"{len(boxes)} box{'es' if len(boxes) != 1 else ''}"
        return count + (f": {shown}" if shown else "")

    def describe_change(self, old: Any, new: Any) -> str:
        """Box by box: boxes paired by IoU (any class); ``box added (cls)``, ``box 2
        removed (cls)``, ``box 3 moved (IoU 0.62 with the old one)``, ``box 1 class
        changed a -> b``. Boxes are numbered from 1 in the old label's order."""
        before, after = as_boxes(old), as_boxes(new)
        if before is None or after is None:
            shown = ["missing" if b is None else f"{len(b)} box(es)" for b in (before, after)]
            return f"relabeled {shown[0]} -> {shown[1]}"
        rows, cols, ious = match_pair(_geometry(before), _geometry(after))
        parts = []
        for i, j, iou in zip(rows.tolist(), cols.tolist(), ious.tolist(), strict=True):
            parts.extend(_pair_change(i + 1, before[i], after[j], iou))
        parts += [f"box {i + 1} removed ({before[i]['label']})"
                  for i in sorted(set(range(len(before))) - set(rows.tolist()))]
        parts += [f"box added ({after[j]['label']})"
                  for j in sorted(set(range(len(after))) - set(cols.tolist()))]
        return ", ".join(parts) or "unchanged"

    # -- engines --------------------------------------------------------------------

    @property
    def agreement(self) -> Callable[..., Any]:
        """Box agreement of long-format annotations (item, annotator, list of boxes):
        :func:`assay.tasks._detection_engines.detection_agreement` over
        :func:`assay.collect.agreement_boxes.box_agreement`."""
        from assay.tasks._detection_engines import detection_agreement

        return detection_agreement

    @property
    def consensus(self) -> Callable[..., Any]:
        """Consensus boxes per item by labeler-aware weighted box fusion:
        :func:`assay.tasks._detection_engines.detection_consensus` over
        :func:`assay.collect.consensus_boxes.box_consensus`."""
        from assay.tasks._detection_engines import detection_consensus

        return detection_consensus

    def find_label_issues(
        self, labels: Any, predictions: Any, *, classes: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Overlooked, badly located, swapped and spurious boxes from a detector's scored
        boxes, one row per image with the corrected boxes as ``suggested_label``
        (:func:`assay.tasks._detection_model.detection_label_issues`; option ``ids``)."""
        from assay.tasks._detection_model import detection_label_issues

        return detection_label_issues(labels, predictions, classes=classes, **options)

    def score(self, y_true: Any, y_pred: Any, *, seed: int = 0) -> dict[str, Interval]:
        """COCO mAP, AP50 and AP75 with bootstrap intervals over the images
        (:func:`assay.tasks._detection_model.score_boxes`)."""
        from assay.tasks._detection_model import score_boxes

        return score_boxes(y_true, y_pred, seed=seed)

    def headline_score(self, y_true: Any, y_pred: Any) -> float:
        """COCO mAP, no interval (:func:`assay.tasks._detection_model.map_point`)."""
        from assay.tasks._detection_model import map_point

        return map_point(y_true, y_pred)

    def evaluate_predictions(
        self, y_true: Any, y_pred: Any, *, classes: Any = None, tags: Any = None,
        ids: Any = None, hlp: float | None = None, n_boot: int = 1000, seed: int = 0,
    ) -> Any:
        """mAP, AP50, AP75 with image-bootstrap intervals, per class and per tag
        (:func:`assay.tasks._detection_eval.evaluate_detection`)."""
        from assay.tasks._detection_eval import evaluate_detection

        return evaluate_detection(y_true, y_pred, ids=ids, tags=tags, n_boot=n_boot, seed=seed)

    def read_predictions(self, path: Any, *, labels: Any, ids: Any, names: Any,
                         mapping: Any = None) -> Any:
        """A detector's boxes, one list per item
        (:func:`assay.tasks._detection_results.read_detector_boxes`)."""
        from assay.tasks._detection_results import read_detector_boxes

        classes = sorted({str(b["label"]) for v in labels for b in as_boxes(v) or []})
        return read_detector_boxes(path, ids=ids, names=names, classes=classes, coco=mapping)

    def slice_columns(self, frame: Any, *, label: str, media: str | None,
                      root: str | None) -> Any:
        """Image size, box size, box count, brightness, source
        (:func:`assay.tasks._detection_slices.detection_slice_columns`)."""
        from assay.tasks._detection_slices import detection_slice_columns

        return detection_slice_columns(
            frame[label].tolist(), width=frame.get("width"), height=frame.get("height"),
            paths=None if media is None else frame[media].tolist(), root=root,
        ).set_axis(frame.index)

    def out_of_sample(
        self, model: Any, X: Any, y: Any, *, cv: int = 5, seed: int = 0,
        n_jobs: int | None = None, modality: str = "image",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each image's boxes from the detection recipe ``model`` fitted on the other
        folds (:func:`assay.tasks._detection_eval.cross_val_boxes`); both results are
        the scored boxes. Refused without a model: boxes then come from the user's
        detector."""
        if model is None:
            raise InputError(
                "the detection task has no default model to predict boxes; give a "
                "detection recipe (--recipe hog), or run your detector and give its boxes "
                "as predictions (COCO result JSON or a boxes table with score)."
            )
        from assay.tasks._detection_eval import cross_val_boxes

        boxes = cross_val_boxes(model, X, y, cv=cv, seed=seed)
        return boxes, boxes

    def slice_inputs(self, evaluation: Any) -> tuple[Any, Any, Any]:
        """Items, items with an error, and mAP over a multiset of items
        (:func:`assay.tasks._detection_eval.detection_slice_inputs`)."""
        from assay.tasks._detection_eval import detection_slice_inputs

        return detection_slice_inputs(evaluation)

    def evaluation_from_dict(self, data: Any) -> Any:
        """:meth:`DetectionEvaluation.from_dict`."""
        from assay.tasks._detection_eval import DetectionEvaluation

        return DetectionEvaluation.from_dict(data)

    def compare(
        self, eval_a: Any, eval_b: Any, *, names: tuple[str, str] = ("A", "B"),
        n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
    ) -> Any:
        """Paired bootstrap over images on mAP
        (:func:`assay.tasks._detection_eval.compare_detection`)."""
        from assay.tasks._detection_eval import compare_detection

        return compare_detection(eval_a, eval_b, names=names, n_boot=n_boot, seed=seed,
                                 alpha=alpha)

    def label_drift(self, reference: pd.Series, current: pd.Series) -> Any:
        """Drift of boxes per image, box size, aspect and class mix
        (:func:`assay.tasks._detection_model.box_label_drift`)."""
        from assay.tasks._detection_model import box_label_drift

        return box_label_drift(reference, current)

    @property
    def performance_watch(self) -> Any:
        """:class:`assay.deploy.watch_boxes.BoxWatch`: the detector's boxes come with each
        batch (no recipe); image and box drift, realised mAP, review scores."""
        from assay.deploy.watch_boxes import BoxWatch

        return BoxWatch()


def _pair_change(number: int, old: dict[str, Any], new: dict[str, Any], iou: float) -> list[str]:
    parts = []
    moved = np.abs(_geometry([old]) - _geometry([new])).max() > _SAME_PIXELS
    if moved:
        parts.append(f"box {number} moved (IoU {iou:.2f} with the old one)")
    if old["label"] != new["label"]:
        parts.append(f"box {number} class changed {old['label']} -> {new['label']}")
    return parts
