"""Train phase: find label errors, outliers and duplicates; error analysis; the loop.

Pure algorithms (numpy / scipy / pandas / scikit-learn); the workspace, CLI and
report build on them.
"""

from __future__ import annotations

from assay.train.audit import AuditReport, audit, available_checks, parse_threshold, register_check
from assay.train.augment import PROVENANCE_COLUMNS, augment
from assay.train.curves import CleanVsCollect, LearningCurve, clean_vs_collect, learning_curve
from assay.train.detect import HogDetector
from assay.train.evaluate import (
    Comparison,
    DetectionMAP,
    Evaluation,
    check_leakage,
    compare,
    evaluate,
    evaluate_predictions,
    fit_and_evaluate,
    mean_average_precision,
)
from assay.train.labels import (
    NoiseEstimate,
    TranscriptFit,
    box_issues_per_image,
    estimate_noise,
    find_box_issues,
    find_label_issues,
    find_transcript_issues,
    summarize_label_issues,
)
from assay.train.predict import cross_val_predict_proba, default_model
from assay.train.recipe import Recipe, load_recipe
from assay.train.slices import SliceReport, SliceTable, find_slices, recommend, slice_table

__all__ = [
    "PROVENANCE_COLUMNS",
    "AuditReport",
    "CleanVsCollect",
    "Comparison",
    "DetectionMAP",
    "Evaluation",
    "HogDetector",
    "LearningCurve",
    "NoiseEstimate",
    "Recipe",
    "SliceReport",
    "SliceTable",
    "TranscriptFit",
    "audit",
    "box_issues_per_image",
    "augment",
    "available_checks",
    "check_leakage",
    "clean_vs_collect",
    "compare",
    "cross_val_predict_proba",
    "default_model",
    "estimate_noise",
    "evaluate",
    "evaluate_predictions",
    "find_box_issues",
    "find_label_issues",
    "find_transcript_issues",
    "find_slices",
    "fit_and_evaluate",
    "learning_curve",
    "load_recipe",
    "mean_average_precision",
    "parse_threshold",
    "recommend",
    "register_check",
    "slice_table",
    "summarize_label_issues",
]
