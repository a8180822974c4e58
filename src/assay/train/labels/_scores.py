"""Label-quality scores: one number in [0, 1] per example, low = likely mislabelled.

The three classic scores (Kuan & Mueller, "Model-agnostic label quality scoring", 2022),
computed from the row statistics of :mod:`assay.train.labels._stats` with the same
formulas as cleanlab's ``rank.get_label_quality_scores`` (so they can be checked against
it), in :data:`SCORES`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from assay.train.labels._stats import FLOAT_SLACK, RowStats

__all__ = ["NEEDS", "SCORES"]


def self_confidence(stats: RowStats) -> np.ndarray:
    """The predicted probability of the given label."""
    return stats.self_confidence


def normalized_margin(stats: RowStats) -> np.ndarray:
    """``(p[given] - max_{j != given} p[j] + 1) / 2``."""
    assert stats.max_other is not None
    return (stats.self_confidence - stats.max_other + 1.0) / 2.0


def confidence_weighted_entropy(stats: RowStats) -> np.ndarray:
    """``log(1 + x) / x`` with ``x`` = normalised entropy / self-confidence."""
    assert stats.entropy is not None
    ratio = stats.entropy / np.clip(stats.self_confidence, FLOAT_SLACK, None)
    return np.log(ratio + 1.0) / np.clip(ratio, FLOAT_SLACK, None)


SCORES: dict[str, Callable[[RowStats], np.ndarray]] = {
    "self_confidence": self_confidence,
    "normalized_margin": normalized_margin,
    "confidence_weighted_entropy": confidence_weighted_entropy,
}

#: Which optional row statistics each score needs: (margin, entropy).
NEEDS: dict[str, tuple[bool, bool]] = {
    "self_confidence": (False, False),
    "normalized_margin": (True, False),
    "confidence_weighted_entropy": (False, True),
}
