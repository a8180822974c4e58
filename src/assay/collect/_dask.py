"""Consensus and agreement of annotation tables in a Dask DataFrame (larger than memory).

The table (``item``, ``annotator``, ``label``, or crowd-kit's ``task``, ``worker``) is
read once for its vocabularies (the sorted annotators, the classes as the in-memory
path orders them), shuffled by item so that every partition holds whole items, and
encoded per partition; the encoded partitions are kept on the cluster (``persist``).
Everything else is a sum over partitions:

* Dawid-Skene: the E-step runs per partition given the parameters, and returns the
  M-step's sufficient statistics (``X^T T``, ``T.sum(0)``) and its log-likelihood; the
  M-step runs here on their sums (:func:`assay.collect._dawid_skene.vb_counts`), so the
  iterations are those of :func:`assay.consensus` on the same data;
* majority vote: the one-coin accuracy is a mean over annotations;
* agreement: per-item agreement, class masses, the coincidence matrix, the pairwise
  confusions and the leave-one-out credits are sums over items; so are the moments of
  the item influences that give the delta-method intervals (a second pass).

Per-item results (consensus labels and posteriors) stay a lazy Dask DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from assay._dask import is_dask_frame
from assay.collect import _stats
from assay.collect._bootstrap import item_features
from assay.collect._dawid_skene import (
    _e_step,
    _prior_alpha,
    m_counts,
    posterior_counts,
    vb_counts,
)
from assay.collect._delta import (
    Linearisation,
    Totals,
    influence_moments,
    intervals_from,
    linearise,
    point_estimates,
)
from assay.collect.annotations import (
    _check_missing,
    _duplicate_mask,
    _factorize_sorted,
    _resolve_classes,
    rename_aliases,
)
from assay.exceptions import InputError

__all__ = ["dask_agreement", "dask_consensus", "is_dask_frame"]

WHERE = "the annotations"
COLUMNS = ["item", "annotator", "label"]


@dataclass
class Part:
    """One partition of whole items, as codes (annotators and classes are global)."""

    items: pd.Index
    item: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    n_classes: int
    n_annotators: int

    def counts(self) -> np.ndarray:
        """Labels per (item, class), dense, float64."""
        key = self.item * self.n_classes + self.label
        size = len(self.items) * self.n_classes
        return np.bincount(key, minlength=size).reshape(-1, self.n_classes).astype(np.float64)

    def design(self) -> sparse.csr_matrix:
        cols = self.annotator * self.n_classes + self.label
        shape = (len(self.items), self.n_annotators * self.n_classes)
        return sparse.csr_matrix((np.ones(len(cols)), (self.item, cols)), shape=shape)


@dataclass
class Encoded:
    """The encoded partitions (persisted Dask delayed objects) and the vocabularies."""

    parts: list[Any]
    annotators: pd.Index
    classes: pd.Index

    @property
    def k(self) -> int:
        return len(self.classes)

    def compute(self, func: Any, *args: Any, tree: bool = True) -> Any:
        """Run ``func(part, *args)`` on every partition; sum the tuples (or list them)."""
        import dask

        task = dask.delayed(func)
        level = [task(p, *args) for p in self.parts]
        if not tree:
            return list(dask.compute(level)[0])
        add = dask.delayed(_add)
        while len(level) > 1:
            level = [add(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                     for i in range(0, len(level), 2)]
        return dask.compute(level[0])[0]


def _add(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _vocabulary(part: pd.DataFrame) -> tuple[pd.Index, pd.Index, int]:
    _check_missing(part, WHERE, None)
    return pd.Index(part["annotator"].unique()), pd.Index(part["label"].unique()), len(part)


def _encode(part: pd.DataFrame, annotators: pd.Index, classes: pd.Index) -> Part:
    item, items = pd.factorize(part["item"], sort=False)
    ann = annotators.get_indexer(pd.Index(part["annotator"]))
    lab = classes.get_indexer(pd.Index(part["label"]))
    item = np.asarray(item, dtype=np.int64)
    dup = _duplicate_mask(item, ann, len(annotators))
    keep = ~dup
    return Part(pd.Index(items.tolist()), item[keep], ann[keep].astype(np.int64),
                lab[keep].astype(np.int64), len(classes), len(annotators))


def encode_dask(ddf: Any, classes: Any = None, allow_new: bool = False) -> Encoded:
    """Check, shuffle by item, encode and persist an annotation table in Dask.

    Raises
    ------
    InputError
        Missing columns or values, no rows, labels outside ``classes``.
    """
    import dask

    names = rename_aliases(ddf._meta).columns
    ddf = ddf.rename(columns=dict(zip(ddf.columns, names, strict=True)))
    missing = [c for c in COLUMNS if c not in ddf.columns]
    if missing:
        raise InputError(f"{WHERE} lack the column(s) {', '.join(missing)}; give item, "
                         "annotator and label (or task, worker, label).")
    ddf = ddf[COLUMNS]
    vocab = dask.compute([dask.delayed(_vocabulary)(p) for p in ddf.to_delayed()])[0]
    if sum(n for _, _, n in vocab) == 0:
        raise InputError(f"{WHERE} have no rows; give at least one annotation.")
    # plain values: Dask's Arrow strings would give other index dtypes than pandas'
    anns = pd.Index(pd.concat([pd.Series(a) for a, _, _ in vocab]).unique().tolist())
    labs = pd.Series(pd.concat([pd.Series(lab) for _, lab, _ in vocab]).unique().tolist())
    annotators = _factorize_sorted(pd.Series(anns))[1]
    class_index = _resolve_classes(labs, classes, allow_new, WHERE)
    shuffled = ddf.shuffle(on="item")
    enc = dask.delayed(_encode)
    parts = [enc(p, annotators, class_index) for p in shuffled.to_delayed()]
    return Encoded(list(dask.persist(*parts)), annotators, class_index)


# ---------------------------------------------------------------- consensus


def _ds_start(part: Part, m: int) -> tuple[np.ndarray, ...]:
    """Majority-vote shares as the first posterior; what the prior and priority need."""
    k = part.n_classes
    counts = part.counts()
    init = counts / counts.sum(axis=1, keepdims=True)
    top = (init >= init.max(axis=1, keepdims=True) - 1e-12).astype(np.float64)
    centre = top / top.sum(axis=1, keepdims=True)
    design_t = part.design().T  # CSC: streams through init (see fit_dawid_skene)
    return (np.asarray(design_t @ init), init.sum(axis=0), np.asarray(design_t @ centre),
            np.bincount(part.label, minlength=k), np.bincount(part.annotator, minlength=m))


def _ds_step(part: Part, log_pi: np.ndarray, log_prior: np.ndarray) -> tuple[Any, ...]:
    """E-step on one partition: log-likelihood, ``X^T T`` and ``T.sum(0)``."""
    design = part.design()
    none = np.zeros(0, dtype=np.int64)
    t, ll = _e_step(design, log_pi, log_prior, none, none)
    return ll, np.asarray(design.T @ t), t.sum(axis=0)


@dataclass
class _Final:
    """How each partition turns its counts into consensus labels and posteriors."""

    method: str
    classes: pd.Index
    priority: np.ndarray
    log_pi: np.ndarray | None = None
    log_prior: np.ndarray | None = None
    accuracy: float = 1.0

    def posterior(self, part: Part, counts: np.ndarray) -> np.ndarray:
        if self.method == "majority":
            from assay.collect.consensus import one_coin

            return one_coin(counts, self.accuracy)
        assert self.log_pi is not None and self.log_prior is not None
        none = np.zeros(0, dtype=np.int64)
        return _e_step(part.design(), self.log_pi, self.log_prior, none, none)[0]

    def codes(self, part: Part) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from assay.collect.consensus import _argmax_ties

        counts = part.counts()
        post = self.posterior(part, counts)
        scores = counts if self.method == "majority" else post
        return counts, post, _argmax_ties(scores, self.priority)


def _hits(part: Part, final: _Final, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per annotator: labels equal to the consensus; the majority confusion and prior."""
    k = part.n_classes
    _, _, code = final.codes(part)
    hit = (code[part.item] == part.label).astype(np.float64)
    key = (part.annotator * k + code[part.item]) * k + part.label
    return (np.bincount(part.annotator, hit, m), np.bincount(key, minlength=m * k * k),
            np.bincount(code, minlength=k))


