"""What the train-phase analyses read from a dataset version: features, metadata, items.

- :func:`feature_columns` / :func:`version_features`: the feature matrix of a version.
  Tabular data: the numeric columns that are not the id, label, split, media path or a
  tag (the same rule as the monitors), plus the embeddings of its free-text columns.
  Folders of images, audio or text: the modality's featurizer (:mod:`assay.modalities`)
  over the files under ``version.media_root``.
- :func:`text_columns` / :func:`version_texts`: the free-text columns of a version and
  its raw texts (see :func:`text_columns` for the rule). Texts are embedded by the text
  modality (all-MiniLM-L6-v2 with ``assay[text]``, else TF-IDF with a warning).
- :func:`model_inputs` / :func:`train_eval_inputs`: what a recipe's model reads: the raw
  texts (a one-column table ``text``) for a recipe that reads text (``featurizer:
  tfidf``, :attr:`assay.train.recipe.Recipe.reads_text`), else the feature matrix.
- :func:`load_embeddings`: user-supplied embeddings (``.npy``, or Parquet/CSV aligned by
  the version's id column when the file has it, else by row).
- :func:`metadata_frame`: the columns slices are described by (tags, other text
  columns, and numeric columns when there are few of them).
- :func:`item_agreement`: per item, whether an annotator agreed with the other
  annotators' majority (the per-row human-level performance of the tag table).
- :func:`media_paths`: absolute paths of a media version's files.
- :func:`load_pred_probs` / :func:`load_predictions`: out-of-sample probabilities or
  predictions from a file, checked against the version's labels.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay._validation import check_labels, check_pred_probs, index_of, name_rows
from assay.exceptions import InputError

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.train.recipe import Recipe

__all__ = [
    "descriptive_columns",
    "MAX_NUMERIC_METADATA",
    "TEXT_MIN_DISTINCT",
    "TEXT_MIN_WORDS",
    "feature_columns",
    "item_agreement",
    "load_embeddings",
    "load_pred_probs",
    "load_predictions",
    "media_paths",
    "metadata_frame",
    "model_inputs",
    "text_columns",
    "train_eval_inputs",
    "version_features",
    "version_texts",
]

#: Numeric feature columns are also slice metadata only up to this many (pixels are not).
MAX_NUMERIC_METADATA = 20
_MEDIA = ("image", "audio", "text")
#: A string column of a table is free text when its median value has at least this many
#: words (whitespace-separated) ...
TEXT_MIN_WORDS = 4
#: ... and at least this fraction of its non-missing values are distinct.
TEXT_MIN_DISTINCT = 0.5


def _role_columns(version: DatasetVersion) -> set[str]:
    """Columns that describe an item rather than measure it: its roles and, for
    augmented rows, their provenance (``parent_id``, ``transform``, ``seed``, ...)."""
    from assay.train.augment import PROVENANCE_COLUMNS

    roles = version.roles
    return {c for c in (roles.id, roles.label, roles.split, roles.media) if c} | set(
        PROVENANCE_COLUMNS
    )


def descriptive_columns(version: DatasetVersion) -> list[str]:
    """Every column but the roles and provenance: what production data also has (tags
    included), i.e. what a monitor tests for drift."""
    skip = _role_columns(version)
    return [c for c in version.columns if c not in skip]


def feature_columns(version: DatasetVersion, frame: pd.DataFrame) -> list[str]:
    """The numeric columns of ``frame`` that are neither a role (id, label, ...), nor
    augmentation provenance, nor a tag: the model's features of a tabular version.

    Parameters
    ----------
    version : DatasetVersion
    frame : DataFrame of shape (n_rows, n_columns)
        The version's rows (``version.to_pandas()``).
    """
    skip = _role_columns(version) | set(version.roles.tags)
    return [
        c
        for c in frame.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def media_paths(version: DatasetVersion, frame: pd.DataFrame) -> list[str]:
    """Absolute paths of the files of a media version, in row order."""
    media = version.roles.media
    if not media or not version.media_root or media not in frame.columns:
        raise InputError(
            f"{version.ref} has no media files (it was not imported from a folder); "
            "its features are its numeric columns."
        )
    root = Path(version.media_root)
    paths = [str(root / str(p)) for p in frame[media]]
    missing = next((p for p in paths if not Path(p).is_file()), None)
    if missing is not None:
        raise InputError(
            f"{missing} is missing: {version.ref} reads its media from {root}; restore the "
            "folder or re-import the dataset."
        )
    return paths


def text_columns(version: DatasetVersion, frame: pd.DataFrame) -> list[str]:
    """The free-text columns of a version: what its text features are computed from.

    A folder of ``.txt`` files (modality ``text``) has one, ``text``. In a table, a column
    is free text when it is not a role (id, label, split, media), a tag or augmentation
    provenance, its non-missing values are all strings, and either it is named ``text``
    or it reads like prose: the median value has at least :data:`TEXT_MIN_WORDS` words
    and at least :data:`TEXT_MIN_DISTINCT` of the values are distinct. Other string
    columns (categories, codes, short names, columns with few distinct values) are not
    features; they describe slices (:func:`metadata_frame`). Name a short-text column
    ``text`` (e.g. intents of two or three words) to have it embedded.

    Parameters
    ----------
    version : DatasetVersion
    frame : DataFrame of shape (n_rows, n_columns)
        The version's rows.

    Returns
    -------
    list of str
        In column order.
    """
    if version.modality == "text":
        return ["text"] if "text" in frame.columns else []
    if version.modality in _MEDIA:
        return []
    skip = _role_columns(version) | set(version.roles.tags)
    return [c for c in frame.columns if c not in skip and _is_free_text(frame[c])]


def _is_free_text(column: pd.Series) -> bool:
    """The rule of :func:`text_columns` for one column."""
    values = column.dropna()
    if values.empty or pd.api.types.infer_dtype(values, skipna=True) != "string":
        return False
    if column.name == "text":
        return True
    words = float(values.str.count(r"\S+").median())
    distinct = values.nunique() / len(values)
    return words >= TEXT_MIN_WORDS and distinct >= TEXT_MIN_DISTINCT


def version_texts(
    version: DatasetVersion, frame: pd.DataFrame, columns: Sequence[str] | None = None
) -> list[str]:
    """The raw text of each row, in row order.

    Parameters
    ----------
    version : DatasetVersion
    frame : DataFrame of shape (n_rows, n_columns)
    columns : sequence of str, optional
        The text columns (default: :func:`text_columns`); several are joined per row with
        a newline, a missing value counts as the empty string. A folder of ``.txt`` files
        without a ``text`` column is read from its files.

    Returns
    -------
    list of str of length n_rows
    """
    chosen = text_columns(version, frame) if columns is None else list(columns)
    if not chosen and version.modality == "text":
        from assay.modalities import get_modality

        return [str(t) for t in get_modality("text").load(media_paths(version, frame))]
    if not chosen:
        raise InputError(
            f"{version.ref} has no free-text column (a column named 'text', or string values "
            f"of {TEXT_MIN_WORDS}+ words, mostly distinct); rename the column that holds the "
            "texts to 'text', or use a recipe that reads numeric features."
        )
    missing = [c for c in chosen if c not in frame.columns]
    if missing:
        raise InputError(
            f"{version.ref} has no column {missing[0]!r}; it needs the same text columns as "
            "the version the model is trained on."
        )
    parts = frame[chosen].astype(object)
    parts = parts.where(parts.notna(), "").astype(str)
    return [str(t) for t in parts.agg("\n".join, axis=1)]


def _text_features(texts: Sequence[str], *, fit_on: int | None = None) -> np.ndarray:
    from assay.modalities import get_modality, text_features

    try:
        return get_modality("text").featurize(texts)
    except InputError as exc:  # the sentence encoder is an optional extra
        warnings.warn(f"{exc} Using TF-IDF text features instead.", UserWarning, stacklevel=3)
        return text_features(texts, method="tfidf", fit_on=fit_on)


def _with_numeric(version: DatasetVersion, frame: pd.DataFrame, embedded: np.ndarray) -> np.ndarray:
    """A table's numeric feature columns (if any) next to its text embeddings."""
    numeric = feature_columns(version, frame) if version.modality == "tabular" else []
    if not numeric:
        return embedded
    return np.hstack([frame[numeric].to_numpy(dtype=np.float64), embedded])


