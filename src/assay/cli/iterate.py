"""The data iteration loop: ``assay train``, ``experiments``, ``compare``, ``augment``, ``loop``.

The recipe is held fixed and the evaluation set frozen; each data version is trained
and measured as an experiment (E1, E2, ...), experiments are compared pairwise with the
data diff that explains them, and ``assay loop`` runs one whole turn: train, audit
(flagged items enter the review queue), error slices, and what to do next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    cli_flags,
    emit_json,
    open_workspace,
    out_console,
    progress,
    say_lines,
    table,
)
from assay.store.augmentation import augment_version
from assay.store.experiments import Experiment, ExperimentStore
from assay.train.augment import MAX_FACTOR, check_factor
from assay.workflows.loop import LoopResult, check_latest, run_loop

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["format_interval", "next_steps", "register"]

RecipeOption = typer.Option(
    ...,
    "--recipe",
    help="A registered recipe (assay recipe add), a YAML file / import path, or hog (the "
    "fixed detector, for a detection dataset).",
)
EvalOption = typer.Option(
    ..., "--eval", help="The frozen evaluation set, a dataset reference (e.g. digits-test)."
)


def format_interval(metric: Mapping[str, Any]) -> str:
    """``0.9315 [0.9070, 0.9499]`` from ``{"value", "low", "high"}``."""
    return f"{metric['value']:.4f} [{metric['low']:.4f}, {metric['high']:.4f}]"


# ----------------------------------------------------------------------- train
def train_cmd(
    name: str = typer.Argument(..., help="The training version, NAME or NAME@vN."),
    recipe: str = RecipeOption,
    eval_set: str = EvalOption,
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the metric intervals' bootstrap."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Train the recipe on a version, evaluate it on the frozen set, record an experiment."""
    ws = open_workspace(workspace)
    with progress(f"Training {recipe} on {name}"):
        exp = ExperimentStore(ws).run(name, recipe=recipe, eval_set=eval_set, seed=seed)
    if as_json:
        emit_json(exp.to_dict())
        return
    _print_experiment(exp, wide)


def _print_experiment(exp: Experiment, wide: bool = False) -> None:
    console = out_console()
    say_lines(
        f"{exp.id}: {exp.recipe} trained on {exp.data} ({exp.n_train} rows"
        + (f", {exp.n_augmented} augmented" if exp.n_augmented else "")
        + f"), evaluated on {exp.eval_set} ({exp.evaluation.n} items)",
        wide=wide,
    )
    for note in exp.notes:
        say_lines(f"note: {note}", wide=wide)
    rows = [[k, format_interval(v)] for k, v in exp.evaluation.overall.items()]
    header = ["metric", "value [interval]"]
    console.print(table("metrics (95% intervals)", header, rows, wide=wide))
    for title, header, body in exp.evaluation.tables():  # the task's tables
        console.print(table(title, header, body, wide=wide))


