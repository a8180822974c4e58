"""The tables of an :class:`~assay.collect.agreement.AgreementReport`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay.collect import _stats
from assay.collect.annotations import EncodedAnnotations

__all__ = ["annotator_table", "disagreement_table", "per_class_table", "weighted_mean_kappa"]


def weighted_mean_kappa(conf: np.ndarray) -> float:
    """Mean of the pairwise Cohen's kappas, weighted by the number of shared items.

    Parameters
    ----------
    conf : ndarray of shape (n_pairs, n_classes, n_classes)
        Pair confusion matrices; pairs with an undefined kappa are left out.
    """
    kappa, _, n = _stats.kappa_from_confusions(conf)
    ok = np.isfinite(kappa) & (n > 0)
    return float(np.dot(kappa[ok], n[ok]) / n[ok].sum()) if ok.any() else float("nan")


def _examples(
    dense: np.ndarray, p_item: np.ndarray, items: pd.Index, c: int, other: int | None, k: int
) -> list[object]:
    mask = (dense[:, c] > 0) & (p_item < 1)
    if other is not None:
        mask &= dense[:, other] > 0
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(p_item[idx], kind="stable")][:k]
    return list(items[idx])


def per_class_table(
    enc: EncodedAnnotations,
    dense: np.ndarray,
    p_item: np.ndarray,
    confusion: pd.DataFrame,
    class_weight: np.ndarray,
    class_hits: np.ndarray,
    n_examples: int,
) -> pd.DataFrame:
    """Per-class agreement.

    Returns
    -------
    DataFrame of shape (n_classes, 7), indexed by class
        ``n_labels`` (labels of the class), ``n_items`` (items with at least one such
        label), ``agreement`` (specific agreement: among ordered pairs of different
        annotators on the same item where the first chose the class, the share where the
        second chose it too, i.e. ``confusion[c, c] / confusion[c, :].sum()``; NaN if the
        class never occurs on an item with two labels), ``confused_with`` (the other class
        it is most often paired with), ``confused_share`` (the share of its pairs that go
        to that class), ``hlp`` (agreement of an annotator with the majority of the other
        annotators, among annotations where that majority is the class) and
        ``examples`` (items labelled with both classes, most disagreed-on first).
    """
    conf = confusion.to_numpy(dtype=np.float64)
    row = conf.sum(axis=1)
    off = conf.copy()
    np.fill_diagonal(off, -1.0)
    best = off.argmax(axis=1)
    has_other = off.max(axis=1) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = np.where(row > 0, np.diag(conf) / row, np.nan)
        share = np.where(has_other, off.max(axis=1) / row, np.nan)
        hlp = np.where(class_weight > 0, class_hits / class_weight, np.nan)
    confused = [enc.classes[b] if h else None for b, h in zip(best, has_other, strict=True)]
    examples = [
        _examples(dense, p_item, enc.items, c, int(best[c]) if has_other[c] else None,
                  n_examples)
        for c in range(enc.n_classes)
    ]
    return pd.DataFrame(
        {"n_labels": dense.sum(axis=0), "n_items": (dense > 0).sum(axis=0),
         "agreement": agree, "confused_with": pd.Series(confused, dtype=object).to_numpy(),
         "confused_share": share, "hlp": hlp,
         "examples": pd.Series(examples, dtype=object).to_numpy()},
        index=pd.Index(enc.classes, name="class"),
    )


def disagreement_table(
    enc: EncodedAnnotations, dense: np.ndarray, p_item: np.ndarray, max_rows: int
) -> pd.DataFrame:
    """Items ranked by disagreement ``1 - P_i`` (then by more labels, then first seen).

    Returns
    -------
    DataFrame of shape (<= max_rows, 4), indexed by item
        ``n_annotations``, ``disagreement``, ``majority`` (most frequent label; ties go
        to the earlier class) and ``labels`` (a dict annotator -> label).
    """
    dis = 1.0 - p_item
    idx = np.flatnonzero(dis > 0)
    n = dense.sum(axis=1)
    order = np.lexsort((idx, -n[idx], -dis[idx]))[:max_rows]
    idx = idx[order]
    sel = np.isin(enc.item, idx)
    labels: dict[int, dict[Any, Any]] = {}  # a loop: a groupby costs ~0.5 ms per item
    rows = zip(enc.item[sel].tolist(), pd.Index(enc.annotators[enc.annotator[sel]]).tolist(),
               pd.Index(enc.classes[enc.label[sel]]).tolist(), strict=True)
    for code, who, label in rows:
        labels.setdefault(code, {})[who] = label
    return pd.DataFrame(
        {"n_annotations": n[idx].astype(np.int64), "disagreement": dis[idx],
         "majority": enc.classes[dense[idx].argmax(axis=1)] if len(idx) else [],
         "labels": pd.Series([labels[i] for i in idx.tolist()], dtype=object).to_numpy()},
        index=pd.Index(enc.items[idx], name="item"),
    )


def annotator_table(
    enc: EncodedAnnotations, pairs: _stats.Pairs, pair_df: pd.DataFrame, credit: np.ndarray
) -> pd.DataFrame:
    """Per-annotator agreement.

    Returns
    -------
    DataFrame of shape (n_annotators, 5), indexed by annotator
        ``n_annotations``, ``n_shared`` (annotations on items with another label),
        ``agreement_with_others`` (share of their pairs with other annotators that
        agree), ``mean_cohen_kappa`` (their pairwise kappas weighted by shared items) and
        ``agreement_with_consensus`` (agreement with the majority of the others: the
        annotator's human-level performance).
    """
    m = len(enc.annotators)
    agree = (pairs.lab_a == pairs.lab_b).astype(np.float64)
    n_pairs = np.bincount(pairs.ann_a, minlength=m) + np.bincount(pairs.ann_b, minlength=m)
    n_agree = np.bincount(pairs.ann_a, agree, m) + np.bincount(pairs.ann_b, agree, m)
    ok = np.isfinite(credit)
    codes = enc.annotators.get_indexer
    a, b = codes(pd.Index(pair_df["annotator_a"])), codes(pd.Index(pair_df["annotator_b"]))
    kap, nn = pair_df["cohen_kappa"].to_numpy(), pair_df["n_items"].to_numpy(np.float64)
    good = np.isfinite(kap)
    kw = np.where(good, kap * nn, 0.0)
    ww = np.where(good, nn, 0.0)
    ksum = np.bincount(a, kw, m) + np.bincount(b, kw, m)
    wsum = np.bincount(a, ww, m) + np.bincount(b, ww, m)
    shared = np.bincount(enc.annotator[ok], minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {"n_annotations": np.bincount(enc.annotator, minlength=m), "n_shared": shared,
             "agreement_with_others": n_agree / n_pairs, "mean_cohen_kappa": ksum / wsum,
             "agreement_with_consensus": np.bincount(enc.annotator[ok], credit[ok], m) / shared},
            index=pd.Index(enc.annotators, name="annotator"),
        )
