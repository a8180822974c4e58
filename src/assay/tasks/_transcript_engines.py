"""The collect engines behind :class:`assay.tasks.transcript.TranscriptTask`.

The agreement engine is :func:`assay.collect.transcript_report.transcript_agreement_report`
itself; consensus transcripts are translated here into the shape the consensus workflow
reads (``labels`` indexed by item with a ``label`` column, ``annotators``). Engines are
imported when first used (``tasks`` sits below the engines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from assay.exceptions import InputError

__all__ = [
    "TranscriptConsensusLabels",
    "transcript_agreement_report",
    "transcript_consensus_labels",
]

#: The consensus methods of transcripts: ROVER with transcribers weighted by their
#: estimated error rate, or plain (unweighted) ROVER voting.
METHODS = ("rover", "rover_unweighted")


def transcript_agreement_report(
    annotations: pd.DataFrame, *, labelbook: Any = None, tags: Any = None, seed: int = 0
) -> Any:
    """:func:`assay.collect.transcript_report.transcript_agreement_report`: WER / CER per
    pair, clip and tag (``tags``: clip -> tag or list of tags), the convention report, and
    the same after the normalisation of ``labelbook`` (a label-book version, its
    ``normalisation`` section, or None)."""
    from assay.collect.transcript_report import transcript_agreement_report as report

    return report(annotations, labelbook=labelbook, tags=tags, seed=seed)


@dataclass
class TranscriptConsensusLabels:
    """Consensus transcripts as the consensus workflow reads them.

    Attributes
    ----------
    labels : DataFrame indexed by item
        ``label`` (the consensus transcript), ``quality`` (the mean confidence of its
        words), ``n_transcripts``, ``word_confidence`` (one confidence per word of the
        label, in order) and ``low_confidence_words`` (the words fewer than half of the
        transcribers' weight wrote, e.g. ``"weather (0.33)"``).
    annotators : DataFrame indexed by annotator
        ``n_items``, ``error_rate`` (from pairwise disagreement), ``wer`` against the
        consensus, ``weight``.
    words : DataFrame
        ``item``, ``position``, ``word``, ``confidence``: the per-word confidence.
    result : TranscriptConsensus
    """

    labels: pd.DataFrame
    annotators: pd.DataFrame
    words: pd.DataFrame
    result: Any

    def summary(self) -> str:
        """Clips, mean word confidence, low-confidence words and the transcribers."""
        words = self.words
        low = int((words["confidence"] < 0.5).sum())
        lines = [
            f"{len(self.labels)} consensus transcripts, {len(words)} words, mean word "
            f"confidence {words['confidence'].mean() if len(words) else 1.0:.3f}",
            f"  {low} words written by less than half of the transcribers' weight",
        ]
        for name, row in self.annotators.iterrows():
            lines.append(
                f"  {name}: {int(row['n_items'])} clips, WER {row['wer']:.3f} "
                f"against the consensus, weight {row['weight']:.2f}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Transcripts with their per-word confidence (first 1,000 clips), JSON-ready."""
        by_item = self.words.groupby("item", sort=False)
        head = self.labels.head(1000)
        return {
            "kind": "transcript",
            "transcripts": [
                {
                    "item": str(item),
                    "transcript": row["label"],
                    "quality": float(row["quality"]),
                    "words": [
                        {"word": w, "confidence": float(c)}
                        for w, c in zip(*_words(by_item, item), strict=True)
                    ],
                }
                for item, row in head.iterrows()
            ],
        }


def _words(groups: Any, item: Any) -> tuple[list[str], list[float]]:
    try:
        frame = groups.get_group(item)
    except KeyError:
        return [], []
    return frame["word"].tolist(), frame["confidence"].tolist()


def _word_confidence(words: pd.DataFrame, items: pd.Index) -> list[list[float]]:
    """Per item, the confidence of each consensus word (3 decimals), in order."""
    per_item: dict[Any, list[float]] = {}
    for item, confidence in zip(words["item"], words["confidence"], strict=True):
        per_item.setdefault(item, []).append(round(float(confidence), 3))
    return [per_item.get(item, []) for item in items]


def _low_words(words: pd.DataFrame, items: pd.Index) -> list[str]:
    low = words[words["confidence"] < 0.5]
    shown: dict[Any, list[str]] = {}
    for item, word, confidence in zip(low["item"], low["word"], low["confidence"], strict=True):
        shown.setdefault(item, []).append(f"{word} ({confidence:.2f})")
    return [", ".join(shown.get(item, [])) for item in items]


def transcript_consensus_labels(
    annotations: pd.DataFrame, *, method: str = "rover", labelbook: Any = None
) -> TranscriptConsensusLabels:
    """Consensus transcript per clip by ROVER-style word alignment and voting
    (:func:`assay.collect.consensus_transcripts.transcript_consensus`).

    Parameters
    ----------
    annotations : DataFrame
        ``item``, ``annotator``, ``label`` (the text).
    method : {"rover", "rover_unweighted"}
        Transcribers weighted by their estimated error rate, or plain voting.
    labelbook : label book, its ``normalisation`` section, or None
        Conventions applied to every text before the words are aligned (the consensus
        is then written in the label book's convention); None: texts as typed.

    Raises
    ------
    InputError
        Another ``method``, or annotations the engine refuses.
    """
    from assay.collect.consensus_transcripts import transcript_consensus

    if method not in METHODS:
        raise InputError(
            f"method {method!r} does not combine transcripts; use {' or '.join(METHODS)}."
        )
    from assay.collect.normalisation import as_normalisation

    normalisation = as_normalisation(labelbook)
    if normalisation is not None:
        texts = annotations["label"].map(lambda t: normalisation.apply(str(t)), na_action="ignore")
        annotations = annotations.assign(label=texts)
    result = transcript_consensus(annotations, weighted=method == "rover")
    t = result.transcripts
    labels = pd.DataFrame(
        {
            # an empty consensus (every word voted out) keeps the clip's label on commit
            "label": t["transcript"].where(t["transcript"].str.strip() != "", None),
            "quality": t["confidence"],
            "n_transcripts": t["n_transcripts"],
            "word_confidence": _word_confidence(result.words, t.index),
            "low_confidence_words": _low_words(result.words, t.index),
        },
        index=t.index,
    )
    return TranscriptConsensusLabels(labels, result.annotators, result.words, result)
