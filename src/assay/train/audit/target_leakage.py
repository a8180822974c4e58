"""Target leakage: feature columns that (nearly) determine the label.

A column computed from the label (a copy, a rescaled copy, the parts of a total: hourly
bike rentals ``cnt = casual + registered``) or recorded after it gives any model a
score that production will not see, and leaves the label check nothing to audit but the
rows where that column and the label disagree. deepchecks calls this feature-label
correlation (its predictive power score). Here, on a seeded sample of the rows:

* each column alone: the out-of-fold predictions of a decision tree on that column
  (R^2 for a regression, balanced accuracy for classes);
* for a regression, the numeric columns together: a linear fit; when it explains the
  label, the fewest columns that do (greedy forward selection, up to
  :data:`MAX_COLUMNS`). A label that only many columns explain together is not
  reported: that is a model, not a leak.

A score of at least ``threshold`` (default 0.995) is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = ["MAX_COLUMNS", "TargetLeak", "find_target_leakage", "leak_advice", "leak_note"]

#: The most columns a linear combination may take to be reported as a leak.
MAX_COLUMNS = 4
#: Distinct values up to which a text column is read as categories (else skipped).
_MAX_CATEGORIES = 50
_FOLDS = 3
#: Fits on (train x, train y) and predicts test x.
_FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TargetLeak:
    """Columns that (nearly) determine the label.

    Attributes
    ----------
    columns : tuple of str
        The column, or the columns that only together determine it.
    score : float
        Cross-validated R^2 (regression) or balanced accuracy (classes) from them alone.
    metric : str
        ``"R²"`` or ``"balanced accuracy"``.
    model : str
        ``"a decision tree"`` (one column) or ``"a linear fit"`` (several).
    """

    columns: tuple[str, ...]
    score: float
    metric: str
    model: str

    def describe(self) -> str:
        """``column casual alone predicts the label (...)``, in one line."""
        if len(self.columns) == 1:
            what = f"column {self.columns[0]} alone predicts"
        else:
            names = ", ".join(self.columns[:-1]) + f" and {self.columns[-1]}"
            what = f"columns {names} together predict"
        return (
            f"{what} the label (cross-validated {self.metric} {self.score:.3f} from "
            f"{self.model} on {_pronouns(self)[0]} alone)"
        )


def find_target_leakage(
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    kind: str,
    threshold: float = 0.995,
    max_rows: int = 2_000,
    seed: int = 0,
) -> list[TargetLeak]:
    """Find the feature columns that (nearly) determine the label.

    Parameters
    ----------
    features : DataFrame of shape (n_samples, n_columns)
        The model's feature columns (numeric, boolean, or text of at most 50 values;
        other columns are skipped).
    labels : ndarray of shape (n_samples,)
        Numbers for a regression, classes (or their codes) otherwise.
    kind : {"classification", "regression"}
        Any other kind of label returns no leak.
    threshold : float
        The score from which a column (or a few together) is reported.
    max_rows : int
        Rows sampled (seeded) when there are more.
    seed : int

    Returns
    -------
    list of TargetLeak
        Single columns first, by score; then the smallest linear combination, if any.
    """
    if kind not in ("classification", "regression"):
        return []
    encoded = _encode(features)
    if encoded.shape[1] == 0:  # free text, ids: nothing a column-wise test can read
        return []
    x, y = _sample(encoded, np.asarray(labels), max_rows, seed)
    if len(y) < 10 * _FOLDS or len(np.unique(y)) < 2:
        return []
    folds = np.random.default_rng(seed).permutation(len(y)) % _FOLDS
    found = _single_columns(x, y, folds, kind, threshold, seed)
    if kind == "regression":
        combined = _linear_combination(x, y, folds, threshold)
        if combined is not None and not any(set(leak.columns) <= set(combined.columns)
                                            for leak in found):
            found.append(combined)
    return found


def _encode(features: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as floats (missing values: the median), booleans as 0/1 and text
    of few values as codes; constant and other columns dropped."""
    out: dict[str, np.ndarray] = {}
    for name in features.columns:
        column = features[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            values = pd.to_numeric(column, errors="coerce").astype(np.float64)
            values = values.fillna(values.median())
        elif column.nunique(dropna=False) <= _MAX_CATEGORIES:
            values = pd.Series(pd.factorize(column)[0], dtype=np.float64)
        else:
            continue
        if values.notna().all() and values.nunique() > 1:
            out[str(name)] = values.to_numpy()
    return pd.DataFrame(out, index=pd.RangeIndex(len(features)))


def _sample(
    x: pd.DataFrame, y: np.ndarray, max_rows: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with a label, at most ``max_rows`` of them (a seeded sample)."""
    keep = ~pd.isna(y) if y.dtype.kind in "fO" else np.ones(len(y), dtype=bool)
    rows = np.flatnonzero(keep)
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
    return x.iloc[rows].reset_index(drop=True), y[rows]


def _out_of_fold(fit_predict: _FitPredict, x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each row's prediction by a model fitted on the other folds."""
    predicted = np.empty(len(y), dtype=y.dtype if y.dtype.kind != "f" else np.float64)
    for fold in range(_FOLDS):
        test = folds == fold
        predicted[test] = fit_predict(x[~test], y[~test], x[test])
    return predicted


def _single_columns(
    x: pd.DataFrame, y: np.ndarray, folds: np.ndarray, kind: str, threshold: float, seed: int
) -> list[TargetLeak]:
    """Columns whose decision tree alone scores at least ``threshold``, best first."""
    regression = kind == "regression"
    tree = DecisionTreeRegressor if regression else DecisionTreeClassifier

    def fit_predict(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
        model = tree(min_samples_leaf=3, random_state=seed).fit(train_x, train_y)
        return np.asarray(model.predict(test_x))

    found = []
    for name in x.columns:
        column = x[[name]].to_numpy()
        predicted = _out_of_fold(fit_predict, column, y, folds)
        score = _score(y, predicted, regression)
        if score >= threshold:
            metric = "R²" if regression else "balanced accuracy"
            found.append(TargetLeak((name,), score, metric, "a decision tree"))
    return sorted(found, key=lambda leak: -leak.score)


def _score(y: np.ndarray, predicted: np.ndarray, regression: bool) -> float:
    if regression:
        return float(r2_score(y.astype(np.float64), predicted))
    return float(balanced_accuracy_score(y, predicted))


def _linear_r2(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    """Out-of-fold R^2 of a least-squares fit with an intercept."""

    def fit_predict(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray) -> np.ndarray:
        design = np.column_stack([train_x, np.ones(len(train_x))])
        coef = np.linalg.lstsq(design, train_y, rcond=None)[0]
        return np.column_stack([test_x, np.ones(len(test_x))]) @ coef

    return float(r2_score(y, _out_of_fold(fit_predict, x, y, folds)))


def _linear_combination(
    x: pd.DataFrame, y: np.ndarray, folds: np.ndarray, threshold: float
) -> TargetLeak | None:
    """The fewest columns (up to :data:`MAX_COLUMNS`) whose linear fit explains the
    label to ``threshold``, found by greedy forward selection; None when none do."""
    values, y = x.to_numpy(), y.astype(np.float64)
    if _linear_r2(values, y, folds) < threshold:
        return None
    chosen: list[int] = []
    for _ in range(min(MAX_COLUMNS, values.shape[1])):
        scores = {j: _linear_r2(values[:, [*chosen, j]], y, folds)
                  for j in range(values.shape[1]) if j not in chosen}
        best = max(scores, key=lambda j: scores[j])
        chosen.append(best)
        if scores[best] >= threshold:
            names = tuple(str(x.columns[j]) for j in sorted(chosen))
            return TargetLeak(names, scores[best], "R²", "a linear fit")
    return None


def _pronouns(leak: TargetLeak) -> tuple[str, str, str]:
    """``(them, they, they are)`` for the leak's columns (``it`` for one)."""
    return ("it", "it", "it is") if len(leak.columns) == 1 else ("them", "they", "they are")


def leak_advice(leak: TargetLeak) -> str:
    """The audit's warning for one leak: what was found, why it matters, what to do."""
    them, they, _ = _pronouns(leak)
    return (
        f"target leakage? {leak.describe()}. A feature computed from the label or "
        "recorded after it gives a model a score production will not see, and the "
        f"label check then finds little but where {they} and the label disagree; if so, "
        f"leave {them} out of the features (import a version without {them}, or pass "
        f"features= without {them})."
    )


def leak_note(leak: TargetLeak) -> str:
    """A training run's note on one leak in its training data."""
    them, _, are = _pronouns(leak)
    return (
        f"target leakage? {leak.describe()}: if {are} computed from the label or recorded "
        "after it, production will not score as this evaluation does; leave "
        f"{them} out of the features (import a version without {them}) and train again."
    )
