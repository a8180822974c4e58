"""What a production monitor does with a detection dataset: images and boxes per batch.

A detector is the user's own (the fixed HOG recipe, or any other): its boxes come in
each batch, one list of scored boxes per image in the ``prediction`` column (JSON
``[{"label", "x", "y", "w", "h", "score"}, ...]``), so :class:`BoxWatch` needs no
recipe. Each image's file is named by the media column (a path relative to the batch
file's folder or to the reference's media root, or absolute). Per window the watch

* tests **image drift**: brightness and contrast of the batch's images against the
  reference's (their width and height are tested as the monitor's ordinary columns);
* tests **box drift** of the labels once they arrive (boxes per image, box area as a
  share of the image, aspect, class mix; :func:`assay.deploy.drift_boxes.box_drift`),
  on the labelled images;
* computes **realised mAP** (AP@[.5:.95], AP50, AP75, with image-bootstrap intervals)
  of the detector's boxes on the labelled images;
* scores each image for review: its **confidence** (the detector's best box score,
  in [0, 1]: scores outside [0, 1], such as SVM margins, pass through a logistic) and a
  **drift score** (how far its brightness and contrast lie in the reference's tails).

Given the detector's boxes on the reference images when the monitor is made (out of
sample), the watch also tests the **predicted boxes** of each batch (its confident
boxes, confidence >= 0.5) for drift, labels or not, and alerts when the realised mAP's
interval lies below the reference's mAP. Without them, predicted boxes are not tested
and realised mAP is reported with its interval only. No mAP is estimated before labels
come.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.deploy.drift_boxes import (
    IMAGE_STATISTICS,
    box_drift,
    box_profiles,
    box_tables,
    image_statistics,
    outlier_scores,
)
from assay.deploy.performance import PerformanceWatch
from assay.deploy.report import DriftReport
from assay.exceptions import InputError

__all__ = ["BoxWatch"]

#: The batch column holding the detector's scored boxes.
PREDICTION = "prediction"
#: Boxes at or above this confidence (after the logistic) are suggested for review.
SUGGEST_AT = 0.5


def _loads(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else None
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return list(value)


def _as_text(
    values: pd.Series, what: str, where: Callable[[int], str], score: bool
) -> list[str | None]:
    """Box lists (lists or JSON text) as checked JSON text; missing stays None."""
    from assay.tasks._detection_engines import flatten_boxes

    out: list[str | None] = []
    for position, value in enumerate(values.tolist()):
        try:
            boxes = _loads(value)
        except json.JSONDecodeError:
            raise InputError(
                f"{what} {where(position)} is not JSON; write a list of boxes, "
                'e.g. [{"label": "cat", "x": 1, "y": 2, "w": 30, "h": 40'
                + (', "score": 0.9' if score else "")
                + "}]."
            ) from None
        if boxes is None:
            out.append(None)
            continue
        named = f"{what} {where(position)}"
        frame, _ = flatten_boxes([boxes], _Named(named), extra=["score"] if score else [])
        if score and frame["score"].isna().any():
            raise InputError(
                f"{what} {where(position)}: a box has no score; give each of "
                "the detector's boxes its confidence as score."
            )
        out.append(json.dumps(frame.to_dict("records")))
    return out


class _Named:
    """Names every row of one batch row's boxes the same way in messages."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, position: int) -> str:
        return self.text


def _boxes(values: Any) -> list[list[dict[str, Any]]]:
    return [json.loads(v) if isinstance(v, str) else [] for v in values]


def _confidence(scores: np.ndarray) -> np.ndarray:
    """Scores as confidences in [0, 1] (a logistic when some lie outside)."""
    if len(scores) and (scores.min() < 0 or scores.max() > 1):
        return np.asarray(1.0 / (1.0 + np.exp(-scores)))
    return scores


