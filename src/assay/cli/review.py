"""``assay review``: the review queue, where human decisions become new versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from assay.cli._common import (
    JsonOption,
    WorkspaceOption,
    cli_flags,
    emit_json,
    line_table,
    open_workspace,
    out_console,
    print_lines,
    say,
    shown,
)
from assay.exceptions import InputError
from assay.store.datasets import dataset_task
from assay.store.features import text_columns
from assay.store.review import ENTRY_COLUMNS
from assay.store.workspace import Workspace
from assay.workflows.review import (
    EntryList,
    apply_decisions,
    decide_entry,
    decide_from_csv,
    entry_details,
    list_entries,
    relabel_value,
)

__all__ = ["register"]

review_app = typer.Typer(
    help="The review queue: decide flagged items, then apply as a new version."
)


@review_app.command("list")
def review_list(
    name: str = typer.Argument(None, help="Only this dataset."),
    source: str = typer.Option(
        None, "--source", help="Only entries from this analysis (e.g. label_issue)."
    ),
    label: str = typer.Option(None, "--label", help="Only entries whose given label is this."),
    status: str = typer.Option("open", "--status", help="open, decided, applied or all."),
    limit: int = typer.Option(20, "--limit", help="How many entries to list."),
    wide: bool = typer.Option(
        False, "--wide", help="Every column (source, score) and every cell whole."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """List queue entries, most suspicious (lowest score) first."""
    ws = open_workspace(workspace)
    with cli_flags(status="--status"):
        listed = list_entries(ws, name, status=status, source=source, label=label, limit=limit)
    emit_json(listed.records()) if as_json else _print_entries(listed, ws, wide)


def _print_entries(listed: EntryList, ws: Workspace, wide: bool) -> None:
    """One line per entry, ids first, the item's text or a short rendering last."""
    frame = listed.entries
    names = list(frame["dataset"].unique())
    tasks = {name: dataset_task(name, ws) for name in names}
    texts = _item_texts(ws, frame)
    several = len(names) > 1
    columns = ["#", *(["dataset"] if several else []), "item", "label", "status", "why", "item"]
    columns[-1] = "content"
    if wide:
        columns[-2:-2] = ["source", "score"]
    rows = []
    for r, text in zip(frame.itertuples(), texts, strict=True):
        label = tasks[r.dataset].show_suggestion(r.given_label, r.suggested_label)
        row = [r.id, *([r.dataset] if several else []), r.item_id, label]
        row += [_status(r.status, r.decision, r.decision_label), r.reason, text]
        if wide:
            row[-2:-2] = [r.source, f"{r.score:.3f}"]
        rows.append(row)
    where = "" if several or not names else f" of {names[0]}"
    title = f"review queue{where} ({len(frame)} of {listed.total} {listed.status})"
    print_lines(line_table(title, columns, rows, flexible=("why", "content"), wide=wide))


def _item_texts(ws: Workspace, entries: pd.DataFrame) -> list[str]:
    """The item's text, its file name, or its first values, for each entry."""
    out = [""] * len(entries)
    for name, part in entries.groupby("dataset", sort=False):
        version = ws.dataset(str(name))
        frame = version.to_pandas()
        ids = frame[version.roles.id].astype(str)
        rows = frame.set_axis(ids.to_numpy(), axis=0)
        texts = text_columns(version, frame)
        shown_cols = _content_columns(version, frame, texts)
        for position, (entry, item_id) in zip(
            np.flatnonzero(entries["dataset"].to_numpy() == name),
            zip(part["id"], part["item_id"], strict=True),
            strict=True,
        ):
            row = _entry_row(ws, rows, int(entry), str(item_id))
            out[position] = _render(row, shown_cols)
    return out


def _content_columns(version: Any, frame: pd.DataFrame, texts: list[str]) -> list[str]:
    """The columns an item is shown by: its text, else its file, else its values."""
    if texts:
        return texts
    if version.roles.media:
        return [version.roles.media]
    roles = {version.roles.id, version.roles.label, version.roles.split}
    return [c for c in frame.columns if c not in roles]


