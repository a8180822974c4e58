"""What a detector's predictions say about a detection dataset: label issues per image,
mAP with intervals, and drift of box statistics (see :mod:`assay.tasks._detection_engines`
for the collect side). Engines are imported when first used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay.tasks._detection_engines import holds_box_dicts, label_frame, scored_boxes
from assay.tasks.base import Interval
from assay.tasks.detection import BOX_FIELDS, as_boxes

__all__ = [
    "box_label_drift", "box_statistics", "detection_label_issues", "map_point", "score_boxes",
]

_GEOMETRY = list(BOX_FIELDS[1:])
#: Bootstrap resamples of the images for the intervals of :func:`score_boxes`.
N_BOOT = 500


def detection_label_issues(
    labels: Any, predictions: Any, *, classes: Sequence[Any] | None = None,
    ids: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Box label issues (:func:`assay.train.labels._boxes.find_box_issues`) reduced to
    one row per item.

    Parameters
    ----------
    labels : sequence of length n
        Each item's list of boxes.
    predictions : DataFrame or sequence of length n
        The detector's scored boxes (see :func:`assay.tasks._detection_engines.scored_boxes`).
    classes : sequence, optional
        The known classes.
    ids : sequence of length n, optional
        Item ids, when a predictions frame names images by id.

    Returns
    -------
    DataFrame, shape (n, 10)
        ``is_label_issue`` (some box of the item is an issue), ``label_quality`` (the
        lowest quality of the item's boxes and overlooked candidates; 1 without any),
        ``given_label`` (its boxes), ``suggested_label`` (the boxes with every issue
        corrected: a badly located box moved to the prediction, a swapped class
        changed, a spurious box deleted, an overlooked object added), ``issues`` (the
        kinds and counts, e.g. ``overlooked 1, swapped 1``), ``n_issues`` and one count
        per kind. ``attrs["boxes"]`` holds the per-box table.
    """
    from assay.train.labels._boxes import BOX_ISSUE_KINDS, find_box_issues

    lab, n = label_frame(labels)  # checks every box
    given = [list(v) if holds_box_dicts(v) else as_boxes(v) or [] for v in labels]
    table = find_box_issues(lab, scored_boxes(predictions, n, ids), classes=classes)
    flagged = table[table["is_label_issue"].to_numpy(bool)]
    counts = pd.crosstab(flagged["image"], flagged["issue"]).reindex(range(n), fill_value=0)
    out = pd.DataFrame({
        "is_label_issue": np.zeros(n, dtype=bool),
        "label_quality": table.groupby("image")["label_quality"].min()
        .reindex(range(n), fill_value=1.0).to_numpy(dtype=float),
        "given_label": given,
        "suggested_label": _corrected(given, flagged),
    })
    for kind in BOX_ISSUE_KINDS:
        out[kind] = counts[kind].to_numpy(np.int64) if kind in counts else 0
    out["n_issues"] = out[list(BOX_ISSUE_KINDS)].sum(axis=1)
    out["is_label_issue"] = out["n_issues"].to_numpy() > 0
    out["issues"] = [", ".join(f"{k.replace('_', ' ')} {row[k]}" for k in BOX_ISSUE_KINDS
                               if row[k]) for row in out[list(BOX_ISSUE_KINDS)].to_dict("records")]
    out.attrs["boxes"] = table
    return out


def _corrected(given: list[list[dict[str, Any]]], flagged: pd.DataFrame) -> list[list[Any]]:
    """Each item's boxes with the flagged issues applied (label rows in item order)."""
    starts = np.concatenate([[0], np.cumsum([len(b) for b in given])])
    out = [[dict(box) for box in boxes] for boxes in given]
    dropped: set[tuple[int, int]] = set()
    for row in flagged.to_dict("records"):
        item = int(row["image"])
        suggested = {"label": str(row["suggested_label"]),
                     **{k: float(row[f"suggested_{k}"]) for k in _GEOMETRY}}
        if row["label_row"] < 0:
            out[item].append(suggested)
            continue
        box = int(row["label_row"]) - int(starts[item])
        if row["issue"] == "spurious":
            dropped.add((item, box))
        elif row["issue"] == "swapped":
            out[item][box]["label"] = suggested["label"]
        elif row["issue"] == "badly_located":
            out[item][box].update({k: suggested[k] for k in _GEOMETRY})
    return [[b for j, b in enumerate(boxes) if (i, j) not in dropped]
            for i, boxes in enumerate(out)]


