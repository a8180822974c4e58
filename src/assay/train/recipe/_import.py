"""Import-path recipes: ``"package.module:attribute"`` loaded, hashed and called."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from pathlib import Path
from typing import Any

from sklearn.base import BaseEstimator, clone

from assay.exceptions import InputError

__all__ = ["call_factory", "check_factory", "import_attribute", "module_source_hash"]


def import_attribute(import_path: str) -> tuple[Any, Any]:
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


def check_factory(attribute: Any, import_path: str) -> None:
    if isinstance(attribute, BaseEstimator) or callable(attribute):
        return
    raise InputError(
        f"recipe import path '{import_path}' points at a {type(attribute).__name__}; "
        "point it at a function returning an unfitted scikit-learn estimator, or an estimator."
    )


def module_source_hash(module: Any) -> str:
    try:
        source_file = inspect.getsourcefile(module)
    except TypeError:
        source_file = None
    if source_file is None or not Path(source_file).is_file():
        return hashlib.sha256(repr(module).encode()).hexdigest()
    return hashlib.sha256(Path(source_file).read_bytes()).hexdigest()


def call_factory(factory: Any, import_path: str, seed: int) -> BaseEstimator:
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
