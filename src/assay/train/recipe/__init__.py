"""A recipe: the fixed, hashed model specification that the data iteration loop holds still.

Modules: ``_recipe`` (:class:`Recipe`, :func:`load_recipe`), ``_yaml`` (the YAML
form: allowed estimators, featurizers) and ``_import`` (recipes from Python import paths).
"""

from __future__ import annotations

from assay.train.recipe._recipe import (
    ALLOWED_ESTIMATORS,
    FEATURIZERS,
    ModalityFeaturizer,
    Recipe,
    load_recipe,
)

__all__ = ["ALLOWED_ESTIMATORS", "FEATURIZERS", "ModalityFeaturizer", "Recipe", "load_recipe"]