def _labels(part: Part, final: _Final, probas: bool) -> pd.DataFrame:
    """The consensus rows of one partition (label, quality, counts), or its posteriors."""
    counts, post, code = final.codes(part)
    index = pd.Index(part.items, name="item")
    if probas:
        return pd.DataFrame(post, index=index, columns=final.classes)
    n = counts.sum(axis=1)
    rows = np.arange(len(code))
    return pd.DataFrame(
        {"label": final.classes[code], "quality": post[rows, code],
         "n_annotations": n.astype(np.int64), "agreement": counts[rows, code] / n},
        index=index,
    )


def _credit(part: Part) -> tuple[np.ndarray, np.ndarray]:
    credit = _stats.leave_one_out(part.counts(), part.item, part.label)[0]
    ok = np.isfinite(credit)
    return np.array([credit[ok].sum()]), np.array([ok.sum()])


def _priority(freq: np.ndarray) -> np.ndarray:
    order = np.lexsort((np.arange(len(freq)), -freq))
    prio = np.empty(len(freq), dtype=np.int64)
    prio[order] = np.arange(len(freq))[::-1]
    return prio


def _fit(enc: Encoded, start: tuple[np.ndarray, ...], *, smoothing: float,
         pool_strength: float | None, max_iter: int, tol: float, inference: str
         ) -> dict[str, Any]:
    """Dawid-Skene's iterations, as in :func:`assay.collect._dawid_skene.fit_dawid_skene`."""
    xt, t_sum, centre, _, n_ann = start
    k = enc.k
    alpha, strength = _prior_alpha(centre.reshape(-1, k, k), smoothing, pool_strength)
    update = vb_counts if inference == "variational" else m_counts
    n_labels = max(float(n_ann.sum()), 1.0)
    objective, converged, it, ll = -np.inf, False, 0, 0.0
    for it in range(1, max_iter + 1):  # noqa: B007
        used = (xt, t_sum)
        log_pi, log_prior, density = update(xt, t_sum, alpha, smoothing)
        ll, xt, t_sum = enc.compute(_ds_step, log_pi, log_prior)
        gain, objective = (ll + density - objective) / n_labels, ll + density
        if gain < tol:
            converged = True
            break
    confusion, prior = posterior_counts(*used, alpha, smoothing)
    return {"log_pi": log_pi, "log_prior": log_prior, "confusion": confusion, "prior": prior,
            "n_iter": it, "converged": converged, "pool_strength": strength,
            "log_likelihood": objective if inference == "variational" else ll}


