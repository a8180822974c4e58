"""YAML recipes: the schema, its validation and the estimator it builds.

See :mod:`assay.train.recipe` for the schema. Only scikit-learn classifiers and
regressors (and :data:`ALLOWED_ESTIMATORS`) may be named; unknown keys and parameters
are refused with the list of valid ones. A multi-label dataset fits any classifier:
one that fits a 0/1 label matrix itself (e.g. ``sklearn.ensemble.RandomForestClassifier``,
``sklearn.neighbors.KNeighborsClassifier``) as it is, any other one label at a time
(:meth:`assay.tasks.Task.model_for` wraps it in ``MultiOutputClassifier``).
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
    is_classifier,
    is_regressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from assay.exceptions import InputError
from assay.modalities import available_modalities, get_modality

__all__ = [
    "ALLOWED_ESTIMATORS",
    "FEATURIZERS",
    "TEXT_FEATURIZERS",
    "YAML_KEYS",
    "ModalityFeaturizer",
    "TextTfidfVectorizer",
    "build_from_yaml_spec",
    "check_seed",
    "read_yaml_source",
    "validate_yaml_spec",
]

#: Estimator classes outside ``sklearn.`` that a YAML recipe may name.
ALLOWED_ESTIMATORS: frozenset[str] = frozenset(
    {"lightgbm.LGBMClassifier", "xgboost.XGBClassifier", "catboost.CatBoostClassifier"}
)

#: Featurizers a YAML recipe may name, as dotted class paths (``none`` = no featurizer).
FEATURIZERS: dict[str, str | None] = {
    "none": None,
    "standard_scaler": "sklearn.preprocessing.StandardScaler",
    "minmax_scaler": "sklearn.preprocessing.MinMaxScaler",
    "tfidf": "sklearn.feature_extraction.text.TfidfVectorizer",
}

#: Featurizers that read raw texts, not a feature matrix: the workspace hands a recipe
#: with one of them each row's text (:func:`assay.store.features.model_inputs`).
TEXT_FEATURIZERS: frozenset[str] = frozenset({"tfidf"})

YAML_KEYS = ("name", "featurizer", "featurizer_params", "estimator", "params", "seed")


def _json_safe(value: Any, *, where: str) -> Any:
    """Return ``value`` if it survives a JSON round trip, else raise InputError."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{where} must hold plain values (numbers, strings, lists, mappings); "
            f"{exc}. Write it as YAML scalars, or use an import-path recipe."
        ) from None


def read_yaml_source(path_or_text: str | Path) -> tuple[str, str]:
    text = str(path_or_text)
    is_path = isinstance(path_or_text, Path) or (
        "\n" not in text and text.endswith((".yml", ".yaml"))
    )
    if not is_path:
        return text, "the recipe YAML"
    path = Path(text)
    if not path.is_file():
        raise InputError(f"recipe file {path} does not exist; give the path to a YAML file.")
    try:
        return path.read_text(encoding="utf-8"), f"recipe file {path}"
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"recipe file {path} cannot be read ({exc}); give a UTF-8 YAML file."
        ) from None


