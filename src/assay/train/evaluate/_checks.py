"""Checks that keep an evaluation set honest: no leakage, no unseen classes, no augmentation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import name_rows
from assay.exceptions import InputError

__all__ = [
    "AUGMENTED_COLUMN",
    "check_eval_classes",
    "check_leakage",
    "check_not_augmented",
    "find_id_collisions",
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
        listed = (", ".join(map(str, np.asarray(names)[where][:_MAX_LISTED]))
                  if names is not None else name_rows(where, limit=_MAX_LISTED))
        raise InputError(
            f"the evaluation set holds {int(mask.sum())} augmented rows "
            f"({listed}); augmented rows never enter evaluation sets, "
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


def _ids_and_digests(ids: Any, digests: Any, side: str) -> tuple[np.ndarray, np.ndarray | None]:
    arr = np.asarray(ids, dtype=object)
    if digests is None:
        return arr, None
    dig = np.asarray(digests, dtype=object)
    if dig.shape != arr.shape:
        raise InputError(
            f"{side}_digests has shape {dig.shape} but {side}_ids has shape {arr.shape}; "
            f"give one content digest per {side} id, in the same order."
        )
    return arr, dig


def _same_item(
    t_ids: np.ndarray, t_dig: np.ndarray, e_ids: np.ndarray, e_dig: np.ndarray
) -> np.ndarray:
    """Evaluation rows whose (id, digest) pair is a training row's."""
    pairs = set(zip(t_ids.tolist(), t_dig.tolist(), strict=True))
    return np.array(
        [(i, d) in pairs for i, d in zip(e_ids.tolist(), e_dig.tolist(), strict=True)],
        dtype=bool,
    ).reshape(e_ids.shape)


def _leakage_masks(
    train_ids: Any,
    eval_ids: Any,
    *,
    X_train: Any,
    X_eval: Any,
    train_parent_ids: Any,
    train_digests: Any,
    eval_digests: Any,
) -> dict[str, np.ndarray]:
    """One boolean mask over the evaluation rows per kind of leakage found."""
    if (train_digests is None) != (eval_digests is None):
        raise InputError(
            "find_leakage needs both train_digests and eval_digests, or neither; "
            "give the content digests of both sides."
        )
    masks: dict[str, np.ndarray] = {}
    if train_ids is not None and eval_ids is not None:
        t_ids, t_dig = _ids_and_digests(train_ids, train_digests, "train")
        e_ids, e_dig = _ids_and_digests(eval_ids, eval_digests, "eval")
        if t_dig is None or e_dig is None:
            masks["by id"] = np.asarray(pd.Index(e_ids).isin(t_ids), dtype=bool)
        else:  # an id names the same item only when the content is the same too
            same = _same_item(t_ids, t_dig, e_ids, e_dig)
            masks["by id and content"] = same
            masks["as identical content under another id"] = (
                np.asarray(pd.Index(e_dig).isin(t_dig), dtype=bool) & ~same
            )
    if X_train is not None and X_eval is not None:
        masks["with identical features"] = np.isin(row_hashes(X_eval), row_hashes(X_train))
    if train_parent_ids is not None and eval_ids is not None:
        parents = pd.Series(np.asarray(train_parent_ids, dtype=object)).dropna().to_numpy()
        copied = np.asarray(pd.Index(np.asarray(eval_ids, dtype=object)).isin(parents), dtype=bool)
        if train_ids is not None and train_digests is not None:
            # the parent is a training item: it is this evaluation item unless that
            # training item has other content (a parent no longer in training counts)
            copied &= ~find_id_collisions(train_ids, eval_ids, train_digests, eval_digests)
        masks["as an augmented copy"] = copied
    if not masks:
        raise InputError(
            "find_leakage needs train_ids and eval_ids, or X_train and X_eval; give one pair."
        )
    return masks


def find_leakage(
    train_ids: Any = None,
    eval_ids: Any = None,
    *,
    X_train: Any = None,
    X_eval: Any = None,
    train_parent_ids: Any = None,
    train_digests: Any = None,
    eval_digests: Any = None,
) -> np.ndarray:
    """Mark evaluation rows that also sit in the training data.

    Parameters
    ----------
    train_ids, eval_ids : array-like of shape (n_train,) and (n_eval,), optional
        Item ids; an evaluation id that is also a training id leaks (unless content
        digests show that the two are different items, see ``train_digests``).
    X_train, X_eval : feature tables of shape (n_train, ...) and (n_eval, ...), optional
        Features only (no id or provenance columns); an evaluation row whose content
        equals a training row's content leaks (an exact duplicate under another id).
    train_parent_ids : array-like of shape (n_parents,), optional
        The ``parent_id`` provenance of training rows (None / NaN for original rows); an
        evaluation item whose augmented copy sits in the training data leaks.
    train_digests, eval_digests : array-like of shape (n_train,) and (n_eval,), optional
        A content digest per item (e.g. the SHA-256 of a media file), aligned with
        ``train_ids`` and ``eval_ids``. With them, ids are confirmed by content: the same
        id with the same digest leaks, the same id with another digest does not (two
        corpora that both hold ``cat/001.png``, see :func:`find_id_collisions`), and the
        same digest under any id leaks. An augmented copy leaks unless its parent is a
        training item with another digest.

    Returns
    -------
    ndarray of shape (n_eval,), bool
        True where the evaluation row leaks.
    """
    masks = _leakage_masks(
        train_ids,
        eval_ids,
        X_train=X_train,
        X_eval=X_eval,
        train_parent_ids=train_parent_ids,
        train_digests=train_digests,
        eval_digests=eval_digests,
    )
    return np.logical_or.reduce(list(masks.values()))