def version_features(
    version: DatasetVersion, frame: pd.DataFrame, *, embeddings: Any = None
) -> pd.DataFrame | np.ndarray:
    """The feature matrix of a version, for the audit, the slices and the curves.

    Parameters
    ----------
    version : DatasetVersion
    frame : DataFrame of shape (n_rows, n_columns)
        The version's rows.
    embeddings : array of shape (n_rows, n_dims) or path, optional
        User-supplied embeddings (see :func:`load_embeddings`); used as they are.

    Returns
    -------
    DataFrame of shape (n_rows, n_features) for tabular data without free text, else
    ndarray: a table's numeric columns followed by the embeddings of its texts
    (:func:`text_columns`), or the modality's features of a folder's files.
    """
    if embeddings is not None:
        if isinstance(embeddings, (str, Path)):
            return load_embeddings(embeddings, version, frame)
        arr = np.asarray(embeddings, dtype=np.float64)
        labels = index_of(embeddings)
        return _check_matrix(arr, len(frame), "embeddings", lambda p: name_rows(p, labels))
    if version.modality == "text" or text_columns(version, frame):
        return _with_numeric(version, frame, _text_features(version_texts(version, frame)))
    if version.modality in _MEDIA:
        from assay.modalities import get_modality

        return get_modality(version.modality).featurize(media_paths(version, frame))
    columns = feature_columns(version, frame)
    if not columns:
        raise InputError(
            f"{version.ref} has no numeric feature columns and no free-text column (tags, "
            "id and label are not features); give --embeddings FILE or --pred-probs FILE, "
            "or name the column that holds the texts 'text'."
        )
    return frame[columns]


