"""Annotations in long format: one row per (item, annotator, label).

The canonical columns are ``item``, ``annotator`` and ``label``, with the optional
``time`` and ``labelbook_version``. crowd-kit's names (``task``, ``worker``, ``label``)
are accepted and renamed. :func:`normalize_annotations` checks a table,
:func:`encode_annotations` turns it into integer codes for the algorithms in
:mod:`assay.collect.agreement` and :mod:`assay.collect.consensus`.

Reading files (:func:`~assay.collect.readers.read_annotations`,
:func:`~assay.collect.readers.parse_label_studio`) lives in :mod:`assay.collect.readers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from assay._validation import check_columns, check_non_empty, name_rows, warn
from assay.exceptions import InputError

__all__ = [
    "ANNOTATION_COLUMNS",
    "EncodedAnnotations",
    "annotations_from_matrix",
    "encode_annotations",
    "normalize_annotations",
    "rename_aliases",
]

#: Required columns of an annotation table, in order.
ANNOTATION_COLUMNS = ("item", "annotator", "label")
#: Optional columns that are kept when present.
OPTIONAL_COLUMNS = ("time", "labelbook_version")
#: Accepted aliases (crowd-kit's names) and the canonical name they map to.
ALIASES = {"task": "item", "worker": "annotator"}


@dataclass(frozen=True)
class EncodedAnnotations:
    """Annotations as integer codes.

    Attributes
    ----------
    item, annotator, label : ndarray of shape (n_annotations,), int64
        Codes into :attr:`items`, :attr:`annotators` and :attr:`classes`.
    items, annotators, classes : pandas.Index
        The distinct items (in order of first appearance), annotators (sorted) and
        classes (the given order, else sorted).
    """

    item: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    items: pd.Index
    annotators: pd.Index
    classes: pd.Index

    @property
    def n_items(self) -> int:
        """The number of distinct items."""
        return len(self.items)

    @property
    def n_classes(self) -> int:
        """The number of classes."""
        return len(self.classes)

    def counts(self) -> sparse.csr_matrix:
        """Item x class count matrix: entry (i, c) is how many annotators gave class c to i.

        Returns
        -------
        scipy.sparse.csr_matrix of shape (n_items, n_classes), int64
        """
        ones = np.ones(len(self.item), dtype=np.int64)
        shape = (self.n_items, self.n_classes)
        mat = sparse.csr_matrix((ones, (self.item, self.label)), shape=shape)
        mat.sum_duplicates()
        return mat


def rename_aliases(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with crowd-kit's column names (:data:`ALIASES`) as assay's, where assay's
    are not already there (a pandas or Dask DataFrame)."""
    renames = {a: c for a, c in ALIASES.items() if a in df.columns and c not in df.columns}
    return df.rename(columns=renames) if renames else df


#: Names rows by their 0-based positions in messages (see :func:`normalize_annotations`).
RowNamer = Callable[[Sequence[int]], str]


def _check_missing(df: pd.DataFrame, where: str, rows: RowNamer | None) -> None:
    for col in ANNOTATION_COLUMNS:
        missing = df[col].isna().to_numpy()
        if missing.any():
            positions = np.flatnonzero(missing).tolist()
            shown = rows(positions) if rows is not None else name_rows(positions, df.index)
            raise InputError(
                f"{where}: column {col!r} is missing in {len(positions)} row(s) ({shown}); "
                f"fill in the {col} or drop those rows."
            )


