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
                                     # | a registered modality name (image, audio, ...)
                                     # tfidf reads raw texts (Recipe.reads_text)
      featurizer_params: {}          # optional, parameters of the featurizer
      estimator: sklearn.linear_model.LogisticRegression
      params: {C: 1.0, max_iter: 2000}
      seed: 0

- a **built-in detection recipe**'s name, ``hog`` (the fixed HOG + linear SVM
  detector, :mod:`assay.train.recipe._detection`), or YAML naming it with ``detector:``.

Only scikit-learn classifiers and regressors (and :data:`ALLOWED_ESTIMATORS`) may be
named, nothing is unpickled, and unknown keys or estimator parameters are refused with
the list of valid ones. :meth:`Recipe.build` returns a fresh, seeded, unfitted estimator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sklearn.base import BaseEstimator

from assay._validation import warn
from assay.exceptions import InputError
from assay.train.recipe._detection import (
    BoxDetector,
    detector_spec,
    validate_detector_spec,
)
from assay.train.recipe._import import (
    call_factory,
    check_factory,
    import_attribute,
    module_source_hash,
)
from assay.train.recipe._yaml import (
    ALLOWED_ESTIMATORS,
    FEATURIZERS,
    TEXT_FEATURIZERS,
    YAML_KEYS,
    ModalityFeaturizer,
    build_from_yaml_spec,
    check_seed,
    read_yaml_source,
    validate_yaml_spec,
)

__all__ = ["ALLOWED_ESTIMATORS", "FEATURIZERS", "ModalityFeaturizer", "Recipe", "load_recipe"]


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True, eq=False)
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
    def from_yaml(cls, path_or_text: str | Path, *, name: str | None = None) -> Recipe:
        """Read a recipe from a YAML file or a YAML string (see the module docstring).

        ``name``: the name it is registered under; a different ``name:`` in the file is
        refused (the name is part of the hash, so one model would get two hashes).
        """
        text, where = read_yaml_source(path_or_text)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = _yaml_problem(exc)
            raise InputError(f"{where} is not valid YAML: {problem}. Fix the syntax.") from None
        if not isinstance(data, Mapping):
            raise InputError(
                f"{where} must be a YAML mapping with keys {', '.join(YAML_KEYS)}; "
                f"got {type(data).__name__}."
            )
        given = data.get("name")
        if name is not None and given is not None and str(given) != name:
            raise InputError(
                f"{where} names the recipe {str(given)!r} but it is registered as {name!r}; "
                "the name is part of the recipe's hash, so one model would get two hashes. "
                f"Write 'name: {name}' in the file, or register it as {str(given)!r}."
            )
        return cls.from_spec(dict(data), where=where)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, where: str = "the recipe") -> Recipe:
        """Validate a recipe mapping (the YAML schema, or a stored :attr:`spec`)."""
        spec = dict(spec)
        if spec.get("kind") == "import":
            recipe = cls.from_import_path(str(spec.get("import_path")), seed=spec.get("seed", 0))
            stored = spec.get("source_sha256")
            if stored is not None and stored != recipe.spec["source_sha256"]:
                warn(
                    f"the source of recipe '{recipe.name}' changed since this spec was "
                    "recorded, so its hash changed; register it again as a new recipe to "
                    "keep experiments comparable."
                )
            return recipe
        if spec.get("kind") == "detector" or "detector" in spec:
            return cls(spec=validate_detector_spec(spec, where))
        spec.pop("kind", None)
        return cls(spec=validate_yaml_spec(spec, where))

    @classmethod
    def from_import_path(cls, import_path: str, *, seed: int = 0) -> Recipe:
        """Load ``"package.module:attribute"`` (a factory or an unfitted estimator)."""
        check_seed(seed, "Recipe.from_import_path")
        module, attribute = import_attribute(import_path)
        check_factory(attribute, import_path)
        spec = {
            "kind": "import",
            "name": import_path,
            "import_path": import_path,
            "seed": int(seed),
            "source_sha256": module_source_hash(module),
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
    def reads_text(self) -> bool:
        """Whether the model reads raw texts (``featurizer: tfidf``), not a feature matrix.

        The workspace then gives it each row's text (a one-column table ``text``, see
        :func:`assay.store.features.model_inputs`) instead of the text embeddings.
        Import-path recipes read the feature matrix.
        """
        return self.spec["kind"] == "yaml" and self.spec.get("featurizer") in TEXT_FEATURIZERS

    @property
    def reads_media(self) -> bool:
        """Whether the model reads the items' files (a detection recipe reads image
        paths, a one-column table ``path``), not a feature matrix."""
        return bool(self.spec["kind"] == "detector")

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of :attr:`spec` (hex, 64 characters)."""
        return hashlib.sha256(_canonical_json(self.spec).encode()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and other.hash == self.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def build(self) -> BaseEstimator:
        """Return a fresh, unfitted, seeded scikit-learn estimator."""
        if self.spec["kind"] == "detector":
            return BoxDetector(params=dict(self.spec["params"]), random_state=self.seed)
        if self.spec["kind"] == "import":
            estimator = call_factory(self._factory, self.spec["import_path"], self.seed)
        else:
            estimator = build_from_yaml_spec(self.spec)
        return _seed_estimator(estimator, self.seed)

    def to_yaml(self) -> str:
        """The spec as YAML text (for ``recipe show``)."""
        return str(yaml.safe_dump(self.spec, sort_keys=False))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error in one line: the problem and its 1-based line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def load_recipe(
    source: str | Path | Mapping[str, Any] | Recipe, *, seed: int = 0, name: str | None = None
) -> Recipe:
    """Load a recipe from whatever the user gave.

    Parameters
    ----------
    source : str, Path, mapping or Recipe
        A YAML file path or YAML text; an import path ``"pkg.module:attribute"``; a
        built-in detection recipe's name (``"hog"``, :data:`DETECTORS`); a spec
        mapping; or a Recipe (returned as is).
    seed : int, default=0
        Seed for import-path and built-in recipes (YAML recipes carry their own).
    name : str, optional
        The name the recipe is registered under: a YAML recipe that names itself
        differently is refused (see :meth:`Recipe.from_yaml`).
    """
    if isinstance(source, Recipe):
        return source
    if isinstance(source, Mapping):
        return Recipe.from_spec(source)
    text = str(source)
    builtin = detector_spec(text, seed=seed)
    if builtin is not None and not Path(text).exists():
        return Recipe(spec=builtin)
    looks_like_import = ":" in text and "\n" not in text and " " not in text
    if looks_like_import and not Path(text).exists() and not text.endswith((".yml", ".yaml")):
        return Recipe.from_import_path(text, seed=seed)
    return Recipe.from_yaml(source, name=name)


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
