"""``assay monitor clips NAME BATCH_DIR``: a folder of production clips against a speech
dataset (drift of audio features and of the recogniser's confidence; low-confidence clips
to transcription review). Registered by :mod:`assay.cli.deploy`."""

from __future__ import annotations

from pathlib import Path

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
from assay.workflows.speech_monitor import SpeechBatch, check_speech_batch

__all__ = ["monitor_clips"]

_PHRASES = {
    "give either recogniser='pocketsphinx' or hypotheses= (the recogniser's output), "
    "not both": "give either --recipe pocketsphinx or --hypotheses FILE, not both",
    "(reference_hypotheses=)": "(--reference-hypotheses FILE)",
}


def _print(checked: SpeechBatch, name: str, wide: bool = False) -> None:
    result, console = checked.to_dict(), out_console()
    mean = result["mean_confidence"]
    shown = {k: "-" if v is None else f"{v:.2f}" for k, v in mean.items()}
    say_lines(
        f"{result['n_batch']} production clips against {result['n_reference']} of {name}: "
        f"{'DRIFTED' if result['drifted'] else 'no drift'}; mean recogniser confidence "
        f"{shown['reference']} -> {shown['batch']}.",
        wide=wide,
    )
    rows = [
        [
            c["column"],
            c.get("role", ""),
            "-" if c.get("p_value") is None else f"{c['p_value']:.2g}",
            "-" if c.get("effect_size") is None else f"{c['effect_size']:.2f}",
            "yes" if c["drifted"] else "",
        ]
        for c in result["columns"]
    ]
    console.print(
        table(
            "audio features and confidence",
            ["column", "role", "p", "effect", "drifted"],
            rows,
            wide=wide,
        )
    )
    if result["queued"]:
        say_lines(
            f"Queued {result['queued']} clips for transcription; see `assay review "
            f"list {name} --source drift_sample`.",
            wide=wide,
        )


def monitor_clips(
    name: str = typer.Argument(..., help="The reference: a transcript dataset, NAME[@vN]."),
    batch: Path = typer.Argument(..., help="A folder of production clips (WAV)."),
    recipe: str = typer.Option(
        None, "--recipe", help="The offline recogniser for both sides: pocketsphinx."
    ),
    hypotheses: Path = typer.Option(
        None,
        "--hypotheses",
        help="Your recogniser's output on the batch: CSV "
        "file,hypothesis[,confidence] (file relative to BATCH).",
    ),
    reference_hypotheses: Path = typer.Option(
        None, "--reference-hypotheses", help="The same recogniser's output on NAME's clips."
    ),
    sample: int = typer.Option(
        0,
        "--sample",
        min=0,
        help="Clips to send to transcription review, low confidence first (0: none).",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the sample and the tests."),
    wide: bool = WideOption,
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Drift of production clips (duration, loudness, noise, speaking rate, confidence)
    from a speech dataset; exit 1 when they drifted."""
    ws = open_workspace(workspace)
    with progress(f"Checking the clips of {batch}"), cli_flags(phrases=_PHRASES):
        checked = check_speech_batch(
            ws,
            name,
            batch,
            recogniser=recipe,
            hypotheses=hypotheses,
            reference_hypotheses=reference_hypotheses,
            n_review=sample,
            seed=seed,
        )
    if as_json:
        emit_json(checked.to_dict())
    else:
        _print(checked, name.split("@")[0], wide)
    raise typer.Exit(1 if checked.drift.drifted else 0)
