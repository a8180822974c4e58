"""Audit a speech dataset's transcripts with a fixed recogniser: suspicious clips, queued.

The recogniser is the built-in offline one (``recogniser="pocketsphinx"``, its output
cached per clip in the workspace) or the user's own, as a transcript file
(``hypotheses=``, a CSV ``file,hypothesis[,confidence]``). Both sides are compared after
the label book's normalisation (its latest version with one: "oh" for "zero" is then no
word error) and :func:`assay.train.recipe._speech.normalise_words` (case and punctuation
are not word errors); the dataset's task ranks the clips
(:meth:`assay.tasks.transcript.TranscriptTask.find_label_issues`, i.e.
:func:`assay.find_transcript_issues`) and every flagged clip enters the review queue
with the recogniser's words as the suggested transcript (cased like the dataset's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.store.datasets import DatasetVersion
from assay.store.workspace import Workspace
from assay.workflows._recogniser import (
    book_normalisation,
    compared_words,
    recogniser_output,
    spoken_clips,
)

__all__ = ["TranscriptAudit", "check_transcript_dataset", "run_transcript_audit"]


@dataclass(frozen=True)
class TranscriptAudit:
    """Transcript label issues of one dataset version.

    Attributes
    ----------
    ref : str
        The audited version.
    items : DataFrame, one row per clip, most suspicious first
        ``item_id``, the table contract (``is_label_issue``, ``label_quality``,
        ``given_label``, ``suggested_label``), ``wer``, ``errors``, ``n_words``,
        ``expected_errors`` and the recogniser's ``confidence``.
    recogniser : str
        ``pocketsphinx`` or the hypotheses file.
    corpus_wer : float
        The recogniser's WER over all clips against the given transcripts.
    queued : int
    seconds : float
    """

    ref: str
    items: pd.DataFrame
    recogniser: str
    corpus_wer: float
    queued: int
    seconds: float

    @property
    def flagged(self) -> pd.DataFrame:
        """The clips whose transcript is a likely label issue."""
        return self.items[self.items["is_label_issue"]]

    def to_dict(self, k: int = 20) -> dict[str, Any]:
        """JSON-ready: counts, the recogniser's WER and the ``k`` most suspicious clips."""
        worst = self.items.head(k)
        return {
            "ref": self.ref,
            "recogniser": self.recogniser,
            "n_clips": len(self.items),
            "n_flagged": len(self.flagged),
            "corpus_wer": self.corpus_wer,
            "queued": self.queued,
            "worst": [
                {
                    "item_id": str(r["item_id"]),
                    "label_quality": float(r["label_quality"]),
                    "wer": float(r["wer"]),
                    "given_label": r["given_label"],
                    "suggested_label": r["suggested_label"],
                    "is_label_issue": bool(r["is_label_issue"]),
                }
                for r in worst.to_dict("records")
            ],
        }


def check_transcript_dataset(version: DatasetVersion) -> None:
    """Refuse a dataset whose labels are not transcripts.

    Raises
    ------
    InputError
    """
    if version.task.kind != "transcript":
        raise InputError(
            f"{version.ref} holds {version.task.kind} labels; a recogniser's output "
            "audits a transcript dataset (import audio clips with their transcripts)."
        )


def _cased_like(given: pd.Series, texts: pd.Series) -> pd.Series:
    """Upper-case the suggestions when the given transcripts are mostly upper case."""
    joined = "".join(given.astype(str))
    upper = sum(c.isupper() for c in joined) > sum(c.islower() for c in joined)
    return texts if upper else texts.str.lower()


def transcript_issues(
    version: DatasetVersion,
    frame: pd.DataFrame,
    heard: pd.DataFrame,
    *,
    fdr: float = 0.05,
    ws: Workspace | None = None,
) -> pd.DataFrame:
    """The task's issue table over compared words (the label book's normalisation of
    ``ws``'s latest book, when it has one, then case and punctuation dropped), with
    ``item_id`` and ``confidence``, most suspicious first (``given_label`` is the
    transcript as stored)."""
    ids = frame[version.roles.id].astype(str).to_numpy()
    given = pd.Series(frame[version.roles.label].to_numpy(dtype=object), index=ids)
    book = book_normalisation(ws, version.name) if ws is not None else None
    hyp = pd.Series(compared_words(heard["hypothesis"].reindex(ids).fillna(""), book), index=ids)
    table = version.task.find_label_issues(
        pd.Series(compared_words(given, book), index=ids), hyp, fdr=fdr
    )
    table["given_label"] = given.to_numpy(dtype=object)
    table["suggested_label"] = _cased_like(given, hyp).to_numpy(dtype=object)
    table["confidence"] = heard["confidence"].reindex(ids).to_numpy(dtype=float)
    table.insert(0, "item_id", ids)
    return table.sort_values("label_quality", kind="mergesort")


def run_transcript_audit(
    ws: Workspace,
    ref: str,
    *,
    recogniser: str | None = None,
    hypotheses: Path | None = None,
    queue: bool = True,
    fdr: float = 0.05,
) -> TranscriptAudit:
    """Find transcript label issues in ``ref`` and queue the flagged clips (source
    ``label_issue``); recorded as a ``transcript_audit`` analysis.

    Raises
    ------
    InputError
        Not a transcript dataset, both or neither of ``recogniser`` / ``hypotheses``, the
        recogniser not installed, unreadable audio, or a bad hypotheses file.
    """
    start = time.perf_counter()
    version = ws.dataset(ref)
    check_transcript_dataset(version)
    frame = spoken_clips(version.to_pandas())
    heard = recogniser_output(ws, version, frame, recogniser=recogniser, hypotheses=hypotheses)
    table = transcript_issues(version, frame, heard, fdr=fdr, ws=ws)
    errors, words = table["errors"].sum(), max(float(table["n_words"].sum()), 1.0)
    queued = _queue(ws, version.name, table) if queue else 0
    name = recogniser if recogniser is not None else str(hypotheses)
    audit = TranscriptAudit(
        version.ref,
        table.reset_index(drop=True),
        name,
        float(errors / words),
        queued,
        time.perf_counter() - start,
    )
    ws.record_analysis(
        "transcript_audit",
        audit.to_dict(),
        dataset=version.name,
        params={
            "recogniser": recogniser,
            "fdr": fdr,
            "hypotheses": str(hypotheses) if hypotheses else None,
        },
        duration_s=audit.seconds,
    )
    return audit


def _queue(ws: Workspace, dataset: str, table: pd.DataFrame) -> int:
    flagged = table[table["is_label_issue"].to_numpy(bool)]
    if not len(flagged):
        return 0
    reason = [
        f"transcript disagrees with the recogniser: {int(e)} word edits where "
        f"{x:.1f} are usual (WER {w:.0%})"
        for e, x, w in zip(
            flagged["errors"], flagged["expected_errors"], flagged["wer"], strict=True
        )
    ]
    entries = pd.DataFrame(
        {
            "item_id": flagged["item_id"].to_numpy(),
            "reason": reason,
            "score": np.clip(flagged["label_quality"].to_numpy(dtype=float), 0, 1),
            "given_label": flagged["given_label"].to_numpy(dtype=object),
            "suggested_label": flagged["suggested_label"].to_numpy(dtype=object),
        }
    )
    return ws.review.add(dataset, entries, source="label_issue")
