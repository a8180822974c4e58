"""Evaluate and compare multi-label models: micro / macro F1 and Hamming loss.

A label set per item is an (n, k) 0/1 row over the ``classes`` (the label names), or a
list of label names (canonicalised by :func:`assay.tasks.multilabel.as_label_set`).
:func:`score_multilabel` gives micro F1, macro F1 (scikit-learn's ``f1_score`` with
``average="micro"`` / ``"macro"``, labels never given nor predicted count 0) and the
Hamming loss, with 95% bootstrap intervals over the items (vectorised: every statistic
is a function of the per-label true-positive, false-positive and false-negative counts,
and those of a chunk of resamples are one matrix product).

:func:`evaluate_multilabel` adds precision / recall / F1 (with an interval) / support
per label and micro F1 per tag value; the per-item set error (Jaccard distance between
the given and the predicted set) is what slices are searched on.
:func:`compare_multilabel` pairs two evaluations: McNemar's exact test per label on the
item's correctness for that label (Holm-adjusted over the labels) and a paired
bootstrap on micro F1 (the headline test), macro F1 and the Hamming loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, hamming_loss, precision_recall_fscore_support

from assay.exceptions import InputError
from assay.train.evaluate._paired import (
    PairedComparison,
    align_items,
    bootstrap_p_value,
    check_ids,
    holm,
    interval,
    resample_weights,
    tag_deltas,
    tag_frame,
)
from assay.train.evaluate._result import _py, _records
from assay.train.evaluate._stats import mcnemar

__all__ = [
    "MULTILABEL_METRICS",
    "MultilabelEvaluation",
    "compare_multilabel",
    "evaluate_multilabel",
    "label_matrix",
    "score_multilabel",
    "set_errors",
]

#: The metrics of a multi-label task, the headline (higher is better) first.
MULTILABEL_METRICS = ("micro_f1", "macro_f1", "hamming_loss")
_LABEL_COLUMNS = ["label", "precision", "recall", "f1", "f1_low", "f1_high", "support",
                  "predicted"]
_TAG_COLUMNS = ["tag", "value", "n", "micro_f1", "micro_f1_low", "micro_f1_high",
                "hamming_loss", "hlp", "gap"]


# -- input --------------------------------------------------------------------------
def _is_matrix(values: Any) -> bool:
    if isinstance(values, pd.DataFrame):
        return True
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged lists of names
        return False
    return arr.ndim == 2 and arr.shape[1] > 0 and arr.dtype.kind in "biuf"


def _set_names(values: Any) -> list[tuple[str, ...]]:
    from assay.tasks.multilabel import as_label_set

    sets = [as_label_set(v) for v in values]
    if any(s is None for s in sets):
        row = next(i for i, s in enumerate(sets) if s is None)
        raise InputError(f"the label set at position {row} (0-based) is missing; give [] for "
                         "an item with no label.")
    return [s for s in sets if s is not None]


def label_matrix(values: Any, classes: Sequence[str]) -> np.ndarray:
    """Label sets as an (n, k) 0/1 int matrix over ``classes``.

    Parameters
    ----------
    values : array-like of shape (n, k) of 0/1, DataFrame, or sequence of label sets
    classes : sequence of str
        The label names, in column order.

    Raises
    ------
    InputError
        A matrix of another width or not 0/1, or a set naming an unknown label.
    """
    names = [str(c) for c in classes]
    if _is_matrix(values):
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape[1] != len(names):
            raise InputError(f"the label matrix has {arr.shape[1]} columns but there are "
                             f"{len(names)} labels ({', '.join(names[:5])}, ...); give one "
                             "0/1 column per label.")
        if not np.isin(arr, (0.0, 1.0)).all():
            raise InputError("a label matrix holds 0/1 (or booleans) only; threshold "
                             "probabilities first.")
        return arr.astype(np.int64)
    position = {c: j for j, c in enumerate(names)}
    sets = _set_names(values)
    out = np.zeros((len(sets), len(names)), dtype=np.int64)
    for i, labels in enumerate(sets):
        for name in labels:
            j = position.get(name)
            if j is None:
                raise InputError(f"the label set at position {i} (0-based) names {name!r}, "
                                 f"which is not one of the labels ({', '.join(names)}).")
            out[i, j] = 1
    return out


def _classes(y_true: Any, y_pred: Any, classes: Sequence[Any] | None) -> list[str]:
    if classes is not None:
        return [str(c) for c in classes]
    for values in (y_true, y_pred):
        if isinstance(values, pd.DataFrame):
            return [str(c) for c in values.columns]
    sets = [v for v in (y_true, y_pred) if not _is_matrix(v)]
    found = sorted({name for values in sets for s in _set_names(values) for name in s})
    if len(sets) == 2:
        return found
    k = np.asarray(y_true if _is_matrix(y_true) else y_pred).shape[1]
    if not sets:
        return [str(j) for j in range(k)]
    if len(found) != k:
        raise InputError(f"the label sets name {len(found)} labels but the 0/1 matrix has {k} "
                         "columns; give classes= (the label names in the matrix's column "
                         "order).")
    return found


def _matrices(y_true: Any, y_pred: Any, classes: Sequence[Any] | None
              ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = _classes(y_true, y_pred, classes)
    if not names:
        raise InputError("no label occurs in y_true or y_pred; give classes= (the label names).")
    t, p = label_matrix(y_true, names), label_matrix(y_pred, names)
    if t.shape != p.shape or t.shape[0] == 0:
        raise InputError(f"y_true has {t.shape[0]} label sets and y_pred {p.shape[0]}; give one "
                         "non-empty set of each per evaluation item.")
    return t, p, names


# -- scores -------------------------------------------------------------------------
def _counts(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per item and label: [tp | fp | fn] as an (n, 3k) float matrix."""
    return np.hstack([t & p, (1 - t) & p, t & (1 - p)]).astype(np.float64)


