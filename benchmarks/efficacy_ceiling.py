"""Efficacy ceilings (issue 18): where the automatic turn's shortfall comes from.

DESIGN (written 2026-12-06 02:55 UTC, before the first run; amendment 3 of
``benchmarks/efficacy_grid.py``'s design, which this script reuses: the same cells,
seeds, split, noise models, fixed models and score). It chooses no default: it measures
how far the issue's automatic target (median share of the gap recovered >= 0.85) is
from what is reachable with the fixed model, by splitting a run into **which rows** are
acted on and **what is done** to them. Per run, on the same audit:

- ``assay relabel``: the audit's default action (``AuditReport.label_action()``: flagged
  rows relabelled to the suggestion when it reaches its class's threshold, dropped
  otherwise), as in the grid;
- ``assay flags, best action``: the audit's flagged rows, each relabelled to its true
  label when the audit's suggestion *is* the true label and dropped otherwise (the truth
  chooses the action, not the rows): the ceiling of any action on these flags that
  draws its new labels from the model;
- ``true rows, assay action``: exactly the noisy rows, with the audit's own rule
  (relabel when the suggestion reaches its class's threshold, else drop): perfect
  detection, the default action;
- ``true rows, best action``: exactly the noisy rows, relabelled when the audit's
  suggestion is the true label, dropped otherwise: the ceiling of every automatic turn
  that flags rows and relabels them with the model's suggestion or drops them;
- ``oracle drop``: exactly the noisy rows dropped (the grid's ceiling of dropping).

Read: if ``true rows, best action`` is below 0.85 in a cell, no automatic action built on
this model's suggestions can reach the target there; the distance from ``assay relabel``
to ``true rows, assay action`` is the cost of detection, and from ``assay relabel`` to
``assay flags, best action`` the cost of the action.

Cells: the grid's middle sizes, every data set and noise model, in the grid's priority
order (lr at 12%, knn at 12%, lr at 5% and 25%, then rf and gb at 12%) until the budget
is spent; 5 seeds; cells pooled and counted as in the grid (mean gap >= 0.01).

Run: ``nice -n 10 .venv/bin/python benchmarks/efficacy_ceiling.py [--minutes M]``;
runs are appended to ``results/efficacy_ceiling_runs.jsonl`` (resumable) and the summary
written to ``results/efficacy_ceiling.md``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table  # noqa: E402
from efficacy_grid import (  # noqa: E402
    MIN_GAP,
    SELECTION,
    Cell,
    _assay_report,
    budgeted_main,
    cached,
    pooled,
    run_cells,
    setup,
)

from assay.train.audit._action import label_action  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNS = HERE / "results" / "efficacy_ceiling_runs.jsonl"
SYSTEMS = (
    "assay relabel",
    "assay flags, best action",
    "true rows, assay action",
    "true rows, best action",
    "oracle auto",
)
STAGES = (("lr", 0.12), ("knn", 0.12), ("lr", 0.05), ("lr", 0.25), ("rf", 0.12), ("gb", 0.12))


def _best_action(rows: np.ndarray, suggested: np.ndarray, truth: np.ndarray,
                 given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows acted on: relabelled when the suggestion is the truth, dropped otherwise.

    Returns the rows kept (bool, shape (n,)) and the labels after the action."""
    right = rows & (suggested == truth)
    labels = np.where(right, suggested, given)
    return ~(rows & ~right), labels


