"""The dataset audit: data checks (label errors, outliers, duplicates, leakage, ...) in one report.

Modules: ``_audit`` (:func:`audit`, feature preparation, thresholds), ``_checks`` (the
check registry), ``_label_check`` and ``_label_probs`` (the label check's probabilities),
``neighbors`` and ``_knn`` (the feature checks on a k-NN graph), ``_result``,
``_report``, ``_html`` and ``_thresholds``.
"""

from __future__ import annotations

from assay.train.audit._audit import audit, check_thresholds
from assay.train.audit._checks import (
    Check,
    available_checks,
    queue_sources,
    register_check,
    resolve_check,
)
from assay.train.audit._report import AuditReport
from assay.train.audit._result import CheckResult, make_result
from assay.train.audit._thresholds import Threshold, parse_threshold

__all__ = [
    "AuditReport",
    "Check",
    "CheckResult",
    "Threshold",
    "audit",
    "available_checks",
    "check_thresholds",
    "make_result",
    "parse_threshold",
    "queue_sources",
    "register_check",
    "resolve_check",
]
