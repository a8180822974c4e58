"""Training a fixed recipe on transcripts, evaluating it in WER and CER, and comparing two
data versions' models on the same frozen evaluation clips.

The recogniser pocketsphinx is fixed and cannot be retrained, so the data-centric loop
(a new data version, the same recipe retrained, its effect measured) needs a recipe that
learns from the transcripts: a scikit-learn classifier on the clips' audio features
(:mod:`assay.modalities.audio`) whose classes are the transcripts seen in training, a
*closed-vocabulary word recogniser*. It is valid when the transcripts come from a small
vocabulary said many times (spoken digits, commands); :func:`closed_vocabulary` refuses
open speech, where every clip says something new.

:func:`evaluate_transcripts` scores the predicted transcripts by corpus WER and CER with
95% intervals from a bootstrap over clips, per tag too; :func:`compare_transcripts` is
a paired bootstrap over the clips (both models scored on the same resamples, so the
interval of the difference carries the correlation of their errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.tasks.base import Interval

__all__ = [
    "MAX_VOCABULARY",
    "TranscriptEvaluation",
    "closed_vocabulary",
    "compare_transcripts",
    "evaluate_transcripts",
]

#: The most distinct transcripts a closed-vocabulary recipe learns as classes.
MAX_VOCABULARY = 200
#: The largest share of training clips whose transcript is said only once.
MAX_SINGLETON_SHARE = 0.1
_METRICS = ("wer", "cer")


def closed_vocabulary(labels: Any) -> tuple[np.ndarray, list[str]]:
    """The training transcripts as classes, refused when they are not a small vocabulary.

    Parameters
    ----------
    labels : array-like of str, shape (n_clips,)

    Returns
    -------
    y : ndarray of object, shape (n_clips,)
    classes : list of str, sorted

    Raises
    ------
    InputError
        More than :data:`MAX_VOCABULARY` distinct transcripts, or more than 10% of the
        clips say a transcript no other clip says (open speech).
    """
    y = np.asarray([str(v) for v in labels], dtype=object)
    counts = pd.Series(y).value_counts()
    once = int((counts == 1).sum())
    if len(counts) > MAX_VOCABULARY or once > MAX_SINGLETON_SHARE * len(y):
        example = str(counts.index[counts == 1][0]) if once else str(counts.index[0])
        raise InputError(
            f"{len(counts)} distinct transcripts over {len(y)} clips ({once} said once, "
            f"e.g. {example[:40]!r}): a recipe on audio features predicts one of the "
            "transcripts seen in training, so it needs a small vocabulary said many times "
            "(digits, commands); for open speech use --recipe pocketsphinx."
        )
    return y, sorted(counts.index.astype(str))


def _counts(y_true: list[str], y_pred: list[str]) -> pd.DataFrame:
    from assay.tasks.transcript import transcript_error_counts

    words, n_words, chars, n_chars = transcript_error_counts(y_true, y_pred)
    return pd.DataFrame({"errors": words, "words": n_words, "char_errors": chars, "chars": n_chars})


def _boot_rates(counts: pd.DataFrame, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Corpus WER and CER of every bootstrap resample of the clips."""
    from assay._stats import bootstrap_indices

    e, w = counts["errors"].to_numpy(), counts["words"].to_numpy()
    ce, c = counts["char_errors"].to_numpy(), counts["chars"].to_numpy()
    wer, cer = [], []
    for idx in bootstrap_indices(len(counts), n_boot, seed):
        wer.append(e[idx].sum(axis=1) / np.maximum(w[idx].sum(axis=1), 1.0))
        cer.append(ce[idx].sum(axis=1) / np.maximum(c[idx].sum(axis=1), 1.0))
    return {"wer": np.concatenate(wer), "cer": np.concatenate(cer)}


def _rates(counts: pd.DataFrame) -> dict[str, float]:
    return {
        "wer": float(counts["errors"].sum() / max(float(counts["words"].sum()), 1.0)),
        "cer": float(counts["char_errors"].sum() / max(float(counts["chars"].sum()), 1.0)),
    }


