"""Error analysis of a recogniser in words: WER / CER per clip, per tag and per slice,
against the WER people reach on the same clips.

A slice's WER is the corpus WER of its clips (their word edits over their reference
words, as ``jiwer.wer`` computes it over a list), with a 95% percentile interval from a
bootstrap over the clips (:mod:`assay._stats`). Human-level WER comes from transcriber
disagreement: a clip transcribed by two or more people has, per ordered pair, the edits
of one against the other; the clip's human edits and words are the means over pairs, so
the human WER of a slice is the same corpus ratio over its doubly transcribed clips.

Discovered slices are SliceLine's (:func:`assay.train.slices.find_slices`) over audio
features (duration, loudness, noise floor, SNR estimate, speaking rate, cut in quantile
bins) and tags, with each clip's error its WER; every slice found is then scored like a
tag (corpus WER with its interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations
from typing import Any

import numpy as np
import pandas as pd

from assay._stats import bootstrap_indices, percentile_interval
from assay._wer import error_counts
from assay.exceptions import InputError
from assay.train.slices._slices import find_slices

__all__ = [
    "DURATION_BINS",
    "clip_errors",
    "corpus_rate",
    "duration_bin",
    "human_clip_errors",
    "speech_slices",
    "wer_by_tag",
]

#: Edges (seconds) of the duration tag: short, medium and long utterances.
DURATION_BINS = (0.0, 3.0, 6.0, 10.0, np.inf)


def clip_errors(references: Sequence[str], hypotheses: Sequence[str]) -> pd.DataFrame:
    """Word and character edits of every clip.

    Returns
    -------
    DataFrame of shape (n_clips, 6)
        ``word_errors``, ``words``, ``char_errors``, ``chars``, ``wer`` and ``cer``.
    """
    if len(references) != len(hypotheses):
        raise InputError(
            f"{len(references)} references and {len(hypotheses)} hypotheses; "
            "give one hypothesis per clip."
        )
    words = error_counts(list(references), list(hypotheses), unit="word")
    chars = error_counts(list(references), list(hypotheses), unit="char")
    out = pd.DataFrame(
        {
            "word_errors": words["errors"].to_numpy(float),
            "words": words["n_reference"].to_numpy(float),
            "char_errors": chars["errors"].to_numpy(float),
            "chars": chars["n_reference"].to_numpy(float),
        }
    )
    out["wer"] = out["word_errors"] / out["words"].clip(lower=1)
    out["cer"] = out["char_errors"] / out["chars"].clip(lower=1)
    return out


def corpus_rate(errors: Any, totals: Any, *, n_boot: int = 500, seed: int = 0) -> dict[str, float]:
    """``sum(errors) / sum(totals)`` with a 95% bootstrap interval over clips.

    Returns
    -------
    dict
        ``value``, ``low``, ``high`` and ``n`` (clips); NaN without clips.
    """
    errors, totals = np.asarray(errors, dtype=float), np.asarray(totals, dtype=float)
    if len(errors) == 0 or totals.sum() <= 0:
        return {"value": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    value = float(errors.sum() / totals.sum())
    replicates = np.concatenate(
        [
            errors[idx].sum(axis=1) / np.maximum(totals[idx].sum(axis=1), 1e-12)
            for idx in bootstrap_indices(len(errors), n_boot, seed)
        ]
    )
    low, high = percentile_interval(replicates)
    return {"value": value, "low": min(low, value), "high": max(high, value), "n": int(len(errors))}


def duration_bin(seconds: Any) -> pd.Series:
    """Each clip's duration as a tag: ``<3 s``, ``3-6 s``, ``6-10 s``, ``>=10 s``."""
    labels = ["<3 s", "3-6 s", "6-10 s", ">=10 s"]
    return pd.Series(
        pd.cut(np.asarray(seconds, float), list(DURATION_BINS), right=False, labels=labels).astype(
            str
        )
    )


def human_clip_errors(annotations: pd.DataFrame, items: Sequence[Any]) -> pd.DataFrame:
    """Mean word edits and reference words over ordered transcriber pairs, per clip.

    Parameters
    ----------
    annotations : DataFrame with columns ``item``, ``annotator``, ``label`` (the text)
    items : sequence of n clip ids

    Returns
    -------
    DataFrame of shape (n, 2), indexed by ``items``
        ``word_errors`` and ``words``; NaN for clips with fewer than two transcripts.
    """
    rows: list[tuple[Any, str, str]] = []
    for item, group in annotations.groupby("item", sort=False):
        texts = [str(t) for t in group["label"] if isinstance(t, str) and t.strip()]
        rows += [(item, a, b) for a, b in permutations(texts, 2)]
    out = pd.DataFrame(np.nan, index=pd.Index(list(items)), columns=["word_errors", "words"])
    if not rows:
        return out
    pairs = pd.DataFrame(rows, columns=["item", "ref", "hyp"])
    counts = error_counts(pairs["ref"].tolist(), pairs["hyp"].tolist(), unit="word")
    pairs["word_errors"] = counts["errors"].to_numpy(float)
    pairs["words"] = counts["n_reference"].to_numpy(float)
    means = pairs.groupby("item")[["word_errors", "words"]].mean()
    means.index = means.index.astype(out.index.dtype, copy=False) if len(means) else means.index
    out.update(means)
    return out


