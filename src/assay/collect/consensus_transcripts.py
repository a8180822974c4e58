"""Consensus transcripts: ROVER-style word alignment and weighted voting.

:func:`transcript_consensus` merges several transcribers' texts of the same clip
(Fiscus 1997, "ROVER"):

1. **Progressive alignment** into a word transition network (WTN): a table of slots by
   transcribers, each cell a word or empty. The transcriptions join one at a time, the
   most reliable transcriber first; each is aligned to the network by dynamic
   programming where putting word ``w`` in a slot costs ``1 - (weight share of w in the
   slot)``, leaving a slot empty costs the weight share of its words, and a new slot
   (empty for everyone before) costs 1.
2. **Voting** per slot: every transcriber votes for its cell with its weight; the word
   (or the empty cell) with the most weight wins, ties going to a word over the empty
   cell, then to the more reliable transcriber. Empty winners are dropped. A word's ``confidence`` is its weight share.
3. **Transcriber quality** (``weighted=True``), from the transcribers' disagreement
   alone: two transcribers with independent errors at rates ``e_a`` and ``e_b`` differ
   on about ``e_a + e_b`` of the words, so the pairwise WERs ``d_ab`` (edits over the
   mean length, on the clips both typed) give every ``e_a`` by non-negative least
   squares (weighted by the words compared). The weight is the log-odds of a correct
   word among ``V = 8`` alternatives, ``log((1 - e) (V - 1) / e)`` (``e`` clipped to
   [0.005, 0.49]; ``V`` chosen on the simulations of ``benchmarks/speech.py``, where
   any ``V - 1`` from 4 to 20 gives the same consensus and the plain ``log((1 - e) / e)``
   lets the best transcriber outvote the rest too often). Estimating the rates
   against the consensus instead would reward the best transcriber for agreeing with
   itself (it dominates the vote and then looks perfect); the pairwise estimate has no
   such feedback. It needs three or more transcribers linked by shared clips, else all
   weights are 1, which is also ``weighted=False`` (plain ROVER voting).

Texts are split on whitespace and compared as given: apply the label book's
normalisation first (:func:`assay.collect.normalize_text`) if transcribers follow
different conventions. Measured against crowd-kit's ROVER in ``benchmarks/speech.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from assay._wer import as_texts, error_counts
from assay.collect._stats import annotation_pairs
from assay.collect.annotations import normalize_annotations

__all__ = ["TranscriptConsensus", "transcript_consensus"]

_EMPTY = -1
_TOL = 1e-9
#: Alternatives a wrong word is taken to be one of (the multi-class one-coin model).
_ALTERNATIVES = 8
#: Bounds of a transcriber's error rate when it becomes a weight.
_WER_CLIP = (0.005, 0.49)


@dataclass
class TranscriptConsensus:
    """Result of :func:`transcript_consensus`.

    Attributes
    ----------
    transcripts : DataFrame of shape (n_items, 3), indexed by item
        ``transcript`` (the consensus text), ``confidence`` (the mean of its words'
        confidences, 1 for an empty consensus) and ``n_transcripts``.
    words : DataFrame of shape (n_consensus_words, 4)
        ``item``, ``position`` (0-based within the item), ``word``, ``confidence``
        (the weight share of the transcribers who wrote that word in that slot).
    annotators : DataFrame of shape (n_annotators, 3), indexed by annotator
        ``n_items``, ``error_rate`` (estimated from the pairwise disagreement, NaN when
        not identifiable), ``wer`` (corpus WER against the consensus, for comparison) and
        ``weight`` (the voting weight).
    """

    transcripts: pd.DataFrame
    words: pd.DataFrame
    annotators: pd.DataFrame


def _align(net: np.ndarray, w: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Add the word codes ``seq`` to the network ``net`` (slots x transcribers so far).

    Returns the new network of shape (n_slots', k + 1), the new transcriber last.
    """
    n_s, n_w = net.shape[0], len(seq)
    share = w / w.sum()
    # (slots, words): weight share of each word in each slot
    sub = 1.0 - ((net[:, :, None] == seq[None, None, :]) * share[None, :, None]).sum(axis=1)
    dele = ((net != _EMPTY) * share[None, :]).sum(axis=1)
    dp = np.empty((n_s + 1, n_w + 1))
    dp[0] = np.arange(n_w + 1)
    j = np.arange(n_w + 1, dtype=np.float64)
    for i in range(1, n_s + 1):
        temp = np.empty(n_w + 1)
        temp[0] = dp[i - 1, 0] + dele[i - 1]
        temp[1:] = np.minimum(dp[i - 1, 1:] + dele[i - 1], dp[i - 1, :-1] + sub[i - 1])
        dp[i] = np.minimum.accumulate(temp - j) + j  # insertions cost 1 each
    return _trace(net, seq, dp, sub, dele)


