"""The audit's automatic action on label issues, recorded as review decisions.

:meth:`assay.train.audit.AuditReport.label_action` says, per flagged label, what to do
without a reviewer: relabel it to the suggestion when the suggestion's out-of-sample
probability reaches its class's threshold, drop it otherwise (``"relabel"``), or drop
every flagged row (``"drop"``). Here those actions become decisions on the label
entries the audit queued, decided by :data:`AUTO_DECIDER` with the reason in the
note, so that they are seen, undone or changed like a reviewer's (the queue's decided
entries) and take effect only when the decisions are applied, which makes the new
version with its provenance.

How much of the clean-vs-noisy gap this recovers is measured, not assumed:
``benchmarks/efficacy_grid.py`` and ``benchmarks/efficacy_ceiling.py``; a reviewer
fixing the same number of the lowest-quality labels recovers more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from assay.exceptions import ConflictError, InputError
from assay.train.audit import queue_sources
from assay.train.audit._action import ACTIONS

if TYPE_CHECKING:
    from assay.store.workspace import Workspace
    from assay.workflows.audit import AuditRun

__all__ = [
    "AUTO_DECIDER",
    "AutoDecisions",
    "automatic_decisions",
    "check_action",
    "decide_automatically",
    "too_weak",
]

#: Who the automatic decisions are recorded as.
AUTO_DECIDER = "assay-auto"


@dataclass
class AutoDecisions:
    """What the automatic action decided on the queued label entries."""

    action: str
    relabelled: int = 0
    removed: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    #: Why nothing was decided (a model too weak for its flags to be acted on), if so.
    withheld: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "relabelled": self.relabelled, "removed": self.removed,
                "skipped": self.skipped, "withheld": self.withheld}


def too_weak(run: AuditRun) -> str | None:
    """Why the audit's model is too weak to act on its flags without a reviewer, or None.

    The label check's weak-model warning (cross-validated accuracy barely above chance,
    or an expected precision of the flags below one half). On the efficacy grid
    (``benchmarks/efficacy_guard.py``, 100 runs at 12% noise) it fired in 19 of 20
    sentiment runs, where the automatic action lowered accuracy, and in none of the 80
    on other data sets; it does not catch the small losses (at most 0.008) of 6 of those.
    """
    label = run.report.summary.get("label", {})
    if not label.get("weak_model"):
        return None
    return (f"the model is too weak to act on its flags without a reviewer (cross-validated "
            f"accuracy {label.get('cv_accuracy', float('nan')):.2f} against "
            f"{label.get('chance_accuracy', float('nan')):.2f} by chance, expected "
            f"precision {label.get('expected_precision', float('nan')):.2f}); "
            "nothing was decided: review the queued items")


def check_action(action: str | None, *, queue: bool) -> None:
    """Refuse an unknown action, or an action without the queue it decides in."""
    if action is None:
        return
    if action not in ACTIONS:
        raise InputError(f"action= must be one of {', '.join(ACTIONS)} (got {action!r}): 'relabel' "
                         "relabels a flagged label when the suggestion is sure enough and "
                         "removes the row otherwise; 'drop' removes every flagged row.")
    if not queue:
        raise InputError("action= decides the queued label issues; it cannot run with "
                         "queue=False (drop one of them).")


def automatic_decisions(run: AuditRun, action: str) -> pd.DataFrame:
    """The decision on every flagged label of an audit.

    Parameters
    ----------
    run : AuditRun
        A classification audit with the label check.
    action : {"relabel", "drop"}
        See :meth:`~assay.train.audit.AuditReport.label_action`.

    Returns
    -------
    DataFrame of shape (n_flagged, 4)
        ``item_id``, ``decision`` (``"relabel"`` or ``"remove"``), ``label`` (the new
        label where relabelled, else None) and ``note`` (why).

    Raises
    ------
    InputError
        When the audit has no classification label check to act on.
    """
    if "label" not in run.report.checks:
        raise InputError("action= acts on the label check's flags; run the audit with it "
                         "(checks=['label'], or the default checks).")
    acts = run.report.label_action(action)
    rows = np.flatnonzero(acts["action"].to_numpy() != "keep")
    relabel = acts["action"].to_numpy()[rows] == "relabel"
    why = {
        ("relabel", True): "the suggestion reached its class's threshold: relabelled",
        ("relabel", False): "the suggestion stayed below its class's threshold: removed",
        ("drop", False): "flagged: removed",
    }
    notes = [f"automatic ({action}): {why[action, bool(r)]}" for r in relabel]
    return pd.DataFrame({
        "item_id": run.item_ids[rows].astype(str),
        "decision": np.where(relabel, "relabel", "remove"),
        "label": pd.Series(acts["label"].to_numpy()[rows], dtype=object).where(relabel, None),
        "note": notes,
    })


def decide_automatically(
    ws: Workspace, run: AuditRun, decisions: pd.DataFrame, action: str
) -> AutoDecisions:
    """Record ``decisions`` (from :func:`automatic_decisions` with ``action``) on the
    open label-issue entries of the audited dataset.

    An entry a reviewer decided in the meantime, or one not open (kept earlier, already
    decided), is left alone and listed in ``skipped``.
    """
    withheld = too_weak(run)
    if withheld is not None:
        return AutoDecisions(action, withheld=withheld)
    source = queue_sources()["label"]
    dataset = run.version.name
    open_entries = ws.review.list(dataset, status="open", source=source)
    entry_of = dict(zip(open_entries["item_id"].astype(str), open_entries["id"], strict=True))
    outcome = AutoDecisions(action)
    for row in decisions.itertuples(index=False):
        entry = entry_of.get(str(row.item_id))
        if entry is None:
            outcome.skipped.append({"item_id": row.item_id, "why": "no open entry"})
            continue
        try:
            ws.review.decide(int(entry), str(row.decision), label=row.label, note=str(row.note),
                             user=AUTO_DECIDER)
        except ConflictError as exc:
            outcome.skipped.append({"item_id": row.item_id, "why": str(exc)})
            continue
        if row.decision == "relabel":
            outcome.relabelled += 1
        else:
            outcome.removed += 1
    return outcome