class BoxWatch(PerformanceWatch):
    """Monitoring of a detection dataset: image and box drift, realised mAP, review
    scores; the detector's boxes come with each batch (no recipe)."""

    metric = "map"
    prediction_profiled = False
    #: The monitor runs this watch without a recipe: the batch carries the predictions.
    needs_model = False

    def reference(
        self, model: Any, features: pd.DataFrame, labels: pd.Series, *, seed: int = 0
    ) -> tuple[Any, dict[str, Any]]:
        raise InputError(
            "a detection monitor reads the detector's boxes from each batch's "
            f"{PREDICTION!r} column; create it without a recipe."
        )

    def reference_batch(
        self,
        frame: pd.DataFrame,
        *,
        label: str,
        media: str | None,
        root: str | None,
        predictions: list[Any] | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """The monitor's state: profiles of the reference's images and label boxes.

        Parameters
        ----------
        frame : DataFrame
            The reference rows (media paths relative to ``root``, ``width``, ``height``).
        label, media : str
            The label and media columns.
        root : str
            The folder the media paths are relative to.
        predictions : list, optional
            The detector's scored boxes on each reference image (out of sample, as it
            would see new images): its confident boxes (confidence >= 0.5) are profiled,
            so that each batch's predicted boxes are tested for drift, and its mAP on the
            reference is what realised mAP is compared with.
        """
        if media is None or media not in frame.columns or not root:
            raise InputError(
                "the reference has no image files (media column); a detection "
                "monitor reads its images: import it with --images."
            )
        paths = {i: str(Path(root) / str(p)) for i, p in enumerate(frame[media])}
        stats = image_statistics(paths).reset_index(drop=True)
        per_image, per_box = self._tables(frame[label], frame["width"], frame["height"])
        profiles = box_profiles(pd.concat([stats, per_image], axis=1), per_box, seed=seed)
        state = {
            "batch_watch": True,
            "media": media,
            "media_root": str(root),
            "label": label,
            "box_profiles": profiles,
        }
        if predictions is not None:
            state.update(self._reference_predictions(frame, label, predictions, seed))
        return state

    def _reference_predictions(
        self, frame: pd.DataFrame, label: str, predictions: list[Any], seed: int
    ) -> dict[str, Any]:
        """Profiles of the detector's confident boxes on the reference, and its mAP."""
        from assay.tasks._detection_model import score_boxes

        if len(predictions) != len(frame):
            raise InputError(
                f"predictions hold {len(predictions)} lists of boxes for "
                f"{len(frame)} reference images; give one list per image."
            )
        per_image, per_box = self._tables(
            _decided(predictions), frame["width"], frame["height"], prefix=PREDICTION
        )
        labels = [json.loads(v) if isinstance(v, str) else v for v in frame[label]]
        reference = score_boxes(labels, predictions, seed=seed)["map"]
        return {
            "prediction_profiles": box_profiles(per_image, per_box, seed=seed),
            "reference_map": float(reference["value"]),
            "reference_map_interval": [float(reference["low"]), float(reference["high"])],
        }

    @staticmethod
    def _tables(
        values: Any, width: Any, height: Any, prefix: str = "label"
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        from assay.tasks._detection_engines import label_frame

        boxes, _ = label_frame([json.loads(v) if isinstance(v, str) else v for v in values])
        return box_tables(boxes, list(width), list(height), prefix=prefix)

    def prepare(
        self,
        batch: pd.DataFrame,
        state: dict[str, Any],
        *,
        base: Path | None,
        where: Callable[[int], str],
    ) -> pd.DataFrame:
        """The batch as the monitor checks and stores it: image paths relative to the
        reference's media root when the file lies under it (so review pages can show it),
        else absolute (relative ones are found next to the batch file first), the
        image size filled in from the files when not sent, labels and predictions as
        checked JSON text.

        Raises
        ------
        InputError
            No media column, a missing image, boxes that are not boxes.
        """
        media, label = state["media"], state["label"]
        if media not in batch.columns:
            raise InputError(
                f"the batch has no {media!r} column; send each image's file "
                f"path in {media!r} (and the detector's boxes in {PREDICTION!r})."
            )
        out = batch.copy()
        out[media] = [
            self._path(p, base, state["media_root"], where(i))
            for i, p in enumerate(batch[media].tolist())
        ]
        for side in ("width", "height"):
            if side not in out.columns:
                out[side] = [_size(p)[side == "height"] for p in out[media]]
        out[media] = [_under(p, state["media_root"]) for p in out[media]]
        if label in out.columns:
            out[label] = _as_text(out[label], f"column {label!r}", where, score=False)
        if PREDICTION in out.columns:
            out[PREDICTION] = _as_text(out[PREDICTION], f"column {PREDICTION!r}", where, score=True)
        return out

    @staticmethod
    def _path(value: Any, base: Path | None, root: str, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"the image path {where} is empty; give each row its image file.")
        path = Path(value)
        tried = (
            [path]
            if path.is_absolute()
            else [*([base / path] if base is not None else []), Path(root) / path]
        )
        for candidate in tried:
            if candidate.is_file():
                return str(candidate.resolve())
        raise InputError(
            f"image {value!r} {where} does not exist (looked in "
            f"{', '.join(str(t.parent) for t in tried)}); send the file or fix "
            "the path."
        )

    def estimator(self, state: dict[str, Any], features: pd.DataFrame, labels: pd.Series) -> Any:
        return None

    def predict(
        self, model: Any, features: pd.DataFrame, state: dict[str, Any]
    ) -> tuple[Any, dict[str, Any], Any]:
        """The batch's own predictions, and per image its statistics, confidence, drift
        score and the boxes suggested for review."""
        from assay.deploy.profile import Profile

        root = Path(state["media_root"])
        files = {i: root / p for i, p in enumerate(features[state["media"]])}  # absolute stays
        stats = image_statistics(files).reset_index(drop=True)
        sent = PREDICTION in features.columns
        predicted = _boxes(features[PREDICTION]) if sent else [[] for _ in range(len(stats))]
        top = np.array([max((b["score"] for b in boxes), default=-np.inf) for boxes in predicted])
        images = Profile.from_dict(state["box_profiles"]["images"])
        extra: dict[str, Any] = {name: stats[name].to_numpy() for name in IMAGE_STATISTICS}
        extra["drift_score"] = outlier_scores(images, stats)
        if sent:
            extra["confidence"] = _confidence(np.where(np.isfinite(top), top, 0.0))
            extra["confidence"][~np.isfinite(top)] = 0.0
            extra["suggestion"] = [
                json.dumps(_suggested(boxes, float(w), float(h)))
                for boxes, w, h in zip(
                    predicted, features["width"], features["height"], strict=True
                )
            ]
        column = features[PREDICTION].tolist() if sent else [None] * len(stats)
        return column, extra, {"stats": stats, "predicted": predicted if sent else None}

    def performance(
        self,
        estimator: Any,
        state: dict[str, Any],
        features: pd.DataFrame,
        outputs: Any,
        predictions: Any,
        labels: pd.Series | None,
        detector: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Image and box drift, and realised mAP on the labelled images."""
        profiles = state["box_profiles"]
        stats: pd.DataFrame = outputs["stats"]
        reports = [box_drift(profiles, stats, pd.DataFrame())]
        known = (
            np.zeros(len(stats), dtype=bool)
            if labels is None
            else np.asarray(labels.notna().to_numpy(), dtype=bool)
        )
        out: dict[str, Any] = {"estimated": {}, "n_labelled": int(known.sum())}
        if known.any():
            values = [labels.iloc[i] for i in np.flatnonzero(known)]  # type: ignore[union-attr]
            per_image, per_box = self._tables(
                values, features["width"].to_numpy()[known], features["height"].to_numpy()[known]
            )
            reports.append(box_drift(profiles, per_image, per_box))
            if outputs["predicted"] is not None:
                out["realised"] = _realised(
                    values, [outputs["predicted"][i] for i in np.flatnonzero(known)]
                )
        if "prediction_profiles" in state and outputs["predicted"] is not None:
            per_image, per_box = self._tables(
                _decided(outputs["predicted"]),
                features["width"],
                features["height"],
                prefix=PREDICTION,
            )
            reports.append(box_drift(state["prediction_profiles"], per_image, per_box))
            out["reference_map"] = state["reference_map"]
        merged = _merge(reports)
        out["drifted_statistics"] = merged.drifted_columns
        out["columns"] = _records(merged)  # shown with the window's drift columns
        return out

    def alerts(
        self, perf: dict[str, Any], state: dict[str, Any], limits: dict[str, float]
    ) -> list[str]:
        """Image drift and box drift, each naming the drifted statistics."""
        drifted = perf["drifted_statistics"]
        image = [c for c in drifted if c in IMAGE_STATISTICS]
        boxes = [c.split(":", 1)[-1] for c in drifted if c.startswith(f"{state['label']}:")]
        predicted = [c.split(":", 1)[-1] for c in drifted if c.startswith(f"{PREDICTION}:")]
        alerts = []
        if image:
            alerts.append(f"image drift: {', '.join(image)} changed")
        if boxes:
            alerts.append(f"box drift ({perf['n_labelled']} labelled): {', '.join(boxes)}")
        if predicted:
            alerts.append(f"prediction drift (confident boxes): {', '.join(predicted)}")
        realised, reference = perf.get("realised", {}), state.get("reference_map")
        if realised and reference is not None and realised["map_high"] < reference:
            alerts.append(
                f"realised map {realised['map']:.3f} (high {realised['map_high']:.3f}) "
                f"is below the reference's {reference:.3f}"
            )
        return alerts


def _decided(predicted: list[Any]) -> list[list[dict[str, Any]]]:
    """Each image's confident boxes (confidence >= :data:`SUGGEST_AT`; the logistic is
    applied when any score of the batch lies outside [0, 1])."""
    scores = np.array([b["score"] for boxes in predicted for b in boxes], dtype=float)
    keep = iter(_confidence(scores) >= SUGGEST_AT)
    return [[b for b in boxes if next(keep)] for boxes in predicted]


def _under(path: str, root: str) -> str:
    """``path`` relative to ``root`` (POSIX) when it lies under it, else as it is."""
    try:
        return Path(path).relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return path


def _size(path: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as pil:
        return int(pil.width), int(pil.height)


def _suggested(boxes: list[dict[str, Any]], width: float, height: float) -> list[dict[str, Any]]:
    """The boxes a reviewer is offered: those at or above :data:`SUGGEST_AT`, cut to
    the image (boxes left with no area are dropped)."""
    if not boxes:
        return []
    conf = _confidence(np.array([b["score"] for b in boxes], dtype=float))
    out = []
    for box, c in zip(boxes, conf, strict=True):
        x0, y0 = max(box["x"], 0.0), max(box["y"], 0.0)
        x1, y1 = min(box["x"] + box["w"], width), min(box["y"] + box["h"], height)
        if c >= SUGGEST_AT and x1 > x0 and y1 > y0:
            out.append({"label": box["label"], "x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0})
    return out


def _realised(labels: list[Any], predicted: list[list[dict[str, Any]]]) -> dict[str, Any]:
    from assay.deploy.performance import realised_scores
    from assay.tasks._detection_model import score_boxes

    truth = [_boxes([v])[0] if isinstance(v, str) else v for v in labels]
    table = realised_scores(score_boxes, truth, predicted)
    return {str(k): float(v) for k, v in table.iloc[0].to_dict().items()}


def _merge(reports: list[DriftReport]) -> DriftReport:
    table = pd.concat([r.columns for r in reports])
    charts = {k: v for r in reports for k, v in r.charts.items()}
    return DriftReport.build(table, charts, list(table.index), 1.0, reports[0].params)


def _records(report: DriftReport) -> list[dict[str, Any]]:
    """The drift table's rows, ``role`` naming what they describe (image, label boxes,
    predicted boxes)."""
    rows = report.to_dict()["columns"]
    for row in rows:
        column = str(row["column"])
        row["role"] = (
            "image"
            if column in IMAGE_STATISTICS
            else "predicted boxes"
            if column.startswith(f"{PREDICTION}:")
            else "label boxes"
        )
    return rows
