"""Augmentation as a new dataset version: a slice's items, copied with provenance.

``augment_version`` selects a slice with a predicate of the slice language
(:mod:`assay.train.augment._slice`: column comparisons, never code), makes augmented
copies with :func:`assay.train.augment.augment` (SMOTE-style rows for tables; new
image / audio files under ``<media root>/.assay-augmented/``), and commits them as the
next version. Augmented rows carry ``parent_id``, ``transform``, ``seed`` and
``augmented=True``, so that they never enter an evaluation set. A dataset that a
recorded experiment used as its evaluation set is frozen and is never augmented.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.store.datasets import DatasetVersion
from assay.store.experiments import ExperimentStore, feature_columns
from assay.store.labeling import require_labels
from assay.train.evaluate import AUGMENTED_COLUMN

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["AUGMENTED_MEDIA_DIR", "augment_version", "check_not_eval_set", "slice_mask"]

#: Folder under a dataset's media root that receives augmented image / audio files.
AUGMENTED_MEDIA_DIR = ".assay-augmented"


def slice_mask(
    df: pd.DataFrame,
    predicate: str,
    *,
    where: str = "the dataset",
    hint: list[str] | None = None,
) -> np.ndarray:
    """Rows of ``df`` where ``predicate`` holds (e.g. ``"ink == 'light'"``).

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_columns)
    predicate : str
        Column comparisons joined by and / or / not (see
        :func:`assay.train.augment._slice.evaluate_slice`); never evaluated as code.
    where : str
        The data's name, for messages.
    hint : list of str, optional
        Columns to suggest in the error message (default: the first columns).

    Returns
    -------
    ndarray of shape (n_samples,), bool

    Raises
    ------
    InputError
        When the predicate does not parse, names unknown columns, uses anything but
        comparisons, or is not a true/false condition.
    """
    from assay.train.augment._slice import evaluate_slice

    frame = df.reset_index(drop=True)
    columns = ", ".join(map(str, hint if hint else list(frame.columns[:12])))
    how = (
        f"Write comparisons of the columns of {where} (e.g. {columns}) with values, such "
        "as \"ink == 'light'\" or \"label in [3, 5] and not width == 'narrow'\"."
    )
    mask = evaluate_slice(frame, str(predicate), how)
    if not mask.any():
        raise InputError(f"the slice predicate {predicate!r} selects no rows of {where}; widen it.")
    return mask


def _table_content(
    version: DatasetVersion, df: pd.DataFrame, columns: Sequence[str] | None
) -> tuple[str, dict[str, Any]]:
    """The modality and columns to augment: numeric features, or a table's text column."""
    from assay.store.features import text_columns

    if version.modality != "tabular":
        if columns:
            raise InputError(
                f"{version.ref} holds {version.modality} files; columns= names the columns "
                "of a table."
            )
        return version.modality, {}
    texts = text_columns(version, df)
    if columns:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise InputError(
                f"columns= names {', '.join(map(repr, missing))}, not columns of "
                f"{version.ref} ({', '.join(map(str, df.columns[:12]))})."
            )
        named_texts = [c for c in columns if c in texts or df[c].dtype == object]
        if named_texts and (len(columns) > 1):
            raise InputError(
                f"columns= names text column(s) {', '.join(map(repr, named_texts))} with others; "
                "augment one text column at a time, or numeric columns together."
            )
        if named_texts:
            return "text", {"column": named_texts[0]}
        return "tabular", {"columns": list(columns)}
    numeric = feature_columns(version, df)
    if not numeric and texts:
        return "text", {"column": texts[0]}
    return "tabular", {"columns": numeric}


