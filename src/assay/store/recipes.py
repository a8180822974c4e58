"""Recipes in the workspace: fixed model specifications, addressed by name and hash."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from assay.exceptions import ConflictError, NotFoundError
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
        """Register ``recipe`` as ``name`` (idempotent for the same spec)."""
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


def _record(row: m.Recipe) -> dict[str, Any]:
    return {"name": row.name, "hash": row.hash, "spec": row.spec, "created_at": row.created_at}
