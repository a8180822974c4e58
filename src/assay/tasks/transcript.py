"""Transcripts: an item is an audio clip, its label the text said in it.

A label is a non-empty string (Arrow ``string``). Two labels are the same when their
texts are equal as typed (conventions such as case, fillers or apostrophes are the label
book's normalisation, applied where agreement is measured, never silently on import).
A change is described word by word from a minimal word alignment
(:func:`assay._alignment.describe_word_changes`): ``'todays' -> 'today's', removed
'um'``.

The engines: agreement between transcribers is word / character error rate
(:func:`assay.tasks._transcript_engines.transcript_agreement_report`), consensus is
ROVER-style word voting with per-word confidence
(:func:`assay.collect.consensus_transcripts.transcript_consensus`), label issues compare
the given transcripts with a recogniser's output
(:func:`assay.train.labels._transcripts.find_transcript_issues`), and a model is scored
by corpus WER and CER with intervals from a bootstrap over clips. Engines are imported
when first used (``tasks`` sits below the engines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay._alignment import describe_word_changes
from assay.exceptions import InputError
from assay.tasks.base import Interval, LabelSummary, RowNamer, Task, missing_values

__all__ = ["TranscriptTask", "as_transcript", "transcript_error_counts"]

#: A transcript longer than this is shown ellipsised in table cells.
_SHOWN_CHARS = 60


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def as_transcript(value: Any) -> str:
    """One transcript typed by a person: the text with its runs of whitespace collapsed.

    Raises
    ------
    InputError
        Not text, or empty (a clip with no speech is removed, not labeled ``""``).
    """
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"transcript {value[:40]!r} is not UTF-8 text; save it as UTF-8."
            ) from exc
    if not isinstance(value, str):
        raise InputError(f"transcript {value!r} is not text; give the words said in the clip.")
    text = " ".join(value.split())
    if not text:
        raise InputError(
            "the transcript is empty; type the words said in the clip (remove "
            "the clip if it holds no speech)."
        )
    return text


def transcript_error_counts(
    y_true: Any, y_pred: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Word and character edits and reference lengths of every clip.

    Returns
    -------
    word_errors, words, char_errors, chars : ndarray of shape (n_clips,)
    """
    from assay._wer import error_counts

    refs, hyps = _texts(y_true, "y_true"), _texts(y_pred, "y_pred")
    if len(refs) != len(hyps):
        raise InputError(
            f"y_true has {len(refs)} transcripts and y_pred {len(hyps)}; give one "
            "predicted transcript per clip."
        )
    if not refs:
        raise InputError("no transcripts to score; give at least one clip.")
    words = error_counts(refs, hyps, unit="word")
    chars = error_counts(refs, hyps, unit="char")
    return (
        words["errors"].to_numpy(float),
        words["n_reference"].to_numpy(float),
        chars["errors"].to_numpy(float),
        chars["n_reference"].to_numpy(float),
    )


def _texts(values: Any, what: str) -> list[str]:
    """Transcripts as str; a missing value (the recogniser heard nothing) is ``""``."""
    if isinstance(values, str):
        return [values]
    out = []
    for position, value in enumerate(values):
        if _missing(value):
            out.append("")
        elif isinstance(value, str):
            out.append(value)
        else:
            raise InputError(
                f"{what} holds {value!r} at position {position} (0-based), not "
                "text; give every transcript as a str."
            )
    return out


def _ratio_interval(
    errors: np.ndarray, totals: np.ndarray, n_boot: int, seed: int
) -> dict[str, float]:
    """Corpus rate ``sum errors / sum totals`` with a bootstrap interval over clips."""
    from assay._stats import bootstrap_indices, percentile_interval

    value = float(errors.sum() / max(float(totals.sum()), 1.0))
    replicates = np.concatenate(
        [
            errors[idx].sum(axis=1) / np.maximum(totals[idx].sum(axis=1), 1.0)
            for idx in bootstrap_indices(len(errors), n_boot, seed)
        ]
    )
    low, high = percentile_interval(replicates)
    return {"value": value, "low": min(low, value), "high": max(high, value), "n": int(len(errors))}


