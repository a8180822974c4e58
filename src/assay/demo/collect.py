"""Demo chapter: double labeling, an ambiguous class pair, a label-book revision.

Two labelers label a stratified sample of the digits. Under label book v1 the
definitions of "1" and "7" are ambiguous: labeler B reads a "1" drawn with a flag at
the top (ink in the image's top row, a real property of these images) as a "7". The
agreement report finds the pair; label book v2 adds a rule; a fresh sample labeled
under v2 shows the agreement of class 1 rising.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from assay.collect import agreement, classes_to_revise, consensus, plan_sample
from assay.demo.data import PIXELS
from assay.store.workspace import Workspace

__all__ = ["CHAPTERS"]

BOOK_V1 = {
    str(d): {"description": f"the handwritten digit {d}", "rules": [], "examples": {}}
    for d in range(10)
}
BOOK_V1["1"]["description"] = "a vertical stroke"
BOOK_V1["7"]["description"] = "a stroke with something at the top"


def _book_v2() -> dict[str, dict]:
    book = {k: dict(v) for k, v in BOOK_V1.items()}
    book["1"] = {**book["1"], "rules": ["a 1 may have a flag or serif at the top; it is still a 1"]}
    book["7"] = {
        **book["7"],
        "description": "a stroke with a horizontal bar across the top",
        "rules": ["the top bar spans at least half the width; a short flag is a 1"],
    }
    return book


def _flagged_ones(frame: pd.DataFrame) -> pd.Series:
    """Ones drawn with ink in the top row of the 8x8 image (a flag or serif)."""
    top_row = frame[PIXELS[:8]].to_numpy()
    return (frame["label"] == 1) & (top_row.sum(axis=1) >= 12)


def _simulate(sample: pd.DataFrame, confusing: bool, seed: int) -> pd.DataFrame:
    """Labels of annotators A and B: 2% random slips each; B misreads flagged 1s as 7s
    while the label book is ambiguous (10% of them after the revision)."""
    rng = np.random.default_rng(seed)
    truth = sample["label"].to_numpy()
    rows = []
    flagged = _flagged_ones(sample).to_numpy()
    for annotator, misread in (("ann", 0.0), ("ben", 0.9 if confusing else 0.1)):
        labels = truth.copy()
        slips = rng.random(len(labels)) < 0.02
        labels[slips] = rng.integers(0, 10, size=int(slips.sum()))
        labels[flagged & (rng.random(len(labels)) < misread)] = 7
        rows.append(
            pd.DataFrame(
                {"item": sample["item_id"].to_numpy(), "annotator": annotator, "label": labels}
            )
        )
    return pd.concat(rows, ignore_index=True)


def _record_rounds(ws: Workspace, ref: str, reports: list[Any]) -> None:
    """One agreement analysis per label-book version (1, 2, ...), for the report."""
    for number, rep in enumerate(reports, start=1):
        ws.record_analysis(
            "agreement",
            {
                **rep.to_dict(),
                "labelbook_version": number,
                "per_class": rep.per_class["agreement"].to_dict(),
            },
            dataset=ref,
            params={"labelbook_version": number},
        )


def chapter_collect(ws: Workspace, console: Console, result) -> None:  # type: ignore[no-untyped-def]
    """Double-label two samples, revise the label book in between, compare agreement."""
    version = ws.dataset("digits")
    frame = version.to_pandas()
    frame["label"] = result.truth.loc[frame["item_id"]].to_numpy()  # what careful labelers see
    ws.labelbook.save("digits", BOOK_V1, message="first definitions", author="lead")
    first = plan_sample(frame, n=400, by=["label"], seed=1).sample
    round1 = _simulate(first, confusing=True, seed=1)
    ws.annotations.add("digits", round1, labelbook_version=1)
    report1 = agreement(round1, ci=False)
    worst = classes_to_revise(report1, k=1)
    ws.labelbook.save(
        "digits", _book_v2(), message="clarify 1 vs 7 (flags and bars)", author="lead"
    )
    rest = frame[~frame["item_id"].isin(first["item_id"])]
    second = plan_sample(rest, n=400, by=["label"], seed=2).sample
    round2 = _simulate(second, confusing=False, seed=2)
    ws.annotations.add("digits", round2, labelbook_version=2)
    report2 = agreement(round2, ci=False)
    cls = worst.index[0]
    before, after = report1.per_class.loc[cls, "agreement"], report2.per_class.loc[cls, "agreement"]
    both = pd.concat([round1, round2])
    agreed = consensus(both, method="dawid_skene")
    _record_rounds(ws, version.ref, [report1, report2])
    console.print(
        f"[bold]Collect[/bold]  two labelers on 400 digits: Krippendorff's alpha "
        f"{report1.krippendorff_alpha:.3f}; class {cls} agrees least ({before:.2f}, confused "
        f"with {worst.iloc[0]['confused_with']}). Label book v2 clarifies it; on 400 new "
        f"digits class {cls} agreement rises to {after:.2f} (alpha {report2.krippendorff_alpha:.3f}). "
        f"Consensus (Dawid-Skene) over {len(agreed.labels)} items; human-level performance "
        f"{report2.hlp:.3f}."
    )
    result.facts["collect"] = {
        "class": str(cls),
        "agreement_before": float(before),
        "agreement_after": float(after),
        "alpha_before": report1.krippendorff_alpha,
        "alpha_after": report2.krippendorff_alpha,
    }
    result.next_steps.append(f"assay agree digits --by-labelbook -w {ws.location}")


CHAPTERS = [chapter_collect]
