"""Audit a detection dataset with a detector's boxes: box label issues per image, queued.

The user's detector supplies the predictions (a COCO result JSON, a COCO file whose
annotations carry a ``score``, or a CSV / Parquet boxes table with ``score``; read by
:meth:`DetectionTask.read_predictions`, numeric COCO ids through the COCO file they
refer to); the
dataset's task finds overlooked, badly located, swapped and spurious boxes
(:meth:`assay.tasks.detection.DetectionTask.find_label_issues`) and each flagged image
enters the review queue with its corrected boxes as the suggestion.

Weak detector (:data:`WEAK_AP50`): the audit also scores the detector's boxes against
the labels it audits (AP at IoU 0.5 over the classes, COCO-style). Rule: when that AP50
is below 0.25 the detector finds fewer than about a quarter of the labelled objects at
its own ranking, so most of its disagreements with the labels are its own misses and
false alarms; its ranking of label issues is then close to the base rate (the fixed
HOG detector on BCCD: mAP 0.03, issue AUPRC at the base rate), and the audit says so in
one line (``weak_detector``) instead of presenting the ranking as evidence. For the
rule to mean anything the boxes must be out of sample (cross-validated): a detector
scored on its own training images looks stronger than it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from assay.exceptions import InputError
from assay.store.workspace import Workspace
from assay.workflows._box_annotations import item_names

__all__ = ["WEAK_AP50", "BoxAudit", "run_box_audit", "weak_detector_warning"]

#: Below this AP at IoU 0.5 against the audited labels, the detector is called too weak
#: for its issue ranking to beat the base rate (see the module docstring).
WEAK_AP50 = 0.25


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
    detector_ap50 : float
        The detector's AP at IoU 0.5 against the audited labels (NaN: no label box).
    """

    ref: str
    items: pd.DataFrame
    queued: int
    seconds: float
    detector_ap50: float = float("nan")

    @property
    def weak_detector(self) -> str | None:
        """One line when the detector is too weak to audit with (else None)."""
        return weak_detector_warning(self.detector_ap50)

    @property
    def flagged(self) -> pd.DataFrame:
        """The images with a box label issue."""
        return self.items[self.items["is_label_issue"]]

    def to_dict(self, k: int = 20) -> dict[str, Any]:
        """JSON-ready: counts per kind and the ``k`` most suspicious images."""
        kinds = ["overlooked", "badly_located", "swapped", "spurious"]
        top = self.flagged.head(k)
        return {
            "ref": self.ref,
            "n_images": len(self.items),
            "n_flagged": len(self.flagged),
            "issues": {kind: int(self.items[kind].sum()) for kind in kinds},
            "queued": self.queued,
            "detector_ap50": self.detector_ap50,
            "weak_detector": self.weak_detector,
            "worst": [
                {
                    "item_id": str(r["item_id"]),
                    "label_quality": float(r["label_quality"]),
                    "issues": r["issues"],
                }
                for r in top.to_dict("records")
            ],
        }


def run_box_audit(
    ws: Workspace, ref: str, predictions: Path, *, queue: bool = True, mapping: Path | None = None
) -> BoxAudit:
    """Find box label issues in ``ref`` from a detector's ``predictions`` and queue the
    flagged images (source ``label_issue``); the run is recorded as a ``box_audit``
    analysis.

    Parameters
    ----------
    ws : Workspace
    ref : str
        The version, ``NAME`` or ``NAME@vN``.
    predictions : Path
        The detector's boxes (:func:`assay.tasks._detection_results.read_detector_boxes`:
        COCO result JSON, a COCO file with scored annotations, or a boxes table).
    queue : bool
        Enter the flagged images into the review queue.
    mapping : Path, optional
        The COCO file whose numeric image and category ids the results use.

    Raises
    ------
    InputError
        Not a detection dataset, or bad predictions (the first bad entry by index).
    """
    start = time.perf_counter()
    version = ws.dataset(ref)
    if version.task.kind != "detection":
        raise InputError(
            f"{ref} holds {version.task.kind} labels; box predictions audit a "
            "detection dataset (give pred_probs for other kinds)."
        )
    frame = version.to_pandas()
    ids = frame[version.roles.id].astype(str).to_numpy()
    preds = version.task.read_predictions(
        predictions,
        labels=frame[version.roles.label].tolist(),
        ids=list(ids),
        names=item_names(version, frame),
        mapping=mapping,
    )
    table = version.task.find_label_issues(frame[version.roles.label], preds)
    table.insert(0, "item_id", ids)
    table = table.sort_values("label_quality", kind="mergesort")
    queued = _queue(ws, version.name, table) if queue else 0
    ap50 = _detector_ap50(frame[version.roles.label], preds)
    audit = BoxAudit(version.ref, table, queued, time.perf_counter() - start, ap50)
    ws.record_analysis(
        "box_audit",
        audit.to_dict(),
        dataset=version.name,
        params={
            "predictions": str(predictions),
            "mapping": None if mapping is None else str(mapping),
        },
        duration_s=audit.seconds,
    )
    return audit


def weak_detector_warning(ap50: float) -> str | None:
    """The one-line warning of a detector below :data:`WEAK_AP50` (else None)."""
    if not ap50 < WEAK_AP50:  # NaN (no label box) gives no warning
        return None
    return (
        f"weak detector: its boxes reach AP50 {ap50:.2f} against these labels (below "
        f"{WEAK_AP50}), so its issue ranking is near the base rate; audit with a "
        "stronger detector's out-of-sample boxes."
    )


def _detector_ap50(labels: pd.Series, predictions: Any) -> float:
    """AP at IoU 0.5 of the detector's boxes against the labels (COCO-style)."""
    from assay.tasks._detection_engines import label_frame, scored_boxes
    from assay.train.evaluate._detection import mean_average_precision

    lab, n = label_frame(labels)
    if lab.empty:
        return float("nan")
    preds = scored_boxes(predictions, n, default_score=1.0)
    return float(mean_average_precision(lab, preds, images=range(n))["map50"])


def _queue(ws: Workspace, dataset: str, table: pd.DataFrame) -> int:
    flagged = table[table["is_label_issue"]]
    entries = pd.DataFrame(
        {
            "item_id": flagged["item_id"].to_numpy(),
            "reason": ("box label issues: " + flagged["issues"]).to_numpy(),
            "score": flagged["label_quality"].clip(0, 1).to_numpy(dtype=float),
            "given_label": flagged["given_label"].to_numpy(),
            "suggested_label": flagged["suggested_label"].to_numpy(),
        }
    )
    return ws.review.add(dataset, entries, source="label_issue") if len(entries) else 0
