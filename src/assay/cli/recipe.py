"""``assay recipe``: register the fixed model recipe that the data loop holds still."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    emit_json,
    open_workspace,
    out_console,
    table,
)
from assay.train.recipe import load_recipe

__all__ = ["register"]

recipe_app = typer.Typer(help="Fixed model recipes (a YAML file or a Python import path), hashed.")


@recipe_app.command("add")
def recipe_add(
    name: str = typer.Argument(..., help="The recipe's name in this workspace."),
    source: str = typer.Argument(
        ..., help="A YAML file, an import path package.module:factory, or hog (the detector)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for import-path recipes."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Register a recipe (refused if the name exists with another spec)."""
    record = open_workspace(workspace).recipes.add(name, load_recipe(source, seed=seed, name=name))
    if as_json:
        emit_json(record)
        return
    out_console().print(f"Recipe {name} registered (hash {record['hash'][:12]}).")


@recipe_app.command("list")
def recipe_list(
    wide: bool = WideOption, workspace: Path = WorkspaceOption, as_json: bool = JsonOption
) -> None:
    """List registered recipes."""
    records = open_workspace(workspace).recipes.list()
    if as_json:
        emit_json(records)
        return
    rows = [
        [
            r["name"],
            r["hash"][:12],
            r["spec"].get("estimator") or r["spec"].get("import_path") or r["spec"].get("detector"),
        ]
        for r in records
    ]
    header = ["name", "hash", "estimator"]
    out_console().print(table("recipes", header, rows, wide=wide, flexible=("estimator",)))


@recipe_app.command("show")
def recipe_show(
    name: str = typer.Argument(..., help="The recipe."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Show a recipe's spec and hash."""
    recipe = open_workspace(workspace).recipes.get(name)
    if as_json:
        emit_json({"name": name, "hash": recipe.hash, "spec": recipe.spec})
        return
    out_console().print(f"# {name}  (hash {recipe.hash})\n{recipe.to_yaml()}")


def register(app: typer.Typer) -> None:
    """Add ``assay recipe``."""
    app.add_typer(recipe_app, name="recipe")
