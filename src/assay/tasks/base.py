"""The :class:`Task` protocol: what a label is, for one kind of label.

A task is the one place that knows a kind of label (one class per item, a number, a
set of classes, boxes): how a column of labels is checked, how a label typed by a
person becomes a stored value, how two labels compare, and *which* engine functions
measure agreement, reach consensus, find label issues, score a model and test the
labels for drift. The engines stay pure functions; the store, the workflows and the
faces ask the dataset's task instead of branching on its kind.

A new kind of label is a new module under :mod:`assay.tasks` with a :class:`Task`
subclass registered by :func:`assay.tasks.register_task`; nothing else changes.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assay.exceptions import InputError

__all__ = [
    "Headline", "Interval", "LabelSummary", "RowNamer", "Task", "Verdict", "both_missing",
    "missing_values",
]

#: ``{"value": v, "low": lo, "high": hi, ...}``: a metric with its 95% interval.
Interval = Mapping[str, Any]
#: Names 0-based row positions in a message (``lines 4 and 7``), see
#: :class:`assay.store.readers.RowNames` and :func:`assay._validation.name_rows`.
RowNamer = Callable[[np.ndarray], str]
#: How B's headline metric compares with A's, in the task's direction.
Verdict = Literal["better", "worse", "same"]


class LabelSummary(NamedTuple):
    """A two-column table describing a column of labels (see :meth:`Task.describe_labels`).

    ``columns`` names the two columns (``("label", "count")``); ``rows`` maps the first
    column's values to the second's (JSON-safe keys).
    """

    columns: tuple[str, str]
    rows: dict[str, Any]


def _key(value: Any) -> str:
    """A label as a JSON key (``str``; missing as ``"None"``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return "None"
    return str(value)


class Headline(NamedTuple):
    """A model's headline: the task's first metric, its value and its interval."""

    metric: str
    value: float
    interval: Interval


def missing_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Which values are missing: null, NaN, or text that is empty or blank."""
    missing = column.is_null(nan_is_null=True)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0)
        missing = pc.or_kleene(missing, pc.fill_null(blank, False))
    return np.asarray(missing.to_numpy(zero_copy_only=False), dtype=bool)


def both_missing(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Element-wise: both values are missing (None or NaN)."""
    return np.asarray(pd.isna(left), dtype=bool) & np.asarray(pd.isna(right), dtype=bool)


def _shown(value: Any) -> str:
    """A label in a message: numbers plain, text quoted, missing as ``missing``."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    return repr(value) if isinstance(value, str) else str(value)


def _nothing_suggested(value: Any) -> bool:
    """None, an empty text or a missing number (NaN): no label was suggested."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return value == ""
    return value is None or (isinstance(value, float) and math.isnan(value))


class Task(ABC):
    """One kind of label, and the engine functions that apply to it.

    Attributes
    ----------
    kind : str
        The registry key, e.g. ``"classification"`` (stored per dataset).
    review_widget : str
        The name the review pages switch on to decide a label (``"choice"``: pick a
        class; a number field or a box editor for other kinds).
    agreement_statistics : tuple of str
        The statistics :attr:`agreement` reports, by the names of its result.
    consensus_method : str
        The ``method`` of :attr:`consensus` that the workflows and faces run when none
        is given (``assay consensus``; classification: ``dawid_skene``, while the
        Python function :func:`assay.consensus` keeps its own default, majority).
    metrics : tuple of str
        The names :meth:`score` returns, the headline metric first.
    greater_is_better : bool
        Whether a larger headline metric is a better model (accuracy: yes; MAE: no).
    """

    kind: ClassVar[str]
    review_widget: ClassVar[str]
    agreement_statistics: ClassVar[tuple[str, ...]]
    consensus_method: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]
    greater_is_better: ClassVar[bool] = True
    #: The keyword options :meth:`find_label_issues` passes on to its engine (e.g.
    #: ``method`` for classification, ``features`` for regression).
    label_issue_options: ClassVar[tuple[str, ...]] = ()
    #: Whether a label is one class per item: learning curves then stratify their
    #: splits by it and may correct accuracy for (symmetric) class noise.
    class_targets: ClassVar[bool] = False
    #: The smallest training size a learning curve starts at by default (raised to
    #: 5 per class for class targets).
    curve_start: ClassVar[int] = 20

    # -- what a label is ------------------------------------------------------------

    @abstractmethod
    def check_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> None:
        """Refuse a column of labels this kind cannot hold (one line, naming the rows).

        Raises
        ------
        InputError
        """

    @abstractmethod
    def coerce_label(self, value: Any, label_type: pa.DataType) -> Any:
        """One label typed by a person (often text), as a value of the column's type.

        Raises
        ------
        InputError
            The value is not a label of this kind.
        """

    def encode_label(self, value: Any) -> str | None:
        """A label as stored in SQL (review queue, annotations): JSON text, None if missing."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, np.generic):
            value = value.item()
        return json.dumps(value)

    def decode_label(self, text: str | None) -> Any:
        """The inverse of :meth:`encode_label`."""
        return None if text is None else json.loads(text)

    @abstractmethod
    def same_labels(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Element-wise: the label did not change (two missing labels are the same).

        Returns
        -------
        ndarray of bool, shape (n,)
            False where a diff counts the item as relabeled.
        """

    # -- import, allowed labels, diffs -----------------------------------------------

    def detects(self, label_type: pa.DataType) -> bool:
        """Whether a label column of ``label_type`` is of this kind when no kind is named
        at a dataset's first import (the default kind takes every type no other claims)."""
        return False

    def stored_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> pa.ChunkedArray:
        """The label column in the type this kind stores (default: unchanged).

        A column this kind cannot hold is returned unchanged, for
        :meth:`check_labels` to refuse with its message.
        """
        return column

    def label_names(self, column: pa.ChunkedArray) -> list[str] | None:
        """The label names a column uses, when this kind's labels are names from a fixed
        list that a dataset records (multi-label); None for other kinds."""
        return None

    def unknown_labels(
        self, column: pa.ChunkedArray, allowed: Sequence[str]
    ) -> tuple[int, str] | None:
        """The first ``(row position, label)`` naming a label outside ``allowed``, or None
        (kinds whose labels are not checked against a list of names: always None)."""
        return None

    def unknown_names(self, value: Any, allowed: set[str]) -> list[str]:
        """The names in one decided label that are not ``allowed`` (the label book's
        classes, else the labels in use): a relabel naming one is refused. Default: the
        label itself, when it is not a known class."""
        return [] if str(value) in allowed else [str(value)]

    def edit_label(self, current: Any, *, add: Sequence[str], remove: Sequence[str]) -> Any:
        """``current`` with labels added and removed (label sets only).

        Raises
        ------
        InputError
            This kind's labels are not sets.
        """
        raise InputError(
            f"adding and removing labels edits a set of labels; this dataset's labels are "
            f"{self.kind}: give the new label instead."
        )

    def describe_labels(self, values: pd.Series) -> LabelSummary:
        """What a version's labels look like, for ``assay show``: rows per label (missing
        labels counted as ``None``), in label order."""
        counts = values.value_counts(dropna=False).sort_index()
        return LabelSummary(("label", "count"), {_key(k): int(v) for k, v in counts.items()})

    def describe_change(self, old: Any, new: Any) -> str:
        """One label's change in words, for diffs: ``relabeled 'cat' -> 'dog'``."""
        return f"relabeled {_shown(old)} -> {_shown(new)}"

    def show_label(self, value: Any) -> Any:
        """One label as a table cell shows it: the value itself (a class, a number, a
        set); a kind whose labels are long (boxes) returns a short text."""
        return value

    def model_for(self, estimator: Any) -> Any:
        """``estimator`` made to fit this kind's targets (:meth:`fit_targets`); by
        default the estimator itself."""
        return estimator

    def show_suggestion(
        self, given: Any, suggested: Any, show: Callable[[Any], str] = str
    ) -> str:
        """A label and the one suggested for it, as a table cell shows them:
        ``cat -> dog``, or the given label alone when nothing else is suggested.
        ``show`` formats one value (the CLI's rounds long floats)."""
        shown_given = show(self.show_label(given))
        if _nothing_suggested(suggested):
            return shown_given
        shown_suggested = show(self.show_label(suggested))
        if shown_suggested in ("", shown_given):
            return shown_given
        return f"{shown_given} -> {shown_suggested}"

    def check_item_label(self, value: Any, row: Callable[[], Mapping[str, Any] | None]) -> None:
        """Refuse a decided label that does not fit its item (its dataset row, read only
        if needed by calling ``row``); every label fits by default. Detection: each box
        inside the image's ``width`` x ``height``.

        Raises
        ------
        InputError
        """
        return None

    # -- which model is better ------------------------------------------------------

    def headline(self, overall: Mapping[str, Interval]) -> Headline:
        """The headline metric (the first of :attr:`metrics`) of a metric table.

        Parameters
        ----------
        overall : mapping
            ``{metric: {"value", "low", "high", ...}}``, e.g. :meth:`score`'s result or
            :attr:`assay.train.evaluate.Evaluation.overall`.
        """
        metric = self.metrics[0]
        interval = overall[metric]
        return Headline(metric, float(interval["value"]), interval)

    def verdict(self, a: Mapping[str, Interval], b: Mapping[str, Interval]) -> Verdict:
        """Whether metric table ``b`` is better than ``a`` on the headline metric, in the
        direction of :attr:`greater_is_better` (a point comparison: the intervals and the
        paired test say whether the difference is more than noise)."""
        va, vb = self.headline(a).value, self.headline(b).value
        if va == vb:
            return "same"
        return "better" if (vb > va) == self.greater_is_better else "worse"

    # -- which engine functions apply ----------------------------------------------

    @property
    @abstractmethod
    def agreement(self) -> Callable[..., Any]:
        """The engine function measuring agreement of long-format annotations."""

    @property
    @abstractmethod
    def consensus(self) -> Callable[..., Any]:
        """The engine function estimating one label per item from several annotators."""

    @abstractmethod
    def find_label_issues(
        self, labels: Any, predictions: Any, *, classes: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Likely label errors from out-of-sample ``predictions`` (the task's model output).

        ``options`` are the engine's keyword options, named in :attr:`label_issue_options`.

        Returns
        -------
        DataFrame, one row per label
            ``is_label_issue`` (bool), ``label_quality`` (lower = more suspicious),
            ``given_label``, ``suggested_label``.
        """

    @abstractmethod
    def score(self, y_true: Any, y_pred: Any, *, seed: int = 0) -> dict[str, Interval]:
        """Every name of :attr:`metrics` with its value and 95% interval."""

    @abstractmethod
    def label_drift(self, reference: pd.Series, current: pd.Series) -> Any:
        """Whether the labels of ``current`` drifted from ``reference`` (a drift report)."""

    # -- evaluating and comparing models -------------------------------------------

    def fit_targets(self, labels: Any) -> tuple[Any, list[Any] | None]:
        """What an estimator is fitted on, from a column of labels, and the classes
        that order its output columns (None: the output is one value per item).

        Returns
        -------
        y : array of shape (n,) or (n, n_labels)
        classes : list or None
        """
        return np.asarray(labels), None

    def check_eval_labels(self, y_train: Any, y_eval: Any) -> None:
        """Refuse an evaluation set the training labels cannot answer (e.g. a class
        never seen in training); the default accepts any."""
        return None

    def evaluate_predictions(
        self, y_true: Any, y_pred: Any, *, classes: Any = None, tags: Any = None,
        ids: Any = None, hlp: float | None = None, n_boot: int = 1000, seed: int = 0,
    ) -> Any:
        """An evaluation of predictions (``overall`` in :attr:`metrics`, ``per_tag``,
        ``item_errors``, ``tables()``, ``summary()``, ``to_dict()``).

        Raises
        ------
        InputError
            This kind has no model evaluation.
        """
        from assay.exceptions import InputError

        raise InputError(f"the {self.kind} task has no model evaluation.")

    def evaluation_from_dict(self, data: Mapping[str, Any]) -> Any:
        """The inverse of the evaluation's ``to_dict`` (a stored experiment)."""
        from assay.exceptions import InputError

        raise InputError(f"the {self.kind} task has no model evaluation.")

    def compare(
        self, eval_a: Any, eval_b: Any, *, names: tuple[str, str] = ("A", "B"),
        n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
    ) -> Any:
        """The task's paired test of two evaluations of the same items (an object
        with ``p_value``, ``metrics`` ``{name: {a, b, delta, low, high}}``,
        ``summary()`` and ``to_dict()``)."""
        from assay.exceptions import InputError

        raise InputError(f"the {self.kind} task has no paired comparison.")

    def headline_score(self, y_true: Any, y_pred: Any) -> float:
        """The headline metric's point value (no interval; learning curves)."""
        return float(self.score(y_true, y_pred, seed=0)[self.metrics[0]]["value"])

    def out_of_sample(
        self, model: Any, X: Any, y: Any, *, cv: int = 5, seed: int = 0,
        n_jobs: int | None = None, modality: str = "tabular",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-sample output of ``model`` by seeded cross-validation, and the
        predictions it implies (what :meth:`find_label_issues` and the error analysis
        read).

        Parameters
        ----------
        model : scikit-learn estimator or None
            Cloned per fold; None: the modality's default model of this kind.
        X : array-like of shape (n, n_features)
        y : fit targets of shape (n,) or (n, n_labels) (:meth:`fit_targets`)

        Returns
        -------
        output : ndarray
            The model's output per item (class probabilities, numbers, per-label
            probabilities).
        y_pred : ndarray, shaped like ``y``
            The predicted labels.

        Raises
        ------
        InputError
            This kind has no out-of-sample predictions.
        """
        raise InputError(f"the {self.kind} task has no out-of-sample predictions.")

    def slice_inputs(self, evaluation: Any) -> tuple[Any, Any, Any]:
        """``(y_true, y_pred, metric)`` of an evaluation for
        :func:`assay.train.slices.slice_table` (a metric name or ``f(y_true, y_pred)``
        named after the headline metric); the table's direction is
        :attr:`greater_is_better`."""
        return evaluation.y_true, evaluation.y_pred, self.headline_score

    def read_predictions(
        self, path: Path, *, labels: Sequence[Any], ids: Sequence[str],
        names: Mapping[str, str], mapping: Path | None = None,
    ) -> Any:
        """A model's predictions from a file in this kind's own format, one per item of
        ``ids`` (``names``: every name an item goes by -> its id; ``mapping``: a file
        naming the ids the predictions use); None when the kind has no format of its
        own (the workflow reads labels or probabilities). Detection: a detector's boxes.

        Raises
        ------
        InputError
        """
        return None

    def slice_columns(
        self, frame: pd.DataFrame, *, label: str, media: str | None, root: str | None,
    ) -> pd.DataFrame:
        """Columns derived from the items to slice an error analysis by (one row per
        row of ``frame``; ``label``/``media``: its label and media columns, ``root``: the
        media folder); none by default. Detection: image size, box size, brightness..."""
        return pd.DataFrame(index=frame.index)

    def human_level(self, report: Any) -> float | None:
        """Human-level performance in the headline metric's terms from an agreement
        report of :attr:`agreement` (None when the report cannot tell)."""
        return None

    # -- deploy: production monitors ------------------------------------------------

    @property
    def performance_watch(self) -> Any:
        """What a production monitor does with a model of this kind: predict, estimate
        performance without labels, realised performance, alerts
        (an :class:`assay.deploy.performance.PerformanceWatch`).

        Raises
        ------
        InputError
            This kind has no model monitoring.
        """
        from assay.exceptions import InputError

        raise InputError(f"the {self.kind} task has no model monitoring.")

    def realised_performance(
        self, y_true: Any, y_pred: Any, *, window: Any = None, seed: int = 0
    ) -> pd.DataFrame:
        """The task's metrics with intervals per window once labels arrive
        (:func:`assay.deploy.performance.realised_scores` over :meth:`score`)."""
        from assay.deploy.performance import realised_scores

        return realised_scores(self.score, y_true, y_pred, window=window, seed=seed)

    def batch_labels(self, values: pd.Series) -> pd.Series:
        """Labels of a production batch as a monitor stores them (default: as sent)."""
        return values
