"""Commands on datasets and versions: init, import, log, show, diff, export, gc."""

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
    print_lines,
    progress,
    say,
    say_lines,
    table,
)
from assay.cli._drop import drop
from assay.store.box_formats.dataset import box_import_source, export_boxes
from assay.store.datasets import DatasetVersion
from assay.store.diff import describe_columns
from assay.store.transcript_import import transcript_import_source
from assay.store.workspace import Workspace

__all__ = ["register"]


def init(
    path: Path = typer.Argument(Path("."), help="The folder for the workspace."),
    db: str = typer.Option(None, "--db", help="A PostgreSQL URL (default: embedded SQLite)."),
    objects: str = typer.Option(
        None,
        "--objects",
        help="Row data on object storage: s3://bucket/prefix, gs://, az://, file:// "
        "(credentials from the backend's environment; default: PATH/.assay/objects).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a workspace (metadata in SQL, row data as Parquet objects)."""
    ws = Workspace.init(path, db=db, objects=objects)
    if as_json:
        emit_json(
            {
                "workspace": ws.location,
                "database": ws.location if db else "sqlite",
                "objects": objects or str(ws.objects.root),
            }
        )
        return
    out_console().print(
        f"Workspace ready at {ws.location}. Next: assay import NAME FILE --label COL"
    )


def import_(
    name: str = typer.Argument(..., help="The dataset name."),
    source: Path = typer.Argument(
        None,
        help="CSV, Parquet, JSONL file, a folder of Parquet files (read in parts, for data "
        "larger than memory), or a folder root/<class>/<file>.",
        show_default=False,
    ),
    label: str = typer.Option(
        None,
        "--label",
        help="The label column (default: label; a new version keeps the dataset's); "
        "A,B,C names 0/1 columns of a multi-label set.",
        show_default=False,
    ),
    task: str = typer.Option(
        None,
        "--task",
        help="The kind of label: classification, regression, multilabel, detection or "
        "transcript (default: "
        "detected at the first import: float labels are regression, lists multilabel).",
        show_default=False,
    ),
    label_sep: str = typer.Option(
        None,
        "--label-sep",
        help="Split a text label column on this separator into label sets (e.g. '|').",
        show_default=False,
    ),
    id: str = typer.Option(
        None, "--id", help="A column of unique item ids (default: row numbers)."
    ),
    tags: str = typer.Option(None, "--tags", help="Comma-separated metadata columns for slicing."),
    split: str = typer.Option(None, "--split", help="A column naming each row's split."),
    message: str = typer.Option(None, "--message", "-m", help="The version message."),
    boxes: Path = typer.Option(
        None, "--boxes", help="Box annotations (a file or folder) to import as a detection "
        "dataset of images, instead of SOURCE.", show_default=False,
    ),
    box_format: str = typer.Option(
        None, "--format", help="The format of --boxes: coco, yolo, voc or label-studio.",
        show_default=False,
    ),
    images: Path = typer.Option(
        None, "--images", help="The folder of the images of --boxes (default: beside them).",
        show_default=False,
    ),
    drop_empty_boxes: bool = typer.Option(
        False, "--drop-empty-boxes", help="Leave zero-area boxes out (else they are refused)."
    ),
    transcripts: Path = typer.Option(
        None, "--transcripts", help="Transcripts of the audio clips in SOURCE (a folder): a "
        "CSV file,transcript or LibriSpeech *.trans.txt files (task transcript).",
        show_default=False,
    ),
    skip_absent_clips: bool = typer.Option(
        False, "--skip-absent-clips", help="Leave out transcripts of clips not in SOURCE "
        "(else they are refused).",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a file or folder as a new version of dataset NAME.

    The column roles (--label, --id, --tags, --split) and the kind of label (--task)
    are set by the dataset's first import; a new version keeps them, so they may be
    left out. --boxes FILE_OR_DIR --format F imports box annotations: one item per
    image, its label the list of its boxes (task detection). SOURCE_DIR --transcripts
    FILE imports audio clips with their transcripts (task transcript). A folder of
    Parquet files (or one larger than ASSAY_PART_ROWS rows) is read and stored in parts,
    so its size is not bounded by memory.
    """
    ws = open_workspace(workspace)
    tag_list = [t.strip() for t in tags.split(",") if t.strip()] if tags else None
    labels = _label_option(label)
    box_source = box_import_source(source, boxes, box_format, images, drop_empty_boxes, task)
    if box_source is not None:
        source, task = box_source, "detection"  # type: ignore[assignment]
    clips = transcript_import_source(source, transcripts, task, label, skip_absent_clips)
    if clips is not None:
        source, task, labels = clips, "transcript", "transcript"  # type: ignore[assignment]
    with progress(f"Importing {source}"):
        version = ws.import_dataset(
            name,
            source,
            label=labels,
            id=id,
            tags=tag_list,
            split=split,
            message=message,
            task=task,
            label_sep=label_sep,
        )
    if as_json:
        extra = {"dropped_boxes": len(box_source.dropped)} if box_source is not None else {}
        emit_json({**version.to_dict(), **extra})
        return
    out_console().print(_import_summary(version))
    _awaiting_note(version)
    if box_source is not None and len(box_source.dropped):
        out_console().print(box_source.dropped_note())


def _awaiting_note(version: DatasetVersion) -> None:
    """Say how many items await labels, and how to label them."""
    from assay.store.labeling import missing_labels

    if version.task.kind not in ("classification", "regression"):
        return
    labels = version.to_pandas([version.roles.label])[version.roles.label]
    waiting = int(missing_labels(labels).sum())
    if waiting:
        out_console().print(
            f"{waiting} of {version.n_rows} items await a label; plan the labeling with "
            f"`assay label plan {version.name} --labelers ann,ben`.",
            markup=False,
        )


def _label_option(label: str | None) -> str | list[str] | None:
    """``--label y`` is one column; ``--label A,B,C`` several 0/1 columns."""
    if label is None or "," not in label:
        return label
    return [part.strip() for part in label.split(",") if part.strip()]


def _kind(version: DatasetVersion) -> str:
    """``regression labels in 'quality'`` / ``multilabel labels in 'labels' (a, b, c)``."""
    text = f"{version.task.kind} labels in {version.roles.label!r}"
    names = version.label_names
    if names:
        shown = ", ".join(names[:10]) + (f" ... ({len(names)} in all)" if len(names) > 10 else "")
        text += f" ({shown})"
    return text


def _import_summary(version: DatasetVersion) -> str:
    """``NAME@vN: 40 rows (...)``, with column changes and how the file was read."""
    s = version.summary
    text = (
        f"{version.ref}: {version.n_rows} rows ({s.get('added', 0)} added, "
        f"{s.get('removed', 0)} removed, {s.get('relabeled', 0)} relabeled"
    )
    if version.parent_number is not None:
        text += f", {s.get('changed', 0)} with changed features"
    text += f"). {_kind(version)[0].upper()}{_kind(version)[1:]}."
    for kind in ("added", "removed"):
        names = s.get(f"columns_{kind}") or []
        if names:
            text += f" {'Column' if len(names) == 1 else 'Columns'} {kind}: {', '.join(names)}."
    separator = version.provenance.get("separator")
    if separator:
        shown = "tab" if separator == "\t" else repr(separator)
        decimal = " and ',' as decimal mark" if version.provenance.get("decimal") else ""
        text += f" The file was read with {shown} as separator{decimal}."
    return text


def log(
    name: str = typer.Argument(..., help="The dataset name."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """List the versions of a dataset, newest first."""
    versions = open_workspace(workspace).log(name)
    if as_json:
        emit_json([v.to_dict() for v in versions])
        return
    rows = [
        [
            v.ref,
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            v.author,
            v.n_rows,
            _counts(v.summary),
            v.message,
        ]
        for v in versions
    ]
    title = f"{name} ({versions[0].task.kind})" if versions else name
    out_console().print(
        table(
            title,
            ["version", "time", "author", "rows", "change", "message"],
            rows,
            wide=wide,
            flexible=("message",),
        )
    )


def _counts(summary: dict) -> str:
    text = " ".join(
        f"{sign}{summary.get(key, 0)}"
        for sign, key in (("+", "added"), ("-", "removed"), ("~", "relabeled"), ("*", "changed"))
    )
    columns = describe_columns(
        summary.get("columns_added") or [], summary.get("columns_removed") or []
    )
    return f"{text}; {columns}" if columns else text


def show(
    ref: str = typer.Argument(..., help="NAME or NAME@vN."),
    rows: int = typer.Option(5, "--rows", help="How many rows to print."),
    wide: bool = typer.Option(
        False,
        "--wide",
        help="Every column and every cell whole; boxes: every box of the first rows "
        "(default: a count).",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Show a version: metadata, label counts and the first rows."""
    version = open_workspace(workspace).dataset(ref)
    frame = version.to_pandas()
    labels = version.task.describe_labels(frame[version.roles.label])
    if as_json:
        info = version.to_dict()
        info["label_counts"] = labels.rows
        info["head"] = (
            frame.head(rows)
            .astype(object)
            .where(frame.head(rows).notna(), None)
            .to_dict(orient="records")
        )
        emit_json(info)
        return
    console = out_console()
    console.print(
        f"[bold]{version.ref}[/bold]  {version.n_rows} rows  {len(version.columns)} columns"
    )
    say(
        f"message: {version.message}   author: {version.author}   at: {version.created_at:%Y-%m-%d %H:%M}",
        indent="  ",
    )
    say(
        f"label: {version.roles.label}   id: {version.roles.id}   tags: {', '.join(version.roles.tags) or '-'}",
        indent="  ",
    )
    say(f"task: {_kind(version)}", indent="  ")
    console.print(
        table("labels", list(labels.columns), [list(r) for r in labels.rows.items()], wide=wide)
    )
    head = frame.head(rows)
    if version.task.kind == "detection" and version.roles.label and not wide:
        from assay.tasks.detection import box_count

        head = head.assign(**{version.roles.label: head[version.roles.label].map(box_count)})
    ids = [version.roles.id] if version.roles.id in head.columns else []
    shown = ids + [c for c in head.columns if c not in ids]
    shown = shown if wide else shown[:12]
    rows_ = head[shown].astype(str).values.tolist()
    console.print(table("first rows", shown, rows_, wide=wide))


def diff(
    a: str = typer.Argument(..., help="The older version, NAME@vA."),
    b: str = typer.Argument(..., help="The newer version, NAME@vB."),
    limit: int = typer.Option(20, "--limit", help="How many items of each kind to list."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Item-level differences: added, removed, relabeled (old -> new), changed features."""
    delta = open_workspace(workspace).diff(a, b)
    if as_json:
        emit_json(delta.to_dict(limit=None))
        return
    console = out_console()
    say_lines(delta.summary(), wide=wide)
    if len(delta.relabeled):
        head = delta.relabeled.head(limit)
        changes = delta.label_changes(limit)
        console.print(
            table(
                "relabeled",
                ["item", "change"],
                [[item, change] for item, change in zip(head["item_id"], changes, strict=True)],
                wide=wide,
                flexible=("change",),
            )
        )
    if len(delta.changed):
        head = delta.changed.head(limit)
        console.print(
            table(
                "changed",
                ["item", "columns"],
                [[i, ", ".join(c)] for i, c in head.values],
                wide=wide,
                flexible=("columns",),
            )
        )
    for kind, frame in (("added", delta.added), ("removed", delta.removed)):
        if len(frame):
            items = ", ".join(map(str, frame["item_id"].head(limit)))
            more = " ..." if len(frame) > limit else ""
            print_lines(f"{kind}: {items}{more}") if wide else say(f"{kind}: {items}{more}")


def export(
    ref: str = typer.Argument(..., help="NAME or NAME@vN."),
    file: Path = typer.Argument(
        ..., help="The output file: .csv, .parquet or .jsonl (--format coco: a .json file; "
        "yolo: a folder)."
    ),
    box_format: str = typer.Option(
        None, "--format", help="Write a detection dataset's boxes as coco or yolo.",
        show_default=False,
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a version to a file (atomically)."""
    ws = open_workspace(workspace)
    version = ws.dataset(ref)
    if box_format is not None:
        written, n_images, n_boxes = export_boxes(version, file, box_format)
        if as_json:
            emit_json({"ref": version.ref, "file": str(written), "rows": n_images, "boxes": n_boxes})
            return
        out_console().print(f"Wrote {version.ref} ({n_images} images, {n_boxes} boxes) as "
                            f"{box_format} to {written}.")
        return
    path = ws.export(version.ref, file)
    if as_json:
        emit_json({"ref": version.ref, "file": str(path), "rows": version.n_rows})
        return
    out_console().print(f"Wrote {version.ref} ({version.n_rows} rows) to {path}.")


def gc(
    grace: float = typer.Option(
        3600.0,
        "--grace",
        min=0,
        help="Keep unreferenced objects younger than this many seconds (objects being "
        "written are always kept).",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete row-data objects that no version refers to (left by interrupted writes)."""
    removed = open_workspace(workspace).gc(grace_s=grace)
    if as_json:
        emit_json({"removed": removed})
        return
    out_console().print(f"Removed {len(removed)} unreferenced object(s).")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(init)
    app.command("import")(import_)
    app.command()(log)
    app.command()(show)
    app.command()(diff)
    app.command()(export)
    app.command()(gc)
    app.command()(drop)
