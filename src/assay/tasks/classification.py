"""Single-label classification: one class per item, from a fixed set of classes.

The first :class:`~assay.tasks.base.Task`, and the kind of every dataset today. Each
member delegates to the engine function that already does the job; the engines are
imported when first used, so that an engine may import :mod:`assay.tasks` in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay.exceptions import InputError
from assay.tasks.base import Interval, RowNamer, Task, both_missing, missing_values

__all__ = ["ClassificationTask"]


class ClassificationTask(Task):
    """One label per item from a set of classes (integers, text or booleans)."""

    kind = "classification"
    review_widget = "choice"
    agreement_statistics = (
        "percent_agreement", "fleiss_kappa", "krippendorff_alpha", "mean_cohen_kappa", "hlp",
    )
    consensus_method = "dawid_skene"  # what `assay consensus` runs by default
    metrics = ("accuracy", "macro_f1", "balanced_accuracy")
    greater_is_better = True
    label_issue_options = ("method", "score", "min_examples_per_class")
    class_targets = True

    def check_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> None:
        """Every row has a label (null, NaN and blank text are missing).

        Raises
        ------
        InputError
            Every label is missing, or some are (naming those rows).
        """
        missing = missing_values(column)
        if missing.all():
            raise InputError(
                f"{where}: every value of the label column {name!r} is missing; "
                "check --label names the column that holds the labels."
            )
        if missing.any():
            positions = np.flatnonzero(missing)
            count = f"{len(positions)} row{'s' if len(positions) > 1 else ''}"
            raise InputError(
                f"{where}: the label column {name!r} is empty on {count}: "
                f"{rows(positions)}; give every row a label, or remove those rows."
            )

    def coerce_label(self, value: Any, label_type: pa.DataType) -> Any:
        """Convert a label typed by a person (a string) to the dataset's label type."""
        if pa.types.is_integer(label_type):
            try:
                return int(value)
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"label {value!r} is not an integer; this dataset's labels are integers."
                ) from exc
        if pa.types.is_floating(label_type):
            return float(value)
        if pa.types.is_boolean(label_type):
            return str(value).lower() in ("1", "true", "yes")
        return str(value)

    def same_labels(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Equality, where two missing labels are the same."""
        with np.errstate(invalid="ignore"):
            same = np.asarray(old == new, dtype=bool)
        return same | both_missing(old, new)

    @property
    def agreement(self) -> Callable[..., Any]:
        """:func:`assay.collect.agreement` (kappas, Krippendorff's alpha, HLP)."""
        from assay.collect.agreement import agreement

        return agreement

    @property
    def consensus(self) -> Callable[..., Any]:
        """:func:`assay.collect.consensus` (majority vote or Dawid-Skene)."""
        from assay.collect.consensus import consensus

        return consensus

    def find_label_issues(
        self, labels: Any, predictions: Any, *, classes: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Confident learning (:func:`assay.train.labels.find_label_issues`) on the
        out-of-sample probabilities ``predictions`` of shape (n, n_classes)."""
        from assay.train.labels._issues import find_classification_issues

        return find_classification_issues(
            labels, predictions, classes=None if classes is None else list(classes), **options
        )

    def score(self, y_true: Any, y_pred: Any, *, seed: int = 0) -> dict[str, Interval]:
        """Accuracy (Wilson interval), macro F1 and balanced accuracy (bootstrap)."""
        from assay.train.evaluate import evaluate_predictions

        return dict(evaluate_predictions(y_true, y_pred, seed=seed).overall)

    def check_eval_labels(self, y_train: Any, y_eval: Any) -> None:
        """Refuse evaluation classes never seen in training
        (:func:`assay.train.evaluate.check_eval_classes`)."""
        from assay.train.evaluate import check_eval_classes

        check_eval_classes(y_train, y_eval)

    def evaluate_predictions(
        self, y_true: Any, y_pred: Any, *, classes: Any = None, tags: Any = None,
        ids: Any = None, hlp: float | None = None, n_boot: int = 1000, seed: int = 0,
    ) -> Any:
        """:func:`assay.train.evaluate.evaluate_predictions` (accuracy, macro F1,
        balanced accuracy, per class and per tag; ``hlp`` is the slice table's)."""
        from assay.train.evaluate import evaluate_predictions

        return evaluate_predictions(
            y_true, y_pred, tags=tags, ids=ids, classes=classes, n_boot=n_boot, seed=seed
        )

    def evaluation_from_dict(self, data: Mapping[str, Any]) -> Any:
        """:meth:`assay.train.evaluate.Evaluation.from_dict`."""
        from assay.train.evaluate import Evaluation

        return Evaluation.from_dict(data)

    def compare(
        self, eval_a: Any, eval_b: Any, *, names: tuple[str, str] = ("A", "B"),
        n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
    ) -> Any:
        """McNemar's exact test and paired bootstrap deltas
        (:class:`assay.train.evaluate.Comparison`)."""
        from assay.train.evaluate._compare import compare_classification

        return compare_classification(
            eval_a, eval_b, names=names, n_boot=n_boot, seed=seed, alpha=alpha
        )

    def headline_score(self, y_true: Any, y_pred: Any) -> float:
        """Accuracy."""
        return float(np.mean(np.asarray(y_pred) == np.asarray(y_true)))

    def out_of_sample(
        self, model: Any, X: Any, y: Any, *, cv: int = 5, seed: int = 0,
        n_jobs: int | None = None, modality: str = "tabular",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities (n, n_classes) in sorted class order
        (:func:`assay.train.predict.cross_val_predict_proba`) and the most probable
        class."""
        from assay.train.predict import cross_val_predict_proba

        labels = np.asarray(y)
        probs = np.asarray(cross_val_predict_proba(
            model, X, labels, cv=cv, seed=seed, n_jobs=n_jobs, modality=modality))
        return probs, np.unique(labels)[np.argmax(probs, axis=1)]

    def slice_inputs(self, evaluation: Any) -> tuple[Any, Any, Any]:
        """Labels as text (one dtype across stored experiments) and accuracy."""
        y_true, y_pred = np.asarray(evaluation.y_true), np.asarray(evaluation.y_pred)
        return y_true.astype(str), y_pred.astype(str), "accuracy"

    def label_drift(self, reference: pd.Series, current: pd.Series) -> Any:
        """The labels as a categorical column of :func:`assay.deploy.drift` (chi-square,
        Jensen-Shannon distance)."""
        from assay.deploy.drift import drift

        name = str(reference.name) if reference.name is not None else "label"
        return drift(
            pd.DataFrame({name: reference.to_numpy()}),
            pd.DataFrame({name: current.to_numpy()}),
            column_types={name: "categorical"},
        )

    @property
    def performance_watch(self) -> Any:
        """:class:`assay.deploy.performance.ClassificationWatch` (CBPE of accuracy)."""
        from assay.deploy.performance import ClassificationWatch

        return ClassificationWatch()

    def realised_performance(
        self, y_true: Any, y_pred: Any, *, window: Any = None, seed: int = 0
    ) -> pd.DataFrame:
        """:func:`assay.deploy.realised_performance` (accuracy with Wilson intervals,
        error rate, macro F1 per window)."""
        from assay.deploy.performance import realised_performance

        return realised_performance(y_true, y_pred, window=window)