def _trace(net: np.ndarray, seq: np.ndarray, dp: np.ndarray, sub: np.ndarray,
           dele: np.ndarray) -> np.ndarray:
    """Walk the dynamic programme back into the network's new rows."""
    d, s, de = dp.tolist(), sub.tolist(), dele.tolist()
    i, j = len(d) - 1, len(d[0]) - 1
    src: list[int] = []  # network row of each new slot (-1: a new slot)
    col: list[int] = []  # position in seq of the new transcriber's word (-1: empty)
    while i > 0 or j > 0:
        if i > 0 and j > 0 and abs(d[i][j] - d[i - 1][j - 1] - s[i - 1][j - 1]) < _TOL:
            i, j = i - 1, j - 1
            src.append(i)
            col.append(j)
        elif i > 0 and abs(d[i][j] - d[i - 1][j] - de[i - 1]) < _TOL:
            i -= 1
            src.append(i)
            col.append(-1)
        else:
            j -= 1
            src.append(-1)
            col.append(j)
    src_a, col_a = np.array(src[::-1], dtype=np.int64), np.array(col[::-1], dtype=np.int64)
    padded = np.vstack([net, np.full((1, net.shape[1]), _EMPTY)])
    new = np.append(seq, _EMPTY)
    return np.column_stack([padded[src_a], new[col_a]]).astype(np.int64)