def _frames(enc: Encoded, final: _Final) -> tuple[Any, Any]:
    """The lazy per-item tables: consensus labels, posteriors."""
    import dask
    import dask.dataframe as dd

    task = dask.delayed(_labels)
    out = []
    for probas in (False, True):
        empty = Part(pd.Index([], name="item"), *(np.zeros(0, np.int64),) * 3, enc.k,
                     len(enc.annotators))
        meta = _labels(empty, final, probas)
        out.append(dd.from_delayed([task(p, final, probas) for p in enc.parts], meta=meta))
    return out[0], out[1]


def dask_consensus(ddf: Any, method: str, *, classes: Any = None, allow_new: bool = False,
                   smoothing: float = 0.01, pool_strength: float | None = None,
                   max_iter: int = 100, tol: float = 1e-5, inference: str = "variational"
                   ) -> Any:
    """:func:`assay.consensus` of a Dask DataFrame (``method`` majority or dawid_skene).

    Returns
    -------
    ConsensusResult
        ``labels`` and ``probas`` are lazy Dask DataFrames indexed by item (partition
        order, not the order of first appearance); the rest as in memory.
    """
    from assay.collect.consensus import ConsensusResult

    enc = encode_dask(ddf, classes, allow_new)
    m, k = len(enc.annotators), enc.k
    start = enc.compute(_ds_start, m)
    priority = _priority(start[3])
    fit: dict[str, Any] = {}
    if method == "dawid_skene":
        fit = _fit(enc, start, smoothing=smoothing, pool_strength=pool_strength,
                   max_iter=max_iter, tol=tol, inference=inference)
        final = _Final(method, enc.classes, priority, fit["log_pi"], fit["log_prior"])
    else:
        total, n = enc.compute(_credit)
        p = float(total[0] / n[0]) if n[0] else 1.0
        p = min(max(p, 1.0 / k + 1e-6), 1.0 - 1e-6) if k > 1 else 1.0
        final = _Final(method, enc.classes, priority, accuracy=p)
    agree, cells, coded = enc.compute(_hits, final, m)
    n_ann = start[4]
    if method == "dawid_skene":
        conf, prior = fit["confusion"], fit["prior"]
    else:
        cnt = cells.reshape(m, k, k) + smoothing
        conf, prior = cnt / cnt.sum(axis=2, keepdims=True), coded / coded.sum()
    annotators = pd.DataFrame(
        {"n_annotations": n_ann, "agreement": agree / np.maximum(n_ann, 1),
         "quality": np.einsum("k,akk->a", prior, conf)},
        index=pd.Index(enc.annotators, name="annotator"),
    )
    labels, probas = _frames(enc, final)
    return ConsensusResult(
        labels=labels, probas=probas, annotators=annotators, confusion=conf,
        priors=pd.Series(prior, index=enc.classes), method=method,
        n_iter=fit.get("n_iter", 0), converged=fit.get("converged", True),
        log_likelihood=fit.get("log_likelihood", float("nan")),
        pool_strength=fit.get("pool_strength", float("nan")),
    )