def _from_counts(sums: np.ndarray, n: int, k: int) -> dict[str, np.ndarray]:
    """Micro / macro F1, Hamming loss and F1 per label from (..., 3k) count sums."""
    tp, fp, fn = sums[..., :k], sums[..., k:2 * k], sums[..., 2 * k:]
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)
    micro_den = denom.sum(axis=-1)
    micro = np.divide(2 * tp.sum(axis=-1), micro_den, out=np.zeros(micro_den.shape),
                      where=micro_den > 0)
    return {"micro_f1": micro, "macro_f1": f1.mean(axis=-1),
            "hamming_loss": (fp + fn).sum(axis=-1) / (n * k), "f1": f1}


def _replicates(t: np.ndarray, p: np.ndarray, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    n, k = t.shape
    counts = _counts(t, p)
    sums = np.vstack([w @ counts for w in resample_weights(n, n_boot, seed)])
    return _from_counts(sums, n, k)


def _point(t: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """scikit-learn's values (labels never given nor predicted: F1 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "micro_f1": float(f1_score(t, p, average="micro", zero_division=0)),
            "macro_f1": float(f1_score(t, p, average="macro", zero_division=0)),
            "hamming_loss": float(hamming_loss(t, p)),
        }


def _score(t: np.ndarray, p: np.ndarray, n_boot: int, seed: int
           ) -> tuple[dict[str, dict[str, Any]], np.ndarray]:
    reps = _replicates(t, p, n_boot, seed)
    values = _point(t, p)
    out = {}
    for name in MULTILABEL_METRICS:
        low, high = interval(reps[name])
        out[name] = {"value": values[name], "low": low, "high": high, "method": "bootstrap"}
    return out, reps["f1"]


def score_multilabel(
    y_true: Any,
    y_pred: Any,
    *,
    classes: Sequence[Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Micro F1, macro F1 and Hamming loss with 95% percentile-bootstrap intervals.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, n_labels) of 0/1, or sequences of
        label sets (lists of label names)
    classes : sequence of str, optional
        The label names, in column order; default: a DataFrame's columns, the sorted
        names found in the label sets, or ``"0" .. "k-1"`` for bare matrices.
    n_boot, seed : int
        Bootstrap resamples (of items) and seed.

    Returns
    -------
    dict
        ``{"micro_f1" | "macro_f1" | "hamming_loss": {"value", "low", "high",
        "method"}}``; the values equal scikit-learn's ``f1_score`` (micro, macro) and
        ``hamming_loss``.
    """
    t, p, _ = _matrices(y_true, y_pred, classes)
    return _score(t, p, int(n_boot), int(seed))[0]


def micro_f1_of(classes: Sequence[Any]) -> Any:
    """``micro_f1(y_true, y_pred)`` over ``classes`` (a metric for
    :func:`assay.train.slices.slice_table`, named after the headline metric)."""
    names = [str(c) for c in classes]

    def micro_f1(y_true: Any, y_pred: Any) -> float:
        return _point(label_matrix(y_true, names), label_matrix(y_pred, names))["micro_f1"]

    return micro_f1


def set_errors(y_true: Any, y_pred: Any, *, classes: Sequence[Any] | None = None) -> np.ndarray:
    """Per item, the Jaccard distance between the given and the predicted label set.

    ``1 - |given & predicted| / |given | predicted|`` (0 when both are empty): 0 when the
    model gets the whole set right, 1 when it shares no label with it.

    Returns
    -------
    ndarray of float, shape (n_samples,)
    """
    t, p, _ = _matrices(y_true, y_pred, classes)
    union = (t | p).sum(axis=1)
    inter = (t & p).sum(axis=1)
    return np.asarray(1.0 - np.divide(inter, union, out=np.ones(union.shape), where=union > 0))


# -- evaluation ---------------------------------------------------------------------
def _per_label(t: np.ndarray, p: np.ndarray, names: list[str], f1_reps: np.ndarray
               ) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, f1, support = precision_recall_fscore_support(
            t, p, average=None, zero_division=0
        )
    bounds = np.array([interval(f1_reps[:, j]) for j in range(len(names))]).reshape(-1, 2)
    return pd.DataFrame({
        "label": names, "precision": precision, "recall": recall, "f1": f1,
        "f1_low": bounds[:, 0], "f1_high": bounds[:, 1],
        "support": np.asarray(support, dtype=np.int64), "predicted": p.sum(axis=0),
    })


def _per_tag(t: np.ndarray, p: np.ndarray, tags: pd.DataFrame | None, hlp: float | None,
             n_boot: int, seed: int) -> pd.DataFrame:
    """Per tag value: micro F1 with a bootstrap interval, Hamming loss, gap to HLP."""
    if tags is None:
        return pd.DataFrame(columns=_TAG_COLUMNS)
    rows = []
    for name, column in tags.items():
        groups = pd.Series(np.arange(t.shape[0])).groupby(column.to_numpy(), dropna=True,
                                                           sort=True)
        for value, members in groups:
            idx = members.to_numpy()
            scores, _ = _score(t[idx], p[idx], n_boot, seed)
            micro = scores["micro_f1"]
            h = float("nan") if hlp is None else float(hlp)
            rows.append([str(name), _py(value), int(idx.size), micro["value"], micro["low"],
                         micro["high"], scores["hamming_loss"]["value"], h, h - micro["value"]])
    table = pd.DataFrame(rows, columns=_TAG_COLUMNS)
    return table.sort_values("micro_f1", kind="stable").reset_index(drop=True)


@dataclass
class MultilabelEvaluation:
    """Metrics of one fitted multi-label model on one evaluation set.

    Attributes
    ----------
    classes : list of str
        The label names, in column order.
    overall : dict
        ``{"micro_f1" | "macro_f1" | "hamming_loss": {"value", "low", "high", "method"}}``.
    per_label : DataFrame
        ``label, precision, recall, f1, f1_low, f1_high, support, predicted``.
    per_tag : DataFrame
        ``tag, value, n, micro_f1, micro_f1_low, micro_f1_high, hamming_loss, hlp, gap``,
        lowest micro F1 first.
    y_true, y_pred : ndarray of object, shape (n_samples,)
        Given and predicted label sets (lists of names), in input order.
    ids : ndarray of shape (n_samples,) or None
    hlp : float or None
        Human-level performance (1 - the MASI disagreement between annotators).
    duration_s : float or None
    info : dict
    """

    kind: ClassVar[str] = "multilabel"

    classes: list[str]
    overall: dict[str, dict[str, Any]]
    per_label: pd.DataFrame
    per_tag: pd.DataFrame
    y_true: np.ndarray
    y_pred: np.ndarray
    ids: np.ndarray | None = None
    hlp: float | None = None
    duration_s: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """The number of evaluation items."""
        return int(self.y_true.shape[0])

    @property
    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """Given and predicted sets as (n, k) 0/1 matrices over :attr:`classes`."""
        return label_matrix(self.y_true, self.classes), label_matrix(self.y_pred, self.classes)

    @property
    def item_errors(self) -> np.ndarray:
        """Per-item set error (Jaccard distance), shape (n_samples,)."""
        return set_errors(self.y_true, self.y_pred, classes=self.classes)

    def tables(self) -> list[tuple[str, list[str], list[list[Any]]]]:
        """What a face shows beside the metrics: (title, header, rows) per table."""
        worst = self.per_label.sort_values("f1", kind="stable").head(5)
        rows = [[r["label"], f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                 f"{r['f1']:.3f} [{r['f1_low']:.2f}, {r['f1_high']:.2f}]", r["support"]]
                for r in worst.to_dict(orient="records")]
        out = [("weakest labels", ["label", "precision", "recall", "F1 [95%]", "support"], rows)]
        if len(self.per_tag):
            tag_rows = [[t["tag"], t["value"], t["n"],
                         f"{t['micro_f1']:.3f} [{t['micro_f1_low']:.3f}, "
                         f"{t['micro_f1_high']:.3f}]"]
                        for t in self.per_tag.head(10).to_dict(orient="records")]
            out.append(("micro F1 per tag", ["tag", "value", "n", "micro F1 [95%]"], tag_rows))
        return out

    def summary(self) -> str:
        """A few lines of plain text: metrics with intervals, weakest labels."""
        lines = [f"{self.n} evaluation items, {len(self.classes)} labels (multi-label)"]
        for name in MULTILABEL_METRICS:
            m = self.overall[name]
            lines.append(f"  {name:<13} {m['value']:.4f}  [{m['low']:.4f}, {m['high']:.4f}]")
        worst = self.per_label.sort_values("f1", kind="stable").head(3)
        parts = [f"{c} (F1 {f:.3f})" for c, f in zip(worst["label"], worst["f1"], strict=True)]
        lines.append("  weakest labels: " + ", ".join(parts))
        if self.hlp is not None:
            lines.append(f"  human-level (1 - MASI disagreement) {self.hlp:.3f}")
        if self.duration_s is not None:
            lines.append(f"  fit took {self.duration_s:.2f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (NaN as None); :meth:`from_dict` restores the object."""
        return {
            "kind": self.kind,
            "classes": list(self.classes),
            "overall": {k: {kk: _py(vv) for kk, vv in v.items()} for k, v in self.overall.items()},
            "per_label": _records(self.per_label),
            "per_tag": _records(self.per_tag),
            "y_true": [list(v) for v in self.y_true],
            "y_pred": [list(v) for v in self.y_pred],
            "ids": None if self.ids is None else [_py(v) for v in self.ids],
            "hlp": _py(self.hlp),
            "duration_s": _py(self.duration_s),
            "info": {k: _py(v) for k, v in self.info.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MultilabelEvaluation:
        """Rebuild from :meth:`to_dict` output."""
        overall = {
            k: {kk: (vv if kk == "method" else (np.nan if vv is None else float(vv)))
                for kk, vv in v.items()}
            for k, v in data["overall"].items()
        }
        return cls(
            classes=[str(c) for c in data.get("classes") or []],
            overall=overall,
            per_label=pd.DataFrame(data.get("per_label") or [], columns=_LABEL_COLUMNS),
            per_tag=pd.DataFrame(data.get("per_tag") or [], columns=_TAG_COLUMNS),
            y_true=_sets_array(data.get("y_true") or []),
            y_pred=_sets_array(data.get("y_pred") or []),
            ids=None if data.get("ids") is None else np.asarray(data["ids"], dtype=object),
            hlp=None if data.get("hlp") is None else float(data["hlp"]),
            duration_s=None if data.get("duration_s") is None else float(data["duration_s"]),
            info=dict(data.get("info") or {}),
        )


def _sets_array(sets: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(sets), dtype=object)
    for i, s in enumerate(sets):
        out[i] = sorted(str(v) for v in s)
    return out


def _as_sets(matrix: np.ndarray, names: list[str]) -> np.ndarray:
    names_arr = np.asarray(names, dtype=object)
    return _sets_array([list(names_arr[row.astype(bool)]) for row in matrix])


def evaluate_multilabel(
    y_true: Any,
    y_pred: Any,
    *,
    classes: Sequence[Any] | None = None,
    tags: pd.DataFrame | Mapping[str, Any] | None = None,
    ids: Sequence[Any] | np.ndarray | None = None,
    hlp: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> MultilabelEvaluation:
    """Evaluate multi-label predictions: metrics, per-label table, micro F1 per tag.

    Parameters
    ----------
    y_true, y_pred : (n_samples, n_labels) 0/1 or sequences of label sets
    classes : sequence of str, optional
        The label names in column order (see :func:`score_multilabel`).
    tags : DataFrame or mapping of str to array of shape (n_samples,), optional
    ids : array-like of shape (n_samples,), optional
    hlp : float in [0, 1], optional
        Human-level performance, e.g. 1 - the MASI disagreement between annotators.
    n_boot, seed : int

    Returns
    -------
    MultilabelEvaluation
    """
    t, p, names = _matrices(y_true, y_pred, classes)
    if hlp is not None and not (np.isfinite(hlp) and 0 <= hlp <= 1):
        raise InputError(f"hlp is {hlp!r}; human-level performance is a number in [0, 1].")
    overall, f1_reps = _score(t, p, int(n_boot), int(seed))
    return MultilabelEvaluation(
        classes=names,
        overall=overall,
        per_label=_per_label(t, p, names, f1_reps),
        per_tag=_per_tag(t, p, tag_frame(tags, t.shape[0]), hlp, min(int(n_boot), 500), seed),
        y_true=_as_sets(t, names),
        y_pred=_as_sets(p, names),
        ids=check_ids(ids, t.shape[0]),
        hlp=None if hlp is None else float(hlp),
        info={"n_boot": int(n_boot), "seed": int(seed)},
    )


# -- comparison ---------------------------------------------------------------------
def _paired_matrices(a: MultilabelEvaluation, b: MultilabelEvaluation
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    pos = align_items(a, b)
    names = list(a.classes) + [c for c in b.classes if c not in a.classes]
    t = label_matrix(a.y_true, names)
    tb = label_matrix(b.y_true[pos], names)
    differ = (t != tb).any(axis=1)
    if differ.any():
        raise InputError(
            f"{int(differ.sum())} items have different label sets in A and B (first at "
            f"position {int(np.argmax(differ))}, 0-based); compare evaluations on the same "
            "frozen evaluation set, with the same labels."
        )
    return t, label_matrix(a.y_pred, names), label_matrix(b.y_pred[pos], names), names


def _label_tests(t: np.ndarray, pa: np.ndarray, pb: np.ndarray, names: list[str]
                 ) -> pd.DataFrame:
    """McNemar's exact test per label on per-item correctness, Holm-adjusted."""
    ca, cb = pa == t, pb == t
    only_a, only_b = (ca & ~cb).sum(axis=0), (cb & ~ca).sum(axis=0)
    p = np.array([mcnemar(int(x), int(y))[0] for x, y in zip(only_a, only_b, strict=True)])
    f1 = [_from_counts(_counts(t, m).sum(axis=0), t.shape[0], t.shape[1])["f1"] for m in (pa, pb)]
    return pd.DataFrame({
        "label": names, "support": t.sum(axis=0), "f1_a": f1[0], "f1_b": f1[1],
        "delta": f1[1] - f1[0], "only_a": only_a, "only_b": only_b, "p_value": p,
        "p_holm": holm(p),
    })


def compare_multilabel(
    eval_a: MultilabelEvaluation,
    eval_b: MultilabelEvaluation,
    *,
    names: tuple[str, str] = ("A", "B"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> PairedComparison:
    """Paired comparison of two multi-label evaluations of the same items.

    The headline test is a paired bootstrap on micro F1 (items resampled once for both
    models); ``per_group`` holds McNemar's exact test per label with Holm-adjusted
    p-values (the family-wise error over the labels stays at ``alpha``).

    Returns
    -------
    PairedComparison
    """
    t, pa, pb, labels = _paired_matrices(eval_a, eval_b)
    rep_a = _replicates(t, pa, int(n_boot), int(seed))
    rep_b = _replicates(t, pb, int(n_boot), int(seed))
    va, vb = _point(t, pa), _point(t, pb)
    metrics = {}
    for name in MULTILABEL_METRICS:
        low, high = interval(rep_b[name] - rep_a[name])
        metrics[name] = {"a": va[name], "b": vb[name], "delta": vb[name] - va[name],
                         "low": low, "high": high}
    tests = _label_tests(t, pa, pb, labels)
    moved = tests[tests["p_holm"] < alpha]
    note = (f"McNemar per label, Holm-adjusted over {len(labels)} labels: "
            f"{len(moved)} differ at {alpha:g}"
            + (f" ({', '.join(map(str, moved['label'][:5]))})" if len(moved) else "") + ".")
    return PairedComparison(
        names=(str(names[0]), str(names[1])),
        n=int(t.shape[0]),
        test="paired bootstrap (micro F1)",
        p_value=bootstrap_p_value(rep_b["micro_f1"] - rep_a["micro_f1"],
                                  metrics["micro_f1"]["delta"]),
        metrics=metrics,
        headline="micro_f1",
        per_group=tests,
        per_tag=tag_deltas(eval_a.per_tag, eval_b.per_tag, "micro_f1"),
        alpha=float(alpha),
        notes=[note],
        info={"n_boot": int(n_boot), "seed": int(seed)},
    )