def find_id_collisions(
    train_ids: Any, eval_ids: Any, train_digests: Any, eval_digests: Any
) -> np.ndarray:
    """Mark evaluation items that share an id with a training item but not its content.

    Parameters
    ----------
    train_ids, eval_ids : array-like of shape (n_train,) and (n_eval,)
    train_digests, eval_digests : array-like of shape (n_train,) and (n_eval,)
        Content digests aligned with the ids.

    Returns
    -------
    ndarray of shape (n_eval,), bool
        True where the id is a training id but no training item with that id has the
        evaluation item's content: different items that happen to share a name.
    """
    t_ids, t_dig = _ids_and_digests(train_ids, train_digests, "train")
    e_ids, e_dig = _ids_and_digests(eval_ids, eval_digests, "eval")
    if t_dig is None or e_dig is None:
        raise InputError("find_id_collisions needs train_digests and eval_digests.")
    same_id = np.asarray(pd.Index(e_ids).isin(t_ids), dtype=bool)
    return same_id & ~_same_item(t_ids, t_dig, e_ids, e_dig)


def check_leakage(
    train_ids: Any = None,
    eval_ids: Any = None,
    *,
    X_train: Any = None,
    X_eval: Any = None,
    train_parent_ids: Any = None,
    train_digests: Any = None,
    eval_digests: Any = None,
) -> None:
    """Raise :class:`InputError` listing the evaluation rows that leak (see find_leakage)."""
    masks = _leakage_masks(
        train_ids,
        eval_ids,
        X_train=X_train,
        X_eval=X_eval,
        train_parent_ids=train_parent_ids,
        train_digests=train_digests,
        eval_digests=eval_digests,
    )
    mask = np.logical_or.reduce(list(masks.values()))
    if mask.any():
        where = np.flatnonzero(mask)
        names = (", ".join(map(str, np.asarray(eval_ids)[where][:_MAX_LISTED]))
                 if eval_ids is not None else name_rows(where, limit=_MAX_LISTED))
        how = ", ".join(f"{int(m.sum())} {kind}" for kind, m in masks.items() if m.any())
        train = _colliding_training_rows(
            where, train_ids, eval_ids, X_train, X_eval, train_parent_ids, train_digests,
            eval_digests,
        )
        shown = ", ".join(map(str, train[:_MAX_LISTED])) + (" ..." if len(train) > _MAX_LISTED else "")
        raise InputError(
            f"{int(mask.sum())} evaluation rows also sit in the training data ({how}): "
            f"{names}; the training rows they collide with: {shown}; drop those "
            "(`assay drop NAME --ids FILE -m MSG` makes a version without them; the "
            "evaluation set stays frozen)."
        )


def _colliding_training_rows(
    where: np.ndarray,
    train_ids: Any,
    eval_ids: Any,
    X_train: Any,
    X_eval: Any,
    train_parent_ids: Any,
    train_digests: Any,
    eval_digests: Any,
) -> list[Any]:
    """The training ids (else row names) that the leaking evaluation rows at ``where``
    collide with: same id, same content digest, identical features, or augmented copy."""
    n_train = len(train_ids) if train_ids is not None else len(X_train)
    hit = np.zeros(n_train, dtype=bool)
    extra: list[Any] = []
    if train_ids is not None and eval_ids is not None:
        t_ids = np.asarray(train_ids, dtype=object)
        e_ids = np.asarray(eval_ids, dtype=object)[where]
        if train_digests is None:
            hit |= np.asarray(pd.Index(t_ids).isin(e_ids), dtype=bool)
        else:
            e_dig = np.asarray(eval_digests, dtype=object)[where]
            hit |= np.asarray(pd.Index(np.asarray(train_digests, dtype=object)).isin(e_dig))
        if train_parent_ids is not None:
            parents = pd.Index(np.asarray(train_parent_ids, dtype=object))
            copies = np.asarray(parents.isin(e_ids), dtype=bool)
            if len(copies) == n_train:
                hit |= copies
            else:  # parents of rows not among train_ids: name the copies by their parent
                extra += [f"an augmented copy of {p}" for p in parents[copies]]
    if X_train is not None and X_eval is not None:
        hit |= np.isin(row_hashes(X_train), row_hashes(X_eval)[where])
    rows = np.flatnonzero(hit)
    if train_ids is not None:
        return np.asarray(train_ids, dtype=object)[rows].tolist() + extra
    return [name_rows(rows, limit=_MAX_LISTED), *extra]


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
