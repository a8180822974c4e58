"""Collect-phase commands: annotations, agreement, consensus, label book, sample plans."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from assay._dask import dask_cluster
from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    check_output_file,
    cli_flags,
    cli_message,
    emit_json,
    err_console,
    open_workspace,
    out_console,
    say,
    say_lines,
    table,
)
from assay.exceptions import InputError
from assay.store.datasets import dataset_task
from assay.tasks import get_task
from assay.workflows.agreement import (
    FILE_OPTIONS,
    AgreementOutcome,
    AnnotationBatch,
    NoAnnotationsError,
    agreement_by_labelbook,
    import_annotations,
    load_for_agreement,
    measure_agreement,
    refuse_file_options,
    refuse_folder_options,
    text_agreement,
)
from assay.workflows.consensus import (
    ConsensusOutcome,
    file_consensus,
    folder_consensus,
    run_consensus,
)
from assay.workflows.sampling import plan_double_labeling

__all__ = ["register"]

#: ``--columns`` of the commands that read an annotation file.
ColumnsOption = typer.Option(
    None, "--columns",
    help="A headerless file's columns in order, e.g. annotator,item,label (a 3-column "
    "file with no header is read so by default).",
)


#: ``--dask-scheduler`` of the commands that read a folder of annotations.
DaskSchedulerOption = typer.Option(
    None, "--dask-scheduler",
    help="SOURCE a folder of Parquet files (item, annotator, label) larger than memory: "
    "read and combine it on this Dask cluster (default: $DASK_SCHEDULER_ADDRESS, else "
    "Dask in this process).", show_default=False,
)


#: ``--item-key`` of the commands that read an annotation file.
ItemKeyOption = typer.Option(
    None, "--item-key",
    help="Where the item ids are: the key of a Label Studio task's data (default: "
    "'item', as `assay plan-sample` writes it, else the task id), or a table's column "
    "(default: item).",
)
#: ``--from-name`` of the commands that read an annotation file.
FromNameOption = typer.Option(
    None, "--from-name",
    help="Label Studio: the Choices control to read (required when the project has "
    "several); a table's label column (default: label).",
)
#: ``--annotators`` of the commands that read an annotation file.
AnnotatorsOption = typer.Option(
    None, "--annotators",
    help="Names for the annotators' ids: a CSV id,email (or id,name), or the JSON of "
    "Label Studio's /api/users/.",
)


def _column_names(columns: str | None) -> list[str] | None:
    """``--columns a,b,c`` as a list of names (None when not given)."""
    if columns is None:
        return None
    names = [c.strip() for c in columns.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise InputError(
            f"--columns {columns!r} must name each column once, separated by commas, "
            "e.g. --columns annotator,item,label."
        )
    return names

annotations_app = typer.Typer(help="Import annotations (several labels per item) for a dataset.")


#: Library wording that a CLI user cannot act on, and what to say instead.
_CLI_WORDING = {
    "pass allow_new=True": "pass --allow-new",
    "pass from_name= to select": "pass --from-name NAME to select",
    "Pass from_name= with one of them": "Pass --from-name with one of them",
    "(from_name)": "(--from-name)",
    "pass item_key=KEY": "pass --item-key KEY",
    "item_key= reads an annotation file": "--item-key reads an annotation file",
    "from_name= reads an annotation file": "--from-name reads an annotation file",
    "annotators= reads an annotation file": "--annotators reads an annotation file",
    "item_key= reads one annotation file": "--item-key reads one annotation file",
    "from_name= reads one annotation file": "--from-name reads one annotation file",
    "annotators= reads one annotation file": "--annotators reads one annotation file",
    "names= reads one annotation file": "--columns reads one annotation file",
    "label_sep= reads one annotation file": "--label-sep reads one annotation file",
    "(see assay.plan_sample)": "(see `assay plan-sample`)",
    "level='interval'": "--level interval",
    "name them with names=": "name them with --columns",
    "level='ratio'": "--level ratio",
    "; leave out the level.": "; leave out --level.",
    "(transcript_agreement)": "(assay agree --text)",
    "Use level='nominal', or level='ordinal' with classes= in their order.": (
        "Use --level nominal, or --level ordinal, which orders the classes as the label "
        "book lists them (sorted when there is no label book)."
    ),
}


#: ``assay annotations import``: its flags named in the prose of the library's messages.
_IMPORT_WORDING = {
    **_CLI_WORDING,
    "with labelbook_version=N": "with --labelbook-version N",
    "pass item_key=KEY": "pass --item-key KEY",
    "; check item_key": "; check --item-key",
}
#: ``assay plan-sample``: its flags named in the prose of the library's messages.
_PLAN_WORDING = {
    "(by)": "(--by)",
    "exactly one of n= (items) and ci_width= (": "exactly one of --n (items) and --ci-width (",
    "e.g. n=200 or ci_width=0.2": "e.g. --n 200 or --ci-width 0.2",
    "ci_width= needs": "--ci-width needs",
    "with n= instead": "with --n instead",
    "or else ci_width (exactly one)": "or else --ci-width (exactly one)",
    "image_url='local-files'": "--image-url local-files",
    "image_url and predictions shape": "--image-url and --predictions shape",
    "give label_studio=PATH too": "give --label-studio PATH too",
    "image_url applies": "--image-url applies",
    "image_url='": "--image-url '",
    "predictions= pre-annotates": "--predictions pre-annotates",
    "leave out predictions=": "leave out --predictions",
}


@contextmanager
def _cli_wording(phrases: Mapping[str, str] = _CLI_WORDING, **flags: str) -> Iterator[None]:
    """:func:`~assay.cli._common.cli_flags` with the phrases of ``_CLI_WORDING``
    (``allow_new=True`` -> ``--allow-new``, ``assay.plan_sample`` -> ``assay
    plan-sample``), for the library's warnings as well as its errors."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with cli_flags(phrases=phrases, **flags):
                yield
    finally:  # outside catch_warnings, so that the translated warnings are shown
        for w in caught:
            text = cli_message(str(w.message), flags, phrases)
            warnings.warn(text, w.category, stacklevel=1)


