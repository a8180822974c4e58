"""Multi-label classification: a set of labels per item (tags, defects, topics).

A label is stored as a list of strings (Arrow ``list<string>``), in a canonical order
(sorted, no repeats); the empty list is a valid label (no tag applies). Each member
delegates to the engine function for label sets; the engines are imported when first
used (see :mod:`assay.tasks.classification`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay.exceptions import InputError
from assay.tasks.base import Interval, RowNamer, Task

__all__ = ["MultilabelTask", "as_label_set"]


def as_label_set(value: Any) -> tuple[str, ...] | None:
    """One label set in canonical form: a sorted tuple of distinct strings.

    ``None`` (and NaN) stays missing; a list, tuple, set or numpy array of names is a
    set; text is read as a JSON list (``'["a", "b"]'``).

    Raises
    ------
    InputError
        The value is not a set of label names.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"label {value!r} is not a list of labels; write it as a JSON list, "
                'e.g. ["a", "b"].'
            ) from exc
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return tuple(sorted({str(v) for v in value}))
    raise InputError(f"label {value!r} is not a list of labels.")


def _sets(values: Iterable[Any]) -> list[tuple[str, ...] | None]:
    return [as_label_set(v) for v in values]


class MultilabelTask(Task):
    """A set of labels per item, from a fixed list of labels."""

    kind = "multilabel"
    review_widget = "tags"
    agreement_statistics = ("krippendorff_alpha", "per_label_kappa")
    consensus_method = "dawid_skene"
    metrics = ("micro_f1", "macro_f1", "hamming_loss")
    greater_is_better = True

    def check_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> None:
        """Every row holds a list of label names (an empty list is a valid label).

        Raises
        ------
        InputError
            The column is not a list column, or some rows are missing.
        """
        if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
            raise InputError(
                f"{where}: the label column {name!r} holds {column.type}, not lists of "
                "labels; a multi-label column holds lists (Parquet/JSONL), or give "
                "--label A,B,C (0/1 columns) or --label-sep."
            )
        missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if missing.any():
            positions = np.flatnonzero(missing)
            raise InputError(
                f"{where}: the label column {name!r} is missing on {rows(positions)}; "
                "give every row a list of labels ([] for none), or remove those rows."
            )

    def coerce_label(self, value: Any, label_type: pa.DataType) -> Any:
        """A label set typed by a person: a JSON list or comma-separated names."""
        if isinstance(value, str) and not value.strip().startswith("["):
            value = [part.strip() for part in value.split(",") if part.strip()]
        labels = as_label_set(value)
        if labels is None:
            raise InputError("a label set is required ([] for none).")
        return list(labels)

    def encode_label(self, value: Any) -> str | None:
        """A label set as stored in SQL: a JSON list, sorted."""
        labels = as_label_set(value)
        return None if labels is None else json.dumps(list(labels))

    def decode_label(self, text: str | None) -> Any:
        return None if text is None else list(json.loads(text))

    def same_labels(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Set equality, where two missing labels are the same."""
        return np.array([a == b for a, b in zip(_sets(old), _sets(new), strict=True)],
                        dtype=bool)

    @property
    def agreement(self) -> Callable[..., Any]:
        """:func:`assay.collect.agreement_sets.set_agreement` (MASI alpha, per-label
        kappa and alpha, omitted and added labels)."""
        from assay.collect.agreement_sets import set_agreement

        return set_agreement

    @property
    def consensus(self) -> Callable[..., Any]:
        """:func:`assay.collect.consensus_sets.set_consensus` (Dawid-Skene per label)."""
        from assay.collect.consensus_sets import set_consensus

        return set_consensus

    def find_label_issues(
        self, labels: Any, predictions: Any, *, classes: Any = None
    ) -> pd.DataFrame:
        """Per-label confident learning on ``predictions`` of shape (n, n_labels)."""
        from assay.train.labels._multilabel import find_multilabel_issues

        return find_multilabel_issues(labels, predictions, classes=classes)

    def score(self, y_true: Any, y_pred: Any, *, seed: int = 0) -> dict[str, Interval]:
        """Micro and macro F1 and Hamming loss with bootstrap intervals."""
        from assay.train.evaluate._multilabel import score_multilabel

        return score_multilabel(y_true, y_pred, seed=seed)

    def label_drift(self, reference: pd.Series, current: pd.Series) -> Any:
        """Whether each label's frequency drifted (:func:`assay.deploy.drift_sets.set_drift`)."""
        from assay.deploy.drift_sets import set_drift

        return set_drift(reference, current)
