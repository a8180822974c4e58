"""A batch of production clips against a speech dataset: drift of audio features and of
the recogniser's confidence, and low-confidence clips sent to transcription review.

Both sides are measured the same way: the fixed recogniser (cached per clip) or the
user's recogniser output hears every clip, :func:`assay.deploy.drift_audio.speech_features`
measures duration, loudness, noise floor, SNR estimate and speaking rate (words of the
*hypothesis* per second on both sides, so the two are comparable: production clips have
no transcript), and :func:`assay.deploy.drift_audio.speech_drift` tests them and the
confidence. With ``n_review``, clips are drawn by
:func:`assay.deploy.drift_audio.sample_low_confidence` (low confidence first, a random
share kept for unbiased estimates) and enter the dataset's review queue (source
``drift_sample``) with the recogniser's words as the text to correct and the clip's path
in the entry's payload. Recorded as a ``speech_batch`` analysis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._json import jsonable
from assay.deploy.drift import DriftReport
from assay.deploy.drift_audio import sample_low_confidence, speech_drift, speech_features
from assay.exceptions import InputError
from assay.store.features import media_paths
from assay.store.workspace import Workspace
from assay.train.recipe._speech import get_recogniser, normalise_words
from assay.workflows._recogniser import (
    read_hypotheses,
    recogniser_output,
    spoken_clips,
    workspace_cache,
)
from assay.workflows.transcript_audit import check_transcript_dataset

__all__ = ["SpeechBatch", "batch_clips", "check_speech_batch"]


@dataclass(frozen=True)
class SpeechBatch:
    """The checked batch.

    Attributes
    ----------
    drift : DriftReport
        Audio features and ``confidence`` (a prediction column).
    reference, batch : DataFrame
        Per clip: features, ``confidence``, ``hypothesis`` (and ``file`` for the batch).
    sampled : DataFrame
        The clips sent to review (empty without ``n_review``).
    queued : int
    """

    drift: DriftReport
    reference: pd.DataFrame
    batch: pd.DataFrame
    sampled: pd.DataFrame
    queued: int

    def to_dict(self) -> dict[str, Any]:
        """Verdict, per-column tests, confidence on both sides and the sampled clips."""
        columns = self.drift.columns.reset_index().rename(columns={"index": "column"})
        mean = {
            side: float(np.nanmean(frame["confidence"]))
            if frame["confidence"].notna().any()
            else None
            for side, frame in (("reference", self.reference), ("batch", self.batch))
        }
        return jsonable(
            {
                "drifted": self.drift.drifted,
                "rule": self.drift.rule,
                "n_reference": len(self.reference),
                "n_batch": len(self.batch),
                "mean_confidence": mean,
                "columns": columns.astype(object).where(columns.notna(), None).to_dict("records"),
                "queued": self.queued,
                "sampled": self.sampled[["file", "confidence", "reason"]].to_dict("records")
                if len(self.sampled)
                else [],
            }
        )


def batch_clips(folder: Path) -> list[Path]:
    """The WAV files under ``folder`` (sorted; subfolders too).

    Raises
    ------
    InputError
        Not a folder, or no WAV file in it.
    """
    if not folder.is_dir():
        raise InputError(
            f"{folder} is not a folder; give the folder of the production clips (WAV files)."
        )
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise InputError(f"{folder} holds no .wav file; give the folder of the production clips.")
    return files


def _measured(clips: list[Any], heard: pd.DataFrame) -> pd.DataFrame:
    words = [normalise_words(h) for h in heard["hypothesis"].fillna("")]
    table = speech_features(clips, words=words)
    table["confidence"] = heard["confidence"].to_numpy(float)
    table["hypothesis"] = heard["hypothesis"].fillna("").to_numpy(dtype=object)
    return table


def _batch_heard(
    ws: Workspace, files: list[Path], folder: Path, recogniser: str | None, hypotheses: Path | None
) -> pd.DataFrame:
    names = [str(p.relative_to(folder)) for p in files]
    if hypotheses is not None:
        return read_hypotheses(hypotheses, names, names).reset_index(drop=True)
    engine = get_recogniser(str(recogniser), cache=workspace_cache(ws))
    return engine.transcribe(files)


def check_speech_batch(
    ws: Workspace,
    ref: str,
    batch: Path,
    *,
    recogniser: str | None = None,
    hypotheses: Path | None = None,
    reference_hypotheses: Path | None = None,
    n_review: int = 0,
    seed: int = 0,
) -> SpeechBatch:
    """Drift of a folder of production clips from the transcript dataset ``ref``.

    Parameters
    ----------
    ws : Workspace
    ref : str
        The reference version (a transcript dataset with its clips).
    batch : Path
        A folder of WAV clips.
    recogniser : str, optional
        A built-in recogniser for both sides (``"pocketsphinx"``).
    hypotheses, reference_hypotheses : Path, optional
        Instead: the user's recogniser output on the batch (``file`` relative to the
        folder) and on the reference clips (CSV ``file,hypothesis[,confidence]``).
    n_review : int
        Clips to send to transcription review (0: none).
    seed : int

    Raises
    ------
    InputError
        Not a transcript dataset, no clips, no recogniser output for a side, bad files.
    """
    start = time.perf_counter()
    if n_review < 0:
        raise InputError(f"n_review is {n_review}; give 0 or more clips to review.")
    version = ws.dataset(ref)
    check_transcript_dataset(version)
    frame = spoken_clips(version.to_pandas())
    files = batch_clips(batch)
    if (recogniser is None) == (hypotheses is None):
        raise InputError(
            "give either recogniser='pocketsphinx' or hypotheses= (the "
            "recogniser's output), not both."
        )
    if hypotheses is not None and reference_hypotheses is None:
        raise InputError(
            "hypotheses of the batch need the same recogniser's output on the "
            "reference clips (reference_hypotheses=)."
        )
    ref_heard = recogniser_output(
        ws, version, frame, recogniser=recogniser, hypotheses=reference_hypotheses
    )
    reference = _measured(media_paths(version, frame), ref_heard.reset_index(drop=True))
    current = _measured(list(files), _batch_heard(ws, files, batch, recogniser, hypotheses))
    current.insert(0, "file", [str(p) for p in files])
    report = speech_drift(reference, current, seed=seed)
    sampled, queued = _review(ws, version.name, current, n_review, seed)
    result = SpeechBatch(report, reference, current, sampled, queued)
    ws.record_analysis(
        "speech_batch",
        result.to_dict(),
        dataset=version.name,
        params={"batch": str(batch), "recogniser": recogniser, "n_review": n_review, "seed": seed},
        duration_s=time.perf_counter() - start,
    )
    return result


def _review(
    ws: Workspace, dataset: str, current: pd.DataFrame, n: int, seed: int
) -> tuple[pd.DataFrame, int]:
    if n == 0:
        return current.iloc[:0].assign(reason=pd.Series(dtype=str)), 0
    if current["confidence"].isna().all():
        raise InputError(
            "the batch's recogniser output has no confidence; give a "
            "confidence column, or sample without confidence."
        )
    picked = sample_low_confidence(current, n=n, seed=seed)
    entries = pd.DataFrame(
        {
            "item_id": ["clip:" + Path(f).name for f in picked["file"]],
            "reason": [
                f"production clip, recogniser confidence {c:.2f} ({r})"
                for c, r in zip(picked["confidence"], picked["reason"], strict=True)
            ],
            "score": np.clip(picked["confidence"].fillna(0).to_numpy(float), 0, 1),
            "suggested_label": [normalise_words(h) or None for h in picked["hypothesis"]],
            "payload": [
                {"path": f, "confidence": float(c), "inclusion_probability": float(p)}
                for f, c, p in zip(
                    picked["file"],
                    picked["confidence"].fillna(0),
                    picked["inclusion_probability"],
                    strict=True,
                )
            ],
        }
    )
    return picked, ws.review.add(dataset, entries, source="drift_sample")
