"""Augment a slice of a dataset: new rows with provenance, never evaluation rows.

:func:`augment` returns only the **new** rows: copies of the selected parents with the
modality's content transformed, and four provenance columns:

- ``parent_id``: the parent's id (its ``id_column`` value, else its index label);
- ``transform``: what was done, e.g. ``text:swap_adjacent`` or
  ``audio:car_noise(snr_db=7.31,rumble_hz=41.2)+gain+time_shift``;
- ``seed``: the copy's own seed (applying the same transform with it to the parent
  reproduces the row);
- ``augmented``: True. Evaluation refuses such rows
  (:func:`assay.train.evaluate.check_not_augmented`).

Modalities (see the ``_augment_*`` modules for the transforms):

- ``tabular``: SMOTE-style interpolation within a class on the numeric columns,
  other columns copied from the parent;
- ``text``: word dropout, adjacent-word swap, character noise;
- ``image``: albumentations; the content column holds arrays (augmented in memory) or
  file paths (new PNG files written into ``output_dir``, their paths returned);
- ``audio``: synthesised car noise at chosen SNRs plus audiomentations; arrays (with
  ``sample_rate``) or WAV file paths (new files written into ``output_dir``).

``factor`` is the number of copies per selected row: each parent gets
``floor(factor)`` copies and a seeded random ``factor - floor(factor)`` share of the
parents one more, so ``factor=0.5`` augments half of the slice once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import (
    Constraint,
    InstanceOf,
    Integral,
    Interval,
    Options,
    check_columns,
    check_in,
    name_rows,
    param_error,
    validate_parameter_constraints,
    validate_params,
)
from assay.exceptions import InputError
from assay.train.augment import _image as img
from assay.train.augment._tabular import numeric_columns, smote_rows
from assay.train.augment._text import TEXT_TRANSFORMS, augment_texts
from assay.train.evaluate import AUGMENTED_COLUMN

__all__ = [
    "MAX_FACTOR",
    "MODALITIES",
    "PROVENANCE_COLUMNS",
    "augment",
    "check_factor",
    "choose_parents",
]

#: Supported modalities.
MODALITIES = ("tabular", "text", "image", "audio")
#: Columns added to every augmented row.
PROVENANCE_COLUMNS = ("parent_id", "transform", "seed", AUGMENTED_COLUMN)
_DEFAULT_COLUMN = {"text": "text", "image": "image", "audio": "audio"}
#: Most copies per selected row: more is no longer augmentation but duplication.
MAX_FACTOR = 100.0


class _Factor(Constraint):
    """Copies per selected row: a finite number in (0, :data:`MAX_FACTOR`]."""

    def matches_type(self, value: Any) -> bool:
        return not isinstance(value, bool) and isinstance(
            value, (int, float, np.integer, np.floating))

    def is_satisfied_by(self, value: Any) -> bool:
        return self.matches_type(value) and math.isfinite(value) and 0 < value <= MAX_FACTOR

    def describe(self, value: Any) -> str:
        bounds = f"a number in (0, {MAX_FACTOR:g}]"
        return f"{bounds} (copies per selected row)" if self.matches_type(value) else bounds

    def got(self, value: Any) -> str:
        return repr(float(value)) if self.matches_type(value) else repr(value)

    def bad_values(self) -> list[Any]:
        return ["1", 0, -1.0, math.nan, math.inf, MAX_FACTOR + 1]


FACTOR = _Factor()


def check_factor(factor: Any, func: str = "augment") -> float:
    """``factor`` as a float in (0, :data:`MAX_FACTOR`]; NaN and inf are refused."""
    validate_parameter_constraints({"factor": [FACTOR]}, {"factor": factor}, func)
    return float(factor)


def choose_parents(n_selected: int, factor: float, seed: int) -> np.ndarray:
    """Positions (into the selected rows) of the parent of each new row.

    Parameters
    ----------
    n_selected : int
    factor : float
        Copies per selected row (see the module docstring).
    seed : int

    Returns
    -------
    ndarray of shape (n_new,), int, sorted
    """
    whole = int(np.floor(factor))
    extra = int(round((factor - whole) * n_selected))
    rng = np.random.default_rng(seed)
    more = rng.choice(n_selected, size=extra, replace=False) if extra else np.array([], int)
    parents = np.concatenate([np.repeat(np.arange(n_selected), whole), more])
    return np.sort(parents.astype(np.int64), kind="stable")


def _row_seeds(seed: int, n: int) -> np.ndarray:
    return np.random.SeedSequence(seed).generate_state(n, dtype=np.uint32).astype(np.int64)


def _selected(df: pd.DataFrame, slice_mask: Any) -> np.ndarray:
    original = (
        ~df[AUGMENTED_COLUMN].fillna(False).to_numpy(dtype=bool)
        if (AUGMENTED_COLUMN in df.columns)
        else np.ones(len(df), dtype=bool)
    )
    if slice_mask is None:
        mask = np.ones(len(df), dtype=bool)
    else:
        mask = np.asarray(slice_mask)
        if mask.shape != (len(df),) or mask.dtype != bool:
            raise param_error(
                "slice_mask",
                "augment",
                f"a boolean array of length {len(df)}",
                f"{mask.dtype} array of shape {mask.shape}",
            )
    mask = mask & original
    if not mask.any():
        raise InputError(
            "the slice selects no original (non-augmented) rows; widen the slice predicate."
        )
    return mask


@validate_params({
    "df": [InstanceOf(pd.DataFrame, "a pandas DataFrame")],
    "modality": [Options(MODALITIES)],
    "factor": [FACTOR],
    "seed": [Interval(Integral, 0, None)],
})
def augment(
    df: pd.DataFrame,
    *,
    modality: str,
    label: str,
    factor: float = 1.0,
    seed: int = 0,
    slice_mask: Any = None,
    id_column: str = "id",
    column: str | None = None,
    columns: Sequence[str] | None = None,
    output_dir: str | Path | None = None,
    sample_rate: int | None = None,
    transforms: Any = None,
    snr_db: tuple[float, float] = (0.0, 20.0),
    k_neighbors: int = 5,
) -> pd.DataFrame:
    """Create augmented copies of a slice's rows.

    Parameters
    ----------
    df : DataFrame of shape (n_samples, n_columns)
        The dataset version's rows.
    modality : {"tabular", "text", "image", "audio"}
    label : str
        The label column (copied; tabular interpolation stays within a class).
    factor : float, default=1.0
        Copies per selected row, in (0, :data:`MAX_FACTOR`].
    seed : int, default=0
    slice_mask : array of shape (n_samples,), bool, optional
        The rows to augment; all original rows when not given. Rows already marked
        ``augmented`` are never parents.
    id_column : str, default="id"
        Parent ids come from this column when it exists; new rows get
        ``<parent>~aug-<seed>`` ids in it.
    column : str, optional
        Content column for text / image / audio (default ``"text"`` / ``"image"`` /
        ``"audio"``): strings, arrays, or file paths (image, audio).
    columns : sequence of str, optional
        Tabular: the numeric columns to interpolate (default: every numeric column except
        the label, id and provenance columns).
    output_dir : str or Path, optional
        Where new image / audio files are written (needed when the column holds paths).
    sample_rate : int, optional
        Audio arrays' sample rate in Hz (needed when the column holds arrays).
    transforms : optional
        Text / audio: names to use (:data:`~assay.train.augment._text.TEXT_TRANSFORMS`,
        :data:`~assay.train.augment._audio.AUDIO_TRANSFORMS`); image: an albumentations
        transform or Compose.
    snr_db : (float, float), default=(0, 20)
        Audio: range of the car noise's signal-to-noise ratio.
    k_neighbors : int, default=5
        Tabular: neighbours to interpolate towards.

    Returns
    -------
    DataFrame of shape (n_new, n_columns + 4)
        The new rows only, with the provenance columns.
    """
    factor = float(factor)
    check_columns(df, [label], where="the dataset")
    base = df.reset_index(drop=True)
    mask = _selected(df, slice_mask)
    selected = np.flatnonzero(mask)
    parents = selected[choose_parents(selected.size, float(factor), int(seed))]
    seeds = _row_seeds(int(seed), parents.size)
    new = base.iloc[parents].reset_index(drop=True)
    options = {
        "column": column or _DEFAULT_COLUMN.get(modality),
        "columns": columns,
        "output_dir": output_dir,
        "sample_rate": sample_rate,
        "transforms": transforms,
        "snr_db": snr_db,
        "k_neighbors": k_neighbors,
        "label": label,
        "mask": mask,
        "parents": parents,
        "id_column": id_column,
        "index": df.index,
    }
    new, described = _DISPATCH[modality](base, new, seeds, options)
    return _with_provenance(df, new, parents, seeds, described, id_column)


def _with_provenance(
    df: pd.DataFrame,
    new: pd.DataFrame,
    parents: np.ndarray,
    seeds: np.ndarray,
    described: list[str],
    id_column: str,
) -> pd.DataFrame:
    parent_ids = df[id_column].to_numpy()[parents] if id_column in df.columns else df.index[parents]
    new = new.copy()
    new["parent_id"] = list(parent_ids)
    new["transform"] = described
    new["seed"] = seeds
    new[AUGMENTED_COLUMN] = True
    if id_column in df.columns:
        new[id_column] = [f"{p}~aug-{s}" for p, s in zip(parent_ids, seeds, strict=True)]
    return new


# -- per-modality steps ---------------------------------------------------------------
def _tabular(
    base: pd.DataFrame, new: pd.DataFrame, seeds: np.ndarray, opt: dict[str, Any]
) -> tuple[pd.DataFrame, list[str]]:
    exclude = {opt["label"], opt["id_column"], *PROVENANCE_COLUMNS}
    cols = list(opt["columns"]) if opt["columns"] is not None else numeric_columns(base, exclude)
    check_columns(base, cols, where="the dataset")
    if not cols:
        raise InputError(
            "the dataset has no numeric columns to interpolate; name them in columns=."
        )
    X = base[cols].to_numpy(dtype=np.float64)
    if np.isnan(X).any():
        row, col = np.argwhere(np.isnan(X))[0]
        raise InputError(
            f"column {cols[col]!r} of the dataset is missing a value at "
            f"{name_rows(row, opt['index'])}; impute it before augmenting."
        )
    labels = base[opt["label"]].to_numpy()
    new_X, neighbours, u = smote_rows(
        X, labels, opt["mask"], opt["parents"], seeds, k_neighbors=opt["k_neighbors"]
    )
    for j, col in enumerate(cols):
        values = new_X[:, j]
        if pd.api.types.is_integer_dtype(base[col]):
            values = np.rint(values)
        new[col] = pd.Series(values).astype(base[col].dtype)
    ids = base[opt["id_column"]].to_numpy() if opt["id_column"] in base.columns else base.index
    described = [
        f"tabular:smote(neighbour={ids[n]},u={w:.4f})" for n, w in zip(neighbours, u, strict=True)
    ]
    return new, described


def _text(
    base: pd.DataFrame, new: pd.DataFrame, seeds: np.ndarray, opt: dict[str, Any]
) -> tuple[pd.DataFrame, list[str]]:
    column = opt["column"]
    check_columns(base, [column], where="the dataset")
    names = list(opt["transforms"] or TEXT_TRANSFORMS)
    for name in names:
        check_in(name, TEXT_TRANSFORMS, name="transforms", func="augment")
    texts, described = augment_texts(new[column].astype(str).tolist(), seeds, names)
    new[column] = texts
    return new, described


def _is_path(value: Any) -> bool:
    return isinstance(value, str | Path)


def _output_dir(opt: dict[str, Any], modality: str) -> Path:
    if opt["output_dir"] is None:
        raise InputError(
            f"the {modality} column holds file paths, so augmented files must be written "
            "somewhere; pass output_dir= (a folder)."
        )
    out = Path(opt["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    return out


def _image(
    base: pd.DataFrame, new: pd.DataFrame, seeds: np.ndarray, opt: dict[str, Any]
) -> tuple[pd.DataFrame, list[str]]:
    column = opt["column"]
    check_columns(base, [column], where="the dataset")
    pipeline = opt["transforms"]
    values = new[column].tolist()
    if values and _is_path(values[0]):
        out_dir = _output_dir(opt, "image")
        results: list[Any] = [
            img.augment_image_file(v, out_dir, int(s), pipeline)
            for v, s in zip(values, seeds, strict=True)
        ]
    else:
        results = [
            img.augment_image_array(v, int(s), pipeline) for v, s in zip(values, seeds, strict=True)
        ]
    new[column] = pd.Series(results, dtype=object)
    return new, [img.describe_pipeline(pipeline)] * len(results)


def _audio(
    base: pd.DataFrame, new: pd.DataFrame, seeds: np.ndarray, opt: dict[str, Any]
) -> tuple[pd.DataFrame, list[str]]:
    from assay.train.augment import _audio as aud

    column = opt["column"]
    check_columns(base, [column], where="the dataset")
    names = list(opt["transforms"] or ("car_noise", "gain", "time_shift"))
    for name in names:
        check_in(name, aud.AUDIO_TRANSFORMS, name="transforms", func="augment")
    low, high = (float(v) for v in opt["snr_db"])
    values = new[column].tolist()
    if values and _is_path(values[0]):
        out_dir = _output_dir(opt, "audio")
        pairs: list[tuple[Any, str]] = [
            aud.augment_audio_file(v, out_dir, int(s), transforms=names, snr_db=(low, high))
            for v, s in zip(values, seeds, strict=True)
        ]
    else:
        if opt["sample_rate"] is None:
            raise InputError("audio arrays need their sample rate; pass sample_rate= (Hz).")
        rate = int(opt["sample_rate"])
        pairs = [
            aud.augment_audio_array(v, rate, int(s), transforms=names, snr_db=(low, high))
            for v, s in zip(values, seeds, strict=True)
        ]
    new[column] = pd.Series([p[0] for p in pairs], dtype=object)
    return new, [p[1] for p in pairs]


_DISPATCH = {"tabular": _tabular, "text": _text, "image": _image, "audio": _audio}
