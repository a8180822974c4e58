"""Collect-phase commands: annotations, agreement, consensus, label book, sample plans."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from assay._validation import check_columns
from assay.cli._common import (
    JsonOption,
    WorkspaceOption,
    check_output_file,
    cli_flags,
    cli_message,
    emit_json,
    err_console,
    open_workspace,
    out_console,
    table,
)
from assay.collect import (
    agreement,
    agreement_by,
    classes_to_revise,
    compare_classes,
    consensus,
    convention_report,
    plan_sample,
    read_annotations,
    to_label_studio_tasks,
    transcript_agreement,
)
from assay.exceptions import InputError, NotFoundError
from assay.report.pages import write_page
from assay.store.workspace import Workspace

__all__ = ["register"]

annotations_app = typer.Typer(help="Import annotations (several labels per item) for a dataset.")


#: Library wording that a CLI user cannot act on, and what to say instead.
_CLI_WORDING = {
    "pass allow_new=True": "pass --allow-new",
    "pass from_name= to select": "pass --from-name NAME to select",
    "(see assay.plan_sample)": "(see `assay plan-sample`)",
    "level='interval'": "--level interval",
    "(transcript_agreement)": "(assay agree --text)",
    "Use level='nominal', or level='ordinal' with classes= in their order.": (
        "Use --level nominal, or --level ordinal, which orders the classes as the label "
        "book lists them (sorted when there is no label book)."
    ),
}


@contextmanager
def _cli_wording(**flags: str) -> Iterator[None]:
    """:func:`~assay.cli._common.cli_flags` with the phrases of ``_CLI_WORDING``
    (``allow_new=True`` -> ``--allow-new``, ``assay.plan_sample`` -> ``assay
    plan-sample``), for the library's warnings as well as its errors."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with cli_flags(phrases=_CLI_WORDING, **flags):
                yield
    finally:  # outside catch_warnings, so that the translated warnings are shown
        for w in caught:
            text = cli_message(str(w.message), flags, _CLI_WORDING)
            warnings.warn(text, w.category, stacklevel=1)


def _labelbook_classes(ws: Workspace | None, dataset: str | None) -> list[str] | None:
    if ws is None or dataset is None:
        return None
    try:
        return list(ws.labelbook.get(dataset).classes)
    except NotFoundError:
        return None


def _typed(classes: list[str] | None, labels: pd.Series) -> list[Any] | None:
    """Label-book class names are text; match them to the labels' type."""
    if classes is None:
        return None
    if pd.api.types.is_integer_dtype(labels) and all(c.lstrip("-").isdigit() for c in classes):
        return [int(c) for c in classes]
    return classes


def _class_name(label: Any) -> str:
    """A label as the label book names classes: text, ``3`` for 3 and 3.0."""
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return str(int(label))
    return str(label.item() if isinstance(label, np.generic) else label)


