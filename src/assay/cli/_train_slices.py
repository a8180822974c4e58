"""``assay slices`` and ``assay curve``: error analysis and clean vs collect.

Registered by :mod:`assay.cli.train`. The commands parse their options, run
:func:`assay.workflows.slices.run_slices` / :func:`assay.workflows.curve.run_curve`,
record the analysis and print it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from assay.cli._common import (
    JsonOption,
    WideOption,
    WorkspaceOption,
    cli_flags,
    emit_json,
    err_console,
    in_range,
    open_workspace,
    out_console,
    progress,
    say,
    say_lines,
    table,
)
from assay.cli._train_speech import HypothesesOption, speech_slices_cmd
from assay.train.recipe._speech import RECOGNISERS
from assay.workflows.curve import CurveRun, record_curve, run_curve
from assay.workflows.slices import SlicesRun, record_slices, run_slices

__all__ = ["curve_cmd", "slices_cmd"]


PredictionsOption = typer.Option(
    None,
    "--predictions",
    help="Predictions: .npy labels/probabilities, or .csv/.parquet "
    "(detection: the detector's boxes, COCO result JSON or a boxes table).",
)
CocoOption = typer.Option(
    None,
    "--coco",
    help="Detection: the COCO file whose numeric image/category ids the "
    "--predictions use (e.g. from `assay export NAME --format coco`).",
)
HlpOption = typer.Option(
    None,
    "--hlp",
    callback=in_range(0, 1, hint="an accuracy"),
    help="Human-level performance (an accuracy in [0, 1]) for every tag.",
)
AlphaOption = typer.Option(
    0.9,
    "--alpha",
    callback=in_range(0, 1, low_open=True, hint="SliceLine's weight of the error term"),
    help="SliceLine's error weight in (0, 1].",
)
MetadataOption = typer.Option(
    None, "--metadata", help="Columns for --find (default: tags and few numeric columns)."
)


def _slices_phrases(name: str) -> dict[str, str]:
    """The slices workflow's wording -> the command line's (parameters become flags)."""
    dataset = name.split("@")[0]
    return {
        "give either recipe= or predictions= but not both": "give either --recipe or "
        "--predictions, not both",
        "give either hlp= or hlp_from_annotations=True but not both": "give either --hlp or "
        "--hlp-from-annotations, not both",
        f"import the annotations of {dataset} first": "import them with "
        f"`assay annotations import {dataset} FILE`",
        "by=[COL1, COL2]": "--by COL1,COL2",
        "with find=True": "with --find",
        "give its boxes as predictions": "give its boxes with --predictions FILE",
        "give by= one of them": "give --by one of them",
        "or give hlp=X": "or give --hlp X",
    }


def _tag_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The tag table's rows as printed: tag, n, metric, HLP, gain, flag, note (a gain in
    percentage points of a proportion metric, else in the metric's units)."""
    gain = ".2%" if result.get("greater_is_better", True) else ".3f"
    return [
        [
            r["tag"],
            r["n"],
            _pct(r["metric"], ".3f"),
            _pct(r["hlp"], ".3f"),
            f"{_pct(r['gain'], gain)} [{_pct(r['gain_low'], gain)}, {_pct(r['gain_high'], gain)}]",
            "clarify labels (low HLP)" if r["is_low_hlp"] else "",
            r["note"],
        ]
        for r in result["tag_table"]["rows"]
    ]


def _print_slices(result: dict[str, Any], wide: bool = False) -> None:
    console = out_console()
    metric = result.get("metric", "accuracy")
    say_lines(
        f"{result['dataset']}: {metric} {result[metric]:.3f} (out of sample); "
        f"HLP: {result['hlp_source']}",
        wide=wide,
    )
    if result.get("tag_table"):
        console.print(
            table(
                "tags by potential gain",
                ["tag", "n", metric, "HLP", "gain", "flag", "note"],
                _tag_rows(result),
                wide=wide,
                flexible=("note", "flag"),
            )
        )
    else:
        say_lines(
            "no tag columns (name some with --by to tabulate them); weak slices searched "
            "over the other columns:",
            wide=wide,
        )
    _print_item_counts(result.get("per_item"), wide=wide)
    found = result.get("slices")
    if found is not None:
        say_lines(found["summary"], wide=wide)
        _print_slice_scores(result, wide=wide)
    for key in ("tag_recommendations", "slice_recommendations"):
        recs = [r for r in (result.get(key) or {}).get("rows", []) if r["action"] != "no action"]
        for r in recs:
            say_lines(f"- {r['slice']}: {r['action']} ({r['evidence']})", wide=wide)


def _print_slice_scores(result: dict[str, Any], k: int = 5, wide: bool = False) -> None:
    """The metric of the top discovered slices with its 95% interval."""
    rows = (result.get("slice_scores") or {}).get("rows", [])[:k]
    metric = result.get("metric", "accuracy")
    for r in rows:
        say_lines(
            f"  {metric} {_pct(r['metric'], '.3f')} [{_pct(r['metric_low'], '.3f')}, "
            f"{_pct(r['metric_high'], '.3f')}] on {r['tag']} (n={r['n']})",
            wide=wide,
        )


