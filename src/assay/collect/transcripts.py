"""Agreement for free-text labels (transcriptions, captions, short answers).

* :func:`transcript_agreement`: pairwise normalised edit distance (characters), word error
  rate (words), exact-match rate and Krippendorff's alpha with the normalised edit
  distance as the metric.
* :func:`convention_report` (in :mod:`assay.collect.conventions`): which text
  normalisations would make the annotators agree.

Definitions, for two strings ``a`` and ``b``:

* ``edit_distance(a, b) = lev(a, b) / max(len(a), len(b))`` over characters (0 when both
  are empty), in [0, 1];
* ``wer(ref, hyp) = lev(words(ref), words(hyp)) / len(words(ref))``; a pair table reports
  the corpus WER ``sum lev / sum len(ref)`` with the first annotator as reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay._levenshtein import batch_levenshtein, encode_sequences, text_distances
from assay._validation import Integral, Interval, validate_params
from assay._wer import word_error_rate
from assay.collect._stats import Pairs, annotation_pairs
from assay.collect.annotations import EncodedAnnotations, encode_annotations
from assay.collect.normalisation import Normalisation, as_normalisation
from assay.exceptions import InputError

__all__ = ["TranscriptAgreement", "edit_distance", "transcript_agreement", "word_error_rate"]


def edit_distance(a: str, b: str) -> float:
    """Character Levenshtein distance divided by the longer length, in [0, 1]."""
    (d,) = batch_levenshtein(encode_sequences([a], "char"), encode_sequences([b], "char"))
    return float(d / max(len(a), len(b))) if max(len(a), len(b)) else 0.0


@dataclass
class TranscriptAgreement:
    """Agreement between annotators on free-text labels.

    Attributes
    ----------
    pairs : DataFrame
        One row per annotator pair (``annotator_a < annotator_b``): ``n_items``,
        ``exact_match``, ``edit_distance`` (mean normalised character distance) and
        ``wer`` (corpus WER with ``annotator_a`` as the reference).
    items : DataFrame, indexed by item
        ``n_annotations`` and ``edit_distance`` (mean over its annotator pairs), items
        with the largest distance first.
    krippendorff_alpha : float
        Alpha with ``delta(u, v) = edit_distance(u, v)``.
    expected_exact : bool
        Whether the expected disagreement was computed over all distinct value pairs
        (else it is a Monte Carlo estimate from ``max_value_pairs`` random pairs).
    normalisation : Normalisation or None
        The label book's conventions, when agreement was also measured after them.
    normalised : TranscriptAgreement or None
        The same statistics on the normalised texts (None without a label book).
    """

    pairs: pd.DataFrame
    items: pd.DataFrame
    krippendorff_alpha: float
    expected_exact: bool
    normalisation: Normalisation | None = field(default=None, repr=False)
    normalised: TranscriptAgreement | None = field(default=None, repr=False)

    @property
    def edit_distance(self) -> float:
        """Mean normalised edit distance over all annotator pairs on shared items."""
        p = self.pairs
        return float(np.average(p["edit_distance"], weights=p["n_items"]))

    @property
    def wer(self) -> float:
        """Mean pairwise WER, weighted by shared items."""
        p = self.pairs
        return float(np.average(p["wer"], weights=p["n_items"]))

    def to_dict(self) -> dict[str, Any]:
        """The statistics and the per-pair table, JSON-serialisable."""
        pairs = self.pairs.astype(object).where(self.pairs.notna(), None)
        out = {"krippendorff_alpha": float(self.krippendorff_alpha),
               "edit_distance": self.edit_distance, "wer": self.wer,
               "n_items": len(self.items), "expected_exact": bool(self.expected_exact),
               "pairs": pairs.to_dict(orient="records")}
        if self.normalised is not None and self.normalisation is not None:
            out["normalisation"] = self.normalisation.to_dict()
            out["normalised"] = self.normalised.to_dict()
        return out

    def summary(self) -> str:
        """A few lines of plain text for the CLI."""
        p = self.pairs
        exact = float(np.average(p["exact_match"], weights=p["n_items"]))
        note = "" if self.expected_exact else " (expected disagreement estimated)"
        lines = [
            f"{len(self.items)} items typed by two or more annotators",
            f"  exact match: {exact:.3f}",
            f"  normalised edit distance: {self.edit_distance:.3f}",
            f"  word error rate: {self.wer:.3f}",
            f"  Krippendorff's alpha (edit distance): {self.krippendorff_alpha:.3f}{note}",
        ]
        if self.normalised is not None and self.normalisation is not None:
            after = self.normalised.summary().splitlines()[1:]
            lines += [f"after the label book's normalisation ({self.normalisation.describe()}):",
                      *after]
        return "\n".join(lines)


def _norm_dist(lev: np.ndarray, la: np.ndarray, lb: np.ndarray) -> np.ndarray:
    longest = np.maximum(la, lb)
    return np.where(longest > 0, lev / np.maximum(longest, 1), 0.0)


def _value_distances(values: list[str], ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    lens = np.array([len(v) for v in values])
    lev = _distances(values, ia, ib, "char")
    return _norm_dist(lev, lens[ia], lens[ib])


def _distances(values: list[str], ia: np.ndarray, ib: np.ndarray, unit: str) -> np.ndarray:
    """Levenshtein distances between ``values[ia[p]]`` and ``values[ib[p]]`` in characters
    (as typed) or whitespace-split words (rapidfuzz's C++ when installed)."""
    if len(ia) == 0:
        return np.zeros(0, dtype=np.int64)
    a, b = [values[i] for i in ia], [values[i] for i in ib]
    if unit == "word":
        return text_distances(a, b, "word")[0]
    if _has_rapidfuzz():  # characters as typed (text_distances strips them, for CER)
        return _char_distances(a, b)
    return batch_levenshtein(encode_sequences(a, "char"), encode_sequences(b, "char"))


def _has_rapidfuzz() -> bool:
    try:
        import rapidfuzz  # noqa: F401
    except ImportError:
        return False
    return True


def _char_distances(a: list[str], b: list[str]) -> np.ndarray:
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cpdist

    return np.asarray(cpdist(a, b, scorer=Levenshtein.distance), dtype=np.int64)


def _expected_disagreement(
    values: list[str], n_v: np.ndarray, max_pairs: int, seed: int
) -> tuple[float, bool]:
    """``D_e = sum_{u != v} n_u n_v delta(u, v) / (n (n - 1))`` over pairable values."""
    v, n = len(values), float(n_v.sum())
    if v * (v - 1) // 2 <= max_pairs:
        iu, ju = np.triu_indices(v, k=1)
        d = _value_distances(values, iu, ju)
        return float(2 * np.sum(n_v[iu] * n_v[ju] * d) / (n * (n - 1))), True
    rng = np.random.default_rng(seed)
    p = n_v / n
    ia, ib = rng.choice(v, size=max_pairs, p=p), rng.choice(v, size=max_pairs, p=p)
    d = _value_distances(values, ia, ib)
    # draws of two *different* value instances: correct for same-instance draws
    return float(d.mean() * n / (n - 1)), False


def _pair_table(enc_ann: pd.Index, pairs: Pairs, lev_c: np.ndarray, dist: np.ndarray,
                lev_w: np.ndarray, ref_words: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({
        "a": pairs.ann_a, "b": pairs.ann_b,
        "exact": (lev_c == 0).astype(float), "dist": dist, "lev_w": lev_w, "ref": ref_words,
    })
    g = frame.groupby(["a", "b"], sort=True)
    out = g.agg(n_items=("dist", "size"), exact_match=("exact", "mean"),
                edit_distance=("dist", "mean"), lev_w=("lev_w", "sum"), ref=("ref", "sum"))
    out["wer"] = out["lev_w"] / out["ref"].clip(lower=1)
    out = out.reset_index()
    out.insert(0, "annotator_b", enc_ann[out.pop("b").to_numpy()])
    out.insert(0, "annotator_a", enc_ann[out.pop("a").to_numpy()])
    return out.drop(columns=["lev_w", "ref"])


@validate_params({"max_value_pairs": [Interval(Integral, 1, None)]})
def transcript_agreement(
    df: pd.DataFrame, *, max_value_pairs: int = 20_000, seed: int = 0, labelbook: Any = None
) -> TranscriptAgreement:
    """Agreement between annotators who typed free text for the same items.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (the text).
    max_value_pairs : int, default 20000
        Krippendorff's expected disagreement needs the distance between every pair of
        distinct texts; above this many pairs it is estimated from this many random
        pairs (drawn with ``seed``).
    seed : int, default 0
    labelbook : Normalisation, mapping or label book, optional
        Transcription conventions (a label book's ``normalisation`` section, the label
        book, or a :class:`~assay.collect.normalisation.Normalisation`): the result's
        :attr:`~TranscriptAgreement.normalised` then holds the agreement after applying
        them to every text, next to the agreement as typed.

    Returns
    -------
    TranscriptAgreement
    """
    result = _agreement(df, max_value_pairs, seed)
    normalisation = as_normalisation(labelbook)
    if normalisation is not None:
        texts = df["label"].map(lambda t: normalisation.apply(str(t)), na_action="ignore")
        result.normalisation = normalisation
        result.normalised = _agreement(df.assign(label=texts), max_value_pairs, seed)
    return result


def _agreement(df: pd.DataFrame, max_value_pairs: int, seed: int) -> TranscriptAgreement:
    if "label" in df.columns:  # texts as str; missing stay missing (and are reported)
        df = df.assign(label=df["label"].map(str, na_action="ignore"))
    enc = encode_annotations(df)
    pairs = annotation_pairs(enc.item, enc.annotator, enc.label)
    if len(pairs.item) == 0:
        raise InputError("no item has texts from two annotators; agreement is undefined.")
    values = [str(v) for v in enc.classes]
    lens = np.array([len(v) for v in values])
    n_words = np.array([len(v.split()) for v in values])
    lev_c = _distances(values, pairs.lab_a, pairs.lab_b, "char")
    lev_w = _distances(values, pairs.lab_a, pairs.lab_b, "word")
    dist = _norm_dist(lev_c, lens[pairs.lab_a], lens[pairs.lab_b])
    table = _pair_table(enc.annotators, pairs, lev_c, dist, lev_w, n_words[pairs.lab_a])
    alpha, exact = _alpha(enc.item, enc.label, pairs.item, dist, values, max_value_pairs, seed)
    return TranscriptAgreement(table, _item_table(enc, pairs.item, dist), alpha, exact)


def _item_table(enc: EncodedAnnotations, pair_item: np.ndarray, dist: np.ndarray) -> pd.DataFrame:
    n_items = len(enc.items)
    n = np.bincount(enc.item, minlength=n_items)
    npairs = np.bincount(pair_item, minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(pair_item, dist, n_items) / npairs
    out = pd.DataFrame({"n_annotations": n, "edit_distance": mean},
                       index=pd.Index(enc.items, name="item"))
    return out[npairs > 0].sort_values("edit_distance", ascending=False, kind="stable")


def _alpha(item: np.ndarray, label: np.ndarray, pair_item: np.ndarray, dist: np.ndarray,
           values: list[str], max_pairs: int, seed: int) -> tuple[float, bool]:
    """Krippendorff's alpha ``1 - D_o / D_e`` with the normalised edit distance."""
    n_i = np.bincount(item)
    pairable = n_i[item] >= 2
    n = float(pairable.sum())
    # each unordered pair counts twice (ordered pairs), weighted 1 / (n_i - 1)
    d_o = float(np.sum(2 * dist / (n_i[pair_item] - 1)) / n)
    n_v = np.bincount(label[pairable], minlength=len(values)).astype(np.float64)
    used = np.flatnonzero(n_v > 0)
    d_e, exact = _expected_disagreement([values[i] for i in used], n_v[used], max_pairs, seed)
    return (1.0 - d_o / d_e if d_e > 0 else float("nan")), exact
