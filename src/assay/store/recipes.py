"""Recipes in the workspace: fixed model specifications, addressed by name and hash."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from assay.exceptions import ConflictError, InputError, NotFoundError
from assay.store import models as m

if TYPE_CHECKING:
    from assay.store.workspace import Workspace
    from assay.train.recipe import Recipe

__all__ = ["RecipeStore"]


class RecipeStore:
    """Registered recipes (``ws.recipes``). A name, once registered, keeps its spec:
    a changed spec must be registered under a new name, so experiments stay comparable."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def add(self, name: str, recipe: Recipe) -> dict[str, Any]:
        """Register ``recipe`` as ``name`` (idempotent for the same spec).

        The recipe is built once and its parameters checked by scikit-learn, so that a
        recipe that cannot train is refused here rather than at ``assay train``.
        """
        _check_buildable(name, recipe)
        with self.ws.session() as s:
            row = s.scalar(select(m.Recipe).where(m.Recipe.name == name))
            if row is not None:
                if row.hash != recipe.hash:
                    raise ConflictError(
                        f"recipe {name!r} is already registered with another spec (hash "
                        f"{row.hash[:12]}); register the changed recipe under a new name."
                    )
                return _record(row)
            row = m.Recipe(name=name, hash=recipe.hash, spec=recipe.spec)
            s.add(row)
            s.flush()
            return _record(row)

    def get(self, name: str) -> Recipe:
        """The recipe registered as ``name``."""
        from assay.train.recipe import Recipe

        with self.ws.session() as s:
            row = s.scalar(select(m.Recipe).where(m.Recipe.name == name))
            if row is None:
                known = ", ".join(s.scalars(select(m.Recipe.name)).all()) or "none yet"
                raise NotFoundError(
                    f"no recipe named {name!r} (registered: {known}); add one with "
                    "`assay recipe add NAME FILE.yaml`."
                )
            return Recipe.from_spec(row.spec, where=f"recipe {name!r}")

    def list(self) -> list[dict[str, Any]]:
        """Every registered recipe."""
        with self.ws.session() as s:
            return [_record(r) for r in s.scalars(select(m.Recipe).order_by(m.Recipe.name)).all()]


def _check_buildable(name: str, recipe: Recipe) -> None:
    from sklearn.utils._param_validation import InvalidParameterError

    estimator = recipe.build()
    steps = [step for _, step in getattr(estimator, "steps", [])] or [estimator]
    for step in steps:
        validate = getattr(step, "_validate_params", None)
        if validate is None or not hasattr(step, "_parameter_constraints"):
            continue  # only scikit-learn's own estimators declare their constraints
        try:
            validate()
        except (InvalidParameterError, ValueError, TypeError) as exc:
            raise InputError(
                f"recipe {name!r}: {exc}".splitlines()[0] + " Fix the parameter."
            ) from exc


def _record(row: m.Recipe) -> dict[str, Any]:
    return {"name": row.name, "hash": row.hash, "spec": row.spec, "created_at": row.created_at}
