"""A recipe: the fixed model specification that the data iteration loop holds still.

"Hold the code fixed and improve the data" needs the code to be named and hashed, so
that every experiment records exactly which model was trained. A recipe comes from

- an **import path** ``"package.module:attribute"`` whose attribute is a callable that
  returns an unfitted scikit-learn estimator (it may take a ``seed`` keyword), or an
  unfitted estimator object; its hash covers the module's source file, so editing the
  code changes the hash;
- a small **YAML** document (or the same mapping as a dict, :meth:`Recipe.from_spec`)::

      name: digits-logreg            # optional, defaults to the estimator's class name
      featurizer: standard_scaler    # none | standard_scaler | minmax_scaler | tfidf
                                     # | a modality name (assay.modalities.<name>)
      featurizer_params: {}          # optional, parameters of the featurizer
      estimator: sklearn.linear_model.LogisticRegression
      params: {C: 1.0, max_iter: 2000}
      seed: 0

Only scikit-learn classifiers (and the classes in :data:`ALLOWED_ESTIMATORS`) may be
named, nothing is unpickled, and unknown keys or estimator parameters are refused with
the list of valid ones. :meth:`Recipe.build` returns a fresh, seeded, unfitted estimator.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.pipeline import Pipeline

from assay.exceptions import InputError

__all__ = ["ALLOWED_ESTIMATORS", "FEATURIZERS", "Recipe", "load_recipe"]

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

_YAML_KEYS = ("name", "featurizer", "featurizer_params", "estimator", "params", "seed")
_MODALITY_FACTORIES = ("make_featurizer", "featurizer")


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _sha256(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _json_safe(value: Any, *, where: str) -> Any:
    """Return ``value`` if it survives a JSON round trip, else raise InputError."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{where} must hold plain values (numbers, strings, lists, mappings); "
            f"{exc}. Write it as YAML scalars, or use an import-path recipe."
        ) from None