@annotations_app.command("import")
def annotations_import(
    name: str = typer.Argument(..., help="The dataset whose items were annotated."),
    file: Path = typer.Argument(
        ..., help="CSV / TSV / Parquet (item, annotator, label) or a Label Studio export "
        "(JSON, JSON-MIN, CSV).",
    ),
    labelbook_version: int = typer.Option(
        None, "--labelbook-version", help="The label-book version the annotators followed."
    ),
    allow_new: bool = typer.Option(
        False, "--allow-new", help="Accept labels that the label book does not define."
    ),
    item_key: str = ItemKeyOption,
    from_name: str = FromNameOption,
    annotators: Path = AnnotatorsOption,
    columns: str = ColumnsOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Store annotations for the items of dataset NAME.

    Labels are checked against the label-book version the annotators followed
    (--labelbook-version, or a labelbook_version column; else the latest).
    """
    ws = open_workspace(workspace)
    with _cli_wording(_IMPORT_WORDING, item_key="--item-key", from_name="--from-name",
                      labelbook_version="--labelbook-version"):
        batch = import_annotations(
            ws, name, file, labelbook_version=labelbook_version, allow_new=allow_new,
            item_key=item_key, from_name=from_name, names=_column_names(columns),
            annotators=annotators,
        )
    emit_json(batch.to_dict()) if as_json else _print_batch(batch)


def _print_batch(batch: AnnotationBatch) -> None:
    out_console().print(
        f"Stored {batch.annotations} annotations of {batch.items} items by "
        f"{batch.annotators} annotators as batch {batch.batch} of {batch.dataset}."
    )


@contextmanager
def _no_annotations(command: str) -> Iterator[None]:
    """Say which command imports annotations when a dataset has none (``command`` may
    name the dataset as ``{name}``)."""
    try:
        yield
    except NoAnnotationsError as exc:
        raise InputError(
            f"dataset {exc.dataset!r} has no annotations; import some with "
            f"`{command.format(name=exc.dataset)}`."
        ) from exc


def agree(
    source: str = typer.Argument(
        ..., help="An annotation file, or a dataset NAME with stored annotations."
    ),
    by_labelbook: bool = typer.Option(
        False, "--by-labelbook", help="Compare agreement across label-book versions."
    ),
    min_alpha: float = typer.Option(
        None, "--min-alpha",
        help="Exit 1 when Krippendorff's alpha (boxes: box F1 at IoU 0.5) is below this.",
    ),
    level: str = typer.Option(
        None, "--level",
        help="nominal (default for classes), ordinal, interval (default for numbers: "
        "decimal labels or a regression dataset) or ratio. Label sets use MASI.",
    ),
    label_sep: str = typer.Option(
        None, "--label-sep",
        help='A file\'s text labels are label sets joined by this, e.g. "|".',
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
    labelbook: int = typer.Option(
        None, "--labelbook", help="Transcripts: also measure agreement after this label-book "
        "version's normalisation (default: the latest, when it has one).", show_default=False,
    ),
    annotations: Path = typer.Option(
        None, "--annotations", help="Import this annotation file into dataset SOURCE first "
        "(as `assay annotations import`), then measure.", show_default=False,
    ),
    item_key: str = ItemKeyOption,
    from_name: str = FromNameOption,
    annotators: Path = AnnotatorsOption,
    columns: str = ColumnsOption,
    dask_scheduler: str = DaskSchedulerOption,
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure labeler consistency and show the classes whose instructions need revision.

    SOURCE is an annotation file, a dataset with stored annotations, or a folder of
    Parquet files (item, annotator, label) read with Dask, as large as the cluster
    holds (classes; point estimates, no intervals).
    """
    check_output_file(report, "--report")
    if annotations is not None:  # the reading options apply to the file imported
        reading = {"item_key": item_key, "from_name": from_name, "annotators": annotators}
        _import_first(source, annotations, workspace, allow_new, _column_names(columns), reading)
        item_key = from_name = annotators = None  # type: ignore[assignment]
    with _cli_wording(_LOAD_WORDING), _no_annotations("assay annotations import {name} FILE"):
        source_ = load_for_agreement(source, lambda: open_workspace(workspace), allow_new,
                                     label_sep, names=_column_names(columns),
                                     item_key=item_key, from_name=from_name,
                                     annotators=annotators)
    if text:
        raise typer.Exit(_agree_text(source_.frame, report, as_json, wide))
    if by_labelbook:
        raise typer.Exit(_agree_by_labelbook(source_.frame, as_json, wide))
    with _cli_wording({**_CLI_WORDING, "labelbook=": "--labelbook "}, level="--level"), \
            _cluster_for(source, dask_scheduler):
        outcome = measure_agreement(source_, level=level, report=report,
                                    title=f"Agreement: {source}", labelbook=labelbook)
    raise typer.Exit(_show_agreement(outcome, min_alpha, as_json, wide))


def _import_first(
    source: str, file: Path, workspace: Path, allow_new: bool, names: list[str] | None,
    reading: dict[str, Any],
) -> None:
    """``assay agree NAME --annotations FILE``: store FILE as the next batch of NAME."""
    if Path(source).is_file():
        raise InputError(f"--annotations imports into a dataset, and {source} is a file: give "
                         "the dataset name, or measure the file alone without --annotations.")
    ws = open_workspace(workspace)
    with _cli_wording(_LOAD_WORDING):
        import_annotations(ws, source, file, allow_new=allow_new, names=names, **reading)


def _show_agreement(
    outcome: AgreementOutcome, min_alpha: float | None, as_json: bool, wide: bool = False
) -> int:
    """Print the agreement (JSON or tables); 1 when alpha is below ``min_alpha``."""
    name, alpha = getattr(outcome.report, "gate_statistic", None) or (
        "Krippendorff's alpha", outcome.report.krippendorff_alpha)
    if min_alpha is not None and not np.isfinite(alpha):
        raise InputError(f"{name} is undefined for these annotations, so --min-alpha has "
                         "nothing to compare; leave --min-alpha out.")
    failed = min_alpha is not None and not alpha >= min_alpha
    report = outcome.report_path
    if as_json:
        emit_json({**outcome.to_dict(), "report": str(report), "min_alpha": min_alpha,
                   "gate": {"statistic": name, "value": alpha}, "passed": not failed})
    else:
        _print_agreement(outcome.report, outcome.revise, report, wide)
        if failed:
            err_console().print(f"{name} {alpha:.3f} is below --min-alpha {min_alpha}.")
    return 1 if failed else 0


#: Library wording of loading annotations for `assay agree`, and what to say instead.
_LOAD_WORDING = {
    **_CLI_WORDING,
    "pass allow_new=True": "pass --allow-new",
    "name them with names=": "name them with --columns",
}


def _print_agreement(result: Any, revise: pd.DataFrame, report: Path, wide: bool) -> None:
    console = out_console()
    say_lines(result.summary(), wide=wide)
    if "confused_with" not in revise.columns:  # numbers, label sets: the summary has it all
        console.print(f"Report: {report}")
        return
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
            wide=wide,
            flexible=("example items",),
        )
    )
    console.print(f"Report: {report}")


