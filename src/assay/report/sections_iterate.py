"""Report section of the iteration loop: experiments per data version, with the diffs."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from assay._charts import LineSeries, line_chart
from assay.report.build import register_section
from assay.store.experiments import Experiment, ExperimentStore
from assay.store.workspace import Workspace

__all__ = ["experiments_section"]


def _groups(experiments: list[Experiment]) -> dict[tuple[str, str, str], list[Experiment]]:
    """Experiments that can be compared: same dataset, evaluation set and recipe."""
    groups: dict[tuple[str, str, str], list[Experiment]] = {}
    for exp in experiments:
        key = (exp.dataset, exp.eval_set, exp.recipe_hash)
        groups.setdefault(key, []).append(exp)
    return groups


def _change(ws: Workspace, exp: Experiment) -> str:
    """What the version changed from its parent, in words."""
    version = ws.dataset(exp.data)
    if version.parent_number is None:
        return f"{version.n_rows} rows imported"
    counts = {k: v for k, v in version.summary.items()
              if k != "rows" and v and not isinstance(v, list)}  # column lists: not counts
    text = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no item changed"
    return f"{text} (from v{version.parent_number}): {version.message}"


def _cell(metric: Mapping[str, Any]) -> str:
    return f"{metric['value']:.3f} <span class='muted'>[{metric['low']:.3f}, {metric['high']:.3f}]</span>"


def _metric_name(metric: str) -> str:
    """``macro F1`` for ``macro_f1``: a column heading."""
    return metric.replace("_f1", " F1").replace("_", " ")


def _table(ws: Workspace, group: list[Experiment]) -> str:
    """The group's experiments with the task's first two metrics (classification:
    accuracy and macro F1)."""
    rows = []
    prev: Experiment | None = None
    first, second = group[0].task.metrics[:2]
    for exp in group:
        head = exp.headline
        delta = "" if prev is None else f"{head.value - prev.headline.value:+.3f}"
        rows.append(
            f"<tr><td>{exp.id}</td><td>{html.escape(exp.data)}</td>"
            f"<td>{html.escape(_change(ws, exp))}</td>"
            f"<td class='num'>{exp.n_train}</td><td class='num'>{_cell(head.interval)}</td>"
            f"<td class='num'>{delta}</td>"
            f"<td class='num'>{_cell(exp.evaluation.overall[second])}</td></tr>"
        )
        prev = exp
    return (
        "<table><tr><th>experiment</th><th>data version</th><th>data change</th>"
        f"<th>training rows</th><th>{_metric_name(first)} [95%]</th><th>change</th>"
        f"<th>{_metric_name(second)} [95%]</th></tr>" + "".join(rows) + "</table>"
    )


def _chart(group: list[Experiment], title: str) -> str:
    versions = [float(_version_number(e.data)) for e in group]
    heads = [e.headline for e in group]
    metric = heads[0].metric
    method = "Wilson" if heads[0].interval.get("method") == "wilson" else "bootstrap"
    series = LineSeries(
        x=versions,
        y=[h.value for h in heads],
        low=[h.interval["low"] for h in heads],
        high=[h.interval["high"] for h in heads],
        label=f"{_metric_name(metric)} (95% {method} interval)",
        markers=True,
    )
    svg = line_chart([series], title=title, x_label="data version", y_label=metric, height=320)
    return _version_ticks(svg)


_X_TICK = re.compile(r'(<text x="[\d.]+" y="[\d.]+" text-anchor="middle">)(\d+(?:\.\d+)?)(</text>)')


def _version_ticks(svg: str) -> str:
    """Label the x ticks ``v1, v2, ...`` and drop the fractional ones (``v1.5``)."""

    def label(match: re.Match[str]) -> str:
        value = float(match.group(2))
        if not value.is_integer():
            return ""
        return f"{match.group(1)}v{int(value)}{match.group(3)}"

    return _X_TICK.sub(label, svg)


def _version_number(ref: str) -> int:
    """The version number of ``NAME@vN``."""
    return int(ref.rsplit("@v", 1)[1])


@register_section("experiments")
def experiments_section(ws: Workspace) -> dict[str, Any] | None:
    """One table and one accuracy chart per (dataset, evaluation set, recipe)."""
    experiments = ExperimentStore(ws).list()
    if not experiments:
        return None
    parts = []
    for (dataset, eval_set, _), group in _groups(experiments).items():
        title = f"{dataset} with recipe {group[0].recipe}, evaluated on {eval_set}"
        parts.append(f"<h3>{html.escape(title)}</h3>" + _table(ws, group))
        if len(group) > 1:
            metric = _metric_name(group[0].task.metrics[0])
            parts.append(_chart(group, f"{metric} on {eval_set} per version of {dataset}"))
    return {
        "title": "Iterate: the data changes, the recipe stays",
        "intro": "Each experiment trains the same recipe on one data version and measures it "
        "on the same frozen evaluation set, so a change in accuracy is the data's doing; each "
        "row says what the version changed.",
        "html": "".join(parts),
    }
