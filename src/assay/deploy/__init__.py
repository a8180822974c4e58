"""Deploy: drift between reference and production data, performance, streams, feedback."""

from __future__ import annotations

from assay.deploy.drift import DEFAULT_THRESHOLDS, drift
from assay.deploy.profile import ColumnProfile, Profile, profile, profile_parquet
from assay.deploy.report import DriftReport, render_summary

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ColumnProfile",
    "DriftReport",
    "Profile",
    "drift",
    "profile",
    "profile_parquet",
    "render_summary",
]
