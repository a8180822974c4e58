"""``assay labelbook``: the versioned label book (class definitions) of a dataset."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import typer

from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    emit_json,
    open_workspace,
    out_console,
    say_lines,
    table,
)
from assay.store.labelbook import LabelBook
from assay.store.workspace import Workspace
from assay.workflows.labelbook import save_edited_text, start_edit

__all__ = ["register"]

labelbook_app = typer.Typer(help="The versioned label book: class definitions.")


@labelbook_app.command("show")
def labelbook_show(
    name: str = typer.Argument(..., help="The dataset."),
    version: int = typer.Option(None, "--version", help="A label-book version (default: latest)."),
    markdown: bool = typer.Option(False, "--markdown", help="Print it as Markdown for labelers."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Show the label book (class definitions)."""
    book = open_workspace(workspace).labelbook.get(name, version)
    if as_json:
        emit_json(book.to_dict())
    elif markdown:
        print(book.to_markdown())
    else:
        _print_book(name, book, wide)


def _print_book(name: str, book: LabelBook, wide: bool = False) -> None:
    """The numeric conventions (if any), then a table of the classes, with the
    co-occurrence rules of label sets when the book has some."""
    console = out_console()
    title = f"{name} label book v{book.number}: {book.message}"
    if book.numeric or book.normalisation:
        say_lines(title, wide=wide)
        for line in book.describe_numeric():
            say_lines(f"  {line}", wide=wide)
        if book.normalisation:
            say_lines(f"  transcripts: {book.describe_normalisation()}", wide=wide)
        if not book.classes:
            return
    headers = ["class", "description", "rules"]
    rules = any(spec.get(k) for spec in book.classes.values() for k in ("requires", "excludes"))
    if rules:
        headers += ["requires", "excludes"]
    rows = []
    for cls, spec in book.classes.items():
        row = [cls, spec.get("description", ""), "; ".join(spec.get("rules", []))]
        if rules:
            row += [", ".join(spec.get("requires", [])), ", ".join(spec.get("excludes", []))]
        rows.append(row)
    flexible = ("description", "rules", "requires", "excludes")
    console.print(table(title, headers, rows, wide=wide, flexible=flexible))


@labelbook_app.command("edit")
def labelbook_edit(
    name: str = typer.Argument(..., help="The dataset."),
    file: Path = typer.Option(
        None,
        "--file",
        help="A YAML or JSON label book: a 'classes:' mapping, or 'normalisation:' for "
        "transcripts (format: docs/labelbook.md).",
    ),
    message: str = typer.Option(None, "--message", "-m", help="What changed and why."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Add a new label-book version from a file, or by editing the latest in $EDITOR.

    The file is YAML or JSON with a 'classes:' mapping; per class name:
    description (text), rules (a list of text) and examples (positive,
    negative and borderline lists of item ids); for label sets also requires
    and excludes (other class names). Numeric labels: units, range (a list:
    min, max) and rounding (a step, or "decimals: d") at the top.
    Transcripts: a 'normalisation:' mapping (fillers, words, apostrophes, case,
    punctuation, numbers) instead of classes. Each edit adds the next version.
    The format, with a complete example: docs/labelbook.md.
    """
    ws = open_workspace(workspace)
    if file is not None:
        book = ws.labelbook.save_file(name, file, message=message)
    else:
        book = _edit_in_editor(ws, name, message)
    if as_json:
        emit_json(book.to_dict())
        return
    out_console().print(
        f"Label book of {name} is now v{book.number} ({_summary(book)}).", markup=False
    )


def _summary(book: LabelBook) -> str:
    """What a label-book version holds, for the line after an edit: its classes, or the
    transcription conventions of a transcript book without classes."""
    if book.normalisation and not book.classes:
        return f"transcripts: {book.describe_normalisation()}"
    return f"{len(book.classes)} classes"


def _edit_in_editor(ws: Workspace, name: str, message: str | None) -> LabelBook:
    start = start_edit(ws, name)
    with tempfile.NamedTemporaryFile("w+", suffix=".yaml", delete=False) as fh:
        fh.write(start.text)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        subprocess.run([editor, fh.name], check=True)
        text = Path(fh.name).read_text(encoding="utf-8")
    finally:
        os.unlink(fh.name)
    # start.base: if someone saved a version while the editor was open, nothing is saved
    return save_edited_text(ws, name, start, text, message=message)


@labelbook_app.command("diff")
def labelbook_diff(
    name: str = typer.Argument(..., help="The dataset."),
    a: int = typer.Argument(..., help="The older version number."),
    b: int = typer.Argument(..., help="The newer version number."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """What changed between two label-book versions."""
    delta = open_workspace(workspace).labelbook.diff(name, a, b)
    if as_json:
        emit_json(delta)
        return
    lines = [
        f"label book v{a} -> v{b}: added {', '.join(delta['added']) or '-'}, "
        f"removed {', '.join(delta['removed']) or '-'}"
    ]
    for key, change in [*delta.get("numeric", {}).items(), *delta.get("normalisation", {}).items()]:
        lines.append(f"  {key}: {change['old']!r} -> {change['new']!r}")
    for cls, fields in delta["changed"].items():
        for field_name, change in sorted(fields.items()):
            changed = _field_change(field_name, change["old"], change["new"])
            lines += [f"  {cls}.{line}" for line in changed]
    say_lines("\n".join(lines), wide=wide)


def _field_change(field_name: str, old: Any, new: Any) -> list[str]:
    """``rules: + 'new rule'`` lines for lists, ``description: 'a' -> 'b'`` otherwise."""
    if isinstance(old, list) and isinstance(new, list):
        lines = [f"{field_name}: - {v!r}" for v in old if v not in new] + [
            f"{field_name}: + {v!r}" for v in new if v not in old
        ]
        return lines or [f"{field_name}: reordered"]
    if isinstance(old, dict) and isinstance(new, dict):  # examples: one list per kind
        return [
            line
            for kind in sorted(set(old) | set(new))
            for line in _field_change(f"{field_name}.{kind}", old.get(kind, []), new.get(kind, []))
        ]
    return [f"{field_name}: {old!r} -> {new!r}"]


def register(app: typer.Typer) -> None:
    """Add ``assay labelbook``."""
    app.add_typer(labelbook_app, name="labelbook")