# ----------------------------------------------------------------- experiments
def experiments_cmd(
    name: str = typer.Argument(..., help="The dataset."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """List the experiments trained on a dataset."""
    ws = open_workspace(workspace)
    found = ExperimentStore(ws).list(name)
    if as_json:
        emit_json([e.to_dict() for e in found])
        return
    first, second = (found[0].task if found else ws.dataset(name).task).metrics[:2]
    rows = [
        [
            e.id,
            e.data,
            e.recipe,
            e.eval_set,
            format_interval(e.headline.interval),
            f"{e.evaluation.overall[second]['value']:.4f}",
            None if e.created_at is None else f"{e.created_at:%Y-%m-%d %H:%M}",
        ]
        for e in found
    ]
    header = ["id", "data", "recipe", "eval set", f"{first} [95%]", second, "time"]
    if not wide:  # the time only with --wide: the rest fits 80 columns
        header, rows = header[:-1], [row[:-1] for row in rows]
    out_console().print(table(f"experiments on {name} ({len(found)})", header, rows, wide=wide))


def compare_cmd(
    a: str = typer.Argument(..., help="The first experiment, e.g. E1."),
    b: str = typer.Argument(..., help="The second experiment, e.g. E2."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the paired bootstrap."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Metric deltas with significance, next to the data diff that caused them."""
    result = ExperimentStore(open_workspace(workspace)).compare(a, b, seed=seed)
    if as_json:
        emit_json(result.to_dict())
        return
    say_lines(result.summary(), wide=wide)


# ------------------------------------------------------------------- augment
def augment_cmd(
    ref: str = typer.Argument(..., help="The version to augment, NAME@vN."),
    slice_: str = typer.Option(
        ...,
        "--slice",
        help="Column comparisons joined by and / or / not, e.g. \"ink == 'light' and label "
        'in [3, 5]" (==, !=, <, <=, >, >=, in [..]; `quoted name` for other names).',
    ),
    factor: float = typer.Option(
        1.0, "--factor", help=f"Copies per item of the slice, in (0, {MAX_FACTOR:g}]."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the transforms."),
    message: str = typer.Option(None, "--message", "-m", help="The version message."),
    columns: str = typer.Option(
        None,
        "--columns",
        help="Tables: the columns to augment, A,B (numeric: interpolated) or one text "
        "column (text transforms). Default: the numeric features, else the text column.",
    ),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Add augmented copies of a slice's items as a new version (never evaluation rows)."""
    with cli_flags(factor="--factor"):  # NaN, inf, <= 0: refused before any work
        check_factor(factor)
    ws = open_workspace(workspace)
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    flags = {"factor": "--factor", "seed": "--seed"}
    with progress(f"Augmenting {ref}"), cli_flags(phrases={"columns=": "--columns"}, **flags):
        version = augment_version(
            ws, ref, predicate=slice_, factor=factor, seed=seed, message=message, columns=names
        )
    if as_json:
        emit_json(version.to_dict())
        return
    info = version.provenance["augment"]
    out_console().print(
        f"{version.ref}: {info['rows']} augmented rows from {info['parents']} items of "
        f"slice {info['slice']} ({info['modality']}, seed {info['seed']}); marked "
        "augmented=True, so `assay train` never evaluates on them."
    )


# ---------------------------------------------------------------------- loop
def next_steps(found: dict[str, Any], exp: Experiment, ws: Workspace) -> list[str]:
    """What to do next, most useful first, each with its evidence and command."""
    w = f" -w {ws.location}"
    steps = []
    n_open = found.get("open_label_issues", 0)
    if n_open:
        steps.append(
            f"review {n_open} suspected label errors (lowest label quality first): "
            f"assay review list {exp.dataset} --source label_issue{w}; decide with "
            f"assay review decide ID --relabel L | --keep | --remove{w}, then "
            f"assay review apply {exp.dataset}{w}"
        )
    for rec in found.get("recommendations", []):
        commands = {
            "collect / augment": f'assay augment {exp.data} --slice "{rec["predicate"]}" '
            f"--factor 1{w}",
            "clarify labels": f"assay review list {exp.dataset}{w} (and the label book)",
        }
        command = commands.get(rec["action"], "")
        steps.append(
            f"slice {rec['slice']}: {rec['action']} ({rec['evidence']})"
            + (f": {command}" if command else "")
        )
    steps.append(
        f"after the next version: assay train {exp.dataset} --recipe {exp.recipe} "
        f"--eval {exp.eval_set}{w}, then assay compare {exp.id} E{exp.number + 1}{w}"
    )
    return steps


def _print_loop(found: dict[str, Any], wide: bool = False) -> None:
    """The turn's headline, findings and next steps, each wrapped at 80 columns
    (continuation lines indented); ``wide``: one line each."""
    exp = found["experiment"]
    head = exp["headline"]
    lines = [
        f"{exp['id']}: {exp['recipe']} on {exp['data']} -> {head['metric']} "
        f"{format_interval(head)} on {exp['eval_set']}"
    ]
    lines += [f"note: {note}" for note in exp.get("notes", [])]
    lines += _loop_findings(found)
    lines += ["Next:"] + [_step_lines(step, wide) for step in found["next"]]
    say_lines("\n".join(lines), wide=wide)


def _step_lines(step: str, wide: bool) -> str:
    """A next step: its reason, then each of its commands on a line of its own (never
    wrapped, so that each can be copied whole); ``wide``: one line."""
    reason, sep, command = step.partition(": assay ")
    if wide or not sep:
        return f"  - {step}"
    commands = re.split(r"[;,] (?:decide with |then )?(?=assay )", f"assay {command}")
    return f"  - {reason}:" + "".join(f"\n      {c}" for c in commands)


def _loop_findings(found: dict[str, Any]) -> list[str]:
    """The comparison, the audit, the weakest tags and the slices, one line each."""
    lines = []
    comparison = found.get("comparison")
    if comparison:
        lines.append(_comparison_line(comparison))
    if found.get("audit"):
        label = found["audit"]["checks"].get("label", {})
        lines.append(
            f"audit: {label.get('count', 0)} suspected label errors "
            f"({label.get('rate', 0):.1%}); {sum(found['audit']['queued'].values())} newly queued"
        )
    metric = found["experiment"]["headline"]["metric"]
    lines += [
        f"tag {t['tag']}: n={t['n']}, {metric} {t['metric']:.3f} "
        f"[{t['metric_low']:.3f}, {t['metric_high']:.3f}]"
        for t in found.get("tags", [])[:2]
    ]
    lines += [
        f"slice {s['slice']}: n={s['size']}, mean item error {s['error_rate']:.3g} vs "
        f"{s['overall_error_rate']:.3g} overall (q={s['q_value']:.2g})"
        for s in found.get("slices", [])
    ]
    return lines


def _comparison_line(comparison: dict[str, Any]) -> str:
    """``vs E1 (d@v1): accuracy +0.0100 [...], McNemar exact p = 0.2; data: 5 relabeled``
    (the task's headline metric and paired test)."""
    paired = comparison["comparison"]
    m = paired["metrics"][paired["headline"]]
    diff = comparison["diff"]
    counts = ", ".join(f"{v} {k}" for k, v in diff["counts"].items() if v) if diff else ""
    return (
        f"vs {comparison['a']['id']} ({comparison['a']['data']}): {paired['headline']} "
        f"{m['delta']:+.4f} [{m['low']:+.4f}, {m['high']:+.4f}], {paired['test']} p = "
        f"{paired['p_value']:.3g}" + (f"; data: {counts}" if counts else "")
    )


def loop_cmd(
    name: str = typer.Argument(..., help="The dataset (its latest version is used)."),
    recipe: str = RecipeOption,
    eval_set: str = EvalOption,
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the bootstrap and the audit."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
    wide: bool = WideOption,
) -> None:
    """One turn: train + evaluate, audit (queue flagged items), slices, what to do next."""
    check_latest(name)  # before the workspace is opened
    ws = open_workspace(workspace)
    with progress(f"One turn of the loop on {name}"):
        result = run_loop(ws, name, recipe=recipe, eval_set=eval_set, seed=seed)
    found = _with_next_steps(result, ws)
    if as_json:
        emit_json(found)
        return
    _print_loop(found, wide)


def _with_next_steps(result: LoopResult, ws: Workspace) -> dict[str, Any]:
    """The loop's result as a dict, with ``next``: the steps worded as commands."""
    found = result.to_dict()
    found["next"] = next_steps(found, result.experiment, ws)
    return found


def register(app: typer.Typer) -> None:
    """Add ``assay train``, ``experiments``, ``compare``, ``augment`` and ``loop``."""
    app.command("train")(train_cmd)
    app.command("experiments")(experiments_cmd)
    app.command("compare")(compare_cmd)
    app.command("augment")(augment_cmd)
    app.command("loop")(loop_cmd)
