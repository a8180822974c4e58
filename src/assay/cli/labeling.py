"""``assay label``: plan labeling, label from scripts, watch agreement, adjudicate, apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    cli_flags,
    cut,
    emit_json,
    open_workspace,
    out_console,
    say,
    say_lines,
    table,
)
from assay.exceptions import InputError

__all__ = ["register"]

label_app = typer.Typer(
    help="Label unlabeled items: a plan with a double-labeled sample, labels, agreement, "
    "adjudication, a version."
)

#: The library's words for parameters, as the CLI names them.
_FLAGS = {
    "labelers": "--labelers",
    "per_item": "--per-item",
    "overlap": "--overlap",
    "items": "--items",
    "sample": "--sample",
    "method": "--method",
}
_PHRASES = {
    "per_item=": "--per-item ",
    "overlap=": "--overlap ",
    "skip=True": "--skip",
    "labelers=['ann', 'ben']": "--labelers ann,ben",
    "(expected_revision)": "(--revision N)",
    "expected_revision=": "--revision ",
    "submit it without a revision": "submit it without --revision",
    "give items=": "give --items",
    "(plan_labeling)": "",
    "next_item gives": "`assay label next` gives",
    "expected revision": "--revision",
    "lower per_item": "lower --per-item",
    "per_item >= 2": "--per-item >= 2",
    "overlap must be": "--overlap must be",
    "per_item must be": "--per-item must be",
    "method must be": "--method must be",
    "(or give items=)": "(or give --items)",
}
_BAR = 24


def _actor() -> str:
    from assay.store.workspace import current_user

    return current_user()


def _column(path: Path, names: tuple[str, ...], what: str) -> Any:
    """The first of ``names`` found in the table at ``path``, as a pandas Series."""
    from assay.store.readers import read_source

    if not path.exists():
        raise InputError(f"{path} does not exist; give the {what} file.")
    frame = read_source(path)[0].to_pandas()
    for name in names:
        if name in frame.columns:
            return frame[name], frame
    raise InputError(
        f"{path} has no column {names[0]!r} ({what}); its columns are: "
        f"{', '.join(map(str, frame.columns))}."
    )


def _prefill(path: Path) -> dict[str, Any]:
    items, frame = _column(path, ("item", "item_id", "id"), "the suggestions: item, label")
    for name in ("label", "suggested_label", "prediction"):
        if name in frame.columns:
            labels = frame[name]
            return {
                str(i): v for i, v in zip(items, labels, strict=True) if v is not None and v == v
            }
    raise InputError(
        f"{path} has no column 'label' (the suggested label per item; also read: "
        "suggested_label, prediction); its columns are: " + ", ".join(frame.columns) + "."
    )


@label_app.command("plan")
def plan_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    labelers: str = typer.Option(..., "--labelers", help="Comma-separated labeler names."),
    per_item: int = typer.Option(2, "--per-item", help="Labelers per item of the sample."),
    overlap: float = typer.Option(
        0.2, "--overlap", help="Share of the items labeled by --per-item labelers."
    ),
    sample: Path = typer.Option(
        None, "--sample", help="The agreement sample: a CSV from `assay plan-sample` (item)."
    ),
    items: Path = typer.Option(
        None, "--items", help="A CSV of the items to label (item); default the unlabeled."
    ),
    prefill: Path = typer.Option(
        None, "--prefill", help="Model suggestions (CSV: item, label) shown outside the sample."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of the sample and the queues."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Plan who labels which items: a double-labeled sample, one label for the rest."""
    from assay.workflows.labeling import plan_labeling

    ws = open_workspace(workspace)
    with cli_flags(phrases=_PHRASES, **_FLAGS):
        plan = plan_labeling(
            ws,
            name,
            labelers=[n for n in labelers.split(",") if n.strip()] or [labelers],
            per_item=per_item,
            overlap=overlap,
            seed=seed,
            actor=_actor(),
            items=None if items is None else list(_column(items, ("item",), "items")[0]),
            sample=None if sample is None else list(_column(sample, ("item",), "sample")[0]),
            prefill=None if prefill is None else _prefill(prefill),
        )
    if as_json:
        emit_json(plan.to_dict())
        return
    say(
        f"{name} labeling plan #{plan.number}: {plan.items} items, {plan.sample} in the "
        f"agreement sample ({plan.per_item} labels each){', prefilled' if plan.prefill else ''}."
    )
    for who, n in plan.assignments.items():
        print(f"  {who}: {n} items")
    print(f"Next: assay label status {name}; label in `assay ui`, or `assay label submit`.")


