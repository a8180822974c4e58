"""Agreement of label sets (multi-label): how consistently do annotators tag items?

:func:`set_agreement` returns a :class:`SetAgreementReport` with Krippendorff's alpha
under the MASI distance (as nltk's ``AnnotationTask(distance=masi_distance).alpha()``),
a per-label table (each label as a yes/no variable: prevalence, Fleiss' and mean
pairwise Cohen's kappa, nominal alpha, how often one annotator of a pair omits it),
and the label pairs that annotators swap (one gives ``x`` without ``y``, the other
``y`` without ``x``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from assay._validation import Integral, Interval, validate_params, warn
from assay.collect._kind_render import fmt, frame_records, html_page, text_table, with_ci
from assay.collect._masi_lattice import compact_masks, expected_masi_lattice, lattice_fits
from assay.collect._resample import bootstrap_interval
from assay.collect._set_pairs import pair_label_counts
from assay.collect._sets import SetAnnotations, encode_sets, masi
from assay.collect._stats import Pairs, annotation_pairs, pair_index
from assay.exceptions import InputError

__all__ = ["SetAgreementReport", "set_agreement"]

#: Distinct label sets up to which the bootstrap keeps the MASI distances in memory.
_MAX_STORED_SETS = 6000


@dataclass
class SetAgreementReport:
    """Agreement statistics of label-set annotations (see :func:`set_agreement`).

    Attributes
    ----------
    n_items, n_annotations, n_annotators, n_single : int
    labels : list of str
    krippendorff_alpha : float
        Alpha with the MASI distance.
    mean_masi_agreement : float
        ``1 -`` the mean MASI distance over pairs of annotations of the same item.
    exact_agreement : float
        The share of those pairs with identical sets.
    per_label : DataFrame indexed by label
        ``n_annotations`` (carrying the label), ``prevalence``, ``fleiss_kappa``,
        ``cohen_kappa`` (mean over annotator pairs, weighted by shared items, pairs
        sharing >= ``min_shared`` items), ``alpha`` (nominal), ``n_omitted`` (pairs in
        which one annotator gave the label and the other did not), ``omission_rate``
        (``n_omitted`` over the pairs in which at least one gave it).
    confusions : DataFrame
        ``label_a``, ``label_b``, ``n_swapped`` (pairs in which one annotator gave ``a``
        without ``b`` and the other ``b`` without ``a``), ``share`` (of all pairs);
        most swapped first, pairs never swapped left out.
    ci : dict
        ``{"krippendorff_alpha": (low, high)}``, bootstrap 95% (items resampled).
    min_shared : int
    """

    n_items: int
    n_annotations: int
    n_annotators: int
    n_single: int
    labels: list[str]
    krippendorff_alpha: float
    mean_masi_agreement: float
    exact_agreement: float
    per_label: pd.DataFrame
    confusions: pd.DataFrame
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    min_shared: int = 10

    @property
    def per_label_kappa(self) -> pd.Series:
        """Fleiss' kappa of each label as a yes/no variable."""
        return self.per_label["fleiss_kappa"]

    def to_revise(self, k: int = 5) -> pd.DataFrame:
        """The ``k`` labels with the lowest alpha (the definitions to revise first)."""
        table = self.per_label.dropna(subset=["alpha"])
        return table.sort_values(["alpha", "n_annotations"], ascending=[True, False],
                                 kind="stable").head(k)

    def summary(self) -> str:
        """Plain text, lines of at most 80 columns."""
        lines = [
            f"{self.n_annotations} label-set annotations of {self.n_items} items by "
            f"{self.n_annotators} annotators, {len(self.labels)} labels",
            f"  ({self.n_single} items with one annotation left out)",
            "  Krippendorff's alpha (MASI): "
            f"{with_ci(self.krippendorff_alpha, self.ci.get('krippendorff_alpha'))}",
            f"  mean MASI agreement: {fmt(self.mean_masi_agreement)}; identical sets: "
            f"{fmt(self.exact_agreement)}",
            "labels with the lowest agreement:",
        ]
        lines += text_table(self.to_revise(5), {
            "index": "label", "n_annotations": "n", "prevalence": "prev",
            "fleiss_kappa": "kappa", "alpha": "alpha", "omission_rate": "omitted"})
        if len(self.confusions):
            lines.append("most swapped label pairs:")
            lines += text_table(self.confusions, {
                "label_a": "label a", "label_b": "label b", "n_swapped": "pairs",
                "share": "share"}, max_rows=5)
        return "\n".join(lines)

    def to_html(self) -> str:
        """A self-contained HTML fragment: the summary and the tables."""
        return html_page("Agreement (label sets)", self.summary(), {
            "Per label": self.per_label, "Swapped labels": self.confusions})

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_dict(self) -> dict[str, Any]:
        """Statistics, intervals and tables, JSON-serialisable (NaN -> None)."""
        def num(x: Any) -> Any:
            return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)

        return {
            "kind": "multilabel", "n_items": self.n_items,
            "n_annotations": self.n_annotations, "n_annotators": self.n_annotators,
            "n_single": self.n_single, "labels": list(self.labels),
            "krippendorff_alpha": num(self.krippendorff_alpha),
            "mean_masi_agreement": num(self.mean_masi_agreement),
            "exact_agreement": num(self.exact_agreement),
            "ci": {k: [num(lo), num(hi)] for k, (lo, hi) in self.ci.items()},
            "per_label": frame_records(self.per_label.rename_axis("label")),
            "confusions": frame_records(self.confusions.set_index("label_a")),
            "min_shared": self.min_shared,
        }


