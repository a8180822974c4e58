"""Multi-label classification: a set of labels per item (tags, defects, topics).

A label is stored as a list of strings (Arrow ``list<string>``), in a canonical order
(sorted, no repeats); the empty list is a valid label (no tag applies). Each member
delegates to the engine function for label sets; the engines are imported when first
used (see :mod:`assay.tasks.classification`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assay._validation import whole_text
from assay.exceptions import InputError
from assay.tasks.base import Interval, LabelSummary, RowNamer, Task

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


def _is_list(label_type: pa.DataType) -> bool:
    return bool(pa.types.is_list(label_type) or pa.types.is_large_list(label_type))


def _name(value: Any) -> str:
    """A label name as text (``1`` and ``1.0`` from numeric lists name label ``1``)."""
    return whole_text(value)


def _shown(labels: tuple[str, ...] | None) -> str:
    return "missing" if labels is None else "[" + ", ".join(labels) + "]"


def _sets(values: Iterable[Any]) -> list[tuple[str, ...] | None]:
    return [as_label_set(v) for v in values]


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA (a label set not yet given)."""
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


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

    def detects(self, label_type: pa.DataType) -> bool:
        """A list column is a multi-label column."""
        return bool(_is_list(label_type))

    def stored_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> pa.ChunkedArray:
        """Lists of names as ``list<string>``, each sorted with no repeats.

        Raises
        ------
        InputError
            A list holds a missing value or a nested list.
        """
        if not _is_list(column.type):
            return column
        value_type = column.type.value_type
        if _is_list(value_type) or pa.types.is_struct(value_type):
            raise InputError(
                f"{where}: the label column {name!r} holds lists of {value_type}, not lists "
                "of label names; give each row a flat list of names."
            )
        flat = pc.list_flatten(column)
        if flat.null_count:
            parents = pc.list_parent_indices(column).to_numpy()
            nulls = np.asarray(flat.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            position = int(parents[np.flatnonzero(nulls)[0]])
            raise InputError(
                f"{where}: the label column {name!r} has a missing label inside a list at "
                f"{rows(np.array([position]))}; list only label names ([] for none)."
            )
        sets = [None if v is None else sorted({_name(x) for x in v}) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(sets, type=pa.list_(pa.string()))])

    def label_names(self, column: pa.ChunkedArray) -> list[str] | None:
        """Every label name the column uses, sorted."""
        if not _is_list(column.type):
            return None
        return sorted({str(v) for v in pc.unique(pc.list_flatten(column)).to_pylist()
                       if v is not None})

    def unknown_labels(
        self, column: pa.ChunkedArray, allowed: Sequence[str]
    ) -> tuple[int, str] | None:
        """The first row naming a label outside ``allowed``, and that label."""
        if not _is_list(column.type):
            return None
        flat = pc.list_flatten(column).cast(pa.string())
        outside = pc.invert(pc.is_in(flat, value_set=pa.array(list(allowed), pa.string())))
        mask = np.asarray(pc.fill_null(outside, False).to_numpy(zero_copy_only=False), bool)
        if not mask.any():
            return None
        first = int(np.flatnonzero(mask)[0])
        parents = pc.list_parent_indices(column).to_numpy()
        return int(parents[first]), str(flat[first].as_py())

    def unknown_names(self, value: Any, allowed: set[str]) -> list[str]:
        """The labels of the set that are not ``allowed``."""
        return [name for name in as_label_set(value) or () if name not in allowed]

    def edit_label(self, current: Any, *, add: Sequence[str], remove: Sequence[str]) -> Any:
        """``current`` with the labels ``add`` added and ``remove`` removed, sorted.

        Raises
        ------
        InputError
            A label is both added and removed.
        """
        both = sorted(set(add) & set(remove))
        if both:
            raise InputError(
                f"{', '.join(both)} would be both added and removed; name each label once."
            )
        labels = set(as_label_set(current) or ())
        return sorted((labels | {str(a) for a in add}) - {str(r) for r in remove})

    def describe_labels(self, values: pd.Series) -> LabelSummary:
        """Rows carrying each label (a row counts once per label it has), by label; rows
        with no label as ``(none)``."""
        sets = _sets(values)
        counts: dict[str, int] = {}
        for labels in sets:
            for name in labels or ():
                counts[name] = counts.get(name, 0) + 1
        rows: dict[str, Any] = dict(sorted(counts.items()))
        empty = sum(1 for labels in sets if labels == ())
        if empty:
            rows["(none)"] = empty
        return LabelSummary(("label", "rows"), rows)

    def describe_change(self, old: Any, new: Any) -> str:
        """``added tag x, removed tag y`` (or ``relabeled`` from/to a missing set)."""
        before, after = as_label_set(old), as_label_set(new)
        if before is None or after is None:
            return f"relabeled {_shown(before)} -> {_shown(after)}"
        added = [t for t in after if t not in before]
        removed = [t for t in before if t not in after]
        parts = [f"added tag{'s' if len(added) > 1 else ''} {', '.join(added)}"] if added else []
        if removed:
            parts.append(f"removed tag{'s' if len(removed) > 1 else ''} {', '.join(removed)}")
        return "; ".join(parts) or "unchanged"

    def model_for(self, estimator: Any) -> Any:
        """A classifier that fits the 0/1 label matrix: the estimator itself when it
        learns several outputs at once (scikit-learn's ``multi_output`` tag: forests,
        k-NN, ...), else one copy per label (``MultiOutputClassifier``), as the audit
        fits them."""
        from sklearn.multioutput import MultiOutputClassifier
        from sklearn.utils import get_tags

        try:
            native = bool(get_tags(estimator).target_tags.multi_output)
        except (AttributeError, TypeError, ValueError):  # not a scikit-learn estimator
            return estimator
        return estimator if native else MultiOutputClassifier(estimator)

    def show_suggestion(
        self, given: Any, suggested: Any, show: Callable[[Any], str] = str
    ) -> str:
        """The tags a suggestion adds and removes, ``+Class6 -Class14 -Class2`` (two
        long sets side by side do not fit a table cell); the given set alone when
        nothing is suggested or nothing changes."""
        before, after = as_label_set(given), as_label_set(suggested)
        if before is None or after is None or before == after:
            return _shown(before)
        added = [f"+{t}" for t in after if t not in before]
        return " ".join(added + [f"-{t}" for t in before if t not in after])

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
        self, labels: Any, predictions: Any, *, classes: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Set-level label issues from ``predictions`` of shape (n, n_labels): each label's
        probability refined by the item's other labels, the worst label's self-confidence,
        and a cut at the estimated number of wrong sets
        (:func:`assay.train.labels._multilabel.find_multilabel_issues`)."""
        from assay.train.labels._multilabel import find_multilabel_issues

        return find_multilabel_issues(labels, predictions, classes=classes, **options)

    def score(self, y_true: Any, y_pred: Any, *, seed: int = 0) -> dict[str, Interval]:
        """Micro and macro F1 and Hamming loss with bootstrap intervals."""
        from assay.train.evaluate._multilabel import score_multilabel

        return score_multilabel(y_true, y_pred, seed=seed)

    def fit_targets(self, labels: Any) -> tuple[Any, list[Any] | None]:
        """The label sets as an (n, n_labels) 0/1 matrix over their sorted names (what
        scikit-learn's multi-label estimators fit), and those names."""
        from assay.train.evaluate._multilabel import label_matrix

        sets = _sets(labels)
        names = sorted({name for s in sets if s is not None for name in s})
        return label_matrix(labels, names), names

    def check_eval_labels(self, y_train: Any, y_eval: Any) -> None:
        """Refuse an evaluation label that no training item has (no model can learn it).

        Raises
        ------
        InputError
        """
        seen = {name for s in _sets(y_train) if s is not None for name in s}
        unseen = sorted({n for s in _sets(y_eval) if s is not None for n in s} - seen)
        if unseen:
            raise InputError(
                f"evaluation labels {', '.join(map(repr, unseen[:5]))} never occur in the "
                "training data; a model cannot predict a label it never saw. Add training "
                "items with them, or remove them from the evaluation set."
            )

    def evaluate_predictions(
        self, y_true: Any, y_pred: Any, *, classes: Any = None, tags: Any = None,
        ids: Any = None, hlp: float | None = None, n_boot: int = 1000, seed: int = 0,
    ) -> Any:
        """:func:`assay.train.evaluate._multilabel.evaluate_multilabel` (micro and macro
        F1, Hamming loss, per label, micro F1 per tag)."""
        from assay.train.evaluate._multilabel import evaluate_multilabel

        return evaluate_multilabel(
            y_true, y_pred, classes=classes, tags=tags, ids=ids, hlp=hlp, n_boot=n_boot,
            seed=seed,
        )

    def evaluation_from_dict(self, data: Mapping[str, Any]) -> Any:
        """:meth:`MultilabelEvaluation.from_dict`."""
        from assay.train.evaluate._multilabel import MultilabelEvaluation

        return MultilabelEvaluation.from_dict(data)

    def compare(
        self, eval_a: Any, eval_b: Any, *, names: tuple[str, str] = ("A", "B"),
        n_boot: int = 1000, seed: int = 0, alpha: float = 0.05,
    ) -> Any:
        """McNemar per label (Holm-adjusted) and a paired bootstrap on micro F1
        (:func:`assay.train.evaluate._multilabel.compare_multilabel`)."""
        from assay.train.evaluate._multilabel import compare_multilabel

        return compare_multilabel(
            eval_a, eval_b, names=names, n_boot=n_boot, seed=seed, alpha=alpha
        )

    def headline_score(self, y_true: Any, y_pred: Any) -> float:
        """Micro F1 (0/1 matrices of the same shape)."""
        t, p = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
        tp, wrong = float((t & p).sum()), float((t ^ p).sum())
        return 2 * tp / (2 * tp + wrong) if tp + wrong > 0 else 0.0

    def human_level(self, report: Any) -> float | None:
        """1 - the MASI-based disagreement between annotators: the report's
        ``mean_masi_agreement`` (:func:`assay.collect.agreement_sets.set_agreement`), or
        a number given as that agreement."""
        value = getattr(report, "mean_masi_agreement", report)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if 0.0 <= number <= 1.0 else None

    def out_of_sample(
        self, model: Any, X: Any, y: Any, *, cv: int = 5, seed: int = 0,
        n_jobs: int | None = None, modality: str = "tabular",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-sample probability of every label (n, n_labels), one binary
        classifier per label (:func:`assay.train.predict.cross_val_predict_multilabel`;
        default model: the modality's classifier), and the labels at probability 0.5
        or more as a 0/1 matrix."""
        from assay.train.predict import cross_val_predict_multilabel, default_model

        estimator = default_model(modality, seed=seed) if model is None else model
        probs = cross_val_predict_multilabel(estimator, X, y, cv=cv, seed=seed, n_jobs=n_jobs)
        return probs, (probs >= 0.5).astype(np.int64)

    def slice_inputs(self, evaluation: Any) -> tuple[Any, Any, Any]:
        """The label sets and micro F1 over the evaluation's labels."""
        from assay.train.evaluate._multilabel import micro_f1_of

        return evaluation.y_true, evaluation.y_pred, micro_f1_of(evaluation.classes)

    def label_drift(self, reference: pd.Series, current: pd.Series) -> Any:
        """Whether each label's frequency drifted (:func:`assay.deploy.drift_sets.set_drift`)."""
        from assay.deploy.drift_sets import set_drift

        return set_drift(reference, current)

    @property
    def performance_watch(self) -> Any:
        """:class:`assay.deploy.estimate_multilabel.MultilabelWatch` (per-label CBPE of
        micro / macro F1; predicted sets tested by set_drift)."""
        from assay.deploy.estimate_multilabel import MultilabelWatch

        return MultilabelWatch()

    def batch_labels(self, values: pd.Series) -> pd.Series:
        """Label sets of a production batch as canonical JSON text (a batch's cells hold
        no lists); missing stays missing."""
        sets = [as_label_set(v) if not _missing(v) else None for v in values]
        return pd.Series([None if s is None else json.dumps(list(s)) for s in sets],
                         index=values.index, dtype=object)
