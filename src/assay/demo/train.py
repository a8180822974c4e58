"""Demo chapter: find the known label errors, analyse the errors, clean vs collect.

``digits@v1`` holds 12% known label errors (the demo knows the true labels, assay does
not). The audit, with the fixed recipe held still, ranks every label, flags the likely
errors and puts them in the review queue (the iteration chapter decides them next); the
demo scores the flags against the truth. Error analysis tabulates accuracy per tag
against human-level performance from the collect chapter's double labels, and looks for
weak slices. The learning curves answer: is cleaning worth more than collecting?
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console

from assay.demo.recipes import ensure_recipe
from assay.exceptions import InputError
from assay.store.workspace import Workspace
from assay.train.curves import equivalence_text
from assay.workflows.audit import record_audit, run_audit
from assay.workflows.curve import record_curve, run_curve
from assay.workflows.slices import record_slices, run_slices

__all__ = ["CHAPTERS", "flag_quality"]


def flag_quality(flagged_ids: Any, wrong_ids: Any) -> dict[str, float]:
    """Precision and recall of flagged items against the items known to be wrong."""
    flagged, wrong = {str(i) for i in flagged_ids}, {str(i) for i in wrong_ids}
    hits = len(flagged & wrong)
    return {
        "flagged": len(flagged),
        "wrong": len(wrong),
        "precision": hits / len(flagged) if flagged else 0.0,
        "recall": hits / len(wrong) if wrong else 0.0,
    }


def _wrong_ids(ws: Workspace, ref: str, truth: Any) -> list[Any]:
    frame = ws.dataset(ref).to_pandas(["item_id", "label"])
    true = truth.loc[frame["item_id"]].to_numpy()
    return frame["item_id"][frame["label"].to_numpy() != true].tolist()


def chapter_audit(ws: Workspace, console: Console, result) -> None:  # type: ignore[no-untyped-def]
    """Audit digits@v1 with the recipe; score the flags against the known errors."""
    recipe = ensure_recipe(ws)
    ref = ws.dataset("digits").ref
    run = run_audit(ws, ref, recipe=recipe, seed=0, n_jobs=1)
    record = record_audit(ws, run, queue=True)
    label = run.report.issues
    flagged = run.item_ids[label["is_label_issue"].to_numpy(dtype=bool)]
    score = flag_quality(flagged, _wrong_ids(ws, ref, result.truth))
    queued = record.queued
    console.print(
        f"[bold]Train[/bold]  audit of {ref} with recipe {recipe}: {score['flagged']} labels "
        f"flagged as likely wrong; against the {score['wrong']} known errors precision "
        f"{score['precision']:.2f}, recall {score['recall']:.2f}. {sum(queued.values())} items "
        f"entered the review queue ({', '.join(f'{k} {v}' for k, v in queued.items())}); the "
        "report shows the worst as images."
    )
    result.facts["audit"] = {**score, "queued": queued, "analysis": record.analysis}
    result.next_steps.append(f"assay review list digits --source label_issue -w {ws.location}")


def chapter_errors(ws: Workspace, console: Console, result) -> None:  # type: ignore[no-untyped-def]
    """Tag table against HLP, discovered slices, and clean vs collect."""
    recipe = ensure_recipe(ws)
    ref = ws.dataset("digits").ref
    try:
        run = run_slices(ws, ref, recipe=recipe, hlp_from_annotations=True, find=True)
    except InputError:  # no double labels (the collect chapter did not run)
        run = run_slices(ws, ref, recipe=recipe, find=True)
    record_slices(ws, run)
    res = run.result
    top = res["tag_table"]["rows"][0]
    found = (res.get("slices") or {}).get("rows", [])
    curve = run_curve(ws, ref, recipe=recipe, repeats=3, seed=0, n_jobs=1)
    record_curve(ws, curve)
    cur = curve.result
    est, low, high = (np.inf if v is None else v for v in cur["equivalent_extra"])
    console.print(
        f"        error analysis: accuracy {res['accuracy']:.3f}; the tag with the most to "
        f"gain is {top['tag']} ({top['gain']:.1%} of accuracy"
        + (f", HLP {top['hlp']:.2f}" if top.get("hlp") is not None else "")
        + f"); {sum(bool(r['is_significant']) for r in found)} significant weak slice(s) found."
    )
    console.print(
        f"        clean vs collect ({cur['noise_rate']:.0%} estimated label noise): "
        + equivalence_text(cur["equivalent_extra"], cur["n"])
        + f"; verdict: [bold]{cur['verdict']}[/bold]"
        + (f" ({cur['tie']})." if cur.get("tie") else ".")
    )
    result.facts["errors"] = {"top_tag": top["tag"], "slices": len(found)}
    result.facts["curve"] = {
        "equivalent_extra": [est, low, high],
        "verdict": cur["verdict"],
        "settled": cur.get("verdict_settled"),
        "noise_rate": cur["noise_rate"],
    }
    result.next_steps.append(f"assay slices digits --hlp-from-annotations --find -w {ws.location}")


CHAPTERS = [chapter_audit, chapter_errors]