def _reads_text(recipe: Recipe | None) -> bool:
    return bool(getattr(recipe, "reads_text", False))


def _media_frame(version: DatasetVersion, frame: pd.DataFrame) -> pd.DataFrame:
    """The items' file paths as a one-column table ``path`` (a recipe that reads media)."""
    return pd.DataFrame({"path": media_paths(version, frame)}, index=frame.index)


def _text_frame(version: DatasetVersion, frame: pd.DataFrame, recipe: Recipe) -> pd.DataFrame:
    columns = text_columns(version, frame)
    if not columns and version.modality != "text":
        raise InputError(
            f"recipe '{recipe.name}' reads raw texts (featurizer: {recipe.spec['featurizer']}) "
            f"but {version.ref} has no free-text column (a column named 'text', or string "
            f"values of {TEXT_MIN_WORDS}+ words, mostly distinct); rename the text column to "
            "'text', or use a recipe for numeric features (e.g. featurizer: standard_scaler)."
        )
    return pd.DataFrame({"text": version_texts(version, frame)})


def model_inputs(
    version: DatasetVersion,
    frame: pd.DataFrame,
    recipe: Recipe | None = None,
    *,
    embeddings: Any = None,
) -> pd.DataFrame | np.ndarray:
    """What a recipe's model reads from a version.

    Parameters
    ----------
    version : DatasetVersion
    frame : DataFrame of shape (n_rows, n_columns)
    recipe : Recipe, optional
        When it reads raw texts (:attr:`~assay.train.recipe.Recipe.reads_text`, e.g.
        ``featurizer: tfidf``), the result is the texts (:func:`version_texts`).
    embeddings : array or path, optional
        See :func:`version_features`; ignored by a recipe that reads texts.

    Returns
    -------
    DataFrame of shape (n_rows, 1), column ``text``, for a recipe that reads texts,
    column ``path`` (the files) for a recipe that reads media
    (:attr:`~assay.train.recipe.Recipe.reads_media`, e.g. the detector), else
    :func:`version_features`
    """
    if recipe is not None and _reads_text(recipe):
        return _text_frame(version, frame, recipe)
    if getattr(recipe, "reads_media", False):
        return _media_frame(version, frame)
    return version_features(version, frame, embeddings=embeddings)


