"""Checks that keep an evaluation set honest: no leakage, no unseen classes, no augmentation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError

__all__ = [
    "AUGMENTED_COLUMN",
    "check_eval_classes",
    "check_leakage",
    "check_not_augmented",
    "find_leakage",
    "row_hashes",
]

#: The provenance column that marks augmented rows (see :mod:`assay.train.augment`).
AUGMENTED_COLUMN = "augmented"
_MAX_LISTED = 20


def check_not_augmented(data: Any, *, ids: Sequence[Any] | None = None) -> None:
    """Refuse augmented rows in an evaluation set.

    Parameters
    ----------
    data : DataFrame or array-like of shape (n_samples,), bool
        A table (its ``augmented`` column is checked, if any) or the augmented mask.
    ids : array-like of shape (n_samples,), optional
        Item ids, to name the offending rows.
    """
    if isinstance(data, pd.DataFrame):
        if AUGMENTED_COLUMN not in data.columns:
            return
        mask = data[AUGMENTED_COLUMN].fillna(False).to_numpy(dtype=bool)
        names = data["id"].to_numpy() if ids is None and "id" in data.columns else ids
    else:
        mask, names = np.asarray(data), ids
        if mask.dtype != bool or mask.ndim != 1:
            raise InputError(
                "check_not_augmented needs a DataFrame or a 1-d boolean mask of augmented "
                f"rows; got a {mask.dtype} array of shape {mask.shape}."
            )
    if mask.any():
        where = np.flatnonzero(mask)
        listed = (np.asarray(names)[where] if names is not None else where)[:_MAX_LISTED]
        raise InputError(
            f"the evaluation set holds {int(mask.sum())} augmented rows "
            f"({', '.join(map(str, listed))}); augmented rows never enter evaluation sets, "
            "evaluate on original items only."
        )


def row_hashes(X: Any) -> np.ndarray:
    """Hash each row's feature content.

    Parameters
    ----------
    X : DataFrame, array-like of shape (n_samples, ...) or scipy sparse matrix

    Returns
    -------
    ndarray of shape (n_samples,), uint64
    """
    if hasattr(X, "tocsr"):
        csr = X.tocsr()
        keys = [
            hash((csr.indices[a:b].tobytes(), csr.data[a:b].tobytes()))
            for a, b in zip(csr.indptr[:-1], csr.indptr[1:], strict=True)
        ]
        return pd.util.hash_array(np.asarray(keys, dtype=np.int64))
    if isinstance(X, pd.DataFrame | pd.Series):
        return pd.util.hash_pandas_object(X, index=False).to_numpy()
    arr = np.asarray(X)
    frame = pd.DataFrame(arr.reshape(arr.shape[0], -1)) if arr.ndim > 1 else pd.Series(arr)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def find_leakage(
    train_ids: Any = None,
    eval_ids: Any = None,
    *,
    X_train: Any = None,
    X_eval: Any = None,
    train_parent_ids: Any = None,
) -> np.ndarray:
    """Mark evaluation rows that also sit in the training data.

    Parameters
    ----------
    train_ids, eval_ids : array-like of shape (n_train,) and (n_eval,), optional
        Item ids; an evaluation id that is also a training id leaks.
    X_train, X_eval : feature tables of shape (n_train, ...) and (n_eval, ...), optional
        Features only (no id or provenance columns); an evaluation row whose content
        equals a training row's content leaks (an exact duplicate under another id).
    train_parent_ids : array-like of shape (n_train,), optional
        The ``parent_id`` provenance of training rows (None / NaN for original rows); an
        evaluation item whose augmented copy sits in the training data leaks.

    Returns
    -------
    ndarray of shape (n_eval,), bool
        True where the evaluation row leaks.
    """
    masks = []
    if train_ids is not None and eval_ids is not None:
        masks.append(pd.Index(np.asarray(eval_ids)).isin(np.asarray(train_ids)))
    if X_train is not None and X_eval is not None:
        masks.append(np.isin(row_hashes(X_eval), row_hashes(X_train)))
    if train_parent_ids is not None and eval_ids is not None:
        parents = pd.Series(np.asarray(train_parent_ids, dtype=object)).dropna()
        masks.append(pd.Index(np.asarray(eval_ids)).isin(parents.to_numpy()))
    if not masks:
        raise InputError(
            "find_leakage needs train_ids and eval_ids, or X_train and X_eval; give one pair."
        )
    return np.logical_or.reduce(masks)


def check_leakage(
    train_ids: Any = None,
    eval_ids: Any = None,
    *,
    X_train: Any = None,
    X_eval: Any = None,
    train_parent_ids: Any = None,
) -> None:
    """Raise :class:`InputError` listing the evaluation rows that leak (see find_leakage)."""
    mask = find_leakage(
        train_ids, eval_ids, X_train=X_train, X_eval=X_eval, train_parent_ids=train_parent_ids
    )
    if mask.any():
        where = np.flatnonzero(mask)
        names = np.asarray(eval_ids)[where] if eval_ids is not None else where
        raise InputError(
            f"{int(mask.sum())} evaluation rows also sit in the training data (by id, "
            f"identical features or as an augmented copy): {', '.join(map(str, names[:_MAX_LISTED]))}; remove them "
            "from the training version (the evaluation set stays frozen)."
        )


def check_eval_classes(train_labels: Any, eval_labels: Any) -> None:
    """Raise :class:`InputError` if the evaluation set has classes unseen in training."""
    seen = set(pd.unique(np.asarray(train_labels)).tolist())
    counts = pd.Series(np.asarray(eval_labels)).value_counts()
    unseen = [(c, int(n)) for c, n in counts.items() if c not in seen]
    if unseen:
        listed = ", ".join(f"{c!r} ({n} items)" for c, n in unseen[:_MAX_LISTED])
        raise InputError(
            f"the evaluation set has classes that never occur in training: {listed}; "
            "add training examples of these classes or drop them from the evaluation set."
        )
