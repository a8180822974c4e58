"""Double-labeling plans: a stratified sample of a dataset's items for a second labeler."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._validation import check_columns
from assay.collect import plan_sample, to_label_studio_tasks
from assay.exceptions import InputError
from assay.store.workspace import Workspace

__all__ = ["SamplePlan", "plan_double_labeling"]


@dataclass(frozen=True)
class SamplePlan:
    """The sample drawn from ``ref``, where it was written, and its expected precision."""

    ref: str
    n: int
    expected_ci_width: float
    by: list[str]
    out: Path
    label_studio: Path | None

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values."""
        return {
            "n": self.n,
            "expected_ci_width": self.expected_ci_width,
            "by": self.by,
            "out": str(self.out),
            "label_studio": str(self.label_studio) if self.label_studio else None,
        }


def plan_double_labeling(
    ws: Workspace,
    name: str,
    *,
    out: Path,
    n: int | None = None,
    ci_width: float | None = None,
    by: list[str] | None = None,
    label_studio: Path | None = None,
    seed: int = 0,
) -> SamplePlan:
    """Sample items of dataset ``name`` stratified by ``by`` (default: label and tags),
    sized by ``n`` or by ``ci_width`` (the target width of kappa's 95% interval);
    write them as CSV to ``out`` and, optionally, as Label Studio tasks."""
    if (n is None) == (ci_width is None):
        raise InputError(
            "give the sample size as exactly one of n= (items) and ci_width= (the target "
            "width of kappa's 95% interval), e.g. n=200 or ci_width=0.2."
        )
    version = ws.dataset(name)
    frame = version.to_pandas()
    columns = by or [version.roles.label, *version.roles.tags]
    check_columns(frame, columns, where=f"{version.ref} (by)")
    prevalence = frame[version.roles.label].value_counts(normalize=True).tolist()
    if ci_width is not None and not prevalence:
        raise InputError(
            f"ci_width= needs the class shares but {version.ref} has no labels in column "
            f"{version.roles.label!r}; give the sample size with n= instead."
        )
    plan = plan_sample(frame, n=n, ci_width=ci_width, by=columns, prevalence=prevalence, seed=seed)
    sample = plan.sample.rename(columns={version.roles.id: "item"})
    sample.to_csv(out, index=False)
    if label_studio is not None:
        # the second labeler must not see the first label: independence is the point
        shown = [c for c in ("text", "path") if c in sample.columns]
        data_cols = shown or [c for c in sample.columns if c not in ("item", version.roles.label)]
        tasks = to_label_studio_tasks(sample, item_col="item", data_cols=data_cols)
        label_studio.write_text(json.dumps(tasks, indent=2, default=str))
    return SamplePlan(version.ref, plan.n, plan.expected_ci_width, columns, out, label_studio)
