"""Missing feature values meet an estimator that cannot take them: refuse up front.

Missing values are accepted at import (missing data is normal). Whether a recipe can
take them is read from scikit-learn's estimator tags (``input_tags.allow_nan``) before
anything is fitted; a :class:`~sklearn.pipeline.Pipeline` is walked step by step, since
its own tags do not say: an imputer fills the gaps for every later step, a step whose
tags allow NaN passes them on, a step that does not refuses them. Composites whose
columns cannot be seen through (``ColumnTransformer``, ``FeatureUnion``) are trusted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute._base import _BaseImputer
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from assay.modalities.tabular import _check_missing

__all__ = ["accepts_missing", "check_missing_accepted"]

_FIX = (
    "{name} cannot take missing values: add a SimpleImputer step to the recipe (an "
    "import-path recipe such as make_pipeline(SimpleImputer(), ...)), drop or fill those "
    "rows in a new version, or use an estimator that accepts NaN (e.g. "
    "estimator: sklearn.ensemble.HistGradientBoostingClassifier)."
)


def _handling(step: Any) -> str:
    """How one step treats NaN: ``fills``, ``passes``, ``refuses`` or ``unknown``."""
    if step is None or isinstance(step, str):  # "passthrough"
        return "passes"
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            handling = _handling(inner)
            if handling != "passes":
                return handling
        return "passes"
    if isinstance(step, _BaseImputer):
        return "fills"
    if hasattr(step, "transformers") or hasattr(step, "transformer_list"):
        return "unknown"
    try:
        allow = get_tags(step).input_tags.allow_nan
    except Exception:  # not a scikit-learn estimator: let it try
        return "unknown"
    return "passes" if allow else "refuses"


def accepts_missing(estimator: Any) -> bool:
    """Whether ``estimator`` can be fitted on (and predict) features with NaN.

    Parameters
    ----------
    estimator : scikit-learn estimator or Pipeline (fitted or not)

    Returns
    -------
    bool
        False only when its tags say that a step meets NaN it cannot take.
    """
    return _handling(estimator) != "refuses"


def _final_name(estimator: Any) -> str:
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return type(final).__name__


def check_missing_accepted(estimator: Any, X: Any, *, where: str) -> None:
    """Refuse ``X`` if it has a missing value that ``estimator`` cannot take.

    Parameters
    ----------
    estimator : scikit-learn estimator or Pipeline
    X : DataFrame or array-like of shape (n_samples, n_features)
        Numeric columns are checked (a DataFrame's rows are named by its index, an
        array's by position); other inputs (sparse matrices, texts) are left alone.
    where : str
        What ``X`` is, e.g. ``"the training data"``.

    Raises
    ------
    InputError
        Naming the first column and row with a missing value, and what to do.
    """
    if accepts_missing(estimator):
        return
    if isinstance(X, pd.DataFrame):
        numeric = X.select_dtypes(include=["number", "bool"])
    elif isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f":
        numeric = pd.DataFrame(X)
    else:
        return
    _check_missing(numeric, where=f" of {where}", fix=_FIX.format(name=_final_name(estimator)))
