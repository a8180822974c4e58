"""``assay slices NAME`` on a transcript dataset: WER per tag and per discovered slice.

Called by :func:`assay.cli._train_slices.slices_cmd` when it is given a recogniser
(``--recipe pocketsphinx``) or a recogniser's output (``--hypotheses FILE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from assay.cli._common import (
    cli_flags,
    emit_json,
    open_workspace,
    out_console,
    progress,
    say_lines,
    table,
)
from assay.workflows.transcript_slices import TranscriptSlices, run_transcript_slices

__all__ = ["HypothesesOption", "speech_slices_cmd"]

HypothesesOption = typer.Option(
    None, "--hypotheses", help="A transcript dataset: your recogniser's output, CSV "
    "file,hypothesis[,confidence] (or --recipe pocketsphinx, the offline recogniser)."
)
_PHRASES = {
    "give either recogniser='pocketsphinx' or hypotheses= (the recogniser's output), "
    "not both": "give either --recipe pocketsphinx or --hypotheses FILE, not both",
}


def _rate(r: dict[str, Any], key: str = "wer") -> str:
    value = r.get(key)
    if value is None or value != value:
        return "-"
    return f"{value:.1%} [{r[f'{key}_low']:.1%}, {r[f'{key}_high']:.1%}]"


def _human(r: dict[str, Any]) -> str:
    value = r.get("human_wer")
    return "-" if value is None or value != value else f"{value:.1%} (n={r['human_n']})"


def _print(run: TranscriptSlices, k: int = 12, wide: bool = False) -> None:
    result, console = run.result, out_console()
    wer, cer = result["wer"], result["cer"]
    human = result["human_wer"]
    say_lines(
        f"{result['dataset']}: WER {wer['value']:.1%} [{wer['low']:.1%}, {wer['high']:.1%}], "
        f"CER {cer['value']:.1%}\n  recogniser {result['recogniser']}\n  human-level WER "
        + ("unknown (no clip transcribed twice)" if human is None
           else f"{human:.1%} on {result['human_clips']} clips"), wide=wide)
    rows = [[r["tag"], r["n"], _rate(r), _human(r), f"{r['share_of_errors']:.0%}"]
            for r in result["tag_table"][1:k + 1]]
    console.print(table("WER per tag, largest gap to human level first",
                        ["tag", "clips", "WER [95%]", "human WER", "share of errors"], rows,
                        wide=wide))
    found = result.get("slices")
    if found:
        rows = [[r["slice"], r["n"], _rate(r), "yes" if r.get("is_significant") else "no"]
                for r in found[:5]]
        console.print(table("slices of high WER (audio features and tags)",
                            ["slice", "clips", "WER [95%]", "significant"], rows,
                            wide=wide, flexible=("slice",)))


def speech_slices_cmd(
    name: str, workspace: Path, *, recogniser: str | None, hypotheses: Path | None,
    by: list[str] | None, find: bool, alpha: float, seed: int, as_json: bool, wide: bool = False,
) -> None:
    """Run the transcript error analysis and print it (or its JSON)."""
    ws = open_workspace(workspace)
    with progress(f"Analysing the recogniser's errors on {name}"), \
            cli_flags(phrases=_PHRASES, by="--by", alpha="--alpha", seed="--seed"):
        run = run_transcript_slices(ws, name, recogniser=recogniser, hypotheses=hypotheses,
                                    by=by, find=find, alpha=alpha, seed=seed)
    if as_json:
        emit_json({"analysis": run.analysis, **run.result})
    else:
        _print(run, wide=wide)
    raise typer.Exit(0)