def augment_version(
    ws: Workspace,
    ref: str,
    *,
    predicate: str,
    factor: float,
    seed: int = 0,
    message: str | None = None,
    columns: Sequence[str] | None = None,
) -> DatasetVersion:
    """Add augmented copies of a slice's items to ``ref`` as a new version.

    A table's numeric feature columns are interpolated (SMOTE within the class); a
    table whose features are free text (a ``text`` column, or prose) gets the text
    transforms on its text column. ``columns`` names the columns to augment: numeric
    ones (interpolated) or one text column.

    Parameters
    ----------
    ws : Workspace
    ref : str
        The version to augment, ``NAME@vN``.
    predicate : str
        The slice, a pandas query over the columns and tags.
    factor : float
        Copies per selected item (see :func:`assay.train.augment.augment`).
    seed : int, default=0

    Returns
    -------
    DatasetVersion
        The new version: the parent's rows plus the augmented rows, with provenance
        columns ``parent_id``, ``transform``, ``seed`` and ``augmented``.

    Raises
    ------
    InputError
        When an experiment used the dataset as its evaluation set (it is frozen), or the
        slice or factor is bad; nothing is written.
    """
    from assay.train.augment import augment

    version = ws.dataset(ref)
    check_not_eval_set(ws, version.name)
    df = version.to_pandas()
    require_labels(version, df)
    hint = [*version.roles.tags, version.roles.label, *df.columns[:3]]
    mask = slice_mask(df, predicate, where=version.ref, hint=list(dict.fromkeys(hint)))
    media = _media_options(ws, version, df)
    modality, chosen = _table_content(version, df, columns)
    new = augment(
        media.pop("frame", df),
        modality=modality,
        label=version.roles.label,
        factor=factor,
        seed=seed,
        slice_mask=mask,
        id_column=version.roles.id,
        **chosen,
        **media,
    )
    new = _relative_media(new, version)
    frame = _with_new_rows(df, new, version.roles.id)
    text = message or (
        f"augment: {len(new)} rows from slice {predicate} (factor {factor:g}, seed {seed}, "
        f"{modality})"
    )
    provenance = {
        "augment": {
            "parent": version.ref,
            "slice": predicate,
            "factor": float(factor),
            "seed": int(seed),
            "modality": modality,
            "rows": len(new),
            "parents": int(mask.sum()),
        }
    }
    return ws.commit(version.name, frame, message=text, parent=version.ref, provenance=provenance)


def check_not_eval_set(ws: Workspace, name: str) -> None:
    """Refuse to change a dataset that recorded experiments used as evaluation set.

    Raises
    ------
    InputError
        Naming the experiments; augmented rows never enter evaluation sets, and a new
        version of a frozen evaluation set would make later experiments incomparable.
    """
    used = ExperimentStore(ws).evaluated_on(name)
    if used:
        listed = ", ".join(used[:10]) + (f", ... ({len(used) - 10} more)" if len(used) > 10 else "")
        raise InputError(
            f"{name} is the frozen evaluation set of {listed}: evaluation sets are never "
            "augmented (augmented rows never enter them, and a new version would break the "
            "comparison with these experiments). Augment the training dataset instead: "
            "assay augment TRAIN@vN --slice ..."
        )


def _media_root(ws: Workspace, version: DatasetVersion) -> Any:
    from pathlib import Path

    if version.media_root:
        return Path(version.media_root)
    if ws.root is None:
        raise InputError(
            "this workspace has no folder for new media files; open it by folder to augment."
        )
    return ws.root / ".assay" / "media"


def _media_options(ws: Workspace, version: DatasetVersion, df: pd.DataFrame) -> dict[str, Any]:
    """Image / audio paths made absolute, and where new files go."""
    column = version.roles.media
    if version.modality not in ("image", "audio") or column is None:
        return {}
    root = _media_root(ws, version)
    absolute = df.copy()
    absolute[column] = [str(root / str(p)) for p in df[column]]
    out_dir = root / AUGMENTED_MEDIA_DIR / f"{version.name}-v{version.number}"
    return {"frame": absolute, "column": column, "output_dir": out_dir}


def _relative_media(new: pd.DataFrame, version: DatasetVersion) -> pd.DataFrame:
    from pathlib import Path

    column = version.roles.media
    if version.modality not in ("image", "audio") or column is None or not version.media_root:
        return new
    root = Path(version.media_root).resolve()
    out = new.copy()
    out[column] = [
        str(Path(p).resolve().relative_to(root)) if isinstance(p, str) else p for p in new[column]
    ]
    return out


def _with_new_rows(df: pd.DataFrame, new: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """The parent's rows (marked original) followed by the augmented rows, typed."""
    ids = df[id_column]
    int_ids = pd.api.types.is_integer_dtype(ids)
    new = new.copy()
    if int_ids:  # keep the id type: new integer ids after the largest one
        start = int(ids.max()) + 1
        new[id_column] = pd.Series(np.arange(start, start + len(new)), index=new.index).astype(
            ids.dtype
        )
    base = df.copy()
    if AUGMENTED_COLUMN not in base.columns:
        base["parent_id"], base["transform"], base["seed"] = None, None, None
        base[AUGMENTED_COLUMN] = False
    frame = pd.concat([base, new[base.columns]], ignore_index=True)
    parents = frame["parent_id"].astype(object).where(frame["parent_id"].notna(), None)
    frame["parent_id"] = parents.astype("Int64") if int_ids else parents.astype("str")
    frame["seed"] = pd.to_numeric(frame["seed"]).astype("Int64")
    frame["transform"] = frame["transform"].astype("str")
    frame[AUGMENTED_COLUMN] = frame[AUGMENTED_COLUMN].fillna(False).astype(bool)
    return frame