@dataclass(frozen=True)
class Recipe:
    """A fixed, hashed model specification.

    Build one with :meth:`from_yaml`, :meth:`from_spec` or :meth:`from_import_path`
    (or :func:`load_recipe`, which picks one), not with the constructor.

    Attributes
    ----------
    spec : dict
        JSON-safe description; ``kind`` is ``"yaml"`` or ``"import"``. For import paths
        it holds ``import_path``, ``seed`` and ``source_sha256`` (the module file's hash).
    """

    spec: dict[str, Any]
    _factory: Any = field(default=None, repr=False, compare=False)

    # -- constructors -------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> Recipe:
        """Read a recipe from a YAML file or a YAML string (see the module docstring)."""
        text, where = _read_yaml_source(path_or_text)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"{where} is not valid YAML: {exc}. Fix the syntax.") from None
        if not isinstance(data, Mapping):
            raise InputError(
                f"{where} must be a YAML mapping with keys {', '.join(_YAML_KEYS)}; "
                f"got {type(data).__name__}."
            )
        return cls.from_spec(dict(data), where=where)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, where: str = "the recipe") -> Recipe:
        """Validate a recipe mapping (the YAML schema, or a stored :attr:`spec`)."""
        spec = dict(spec)
        if spec.get("kind") == "import":
            return cls.from_import_path(str(spec.get("import_path")), seed=spec.get("seed", 0))
        spec.pop("kind", None)
        return cls(spec=_validate_yaml_spec(spec, where))

    @classmethod
    def from_import_path(cls, import_path: str, *, seed: int = 0) -> Recipe:
        """Load ``"package.module:attribute"`` (a factory or an unfitted estimator)."""
        _check_seed(seed, "Recipe.from_import_path")
        module, attribute = _import_attribute(import_path)
        _check_factory(attribute, import_path)
        spec = {
            "kind": "import",
            "name": import_path,
            "import_path": import_path,
            "seed": int(seed),
            "source_sha256": _module_source_hash(module),
        }
        return cls(spec=spec, _factory=attribute)

    # -- use ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The recipe's name."""
        return str(self.spec["name"])

    @property
    def seed(self) -> int:
        """The seed given to every ``random_state`` parameter left unset."""
        return int(self.spec["seed"])

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of :attr:`spec` (hex, 64 characters)."""
        return _sha256(_canonical_json(self.spec))

    def build(self) -> BaseEstimator:
        """Return a fresh, unfitted, seeded scikit-learn estimator."""
        if self.spec["kind"] == "import":
            estimator = _call_factory(self._factory, self.spec["import_path"], self.seed)
        else:
            estimator = _build_from_yaml_spec(self.spec)
        return _seed_estimator(estimator, self.seed)

    def to_yaml(self) -> str:
        """The spec as YAML text (for ``recipe show``)."""
        return str(yaml.safe_dump(self.spec, sort_keys=False))


def load_recipe(source: str | Path | Mapping[str, Any] | Recipe, *, seed: int = 0) -> Recipe:
    """Load a recipe from whatever the user gave.

    Parameters
    ----------
    source : str, Path, mapping or Recipe
        A YAML file path or YAML text; an import path ``"pkg.module:attribute"``; a
        spec mapping; or a Recipe (returned as is).
    seed : int, default=0
        Seed for import-path recipes (YAML recipes carry their own).
    """
    if isinstance(source, Recipe):
        return source
    if isinstance(source, Mapping):
        return Recipe.from_spec(source)
    text = str(source)
    looks_like_import = ":" in text and "\n" not in text and " " not in text
    if looks_like_import and not Path(text).exists() and not text.endswith((".yml", ".yaml")):
        return Recipe.from_import_path(text, seed=seed)
    return Recipe.from_yaml(source)


# -- YAML recipes -------------------------------------------------------------------
def _read_yaml_source(path_or_text: str | Path) -> tuple[str, str]:
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


def _check_seed(seed: Any, func: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(
            f"The 'seed' parameter of {func} must be an int >= 0. Got {seed!r} instead."
        )


def _validate_yaml_spec(spec: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(spec) - set(_YAML_KEYS))
    if unknown:
        raise InputError(
            f"{where} has unknown key {', '.join(map(repr, unknown))}; "
            f"the valid keys are: {', '.join(_YAML_KEYS)}."
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
    if isinstance(feat_cls, type):
        feat_params = _validate_params(feat_cls, feat_params, f"{where} featurizer_params")
    seed = spec.get("seed", 0)
    _check_seed(seed, "Recipe.from_yaml")
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
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator) and _is_classifier(cls)):
        raise InputError(
            f"{where}: '{dotted}' is not a scikit-learn classifier class; name one, "
            "e.g. sklearn.ensemble.RandomForestClassifier."
        )
    return cls


def _is_classifier(cls: type) -> bool:
    if issubclass(cls, ClassifierMixin):
        return True
    try:
        return bool(is_classifier(cls()))
    except Exception:  # needs constructor arguments (meta-estimators)
        return False


def _resolve_featurizer(name: str, where: str) -> Any:
    if name in FEATURIZERS:
        path = FEATURIZERS[name]
        return None if path is None else _resolve_class(path)
    try:
        module = importlib.import_module(f"assay.modalities.{name}")
    except ImportError:
        module = None
    for factory in _MODALITY_FACTORIES:
        if module is not None and callable(getattr(module, factory, None)):
            return getattr(module, factory)
    raise InputError(
        f"{where} names featurizer '{name}', which is unknown; use one of "
        f"{', '.join(FEATURIZERS)} or a modality with a featurizer."
    )


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


def _build_from_yaml_spec(spec: dict[str, Any]) -> BaseEstimator:
    est_cls = _resolve_class(spec["estimator"])
    estimator = est_cls(**_tuple_params(est_cls, spec["params"]))
    feat = _resolve_featurizer(spec["featurizer"], "the recipe")
    if feat is None:
        return estimator
    if isinstance(feat, type):
        featurizer = feat(**_tuple_params(feat, spec["featurizer_params"]))
    else:
        featurizer = feat(**spec["featurizer_params"])
    return Pipeline([("featurizer", featurizer), ("estimator", estimator)])


# -- import-path recipes ------------------------------------------------------------
def _import_attribute(import_path: str) -> tuple[Any, Any]:
    module_name, sep, attr = str(import_path).partition(":")
    if not sep or not module_name or not attr:
        raise InputError(
            f"recipe import path '{import_path}' must look like 'package.module:attribute', "
            "e.g. 'myproject.models:make_pipeline'."
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may raise anything on import
        raise InputError(
            f"recipe import path '{import_path}': importing module '{module_name}' failed "
            f"({type(exc).__name__}: {exc}); make sure it is installed or on PYTHONPATH "
            "and imports without error."
        ) from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise InputError(
                f"recipe import path '{import_path}': module '{module_name}' has no "
                f"attribute '{attr}'; check the name after the colon."
            )
        target = getattr(target, part)
    return module, target


def _check_factory(attribute: Any, import_path: str) -> None:
    if isinstance(attribute, BaseEstimator) or callable(attribute):
        return
    raise InputError(
        f"recipe import path '{import_path}' points at a {type(attribute).__name__}; "
        "point it at a function returning an unfitted scikit-learn estimator, or an estimator."
    )


def _module_source_hash(module: Any) -> str:
    try:
        source_file = inspect.getsourcefile(module)
    except TypeError:
        source_file = None
    if source_file is None or not Path(source_file).is_file():
        return _sha256(repr(module))
    return _sha256(Path(source_file).read_bytes())


def _call_factory(factory: Any, import_path: str, seed: int) -> BaseEstimator:
    if isinstance(factory, BaseEstimator):
        return clone(factory)
    kwargs = {"seed": seed} if "seed" in _signature_params(factory) else {}
    try:
        estimator = factory(**kwargs)
    except Exception as exc:  # user code
        raise InputError(
            f"recipe '{import_path}' raised {type(exc).__name__}: {exc} when called; "
            "it must return an unfitted estimator when called with no arguments (or seed=)."
        ) from None
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise InputError(
            f"recipe '{import_path}' returned a {type(estimator).__name__}, not an "
            "estimator with fit and predict; return e.g. a sklearn Pipeline."
        )
    return estimator


def _signature_params(func: Any) -> set[str]:
    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return set()


def _seed_estimator(estimator: BaseEstimator, seed: int) -> BaseEstimator:
    """Set every ``random_state`` parameter that is None (nested too) to ``seed``."""
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # not a scikit-learn estimator: leave it as it is
        return estimator
    unset = {k: seed for k, v in params.items() if k.endswith("random_state") and v is None}
    if unset:
        estimator.set_params(**unset)
    return estimator
