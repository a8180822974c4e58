"""Report section of the collect phase: agreement by label-book version."""

from __future__ import annotations

import html
import inspect
from typing import Any

from assay.report.build import register_section
from assay.store.datasets import dataset_task
from assay.store.workspace import Workspace


def _per_class(result: dict[str, Any]) -> dict[Any, Any]:
    """A stored agreement's value per class: a mapping as it is; a list of per-class
    records (box agreement) as each class's first statistic (box F1 at IoU 0.5)."""
    table = result.get("per_class", {})
    if isinstance(table, list):
        return {r.get("label"): r.get("f1_50") for r in table if isinstance(r, dict)}
    return dict(table)


def _by_version_table(records: list[dict[str, Any]]) -> str:
    versions = sorted(records, key=lambda r: r["params"].get("labelbook_version") or 0)
    classes = sorted({c for r in versions for c in _per_class(r["result"])}, key=str)
    head = "".join(f"<th>label book v{r['params'].get('labelbook_version')}</th>" for r in versions)
    rows = []
    for cls in classes:
        cells = "".join(
            f"<td class='num'>{_num(_per_class(r['result']).get(cls))}</td>" for r in versions
        )
        rows.append(f"<tr><td>{html.escape(str(cls))}</td>{cells}</tr>")
    alpha = "".join(
        f"<td class='num'>{_num(r['result'].get('krippendorff_alpha'))}</td>" for r in versions
    )
    rows.append(f"<tr><th>Krippendorff's alpha</th>{alpha}</tr>")
    return f"<table><tr><th>class agreement</th>{head}</tr>{''.join(rows)}</table>"


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


@register_section("agreement")
def agreement_section(ws: Workspace) -> dict[str, Any] | None:
    """Agreement per class across label-book versions, and the latest heat map."""
    records = ws.analyses("agreement")
    if not records:
        return None
    dataset = records[0]["dataset"]
    mine = [r for r in records if r["dataset"] == dataset]
    annotations = ws.annotations.load(dataset)
    latest = annotations[annotations["batch"] == annotations["batch"].max()]
    engine = dataset_task(dataset, ws).agreement  # the dataset's kind of label
    options = {"ci": False} if "ci" in inspect.signature(engine).parameters else {}
    report = engine(latest[["item", "annotator", "label"]], **options)
    return {
        "title": f"Collect: labeler consistency ({dataset})",
        "intro": "Two or more labelers on a sample; where they disagree, the label book is "
        "revised until they agree. Agreement per class by label-book version, then the latest "
        "round's details.",
        "html": _by_version_table(mine) + report.to_html(),
    }