def _agree_by_labelbook(frame: pd.DataFrame, as_json: bool, wide: bool = False) -> int:
    with cli_flags(phrases={"import with labelbook_version=N": "import with --labelbook-version N"}):
        result = agreement_by_labelbook(frame)
    if as_json:
        emit_json(result.per_version())
        return 0
    classes = result.classes()
    rows = [
        [c, *(_fmt(v) for v in row)]
        for c, row in zip(classes.index, classes.to_numpy(), strict=True)
    ]
    alphas = result.alphas
    change = [_fmt(alphas[-1] - alphas[0])] if len(classes.columns) > len(alphas) else []
    rows.append(["alpha (all)", *map(_fmt, alphas), *change])
    columns = ["class", *map(str, classes.columns)]
    title = "agreement per class by label-book version"
    out_console().print(table(title, columns, rows, wide=wide))
    return 0


def _fmt(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.3f}"


def _agree_text(frame: pd.DataFrame, report: Path, as_json: bool, wide: bool = False) -> int:
    result = text_agreement(frame, report)
    if as_json:
        emit_json(result.to_dict())
        return 0
    say_lines(result.result.summary(), wide=wide)
    say_lines(result.conventions.summary(), wide=wide)
    return 0


def consensus_cmd(
    name: str = typer.Argument(
        ..., help="A dataset NAME with stored annotations, or an annotation file."
    ),
    method: str = typer.Option(
        None, "--method",
        help="classification: dawid_skene (default) or majority; regression: em "
        "(default), mean or median; multilabel: dawid_skene (default) or majority.",
    ),
    task: str = typer.Option(
        None, "--task",
        help="The kind of label of an annotation file: classification (default), "
        "regression or multilabel (a dataset's kind is stored).",
    ),
    commit: bool = typer.Option(
        False, "--commit", help="Write the consensus labels as a new dataset version."
    ),
    item_key: str = ItemKeyOption,
    from_name: str = FromNameOption,
    annotators: Path = AnnotatorsOption,
    columns: str = ColumnsOption,
    out: Path = typer.Option(
        None, "--out", help="Also write every item's consensus label and quality to this "
        ".csv or .parquet file.", show_default=False,
    ),
    dask_scheduler: str = DaskSchedulerOption,
    wide: bool = typer.Option(
        False, "--wide", help="List every annotator, every cell whole."
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Combine several labels per item into one consensus label with a quality score.

    NAME is a dataset with stored annotations, an annotation file, or a folder of
    Parquet files (item, annotator, label) read with Dask (classes).
    """
    if out is not None:
        check_output_file(out, "--out")
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise InputError(f"--out {out}: give a .csv or .parquet file.")
    reading = {"names": _column_names(columns), "item_key": item_key,
               "from_name": from_name, "annotators": annotators}
    with _no_annotations("assay annotations import"), _cli_wording(method="--method"), \
            _cluster_for(name, dask_scheduler):
        outcome = _consensus_outcome(name, method, task, commit, workspace, reading)
    if out is not None:
        _write_labels(outcome.labels, out)
    if as_json:
        emit_json(outcome.to_dict())
        return
    _print_consensus(outcome, wide)
    if out is not None:
        say(f"{len(outcome.labels)} consensus labels written to {out}.")


def _write_labels(labels: pd.DataFrame, out: Path) -> None:
    """Every item's consensus label (and quality) as CSV or Parquet, item first."""
    frame = labels.rename_axis("item").reset_index()
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)


def _cluster_for(source: str, address: str | None) -> Any:
    """The Dask cluster a folder SOURCE is read on (``--dask-scheduler``, else
    ``$DASK_SCHEDULER_ADDRESS``, else Dask in this process); nothing for other sources.
    A scheduler named for a file or a dataset is refused: it would not be used."""
    if Path(source).is_dir():
        return dask_cluster(address)
    if address is not None:
        raise InputError(
            f"--dask-scheduler reads a folder of Parquet files on a cluster, and {source} "
            "is not a folder; leave it out, or give the folder."
        )
    return contextlib.nullcontext()


def _consensus_outcome(
    source: str, method: str | None, task: str | None, commit: bool, workspace: Path,
    reading: dict[str, Any] | None = None,
) -> ConsensusOutcome:
    """Consensus of a dataset's stored annotations, or of an annotation file (read with
    the options ``reading`` of :func:`~assay.workflows.consensus.file_consensus`)."""
    reading = reading or {}
    path = Path(source)
    if path.is_dir():
        if commit:
            raise InputError(
                f"--commit writes a dataset version; {source} is a folder of annotations: "
                "write the labels with --out FILE and import them as a version."
            )
        refuse_folder_options(path, **reading)
        return folder_consensus(path, get_task(task), method=method)
    if path.is_file():
        if commit:
            raise InputError(
                f"--commit writes a dataset version; {source} is a file: import it with "
                "`assay annotations import NAME FILE`, then run `assay consensus NAME --commit`."
            )
        return file_consensus(path, get_task(task), method=method, **reading)
    if path.suffix and not path.exists():
        raise InputError(f"{path} does not exist; give an annotation file or a dataset name.")
    refuse_file_options(source, **{k: reading.get(k) for k in FILE_OPTIONS})
    ws = open_workspace(workspace)
    kind = dataset_task(source, ws)
    if task is not None and get_task(task).kind != kind.kind:
        raise InputError(
            f"dataset {source!r} holds {kind.kind} labels (fixed at its first import), "
            f"not {task}; leave out --task."
        )
    return run_consensus(ws, source, method=method, commit=commit)


#: Column headers of the annotator table (other columns keep their names).
_ANNOTATOR_HEADERS = {"n_annotations": "labels", "noise_sd": "noise sd"}


#: Annotators the consensus table shows without --wide: the least reliable first.
_SHOWN_ANNOTATORS = 10


def _worst_annotators(frame: pd.DataFrame, wide: bool) -> tuple[pd.DataFrame, str]:
    """The annotator table, least reliable first (lowest quality or agreement, or the
    noisiest), cut to :data:`_SHOWN_ANNOTATORS` rows unless ``wide``."""
    for column, ascending in (("quality", True), ("agreement", True), ("noise_sd", False)):
        if column in frame.columns:
            frame = frame.sort_values(column, ascending=ascending, kind="stable")
            break
    if wide or len(frame) <= _SHOWN_ANNOTATORS:
        return frame, "annotators"
    return frame.head(_SHOWN_ANNOTATORS), f"the {_SHOWN_ANNOTATORS} least reliable annotators"


def _print_consensus(outcome: ConsensusOutcome, wide: bool = False) -> None:
    console = out_console()
    labels = outcome.labels
    console.print(
        f"{len(labels)} items; mean quality {labels['quality'].mean():.3f}; "
        f"{int((labels['quality'] < 0.8).sum())} items below 0.8."
    )
    frame, title = _worst_annotators(outcome.annotators, wide)
    rows = [
        [a, *(_cell(v) for v in r)]
        for a, r in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    headers = ["annotator", *(_ANNOTATOR_HEADERS.get(c, c) for c in frame.columns)]
    console.print(table(title, headers, rows, wide=wide))
    if len(frame) < len(outcome.annotators):
        console.print(
            f"... and {len(outcome.annotators) - len(frame)} more annotators "
            "(--wide lists all, --json gives every number)."
        )
    if outcome.version:
        console.print(f"Consensus labels written as {outcome.version}.")
    if outcome.unresolved:
        console.print(
            f"{outcome.unresolved} ties left unresolved kept their labels; review them:\n"
            f"  assay review list {(outcome.version or '').split('@')[0]} "
            "--source consensus_tie"
        )


def _cell(value: Any) -> str:
    """An annotator-table cell: whole numbers as they are, other numbers to 3 decimals."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "-" if pd.isna(value) else f"{value:.3f}"


def _sample_summary(n: int, ref: str, by: list[str], width: float, out: Path) -> str:
    """One line on a drawn sample: its strata and the kappa interval it should give.

    Parameters
    ----------
    n, ref, by, width, out
        The sample size, the version sampled, the stratifying columns, the expected
        width of kappa's 95% interval (NaN without labels) and the CSV written.

    Returns
    -------
    str
        The line, with the next step when the version has no labels to size the interval.
    """
    strata = f"stratified by {', '.join(by)}" if by else "drawn at random (nothing to stratify by)"
    if math.isnan(width):
        name = ref.split("@")[0]
        return (
            f"Sampled {n} items of {ref} {strata} -> {out}\n"
            "No labels yet: the width of kappa's interval is not known.\n"
            f"Next:\n  assay label plan {name} --labelers A,B --sample {out}"
        )
    return (
        f"Sampled {n} items of {ref} {strata} "
        f"(expected 95% CI width on kappa: {width:.3f}) -> {out}"
    )


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
        None, "--label-studio",
        help="Also write Label Studio tasks (JSON) and label_config.xml next to them.",
    ),
    image_url: str = typer.Option(
        None, "--image-url",
        help="Image/audio tasks: 'local-files' (Label Studio's Local Files storage, "
        "paths under $LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT) or a base URL serving "
        "the media folder.",
    ),
    predictions: bool = typer.Option(
        False, "--predictions",
        help="Add the review queue's items with a suggested label (from `assay audit`) "
        "as pre-annotated tasks, with scores; sampled items stay blind.",
    ),
    seed: int = typer.Option(0, "--seed", min=0),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Draw a stratified sample of items for a second labeler."""
    ws = open_workspace(workspace)
    columns = [c.strip() for c in by.split(",")] if by else None
    if label_studio is not None:
        check_output_file(label_studio, "--label-studio")
    with _cli_wording(_PLAN_WORDING, n="--n", ci_width="--ci-width", seed="--seed",
                      image_url="--image-url"):
        plan = plan_double_labeling(
            ws, name, out=out, n=n, ci_width=ci_width, by=columns,
            label_studio=label_studio, seed=seed, image_url=image_url,
            predictions=predictions,
        )
    if as_json:
        emit_json(plan.to_dict())
        return
    say_lines(_sample_summary(plan.n, plan.ref, plan.by, plan.expected_ci_width, out))
    if plan.label_studio is not None:
        extra = f" and {plan.predictions} pre-annotated review items" if predictions else ""
        say(
            f"Label Studio: {plan.n} blind tasks{extra} -> {plan.label_studio}; labeling "
            f"config -> {plan.to_dict()['label_config']}"
        )


def register(app: typer.Typer) -> None:
    """Add the collect commands."""
    app.add_typer(annotations_app, name="annotations")
    app.command()(agree)
    app.command("consensus")(consensus_cmd)
    app.command("plan-sample")(plan_sample_cmd)