def _followed(frame: pd.DataFrame, default: int | None) -> pd.Series:
    """The label-book version each annotation followed (-1: not said, the latest)."""
    stated = (
        pd.to_numeric(frame["labelbook_version"], errors="coerce")
        if "labelbook_version" in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    if default is not None:
        stated = stated.fillna(default)
    return stated.fillna(-1).astype(np.int64)


def _check_labelbook(
    ws: Workspace, dataset: str, frame: pd.DataFrame, default: int | None, where: str,
    hint: str,
) -> None:
    """Refuse labels outside the label-book version each annotation was labelled under.

    A row's ``labelbook_version`` decides, else ``default`` (``--labelbook-version``),
    else the latest version; without a label book nothing is checked.
    """
    for number, rows in frame.groupby(_followed(frame, default), sort=True):
        try:
            book = ws.labelbook.get(dataset, None if number < 0 else int(number))
        except NotFoundError:
            if number < 0:
                return  # no label book at all
            raise
        names = rows["label"].map(_class_name)
        bad = rows[~names.isin(book.classes)]
        if bad.empty:
            continue
        unknown = sorted(set(names[bad.index]))
        followed = "the latest version" if number < 0 else "the version they followed"
        batches = sorted(set(bad["batch"])) if "batch" in bad.columns else []
        which = f" (batch {', '.join(map(str, batches))})" if batches else ""
        raise InputError(
            f"{where}: {len(bad)} annotation(s){which} have labels outside the classes of "
            f"{dataset}'s label book v{book.number} ({followed}): "
            f"{', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}; {hint}"
        )


@annotations_app.command("import")
def annotations_import(
    name: str = typer.Argument(..., help="The dataset whose items were annotated."),
    file: Path = typer.Argument(
        ..., help="CSV / TSV / Parquet (item, annotator, label) or a Label Studio JSON export."
    ),
    labelbook_version: int = typer.Option(
        None, "--labelbook-version", help="The label-book version the annotators followed."
    ),
    allow_new: bool = typer.Option(
        False, "--allow-new", help="Accept labels that the label book does not define."
    ),
    item_key: str = typer.Option(
        None,
        "--item-key",
        help="Where the item ids are: the key of a Label Studio task's data (default: "
        "'item', as `assay plan-sample` writes it, else the task id), or a table's column "
        "(default: item).",
    ),
    from_name: str = typer.Option(
        None, "--from-name",
        help="Label Studio: the name of the Choices control to read when tasks have several.",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Store annotations for the items of dataset NAME.

    Labels are checked against the label-book version the annotators followed
    (--labelbook-version, or a labelbook_version column; else the latest).
    """
    ws = open_workspace(workspace)
    if labelbook_version is not None:
        ws.labelbook.get(name, labelbook_version)  # NotFoundError (exit 2) when it does not exist
    with _cli_wording(item_key="--item-key", from_name="--from-name"):
        frame = read_annotations(file, item_key=item_key, from_name=from_name)
    if not allow_new:
        _check_labelbook(
            ws, name, frame, labelbook_version, file.name,
            "fix the labels; if the annotators followed another label-book version, give it "
            "with --labelbook-version N; or pass --allow-new.",
        )
    where = f"{file} (item ids from {_item_source(file, item_key)})"
    batch = ws.annotations.add(name, frame, labelbook_version=labelbook_version, where=where)
    info = {
        "dataset": name,
        "batch": batch,
        "annotations": len(frame),
        "items": int(frame["item"].nunique()),
        "annotators": int(frame["annotator"].nunique()),
    }
    if as_json:
        emit_json(info)
        return
    out_console().print(
        f"Stored {info['annotations']} annotations of {info['items']} items by "
        f"{info['annotators']} annotators as batch {batch} of {name}."
    )


def _item_source(file: Path, item_key: str | None) -> str:
    if file.suffix.lower() != ".json":
        return f"column {item_key or 'item'!r}"
    if item_key is not None:
        return f"data[{item_key!r}]; check --item-key"
    return "data['item'], else the task ids; pass --item-key KEY for another data key"


def _load_for_agree(
    source: str, workspace: Path | None, allow_new: bool
) -> tuple[pd.DataFrame, Workspace | None, str | None]:
    path = Path(source)
    if path.is_file():
        return read_annotations(path, allow_new=True), None, None
    if path.suffix and not path.exists():
        raise InputError(f"{path} does not exist; give an annotation file or a dataset name.")
    ws = open_workspace(workspace)
    frame = ws.annotations.load(source)
    if frame.empty:
        raise InputError(
            f"dataset {source!r} has no annotations; import some with `assay annotations import {source} FILE`."
        )
    if not allow_new:
        _check_labelbook(
            ws, source, frame, None, f"the annotations of {source}",
            "add the classes to the label book, or pass --allow-new to measure agreement "
            "anyway.",
        )
    return frame, ws, source


def _ordinal_classes(
    frame: pd.DataFrame, ws: Workspace | None, dataset: str | None
) -> list[Any] | None:
    """The label book's class order (the latest version), for --level ordinal."""
    return _typed(_labelbook_classes(ws, dataset), frame["label"])


def agree(
    source: str = typer.Argument(
        ..., help="An annotation file, or a dataset NAME with stored annotations."
    ),
    by_labelbook: bool = typer.Option(
        False, "--by-labelbook", help="Compare agreement across label-book versions."
    ),
    min_alpha: float = typer.Option(
        None, "--min-alpha", help="Exit 1 when Krippendorff's alpha is below this."
    ),
    level: str = typer.Option(
        "nominal", "--level", help="nominal, ordinal or interval (numeric labels)."
    ),
    text: bool = typer.Option(
        False, "--text", help="Free-text labels (transcriptions): edit distance and WER."
    ),
    report: Path = typer.Option(
        Path("agreement.html"), "--report", help="Where to write the HTML report."
    ),
    allow_new: bool = typer.Option(
        False, "--allow-new", help="Accept labels outside the label book."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure labeler consistency and show the classes whose instructions need revision."""
    check_output_file(report, "--report")
    frame, ws, dataset = _load_for_agree(source, workspace, allow_new)
    if text:
        raise typer.Exit(_agree_text(frame, report, as_json))
    if by_labelbook:
        raise typer.Exit(_agree_by_labelbook(frame, as_json))
    order = _ordinal_classes(frame, ws, dataset) if level == "ordinal" else None
    with _cli_wording(level="--level"):
        result = agreement(
            frame.drop(columns=["batch", "time"], errors="ignore"), level=level,
            classes=order, allow_new=True,
        )
    revise = classes_to_revise(result, k=5).rename_axis("class")
    write_page(report, f"Agreement: {source}", result.to_html())
    if ws is not None and dataset is not None:
        ws.record_analysis(
            "agreement",
            {**result.to_dict(), "revise": _records(revise)},
            dataset=dataset,
            params={"level": level},
        )
    failed = min_alpha is not None and not result.krippendorff_alpha >= min_alpha
    if as_json:
        emit_json(
            {
                **result.to_dict(),
                "revise": _records(revise),
                "report": str(report),
                "min_alpha": min_alpha,
                "passed": not failed,
            }
        )
    else:
        _print_agreement(result, revise, report)
        if failed:
            err_console().print(
                f"Krippendorff's alpha {result.krippendorff_alpha:.3f} is below --min-alpha {min_alpha}."
            )
    raise typer.Exit(1 if failed else 0)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.reset_index()
    return json.loads(out.to_json(orient="records", default_handler=str))


def _print_agreement(result: Any, revise: pd.DataFrame, report: Path) -> None:
    console = out_console()
    console.print(result.summary())
    rows = [
        [
            idx,
            int(r.n_labels),
            f"{r.agreement:.3f}",
            r.confused_with,
            f"{r.hlp:.3f}",
            ", ".join(map(str, list(r.examples)[:3])),
        ]
        for idx, r in revise.iterrows()
    ]
    console.print(
        table(
            "classes whose instructions most need revision",
            ["class", "labels", "agreement", "confused with", "HLP", "example items"],
            rows,
        )
    )
    console.print(f"Report: {report}")


def _agree_by_labelbook(frame: pd.DataFrame, as_json: bool) -> int:
    if "labelbook_version" not in frame.columns or frame["labelbook_version"].isna().all():
        raise InputError(
            "no annotation says which label-book version it followed; import with --labelbook-version N."
        )
    rated = frame.dropna(subset=["labelbook_version"]).astype({"labelbook_version": int})
    reports = agreement_by(rated[["item", "annotator", "label", "labelbook_version"]], ci=False)
    per_version = {
        f"v{v}": {"alpha": r.krippendorff_alpha, "per_class": r.per_class["agreement"].to_dict()}
        for v, r in reports.items()
    }
    if as_json:
        emit_json(per_version)
        return 0
    classes = compare_classes({f"v{v}": r for v, r in reports.items()})
    rows = [
        [c, *(_fmt(v) for v in row)]
        for c, row in zip(classes.index, classes.to_numpy(), strict=True)
    ]
    alphas = [float(report.krippendorff_alpha) for report in reports.values()]
    change = [_fmt(alphas[-1] - alphas[0])] if len(classes.columns) > len(alphas) else []
    rows.append(["alpha (all)", *map(_fmt, alphas), *change])
    columns = ["class", *map(str, classes.columns)]
    out_console().print(table("agreement per class by label-book version", columns, rows))
    return 0


def _fmt(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.3f}"


def _agree_text(frame: pd.DataFrame, report: Path, as_json: bool) -> int:
    texts = frame[["item", "annotator", "label"]].astype({"label": str})
    result = transcript_agreement(texts)
    conventions = convention_report(texts)
    write_page(
        report,
        "Transcription agreement",
        f"<pre>{_escape(result.summary())}\n\n{_escape(conventions.summary())}</pre>",
    )
    if as_json:
        emit_json({"agreement": result.to_dict(), "conventions": conventions.to_dict()})
        return 0
    out_console().print(result.summary())
    out_console().print(conventions.summary())
    return 0


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def consensus_cmd(
    name: str = typer.Argument(..., help="The dataset whose stored annotations to combine."),
    method: str = typer.Option("dawid_skene", "--method", help="majority or dawid_skene."),
    commit: bool = typer.Option(
        False, "--commit", help="Write the consensus labels as a new dataset version."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Combine several labels per item into one consensus label with a quality score."""
    ws = open_workspace(workspace)
    frame = ws.annotations.load(name)
    if frame.empty:
        raise InputError(
            f"dataset {name!r} has no annotations; import some with `assay annotations import`."
        )
    with cli_flags(phrases=_CLI_WORDING, method="--method"):
        result = consensus(frame[["item", "annotator", "label"]], method=method)
    version = _commit_consensus(ws, name, result.labels, method) if commit else None
    if as_json:
        emit_json(
            {
                "method": method,
                "labels": _records(result.labels.head(1000)),
                "annotators": _records(result.annotators),
                "version": version,
            }
        )
        return
    console = out_console()
    labels = result.labels
    console.print(
        f"{len(labels)} items; mean quality {labels['quality'].mean():.3f}; "
        f"{int((labels['quality'] < 0.8).sum())} items below 0.8."
    )
    rows = [
        [a, int(r.n_annotations), f"{r.agreement:.3f}", f"{r.quality:.3f}"]
        for a, r in result.annotators.iterrows()
    ]
    console.print(table("annotators", ["annotator", "labels", "agreement", "quality"], rows))
    if version:
        console.print(f"Consensus labels written as {version}.")


def _commit_consensus(ws: Workspace, name: str, labels: pd.DataFrame, method: str) -> str:
    base = ws.dataset(name)
    frame = base.to_pandas()
    ids = frame[base.roles.id].astype(str)
    new = ids.map(labels["label"].rename(index=str))
    changed = new.notna()
    column = frame[base.roles.label]
    if pd.api.types.is_integer_dtype(column):
        new = pd.to_numeric(new, errors="coerce")
    frame.loc[changed, base.roles.label] = new[changed].astype(column.dtype)
    version = ws.commit(
        name,
        frame,
        message=f"consensus labels ({method}) for {int(changed.sum())} items",
        provenance={"consensus": method},
    )
    return version.ref


def plan_sample_cmd(
    name: str = typer.Argument(..., help="The dataset to sample items from."),
    n: int = typer.Option(None, "--n", help="Sample size."),
    ci_width: float = typer.Option(
        None, "--ci-width", help="Target width of kappa's 95% interval."
    ),
    by: str = typer.Option(None, "--by", help="Columns to stratify by (default: label and tags)."),
    out: Path = typer.Option(
        Path("double-label-sample.csv"), "--out", help="CSV of the sampled items."
    ),
    label_studio: Path = typer.Option(
        None, "--label-studio", help="Also write Label Studio tasks (JSON)."
    ),
    seed: int = typer.Option(0, "--seed", min=0),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Draw a stratified sample of items for a second labeler."""
    if (n is None) == (ci_width is None):
        raise InputError(
            "give the sample size as exactly one of --n (items) and --ci-width (the target "
            "width of kappa's 95% interval), e.g. --n 200 or --ci-width 0.2."
        )
    version = open_workspace(workspace).dataset(name)
    frame = version.to_pandas()
    columns = (
        [c.strip() for c in by.split(",")] if by else [version.roles.label, *version.roles.tags]
    )
    check_columns(frame, columns, where=f"{version.ref} (--by)")
    prevalence = frame[version.roles.label].value_counts(normalize=True).tolist()
    if ci_width is not None and not prevalence:
        raise InputError(
            f"--ci-width needs the class shares but {version.ref} has no labels in column "
            f"{version.roles.label!r}; give the sample size with --n instead."
        )
    with cli_flags(n="--n", ci_width="--ci-width", seed="--seed"):
        plan = plan_sample(
            frame, n=n, ci_width=ci_width, by=columns, prevalence=prevalence, seed=seed
        )
    sample = plan.sample.rename(columns={version.roles.id: "item"})
    sample.to_csv(out, index=False)
    if label_studio is not None:
        # the second labeler must not see the first label: independence is the point
        shown = [c for c in ("text", "path") if c in sample.columns]
        data_cols = shown or [c for c in sample.columns if c not in ("item", version.roles.label)]
        tasks = to_label_studio_tasks(sample, item_col="item", data_cols=data_cols)
        label_studio.write_text(json.dumps(tasks, indent=2, default=str))
    info = {
        "n": plan.n,
        "expected_ci_width": plan.expected_ci_width,
        "by": columns,
        "out": str(out),
        "label_studio": str(label_studio) if label_studio else None,
    }
    if as_json:
        emit_json(info)
        return
    out_console().print(
        f"Sampled {plan.n} items of {version.ref} stratified by {', '.join(columns)} "
        f"(expected 95% CI width on kappa: {plan.expected_ci_width:.3f}) -> {out}"
    )


def register(app: typer.Typer) -> None:
    """Add the collect commands."""
    app.add_typer(annotations_app, name="annotations")
    app.command()(agree)
    app.command("consensus")(consensus_cmd)
    app.command("plan-sample")(plan_sample_cmd)