# ---------------------------------------------------------------- agreement


@dataclass
class _PairSums:
    """Pair confusion matrices keyed by ``a * n_annotators + b`` (a sparse sum)."""

    keys: np.ndarray
    conf: np.ndarray

    def __add__(self, other: _PairSums) -> _PairSums:
        keys = np.concatenate((self.keys, other.keys))
        conf = np.concatenate((self.conf, other.conf))
        uniq, inv = np.unique(keys, return_inverse=True)
        out = np.zeros((len(uniq), *conf.shape[1:]))
        np.add.at(out, inv, conf)
        return _PairSums(uniq, out)


@dataclass
class _Ranked:
    """The best rows of a table by its sort keys (merged by keeping the best ``limit``)."""

    frame: pd.DataFrame
    keys: list[str]
    limit: int
    group: list[str] | None = None  # keep the best ``limit`` of each group

    def __add__(self, other: _Ranked) -> _Ranked:
        both = pd.concat([self.frame, other.frame]).sort_values(self.keys, kind="stable")
        both = both.groupby(self.group, sort=False).head(self.limit) if self.group else \
            both.head(self.limit)
        return _Ranked(both, self.keys, self.limit, self.group)


#: Distinct class-count patterns kept for the intervals; past this the report has none.
MAX_PATTERNS = 200_000


@dataclass
class _Patterns:
    """Distinct rows of labels per class among items with two or more labels, and how
    many items have each (merged by adding the counts of equal rows); ``rows`` is None
    once there are more than :data:`MAX_PATTERNS`."""

    rows: np.ndarray | None
    sizes: np.ndarray | None

    @classmethod
    def of(cls, rows: np.ndarray, sizes: np.ndarray | None = None) -> _Patterns:
        weights = np.ones(len(rows), dtype=np.int64) if sizes is None else sizes
        unique, inverse = np.unique(rows, axis=0, return_inverse=True)
        if len(unique) > MAX_PATTERNS:
            return cls(None, None)
        return cls(unique, np.bincount(inverse.ravel(), weights, len(unique)).astype(np.int64))

    def __add__(self, other: _Patterns) -> _Patterns:
        if self.rows is None or other.rows is None:
            return _Patterns(None, None)
        assert self.sizes is not None and other.sizes is not None
        return _Patterns.of(np.concatenate([self.rows, other.rows]),
                            np.concatenate([self.sizes, other.sizes]))


