"""Label-set annotations: parsing, encoding, and the MASI distance, vectorised.

Each annotation's label is a set of label names (a list, tuple, set or array of names,
or a JSON list as text), canonicalised as :func:`assay.tasks.multilabel.as_label_set`
does (names as text, repeats dropped). The sets become a sparse 0/1 membership matrix
(annotations x labels) and, for the MASI distance, each distinct set a row of 62-bit
words, so that intersections are popcounts (``np.bitwise_count``).

**MASI** (Passonneau 2006), as nltk's ``masi_distance``: ``d = 1 - J * M`` with ``J``
the Jaccard index ``|A & B| / |A | B|`` and ``M`` = 1 if ``A = B``, 2/3 if one contains
the other, 1/3 if they overlap otherwise, 0 if disjoint. Two empty sets have distance
0 (nltk divides by zero there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import sparse

from assay._validation import name_rows, warn
from assay.collect.annotations import _duplicate_mask, _factorize_sorted, _prepare
from assay.exceptions import InputError
from assay.tasks.multilabel import as_label_set

__all__ = ["SetAnnotations", "encode_sets", "is_set_column", "masi"]

_BITS = 62


@dataclass(frozen=True)
class SetAnnotations:
    """Label-set annotations as codes (one row per (item, annotator)).

    Attributes
    ----------
    item, annotator, set_code : ndarray of shape (n_annotations,), int64
        Codes into :attr:`items`, :attr:`annotators` and the rows of :attr:`sets`.
    member : csr_matrix of shape (n_annotations, n_labels), float64
        1 where the annotation's set holds the label.
    sets : ndarray of shape (n_sets, n_words), int64
        Each distinct set as bit words (label ``j`` is bit ``j % 62`` of word ``j // 62``).
    set_size : ndarray of shape (n_sets,)
    items, annotators, labels : pandas.Index
    """

    item: np.ndarray
    annotator: np.ndarray
    set_code: np.ndarray
    member: sparse.csr_matrix
    sets: np.ndarray
    set_size: np.ndarray
    items: pd.Index
    annotators: pd.Index
    labels: pd.Index

    @property
    def n_items(self) -> int:
        """The number of distinct items."""
        return len(self.items)


def is_set_column(labels: pd.Series) -> bool:
    """Whether a label column holds label sets: lists/arrays, or text that is JSON lists.

    Looks at the distinct types only (and, for text, whether every value starts with
    ``[``), so it is cheap on a million rows.
    """
    if not (labels.dtype == object or pd.api.types.is_string_dtype(labels)
            or isinstance(labels.dtype, pd.ArrowDtype)):
        return False
    sample = labels.dropna()
    if not len(sample):
        return False
    kinds = set(sample.map(type).unique())
    if kinds & {list, tuple, set, frozenset, np.ndarray}:
        return True
    if kinds == {str}:
        return bool(sample.str.lstrip().str.startswith("[").all())
    return False


def _bad_row(labels: pd.Series, where: str) -> InputError:
    """The first label that is not a set of names, as a one-line error."""
    for pos, value in enumerate(labels.to_numpy()):
        try:
            as_label_set(value)
        except InputError as exc:
            reason = str(exc).split(";")[0].rstrip(".")
            return InputError(
                f"{where}: {reason} ({name_rows([pos], labels.index)}); every label must "
                'be a list of label names, e.g. ["a", "b"] (mixed kinds in one column '
                "are refused)."
            )
    return InputError(f"{where}: the labels are not lists of label names.")


def _parse_text(labels: pd.Series) -> np.ndarray:
    """The labels with every text value parsed as a JSON list (each distinct text once)."""
    values = labels.to_numpy(dtype=object).copy()
    is_text = labels.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if is_text.any():
        codes, uniques = pd.factorize(labels[is_text])
        parsed = np.empty(len(uniques), dtype=object)
        for j, text in enumerate(uniques):  # the distinct texts, not the rows
            parsed[j] = as_label_set(text)
        values[np.flatnonzero(is_text)] = parsed[codes]
    return values


def _lists_of_names(labels: pd.Series) -> pa.Array | None:
    """The labels as Arrow list<string> when none is text and Arrow reads them, else None.

    Text (JSON lists) must be parsed first, or Arrow would read it as characters; a
    column without text converts in one pass (the types are looked at, not each value).
    """
    values = labels.to_numpy(dtype=object)
    if any(issubclass(kind, str) for kind in set(map(type, values))):
        return None
    try:
        return pa.array(values, type=pa.list_(pa.string()), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None


def _parsed_lists(labels: pd.Series, where: str) -> pa.Array:
    """The labels as Arrow list<string>, text parsed as JSON lists, other values checked."""
    list_type = pa.list_(pa.string())
    try:
        values = _parse_text(labels)  # text is never read as a sequence of characters
        try:
            return pa.array(list(values), type=list_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            return pa.array([as_label_set(v) for v in values], type=list_type)
    except InputError:
        raise _bad_row(labels, where) from None


def _flat_names(labels: pd.Series, where: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Row lengths, and each flattened name as a code into the distinct names."""
    arr = _lists_of_names(labels)
    if arr is None:
        arr = _parsed_lists(labels, where)
    if arr.null_count:
        raise _bad_row(labels, where)
    encoded = arr.flatten().dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return np.diff(arr.offsets.to_numpy()), codes, [str(x) for x in encoded.dictionary.to_pylist()]


def _label_index(codes: np.ndarray, found: list[str], labels: Sequence[Any] | None,
                 allow_new: bool, rows: np.ndarray, index: pd.Index,
                 where: str) -> tuple[np.ndarray, pd.Index]:
    """Codes of the names into the label book (the found names, sorted, without one)."""
    book = pd.Index([str(x) for x in labels]) if labels is not None else pd.Index(sorted(found))
    position = book.get_indexer(pd.Index(found))
    unknown = sorted(x for x, i in zip(found, position, strict=True) if i < 0)
    if unknown:
        if not allow_new:
            first_code = found.index(unknown[0])
            first = int(rows[np.flatnonzero(codes == first_code)[0]])
            shown = ", ".join(map(repr, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise InputError(
                f"{where}: {len(unknown)} label(s) outside the label book: {shown} (first "
                f"{unknown[0]!r} at {name_rows([first], index)}); fix the labels, add them "
                "to the label book, or pass allow_new=True."
            )
        book = book.append(pd.Index(unknown))
        position = book.get_indexer(pd.Index(found))
    return position[codes] if len(codes) else codes, book


def _set_words(member: sparse.csr_matrix) -> np.ndarray:
    """Each row of a 0/1 matrix as 62-bit words, shape (n_rows, n_words).

    Per word, two sparse products with the columns' powers of two (31 bits each, so
    the float64 sums are exact).
    """
    n_labels = member.shape[1]
    words = max(1, -(-n_labels // _BITS))
    col = np.arange(n_labels)
    bit, half = col % _BITS, _BITS // 2
    out = np.zeros((member.shape[0], words), dtype=np.int64)
    rows = sparse.csr_matrix(member)
    for w in range(words):
        mine = col // _BITS == w
        low = np.where(mine & (bit < half), np.exp2(np.minimum(bit, half - 1)), 0.0)
        high = np.where(mine & (bit >= half), np.exp2(np.maximum(bit - half, 0)), 0.0)
        out[:, w] = (rows @ low).astype(np.int64) | ((rows @ high).astype(np.int64) << half)
    return out


def encode_sets(
    df: pd.DataFrame, *, labels: Sequence[Any] | None = None, allow_new: bool = False,
    where: str = "the annotations",
) -> SetAnnotations:
    """Check a long-format table of label sets and encode it.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (or ``task``, ``worker``); each label a list of
        names or a JSON list.
    labels : sequence, optional
        The label book's labels; names outside it raise unless ``allow_new``.
    allow_new : bool, default False
    where : str

    Returns
    -------
    SetAnnotations
    """
    df = _prepare(df, where)
    lengths, flat, found = _flat_names(df["label"], where)
    rows = np.repeat(np.arange(len(df)), lengths)
    codes, book = _label_index(flat, found, labels, allow_new, rows, df.index, where)
    member = sparse.csr_matrix((np.ones(len(codes)), (rows, codes)), shape=(len(df), len(book)))
    member.sum_duplicates()
    member.data[:] = 1.0
    item, items = pd.factorize(df["item"], sort=False)
    ann, annotators = _factorize_sorted(df["annotator"])
    keep = ~_duplicate_mask(item, ann, len(annotators))
    if not keep.all():
        warn(f"{where}: {int((~keep).sum())} annotation(s) repeat an (item, annotator) pair; "
             "kept the last one of each. Remove the repeats to silence this warning.")
        item, ann, member = item[keep], ann[keep], member[np.flatnonzero(keep)]
    words = _set_words(member)
    if words.shape[1] == 1:
        uniq, code = np.unique(words[:, 0], return_inverse=True)
        sets = uniq[:, None]
    else:
        sets, code = np.unique(words, axis=0, return_inverse=True)
    size = np.bitwise_count(sets).sum(axis=1).astype(np.float64)
    return SetAnnotations(np.asarray(item, dtype=np.int64), np.asarray(ann, dtype=np.int64),
                          np.asarray(code, dtype=np.int64).ravel(), member.tocsr(), sets, size,
                          pd.Index(items), pd.Index(annotators), book)


def masi(sets: np.ndarray, size: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MASI distance between sets ``a[i]`` and ``b[i]`` (codes into ``sets``).

    Parameters
    ----------
    sets : ndarray of shape (n_sets, n_words), int64
    size : ndarray of shape (n_sets,)
    a, b : ndarray of shape (n,) or broadcastable
        Set codes.

    Returns
    -------
    ndarray of the broadcast shape of ``a`` and ``b``
    """
    inter = np.bitwise_count(sets[a] & sets[b]).sum(axis=-1).astype(np.float64)
    sa, sb = size[a], size[b]
    union = sa + sb - inter
    monotone = np.where((inter == sa) & (inter == sb), 1.0,
                        np.where(inter == np.minimum(sa, sb), 2.0 / 3.0,
                                 np.where(inter > 0, 1.0 / 3.0, 0.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, 1.0 - inter / np.where(union > 0, union, 1.0) * monotone, 0.0)