def _bar(done: int, total: int) -> str:
    filled = 0 if total == 0 else round(_BAR * done / total)
    return "#" * filled + "." * (_BAR - filled)


@label_app.command("status")
def status_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Progress per labeler and per class, and of the agreement sample."""
    from assay.workflows.labeling import labeling_status

    status = labeling_status(open_workspace(workspace), name)
    if as_json:
        emit_json(status.to_dict())
        return
    title = (
        f"{name} labeling plan #{status.number}: {status.labeled_items}/{status.items} items "
        "labeled"
    )
    rows = [
        [p.labeler, _bar(p.done + p.skipped, p.assigned), f"{p.done + p.skipped}/{p.assigned}",
         p.skipped, p.unsure]
        for p in status.labelers
    ]
    header = ["labeler", "progress", "done", "skipped", "unsure"]
    out_console().print(table(title, header, rows, wide=wide))
    lines = [
        f"agreement sample: {status.sample_complete}/{status.sample_items} items with all "
        f"{status.per_item} labels; {status.disagreed} disagreed, {status.adjudicated} "
        "adjudicated"
    ]
    if status.classes:
        shown = ", ".join(f"{k} {v}" for k, v in list(status.classes.items())[:12])
        lines.append(f"labels per class: {shown}")
    say_lines("\n".join(lines), wide=wide)


@label_app.command("next")
def next_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    labeler: str = typer.Option(..., "--labeler", help="Whose queue."),
    wide: bool = typer.Option(False, "--wide", help="Every field of the item whole."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The next item of a labeler's queue (blind: no other label is shown)."""
    from assay.workflows.labeling import next_item

    ws = open_workspace(workspace)
    task = next_item(ws, name, labeler)
    if as_json:
        emit_json(None if task is None else task.to_dict())
    elif task is None:
        print(f"{labeler}'s queue for {name} is done.")
    else:
        print(cut(f"item {task.item_id} ({task.remaining} of {task.total} left)"))
        for line in _item_lines(ws, name, task.item_id, wide):
            print(line)
        if task.prefill is not None:
            print(cut(f"  suggestion: {task.prefill}"))
        command = f"assay label submit {name} LABEL --labeler {labeler} --item {task.item_id}"
        if len(command) > 70:  # a long id: name it above, not cut here
            command = f"assay label submit {name} LABEL --labeler {labeler} --item ID"
        print(cut(f"Label it: {command}"))


def _fit_path(prefix: str, path: str, width: int = 80) -> str:
    """``prefix`` and ``path`` in ``width`` columns: the path relative to the working
    folder when that is shorter, else its end (the file name stays whole)."""
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        relative = path
    shown = min(path, relative, key=len)
    room = width - len(prefix)
    if len(shown) > room:
        shown = "..." + shown[-(room - 3) :]
    return prefix + shown


#: Fields of an item shown by `assay label next` (the rest: --json of `assay show`).
_MAX_FIELDS = 8


def _item_lines(ws: Any, name: str, item_id: str, wide: bool = False) -> list[str]:
    """What a labeler sees of an item, blind (never its label), one line per field
    cut to 80 columns: its file (full path) for media, else its text and values."""
    version = ws.dataset(name)
    roles = version.roles
    frame = version.to_pandas()
    rows = frame[frame[roles.id].astype(str) == item_id]
    if rows.empty:
        return []
    row = rows.iloc[0]
    lines = []
    if roles.media and isinstance(row.get(roles.media), str):
        media = Path(str(row[roles.media]))
        root = version.media_root
        where = str(media if media.is_absolute() or not root else Path(root) / media)
        lines.append(_fit_path("  file: ", where))
    hidden = {roles.id, roles.label, roles.media}
    shown = [c for c in frame.columns if c not in hidden and not str(c).startswith("pixel_")]
    for column in shown[:_MAX_FIELDS]:
        field = f"  {column}: {row[column]}"
        lines.append(field if wide else cut(field))
    if len(shown) > _MAX_FIELDS:
        lines.append(f"  ... {len(shown) - _MAX_FIELDS} more fields (assay show {name})")
    return lines


