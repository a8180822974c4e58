"""Label errors by confident learning, and label-quality scores.

Modules: ``_issues`` (the public functions; ``task=`` hands regression and multi-label
off to ``_regression`` and ``_multilabel``), ``_transcripts`` (transcripts against a
recogniser's output), ``_stats`` (per-row statistics of the predicted probabilities),
``_joint`` (the confident joint), ``_prune`` (the pruning rules) and ``_scores``
(label-quality scores).
"""

from __future__ import annotations

from assay.train.labels._boxes import box_issues_per_image, find_box_issues
from assay.train.labels._issues import (
    NoiseEstimate,
    estimate_noise,
    find_label_issues,
    summarize_label_issues,
)
from assay.train.labels._multilabel import find_multilabel_issues
from assay.train.labels._regression import find_regression_issues
from assay.train.labels._transcripts import TranscriptFit, find_transcript_issues

__all__ = [
    "NoiseEstimate",
    "TranscriptFit",
    "box_issues_per_image",
    "estimate_noise",
    "find_box_issues",
    "find_label_issues",
    "find_multilabel_issues",
    "find_regression_issues",
    "find_transcript_issues",
    "summarize_label_issues",
]
