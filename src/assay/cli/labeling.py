"""``assay label``: plan labeling, label from scripts, watch agreement, adjudicate, apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from assay.cli._common import (
    JsonOption,
    WorkspaceOption,
    cli_flags,
    emit_json,
    open_workspace,
    out_console,
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
    print(
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
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Progress per labeler and per class, and of the agreement sample."""
    from assay.workflows.labeling import labeling_status

    status = labeling_status(open_workspace(workspace), name)
    if as_json:
        emit_json(status.to_dict())
        return
    print(
        f"{name} labeling plan #{status.number}: {status.labeled_items}/{status.items} items "
        "labeled"
    )
    for p in status.labelers:
        finished = p.done + p.skipped
        print(
            f"  {p.labeler[:12]:<12} {_bar(finished, p.assigned)} {finished:>6}/{p.assigned:<6}"
            f" {p.skipped} skip {p.unsure} unsure"
        )
    print(
        f"agreement sample: {status.sample_complete}/{status.sample_items} items with all "
        f"{status.per_item} labels; {status.disagreed} disagreed, {status.adjudicated} "
        "adjudicated"
    )
    if status.classes:
        shown = ", ".join(f"{k} {v}" for k, v in list(status.classes.items())[:12])
        print(f"labels per class: {shown}")


@label_app.command("next")
def next_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    labeler: str = typer.Option(..., "--labeler", help="Whose queue."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The next item of a labeler's queue (blind: no other label is shown)."""
    from assay.workflows.labeling import next_item

    task = next_item(open_workspace(workspace), name, labeler)
    if as_json:
        emit_json(None if task is None else task.to_dict())
    elif task is None:
        print(f"{labeler}'s queue for {name} is done.")
    else:
        hint = f"  suggestion: {task.prefill}" if task.prefill is not None else ""
        print(f"item {task.item_id} ({task.remaining} of {task.total} left){hint}")


@label_app.command("submit")
def submit_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    label: str = typer.Argument(None, help="The label (leave out with --skip)."),
    labeler: str = typer.Option(..., "--labeler", help="Who labels."),
    item: str = typer.Option(..., "--item", help="The item id."),
    unsure: bool = typer.Option(False, "--unsure", help="The labeler is not sure."),
    skip: bool = typer.Option(False, "--skip", help="Skip the item (no label)."),
    note: str = typer.Option(None, "--note", help="Why (with --unsure or --skip)."),
    revision: int = typer.Option(
        None, "--revision", help="Change a label already given: the revision it is at."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Store one label of a labeler's queue (scripts and tests label without a browser)."""
    from assay.workflows.labeling import submit_label

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
    print(f"{labeler} {what} item {saved.item_id} (revision {saved.revision}).")


@label_app.command("agreement")
def agreement_cmd(
    name: str = typer.Argument(..., help="The dataset."),
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
    print(live.report.summary())
    if live.by_labelbook is not None and len(live.by_labelbook.reports) > 1:
        for version, alpha in zip(live.by_labelbook.reports, live.by_labelbook.alphas, strict=True):
            print(f"  label book v{version}: alpha {alpha:.3f}")
    found: list[dict[str, Any]] = live.disagreed.head(20).to_dict("records")  # type: ignore[assignment]
    rows = [
        [r["item"], ", ".join(f"{k}: {v}" for k, v in r["labels"].items()), r["adjudicated"]]
        for r in found
    ]
    if rows:
        out_console().print(
            table(
                f"disagreed items ({len(live.disagreed)})", ["item", "labels", "adjudicated"], rows
            )
        )
        print(f"Next: assay label adjudicate {name} --item ID LABEL")


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
        print(
            f"{len(applied.unresolved)} disagreed item(s) kept their label (no majority): "
            f"{shown}; adjudicate them, or apply with --method dawid-skene."
        )


def register(app: typer.Typer) -> None:
    """Add ``assay label``."""
    app.add_typer(label_app, name="label")