@label_app.command("submit")
def submit_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    label: str = typer.Argument(None, help="The label (leave out with --skip or --file)."),
    labeler: str = typer.Option(
        None, "--labeler", help="Who labels (with --file: for rows without a labeler)."
    ),
    item: str = typer.Option(None, "--item", help="The item id."),
    file: Path = typer.Option(
        None, "--file", help="A CSV of labels (item,label[,labeler]): stored all or nothing."
    ),
    unsure: bool = typer.Option(False, "--unsure", help="The labeler is not sure."),
    skip: bool = typer.Option(False, "--skip", help="Skip the item (no label)."),
    note: str = typer.Option(None, "--note", help="Why (with --unsure or --skip)."),
    revision: int = typer.Option(
        None,
        "--revision",
        help="Change a label already given: its revision (shown when it was stored).",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Store one label of a labeler's queue, or a CSV of labels (--file)."""
    from assay.workflows.labeling import submit_label

    if file is not None:
        _submit_file(name, file, labeler, workspace, as_json, bool(item or label or skip))
        return
    if labeler is None or item is None:
        missing = " and ".join(f for f, v in (("--labeler", labeler), ("--item", item)) if not v)
        raise InputError(
            f"give {missing}: assay label submit {name} LABEL --labeler WHO --item ID "
            "(or --file labels.csv with columns item,label[,labeler])."
        )
    with cli_flags(phrases=_PHRASES, **_FLAGS):
        saved = submit_label(
            open_workspace(workspace),
            name,
            labeler,
            item,
            label,
            unsure=unsure,
            skip=skip,
            note=note,
            expected_revision=revision,
        )
    if as_json:
        emit_json(saved.to_dict())
        return
    what = "skipped" if saved.skipped else f"labeled {saved.label!r}"
    print(cut(f"{labeler} {what} item {saved.item_id} (revision {saved.revision})."))


def _label_rows(path: Path, labeler: str | None) -> list[dict[str, Any]]:
    """The rows of a labels file (item,label[,labeler]) as dicts; ``labeler`` fills
    a missing labeler column or empty cells."""
    from assay.store.readers import read_source

    frame = read_source(path)[0].to_pandas()
    needed = ["item", "label"] + ([] if labeler else ["labeler"])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        hint = "" if labeler or "labeler" not in missing else " (or give --labeler WHO)"
        raise InputError(
            f"{path}: no column {', '.join(map(repr, missing))}{hint}; its columns are "
            f"{', '.join(map(str, frame.columns))}; expected item,label[,labeler]."
        )
    if "labeler" not in frame.columns:
        frame["labeler"] = labeler
    elif labeler:
        frame["labeler"] = frame["labeler"].where(frame["labeler"].notna(), labeler)
    rows = frame[["item", "labeler", "label"]].astype(object).to_dict("records")
    if not rows:
        raise InputError(f"{path} has no rows; give one label per row (item,label[,labeler]).")
    return rows


def _submit_file(
    name: str, path: Path, labeler: str | None, workspace: Path, as_json: bool, extra: bool
) -> None:
    """``assay label submit NAME --file labels.csv``: every row or none."""
    from assay.store.labeling import RowError
    from assay.workflows.labeling import submit_labels

    if extra:
        raise InputError(f"give either --file {path} or one label (LABEL --item ID), not both.")
    if not path.is_file():
        raise InputError(f"{path} does not exist; give a CSV of labels (item,label[,labeler]).")
    rows = _label_rows(path, labeler)
    with cli_flags(phrases=_PHRASES, **_FLAGS):
        try:
            saved = submit_labels(open_workspace(workspace), name, rows)
        except RowError as exc:
            line = exc.row + 1  # the header is line 1
            raise InputError(
                f"{path}: row {exc.row} (line {line}), column {exc.column!r}: {exc.reason} "
                "Nothing was stored."
            ) from exc
    if as_json:
        emit_json([s.to_dict() for s in saved])
        return
    per: dict[str, int] = {}
    for s in saved:
        per[s.labeler] = per.get(s.labeler, 0) + 1
    who = ", ".join(f"{k} {v}" for k, v in per.items())
    print(cut(f"{len(saved)} labels stored from {path.name} ({who})."))
    print(f"Next: assay label status {name}")


@label_app.command("agreement")
def agreement_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Agreement of the labels so far (per class, per labeler pair, per label-book
    version) and the disagreed items."""
    from assay.workflows.labeling import live_agreement

    live = live_agreement(open_workspace(workspace), name)
    if as_json:
        emit_json(live.to_dict())
        return
    if live.report is None:
        print(f"{name}: no item has labels from two labelers yet.")
        return
    report = live.report
    say_lines(
        f"{name}: {live.n_labels} labels of {live.n_items} items by "
        f"{report.n_annotators} labelers, {len(report.classes)} classes",
        wide=wide,
    )
    say_lines("\n".join([*report.summary().splitlines()[1:], *_rounds(live)]), wide=wide)
    found: list[dict[str, Any]] = live.disagreed.head(20).to_dict("records")  # type: ignore[assignment]
    rows = [
        [r["item"], ", ".join(f"{k}: {v}" for k, v in r["labels"].items()), r["adjudicated"]]
        for r in found
    ]
    if rows:
        out_console().print(
            table(
                f"disagreed items ({len(live.disagreed)})",
                ["item", "labels", "adjudicated"],
                rows,
                wide=wide,
                flexible=("labels",),
            )
        )
        print(f"Next: assay label adjudicate {name} --item ID LABEL")


def _rounds(live: Any) -> list[str]:
    """One line per label-book version the labels followed (a round of revising):
    items, Krippendorff's alpha with its interval, the least consistent class."""
    if live.by_labelbook is None:
        return []
    lines = ["per label-book round:"]
    for version, report in live.by_labelbook.reports.items():
        low, high = report.ci.get("krippendorff_alpha", (float("nan"), float("nan")))
        interval = "" if low != low else f" [{low:.3f}, {high:.3f}]"
        worst = report.per_class["agreement"].dropna()
        weakest = f"; weakest {worst.idxmin()} {worst.min():.2f}" if len(worst) else ""
        lines.append(
            f"  v{version}: {report.n_items} items, alpha "
            f"{report.krippendorff_alpha:.3f}{interval}{weakest}"
        )
    return lines


@label_app.command("adjudicate")
def adjudicate_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    label: str = typer.Argument(..., help="The decided label."),
    item: str = typer.Option(..., "--item", help="The item id."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Decide the label of a disagreed item."""
    from assay.workflows.labeling import adjudicate

    decided = adjudicate(open_workspace(workspace), name, item, label, actor=_actor())
    if as_json:
        emit_json(decided.to_dict())
        return
    print(f"item {decided.item_id}: {decided.label!r} (decided by {decided.actor}).")


@label_app.command("apply")
def apply_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    message: str = typer.Option(..., "--message", "-m", help="The version's message."),
    method: str = typer.Option(
        "majority", "--method", help="For disagreed items not adjudicated: majority or dawid-skene."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Write the labels as a new version (provenance per item in label_provenance)."""
    from assay.workflows.labeling import apply_labels

    with cli_flags(phrases=_PHRASES, **_FLAGS):
        applied = apply_labels(
            open_workspace(workspace), name, actor=_actor(), message=message, method=method
        )
    if as_json:
        emit_json(applied.to_dict())
        return
    how = ", ".join(f"{k} {v}" for k, v in applied.methods.items())
    print(f"{applied.version}: {applied.labeled} items labeled ({how}).")
    if applied.unresolved:
        shown = ", ".join(applied.unresolved[:10])
        say(
            f"{len(applied.unresolved)} disagreed item(s) kept their label (no majority): "
            f"{shown}; adjudicate them, or apply with --method dawid-skene."
        )


def register(app: typer.Typer) -> None:
    """Add ``assay label``."""
    app.add_typer(label_app, name="label")