def _entry_row(ws: Workspace, rows: pd.DataFrame, entry: int, item_id: str) -> dict[str, Any]:
    """The item's row in the dataset, else the production row or file the entry carries."""
    if item_id in rows.index:
        found = rows.loc[item_id]
        return dict(found.iloc[0] if isinstance(found, pd.DataFrame) else found)
    payload = ws.review.get(entry).get("payload") or {}
    if "row" in payload:
        return dict(payload["row"])
    return {"file": payload["path"]} if "path" in payload else {}


def _render(row: dict[str, Any], columns: list[str]) -> str:
    """``text`` alone, a file's name, else ``name=value`` pairs."""
    values = [(c, row[c]) for c in columns if c in row]
    if not values and "file" in row:
        values = [("file", row["file"])]
    if len(values) == 1 and isinstance(values[0][1], str):
        value = values[0][1]
        return Path(value).name if "/" in value and len(value) < 300 else value
    return " ".join(f"{c}={shown(v)}" for c, v in values)


def _status(status: object, decision: object, label: object) -> str:
    """``open``, or the decision with its label (``relabel 3``)."""
    if decision is None:
        return str(status)
    return str(decision) if label is None else f"{decision!s} {label!s}"


@review_app.command("show")
def review_show(
    entry: int = typer.Argument(..., help="The queue entry number (#)."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Show one entry with the item's data and its decisions (who, when, applied where)."""
    record = entry_details(open_workspace(workspace), entry)
    emit_json(record) if as_json else _print_entry(record)


def _print_entry(record: dict[str, Any]) -> None:
    console = out_console()
    for key in (k for k in ENTRY_COLUMNS if k != "decided_at"):
        _field(key, _brief(record[key]))
    if record["item"]:
        shown = {k: _short(_brief(v)) for k, v in list(record["item"].items())[:20]}
        _field("item", shown)
    console.print(f"{'history':>16}: {len(record['history'])} decision(s), oldest first")
    for fact in record["history"]:
        console.print(" " * 18 + _fact_line(fact), markup=False, highlight=False)


def _field(key: str, value: Any) -> None:
    """``key: value`` wrapped at 80 columns under the value; a word too long for that
    (an item id that is a long file name) goes on a line of its own."""
    text = str(value)
    if max((len(word) for word in text.split()), default=0) > 80 - 18:
        say(f"{key:>16}:")
        say(text)
        return
    say(f"{key:>16}: {text}", indent=" " * 18)


def _short(value: Any, limit: int = 40) -> Any:
    """A long text cut in the middle (``--json`` has it whole)."""
    if isinstance(value, str) and len(value) > limit:
        half = (limit - 3) // 2
        return f"{value[:half]}...{value[-half:]}"
    return value


def _brief(value: Any) -> Any:
    """A list of boxes as a count (``7 boxes: white-pawn 3, ...``; --json has them all)."""
    from assay.tasks.detection import box_count

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, str) and value.startswith("[{"):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list) and value and isinstance(value[0], dict) and "w" in value[0]:
        return box_count(value)
    return value


def _fact_line(fact: dict[str, object]) -> str:
    """One decision of an entry's history, in a line."""
    what = str(fact["action"]) if fact["label"] is None else f"{fact['action']} {fact['label']}"
    when = fact["at"].strftime("%Y-%m-%d %H:%M:%S") if hasattr(fact["at"], "strftime") else ""
    where = f"applied to {fact['applied_to']}" if fact["applied_to"] else "not applied"
    if fact["action"] == "undo":
        where = ""
    parts = [f"#{fact['id']}", when, str(fact["actor"]), what, where]
    if fact["in_force"]:
        parts.append("(in force)")
    if fact["note"]:
        parts.append(f"note: {fact['note']}")
    return "  ".join(p for p in parts if p)