def _overall(counts: pd.DataFrame, n_boot: int, seed: int) -> dict[str, Interval]:
    from assay._stats import percentile_interval

    values, reps = _rates(counts), _boot_rates(counts, n_boot, seed)
    out: dict[str, Interval] = {}
    for m in _METRICS:
        low, high = percentile_interval(reps[m])
        out[m] = {
            "value": values[m],
            "low": min(low, values[m]),
            "high": max(high, values[m]),
            "method": "bootstrap over clips",
        }
    return out


def _per_tag(counts: pd.DataFrame, tags: Any, n_boot: int, seed: int) -> pd.DataFrame:
    """WER with its interval per tag value: ``tag``, ``value``, ``n``, ``wer``,
    ``wer_low``, ``wer_high``."""
    if tags is None:
        return pd.DataFrame(columns=["tag", "value", "n", "wer", "wer_low", "wer_high"])
    frame = (
        tags.reset_index(drop=True)
        if isinstance(tags, pd.DataFrame)
        else pd.DataFrame({str(k): np.asarray(v) for k, v in dict(tags).items()})
    )
    rows = []
    for name, column in frame.items():
        for value, part in counts.groupby(column.to_numpy(), dropna=True, sort=True):
            wer = _overall(part.reset_index(drop=True), n_boot, seed)["wer"]
            rows.append([str(name), str(value), len(part), wer["value"], wer["low"], wer["high"]])
    return pd.DataFrame(rows, columns=["tag", "value", "n", "wer", "wer_low", "wer_high"])