def _print_item_counts(
    counts: dict[str, Any] | None, k: int = 10, wide: bool = False
) -> None:
    """Detection: true/false positives and misses in all, and the worst images."""
    if not counts:
        return
    totals = counts["totals"]
    out_console().print(
        f"at IoU 0.5 and score >= {counts['score_threshold']:.3g}: {totals['tp']} found, "
        f"{totals['fp']} false, {totals['fn']} missed"
    )
    rows = [
        [
            r["item_id"],
            r["tp"],
            r["fp"],
            r["fn"],
            f"{r['error']:.2f}",
            ",".join(map(str, r["missed"])) or "-",
            ",".join(map(str, r["false"])) or "-",
        ]
        for r in counts["rows"][:k]
        if r["error"] > 0
    ]
    if rows:
        out_console().print(
            table(
                "images with the most errors (box numbers from 0)",
                ["item", "tp", "fp", "fn", "error", "missed", "false"],
                rows,
                wide=wide,
                flexible=("missed", "false"),
            )
        )


def _pct(value: Any, fmt: str = ".2%") -> str:
    return "-" if value is None else format(float(value), fmt)


def _split(text: str | None) -> list[str] | None:
    """``"a, b,a"`` -> ``["a", "b"]`` (each name once, in order); ``None`` stays None."""
    return list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip())) if text else None


def slices_cmd(
    name: str = typer.Argument(..., help="The dataset version, NAME or NAME@vN."),
    by: str = typer.Option(None, "--by", help="Comma-separated tag columns (default: tags)."),
    recipe: str = typer.Option(None, "--recipe", help="A registered recipe (its model)."),
    predictions: Path = PredictionsOption,
    coco: Path = CocoOption,
    hlp: float = HlpOption,
    hlp_from_annotations: bool = typer.Option(
        False, "--hlp-from-annotations", help="HLP per tag from annotator agreement."
    ),
    find: bool = typer.Option(False, "--find", help="Also discover slices (SliceLine)."),
    alpha: float = AlphaOption,
    metadata: str = MetadataOption,
    fail_on_slices: bool = typer.Option(
        False, "--fail-on-slices", help="Exit 1 when a significant weak slice is found."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the model, bootstrap, slices."),
    hypotheses: Path = HypothesesOption,
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Error analysis: the task's metric per tag against HLP, weak slices, advice."""
    if hypotheses is not None or recipe in RECOGNISERS:
        speech_slices_cmd(
            name,
            workspace,
            recogniser=recipe,
            hypotheses=hypotheses,
            by=_split(by),
            find=find,
            alpha=alpha,
            seed=seed,
            as_json=as_json,
            wide=wide,
        )
    ws = open_workspace(workspace)
    flags = cli_flags(
        phrases=_slices_phrases(name),
        by="--by",
        hlp="--hlp",
        alpha="--alpha",
        metadata="--metadata",
        seed="--seed",
    )
    with progress(f"Analysing errors of {name}"), flags:
        run = run_slices(
            ws,
            name,
            by=_split(by),
            recipe=recipe,
            predictions=predictions,
            mapping=coco,
            hlp=hlp,
            hlp_from_annotations=hlp_from_annotations,
            find=find,
            alpha=alpha,
            metadata=_split(metadata),
            seed=seed,
        )
    _finish_slices(record_slices(ws, run), run, as_json, fail_on_slices, wide)


def _finish_slices(
    analysis: int, run: SlicesRun, as_json: bool, fail_on_slices: bool, wide: bool = False
) -> None:
    """Print the analysis (or its JSON); exit 1 on a significant weak slice if asked."""
    significant = run.significant
    if as_json:
        emit_json({"analysis": analysis, **run.result, "significant": significant})
    else:
        _print_slices(run.result, wide)
    failed = fail_on_slices and bool(significant)
    if failed:
        err_console().print(
            f"{len(significant)} significant weak slice(s): {'; '.join(significant[:3])}",
            markup=False,
        )
    raise typer.Exit(1 if failed else 0)


# ----------------------------------------------------------------- curve
def curve_cmd(
    name: str = typer.Argument(..., help="The dataset version, NAME or NAME@vN."),
    recipe: str = typer.Option(
        ..., "--recipe", help="A registered recipe, or hog (the fixed detector), held fixed."
    ),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Train/test splits per curve."),
    extra: int = typer.Option(
        None, "--extra", min=1, help="Examples to collect (default: as many as there are)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the splits and the noise."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Clean vs collect: is fixing the labels worth more than more data?"""
    ws = open_workspace(workspace)
    flags = cli_flags(repeats="--repeats", extra="--extra", seed="--seed")
    with progress(f"Learning curves of {name}"), flags:
        run = run_curve(ws, name, recipe=recipe, repeats=repeats, extra=extra, seed=seed)
    analysis = record_curve(ws, run)
    if as_json:
        result = {k: v for k, v in run.result.items() if k != "series"}
        emit_json({"analysis": analysis, **result})
        return
    _print_curve(run)


def _print_curve(run: CurveRun) -> None:
    """The curves' summary, what cleaning is worth in examples, and the verdict."""
    from assay.train.curves import equivalence_text

    result = run.result
    say_lines("\n".join(result["summary"].splitlines()[:-1]))
    say_lines(equivalence_text(result["equivalent_extra"], result["n"]))
    rows, metric = result["table"], result.get("metric", "accuracy")
    if result.get("no_verdict"):
        say(f"verdict: none ({result['no_verdict']})", indent="  ")
        return
    cleaned, collected = (
        "nan" if rows[i][metric] is None else f"{rows[i][metric]:.3f}" for i in (1, 2)
    )
    say(
        f"verdict: {result['verdict']} ({metric} after cleaning {cleaned} vs "
        f"after collecting {result['extra']} more {collected})",
        indent="  ",
    )
    if result.get("tie"):
        say(result["tie"], indent="  ")
