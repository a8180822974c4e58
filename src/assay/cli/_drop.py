"""``assay drop NAME --ids FILE | --where EXPR -m MSG``: a new version without some rows
(leaked training rows, bad items), without an export-edit-reimport. Registered by
:mod:`assay.cli.data`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from assay.cli._common import JsonOption, WorkspaceOption, cli_flags, emit_json, open_workspace, say
from assay.exceptions import InputError
from assay.store.datasets import drop_rows

__all__ = ["drop"]

_PHRASES = {
    "ids= (a list of item ids) or where= (a condition)": "--ids FILE or --where EXPR",
}


def read_ids(path: Path, id_column: str) -> list[str]:
    """Ids from ``path``: a CSV with an ``id`` (or the dataset's id) column, or one per line.

    A first line that names the id column (``item_id`` alone, say) is the header of a
    one-column CSV, not an id. Blank lines and lines starting with ``#`` are skipped.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file; give a file of ids, one per line.")
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0].strip() if text.strip() else ""
    if "," in first or first.strip('"') in (id_column, "id", "item_id"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        column = next((c for c in (id_column, "id", "item_id") if c in frame.columns), None)
        if column is None:
            raise InputError(
                f"{path} line 1: no {id_column!r}, 'id' or 'item_id' column among "
                f"{', '.join(frame.columns)}; name the id column so, or list one id per line."
            )
        return [v.strip() for v in frame[column] if v.strip()]
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def drop(
    name: str = typer.Argument(..., help="The dataset, NAME or NAME@vN (the latest)."),
    ids: Path = typer.Option(
        None,
        "--ids",
        help="A file of the item ids to drop: one per line, or a CSV with an id column.",
    ),
    where: str = typer.Option(
        None, "--where", help='Drop the rows where this holds, e.g. "period < 0.1".'
    ),
    message: str = typer.Option(..., "--message", "-m", help="The version message."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Make a new version without some rows (by id or by a condition)."""
    ws = open_workspace(workspace)
    base = ws.dataset(name)
    listed = read_ids(ids, base.roles.id) if ids is not None else None
    with cli_flags(phrases=_PHRASES, where="--where"):
        version = drop_rows(ws, name, ids=listed, where=where, message=message)
    if as_json:
        emit_json(version.to_dict())
        return
    dropped = base.n_rows - version.n_rows
    say(f"{version.ref}: {version.n_rows} rows ({dropped} dropped from {base.ref}): {message}")
