"""What to do about each weak slice: collect / augment, clarify labels, or add features.

Rules (each recommendation carries its evidence as text and numbers):

- **clarify labels** when the slice's human-level performance is low (below
  ``low_hlp``, or flagged ``is_low_hlp`` by the tag table) or when its label-issue rate
  is at least twice the overall rate and 5 points above it: people disagree on these
  labels, so more data of the same kind would carry the same confusion.
- **collect / augment** when the slice is significantly worse than overall (its 95%
  interval excludes the overall metric, in the table's direction: an error such as
  the MAE is worse when higher), HLP is high or unknown, and the slice is
  under-represented (less than half of an even share of its tag column, or under 5% of
  the data for discovered slices); for unstructured data (image, text, audio) a weak
  slice gets this recommendation whatever its share.
- **add features** for structured (tabular) data when the slice is significantly worse
  yet already well represented: more rows of the same columns will not tell the model
  what it lacks.
- otherwise **no action**.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay._validation import InstanceOf, Interval, Options, Real, validate_params
from assay.exceptions import InputError
from assay.train._table_report import TableReport
from assay.train.slices._slices import SliceReport
from assay.train.slices._table import SliceTable

__all__ = ["Recommendations", "recommend"]

_FUNC = "recommend"
_MODALITIES = ("tabular", "image", "text", "audio")


class Recommendations(TableReport):
    """One recommendation per slice with its evidence.

    Attributes
    ----------
    table : DataFrame
        Columns ``slice, action, evidence, n, share, accuracy, accuracy_low,
        accuracy_high, overall_accuracy, hlp, gap, label_issue_rate,
        overall_label_issue_rate``.
    """

    title = "Recommendations per slice"

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table

    def summary(self) -> str:
        """Plain text: one line per slice that needs action."""
        act = self.table[self.table["action"] != "no action"]
        if len(act) == 0:
            return "no slice is significantly worse than overall: no action recommended"
        return "\n".join(f"- {r['slice']}: {r['action']} ({r['evidence']})"
                         for _, r in act.iterrows())


def _from_slices(slices: Any) -> tuple[pd.DataFrame, list[np.ndarray] | None, str]:
    """Common columns (slice, n, share, accuracy + interval, hlp, is_low_hlp, expected share)."""
    if isinstance(slices, SliceTable):
        t = slices.table
        per_col = t.groupby("column")["tag"].transform("count")
        frame = pd.DataFrame({
            "slice": t["tag"], "n": t["n"], "share": t["share"], "accuracy": t["metric"],
            "accuracy_low": t["metric_low"], "accuracy_high": t["metric_high"],
            "overall_accuracy": slices.overall["metric"], "hlp": t["hlp"],
            "is_low_hlp": t["is_low_hlp"], "even_share": 1.0 / per_col,
            "_metric": slices.metric, "_greater": slices.greater_is_better,
        })
        return frame, [slices.masks[s] for s in t["tag"]], "tag"
    if isinstance(slices, SliceReport):
        t = slices.table
        metric, low, high, overall, name = _found_metric(slices)
        frame = pd.DataFrame({
            "slice": t["slice"], "n": t["size"], "share": t["share"], "accuracy": metric,
            "accuracy_low": low, "accuracy_high": high, "overall_accuracy": overall,
            "hlp": np.nan, "is_low_hlp": False, "even_share": 0.1, "_metric": name,
            "_greater": not slices.losses,
        })
        return frame, [slices.mask(i) for i in range(len(t))], "slice"
    raise InputError(
        f"recommend needs the result of slice_table or find_slices; got {type(slices).__name__}."
    )


def _found_metric(slices: SliceReport) -> tuple[Any, Any, Any, Any, str]:
    """Each found slice's metric, its interval, the overall value and the metric's name:
    accuracy (1 - error rate) for 0/1 errors, the mean error itself for losses."""
    t = slices.table
    if slices.losses:
        return (t["error_rate"], t["error_rate_low"], t["error_rate_high"],
                t["overall_error_rate"], "mean error")
    rate = t[["error_rate", "error_rate_high", "error_rate_low", "overall_error_rate"]]
    kept = 1 - rate.astype(float)
    return (kept["error_rate"], kept["error_rate_high"], kept["error_rate_low"],
            kept["overall_error_rate"], "accuracy")


def _issue_rates(label_issue_rate: Any, frame: pd.DataFrame,
                 masks: list[np.ndarray] | None) -> tuple[np.ndarray, float]:
    """Per-slice label-issue rate and the overall rate (NaN when unknown)."""
    if label_issue_rate is None:
        return np.full(len(frame), np.nan), np.nan
    if isinstance(label_issue_rate, dict):
        rates = frame["slice"].map(lambda s: label_issue_rate.get(s, np.nan)).to_numpy(float)
        return rates, float(label_issue_rate.get("overall", np.nan))
    if isinstance(label_issue_rate, pd.DataFrame):
        label_issue_rate = label_issue_rate["is_label_issue"]
    flags = np.asarray(label_issue_rate, dtype=np.float64)
    if masks and (flags.ndim != 1 or len(flags) != len(masks[0])):
        raise InputError(
            f"label_issue_rate has shape {flags.shape} but the slices cover {len(masks[0])} "
            "rows; give one is_label_issue flag per row, or a dict of rates per slice."
        )
    rates = np.array([flags[m].mean() if m.any() else np.nan for m in masks or []])
    return rates, float(flags.mean())


def _decide(r: pd.Series, modality: str, low_hlp: float) -> tuple[str, str]:
    """The action and its evidence for one slice."""
    acc = (f"{r['_metric']} {r['accuracy']:.3f} [{r['accuracy_low']:.3f}, "
           f"{r['accuracy_high']:.3f}] vs {r['overall_accuracy']:.3f} overall")
    share = f"{r['share']:.1%} of the data"
    hlp = f"HLP {r['hlp']:.3f}" if np.isfinite(r["hlp"]) else "HLP unknown"
    rate, overall = r["label_issue_rate"], r["overall_label_issue_rate"]
    issues = np.isfinite(rate) and np.isfinite(overall) and rate >= max(2 * overall,
                                                                        overall + 0.05)
    low = bool(r["_greater"]) and np.isfinite(r["hlp"]) and r["hlp"] < low_hlp  # scores only
    if bool(r["is_low_hlp"]) or low or issues:
        why = [hlp + (f" < {low_hlp}" if r["hlp"] < low_hlp else " (below overall)")
               ] if np.isfinite(r["hlp"]) else []
        if issues:
            why.append(f"label issues {rate:.1%} vs {overall:.1%} overall")
        return "clarify labels", "; ".join(why + [acc])
    worse = (r["accuracy_high"] < r["overall_accuracy"] if r["_greater"]
             else r["accuracy_low"] > r["overall_accuracy"])  # an error: higher is worse
    if not worse:
        return "no action", f"{acc}: not significantly worse"
    under = r["share"] < 0.5 * r["even_share"]
    if under or modality != "tabular":
        tail = " (under-represented)" if under else ""
        return "collect / augment", f"{acc}; {hlp}; {share}{tail}"
    return "add features", f"{acc}; {hlp}; {share}: already well represented"


@validate_params({
    "hlp": [None, InstanceOf(dict, "a dict by slice"), Interval(Real, 0.0, 1.0)],
    "modality": [Options(_MODALITIES)],
    "low_hlp": [Interval(Real, 0.0, 1.0)],
})
def recommend(
    slices: Any,
    *,
    hlp: float | dict[str, float] | None = None,
    label_issue_rate: Any = None,
    modality: str = "tabular",
    low_hlp: float = 0.8,
) -> Recommendations:
    """Recommend an action per slice, with the evidence.

    Parameters
    ----------
    slices : SliceTable or SliceReport
        The output of :func:`slice_table` or :func:`find_slices`.
    hlp : float or dict, optional
        HLP per slice (dict keyed by the slice text) or for all; overrides the table's.
    label_issue_rate : dict, array-like of shape (n_samples,) or DataFrame, optional
        Per-slice label-issue rates (dict, with optional key "overall"), or per-row
        ``is_label_issue`` flags (or the DataFrame of ``find_label_issues``).
    modality : {"tabular", "image", "text", "audio"}
    low_hlp : float
        HLP below which labels count as ambiguous.

    Returns
    -------
    Recommendations
    """
    frame, masks, _ = _from_slices(slices)
    if isinstance(hlp, dict):
        frame["hlp"] = frame["slice"].map(lambda s: hlp.get(s, np.nan)).astype(float)
    elif hlp is not None:
        frame["hlp"] = float(hlp)
    rates, overall = _issue_rates(label_issue_rate, frame, masks)
    frame["label_issue_rate"], frame["overall_label_issue_rate"] = rates, overall
    decided = [_decide(r, modality, low_hlp) for _, r in frame.iterrows()]
    frame.insert(1, "action", [d[0] for d in decided])
    frame.insert(2, "evidence", [d[1] for d in decided])
    frame["gap"] = np.where(frame["_greater"], frame["hlp"] - frame["accuracy"],
                            frame["accuracy"] - frame["hlp"])
    return Recommendations(frame.drop(columns=["is_low_hlp", "even_share", "_metric", "_greater"]))
