"""Audit a detection dataset with a detector's boxes: box label issues per image, queued.

The user's detector supplies the predictions (a COCO result JSON, a COCO file whose
annotations carry a ``score``, or a CSV / Parquet boxes table with ``score``); the
dataset's task finds overlooked, badly located, swapped and spurious boxes
(:meth:`assay.tasks.detection.DetectionTask.find_label_issues`) and each flagged image
enters the review queue with its corrected boxes as the suggestion.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from assay.exceptions import InputError
from assay.store.workspace import Workspace
from assay.workflows._box_annotations import item_names

__all__ = ["BoxAudit", "read_box_predictions", "run_box_audit"]

_COLUMNS = ["image", "label", "x", "y", "w", "h", "score"]


@dataclass(frozen=True)
class BoxAudit:
    """Box label issues of one dataset version.

    Attributes
    ----------
    ref : str
        The audited version.
    items : DataFrame, one row per image, most suspicious first
        ``item_id`` and the task's issue table (``label_quality``, ``issues``, ...).
    queued : int
        Images entered into the review queue.
    seconds : float
    """

    ref: str
    items: pd.DataFrame
    queued: int
    seconds: float

    @property
    def flagged(self) -> pd.DataFrame:
        """The images with a box label issue."""
        return self.items[self.items["is_label_issue"]]

    def to_dict(self, k: int = 20) -> dict[str, Any]:
        """JSON-ready: counts per kind and the ``k`` most suspicious images."""
        kinds = ["overlooked", "badly_located", "swapped", "spurious"]
        top = self.flagged.head(k)
        return {
            "ref": self.ref, "n_images": len(self.items), "n_flagged": len(self.flagged),
            "issues": {kind: int(self.items[kind].sum()) for kind in kinds},
            "queued": self.queued,
            "worst": [{"item_id": str(r["item_id"]), "label_quality": float(r["label_quality"]),
                       "issues": r["issues"]} for r in top.to_dict("records")],
        }


def _records(path: Path) -> pd.DataFrame:
    """COCO results (a list) or a COCO file with scored annotations, as raw records."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc}); give a COCO result JSON.") from exc
    if isinstance(data, dict) and "annotations" in data:
        files = {i["id"]: i.get("file_name", i["id"]) for i in data.get("images", [])}
        names = {c["id"]: c["name"] for c in data.get("categories", [])}
        rows = [{**a, "image_id": files.get(a.get("image_id"), a.get("image_id")),
                 "category_id": names.get(a.get("category_id"), a.get("category_id"))}
                for a in data["annotations"]]
    elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
        rows = data
    else:
        raise InputError(f"{path}: neither a COCO result list nor a COCO file with "
                         "annotations; export the detector's boxes as COCO results.")
    return pd.DataFrame(rows)


def _coco_frame(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    missing = [k for k in ("image_id", "bbox", "score") if k not in raw.columns]
    label = next((k for k in ("category_name", "label", "category_id") if k in raw.columns), None)
    if missing or label is None:
        raise InputError(f"{path}: predictions lack {', '.join(missing) or 'a class'}; each "
                         "needs image_id, category_id (the class name), bbox [x, y, w, h], score.")
    if raw[label].map(lambda v: isinstance(v, int)).any():
        raise InputError(f"{path}: category_id is a number but the file names no categories; "
                         "give the class name, or a COCO file with categories.")
    bad = raw["bbox"].map(lambda b: not isinstance(b, list) or len(b) != 4)
    if bad.any():
        raise InputError(f"{path}: prediction {int(bad.to_numpy().argmax()) + 1} has bbox "
                         f"{raw['bbox'][bad].iloc[0]!r}; give [x, y, width, height] in pixels.")
    xywh = pd.DataFrame(raw["bbox"].tolist(), columns=["x", "y", "w", "h"], dtype=float)
    return pd.concat([pd.DataFrame({"image": raw["image_id"], "label": raw[label].astype(str)}),
                      xywh, raw[["score"]].astype(float)], axis=1)


def read_box_predictions(path: Path) -> pd.DataFrame:
    """A detector's boxes as a frame ``image``, ``label``, ``x``, ``y``, ``w``, ``h``,
    ``score`` (``image`` as the file names it: an item id or an image file name).

    Raises
    ------
    InputError
        An unreadable file, a missing field, or a numeric class without categories.
    """
    if not path.is_file():
        raise InputError(f"{path} does not exist; give the detector's COCO result JSON.")
    if path.suffix.lower() == ".json":
        return _coco_frame(_records(path), path)
    frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; give image, label, "
                         "x, y, w, h (pixels) and score.")
    return frame[_COLUMNS]


def run_box_audit(ws: Workspace, ref: str, predictions: Path, *, queue: bool = True) -> BoxAudit:
    """Find box label issues in ``ref`` from a detector's ``predictions`` and queue the
    flagged images (source ``label_issue``); the run is recorded as a ``box_audit``
    analysis.

    Raises
    ------
    InputError
        Not a detection dataset, bad predictions, or predictions on unknown images.
    """
    start = time.perf_counter()
    version = ws.dataset(ref)
    if version.task.kind != "detection":
        raise InputError(f"{ref} holds {version.task.kind} labels; box predictions audit a "
                         "detection dataset (give pred_probs for other kinds).")
    frame = version.to_pandas()
    preds = read_box_predictions(predictions)
    names = item_names(version, frame)
    preds = preds.assign(image=preds["image"].astype(str).map(lambda v: names.get(v, v)))
    ids = frame[version.roles.id].astype(str).to_numpy()
    table = version.task.find_label_issues(frame[version.roles.label], preds, ids=list(ids))
    table.insert(0, "item_id", ids)
    table = table.sort_values("label_quality", kind="mergesort")
    queued = _queue(ws, version.name, table) if queue else 0
    audit = BoxAudit(version.ref, table, queued, time.perf_counter() - start)
    ws.record_analysis("box_audit", audit.to_dict(), dataset=version.name,
                       params={"predictions": str(predictions)},
                       duration_s=audit.seconds)
    return audit


def _queue(ws: Workspace, dataset: str, table: pd.DataFrame) -> int:
    flagged = table[table["is_label_issue"]]
    entries = pd.DataFrame({
        "item_id": flagged["item_id"].to_numpy(),
        "reason": ("box label issues: " + flagged["issues"]).to_numpy(),
        "score": flagged["label_quality"].clip(0, 1).to_numpy(dtype=float),
        "given_label": flagged["given_label"].to_numpy(),
        "suggested_label": flagged["suggested_label"].to_numpy(),
    })
    return ws.review.add(dataset, entries, source="label_issue") if len(entries) else 0
