"""Label issues of a multi-label task: tags that were omitted or wrongly added.

:func:`find_multilabel_issues` scores and cuts whole label sets (measured in
``benchmarks/label_issues_kinds.py``, results in ``benchmarks/results/label_issues_kinds.md``):

1. **Probabilities that know the other tags.** Each label's out-of-sample probability
   is re-estimated from the model's logit and the item's other given labels
   (:func:`assay.train.labels._cooccur.refine_probs`, cross-fitted): a dropped or added
   tag breaks the co-occurrence pattern of the set.
2. **Set-level score.** ``label_quality`` is the minimum over the item's labels of the
   self-confidence (``p_j`` where label ``j`` is given, ``1 - p_j`` where it is not)
   under those probabilities: the one most doubtful decision. On MULAN yeast with 10%
   of the items given a dropped and/or added tag, AUPRC 0.20 with the model's own
   probabilities, about 0.8 with the refined ones; cleanlab's default (an exponential
   moving average of the per-label scores) 0.16.
3. **Set-level cut.** The number of wrong sets is estimated from the data: per label,
   flip rates from the items the model is surest about, each entry's posterior
   probability of being a flip, and their sum over items of P(at least one wrong entry)
   (:func:`assay.train.labels._cooccur.expected_wrong_sets`). That many items, the
   lowest by ``label_quality``, are flagged, so the review queue tracks the estimated
   amount of noise (per-label confident learning flags every set with any doubtful
   entry: about 70% of yeast). In a flagged set the most doubtful entry is toggled in
   ``suggested_label``, and any other entry more likely wrong than right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import index_of, name_rows
from assay.exceptions import InputError
from assay.train.labels._cooccur import entry_doubt, expected_wrong_sets, refine_probs

__all__ = ["find_multilabel_issues", "label_matrix"]


def _from_sets(labels: Sequence[Any] | pd.Series, classes: Sequence[Any] | None) -> tuple[np.ndarray, list]:
    """A (n, k) 0/1 matrix from a sequence of label sets, and the column names."""
    sets = []
    for row, value in enumerate(labels):
        if value is None or isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise InputError(
                f"the label at {name_rows(row, index_of(labels))} is {value!r}, not a list of "
                "labels; give each item a list of label names ([] for none)."
            )
        sets.append(list(value))
    if classes is None:
        found = {v for s in sets for v in s}
        ints = all(isinstance(v, (int, np.integer)) for v in found)
        names = sorted(found) if ints or not found else sorted(found, key=str)
        if ints and found:
            names = list(range(int(max(found)) + 1))
    else:
        names = list(classes)
    column = {name: j for j, name in enumerate(names)}
    if len(column) != len(names):
        raise InputError("classes must be distinct label names.")
    matrix = np.zeros((len(sets), len(names)), dtype=np.int8)
    for row, values in enumerate(sets):
        unknown = [v for v in values if v not in column]
        if unknown:
            raise InputError(
                f"the label at {name_rows(row, index_of(labels))} names {unknown[0]!r}, which "
                f"is not among the classes ({', '.join(map(str, names[:20]))}); fix the label "
                "or pass classes= in pred_probs column order."
            )
        matrix[row, [column[v] for v in values]] = 1
    return matrix, names


def label_matrix(labels: Any, classes: Sequence[Any] | None = None) -> tuple[np.ndarray, list]:
    """Multi-label labels as an (n, k) 0/1 matrix and its column names.

    Parameters
    ----------
    labels : ndarray of shape (n, k) of 0/1, DataFrame, or sequence of label sets
        A 0/1 numpy matrix (a DataFrame's columns name the labels) or one list of label
        names per item (a list of lists is read as label sets, as cleanlab's).
    classes : sequence, optional
        The name of each column (default: the DataFrame's columns, ``range(k)``, or the
        sorted names found in the sets).

    Raises
    ------
    InputError
        Values other than 0/1, NaN, a set naming an unknown label.
    """
    if isinstance(labels, pd.DataFrame) or (
        isinstance(labels, np.ndarray) and labels.ndim == 2
    ):
        values = np.asarray(labels, dtype=np.float64)
        if not np.isfinite(values).all() or not np.isin(values, (0.0, 1.0)).all():
            bad = int(np.argmax(~np.isin(values, (0.0, 1.0)).all(axis=1)))
            raise InputError(
                f"labels at {name_rows(bad, index_of(labels))} hold values other than 0 and 1 "
                "(or NaN); a multi-label matrix holds 0/1 per label."
            )
        names: list[Any] = (
            list(classes) if classes is not None
            else list(labels.columns) if isinstance(labels, pd.DataFrame)
            else list(range(values.shape[1]))
        )
        if len(names) != values.shape[1]:
            raise InputError(
                f"classes has {len(names)} names but labels have {values.shape[1]} columns."
            )
        return values.astype(np.int8), names
    if isinstance(labels, np.ndarray) and labels.ndim != 1:
        raise InputError(f"labels must be (n, k) 0/1 or a list of sets; got {labels.shape}.")
    return _from_sets(labels if isinstance(labels, pd.Series) else list(labels), classes)


def _check_probs(pred_probs: Any, n: int, k: int) -> np.ndarray:
    probs = np.asarray(pred_probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != (n, k):
        raise InputError(
            f"pred_probs must have shape (n_items, n_labels) = ({n}, {k}); got "
            f"{probs.shape}. Give one probability per label per item, in classes order."
        )
    bad = ~np.isfinite(probs) | (probs < 0) | (probs > 1)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        raise InputError(
            f"pred_probs at {name_rows(row, index_of(pred_probs))} is NaN, infinite or "
            "outside [0, 1]; give per-label probabilities (sigmoid outputs)."
        )
    return probs


def _flags(matrix: np.ndarray, refined: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Per (item, label): the entries to toggle, on the items of the set-level cut.

    The ``round(expected_wrong_sets)`` items lowest by ``quality`` are flagged; in each,
    the least self-confident entry and any entry with a flip posterior of 0.5 or more.
    """
    doubt = entry_doubt(matrix, refined)
    n_flag = int(round(expected_wrong_sets(doubt)))
    flags = np.zeros(matrix.shape, dtype=bool)
    if n_flag == 0:
        return flags
    rows = np.argsort(quality, kind="stable")[:n_flag]
    selfconf = np.where(matrix[rows] == 1, refined[rows], 1.0 - refined[rows])
    flags[rows, np.argmin(selfconf, axis=1)] = True
    flags[rows] |= doubt[rows] >= 0.5
    return flags


def _row_codes(rows: np.ndarray) -> np.ndarray:
    """One integer per distinct row of a boolean matrix (hash-grouped next)."""
    if rows.shape[1] <= 62:
        weights = np.left_shift(np.int64(1), np.arange(rows.shape[1], dtype=np.int64))
        return rows.astype(np.int64) @ weights
    packed = np.ascontiguousarray(np.packbits(rows, axis=1))
    return np.unique(packed.view(f"V{packed.shape[1]}").ravel(), return_inverse=True)[1]


def _names(rows: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Per item, the sorted names of the columns where ``rows`` is True.

    Items share few distinct sets: each distinct set is named once, and items with the
    same set share that list object (an object array of lists).
    """
    order = sorted(range(len(names)), key=lambda j: (isinstance(names[j], str), names[j]))
    ordered = rows[:, order]
    inverse, _ = pd.factorize(_row_codes(ordered))
    first_rows = pd.Series(np.arange(len(inverse))).groupby(inverse).first().to_numpy()
    sets = np.empty(len(first_rows), dtype=object)
    for code, row in enumerate(first_rows):  # one by one: equal-length lists stay lists
        sets[code] = names[order][ordered[row]].tolist()
    return sets[inverse]


def find_multilabel_issues(
    labels: Any, pred_probs: Any, *, classes: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Flag items whose label set looks wrong, and score every item's labels.

    See the module docstring for the method.

    Parameters
    ----------
    labels : array-like of shape (n, k) of 0/1, DataFrame, or sequence of label sets
        Given labels (see :func:`label_matrix`).
    pred_probs : array-like of shape (n, k)
        Out-of-sample probability of each label (independent, not summing to 1).
    classes : sequence of length k, optional
        The label of each column of ``pred_probs``.

    Returns
    -------
    DataFrame of shape (n, 6)
        Indexed like ``labels`` (a Series or DataFrame) or 0..n-1: ``is_label_issue``,
        ``label_quality`` (in [0, 1], lower = more suspicious), ``given_label`` and
        ``suggested_label`` (sorted lists of names), ``missing_labels`` and
        ``extra_labels`` (names the model thinks were omitted / wrongly added).

    Raises
    ------
    InputError
        Bad labels (values other than 0/1, unknown names), a shape mismatch,
        probabilities that are NaN/inf or outside [0, 1], no items.
    """
    matrix, names = label_matrix(labels, classes)
    if matrix.shape[0] == 0:
        raise InputError("there are no labels; give at least one labelled item.")
    probs = _check_probs(pred_probs, matrix.shape[0], matrix.shape[1])
    refined = refine_probs(matrix, probs)
    given = matrix.astype(bool)
    quality = np.where(given, refined, 1.0 - refined).min(axis=1, initial=1.0)
    flags = _flags(matrix, refined, quality)
    columns = np.asarray(names, dtype=object)
    return pd.DataFrame(
        {
            "is_label_issue": flags.any(axis=1),
            "label_quality": quality,
            "given_label": _names(given, columns),
            "suggested_label": _names(given ^ flags, columns),
            "missing_labels": _names(flags & ~given, columns),
            "extra_labels": _names(flags & given, columns),
        },
        index=index_of(labels),
    )