def _tag_row(
    name: str,
    mask: np.ndarray,
    clips: pd.DataFrame,
    human: pd.DataFrame | None,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    wer = corpus_rate(
        clips["word_errors"].to_numpy()[mask],
        clips["words"].to_numpy()[mask],
        n_boot=n_boot,
        seed=seed,
    )
    cer = corpus_rate(
        clips["char_errors"].to_numpy()[mask],
        clips["chars"].to_numpy()[mask],
        n_boot=n_boot,
        seed=seed + 1,
    )
    human_wer, human_n = float("nan"), 0
    if human is not None:
        known = mask & human["words"].notna().to_numpy()
        if known.any():
            h = human[known]
            human_wer = float(h["word_errors"].sum() / max(h["words"].sum(), 1e-12))
            human_n = int(known.sum())
    row: dict[str, Any] = {
        "tag": name,
        "n": int(mask.sum()),
        "wer": wer["value"],
        "wer_low": wer["low"],
        "wer_high": wer["high"],
        "cer": cer["value"],
        "cer_low": cer["low"],
        "cer_high": cer["high"],
        "human_wer": human_wer,
        "human_n": human_n,
        "gap": wer["value"] - (human_wer if np.isfinite(human_wer) else 0.0),
    }
    row["share_of_errors"] = float(
        clips["word_errors"].to_numpy()[mask].sum() / max(clips["word_errors"].sum(), 1e-12)
    )
    return row


def wer_by_tag(
    clips: pd.DataFrame,
    tags: pd.DataFrame,
    *,
    human: pd.DataFrame | None = None,
    n_boot: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """WER and CER per tag value, with intervals, against human-level WER.

    Parameters
    ----------
    clips : DataFrame of shape (n, ...)
        :func:`clip_errors` of the clips.
    tags : DataFrame of shape (n, n_tags)
        One column per tag (speaker, noise condition, duration bin ...), same row order.
    human : DataFrame of shape (n, 2), optional
        :func:`human_clip_errors` (same row order).
    n_boot, seed : int
        Bootstrap resamples and seed.

    Returns
    -------
    DataFrame
        One row per ``column=value`` (``tag``, ``n``, ``wer`` / ``cer`` with ``_low`` /
        ``_high``, ``human_wer``, ``human_n``, ``gap`` = WER - human WER (or WER without
        one), ``share_of_errors``), by decreasing gap; the first row is ``all``.
    """
    if len(tags) != len(clips):
        raise InputError(f"tags has {len(tags)} rows for {len(clips)} clips.")
    rows = [_tag_row("all", np.ones(len(clips), bool), clips, human, n_boot, seed)]
    for column in tags.columns:
        values = tags[column].astype(str).to_numpy()
        for value in pd.unique(values):
            rows.append(_tag_row(f"{column}={value}", values == value, clips, human, n_boot, seed))
    table = pd.DataFrame(rows)
    return pd.concat(
        [
            table.iloc[:1],
            table.iloc[1:].sort_values(["gap", "n"], ascending=[False, False], kind="mergesort"),
        ],
        ignore_index=True,
    )


def speech_slices(
    clips: pd.DataFrame,
    metadata: pd.DataFrame,
    *,
    human: pd.DataFrame | None = None,
    alpha: float = 0.9,
    k: int = 5,
    min_support: float = 0.05,
    n_bins: int = 3,
    n_boot: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Slices of high WER discovered over ``metadata`` (audio features and tags).

    Parameters
    ----------
    clips : DataFrame
        :func:`clip_errors` of the n clips.
    metadata : DataFrame of shape (n, n_columns)
        Numeric columns are cut in ``n_bins`` quantile bins by SliceLine.
    human : DataFrame, optional
        :func:`human_clip_errors`, for each slice's human WER.
    alpha, k, min_support
        SliceLine's error weight, slices returned and smallest slice (share of clips).
    n_bins : int, default 3
        Quantile bins of a numeric feature: terciles (low / middle / high) by default. A
        SliceLine predicate is one bin, so with finer bins a condition covering a third
        of the clips (the noisy third) cannot be named by one predicate, and its size
        penalty hides it (``benchmarks/speech_loop.py`` measures both).
    n_boot, seed : int

    Returns
    -------
    DataFrame
        One row per discovered slice (``slice``, then the columns of :func:`wer_by_tag`,
        SliceLine's ``is_significant`` / ``q_value`` when given, and ``members``: the
        positions of its clips), by decreasing WER.
    """
    errors = np.minimum(clips["wer"].to_numpy(float), 1.0)
    found = find_slices(
        metadata.reset_index(drop=True),
        errors,
        alpha=alpha,
        k=k,
        min_support=min_support,
        n_bins=n_bins,
        seed=seed,
    )
    if not len(found.table):
        return pd.DataFrame(columns=["slice", "tag", "n", "wer", "wer_low", "wer_high"])
    rows = []
    for i, name in enumerate(found.table["slice"].astype(str)):
        mask = np.asarray(found.masks[i], dtype=bool)
        row = _tag_row(name, mask, clips, human, n_boot, seed)
        extra = found.table.iloc[i]
        for key in ("is_significant", "q_value"):
            if key in found.table:
                row[key] = extra[key]
        rows.append({"slice": name, **row, "members": np.flatnonzero(mask).tolist()})
    return pd.DataFrame(rows).sort_values(
        "wer", ascending=False, kind="mergesort", ignore_index=True
    )