class TranscriptTask(Task):
    """The words said in an audio clip, as text."""

    kind = "transcript"
    review_widget = "transcript"
    agreement_statistics = ("wer", "cer", "krippendorff_alpha")
    consensus_method = "rover"
    metrics = ("wer", "cer")
    greater_is_better = False
    label_issue_options = ("fdr", "ids")

    # -- what a label is -------------------------------------------------------------

    def check_labels(
        self, column: pa.ChunkedArray, *, name: str, where: str, rows: RowNamer
    ) -> None:
        """Every row holds a non-empty text.

        Raises
        ------
        InputError
            The column is not text, or some transcripts are missing or blank.
        """
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            raise InputError(
                f"{where}: the label column {name!r} holds {column.type}, not text; a "
                "transcript label is the words said in the clip (check --label and --task)."
            )
        missing = missing_values(column)
        if missing.any():
            positions = np.flatnonzero(missing)
            count = f"{len(positions)} clip{'s' if len(positions) > 1 else ''}"
            raise InputError(
                f"{where}: the transcript column {name!r} is empty on {count}: "
                f"{rows(positions)}; type their transcripts, or remove those clips."
            )

    def coerce_label(self, value: Any, label_type: pa.DataType) -> Any:
        """The text typed by a reviewer, whitespace collapsed (:func:`as_transcript`)."""
        return as_transcript(value)

    def same_labels(self, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """The same text as typed; two missing transcripts are the same."""
        return np.array(
            [
                (_missing(a) and _missing(b)) or (not _missing(a) and not _missing(b) and a == b)
                for a, b in zip(old, new, strict=True)
            ],
            dtype=bool,
        )

    def unknown_names(self, value: Any, allowed: set[str]) -> list[str]:
        """Transcripts are free text: no word is outside a list."""
        return []

    # -- shown to people -------------------------------------------------------------

    def describe_labels(self, values: pd.Series) -> LabelSummary:
        """Clips, words, mean words per clip, distinct words and missing transcripts."""
        texts = [v for v in values if not _missing(v)]
        counts = np.array([len(str(t).split()) for t in texts], dtype=float)
        vocabulary = {w for t in texts for w in str(t).split()}
        rows: dict[str, Any] = {
            "clips": len(values),
            "words": int(counts.sum()),
            "mean words/clip": round(float(counts.mean()), 2) if len(counts) else 0.0,
            "distinct words": len(vocabulary),
            "missing": len(values) - len(texts),
        }
        return LabelSummary(("statistic", "value"), rows)

    def describe_change(self, old: Any, new: Any) -> str:
        """Word by word: ``'todays' -> 'today's', added 'um'`` (missing: ``missing``;
        ``(case only)`` when the words differ only in case)."""
        if _missing(old) or _missing(new):
            shown = ["missing" if _missing(v) else f"'{self.show_label(v)}'" for v in (old, new)]
            return f"relabeled {shown[0]} -> {shown[1]}"
        change = describe_word_changes(str(old), str(new))
        same_words = str(old).lower().split() == str(new).lower().split()
        return f"{change} (case only)" if same_words and change != "unchanged" else change

    def show_label(self, value: Any) -> Any:
        """The text, ellipsised past 60 characters (``''`` when missing)."""
        if _missing(value):
            return ""
        text = str(value)
        return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1].rstrip() + "…"

    # -- engines ---------------------------------------------------------------------

    @property
    def agreement(self) -> Callable[..., Any]:
        """WER / CER between transcribers per pair and per clip, the convention report,
        and (given a label book's normalisation) the same after normalising:
        :func:`assay.tasks._transcript_engines.transcript_agreement_report`."""
        from assay.tasks._transcript_engines import transcript_agreement_report

        return transcript_agreement_report

    @property
    def consensus(self) -> Callable[..., Any]:
        """ROVER-style consensus transcripts with per-word confidence:
        :func:`assay.tasks._transcript_engines.transcript_consensus_labels`."""
        from assay.tasks._transcript_engines import transcript_consensus_labels

        return transcript_consensus_labels

    def find_label_issues(
        self, labels: Any, predictions: Any, *, classes: Any = None, **options: Any
    ) -> pd.DataFrame:
        """Clips whose transcript disagrees with the recogniser's ``predictions`` (its
        transcripts, same order) far beyond its usual error
        (:func:`assay.train.labels._transcripts.find_transcript_issues`; options
        ``fdr`` and ``ids``, the clip ids indexing the table; ``classes`` is ignored)."""
        from assay.train.labels._transcripts import find_transcript_issues

        ids = options.pop("ids", None)
        given = (
            labels
            if isinstance(labels, pd.Series) and ids is None
            else pd.Series(list(labels), index=ids, dtype=object)
        )
        heard = (
            predictions
            if isinstance(predictions, pd.Series) and ids is None
            else pd.Series(_texts(predictions, "predictions"), index=given.index, dtype=object)
        )
        return find_transcript_issues(given, heard, **options)

    def score(self, y_true: Any, y_pred: Any, *, seed: int = 0) -> dict[str, Interval]:
        """Corpus WER and CER of ``y_pred`` against ``y_true`` with 95% intervals from a
        bootstrap over clips (1,000 resamples)."""
        word_errors, words, char_errors, chars = transcript_error_counts(y_true, y_pred)
        return {
            "wer": _ratio_interval(word_errors, words, 1000, seed),
            "cer": _ratio_interval(char_errors, chars, 1000, seed + 1),
        }

    def fit_targets(self, labels: Any) -> tuple[Any, list[Any] | None]:
        """The transcripts as the classes of a closed-vocabulary recipe (a classifier on
        audio features predicting one of the transcripts seen in training), refused for
        open speech (:func:`assay.tasks._transcript_eval.closed_vocabulary`)."""
        from assay.tasks._transcript_eval import closed_vocabulary

        y, classes = closed_vocabulary(labels)
        return y, list(classes)

    def evaluate_predictions(
        self,
        y_true: Any,
        y_pred: Any,
        *,
        classes: Any = None,
        tags: Any = None,
        ids: Any = None,
        hlp: float | None = None,
        n_boot: int = 1000,
        seed: int = 0,
    ) -> Any:
        """Corpus WER and CER with bootstrap intervals over clips, per tag too
        (:func:`assay.tasks._transcript_eval.evaluate_transcripts`)."""
        from assay.tasks._transcript_eval import evaluate_transcripts

        return evaluate_transcripts(y_true, y_pred, ids=ids, tags=tags, n_boot=n_boot, seed=seed)

    def evaluation_from_dict(self, data: Any) -> Any:
        """:meth:`TranscriptEvaluation.from_dict`."""
        from assay.tasks._transcript_eval import TranscriptEvaluation

        return TranscriptEvaluation.from_dict(data)

    def compare(
        self,
        eval_a: Any,
        eval_b: Any,
        *,
        names: tuple[str, str] = ("A", "B"),
        n_boot: int = 1000,
        seed: int = 0,
        alpha: float = 0.05,
    ) -> Any:
        """Paired bootstrap over clips on WER and CER
        (:func:`assay.tasks._transcript_eval.compare_transcripts`)."""
        from assay.tasks._transcript_eval import compare_transcripts

        return compare_transcripts(
            eval_a, eval_b, names=names, n_boot=n_boot, seed=seed, alpha=alpha
        )

    def headline_score(self, y_true: Any, y_pred: Any) -> float:
        """Corpus WER, no interval."""
        word_errors, words, _, _ = transcript_error_counts(y_true, y_pred)
        return float(word_errors.sum() / max(float(words.sum()), 1.0))

    def human_level(self, report: Any) -> float | None:
        """The transcribers' pairwise corpus WER (the WER people reach on these clips),
        from a report with a ``wer`` (or the number itself); None when not finite."""
        value = getattr(report, "wer", report)
        if isinstance(value, (int, float, np.number)) and np.isfinite(value):
            return float(value)
        return None

    def label_drift(self, reference: pd.Series, current: pd.Series) -> Any:
        """Drift of words per clip and characters per word (:func:`assay.deploy.drift`)."""
        from assay.deploy.drift import drift

        def shape(values: pd.Series) -> pd.DataFrame:
            texts = ["" if _missing(v) else str(v) for v in values]
            words = np.array([len(t.split()) for t in texts], dtype=float)
            chars = np.array([len(t.replace(" ", "")) for t in texts], dtype=float)
            return pd.DataFrame(
                {"words_per_clip": words, "chars_per_word": chars / np.maximum(words, 1.0)}
            )

        return drift(
            shape(reference),
            shape(current),
            column_types={"words_per_clip": "numeric", "chars_per_word": "numeric"},
        )