def check_seed(seed: Any, func: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(
            f"The 'seed' parameter of {func} must be an int >= 0. Got {seed!r} instead.",
            param="seed",
        )


def validate_yaml_spec(spec: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(spec) - set(YAML_KEYS))
    if unknown:
        raise InputError(
            f"{where} has unknown key {', '.join(map(repr, unknown))}; "
            f"the valid keys are: {', '.join(YAML_KEYS)}."
        )
    if "estimator" not in spec:
        raise InputError(
            f"{where} has no 'estimator' key; name a classifier class, "
            "e.g. estimator: sklearn.linear_model.LogisticRegression."
        )
    estimator_path = str(spec["estimator"])
    est_cls = _resolve_estimator_class(estimator_path, where)
    params = _validate_params(est_cls, spec.get("params") or {}, f"{where} params")
    featurizer = str(spec.get("featurizer") or "none")
    feat_params = spec.get("featurizer_params") or {}
    feat_cls = _resolve_featurizer(featurizer, where)
    if feat_cls is ModalityFeaturizer:
        feat_params = _check_modality_params(featurizer, feat_params, f"{where} featurizer_params")
    elif feat_cls is not None:
        feat_params = _validate_params(feat_cls, feat_params, f"{where} featurizer_params")
    seed = spec.get("seed", 0)
    check_seed(seed, "Recipe.from_yaml")
    out = {
        "kind": "yaml",
        "name": str(spec.get("name") or est_cls.__name__),
        "featurizer": featurizer,
        "featurizer_params": _json_safe(dict(feat_params), where=f"{where} featurizer_params"),
        "estimator": estimator_path,
        "params": _json_safe(params, where=f"{where} params"),
        "seed": int(seed),
    }
    return out


def _resolve_class(dotted: str) -> Any:
    module_name, _, attr = dotted.rpartition(".")
    if not module_name:
        raise ImportError(f"'{dotted}' is not a dotted path module.Class")
    return getattr(importlib.import_module(module_name), attr)


def _resolve_estimator_class(dotted: str, where: str) -> type:
    if not (dotted.startswith("sklearn.") or dotted in ALLOWED_ESTIMATORS):
        raise InputError(
            f"{where} names estimator '{dotted}', which is not allowed; name a scikit-learn "
            f"class (sklearn.…) or one of {', '.join(sorted(ALLOWED_ESTIMATORS))}, "
            "or use an import-path recipe for your own code."
        )
    try:
        cls = _resolve_class(dotted)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"{where}: estimator '{dotted}' cannot be imported ({exc}); check the spelling, "
            "e.g. sklearn.linear_model.LogisticRegression."
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator) and _is_model(cls)):
        raise InputError(
            f"{where}: '{dotted}' is not a scikit-learn classifier or regressor class; name "
            "one, e.g. sklearn.ensemble.RandomForestClassifier or sklearn.linear_model.Ridge."
        )
    return cls


def _is_model(cls: type) -> bool:
    """A classifier (single- or multi-label) or a regressor (numeric labels)."""
    if _is_classifier(cls) or issubclass(cls, RegressorMixin):
        return True
    try:
        return bool(is_regressor(cls()))
    except Exception:  # needs constructor arguments (meta-estimators)
        return False


def _is_classifier(cls: type) -> bool:
    if issubclass(cls, ClassifierMixin):
        return True
    try:
        return bool(is_classifier(cls()))
    except Exception:  # needs constructor arguments (meta-estimators)
        return False


def _is_feature_matrix(X: Any) -> bool:
    """Whether ``X`` is a 2-d table of numbers (features), not items (paths, texts, images)."""
    if isinstance(X, pd.DataFrame):
        return X.shape[1] > 0 and all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes)
    arr = np.asarray(X) if isinstance(X, np.ndarray) else None
    return arr is not None and arr.ndim == 2 and np.issubdtype(arr.dtype, np.number)


class ModalityFeaturizer(TransformerMixin, BaseEstimator):
    """A modality's ``featurize`` as a scikit-learn transformer (stateless).

    Parameters
    ----------
    modality : str
        A registered modality name (see :func:`assay.modalities.available_modalities`).
    params : dict, optional
        Keyword parameters of the modality (e.g. ``{"method": "minilm"}``).

    Notes
    -----
    ``fit`` learns nothing, so the modality's featurizer must not depend on the batch it
    is given (images, audio, MiniLM text embeddings); otherwise training and evaluation
    features would not match.
    """

    def __init__(self, modality: str = "tabular", params: dict[str, Any] | None = None) -> None:
        self.modality = modality
        self.params = params

    def fit(self, X: Any, y: Any = None) -> ModalityFeaturizer:
        """Learn nothing; return self."""
        return self

    def transform(self, X: Any) -> Any:
        """Features of shape (n_samples, n_features).

        A numeric 2-d input is taken as features already extracted (the workspace
        featurizes image, audio and text datasets from their files) and passed through.
        """
        if _is_feature_matrix(X):
            return np.asarray(X, dtype=np.float64)
        items = X if isinstance(X, pd.DataFrame) else list(X)
        return get_modality(self.modality, **(self.params or {})).featurize(items)


