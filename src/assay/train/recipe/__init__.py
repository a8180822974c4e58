"""A recipe: the fixed, hashed model specification that the data iteration loop holds still.

Modules: ``_recipe`` (:class:`Recipe`, :func:`load_recipe`), ``_yaml`` (the YAML
form: allowed estimators, featurizers), ``_import`` (recipes from Python import paths)
and ``_detection`` (the fixed detection recipe ``hog``).
"""

from __future__ import annotations

from assay.train.recipe._detection import DETECTORS, BoxDetector
from assay.train.recipe._recipe import (
    ALLOWED_ESTIMATORS,
    FEATURIZERS,
    ModalityFeaturizer,
    Recipe,
    load_recipe,
)

__all__ = [
    "ALLOWED_ESTIMATORS",
    "DETECTORS",
    "FEATURIZERS",
    "BoxDetector",
    "ModalityFeaturizer",
    "Recipe",
    "load_recipe",
]
