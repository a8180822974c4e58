"""The audit's report: one issue table, a summary per check, the worst examples, HTML."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assay.exceptions import InputError
from assay.train.audit._action import label_action
from assay.train.audit._checks import check_reason, resolve_check
from assay.train.audit._html import report_html
from assay.train.audit._result import TRUST_KEYS, CheckResult
from assay.train.audit._thresholds import Threshold, parse_threshold
from assay.train.audit.target_leakage import TargetLeak

__all__ = ["AuditReport", "RenderItem"]

#: Renders the example at a row position as an HTML fragment (escaped by the renderer).
RenderItem = Callable[[int], str]


@dataclass
class AuditReport:
    """The result of :func:`assay.train.audit.audit`.

    Attributes
    ----------
    issues : DataFrame of shape (n_samples, n_columns)
        One row per example, in input order (the data's index): ``is_<check>_issue`` and
        ``<check>_score`` per check (``is_label_issue``, ``label_quality``,
        ``given_label`` and ``suggested_label`` for labels) and any set-id columns.
    summary : dict of str to dict
        Per check: ``count``, ``rate``, ``score_mean`` and the check's parameters.
    results : dict of str to CheckResult
    data : DataFrame, optional
        The audited table, for rendering rows.
    modality : str
    render_item : callable, optional
        Hook: ``render_item(position) -> html`` used by :meth:`to_html`; the report layer
        sets it from the modality (see :func:`assay.modalities.item_renderer`).
    ids : ndarray of shape (n_samples,), optional
        The item id of each row, in order: the HTML, the review entries and their
        reasons name rows by it (default: the data's index).
    target_leaks : list of TargetLeak
        Feature columns that (nearly) determine the label
        (:func:`~assay.train.audit.target_leakage.find_target_leakage`).
    """

    issues: pd.DataFrame
    summary: dict[str, dict[str, Any]]
    results: dict[str, CheckResult] = field(default_factory=dict)
    data: pd.DataFrame | None = None
    modality: str = "tabular"
    render_item: RenderItem | None = None
    ids: np.ndarray | None = None
    target_leaks: list[TargetLeak] = field(default_factory=list)

    @classmethod
    def from_results(
        cls, results: Mapping[str, CheckResult], *, data: pd.DataFrame, modality: str = "tabular"
    ) -> AuditReport:
        """Join the per-check tables into one, indexed like ``data``."""
        frames = [r.issues.set_axis(data.index, axis=0) for r in results.values()]
        issues = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=data.index)
        summary = {name: dict(r.summary) for name, r in results.items()}
        return cls(issues, summary, dict(results), data, modality)

    @property
    def checks(self) -> list[str]:
        """The names of the checks that ran."""
        return list(self.results)

    def _result(self, check: str) -> CheckResult:
        name = resolve_check(check)  # an unknown name is an InputError that lists the checks
        if name not in self.results:
            raise InputError(
                f"the check {name!r} did not run (its inputs were missing or --checks left it "
                f"out); the report has: {', '.join(self.results)}."
            )
        return self.results[name]

    def worst(self, check: str, k: int = 10) -> pd.DataFrame:
        """The ``k`` examples with the lowest score for ``check``, flagged ones first.

        Returns
        -------
        DataFrame of shape (min(k, n_samples), n_columns)
            The check's issue columns, indexed like the data, most suspicious first.
        """
        result = self._result(check)
        table = result.issues.set_axis(self.issues.index, axis=0)
        order = np.lexsort(
            (table[result.score_column].to_numpy(), ~table[result.flag_column].to_numpy())
        )
        return table.iloc[order[:k]]

    def label_action(
        self, action: str = "relabel", threshold: float | str = "class", scope: str = "flagged"
    ) -> pd.DataFrame:
        """The automatic action on every row's label (:func:`._action.label_action`).

        Parameters
        ----------
        action : {"drop", "relabel"}, default="relabel"
            ``"drop"``: drop every flagged row; ``"relabel"``: relabel a flagged row to
            its suggested label when the suggestion's out-of-sample probability reaches
            ``threshold``, drop it otherwise.
        threshold : "class" or float in [0, 1], default="class"
            ``"class"``: the suggested class's confident-learning threshold.
        scope : {"flagged", "disagreeing"}, default="flagged"
            Act on the flagged rows, or also on every row whose suggestion differs.

        Returns
        -------
        DataFrame of shape (n_samples, 2), indexed like the data
            ``action`` (``"keep"``, ``"relabel"``, ``"drop"``) and ``label`` (after it).
        """
        table = self._result("label").issues.set_axis(self.issues.index, axis=0)
        return label_action(table, action=action, threshold=threshold, scope=scope)

    def exceeds(self, thresholds: Iterable[str | Threshold]) -> list[str]:
        """Return a message for every threshold the report breaks (empty: all pass).

        Parameters
        ----------
        thresholds : iterable of str or Threshold
            E.g. ``["label_issue>5%", "near_duplicate>=10"]``.
        """
        broken = []
        for item in thresholds:
            rule = parse_threshold(item) if isinstance(item, str) else item
            s = self._result(rule.check).summary
            if rule.is_exceeded(s):
                broken.append(f"{rule}: {s['rate']:.2%} ({s['count']} of {len(self.issues)})")
        return broken

    def item_id(self, position: int) -> Any:
        """The id of the row at ``position`` (:attr:`ids`, else the data's index)."""
        ids = self.ids if self.ids is not None else self.issues.index
        return _plain(ids[position])

    def review_items(self) -> pd.DataFrame:
        """Flagged examples for the review queue, one row per (example, check).

        A duplicate pair is one entry: the later example of each exact-duplicate set,
        and of each near-duplicate set whose members are not exact copies already,
        naming its ``partner`` (the set's first example) in the reason.

        Returns
        -------
        DataFrame with columns ``row`` (position), ``index`` (the data's index), ``check``,
        ``score`` (low = suspicious), ``suggested_label`` (labels only, else None),
        ``reason``, ``partner`` (duplicates: the partner's id, else None) and ``digest``
        (a hash of the row's data, to tell when the item changed); ordered by check,
        then score.
        """
        parts = [self._review_part(name, r) for name, r in self.results.items()]
        columns = ["row", "index", "check", "score", "suggested_label", "reason", "partner"]
        parts = [p for p in parts if len(p)]
        if not parts:
            return pd.DataFrame(columns=[*columns, "digest"])
        items = pd.concat(parts, ignore_index=True)
        items["digest"] = self._digests(items["row"].to_numpy(dtype=np.int64))
        return items

    def _review_part(self, name: str, result: CheckResult) -> pd.DataFrame:
        table = result.issues
        rows = np.flatnonzero(table[result.flag_column].to_numpy())
        partners: dict[int, int] = {}
        if name in _DUPLICATE_CHECKS and f"{name}_set" in table.columns:
            partners = self._pairs(name, table[f"{name}_set"].to_numpy())
            rows = np.array(sorted(partners), dtype=np.int64)
        rows = rows[np.argsort(table[result.score_column].to_numpy()[rows], kind="stable")]
        sub = table.iloc[rows]
        suggested = sub["suggested_label"].tolist() if name == "label" else [None] * len(rows)
        partner = [self.item_id(partners[int(r)]) if int(r) in partners else None for r in rows]
        reasons = [
            f"{_DUPLICATE_CHECKS[name]} of item {p}" if p is not None
            else _reason(result.reason or check_reason(name), name, r)
            for p, (_, r) in zip(partner, sub.iterrows(), strict=True)
        ]
        return pd.DataFrame(
            {
                "row": rows,
                "index": self.issues.index[rows],
                "check": name,
                "score": sub[result.score_column].to_numpy(),
                "suggested_label": pd.Series(suggested, dtype=object),
                "reason": reasons,
                "partner": pd.Series(partner, dtype=object),
            }
        )

    def _pairs(self, name: str, sets: np.ndarray) -> dict[int, int]:
        """Each later member of a duplicate set -> the set's first member (positions).

        A near-duplicate member that is an exact copy of that first member is left to
        the exact-duplicate check, so that a pair is queued once.
        """
        exact = self.issues.get("exact_duplicate_set")
        exact_sets = exact.to_numpy() if name == "near_duplicate" and exact is not None else None
        pairs: dict[int, int] = {}
        first: dict[Any, int] = {}
        for position, group in enumerate(sets):
            if group == -1 or pd.isna(group):
                continue
            if group not in first:
                first[group] = position
                continue
            partner = first[group]
            exact_pair = exact_sets is not None and exact_sets[position] != -1
            if exact_pair and exact_sets[position] == exact_sets[partner]:  # type: ignore[index]
                continue
            pairs[position] = partner
        return pairs

    def _digests(self, rows: np.ndarray) -> list[str | None]:
        """A hash of each row's data (None without data), to tell a changed item."""
        if self.data is None or not len(rows):
            return [None] * len(rows)
        shown = self.data.iloc[rows].astype(str)
        hashes = pd.util.hash_pandas_object(shown, index=False).to_numpy()
        return [format(int(h), "016x") for h in hashes]

    def summary_table(self) -> pd.DataFrame:
        """One row per check: ``check``, ``count``, ``rate``, ``score_mean`` (for the CLI)."""
        return pd.DataFrame(
            [
                {"check": n, "count": s["count"], "rate": s["rate"], "score_mean": s["score_mean"]}
                for n, s in self.summary.items()
            ],
            columns=["check", "count", "rate", "score_mean"],
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: rows, and per check count, rate and mean score (and the
        neighbour checks' ``space`` and ``metric``)."""
        keep = ("count", "rate", "score_mean", "space", "metric", *TRUST_KEYS)
        return {
            "n_rows": len(self.issues),
            "checks": {n: {k: s[k] for k in keep if k in s} for n, s in self.summary.items()},
            "target_leakage": [
                {"columns": list(leak.columns), "score": leak.score, "metric": leak.metric}
                for leak in self.target_leaks
            ],
        }

    def to_html(self, k: int = 10, render_item: RenderItem | None = None) -> str:
        """An HTML fragment: the summary table and the ``k`` worst examples per check."""
        return report_html(self, k, render_item or self.render_item or self._render_row)

    def _repr_html_(self) -> str:
        """Jupyter: what each check flagged as bars (the web page's chart, from
        :mod:`assay._charts`), then the report."""
        from assay._charts import paired_class_figure

        counts = {
            name.replace("_", " "): int(part.get("count") or 0)
            for name, part in self.summary.items()
            if isinstance(part, dict)
        }
        chart = paired_class_figure(
            {"items flagged": counts}, what="items flagged", name="checks", per="check"
        )
        return chart + self.to_html()

    def _render_row(self, position: int) -> str:
        """Default item rendering: the row's fields (text first, at most 12), escaped."""
        if self.data is None:
            return ""
        row = self.data.iloc[position]
        fields = sorted(row.items(), key=lambda kv: isinstance(kv[1], (int, float, np.number)))
        cells = "; ".join(
            f"{html.escape(str(c))}={html.escape(str(v)[:80])}" for c, v in fields[:12]
        )
        more = f" (+{len(fields) - 12} more)" if len(fields) > 12 else ""
        return f"<code>{cells}{more}</code>"


#: The duplicate checks, queued once per pair, and how their reason names the pair.
_DUPLICATE_CHECKS = {"exact_duplicate": "exact duplicate", "near_duplicate": "near duplicate"}


def _reason(template: str, check: str, row: pd.Series) -> str:
    fields = {
        "given": _plain(row.get("given_label")),
        "suggested": _plain(row.get("suggested_label")),
        "set": _plain(row.get(f"{check}_set")),
    }
    return template.format(**fields)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar, a set of labels as its names joined (for
    readable messages)."""
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(map(str, value)) or "(none)"
    return value.item() if isinstance(value, np.generic) else value