def _distance_block(enc: SetAnnotations, lo: int, hi: int) -> np.ndarray:
    """MASI distances between sets ``lo..hi-1`` and every set, shape (hi - lo, n_sets)."""
    k = len(enc.sets)
    return masi(enc.sets, enc.set_size, np.arange(lo, hi)[:, None], np.arange(k)[None, :])


def _expected(enc: SetAnnotations, counts: np.ndarray) -> np.ndarray:
    """``n D n`` for each row ``n`` of ``counts`` (b, n_sets), D by blocks of rows."""
    k = len(enc.sets)
    step = max(1, 2_000_000 // max(k, 1))
    out = np.zeros(len(counts))
    for lo in range(0, k, step):
        hi = min(k, lo + step)
        block = _distance_block(enc, lo, hi)  # (hi - lo, n_sets)
        out += np.einsum("bj,bj->b", counts[:, lo:hi], counts @ block.T)
    return out


def _expected_fn(enc: SetAnnotations, total: float, store: bool
                 ) -> Callable[[np.ndarray], np.ndarray]:
    """``counts (b, n_sets) -> n D n``: on the subset lattice when few labels are in use
    (:mod:`assay.collect._masi_lattice`), else over the pairs of distinct sets (the
    distances kept in memory, float32, when ``store`` and there are few sets)."""
    compact = compact_masks(enc.sets, len(enc.labels))
    if compact is not None and lattice_fits(len(compact[1]), len(enc.sets), 2.0 * total):
        masks, n_used = compact[0], len(compact[1])
        return lambda counts: expected_masi_lattice(masks, n_used, counts)
    k = len(enc.sets)
    if not store or k > _MAX_STORED_SETS:
        return lambda counts: _expected(enc, counts)
    stored = _distance_block(enc, 0, k).astype(np.float32)
    return lambda counts: np.einsum("bj,bj->b", counts, counts @ stored)


def _alpha_from(n: np.ndarray, within: np.ndarray, expected: np.ndarray,
                n_distinct: np.ndarray) -> np.ndarray:
    """nltk's alpha: 1 when a single set is used throughout, else ``1 - D_o / D_e``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1.0) * within / expected
    return np.where(n_distinct <= 1, 1.0, np.where(expected > 0, alpha, np.nan))


def _masi_alpha(
    enc: SetAnnotations, pairs: Pairs, d: np.ndarray, ci: bool, n_boot: int, seed: int
) -> tuple[float, dict[str, tuple[float, float]]]:
    m = np.bincount(enc.item, minlength=enc.n_items).astype(np.float64)
    keep = np.flatnonzero(m >= 2)
    ok = m[enc.item] >= 2
    within = 2.0 * np.bincount(pairs.item, weights=d, minlength=enc.n_items)
    within = np.where(m >= 2, within / np.maximum(m - 1, 1), 0.0)[keep]
    k = len(enc.sets)
    row = np.full(enc.n_items, -1, dtype=np.int64)
    row[keep] = np.arange(len(keep))
    counts = sparse.csr_matrix((np.ones(int(ok.sum())), (row[enc.item[ok]], enc.set_code[ok])),
                               shape=(len(keep), k))
    total = np.asarray(counts.sum(axis=0)).ravel()
    n = float(total.sum())
    expected = _expected_fn(enc, n, store=ci)
    alpha = float(_alpha_from(np.array([n]), np.array([within.sum()]),
                              expected(total[None, :]), np.array([(total > 0).sum()]))[0])
    if not ci:
        return alpha, {}
    feats = sparse.hstack([sparse.csr_matrix(np.column_stack([m[keep], within])), counts]).tocsr()

    def statistic(sums: np.ndarray) -> np.ndarray:
        c = sums[:, 2:]
        return _alpha_from(sums[:, 0], sums[:, 1], expected(c), (c > 0).sum(axis=1))

    interval = bootstrap_interval(len(keep), lambda lo, hi: feats[lo:hi], statistic,
                                  n_boot=n_boot, seed=seed, width=feats.shape[1])
    return alpha, {"krippendorff_alpha": interval}


def _per_label_items(enc: SetAnnotations) -> tuple[np.ndarray, ...]:
    """Fleiss' kappa and nominal alpha of every label as a yes/no variable."""
    m = np.bincount(enc.item, minlength=enc.n_items).astype(np.float64)
    ok = np.flatnonzero(m[enc.item] >= 2)
    x = enc.member[ok]
    by_item = sparse.csr_matrix((np.ones(len(ok)), (enc.item[ok], np.arange(len(ok)))),
                                shape=(enc.n_items, len(ok)))
    c1 = (by_item @ x).tocsr()
    inv = np.where(m >= 2, 1.0 / np.maximum(m - 1, 1), 0.0)
    s1 = np.asarray(c1.T @ inv).ravel()  # sum_i c1 / (m - 1)
    s1m = np.asarray(c1.T @ (m * inv)).ravel()  # sum_i c1 m / (m - 1)
    sq = c1.multiply(c1).tocsr()
    s2 = np.asarray(sq.T @ inv).ravel()  # sum_i c1^2 / (m - 1)
    s2m = np.asarray(sq.T @ np.where(m >= 2, inv / np.maximum(m, 1), 0.0)).ravel()
    n = float(len(ok))
    n_items = float((m >= 2).sum())
    n1 = np.asarray(x.sum(axis=0)).ravel()
    n0 = n - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1.0 - (n - 1.0) * 2.0 * (s1m - s2) / (2.0 * n0 * n1)
        p_bar = 1.0 - 2.0 / n_items * (s1 - s2m)
        p1 = n1 / n
        p_e = p1 * p1 + (1 - p1) * (1 - p1)
        fleiss = np.where(p_e < 1, (p_bar - p_e) / (1 - p_e), np.nan)
        alpha = np.where(n0 * n1 > 0, alpha, np.nan)
    return fleiss, alpha


def _sparse_pair_counts(enc: SetAnnotations, pairs: Pairs, inv: np.ndarray, p: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, sparse.csr_matrix]:
    """``n11, na, nb`` (p, n_labels) and the swaps, by sparse products over the pairs."""
    a = enc.member[pairs.lab_a]
    b = enc.member[pairs.lab_b]
    both = a.multiply(b).tocsr()
    agg = sparse.csr_matrix((np.ones(len(inv)), (inv, np.arange(len(inv)))),
                            shape=(p, len(inv)))
    n11, na, nb = (np.asarray((agg @ mat).todense()) for mat in (both, a, b))
    only_a, only_b = (a - both).tocsr(), (b - both).tocsr()
    return n11, na, nb, (only_a.T @ only_b).tocsr()


def _pair_tables(enc: SetAnnotations, pairs: Pairs, min_shared: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, sparse.csr_matrix]:
    """Mean pairwise Cohen's kappa, omissions and either-counts per label; swap counts."""
    present, inv = pair_index(pairs, len(enc.annotators))
    p = len(present)
    counts = pair_label_counts(enc.sets, len(enc.labels), enc.set_code[pairs.lab_a],
                               enc.set_code[pairs.lab_b], inv, p)
    if counts is None:
        n11, na, nb, swaps = _sparse_pair_counts(enc, pairs, inv, p)
    else:
        n11, na, nb = counts[:3]
        swaps = sparse.csr_matrix(counts[3])
    n_p = np.bincount(inv, minlength=p).astype(np.float64)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        po = (n_p - na - nb + 2 * n11) / n_p
        pe = (na * nb + (n_p - na) * (n_p - nb)) / (n_p * n_p)
        kappa = np.where(pe < 1, (po - pe) / (1 - pe), np.nan)
    threshold = min(min_shared, n_p.max()) if p else min_shared
    use = np.isfinite(kappa) & (n_p >= threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        cohen = np.where(use, kappa * n_p, 0).sum(axis=0) / np.where(use, n_p, 0).sum(axis=0)
    ones_a, ones_b, ones_both = (mat.sum(axis=0) for mat in (na, nb, n11))
    omitted = ones_a + ones_b - 2 * ones_both
    either = ones_a + ones_b - ones_both
    return cohen, omitted, either, swaps + swaps.T


def _confusions(enc: SetAnnotations, swaps: sparse.csr_matrix, n_pairs: int) -> pd.DataFrame:
    coo = sparse.triu(swaps, k=1).tocoo()
    keep = coo.data > 0
    out = pd.DataFrame({"label_a": enc.labels[coo.row[keep]], "label_b": enc.labels[coo.col[keep]],
                        "n_swapped": coo.data[keep].astype(np.int64)})
    out["share"] = out["n_swapped"] / max(n_pairs, 1)
    return out.sort_values(["n_swapped", "label_a", "label_b"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)


def _per_label(enc: SetAnnotations, pairs: Pairs, min_shared: int
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    fleiss, alpha = _per_label_items(enc)
    cohen, omitted, either, swaps = _pair_tables(enc, pairs, min_shared)
    carried = np.asarray(enc.member.sum(axis=0)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame({
            "n_annotations": carried.astype(np.int64),
            "prevalence": carried / max(len(enc.item), 1),
            "fleiss_kappa": fleiss, "cohen_kappa": cohen, "alpha": alpha,
            "n_omitted": omitted.astype(np.int64),
            "omission_rate": np.where(either > 0, omitted / np.maximum(either, 1), np.nan),
        }, index=pd.Index(enc.labels, name="label"))
    return table, _confusions(enc, swaps, len(pairs.item))


@validate_params({
    "n_boot": [Interval(Integral, 1, None)],
    "seed": [Interval(Integral, 0, None)],
    "min_shared": [Interval(Integral, 1, None)],
})
def set_agreement(
    df: pd.DataFrame,
    *,
    labels: Sequence[Any] | None = None,
    allow_new: bool = False,
    ci: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    min_shared: int = 10,
) -> SetAgreementReport:
    """Measure how consistently annotators give the same label sets.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        Long format ``item``, ``annotator``, ``label`` (or ``task``, ``worker``); each
        label a list/tuple/set/array of label names, or a JSON list as text (``[]``: no
        label applies). An annotator who labelled an item twice counts once (the last).
    labels : sequence, optional
        The label book's labels; a name outside it raises
        :class:`~assay.exceptions.InputError` naming it and its row, unless
        ``allow_new``. Default: the names found.
    allow_new : bool, default False
    ci : bool, default True
        A percentile bootstrap 95% interval on alpha (items resampled).
    n_boot, seed : int
    min_shared : int, default 10
        Annotator pairs sharing fewer items are left out of the mean Cohen's kappa of
        each label (when no pair shares that many, the pairs sharing the most are used).

    Returns
    -------
    SetAgreementReport

    Raises
    ------
    InputError
        Labels that are not sets of names (named by row), unknown labels, or no item
        annotated twice.

    Notes
    -----
    Alpha is nltk's ``AnnotationTask(data, distance=masi_distance).alpha()`` (1 when a
    single set is used throughout, as there), computed from the distinct sets:
    ``O(n_pairs)`` for the observed disagreement; the expected one on the subset lattice
    of the ``L`` labels in use, ``O(L^2 2^L)`` with exact integer pair counts (see
    :mod:`assay.collect._masi_lattice`), when ``L <= 20`` and that is cheaper than
    ``O(n_sets^2)`` over every pair of distinct sets. The per-label tables are counts by
    (annotator pair, set bit mask) when at most 62 labels are in use
    (:mod:`assay.collect._set_pairs`), else sparse products over the pairs.
    """
    enc = encode_sets(df, labels=labels, allow_new=allow_new)
    m = np.bincount(enc.item, minlength=enc.n_items)
    n_single = int((m < 2).sum())
    if n_single == enc.n_items:
        raise InputError(
            "no item has labels from two annotators, so agreement is undefined; "
            "have a second annotator label a sample (see assay.plan_sample)."
        )
    if n_single:
        warn(f"{n_single} item(s) have a single annotation and are left out of agreement.")
    pairs = annotation_pairs(enc.item, enc.annotator, np.arange(len(enc.item)))
    d = masi(enc.sets, enc.set_size, enc.set_code[pairs.lab_a], enc.set_code[pairs.lab_b])
    alpha, intervals = _masi_alpha(enc, pairs, d, ci, n_boot, seed)
    per_label, confusions = _per_label(enc, pairs, min_shared)
    return SetAgreementReport(
        n_items=enc.n_items, n_annotations=len(enc.item), n_annotators=len(enc.annotators),
        n_single=n_single, labels=[str(x) for x in enc.labels], krippendorff_alpha=alpha,
        mean_masi_agreement=float(1.0 - d.mean()),
        exact_agreement=float(np.mean(enc.set_code[pairs.lab_a] == enc.set_code[pairs.lab_b])),
        per_label=per_label, confusions=confusions, ci=intervals, min_shared=min_shared,
    )