def _order_classes(values: pd.Series) -> list[Any]:
    uniq = pd.unique(values)
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _resolve_classes(
    labels: pd.Series, classes: Sequence[Any] | None, allow_new: bool, where: str
) -> pd.Index:
    if classes is None:
        return pd.Index(_order_classes(labels))
    index = pd.Index(list(classes))
    if not index.is_unique:
        raise InputError(f"classes contains duplicates ({list(index)}); give distinct classes.")
    unknown = labels[index.get_indexer(pd.Index(labels)) < 0]
    if len(unknown) == 0:
        return index
    new = _order_classes(unknown)
    if allow_new:
        return index.append(pd.Index(new))
    shown = ", ".join(repr(_plain(v)) for v in new[:20]) + (" ..." if len(new) > 20 else "")
    raise InputError(
        f"{where} has {len(unknown)} label(s) outside the label book's classes: {shown}; "
        "fix the labels, add the classes to the label book, or pass allow_new=True."
    )


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so messages show ``3``, not
    ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def _factorize_sorted(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes into the sorted distinct values (by ``str`` when types are mixed)."""
    codes, uniques = pd.factorize(values, sort=False)
    uniq = pd.Index(uniques)
    try:
        order = np.argsort(uniq.to_numpy(), kind="stable")
    except TypeError:
        order = np.argsort(uniq.astype(str).to_numpy(), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniq[order]


def _duplicate_mask(item: np.ndarray, annotator: np.ndarray, n_annotators: int) -> np.ndarray:
    """True for every (item, annotator) row that a later row repeats (keep the last)."""
    key = item.astype(np.int64) * n_annotators + annotator
    reversed_key = key[::-1]
    _, first_in_reversed = np.unique(reversed_key, return_index=True)
    keep = np.zeros(len(key), dtype=bool)
    keep[len(key) - 1 - first_in_reversed] = True
    return ~keep


def _prepare(df: pd.DataFrame, where: str, rows: RowNamer | None = None) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{where} must be a pandas DataFrame, got {type(df).__name__}.")
    df = rename_aliases(df)
    try:
        check_columns(df, ANNOTATION_COLUMNS, where=where)
    except InputError as exc:
        if any(c in df.columns for c in ANNOTATION_COLUMNS) or df.shape[1] < 2:
            raise
        raise InputError(
            f"{exc} If it is a matrix with one column per annotator and a missing value "
            "where one did not label an item (cleanlab's labels_multiannotator), convert "
            "it with assay.annotations_from_matrix(df)."
        ) from None
    check_non_empty(len(df), where=where)
    _check_missing(df, where, rows)
    return df


def annotations_from_matrix(
    matrix: pd.DataFrame | np.ndarray,
    *,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
) -> pd.DataFrame:
    """Long-format annotations from an item x annotator matrix.

    Parameters
    ----------
    matrix : DataFrame or ndarray of shape (n_items, n_annotators)
        One row per item (a DataFrame's index names the items, else 0..n-1), one column
        per annotator (a DataFrame's columns name them), the label where the annotator
        labelled the item and a missing value (NaN, None) where not: the layout of
        cleanlab's ``labels_multiannotator`` and crowd-kit's wide tables.
    classes : sequence, optional
        Allowed classes; labels outside them raise unless ``allow_new``.
    allow_new : bool, default False

    Returns
    -------
    DataFrame of shape (n_annotations, 3)
        ``item``, ``annotator``, ``label``, item by item. Numbers stored as floats
        because of the missing cells are given back as integers when they all are.
    """
    frame = matrix if isinstance(matrix, pd.DataFrame) else pd.DataFrame(np.asarray(matrix))
    if frame.ndim != 2 or frame.shape[1] == 0:
        raise InputError("annotations_from_matrix: give a 2-d table, one column per annotator.")
    stacked = pd.Series(frame.rename_axis(index="item", columns="annotator")
                        .stack(future_stack=True))
    long = stacked[stacked.notna().to_numpy()].to_frame("label").reset_index()
    label = long["label"]
    if pd.api.types.is_float_dtype(label) and len(label) and (label % 1 == 0).all():
        long["label"] = label.astype(np.int64)
    return normalize_annotations(long, classes=classes, allow_new=allow_new,
                                 where="the annotation matrix")


def encode_annotations(
    df: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
    where: str = "the annotations",
) -> EncodedAnnotations:
    """Check an annotation table and encode it as integer codes.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        Columns ``item``, ``annotator``, ``label`` (or crowd-kit's ``task``, ``worker``,
        ``label``).
    classes : sequence, optional
        The label book's classes, in order. Labels outside them raise
        :class:`~assay.exceptions.InputError` listing them, unless ``allow_new``.
    allow_new : bool, default False
        Append unknown labels to ``classes`` (sorted) instead of raising.
    where : str
        How to name the table in messages (e.g. the file name).

    Returns
    -------
    EncodedAnnotations
        When an annotator labelled the same item more than once, only the last row is
        kept, with a warning.
    """
    df = _prepare(df, where)
    item_codes, items = pd.factorize(df["item"], sort=False)
    ann_codes, annotators = _factorize_sorted(df["annotator"])
    labels = df["label"]
    class_index = _resolve_classes(labels, classes, allow_new, where)
    label_codes = class_index.get_indexer(pd.Index(labels))
    dup = _duplicate_mask(item_codes, ann_codes, len(annotators))
    if dup.any():
        warn(
            f"{where}: {int(dup.sum())} annotation(s) repeat an (item, annotator) pair; "
            "kept the last one of each. Remove the repeats to silence this warning."
        )
        keep = ~dup
        item_codes, ann_codes, label_codes = item_codes[keep], ann_codes[keep], label_codes[keep]
    return EncodedAnnotations(
        item=np.asarray(item_codes, dtype=np.int64),
        annotator=np.asarray(ann_codes, dtype=np.int64),
        label=np.asarray(label_codes, dtype=np.int64),
        items=pd.Index(items),
        annotators=pd.Index(annotators),
        classes=class_index,
    )


def normalize_annotations(
    df: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    allow_new: bool = False,
    where: str = "the annotations",
    rows: RowNamer | None = None,
) -> pd.DataFrame:
    """Return a checked annotation table in the canonical long format.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        Columns ``item``, ``annotator``, ``label`` (crowd-kit's ``task``, ``worker`` are
        renamed), optionally ``time`` and ``labelbook_version``; other columns are dropped.
    classes : sequence, optional
        Allowed classes; labels outside them raise unless ``allow_new``.
    allow_new : bool, default False
        Accept labels outside ``classes``.
    where : str
        How to name the table in messages.
    rows : callable, optional
        Names rows, given their 0-based positions, in messages (``lines 3 and 7`` of the
        file ``df`` was read from); by default their index labels (``index 'a'``).

    Returns
    -------
    DataFrame of shape (n_kept, 3 to 5)
        Repeated (item, annotator) pairs keep their last row (with a warning); the index
        is a fresh RangeIndex.
    """
    df = _prepare(df, where, rows)
    if classes is not None:  # without a label book any label (a number, a set) is kept
        _resolve_classes(df["label"], classes, allow_new, where)
    cols = [*ANNOTATION_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in df.columns)]
    out = df[cols]
    dup = out.duplicated(subset=["item", "annotator"], keep="last").to_numpy()
    if dup.any():
        warn(
            f"{where}: {int(dup.sum())} annotation(s) repeat an (item, annotator) pair; "
            "kept the last one of each. Remove the repeats to silence this warning."
        )
        out = out[~dup]
    return out.reset_index(drop=True)
