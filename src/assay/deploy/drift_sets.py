"""Drift of set-valued columns (multi-label labels or predictions: tags, topics, defects).

A column of label sets is tested in three ways, with the multiple-testing correction
of :func:`assay.deploy.drift` (Benjamini-Hochberg by default) over the per-label and
set-size tests, and again over the label pairs:

* **per-label frequency**: each label becomes a 0/1 column ``NAME:LABEL`` tested as a
  categorical column of :func:`assay.deploy.drift` (chi-square test, Jensen-Shannon
  distance >= 0.1); a label the reference never held is an unseen category;
* **set size**: the number of labels per row, ``NAME:size``, as a numeric column
  (Kolmogorov-Smirnov, Wasserstein / reference std >= 0.1);
* **co-occurrence**: for every pair of labels that both vary on each side, the phi
  coefficient (Pearson correlation of the two 0/1 columns) in the reference and the
  current batch, compared with Fisher's z test; a pair is flagged when its adjusted
  p-value is below ``alpha`` and the correlation moved by at least
  ``cooccurrence_threshold`` (0.2). This isolates a change of which labels go together
  from a change of how often each label occurs.

The column is drifted when any label, the set size or any pair is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from assay._validation import Interval, Options, Real, name_rows, validate_params
from assay.deploy import _stats
from assay.deploy.drift import drift
from assay.deploy.report import DriftReport, _json_value
from assay.exceptions import InputError

__all__ = ["SetDriftReport", "label_indicators", "set_drift"]

#: Columns of :attr:`SetDriftReport.cooccurrence`.
PAIR_COLUMNS = ["phi_ref", "phi_cur", "change", "p_value", "p_adjusted", "drifted"]


@dataclass
class SetDriftReport(DriftReport):
    """Result of :func:`set_drift`: a :class:`DriftReport` over the per-label 0/1 columns
    and the set size, plus the co-occurrence table.

    Attributes
    ----------
    columns : pandas DataFrame
        The drift table (see :class:`DriftReport`), one row per label (``NAME:LABEL``)
        and one for the set size (``NAME:size``).
    cooccurrence : pandas DataFrame, indexed by (label_a, label_b)
        phi_ref, phi_cur, change, p_value, p_adjusted, drifted.
    frequencies : pandas DataFrame, indexed by label
        ref, cur: the share of rows holding each label.
    """

    cooccurrence: pd.DataFrame = field(default_factory=pd.DataFrame)
    frequencies: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def drifted_pairs(self) -> list[tuple[str, str]]:
        """Label pairs whose co-occurrence changed."""
        if self.cooccurrence.empty:
            return []
        flagged = self.cooccurrence[self.cooccurrence["drifted"].to_numpy(bool)]
        return [(str(a), str(b)) for a, b in flagged.index]

    def summary(self) -> str:
        """Plain text: the verdict, one line per drifted label or pair (<= 80 columns)."""
        name = self.params.get("name", "labels")
        lines = [
            f"{name}: drifted {'yes' if self.drifted else 'no'} "
            f"({len(self.drifted_columns)} of {len(self.columns)} columns, "
            f"{len(self.drifted_pairs)} label pair(s))"
        ]
        for column in self.drifted_columns:
            label = column.split(":", 1)[-1]
            if column == f"{name}:size":
                row = self.columns.loc[column]
                lines.append(f"  set size: wasserstein/std {row['effect_size']:.3g}")
            elif label in self.frequencies.index:
                ref, cur = self.frequencies.loc[label, ["ref", "cur"]]
                lines.append(f"  {label[:40]}: frequency {ref:.1%} -> {cur:.1%}")
        for pair, row in self.cooccurrence[self.cooccurrence["drifted"]].iterrows():
            a, b = str(pair[0]), str(pair[1])  # type: ignore[index]
            lines.append(f"  {str(a)[:24]} & {str(b)[:24]}: phi "
                         f"{row['phi_ref']:.2f} -> {row['phi_cur']:.2f}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: :meth:`DriftReport.to_dict` plus ``frequencies`` and ``pairs``."""
        out = super().to_dict()
        out["frequencies"] = [
            {"label": str(k), "ref": _json_value(r["ref"]), "cur": _json_value(r["cur"])}
            for k, r in self.frequencies.iterrows()
        ]
        out["pairs"] = [
            {"a": str(a), "b": str(b), **{k: _json_value(v) for k, v in r.items()}}
            for (a, b), r in zip(self.cooccurrence.index.tolist(),
                                 self.cooccurrence.to_dict("records"), strict=True)
        ]
        return out


def _sets(values: pd.Series | Any, side: str) -> list[tuple[str, ...]]:
    """Canonical label sets of one side; a missing set is refused, naming its row."""
    from assay.tasks.multilabel import as_label_set

    index = values.index if isinstance(values, pd.Series) else None
    items = values.tolist() if isinstance(values, pd.Series) else list(values)
    out = []
    for position, value in enumerate(items):
        labels = as_label_set(value)
        if labels is None:
            where = name_rows(position, index)
            raise InputError(f"{side} {where} has no label set (missing); give [] for no "
                             "label, or drop the row.")
        out.append(labels)
    if not out:
        raise InputError(f"{side} has no rows; give at least one label set.")
    return out