def _documents(X: Any) -> Any:
    """Raw texts as a 1-d sequence: a sequence of strings as it is, the single column of a
    table (e.g. :func:`assay.store.features.model_inputs`) flattened."""
    if isinstance(X, str):
        raise InputError("featurizer 'tfidf' needs a sequence of texts, not one string.")
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1 or _is_feature_matrix(X):
            raise InputError(
                f"featurizer 'tfidf' reads raw texts, one text column; got a table of "
                f"{X.shape[1]} columns ({', '.join(map(str, X.columns[:5]))}). Give the "
                "texts, or use featurizer: standard_scaler for numeric features."
            )
        return X.iloc[:, 0].astype(str).tolist()
    arr = X if isinstance(X, np.ndarray) else None
    if arr is not None and arr.ndim == 2:
        if arr.shape[1] != 1 or np.issubdtype(arr.dtype, np.number):
            raise InputError(
                f"featurizer 'tfidf' reads raw texts but got numbers of shape {arr.shape} "
                "(features, e.g. embeddings); give the texts, or use featurizer: "
                "standard_scaler for numeric features."
            )
        return arr[:, 0].astype(str).tolist()
    return X


class TextTfidfVectorizer(TfidfVectorizer):  # type: ignore[misc]
    """scikit-learn's TfidfVectorizer that also reads texts given as a one-column table.

    The featurizer of ``featurizer: tfidf`` recipes. A sequence of strings is read as
    usual; a one-column DataFrame or (n, 1) array (what the workspace gives a recipe
    that reads texts) is flattened first; a numeric matrix is an InputError saying that
    TF-IDF needs the raw texts. Parameters are TfidfVectorizer's.
    """

    def fit(self, raw_documents: Any, y: Any = None) -> TextTfidfVectorizer:
        """Learn the vocabulary and idf (see TfidfVectorizer.fit)."""
        super().fit(_documents(raw_documents), y)
        return self

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        """Learn the vocabulary and idf; return the document-term matrix."""
        return super().fit_transform(_documents(raw_documents), y)

    def transform(self, raw_documents: Any) -> Any:
        """The document-term matrix of new texts."""
        return super().transform(_documents(raw_documents))


def _modality_names() -> list[str]:
    return list(available_modalities())


def _resolve_featurizer(name: str, where: str) -> Any:
    if name in TEXT_FEATURIZERS:
        return TextTfidfVectorizer
    if name in FEATURIZERS:
        path = FEATURIZERS[name]
        return None if path is None else _resolve_class(path)
    if name in _modality_names():
        return ModalityFeaturizer
    raise InputError(
        f"{where} names featurizer '{name}', which is unknown; use one of "
        f"{', '.join([*FEATURIZERS, *_modality_names()])}."
    )


def _check_modality_params(name: str, params: Any, where: str) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise InputError(f"{where} must be a mapping of parameter: value; got {params!r}.")
    valid = sorted(p for p in inspect.signature(type(get_modality(name))).parameters)
    unknown = sorted(set(map(str, params)) - set(valid))
    if unknown:
        raise InputError(
            f"{where}: modality '{name}' has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(valid) or 'none'}."
        )
    return dict(params)


def _param_names(cls: type) -> list[str]:
    try:
        return sorted(cls().get_params(deep=False))
    except TypeError:  # classes with required arguments
        sig = inspect.signature(cls)
        return sorted(p for p in sig.parameters if p != "self")


def _validate_params(cls: type, params: Any, where: str) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise InputError(f"{where} must be a mapping of parameter: value; got {params!r}.")
    valid = _param_names(cls)
    unknown = sorted(set(map(str, params)) - set(valid))
    if unknown:
        raise InputError(
            f"{where}: {cls.__name__} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(valid)}."
        )
    return dict(params)


def _tuple_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """Turn YAML lists back into tuples where the default value is a tuple."""
    defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
    return {
        k: tuple(v) if isinstance(v, list) and isinstance(defaults.get(k), tuple) else v
        for k, v in params.items()
    }


def build_from_yaml_spec(spec: dict[str, Any]) -> BaseEstimator:
    est_cls = _resolve_class(spec["estimator"])
    estimator = est_cls(**_tuple_params(est_cls, spec["params"]))
    feat = _resolve_featurizer(spec["featurizer"], "the recipe")
    if feat is None:
        return estimator
    if feat is ModalityFeaturizer:
        featurizer = ModalityFeaturizer(spec["featurizer"], dict(spec["featurizer_params"]))
    else:
        featurizer = feat(**_tuple_params(feat, spec["featurizer_params"]))
    return Pipeline([("featurizer", featurizer), ("estimator", estimator)])
