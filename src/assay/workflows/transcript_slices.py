"""Error analysis of a speech dataset in words (``assay slices NAME`` on transcripts).

The fixed recogniser's output (the built-in one, cached per clip, or the user's
transcript file) is scored against the given transcripts after
:func:`assay.train.recipe._speech.normalise_words`: WER / CER per clip, per tag value
(the tag columns, or the speaker-like columns of the clips, and a duration bin) with
95% bootstrap intervals, against human-level WER from the transcribers' disagreement
when the dataset's annotations hold clips transcribed twice or more; and, with
``find``, slices of high WER discovered over the clips' audio features (duration,
loudness, noise floor, SNR estimate, speaking rate) and tags
(:mod:`assay.train.slices._speech`). Recorded as a ``transcript_slices`` analysis.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay._json import jsonable
from assay.deploy.drift_audio import speech_features
from assay.exceptions import InputError
from assay.store.datasets import DatasetVersion
from assay.store.features import media_paths
from assay.store.workspace import Workspace
from assay.train.recipe._speech import normalise_words
from assay.train.slices._speech import (
    clip_errors,
    corpus_rate,
    duration_bin,
    human_clip_errors,
    speech_slices,
    wer_by_tag,
)
from assay.workflows._recogniser import (
    book_normalisation,
    compared_words,
    recogniser_output,
    spoken_clips,
)
from assay.workflows.transcript_audit import check_transcript_dataset

__all__ = ["TranscriptSlices", "run_transcript_slices", "slice_tags"]

#: A column with at most this many distinct values (and at least two) is a tag.
MAX_TAG_VALUES = 50


@dataclass(frozen=True)
class TranscriptSlices:
    """WER per tag and discovered slice of one version.

    Attributes
    ----------
    result : dict
        JSON-ready: ``dataset``, ``recogniser``, ``wer`` / ``cer`` (with intervals),
        ``human_wer`` (None without double transcripts), ``tag_table`` and ``slices``
        (lists of rows, see :func:`assay.train.slices._speech.wer_by_tag`).
    clips : DataFrame, one row per clip
        ``item_id``, given and heard words, edits, WER / CER, audio features, confidence.
    analysis : int
        The recorded analysis's id.
    """

    result: dict[str, Any]
    clips: pd.DataFrame
    analysis: int


def slice_tags(
    version: DatasetVersion, frame: pd.DataFrame, by: Sequence[str] | None
) -> pd.DataFrame:
    """The tag columns: ``by``, else the version's tags, else every non-numeric column
    with 2 to :data:`MAX_TAG_VALUES` values that plays no role (a speaker, a condition).

    Raises
    ------
    InputError
        A column of ``by`` the version does not have.
    """
    if by:
        missing = [c for c in by if c not in frame.columns]
        if missing:
            raise InputError(
                f"{version.ref} has no column {missing[0]!r} to slice by; its "
                f"columns are: {', '.join(map(str, frame.columns))}."
            )
        return frame[list(by)].astype(str)
    if version.roles.tags:
        return frame[list(version.roles.tags)].astype(str)
    roles = {version.roles.id, version.roles.label, version.roles.media, version.roles.split}
    chosen = [
        c
        for c in frame.columns
        if c not in roles
        and not pd.api.types.is_float_dtype(frame[c])
        and 2 <= frame[c].nunique() <= MAX_TAG_VALUES
    ]
    return frame[chosen].astype(str)


def _human(ws: Workspace, version: DatasetVersion, ids: list[str]) -> pd.DataFrame | None:
    """Per-clip transcriber disagreement, or None without a doubly transcribed clip."""
    annotations = ws.annotations.load(version.name)
    if annotations.empty:
        return None
    annotations = annotations.assign(
        item=annotations["item"].astype(str),
        label=annotations["label"].map(lambda t: normalise_words(t) if isinstance(t, str) else t),
    )
    human = human_clip_errors(annotations, ids)
    return human if human["words"].notna().any() else None


def _clip_table(
    ws: Workspace, version: DatasetVersion, frame: pd.DataFrame, heard: pd.DataFrame
) -> pd.DataFrame:
    ids = frame[version.roles.id].astype(str).tolist()
    book = book_normalisation(ws, version.name)
    given = compared_words(frame[version.roles.label], book)
    hyps = compared_words(heard["hypothesis"].reindex(ids).fillna(""), book)
    if not all(given):
        bad = ids[given.index("")]
        raise InputError(
            f"clip {bad!r} of {version.ref} has no word in its transcript; type "
            "its words or remove the clip."
        )
    table = clip_errors(given, hyps)
    features = speech_features(media_paths(version, frame), words=given)
    table = pd.concat(
        [pd.DataFrame({"item_id": ids, "given": given, "heard": hyps}), table, features], axis=1
    )
    table["confidence"] = heard["confidence"].reindex(ids).to_numpy(float)
    return table


def run_transcript_slices(
    ws: Workspace,
    ref: str,
    *,
    recogniser: str | None = None,
    hypotheses: Path | None = None,
    by: Sequence[str] | None = None,
    find: bool = True,
    alpha: float = 0.9,
    seed: int = 0,
) -> TranscriptSlices:
    """WER / CER per clip, tag and discovered slice, against human-level WER; recorded.

    Raises
    ------
    InputError
        Not a transcript dataset, no recogniser output, unreadable audio, unknown tags.
    """
    start = time.perf_counter()
    version = ws.dataset(ref)
    check_transcript_dataset(version)
    frame = spoken_clips(version.to_pandas())
    tags = slice_tags(version, frame, by)
    heard = recogniser_output(ws, version, frame, recogniser=recogniser, hypotheses=hypotheses)
    clips = _clip_table(ws, version, frame, heard)
    tags = tags.reset_index(drop=True).assign(duration=duration_bin(clips["duration_s"]))
    human = _human(ws, version, clips["item_id"].tolist())
    table = wer_by_tag(clips, tags, human=human, seed=seed)
    result: dict[str, Any] = {
        "dataset": version.ref,
        "recogniser": recogniser or str(hypotheses),
        "metric": "wer",
        "greater_is_better": False,
        "wer": corpus_rate(clips["word_errors"], clips["words"], seed=seed),
        "cer": corpus_rate(clips["char_errors"], clips["chars"], seed=seed + 1),
        "human_wer": None if human is None else float(table["human_wer"].iloc[0]),
        "human_clips": 0 if human is None else int(table["human_n"].iloc[0]),
        "tag_table": table.to_dict("records"),
    }
    if find:
        features = clips[["duration_s", "loudness_db", "noise_db", "snr_db", "speaking_rate"]]
        meta = pd.concat([tags, features], axis=1)
        found = speech_slices(clips, meta, human=human, alpha=alpha, seed=seed)
        ids = clips["item_id"].to_numpy()
        result["slices"] = [
            {**r, "members": [str(ids[i]) for i in r["members"]]} for r in found.to_dict("records")
        ]
    result = jsonable(result)
    analysis = ws.record_analysis(
        "transcript_slices",
        result,
        dataset=version.name,
        params={
            "recogniser": recogniser,
            "by": list(tags.columns),
            "find": find,
            "alpha": alpha,
            "seed": seed,
            "hypotheses": str(hypotheses) if hypotheses else None,
        },
        duration_s=time.perf_counter() - start,
    )
    return TranscriptSlices(result, clips, analysis)


def worst_clips(clips: pd.DataFrame, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` clips with the most word edits (JSON-ready)."""
    top = clips.sort_values(["word_errors", "wer"], ascending=False, kind="mergesort").head(k)
    return [
        {
            "item_id": r["item_id"],
            "wer": float(r["wer"]),
            "given": r["given"],
            "heard": r["heard"],
            "confidence": None if np.isnan(r["confidence"]) else float(r["confidence"]),
        }
        for r in top.to_dict("records")
    ]