def label_indicators(sets: Any, labels: list[str] | None = None) -> pd.DataFrame:
    """Label sets as a 0/1 matrix, one bool column per label.

    Parameters
    ----------
    sets : sequence or Series of label sets, length n
        Lists / tuples / sets of label names, or JSON text (``'["a", "b"]'``).
    labels : list of str, optional
        The columns, in order (default: every label seen, sorted); others are ignored.

    Returns
    -------
    pandas DataFrame of shape (n, n_labels), bool
    """
    canon = _sets(sets, "the label sets")
    names = labels if labels is not None else sorted({x for s in canon for x in s})
    position = {name: j for j, name in enumerate(names)}
    matrix = np.zeros((len(canon), len(names)), dtype=bool)
    for i, labels_i in enumerate(canon):
        for label in labels_i:
            j = position.get(label)
            if j is not None:
                matrix[i, j] = True
    index = sets.index if isinstance(sets, pd.Series) else None
    return pd.DataFrame(matrix, columns=names, index=index)


def _phi(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise phi coefficients (n_labels x n_labels) and which columns vary."""
    x = matrix.astype(np.float64)
    varies = x.std(axis=0) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(x, rowvar=False) if x.shape[1] > 1 else np.ones((1, 1))
    return np.atleast_2d(corr), varies


def _cooccurrence(ref: np.ndarray, cur: np.ndarray, labels: list[str], alpha: float,
                  threshold: float, correction: str) -> pd.DataFrame:
    """Fisher-z comparison of each pair's phi coefficient, reference vs current."""
    phi_r, var_r = _phi(ref)
    phi_c, var_c = _phi(cur)
    pairs = [(i, j) for i, j in combinations(range(len(labels)), 2)
             if var_r[i] and var_r[j] and var_c[i] and var_c[j]]
    index = pd.MultiIndex.from_tuples([(labels[i], labels[j]) for i, j in pairs],
                                      names=["label_a", "label_b"])
    if not pairs or len(ref) <= 3 or len(cur) <= 3:
        return pd.DataFrame(columns=PAIR_COLUMNS, index=index)
    rows, cols = np.array(pairs).T
    a, b = phi_r[rows, cols], phi_c[rows, cols]
    z = np.arctanh(np.clip(a, -0.999999, 0.999999)) - np.arctanh(np.clip(b, -0.999999, 0.999999))
    p = 2 * stats.norm.sf(np.abs(z) / np.sqrt(1 / (len(ref) - 3) + 1 / (len(cur) - 3)))
    adjusted = _stats.adjust_pvalues(p, correction)
    change = b - a
    return pd.DataFrame({"phi_ref": a, "phi_cur": b, "change": change, "p_value": p,
                         "p_adjusted": adjusted,
                         "drifted": (adjusted < alpha) & (np.abs(change) >= threshold)},
                        index=index)


@validate_params({
    "alpha": [Interval(Real, 0.0, 1.0)],
    "correction": [Options(("bh", "holm", "none"))],
    "threshold": [Interval(Real, 0.0, None)],
    "cooccurrence_threshold": [Interval(Real, 0.0, 2.0)],
}, prefer_skip_nested_validation=True)
def set_drift(reference: Any, current: Any, *, name: str | None = None, alpha: float = 0.05,
              correction: str = "bh", threshold: float = 0.1,
              cooccurrence_threshold: float = 0.2, seed: int = 0) -> SetDriftReport:
    """Test a column of label sets for drift: label frequencies, set size, co-occurrence.

    Parameters
    ----------
    reference : Series or sequence of label sets, length n_ref
        Lists / tuples / sets of label names, or JSON text; ``[]`` is a valid set.
    current : Series or sequence of label sets, length n_cur
    name : str, optional
        Prefix of the tested columns (default: the reference Series' name, else
        ``"labels"``).
    alpha : float
        Significance level after the multiple-testing correction.
    correction : {"bh", "holm", "none"}
    threshold : float
        Effect size (Jensen-Shannon distance of a label's frequency; Wasserstein / std of
        the set size) a column must reach to be drifted.
    cooccurrence_threshold : float
        Absolute change of a pair's phi coefficient a pair must reach to be drifted.
    seed : int

    Returns
    -------
    SetDriftReport

    Raises
    ------
    InputError
        A side is empty, or a row holds no label set (None / NaN) or not a set.
    """
    prefix = name or (str(reference.name) if isinstance(reference, pd.Series)
                      and reference.name is not None else "labels")
    ref_sets, cur_sets = _sets(reference, "the reference"), _sets(current, "the current batch")
    labels = sorted({x for s in ref_sets for x in s} | {x for s in cur_sets for x in s})
    ref = label_indicators(ref_sets, labels).to_numpy()
    cur = label_indicators(cur_sets, labels).to_numpy()
    columns = [f"{prefix}:{label}" for label in labels]
    size = f"{prefix}:size"
    ref_frame = pd.DataFrame(ref, columns=columns).assign(**{size: ref.sum(axis=1) * 1.0})
    cur_frame = pd.DataFrame(cur, columns=columns).assign(**{size: cur.sum(axis=1) * 1.0})
    kinds = {**dict.fromkeys(columns, "categorical"), size: "numeric"}
    base = drift(ref_frame, cur_frame, column_types=kinds, key_columns=[*columns, size],
                 alpha=alpha, correction=correction, seed=seed,
                 thresholds={"categorical": threshold, "numeric": threshold})
    pairs = _cooccurrence(ref, cur, labels, alpha, cooccurrence_threshold, correction)
    freq = pd.DataFrame({"ref": ref.mean(axis=0), "cur": cur.mean(axis=0)},
                        index=pd.Index(labels, name="label"))
    drifted = bool(base.drifted or pairs["drifted"].astype(bool).any())
    rule = ("any label's frequency, the set size, or any label pair's co-occurrence "
            "(phi) drifted")
    params = {**base.params, "name": prefix, "labels": labels,
              "cooccurrence_threshold": cooccurrence_threshold}
    return SetDriftReport(base.columns, drifted, rule, base.charts, params,
                          cooccurrence=pairs, frequencies=freq)
