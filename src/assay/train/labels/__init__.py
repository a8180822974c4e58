"""Label errors by confident learning, and label-quality scores.

Modules: ``_issues`` (the public functions), ``_stats`` (per-row statistics of the
predicted probabilities), ``_joint`` (the confident joint), ``_prune`` (the pruning
rules) and ``_scores`` (label-quality scores).
"""

from __future__ import annotations

from assay.train.labels._issues import (
    NoiseEstimate,
    estimate_noise,
    find_label_issues,
    summarize_label_issues,
)

__all__ = ["NoiseEstimate", "estimate_noise", "find_label_issues", "summarize_label_issues"]