@review_app.command("decide")
def review_decide(
    entry: int = typer.Argument(None, help="The queue entry number (#)."),
    relabel: str = typer.Option(
        None,
        "--relabel",
        help="Give the item this label (a number; a set as 'a,b' or a JSON list).",
    ),
    accept: bool = typer.Option(
        False, "--accept", help="Relabel the item to the entry's suggested label."
    ),
    add_tag: list[str] = typer.Option(
        None,
        "--add-tag",
        help="Label sets: add this label to the given set (repeat, or 'a,b').",
        show_default=False,
    ),
    remove_tag: list[str] = typer.Option(
        None,
        "--remove-tag",
        help="Label sets: remove this label from the given set (repeat, or 'a,b').",
        show_default=False,
    ),
    remove: bool = typer.Option(False, "--remove", help="Remove the item from the dataset."),
    keep: bool = typer.Option(False, "--keep", help="Keep the item as it is."),
    note: str = typer.Option(None, "--note", help="Why."),
    csv: Path = typer.Option(
        None, "--csv", help="Bulk decisions: a CSV with id, decision, label, note."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Decide one entry (--relabel L | --accept | --add-tag/--remove-tag | --remove |
    --keep), or many from --csv."""
    ws = open_workspace(workspace)
    if csv is not None:
        count = decide_from_csv(ws, csv)
        emit_json({"decided": count}) if as_json else out_console().print(
            f"Recorded {count} decisions."
        )
        return
    adds, removes = _names(add_tag), _names(remove_tag)
    relabels = relabel is not None or accept or bool(adds) or bool(removes)
    chosen = [
        name for name, on in (("relabel", relabels), ("remove", remove), ("keep", keep)) if on
    ]
    if entry is None or len(chosen) != 1:
        raise InputError(
            "give an entry number and exactly one of --relabel LABEL (or --accept, "
            "--add-tag/--remove-tag), --remove, --keep (or --csv FILE)."
        )
    label = None
    if chosen[0] == "relabel":
        with cli_flags(phrases=_RELABEL_PHRASES):
            label = relabel_value(ws, entry, label=relabel, accept=accept, add=adds, remove=removes)
    record = decide_entry(ws, entry, chosen[0], label=label, note=note)
    if as_json:
        emit_json(record)
        return
    what = f"relabel to {record['decision_label']}" if chosen[0] == "relabel" else chosen[0]
    out_console().print(
        f"#{entry} ({record['dataset']} item {record['item_id']}): {what}, by {record['decided_by']}."
    )


#: The workflow's words for the ways of giving a new label, as flags.
_RELABEL_PHRASES = {
    "label=, accept=True (the suggested label), or add=/remove= (labels to add to and "
    "remove from a set)": "--relabel LABEL, --accept (the suggested label), or "
    "--add-tag/--remove-tag (labels to add to and remove from a set)",
    "has no suggested label; give the new label.": "has no suggested label; give --relabel LABEL.",
}


def _names(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated label names, in order, without blanks."""
    return [n.strip() for v in values or () for n in v.split(",") if n.strip()]


@review_app.command("undo")
def review_undo(
    entry: int = typer.Argument(..., help="The queue entry number (#)."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Reopen a decided entry that is not applied yet."""
    record = open_workspace(workspace).review.undo(entry)
    emit_json(record) if as_json else out_console().print(f"#{entry} is open again.")


@review_app.command("apply")
def review_apply(
    name: str = typer.Argument(..., help="The dataset."),
    message: str = typer.Option(
        None, "--message", "-m", help="The version message (default: counts and reasons)."
    ),
    production: bool = typer.Option(
        False,
        "--production",
        help="Add the kept and relabeled production items (monitor samples, clips) "
        "as new rows, instead of applying the decisions on the dataset's items.",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Turn the decided entries into a new dataset version."""
    ws = open_workspace(workspace)
    version = apply_decisions(ws, name, message=message, production=production)
    aside = {} if production else ws.review.production_waiting(name)
    if as_json:
        emit_json({**version.to_dict(), "production_left_aside": aside})
        return
    say(f"{version.ref}: {version.message}", indent="  ")
    if aside:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(aside.items()))
        say(
            f"Left aside {sum(aside.values())} decision(s) on production items ({counts}): "
            f"add them with `assay review apply {name} --production`."
        )


def register(app: typer.Typer) -> None:
    """Add ``assay review``."""
    app.add_typer(review_app, name="review")