def _local(part: Part, annotators: pd.Index, classes: pd.Index) -> Any:
    from assay.collect.annotations import EncodedAnnotations

    return EncodedAnnotations(part.item, part.annotator, part.label, part.items,
                              annotators, classes)


def _agree_part(part: Part, annotators: pd.Index, classes: pd.Index, n_examples: int,
                max_rows: int) -> tuple[Any, ...]:
    """The sums of one partition of whole items (see :func:`dask_agreement`)."""
    from assay.collect._tables import disagreement_table

    m, k = len(annotators), len(classes)
    dense = part.counts()
    counts = sparse.csr_matrix(dense)
    p_item, n_item = _stats.item_agreement(counts)
    ok = n_item >= 2
    pairs = _stats.annotation_pairs(part.item, part.annotator, part.label)
    a, b, conf = _stats.pair_confusions(pairs, m, k)
    agree = (pairs.lab_a == pairs.lab_b).astype(np.float64)
    credit, cw, ch = _stats.leave_one_out(dense, part.item, part.label)
    fin = np.isfinite(credit)
    table = disagreement_table(_local(part, annotators, classes), dense, p_item, max_rows)
    table = table.assign(_neg_dis=-table["disagreement"], _neg_n=-table["n_annotations"])
    return (
        np.array([len(part.items), len(part.item), int((~ok).sum()), int(ok.sum()),
                  float(p_item[ok].sum())]),
        np.asarray(counts.T @ ok.astype(np.float64)).ravel(),
        _stats.coincidences(counts, np.ones(len(part.items))),
        dense.sum(axis=0), (dense > 0).sum(axis=0),
        _PairSums(a * m + b, conf),
        np.bincount(pairs.ann_a, minlength=m) + np.bincount(pairs.ann_b, minlength=m),
        np.bincount(pairs.ann_a, agree, m) + np.bincount(pairs.ann_b, agree, m),
        np.bincount(part.annotator, minlength=m),
        np.bincount(part.annotator[fin], minlength=m),
        np.bincount(part.annotator[fin], credit[fin], m),
        cw, ch,
        _Ranked(table, ["_neg_dis", "_neg_n"], max_rows),
        _examples(dense, p_item, part.items, n_examples),
        _Patterns.of(dense[ok].astype(np.int64)),
    )


def _examples(dense: np.ndarray, p_item: np.ndarray, items: pd.Index, n: int) -> _Ranked:
    """Per (class, other class or -1): the ``n`` most disagreed-on items with both."""
    k = dense.shape[1]
    rows = []
    for c in range(k):
        base = (dense[:, c] > 0) & (p_item < 1)
        for other in range(-1, k):
            if other == c:
                continue
            mask = base & (dense[:, other] > 0) if other >= 0 else base
            idx = np.flatnonzero(mask)
            idx = idx[np.argsort(p_item[idx], kind="stable")][:n]
            rows.append(pd.DataFrame({"c": c, "o": other, "p": p_item[idx],
                                      "item": np.asarray(items[idx], dtype=object)}))
    frame = pd.concat(rows, ignore_index=True)
    return _Ranked(frame, ["c", "o", "p"], n, ["c", "o"])


