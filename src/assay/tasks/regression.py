"""Regression: one number per item (a price, a duration, a score, a severity).

Each member delegates to the engine function for numeric labels; the engines are
imported when first used (see :mod:`assay.tasks.classification`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay._validation import whole_number
from assay.exceptions import InputError
from assay.tasks.base import (
    Interval,
    LabelSummary,
    RowNamer,
    Task,
    both_missing,
    missing_values,
)

__all__ = ["RegressionTask"]


def _what(column: pa.ChunkedArray, rows: RowNamer) -> str:
    """What a column that is not numeric holds: ``text (line 5 has 'high')``, ``lists``."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = pd.Series(column.to_pylist(), dtype=object)
        numbers = pd.to_numeric(values, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & values.notna().to_numpy())
        if len(bad):
            return f"text ({rows(bad[:1])} has {values.iloc[int(bad[0])]!r})"
        return "text"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return "lists (a multi-label column: give --task multilabel)"
    if pa.types.is_boolean(kind):
        return "booleans"
    return str(kind)


def _number(value: Any) -> str:
    """A label in a message: ``4.0``, ``12``, ``0.3`` (10 significant digits); ``missing``."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, (int, bool)):
        return str(int(value))
    try:
        return repr(float(f"{float(value):.10g}"))
    except (TypeError, ValueError):
        return repr(value)


class RegressionTask(Task):
    """A finite number per item; two labels are the same when they are equal."""

    kind = "regression"
    review_widget = "number"
    agreement_statistics = (
        "krippendorff_alpha", "icc", "mean_absolute_difference",
    )
    consensus_method = "em"
    metrics = ("mae", "rmse", "r2")
    greater_is_better = False
    label_issue_options = ("features", "neighbors", "n_neighbors", "knn_weights")

    def check_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> None:
        """Every row has a finite number.

        Raises
        ------
        InputError
            The column is not numeric, or some labels are missing, NaN or infinite.
        """
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise InputError(
                f"{where}: the label column {name!r} holds {_what(column, rows)}, not numbers; "
                "a regression label must be numeric (check --label and --task)."
            )
        values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)
        bad = missing_values(column) | ~np.isfinite(values)
        if bad.any():
            positions = np.flatnonzero(bad)
            count = f"{len(positions)} row{'s' if len(positions) > 1 else ''}"
            raise InputError(
                f"{where}: the label column {name!r} is missing, NaN or infinite on "
                f"{count}: {rows(positions)}; give every row a finite number, or remove "
                "those rows."
            )

    def coerce_label(self, value: Any, label_type: pa.DataType) -> Any:
        """A number typed by a person, as the column's type (int or float)."""
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"label {value!r} is not a number; this dataset's labels are numbers."
            ) from exc
        if not np.isfinite(number):
            raise InputError(f"label {value!r} is not a finite number.")
        if pa.types.is_integer(label_type):
            if number != round(number):
                raise InputError(
                    f"label {value!r} is not a whole number; this dataset's labels are "
                    "integers."
                )
            return int(round(number))
        return number

    def detects(self, label_type: pa.DataType) -> bool:
        """A float column is a regression label (integers stay classes unless named)."""
        return bool(pa.types.is_floating(label_type))

    def stored_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> pa.ChunkedArray:
        """Integer labels stored as float64, so that a relabel may be any number."""
        if pa.types.is_integer(column.type):
            return column.cast(pa.float64())
        return column

    def unknown_names(self, value: Any, allowed: set[str]) -> list[str]:
        """Numbers are not names: any finite number may be decided (the label book's
        range, when it has one, is checked by the store)."""
        return []

    def describe_labels(self, values: pd.Series) -> LabelSummary:
        """Count, missing, mean, standard deviation, minimum, quartiles and maximum."""
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        stats = numbers.describe()
        rows: dict[str, Any] = {"count": int(stats["count"]), "missing": int(numbers.isna().sum())}
        for key in ("mean", "std", "min", "25%", "50%", "75%", "max"):
            value = float(stats[key]) if key in stats and pd.notna(stats[key]) else None
            rows["median" if key == "50%" else key] = value
        return LabelSummary(("statistic", "value"), rows)

    def describe_change(self, old: Any, new: Any) -> str:
        """``relabeled 3.2 -> 4.0`` (numbers as numbers, ``missing`` for none)."""
        return f"relabeled {_number(old)} -> {_number(new)}"

    def show_label(self, value: Any) -> Any:
        """A whole number as an integer (a count of 601 bikes reads ``601``, not
        ``601.0``); any other value as it is."""
        return whole_number(value)

    def same_labels(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Numeric equality, where two missing labels are the same."""
        with np.errstate(invalid="ignore"):
            same = np.asarray(
                pd.to_numeric(pd.Series(old), errors="coerce").to_numpy(dtype=float)
                == pd.to_numeric(pd.Series(new), errors="coerce").to_numpy(dtype=float),
                dtype=bool,
            )
        return same | both_missing(old, new)

    @property
    def agreement(self) -> Callable[..., Any]:
        """:func:`assay.collect.agreement_numeric.numeric_agreement` (interval alpha, ICC,
        Bland-Altman, annotator bias)."""
        from assay.collect.agreement_numeric import numeric_agreement

        return numeric_agreement

    @property
    def consensus(self) -> Callable[..., Any]:
        """:func:`assay.collect.consensus_numeric.numeric_consensus` (EM with annotator
        bias and noise, or mean, or median)."""
        from assay.collect.consensus_numeric import numeric_consensus

        return numeric_consensus

    def find_label_issues(
        self, labels: Any, predictions: Any, *, classes: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Residual- and neighbour-based label issues from out-of-sample ``predictions``
        of shape (n,) (:func:`assay.train.labels._regression.find_regression_issues`;
        ``classes`` is ignored)."""
        from assay.train.labels._regression import find_regression_issues

        return find_regression_issues(labels, predictions, **options)

    def score(self, y_true: Any, y_pred: Any, *, seed: int = 0) -> dict[str, Interval]:
        """MAE, RMSE and R² with bootstrap intervals."""
        from assay.train.evaluate._regression import score_regression

        return score_regression(y_true, y_pred, seed=seed)

    def fit_targets(self, labels: Any) -> tuple[Any, list[Any] | None]:
        """The labels as floats; a regressor predicts one number per item."""
        return np.asarray(labels, dtype=np.float64), None

    def evaluate_predictions(
        self, y_true: Any, y_pred: Any, *, classes: Any = None, tags: Any = None,
        ids: Any = None, hlp: float | None = None, n_boot: int = 1000, seed: int = 0,
    ) -> Any:
        """:func:`assay.train.evaluate._regression.evaluate_regression` (MAE, RMSE, R²,
        residuals, absolute and squared error per tag)."""
        from assay.train.evaluate._regression import evaluate_regression

        return evaluate_regression(
            y_true, y_pred, tags=tags, ids=ids, hlp=hlp, n_boot=n_boot, seed=seed
        )

    def evaluation_from_dict(self, data: Mapping[str, Any]) -> Any:
        """:meth:`RegressionEvaluation.from_dict`."""
        from assay.train.evaluate._regression import RegressionEvaluation

        return RegressionEvaluation.from_dict(data)

    def compare(
        self, eval_a: Any, eval_b: Any, *, names: tuple[str, str] = ("A", "B"),
        n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
    ) -> Any:
        """A paired bootstrap on the absolute errors (the MAE difference's interval and
        p-value; :func:`assay.train.evaluate._regression.compare_regression`)."""
        from assay.train.evaluate._regression import compare_regression

        return compare_regression(
            eval_a, eval_b, names=names, n_boot=n_boot, seed=seed, alpha=alpha
        )

    def headline_score(self, y_true: Any, y_pred: Any) -> float:
        """The mean absolute error."""
        diff = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
        return float(np.mean(np.abs(diff)))

    def human_level(self, report: Any) -> float | None:
        """The mean absolute difference between annotators (an MAE people reach)."""
        value = getattr(report, "mean_absolute_difference", report)
        value = value.get("value", float("nan")) if isinstance(value, Mapping) else value
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if np.isfinite(number) else None

    def out_of_sample(
        self, model: Any, X: Any, y: Any, *, cv: int = 5, seed: int = 0,
        n_jobs: int | None = None, modality: str = "tabular",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-sample numbers (n,) of the regressor (default: the modality's,
        :func:`assay.train.predict.default_regressor`); they are the predictions."""
        from assay.train.predict import cross_val_predict_values, default_regressor

        estimator = default_regressor(modality, seed=seed) if model is None else model
        values = cross_val_predict_values(estimator, X, y, cv=cv, seed=seed, n_jobs=n_jobs)
        return values, values

    def slice_inputs(self, evaluation: Any) -> tuple[Any, Any, Any]:
        """The numbers and the MAE (lower is better)."""
        from assay.train.evaluate._regression import mae

        return np.asarray(evaluation.y_true, float), np.asarray(evaluation.y_pred, float), mae

    def label_drift(self, reference: pd.Series, current: pd.Series) -> Any:
        """The labels as a numeric column of :func:`assay.deploy.drift`."""
        from assay.deploy.drift import drift

        name = str(reference.name) if reference.name is not None else "label"
        return drift(
            pd.DataFrame({name: pd.to_numeric(reference).to_numpy(dtype=float)}),
            pd.DataFrame({name: pd.to_numeric(current).to_numpy(dtype=float)}),
            column_types={name: "numeric"},
        )

    @property
    def performance_watch(self) -> Any:
        """:class:`assay.deploy.estimate_regression.RegressionWatch` (direct loss
        estimation of MAE / RMSE)."""
        from assay.deploy.estimate_regression import RegressionWatch

        return RegressionWatch()