def train_eval_inputs(
    train_v: DatasetVersion,
    train_df: pd.DataFrame,
    eval_v: DatasetVersion,
    eval_df: pd.DataFrame,
    recipe: Recipe | None = None,
) -> tuple[Any, Any, list[str]]:
    """Training and evaluation inputs of a recipe (see :func:`model_inputs`) and their names.

    Texts are featurized together, so that a TF-IDF fallback (without ``assay[text]``)
    gives both sides the same dimensions; its vocabulary and SVD are learnt from the
    training texts only.

    Returns
    -------
    X_train, X_eval : DataFrame or ndarray
    features : list of str
        The feature columns (numeric columns, then text columns) of the training version;
        empty for image and audio folders.

    Raises
    ------
    InputError
        No features, or the evaluation set lacks a feature column of the training set.
    """
    if recipe is not None and _reads_text(recipe):
        names = text_columns(train_v, train_df) or ["text"]
        train_x = _text_frame(train_v, train_df, recipe)
        return train_x, _text_frame(eval_v, eval_df, recipe), names
    if getattr(recipe, "reads_media", False):
        return _media_frame(train_v, train_df), _media_frame(eval_v, eval_df), []
    texts = text_columns(train_v, train_df)
    if train_v.modality == "text" or texts:
        return _joint_text_features(train_v, train_df, eval_v, eval_df, texts)
    if train_v.modality != "tabular":
        return version_features(train_v, train_df), version_features(eval_v, eval_df), []
    features = feature_columns(train_v, train_df)
    if not features:
        raise InputError(
            f"{train_v.ref} has no numeric feature columns and no free-text column (tags, id, "
            "label and provenance columns are not features); import numeric features, or "
            "name the column that holds the texts 'text', to train a recipe."
        )
    _check_eval_columns(train_v, eval_v, eval_df, features)
    return train_df[features], eval_df[features], features


def _check_eval_columns(
    train_v: DatasetVersion, eval_v: DatasetVersion, eval_df: pd.DataFrame, columns: list[str]
) -> None:
    missing = [c for c in columns if c not in eval_df.columns]
    if missing:
        raise InputError(
            f"the evaluation set {eval_v.ref} lacks feature columns of {train_v.ref}: "
            f"{', '.join(missing[:20])}; evaluate on a set with the same features."
        )