def _vote(net: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Winning word code and its weight share per slot, empty winners dropped."""
    if net.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    same = net[:, :, None] == net[:, None, :]
    score = (same * w[None, None, :]).sum(axis=2)  # (slots, transcribers)
    # first maximum: a word before an empty cell, then the more reliable transcriber
    best = (score + _TOL * (net != _EMPTY)).argmax(axis=1)
    slots = np.arange(net.shape[0])
    code, conf = net[slots, best], score[slots, best] / w.sum()
    kept = code != _EMPTY
    return code[kept], conf[kept]


def _item_consensus(seqs: list[np.ndarray], w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consensus word codes and confidences of one item (``seqs`` most reliable first)."""
    net = seqs[0][:, None].astype(np.int64)
    for k in range(1, len(seqs)):
        net = _align(net, w[:k], seqs[k])
    return _vote(net, w)


@dataclass
class _Encoded:
    """The annotations as word codes, grouped by item."""

    items: pd.Index
    annotators: pd.Index
    vocab: np.ndarray
    groups: list[tuple[np.ndarray, list[np.ndarray]]]  # per item: annotators, codes
    frame: pd.DataFrame  # item, annotator, label (codes of item and annotator)


def _encode(df: pd.DataFrame) -> _Encoded:
    frame = normalize_annotations(df, allow_new=True, where="the transcripts")
    texts = as_texts(frame["label"], "the transcripts' label column")
    item, items = pd.factorize(frame["item"])
    ann, annotators = pd.factorize(frame["annotator"], sort=True)
    tokens = [t.split() for t in texts]
    lengths = np.array([len(t) for t in tokens])
    codes, vocab = pd.factorize(pd.Series([w for t in tokens for w in t], dtype=object))
    per_row = np.split(codes.astype(np.int64), np.cumsum(lengths)[:-1])
    order = np.argsort(item, kind="stable")
    bounds = np.flatnonzero(np.diff(item[order])) + 1
    groups = [(ann[rows], [per_row[r] for r in rows]) for rows in np.split(order, bounds)]
    enc = pd.DataFrame({"item": item, "annotator": ann, "label": texts})
    return _Encoded(pd.Index(items), pd.Index(annotators), np.asarray(vocab, dtype=object),
                    groups, enc)


def _consensus_pass(enc: _Encoded, weights: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for anns, seqs in enc.groups:
        order = np.lexsort((anns, -weights[anns]))
        out.append(_item_consensus([seqs[o] for o in order], weights[anns][order]))
    return out


def _annotator_wer(enc: _Encoded, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each annotator's corpus WER against the consensus, and its number of items."""
    f = enc.frame
    counts = error_counts([texts[i] for i in f["item"]], f["label"].to_list())
    n = len(enc.annotators)
    errors = np.bincount(f["annotator"], counts["errors"], n)
    words = np.bincount(f["annotator"], counts["n_reference"], n)
    return errors / np.maximum(words, 1), np.bincount(f["annotator"], minlength=n)


def _pairwise_error_rates(enc: _Encoded) -> np.ndarray:
    """Each annotator's word error rate from pairwise WERs ``d_ab ~ e_a + e_b``
    (NaN for all when the system does not identify them)."""
    f, n_ann = enc.frame, len(enc.annotators)
    rows = np.arange(len(f))
    pairs = annotation_pairs(f["item"].to_numpy(), f["annotator"].to_numpy(), rows)
    if len(pairs.item) == 0:
        return np.full(n_ann, np.nan)
    labels = f["label"].to_list()
    counts = error_counts([labels[r] for r in pairs.lab_a], [labels[r] for r in pairs.lab_b])
    n_b = error_counts([labels[r] for r in pairs.lab_b], [""] * len(pairs.item))["n_reference"]
    key = pairs.ann_a * n_ann + pairs.ann_b
    uniq, inv = np.unique(key, return_inverse=True)
    edits = np.bincount(inv, counts["errors"].to_numpy())
    words = np.bincount(inv, (counts["n_reference"].to_numpy() + n_b.to_numpy()) / 2)
    design = np.zeros((len(uniq), n_ann))
    design[np.arange(len(uniq)), uniq // n_ann] = 1.0
    design[np.arange(len(uniq)), uniq % n_ann] = 1.0
    if np.linalg.matrix_rank(design) < n_ann:
        return np.full(n_ann, np.nan)
    root = np.sqrt(np.maximum(words, 1))
    from scipy.optimize import nnls  # here: SciPy's optimize is slow to import

    rates, _ = nnls(design * root[:, None], edits / np.maximum(words, 1) * root)
    return np.asarray(rates, dtype=np.float64)


def transcript_consensus(df: pd.DataFrame, *, weighted: bool = True) -> TranscriptConsensus:
    """Consensus transcript of every item, with per-word confidence (ROVER-style).

    See the module docstring for the alignment, the voting and the weights.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (the text; crowd-kit's ``task``, ``worker``
        are accepted).
    weighted : bool, default True
        Weight transcribers by their estimated quality (else plain voting).

    Returns
    -------
    TranscriptConsensus

    Raises
    ------
    InputError
        Missing columns or values, non-text labels.
    """
    enc = _encode(df)
    rates = _pairwise_error_rates(enc) if weighted else np.full(len(enc.annotators), np.nan)
    weights = np.ones(len(enc.annotators))
    if not np.isnan(rates).any():
        clipped = np.clip(rates, *_WER_CLIP)
        weights = np.log((1 - clipped) / clipped * (_ALTERNATIVES - 1))
    result = _consensus_pass(enc, weights)
    texts = [" ".join(enc.vocab[codes]) for codes, _ in result]
    wer, n_items = _annotator_wer(enc, texts)
    annotators = pd.DataFrame({"n_items": n_items, "error_rate": rates, "wer": wer,
                               "weight": weights}, index=enc.annotators.rename("annotator"))
    return _result(enc, result, texts, annotators)


def _result(enc: _Encoded, result: list[tuple[np.ndarray, np.ndarray]], texts: list[str],
            annotators: pd.DataFrame) -> TranscriptConsensus:
    n_words = np.array([len(c) for c, _ in result])
    conf = [c for _, c in result]
    words = pd.DataFrame({
        "item": np.repeat(enc.items.to_numpy(), n_words),
        "position": np.concatenate([np.arange(k) for k in n_words]) if len(result) else [],
        "word": np.concatenate([enc.vocab[c] for c, _ in result]) if len(result) else [],
        "confidence": np.concatenate(conf) if len(result) else [],
    })
    item_conf = np.array([float(c.mean()) if len(c) else 1.0 for c in conf])
    transcripts = pd.DataFrame({
        "transcript": texts, "confidence": item_conf,
        "n_transcripts": [len(s) for _, s in enc.groups],
    }, index=enc.items.rename("item"))
    return TranscriptConsensus(transcripts, words, annotators)