def dask_agreement(ddf: Any, *, level: str, classes: Any = None, allow_new: bool = False,
                   n_examples: int = 3, max_disagreements: int = 1000, min_shared: int = 10,
                   ci: bool = True, n_boot: int = 1000, seed: int = 0,
                   ci_method: str = "bootstrap") -> Any:
    """:func:`assay.agreement` of a Dask DataFrame of classes.

    Every statistic is a sum over partitions of whole items, so the numbers equal the
    in-memory report's; items that tie in ``disagreements`` and ``per_class`` examples
    may be listed in another order (partition order, not first appearance). The
    intervals of percent agreement, Fleiss' kappa and alpha are the item bootstrap's,
    drawn over the items' class-count patterns counted per partition
    (:func:`assay.collect._bootstrap.pattern_intervals`: with the same seed, those of
    the in-memory report whenever it draws over patterns too). The mean Cohen's kappa
    depends on who gave which label, which does not repeat, so it takes the
    delta-method interval (what the in-memory report takes past 50,000 distinct items),
    from a second pass over the partitions (:mod:`assay.collect._delta`); so do all
    four with ``ci_method="delta"``, and the other three past :data:`MAX_PATTERNS`
    distinct patterns (said in a warning). The delta intervals equal the in-memory
    ``ci_method="delta"`` ones.
    """
    from assay._validation import warn
    from assay.collect._tables import per_class_table, weighted_mean_kappa
    from assay.collect.agreement import AgreementReport, _class_values, _cohen_pairs

    enc = encode_dask(ddf, classes, allow_new)
    m, k = len(enc.annotators), enc.k
    sums = enc.compute(_agree_part, enc.annotators, enc.classes, n_examples,
                       max_disagreements)
    (n_items, n_ann, n_single, n_pairable, p_sum), mass, coinc, n_lab, n_it = sums[:5]
    pair_sums, n_pairs, n_agree, per_ann, shared, credit_sum, cw, ch, dis, ex, pat = sums[5:]
    if n_pairable == 0:
        raise InputError("no item has labels from two annotators, so agreement is undefined; "
                         "have a second annotator label a sample (see assay.plan_sample).")
    if n_single:
        warn(f"{int(n_single)} item(s) have a single label and are left out of agreement.")
    values = _class_values(enc.classes, level)
    pairs_enc = _PairsFrame(enc, pair_sums)
    kappa_df, n_df, pair_df, conf = pairs_enc.frames()
    cohen_pairs, used = _cohen_pairs(conf, min_shared)
    totals = Totals(int(n_pairable), float(p_sum), mass, coinc, conf[cohen_pairs])
    scal = point_estimates(totals, level, values)
    total = conf.sum(axis=0)
    confusion = pd.DataFrame(total + total.T, index=enc.classes, columns=enc.classes)
    per_class = per_class_table(_empty(enc), np.zeros((0, k)), np.zeros(0), confusion, cw, ch,
                                n_examples)
    per_class["n_labels"], per_class["n_items"] = n_lab, n_it
    per_class["examples"] = _example_lists(ex.frame, per_class, enc.classes)
    return AgreementReport(
        level=level, n_items=int(n_items), n_annotations=int(n_ann), n_annotators=m,
        n_single=int(n_single), classes=list(enc.classes),
        percent_agreement=scal[0], fleiss_kappa=scal[1], krippendorff_alpha=scal[2],
        mean_cohen_kappa=weighted_mean_kappa(conf[cohen_pairs]),
        hlp=float(credit_sum.sum() / max(shared.sum(), 1)),
        cohen_kappa=kappa_df, cohen_n=n_df, pairs=pair_df, per_class=per_class,
        confusion=confusion,
        disagreements=dis.frame.drop(columns=["_neg_dis", "_neg_n"]),
        annotators=_annotator_frame(enc, pair_df, n_pairs, n_agree, per_ann, shared,
                                    credit_sum),
        ci=_intervals(enc, totals, pat, pair_sums.keys[cohen_pairs], level, values, n_boot,
                      seed, ci_method) if ci else {},
        cohen_min_shared=used, n_cohen_pairs=int(cohen_pairs.sum()),
    )


def _intervals(enc: Encoded, totals: Totals, patterns: _Patterns, kept: np.ndarray, level: str,
               values: np.ndarray | None, n_boot: int, seed: int, method: str
               ) -> dict[str, tuple[float, float]]:
    """The report's intervals (see :func:`dask_agreement`); ``kept``: the keys of the
    annotator pairs in the mean Cohen's kappa, sorted."""
    from assay._validation import warn
    from assay.collect._bootstrap import pattern_intervals

    lin = linearise(totals, level, values)
    moments = enc.compute(_influence_part, enc.annotators, enc.classes, kept, lin)[0]
    out = intervals_from(lin, moments)
    if method == "delta":
        return out
    if patterns.rows is None or patterns.sizes is None:
        warn(f"the items have more than {MAX_PATTERNS:,} distinct patterns of labels per "
             "class, so every interval is the delta method's (not the bootstrap's).")
        return out
    boot = pattern_intervals(patterns.rows, patterns.sizes, level, values, n_boot, seed)
    return {**out, **boot}


