"""Deploy: drift between reference and production data, performance, streams, feedback.

Pure algorithms (numpy / scipy / pandas / scikit-learn, no I/O); the workspace monitor,
CLI and HTTP ingestion build on these functions.
"""

from __future__ import annotations

from assay.deploy.drift import DEFAULT_THRESHOLDS, drift
from assay.deploy.drift_sets import SetDriftReport, set_drift
from assay.deploy.estimate_multilabel import MultilabelConfidenceEstimator
from assay.deploy.estimate_regression import LossEstimator
from assay.deploy.feedback import (
    domain_classifier_scores,
    horvitz_thompson_mean,
    sample_for_labeling,
)
from assay.deploy.performance import (
    ConfidenceEstimator,
    realised_performance,
    realised_scores,
    wilson_interval,
)
from assay.deploy.profile import (
    ColumnProfile,
    Profile,
    ProfileBuilder,
    profile,
    profile_parquet,
    schema_problems,
)
from assay.deploy.report import DriftReport, render_summary
from assay.deploy.streams import ADWIN, PageHinkley, StreamAlarms, adwin, page_hinkley

__all__ = [
    "ADWIN",
    "DEFAULT_THRESHOLDS",
    "ColumnProfile",
    "ConfidenceEstimator",
    "DriftReport",
    "LossEstimator",
    "MultilabelConfidenceEstimator",
    "PageHinkley",
    "Profile",
    "ProfileBuilder",
    "SetDriftReport",
    "StreamAlarms",
    "adwin",
    "domain_classifier_scores",
    "drift",
    "horvitz_thompson_mean",
    "page_hinkley",
    "profile",
    "profile_parquet",
    "realised_performance",
    "realised_scores",
    "render_summary",
    "sample_for_labeling",
    "schema_problems",
    "set_drift",
    "wilson_interval",
]