def ceiling_run(cell: Cell, X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Every ceiling of amendment 3 on one audit of one seed of a cell."""
    s = setup(cell, X, y, seed)
    row = s.row
    issues = _assay_report(cell.model, s.Xr, s.noisy, seed).issues
    suggested = issues["suggested_label"].to_numpy().astype(s.noisy.dtype)
    flagged = issues["is_label_issue"].to_numpy(bool)
    wrong = s.noisy != s.yr
    act = label_action(issues)
    row["assay relabel"] = s.score(act["action"].to_numpy() != "drop",
                                   act["label"].to_numpy().astype(s.noisy.dtype))
    row["assay flags, best action"] = s.score(*_best_action(flagged, suggested, s.yr, s.noisy))
    oracle = label_action(issues.assign(is_label_issue=wrong))
    row["true rows, assay action"] = s.score(oracle["action"].to_numpy() != "drop",
                                             oracle["label"].to_numpy().astype(s.noisy.dtype))
    row["true rows, best action"] = s.score(*_best_action(wrong, suggested, s.yr, s.noisy))
    row["suggestion right on noisy rows"] = float((suggested[wrong] == s.yr[wrong]).mean())
    row["flag precision"] = float(wrong[flagged].mean()) if flagged.any() else float("nan")
    row["flag recall"] = float(flagged[wrong].mean()) if wrong.any() else float("nan")
    row["assay auto"] = row["assay relabel"]  # the grid runner prints this column
    return row


def run(minutes: float) -> None:
    """Run the stages in order until ``minutes`` are spent (resumable)."""
    deadline = time.monotonic() + 60 * minutes
    for model, rate in STAGES:
        left = (deadline - time.monotonic()) / 60
        if left <= 0:
            return
        run_cells(RUNS, ceiling_run,
                  lambda c, middle, m=model, r=rate: (c.model, c.rate, c.size) == (m, r, middle),
                  left)


def cells(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per cell with 5 seeds: the pooled share of the gap for every system."""
    keys = ["dataset", "model", "noise", "rate", "size"]
    out = []
    for key, group in runs.groupby(keys):
        if len(group) < 5:
            continue
        gap = float((group["clean"] - group["noisy"]).mean())
        row = dict(zip(keys, key, strict=True)) | {"gap": gap}
        row |= {name: pooled(group, name) for name in SYSTEMS}
        row["suggestion right"] = float(group["suggestion right on noisy rows"].mean())
        row["flag precision"] = float(group["flag precision"].mean())
        row["flag recall"] = float(group["flag recall"].mean())
        out.append(row)
    return pd.DataFrame(out)


def summary(table: pd.DataFrame) -> list[str]:
    """Medians over the counted cells, all and by part, and the cells out of reach."""
    counted = table[table["gap"] >= MIN_GAP]
    lines = [f"Cells with 5 seeds: {len(table)}; counted (mean gap >= {MIN_GAP}): "
             f"{len(counted)}.", ""]
    parts = {"all": counted,
             "selection (digits, breast_cancer)": counted[counted["dataset"].isin(SELECTION)],
             "held-out (wine, fsdd, sentiment)": counted[~counted["dataset"].isin(SELECTION)]}
    rows = [[part, len(sub), *(f"{sub[name].median():.3f}" for name in SYSTEMS)]
            for part, sub in parts.items() if len(sub)]
    lines += [markdown_table(["cells", "n", *SYSTEMS], rows), ""]
    out_of_reach = counted[counted["true rows, best action"] < 0.85]
    lines.append(f"Cells where even `true rows, best action` is below 0.85: {len(out_of_reach)}"
                 f" of {len(counted)}.")
    lr12 = counted[(counted["model"] == "lr") & (counted["rate"] == 0.12)]
    lines.append(f"lr at 12%: `true rows, best action` below 0.75 in "
                 f"{int((lr12['true rows, best action'] < 0.75).sum())} of {len(lr12)} cells; "
                 f"`assay relabel` below 0.75 in {int((lr12['assay relabel'] < 0.75).sum())}.")
    return lines


READING = """### Reading (written after the 600 runs, 2026-12-06 03:35 UTC)

- **Detection, not the action, keeps the automatic turn from the target.** Given exactly
  the noisy rows, the audit's own rule (relabel when the suggestion reaches its class's
  threshold, else drop) recovers a median 0.887 of the gap (held-out 0.891), above the
  0.85 target, and the best choice per row 0.958. Given the audit's flags, even the best
  choice per row recovers 0.490 (0.592 on the selection part, 0.359 held out), and the
  default action 0.388: the rows the flags miss (recall 0.3-0.6 under realistic noise)
  and the good rows they take are what is lost.
- The target is out of reach of every action on the model's suggestions in 27 of 97
  cells (`true rows, best action` < 0.85): knn and rf, whose out-of-sample suggestions
  are wrong on more of the noisy rows, and sentiment (a weak model: suggestions right on
  50-73% of the noisy rows).
- So the next gains are in the ranking and the number of flags (confident learning
  stops at its estimate of the number of errors, which is low under realistic noise);
  amendment 2's disagreeing rows raised recall but did not pass the rule."""


def report() -> str:
    runs = pd.DataFrame(list(cached(RUNS).values()))
    table = cells(runs)
    head = ["dataset", "model", "noise", "rate", "gap", *SYSTEMS, "suggestion right",
            "flag precision", "flag recall"]
    rows = [[*(r[c] if isinstance(r[c], str) else f"{r[c]:.3f}" for c in head)]
            for _, r in table.sort_values(["model", "rate", "dataset", "noise"]).iterrows()]
    return "\n".join([
        f"Runs: {len(runs)}. Design: the docstring of `benchmarks/efficacy_ceiling.py` "
        "(written before the first run).", "",
        "### Summary (median share of the clean-vs-noisy gap recovered)", "",
        *summary(table), "", READING, "", "### Cells", "", markdown_table(head, rows),
    ])


def main() -> None:
    budgeted_main(__doc__, run, "efficacy_ceiling", "Efficacy ceilings: detection vs action "
                  "(issue 18, amendment 3)", report)


if __name__ == "__main__":
    main()
