"""The demo's fixed model recipe: held still while the data improves."""

from __future__ import annotations

from assay.store.workspace import Workspace
from assay.train.recipe import Recipe

__all__ = ["RECIPE_NAME", "RECIPE_YAML", "ensure_recipe"]

RECIPE_NAME = "digits-logreg"
RECIPE_YAML = """\
name: digits-logreg
featurizer: standard_scaler
estimator: sklearn.linear_model.LogisticRegression
params: {C: 0.5, max_iter: 1000}
seed: 0
"""


def ensure_recipe(ws: Workspace) -> str:
    """Register the demo's recipe (idempotent) and return its name."""
    ws.recipes.add(RECIPE_NAME, Recipe.from_yaml(RECIPE_YAML))
    return RECIPE_NAME
