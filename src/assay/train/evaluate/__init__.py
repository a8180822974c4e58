"""Evaluate a fixed recipe on a frozen evaluation set, compare two evaluations.

Modules: ``_evaluate`` (:func:`evaluate`, :func:`fit_and_evaluate`,
:func:`evaluate_predictions`), ``_checks`` (leakage and augmented-row refusals),
``_compare`` (paired comparison), ``_result`` (:class:`Evaluation`), ``_stats`` and
``_missing`` (does a model accept missing values), ``_detection`` (COCO-style mAP of
boxes, :func:`mean_average_precision`; intervals in ``_detection_boot``) and
``_detection_errors`` (per-image true/false positives and misses,
:func:`detection_errors`).
"""

from __future__ import annotations

from assay.train.evaluate._checks import (
    AUGMENTED_COLUMN,
    check_eval_classes,
    check_leakage,
    check_not_augmented,
    find_id_collisions,
    find_leakage,
    row_hashes,
)
from assay.train.evaluate._compare import Comparison, compare
from assay.train.evaluate._detection import DetectionMAP, mean_average_precision
from assay.train.evaluate._detection_errors import ImageErrors, detection_errors
from assay.train.evaluate._evaluate import evaluate, evaluate_predictions, fit_and_evaluate
from assay.train.evaluate._result import METRICS, Evaluation

__all__ = [
    "AUGMENTED_COLUMN",
    "METRICS",
    "Comparison",
    "DetectionMAP",
    "Evaluation",
    "ImageErrors",
    "check_eval_classes",
    "check_leakage",
    "check_not_augmented",
    "compare",
    "detection_errors",
    "evaluate",
    "evaluate_predictions",
    "find_id_collisions",
    "find_leakage",
    "mean_average_precision",
    "fit_and_evaluate",
    "row_hashes",
]