def _influence_part(part: Part, annotators: pd.Index, classes: pd.Index, kept: np.ndarray,
                    lin: Linearisation) -> tuple[Any]:
    """The moments of the item influences of one partition's items (second pass)."""
    counts = sparse.csr_matrix(part.counts())
    p_item, n_item = _stats.item_agreement(counts)
    pairs = _stats.annotation_pairs(part.item, part.annotator, part.label)
    position = pd.Index(kept).get_indexer(pairs.ann_a * len(annotators) + pairs.ann_b)
    f = item_features(counts, p_item, n_item, pairs, position, len(kept))
    return (influence_moments(f, lin),)


@dataclass
class _PairsFrame:
    enc: Encoded
    sums: _PairSums

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
        """Kappa and shared-item matrices, the long pair table, the pair confusions."""
        names, m = self.enc.annotators, len(self.enc.annotators)
        conf = self.sums.conf.reshape(-1, self.enc.k, self.enc.k)
        a, b = self.sums.keys // m, self.sums.keys % m
        kappa, po, n = _stats.kappa_from_confusions(conf)
        kap = np.full((m, m), np.nan)
        cnt = np.zeros((m, m), dtype=np.int64)
        kap[a, b] = kap[b, a] = kappa
        cnt[a, b] = cnt[b, a] = n.astype(np.int64)
        pair_df = pd.DataFrame({
            "annotator_a": names[a], "annotator_b": names[b], "n_items": n.astype(np.int64),
            "percent_agreement": po, "cohen_kappa": kappa,
        })
        return (pd.DataFrame(kap, index=names, columns=names),
                pd.DataFrame(cnt, index=names, columns=names), pair_df, conf)


def _empty(enc: Encoded) -> Any:
    from assay.collect.annotations import EncodedAnnotations

    none = np.zeros(0, dtype=np.int64)
    return EncodedAnnotations(none, none, none, pd.Index([]), enc.annotators, enc.classes)


def _example_lists(frame: pd.DataFrame, per_class: pd.DataFrame, classes: pd.Index
                   ) -> np.ndarray:
    """Each class's examples: items with it and the class it is confused with."""
    other = classes.get_indexer(pd.Index(per_class["confused_with"].fillna(np.nan)))
    lists = []
    for c in range(len(classes)):
        rows = frame[(frame["c"] == c) & (frame["o"] == other[c])]
        lists.append(list(rows.sort_values("p", kind="stable")["item"]))
    return pd.Series(lists, dtype=object).to_numpy()


def _annotator_frame(enc: Encoded, pair_df: pd.DataFrame, n_pairs: np.ndarray,
                     n_agree: np.ndarray, per_ann: np.ndarray, shared: np.ndarray,
                     credit: np.ndarray) -> pd.DataFrame:
    """Per-annotator agreement (as :func:`assay.collect._tables.annotator_table`)."""
    m, codes = len(enc.annotators), enc.annotators.get_indexer
    a, b = codes(pd.Index(pair_df["annotator_a"])), codes(pd.Index(pair_df["annotator_b"]))
    kap, nn = pair_df["cohen_kappa"].to_numpy(), pair_df["n_items"].to_numpy(np.float64)
    good = np.isfinite(kap)
    kw, ww = np.where(good, kap * nn, 0.0), np.where(good, nn, 0.0)
    ksum = np.bincount(a, kw, m) + np.bincount(b, kw, m)
    wsum = np.bincount(a, ww, m) + np.bincount(b, ww, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {"n_annotations": per_ann, "n_shared": shared,
             "agreement_with_others": n_agree / n_pairs, "mean_cohen_kappa": ksum / wsum,
             "agreement_with_consensus": credit / shared},
            index=pd.Index(enc.annotators, name="annotator"),
        )
