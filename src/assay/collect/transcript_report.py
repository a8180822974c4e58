"""Transcribers' agreement in word and character error rates, before and after the
label book's normalisation.

:func:`transcript_agreement_report` measures, for annotations ``item, annotator, label``
whose labels are transcripts:

* per annotator pair: shared clips, exact matches, corpus WER and CER (the first
  annotator as the reference);
* per clip: the pairwise WER and CER pooled over its pairs (edits over reference words),
  clips with the most disagreement first;
* per tag (a speaker, a noise condition), when ``tags`` maps clips to tags;
* Krippendorff's alpha with the normalised edit distance
  (:func:`assay.collect.transcript_agreement`);
* the convention report (:func:`assay.collect.convention_report`): which conventions
  split the transcribers;
* and, given a label book's :class:`~assay.collect.normalisation.Normalisation`, all of
  the above again on the normalised texts, with how many disagreeing pairs vanished.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._wer import error_counts
from assay.collect._stats import annotation_pairs
from assay.collect.annotations import encode_annotations
from assay.collect.conventions import ConventionReport, convention_report
from assay.collect.normalisation import Normalisation, as_normalisation
from assay.collect.transcripts import TranscriptAgreement, transcript_agreement
from assay.exceptions import InputError

__all__ = [
    "TranscriptAgreementReport",
    "TranscriptRates",
    "transcript_agreement_report",
    "transcript_rates",
]


@dataclass
class TranscriptRates:
    """Pairwise WER / CER of one set of transcripts.

    Attributes
    ----------
    pairs : DataFrame, one row per annotator pair
        ``annotator_a``, ``annotator_b``, ``n_items``, ``exact_match``, ``wer``, ``cer``.
    items : DataFrame indexed by item
        ``n_annotations``, ``wer``, ``cer`` (pooled over the clip's pairs), ``texts``
        (the distinct texts), most disagreement first.
    tags : DataFrame indexed by tag
        ``n_items``, ``wer``, ``cer`` over the pairs of the tag's clips (empty without
        tags).
    pair_rows : DataFrame, one row per annotation pair
        ``item``, ``annotator_a``, ``annotator_b``, ``text_a``, ``text_b``, ``word_errors``,
        ``words``, ``char_errors``, ``chars``.
    """

    pairs: pd.DataFrame
    items: pd.DataFrame
    tags: pd.DataFrame
    pair_rows: pd.DataFrame

    @property
    def wer(self) -> float:
        """Corpus WER over every annotation pair (edits over reference words)."""
        r = self.pair_rows
        return float(r["word_errors"].sum() / max(float(r["words"].sum()), 1.0))

    @property
    def cer(self) -> float:
        """Corpus CER over every annotation pair."""
        r = self.pair_rows
        return float(r["char_errors"].sum() / max(float(r["chars"].sum()), 1.0))

    @property
    def n_disagreeing(self) -> int:
        """Annotation pairs whose texts differ."""
        return int((self.pair_rows["text_a"] != self.pair_rows["text_b"]).sum())


def _pair_rows(df: pd.DataFrame) -> pd.DataFrame:
    enc = encode_annotations(df.assign(label=df["label"].map(str, na_action="ignore")))
    p = annotation_pairs(enc.item, enc.annotator, enc.label)
    if len(p.item) == 0:
        raise InputError(
            "no clip has transcripts from two annotators; agreement is undefined "
            "(give each clip to two or more transcribers)."
        )
    texts = np.asarray(enc.classes, dtype=object)
    a, b = texts[p.lab_a].tolist(), texts[p.lab_b].tolist()
    words, chars = error_counts(a, b, unit="word"), error_counts(a, b, unit="char")
    return pd.DataFrame(
        {
            "item": enc.items[p.item],
            "annotator_a": enc.annotators[p.ann_a],
            "annotator_b": enc.annotators[p.ann_b],
            "text_a": a,
            "text_b": b,
            "word_errors": words["errors"].to_numpy(),
            "words": words["n_reference"].to_numpy(),
            "char_errors": chars["errors"].to_numpy(),
            "chars": chars["n_reference"].to_numpy(),
        }
    )


def _pooled(rows: pd.DataFrame, keys: Any) -> pd.DataFrame:
    g = rows.groupby(keys, sort=True)
    out = g.agg(
        n_pairs=("words", "size"),
        word_errors=("word_errors", "sum"),
        words=("words", "sum"),
        char_errors=("char_errors", "sum"),
        chars=("chars", "sum"),
    )
    out["wer"] = out["word_errors"] / out["words"].clip(lower=1)
    out["cer"] = out["char_errors"] / out["chars"].clip(lower=1)
    return out


def transcript_rates(
    df: pd.DataFrame, tags: Mapping[Any, Any] | pd.Series | None = None
) -> TranscriptRates:
    """Pairwise WER and CER per pair, per clip and per tag (see :class:`TranscriptRates`).

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (the text).
    tags : mapping or Series, optional
        Clip -> tag (a str, or a list of tags); clips without one are left out of
        :attr:`TranscriptRates.tags`.
    """
    rows = _pair_rows(df)
    pooled = _pooled(rows, ["annotator_a", "annotator_b"]).reset_index()
    exact = (
        (rows["text_a"] == rows["text_b"])
        .groupby([rows["annotator_a"], rows["annotator_b"]], sort=True)
        .mean()
        .to_numpy()
    )
    pairs = pooled.rename(columns={"n_pairs": "n_items"}).assign(exact_match=exact)[
        ["annotator_a", "annotator_b", "n_items", "exact_match", "wer", "cer"]
    ]
    items = _pooled(rows, "item")
    counts = df.groupby(df["item"]).size()
    distinct = rows.groupby("item")[["text_a", "text_b"]].apply(
        lambda f: sorted(set(f["text_a"]) | set(f["text_b"]))
    )
    items = items.assign(
        n_annotations=counts.reindex(items.index).to_numpy(),
        texts=distinct.reindex(items.index).to_numpy(),
    )[["n_annotations", "wer", "cer", "texts"]]
    items = items.sort_values(["wer", "cer"], ascending=False, kind="stable")
    return TranscriptRates(pairs, items, _tag_table(rows, tags), rows)


def _tag_table(rows: pd.DataFrame, tags: Mapping[Any, Any] | pd.Series | None) -> pd.DataFrame:
    empty = pd.DataFrame(columns=["n_items", "wer", "cer"], index=pd.Index([], name="tag"))
    if tags is None:
        return empty
    mapping = tags if isinstance(tags, pd.Series) else pd.Series(dict(tags), dtype=object)
    mapping = mapping.rename(index=str)
    tag = rows["item"].astype(str).map(mapping)
    tagged = rows.assign(tag=tag).dropna(subset=["tag"])
    tagged = (
        tagged.explode("tag") if len(tagged) and isinstance(tagged["tag"].iloc[0], list) else tagged
    )
    if tagged.empty:
        return empty
    out = _pooled(tagged, "tag")
    n_items = tagged.groupby("tag")["item"].nunique()
    return out.assign(n_items=n_items.reindex(out.index).to_numpy())[["n_items", "wer", "cer"]]


@dataclass
class TranscriptAgreementReport:
    """Agreement between transcribers, before and (given a convention) after the label
    book's normalisation.

    Attributes
    ----------
    rates : TranscriptRates
        WER / CER per pair, clip and tag of the texts as typed.
    agreement : TranscriptAgreement
        Exact match, edit distance and Krippendorff's alpha as typed.
    conventions : ConventionReport
        Which conventions split the transcribers.
    normalisation : Normalisation or None
    normalised_rates : TranscriptRates or None
        The same rates after applying ``normalisation`` to every text.
    normalised : TranscriptAgreement or None
    """

    rates: TranscriptRates
    agreement: TranscriptAgreement
    conventions: ConventionReport
    normalisation: Normalisation | None = None
    normalised_rates: TranscriptRates | None = None
    normalised: TranscriptAgreement | None = None

    @property
    def wer(self) -> float:
        """Pairwise corpus WER as typed (the human-level WER of these clips)."""
        return self.rates.wer

    @property
    def cer(self) -> float:
        return self.rates.cer

    @property
    def krippendorff_alpha(self) -> float:
        """Alpha as typed, or after normalisation when a convention was given."""
        best = self.normalised if self.normalised is not None else self.agreement
        return float(best.krippendorff_alpha)

    @property
    def vanished(self) -> int:
        """Disagreeing annotation pairs that the normalisation makes equal."""
        if self.normalised_rates is None:
            return 0
        return self.rates.n_disagreeing - self.normalised_rates.n_disagreeing

    def to_revise(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` clips the transcribers disagree on most (after normalisation when
        given): ``item``, ``wer``, ``cer``, ``texts``."""
        rates = self.normalised_rates or self.rates
        return rates.items.head(k).reset_index()[["item", "wer", "cer", "texts"]]

    def to_dict(self) -> dict[str, Any]:
        """Rates, alpha, the pair and tag tables and the conventions, JSON-ready."""
        out: dict[str, Any] = {
            "kind": "transcript",
            **_rates_dict(self.rates, self.agreement),
            "conventions": self.conventions.to_dict(),
        }
        if (
            self.normalisation is not None
            and self.normalised_rates is not None
            and self.normalised is not None
        ):
            out["normalisation"] = self.normalisation.to_dict()
            out["normalised"] = _rates_dict(self.normalised_rates, self.normalised)
            out["vanished_pairs"] = self.vanished
        clips = self.clips(20)
        out["clips"] = clips.astype(object).where(clips.notna(), None).to_dict(orient="records")
        out["krippendorff_alpha"] = self.krippendorff_alpha
        return out

    def summary(self) -> str:
        """A few lines for the CLI (at most 80 columns)."""
        lines = [
            f"{len(self.rates.items)} clips typed by two or more transcribers",
            _line("as typed", self.rates, self.agreement),
        ]
        if self.normalised_rates is not None and self.normalised is not None:
            lines.append(_line("normalised", self.normalised_rates, self.normalised))
            rules = self.normalisation.describe() if self.normalisation else ""
            lines.append(
                textwrap.fill(
                    f"label book: {rules}", 78, initial_indent="  ", subsequent_indent="    "
                )
            )
            lines.append(
                f"  {self.vanished} of {self.rates.n_disagreeing} disagreeing pairs "
                "vanish after normalisation"
            )
        after = self.normalised_rates
        lines.append(
            "pairs (WER, CER; first annotator as reference"
            f"{'; -> normalised' if after is not None else ''}):"
        )
        for k, r in enumerate(self.rates.pairs.itertuples()):
            shown = f"WER {r.wer:.3f}, CER {r.cer:.3f}"
            if after is not None:
                shown += f" -> WER {after.pairs['wer'].iloc[k]:.3f}"
            lines.append(f"  {r.annotator_a} / {r.annotator_b}: {r.n_items} clips, {shown}")
        lines += _tag_lines((after or self.rates).tags)
        lines += self.clip_lines()
        return "\n".join(lines + [self.conventions.summary()])

    def clips(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` clips whose transcribers disagree most, worst first (after the label
        book's normalisation when given, then as typed): ``item``, ``wer``, ``cer`` (as
        typed), ``wer_normalised`` (NaN without a book) and ``texts`` (as typed)."""
        items = self.rates.items
        items = items[items["wer"].gt(0) | items["cer"].gt(0)]
        after = self.normalised_rates
        normalised = (
            after.items["wer"].reindex(items.index).fillna(0.0)
            if after is not None
            else pd.Series(np.nan, index=items.index)
        )
        if after is not None:
            order = np.lexsort((-items["wer"].to_numpy(), -normalised.to_numpy()))[:k]
            items, normalised = items.iloc[order], normalised.iloc[order]
        else:
            items, normalised = items.head(k), normalised.head(k)
        return pd.DataFrame({
            "item": items.index.astype(str),
            "wer": items["wer"].to_numpy(dtype=float),
            "cer": items["cer"].to_numpy(dtype=float),
            "wer_normalised": normalised.to_numpy(dtype=float),
            "texts": [list(t) for t in items["texts"]],
        })  # fmt: skip

    def clip_lines(self, k: int = 10, width: int = 80) -> list[str]:
        """:meth:`clips` as lines of at most ``width`` columns: the clip, its WER as typed
        (and after the label book), then the texts typed."""
        clips = self.clips(k)
        if clips.empty:
            return ["clips: the transcribers typed every clip alike"]
        book = self.normalised_rates is not None
        lines = [
            f"clips with the most disagreement ({len(clips)} of {len(self.rates.items)}, "
            f"WER{' -> normalised' if book else ''}):"
        ]
        for r in clips.to_dict(orient="records"):
            left = f"  {_cut(str(r['item']), 18):<18} {float(r['wer']):5.2f}"
            left += f" -> {float(r['wer_normalised']):4.2f}" if book else ""
            texts = " | ".join(repr(t) for t in r["texts"])
            lines.append(f"{left}  {_cut(texts, width - len(left) - 2)}")
        return lines

    def to_html(self) -> str:
        """The summary and the per-clip table as an HTML fragment."""
        items = self.rates.items.head(50).assign(texts=lambda f: f["texts"].map(" | ".join))
        return (
            f"<pre>{html.escape(self.summary())}</pre>"
            f"{items.to_html(float_format=lambda v: f'{v:.3f}', escape=True)}"
        )


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns (``...`` marks the cut)."""
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def _tag_lines(tags: pd.DataFrame, limit: int = 5) -> list[str]:
    """The ``limit`` tags with the highest WER, and how many more there are."""
    if tags.empty:
        return []
    worst = tags.sort_values("wer", ascending=False, kind="stable")
    lines = [f"tags with the most disagreement (of {len(tags)}):"]
    lines += [
        f"  {tag}: {int(row['n_items'])} clips, WER {row['wer']:.3f}"
        for tag, row in worst.head(limit).iterrows()
    ]
    return lines


def _rates_dict(rates: TranscriptRates, agreement: TranscriptAgreement) -> dict[str, Any]:
    pairs = rates.pairs.astype(object).where(rates.pairs.notna(), None)
    tags = rates.tags.reset_index().astype(object)
    return {
        "wer": rates.wer,
        "cer": rates.cer,
        "n_items": len(rates.items),
        "n_disagreeing_pairs": rates.n_disagreeing,
        "exact_match": float((rates.pair_rows["text_a"] == rates.pair_rows["text_b"]).mean()),
        "krippendorff_alpha": float(agreement.krippendorff_alpha),
        "pairs": pairs.to_dict(orient="records"),
        "tags": tags.to_dict(orient="records"),
    }


def _line(what: str, rates: TranscriptRates, agreement: TranscriptAgreement) -> str:
    return (
        f"  {what}: WER {rates.wer:.3f}, CER {rates.cer:.3f}, alpha "
        f"{agreement.krippendorff_alpha:.3f}, {rates.n_disagreeing} pairs differ"
    )


def transcript_agreement_report(
    df: pd.DataFrame,
    *,
    labelbook: Any = None,
    tags: Mapping[Any, Any] | pd.Series | None = None,
    seed: int = 0,
) -> TranscriptAgreementReport:
    """Agreement between transcribers in WER / CER, before and after normalisation.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (the text).
    labelbook : Normalisation, mapping or label book, optional
        The conventions to normalise with (a label book's ``normalisation`` section, the
        label book itself, or a :class:`Normalisation`); None: as typed only.
    tags : mapping or Series, optional
        Clip -> tag (speaker, noise condition) for per-tag rates.
    seed : int, default 0
        Seed of alpha's expected disagreement when it is estimated.

    Returns
    -------
    TranscriptAgreementReport
    """
    frame = df[["item", "annotator", "label"]]
    frame = frame.assign(label=frame["label"].map(str, na_action="ignore"))
    report = TranscriptAgreementReport(
        transcript_rates(frame, tags),
        transcript_agreement(frame, seed=seed),
        convention_report(frame),
    )
    normalisation = as_normalisation(labelbook)
    if normalisation is None:
        return report
    normal = frame.assign(label=normalisation.apply_all(frame["label"].tolist()))
    report.normalisation = normalisation
    report.normalised_rates = transcript_rates(normal, tags)
    report.normalised = transcript_agreement(normal, seed=seed)
    return report