def _joint_text_features(
    train_v: DatasetVersion,
    train_df: pd.DataFrame,
    eval_v: DatasetVersion,
    eval_df: pd.DataFrame,
    texts: list[str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    tabular = train_v.modality == "tabular"
    numeric = feature_columns(train_v, train_df) if tabular else []
    _check_eval_columns(train_v, eval_v, eval_df, numeric + (texts if tabular else []))
    train_texts = version_texts(train_v, train_df, texts if tabular else None)
    eval_texts = version_texts(eval_v, eval_df, texts if tabular else None)
    embedded = _text_features(train_texts + eval_texts, fit_on=len(train_texts))
    n = len(train_texts)
    parts = []
    for frame, rows in ((train_df, embedded[:n]), (eval_df, embedded[n:])):
        values = frame[numeric].to_numpy(dtype=np.float64) if numeric else np.zeros((len(rows), 0))
        parts.append(np.hstack([values, rows]))
    return parts[0], parts[1], numeric + (texts or ["text"])


def _check_matrix(
    arr: np.ndarray, n_rows: int, where: str, rows: Callable[[int], str]
) -> np.ndarray:
    """Check the shape and values of embeddings; ``rows`` names a row by its position."""
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise InputError(
            f"{where} has shape {arr.shape} but the dataset has {n_rows} rows; give one row "
            "of numbers per item, in the dataset's row order."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        raise InputError(f"{where} {rows(row)} contains NaN or inf; fix or drop that item.")
    return arr


def load_embeddings(path: str | Path, version: DatasetVersion, frame: pd.DataFrame) -> np.ndarray:
    """Read embeddings aligned with the version's rows.

    Parameters
    ----------
    path : path
        ``.npy``: an array of shape (n_rows, n_dims) in row order. ``.parquet`` / ``.csv``:
        numeric columns; when the file has the version's id column, rows are aligned by
        id (every item needs a row), else by position.
    version : DatasetVersion
    frame : DataFrame of shape (n_rows, n_columns)

    Returns
    -------
    ndarray of shape (n_rows, n_dims), float64
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file} does not exist; give a .npy, .parquet or .csv file.")
    suffix = file.suffix.lower()
    if suffix == ".npy":
        arr = np.asarray(np.load(file, allow_pickle=False), dtype=np.float64)
        return _check_matrix(arr, len(frame), str(file), name_rows)
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"{file}: cannot read {suffix!r} embeddings; use .npy, .parquet or .csv.")
    from assay.store.readers import RowNames

    data = pd.read_parquet(file) if suffix == ".parquet" else pd.read_csv(file)
    names = RowNames("row") if suffix == ".parquet" else RowNames("line", path=file, separator=",")
    order = np.arange(len(data))  # the file's row at each position of the matrix
    id_col = version.roles.id
    if id_col in data.columns:
        order = _align_by_id(data, frame[id_col], id_col, file)
        data = data.drop(columns=[id_col])
    numeric = data.select_dtypes("number").iloc[order]
    arr = numeric.to_numpy(dtype=np.float64)
    return _check_matrix(arr, len(frame), str(file), lambda p: names(int(order[p])))


def _align_by_id(data: pd.DataFrame, ids: pd.Series, id_col: str, file: Path) -> np.ndarray:
    """The position in ``data`` of the row of each of ``ids``."""
    keyed = pd.Index(data[id_col].astype(str))
    if not keyed.is_unique:
        raise InputError(f"{file}: column {id_col!r} has duplicate ids; give one row per item.")
    wanted = pd.Index(ids.astype(str))
    missing = wanted.difference(keyed)
    if len(missing):
        raise InputError(
            f"{file} has no row for item {missing[0]!r} ({len(missing)} items missing); "
            "give embeddings for every item of the version."
        )
    return keyed.get_indexer(wanted)


def metadata_frame(
    version: DatasetVersion, frame: pd.DataFrame, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The columns that describe slices for :func:`assay.train.find_slices`.

    By default: the tag columns, any other non-numeric column that is neither a role nor
    free text (:func:`text_columns`), and the numeric feature columns when there are at most :data:`MAX_NUMERIC_METADATA` of them
    (``find_slices`` bins them); raw signals such as 64 pixel columns are left out.
    """
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(
                f"{version.ref} has no column {missing[0]!r}; its columns are: "
                f"{', '.join(map(str, frame.columns[:20]))}."
            )
        return frame[list(columns)]
    roles = _role_columns(version)
    numeric = feature_columns(version, frame)
    texts = set(text_columns(version, frame)) | {"text"}
    chosen = [
        c
        for c in frame.columns
        if c not in roles and (c in version.roles.tags or c not in numeric) and c not in texts
    ]
    if len(numeric) <= MAX_NUMERIC_METADATA:
        chosen += numeric
    return frame[chosen]


def item_agreement(annotations: pd.DataFrame, item_ids: Sequence[Any]) -> np.ndarray:
    """Per item: 1 if an annotator agreed with the majority of the other annotators.

    For each item labelled by two or more annotators, the first annotator (by name) is
    compared with the most frequent label among the others (ties: agreed when the label
    is among the most frequent ones). This is the per-row human-level performance that
    :func:`assay.train.slices._table` turns into a per-slice HLP with a Wilson interval.

    Parameters
    ----------
    annotations : DataFrame
        Columns ``item``, ``annotator``, ``label`` (``ws.annotations.load(name)``).
    item_ids : sequence of shape (n_rows,)
        The version's item ids, in row order.

    Returns
    -------
    ndarray of shape (n_rows,), float64
        1.0 / 0.0, NaN where the item has fewer than two annotations.
    """
    out = np.full(len(item_ids), np.nan)
    if annotations.empty:
        return out
    frame = annotations.assign(item=annotations["item"].astype(str)).sort_values(
        ["item", "annotator"], kind="stable"
    )
    frame = frame.drop_duplicates(["item", "annotator"], keep="last")
    agreed: dict[str, float] = {}
    for item, group in frame.groupby("item", sort=False):
        labels = [str(v) for v in group["label"]]
        if len(labels) < 2:
            continue
        counts = pd.Series(labels[1:]).value_counts()
        agreed[str(item)] = float(labels[0] in set(counts.index[counts == counts.max()]))
    for i, item in enumerate(item_ids):
        out[i] = agreed.get(str(item), np.nan)
    return out


def load_pred_probs(path: Path, labels: np.ndarray) -> np.ndarray:
    """Read ``FILE.npy`` and check it against the labels (issue 4's bad inputs).

    Parameters
    ----------
    path : path
        A ``.npy`` array of shape (n_samples, n_classes), columns in sorted class order.
    labels : array of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples, n_classes), rows renormalised within 1e-4 of 1
    """
    if path.suffix.lower() != ".npy" or not path.is_file():
        raise InputError(f"{path}: give an existing .npy file of shape (n_items, n_classes).")
    try:
        raw = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path} is not a numeric .npy array ({exc}).") from None
    probs = check_pred_probs(raw, n_samples=len(labels), func="assay audit", where=path.name)
    _, classes = check_labels(labels, func="assay audit")
    k = probs.shape[1]
    if pd.api.types.is_integer_dtype(pd.Series(labels)):
        outside = np.asarray(labels) >= k
        if outside.any():
            row = int(np.argmax(outside))
            raise InputError(
                f"the label {int(labels[row])} at {name_rows(row)} is outside the {k} classes "
                f"of {path.name} (columns 0..{k - 1}); give one probability column per class."
            )
    integer = pd.api.types.is_integer_dtype(pd.Series(labels))
    if k < len(classes) or (k > len(classes) and not integer):
        # integer labels are column indices: trailing columns are classes with no
        # examples, which the audit warns about and goes on (issue 4)
        raise InputError(
            f"{path.name} has {k} columns but the labels have {len(classes)} classes "
            f"({', '.join(map(str, classes[:10]))}); give one column per class, in sorted order."
        )
    return probs


def load_predictions(path: Path, version: DatasetVersion, frame: pd.DataFrame) -> np.ndarray:
    """Predicted labels from ``.npy`` (labels, or probabilities in sorted class order) or
    ``.csv`` / ``.parquet`` (column ``prediction``, aligned by the id column if present)."""
    labels = frame[version.roles.label].to_numpy()
    if not path.is_file():
        raise InputError(f"{path} does not exist; give a .npy, .csv or .parquet file.")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        if arr.ndim == 2:
            return np.unique(labels)[np.argmax(load_pred_probs(path, labels), axis=1)]
        values = arr
    elif suffix in (".csv", ".parquet"):
        data = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
        if "prediction" not in data.columns:
            raise InputError(f"{path} has no column 'prediction'; name the predicted labels so.")
        id_col = version.roles.id
        if id_col in data.columns:
            keyed = data.set_index(data[id_col].astype(str))["prediction"]
            values = keyed.reindex(frame[id_col].astype(str)).to_numpy()
        else:
            values = data["prediction"].to_numpy()
    else:
        raise InputError(f"{path}: cannot read {suffix!r} predictions; use .npy, .csv or .parquet.")
    if len(values) != len(labels) or pd.isna(pd.Series(values)).any():
        raise InputError(
            f"{path} gives {len(values)} predictions (some missing) for the {len(labels)} "
            f"items of {version.ref}; give one prediction per item."
        )
    return np.asarray(values)
