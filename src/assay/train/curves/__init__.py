"""Learning curves with a power-law fit, and the clean-vs-collect comparison.

Modules: ``_learning`` (:func:`learning_curve`), ``_clean_collect``
(:func:`clean_vs_collect`, built on the learning curve and confident learning) and
``_fit`` (the power-law fit, bootstrap and splits).
"""

from __future__ import annotations

from assay.train.curves._clean_collect import (
    CleanVsCollect,
    clean_vs_collect,
    equivalence_text,
    tie_text,
)
from assay.train.curves._fit import power_law
from assay.train.curves._learning import LearningCurve, correct_for_noise, learning_curve

__all__ = [
    "CleanVsCollect",
    "LearningCurve",
    "clean_vs_collect",
    "correct_for_noise",
    "equivalence_text",
    "learning_curve",
    "power_law",
    "tie_text",
]