@dataclass
class TranscriptEvaluation:
    """A model's transcripts against the given transcripts of the same clips.

    Attributes
    ----------
    overall : dict
        ``{"wer" | "cer": {"value", "low", "high", "method"}}`` (corpus rates, 95%
        bootstrap intervals over clips).
    y_true, y_pred : list of str, length n
    ids : list or None
        Clip ids (to pair two evaluations).
    per_tag : DataFrame
        WER per tag value with its interval (empty without tags).
    per_clip : DataFrame, one row per clip
        ``errors``, ``words``, ``char_errors``, ``chars``.
    duration_s : float or None
        Seconds spent fitting (an experiment's fit).
    info : dict
        What the fit recorded (``recipe_hash``, ``n_train``, ``predict_seconds``).
    """

    overall: dict[str, Interval]
    y_true: list[str]
    y_pred: list[str]
    ids: list[Any] | None = None
    per_tag: pd.DataFrame = field(default_factory=pd.DataFrame)
    per_clip: pd.DataFrame = field(default_factory=pd.DataFrame)
    duration_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    kind = "transcript"

    @property
    def n(self) -> int:
        """Clips evaluated."""
        return len(self.y_true)

    @property
    def item_errors(self) -> np.ndarray:
        """Per clip, its WER (word edits over its transcript's words)."""
        if self.per_clip.empty:
            self.per_clip = _counts(self.y_true, self.y_pred)
        c = self.per_clip
        return (c["errors"] / c["words"].clip(lower=1)).to_numpy(dtype=float)

    def tables(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """(title, header, rows): WER per tag, highest first."""
        if self.per_tag.empty:
            return []
        worst = self.per_tag.sort_values("wer", ascending=False, kind="stable").head(12)
        rows = [
            [f"{r['tag']}={r['value']}", int(r["n"]),
             f"{r['wer']:.1%} [{r['wer_low']:.1%}, {r['wer_high']:.1%}]"]
            for r in worst.to_dict(orient="records")
        ]  # fmt: skip
        return [("WER per tag", ["tag", "clips", "WER [95%]"], rows)]

    def summary(self) -> str:
        """Plain text (at most 80 columns): WER and CER with intervals."""
        lines = [f"{self.n} clips"]
        for name, m in self.overall.items():
            lines.append(f"  {name.upper()} {m['value']:.1%}  [{m['low']:.1%}, {m['high']:.1%}]")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; :meth:`from_dict` reads it back."""
        return {
            "kind": self.kind,
            "overall": {k: dict(v) for k, v in self.overall.items()},
            "per_tag": self.per_tag.to_dict("records"),
            "y_true": list(self.y_true),
            "y_pred": list(self.y_pred),
            "ids": None if self.ids is None else [str(i) for i in self.ids],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TranscriptEvaluation:
        """The inverse of :meth:`to_dict`."""
        return cls(
            dict(data["overall"]),
            list(data["y_true"]),
            list(data["y_pred"]),
            data.get("ids"),
            pd.DataFrame(data.get("per_tag") or []),
        )


def evaluate_transcripts(
    y_true: Any,
    y_pred: Any,
    *,
    ids: Any = None,
    tags: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> TranscriptEvaluation:
    """Corpus WER and CER of ``y_pred`` with bootstrap intervals, per tag too.

    Raises
    ------
    InputError
        Not one text per clip.
    """
    truth = ["" if v is None else str(v) for v in y_true]
    preds = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in y_pred]
    counts = _counts(truth, preds)
    return TranscriptEvaluation(
        _overall(counts, n_boot, seed), truth, preds,
        None if ids is None else list(ids), _per_tag(counts, tags, n_boot, seed), counts,
    )  # fmt: skip


def _tag_deltas(eval_a: TranscriptEvaluation, eval_b: TranscriptEvaluation) -> pd.DataFrame:
    """Per tag value (from B's evaluation): WER of A and of B and the change."""
    if eval_a.per_tag.empty or eval_b.per_tag.empty:
        return pd.DataFrame()
    merged = eval_a.per_tag.merge(eval_b.per_tag, on=["tag", "value", "n"], suffixes=("_a", "_b"))
    merged["delta"] = merged["wer_b"] - merged["wer_a"]
    return merged[["tag", "value", "n", "wer_a", "wer_b", "delta"]]


def compare_transcripts(
    eval_a: TranscriptEvaluation,
    eval_b: TranscriptEvaluation,
    *,
    names: tuple[str, str] = ("A", "B"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Any:
    """Paired bootstrap over the clips on corpus WER and CER (a
    :class:`~assay.train.evaluate._paired.PairedComparison`; ``delta`` is B - A, so a
    negative WER change is an improvement).

    Raises
    ------
    InputError
        The evaluations are not of the same clips with the same transcripts.
    """
    from assay.train.evaluate._paired import PairedComparison, bootstrap_p_value, interval

    if eval_a.y_true != eval_b.y_true:
        raise InputError(
            "the two evaluations are not of the same clips with the same "
            "transcripts; evaluate both models on one evaluation set."
        )
    counts_a = eval_a.per_clip if len(eval_a.per_clip) else _counts(eval_a.y_true, eval_a.y_pred)
    counts_b = eval_b.per_clip if len(eval_b.per_clip) else _counts(eval_b.y_true, eval_b.y_pred)
    rep_a, rep_b = _boot_rates(counts_a, n_boot, seed), _boot_rates(counts_b, n_boot, seed)
    va, vb = _rates(counts_a), _rates(counts_b)
    metrics = {}
    for m in _METRICS:
        low, high = interval(rep_b[m] - rep_a[m])
        metrics[m] = {"a": va[m], "b": vb[m], "delta": vb[m] - va[m], "low": low, "high": high}
    return PairedComparison(
        names=(str(names[0]), str(names[1])), n=eval_a.n,
        test="paired bootstrap over clips (WER)",
        p_value=bootstrap_p_value(rep_b["wer"] - rep_a["wer"], metrics["wer"]["delta"]),
        metrics=metrics, headline="wer", per_group=pd.DataFrame(),
        per_tag=_tag_deltas(eval_a, eval_b), alpha=alpha,
    )  # fmt: skip