def score_boxes(y_true: Any, y_pred: Any, *, seed: int = 0,
                n_boot: int = N_BOOT) -> dict[str, Interval]:
    """COCO ``map`` (AP@[.5:.95]), ``map50`` and ``map75`` with percentile intervals of
    a bootstrap over the images (:func:`assay.train.evaluate._detection.mean_average_precision`).

    ``y_true`` is each item's list of boxes, ``y_pred`` the detector's scored boxes
    (one list per item, or a frame keyed by item position); boxes without a score
    score 1, so they rank as ties (predicted labels without confidences)."""
    from assay.train.evaluate._detection import mean_average_precision

    lab, n = label_frame(y_true)
    result = mean_average_precision(lab, scored_boxes(y_pred, n, default_score=1.0),
                                    images=range(n),
                                    n_boot=n_boot, seed=seed)
    method = f"bootstrap over {n} images ({n_boot} resamples)"
    return {name: {"value": float(result[name]), "low": float(result.intervals[name][0]),
                   "high": float(result.intervals[name][1]), "method": method}
            for name in ("map", "map50", "map75")}


def map_point(y_true: Any, y_pred: Any) -> float:
    """COCO ``map`` without intervals (learning curves, slices: many calls)."""
    from assay.train.evaluate._detection import mean_average_precision

    lab, n = label_frame(y_true)
    preds = scored_boxes(y_pred, n, default_score=1.0)
    return float(mean_average_precision(lab, preds, images=range(n))["map"])


def box_statistics(labels: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The box statistics of a label column whose drift is tested.

    Returns
    -------
    per_image : DataFrame, shape (n_items, 1)
        ``NAME:boxes_per_image``.
    per_box : DataFrame, shape (n_boxes, 3)
        ``NAME:box_size`` (square root of the area, pixels), ``NAME:box_aspect``
        (log2 of width over height) and ``NAME:class``.
    """
    name = str(labels.name) if labels.name is not None else "label"
    lists = [as_boxes(v) or [] for v in labels]
    boxes = [b for item in lists for b in item]
    w = np.array([b["w"] for b in boxes], dtype=float)
    h = np.array([b["h"] for b in boxes], dtype=float)
    per_image = pd.DataFrame({f"{name}:boxes_per_image": [float(len(b)) for b in lists]})
    per_box = pd.DataFrame({f"{name}:box_size": np.sqrt(w * h),
                            f"{name}:box_aspect": np.log2(w / h),
                            f"{name}:class": [b["label"] for b in boxes]})
    return per_image, per_box


def box_label_drift(reference: pd.Series, current: pd.Series) -> Any:
    """Drift of boxes per image (per image), box size, aspect and class mix (per box),
    each a column of :func:`assay.deploy.drift.drift` (numeric: Kolmogorov-Smirnov and
    Wasserstein; class: chi-square and Jensen-Shannon). The two families are corrected
    for multiple testing separately; the labels drifted when any column did. When one
    side has no box at all, only boxes per image is tested."""
    from assay.deploy.drift import drift
    from assay.deploy.report import DriftReport

    (ref_img, ref_box), (cur_img, cur_box) = box_statistics(reference), box_statistics(current)
    kinds = {c: ("categorical" if c.endswith(":class") else "numeric")
             for c in [*ref_img.columns, *ref_box.columns]}
    pairs = [(ref_img, cur_img)] + ([(ref_box, cur_box)] if len(ref_box) and len(cur_box)
                                    else [])  # no box on a side: boxes per image says so
    reports = [drift(ref, cur, column_types={c: kinds[c] for c in ref.columns})
               for ref, cur in pairs]
    table = pd.concat([r.columns for r in reports])
    charts = {k: v for r in reports for k, v in r.charts.items()}
    params = {**reports[-1].params, "n_ref_images": len(ref_img), "n_cur_images": len(cur_img)}
    return DriftReport.build(table, charts, list(table.index), 1.0, params)
