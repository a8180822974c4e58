"""The result every data check returns: cleanlab's issue contract, as a small object.

A check returns a :class:`CheckResult` whose ``issues`` table has one row per example
(input order) with a boolean ``is_<name>_issue`` column and a ``<name>_score`` column in
[0, 1] where low means suspicious, plus any extra per-example columns (set ids, suggested
labels); ``summary`` holds the count and rate of flagged examples and the parameters used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TRUST_KEYS", "CheckResult", "make_result"]

#: Summary entries of the label check on how far to trust its flags
#: (:func:`assay.train.labels._trust.flag_trust`).
TRUST_KEYS = (
    "expected_precision",
    "estimated_noise_rate",
    "cv_accuracy",
    "chance_accuracy",
    "weak_model",
)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one data check.

    Attributes
    ----------
    name : str
        The check's name, e.g. ``"outlier"``.
    issues : DataFrame of shape (n_samples, n_columns)
        ``is_<name>_issue`` (bool), a score column (float in [0, 1], low = suspicious)
        and any extra columns, one row per example in input order.
    summary : dict
        ``count`` and ``rate`` of flagged examples, ``score_mean`` and parameters.
    reason : str, optional
        Why an example is flagged, as a template over ``{given}``, ``{suggested}`` and
        ``{set}`` (the reason of the check class that ran, for this kind of label).
    """

    name: str
    issues: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    @property
    def flag_column(self) -> str:
        """The name of the boolean issue column."""
        return f"is_{self.name}_issue"

    @property
    def score_column(self) -> str:
        """The name of the score column (``label_quality`` for labels)."""
        return str(self.summary.get("score_column", f"{self.name}_score"))


def make_result(
    name: str,
    flags: np.ndarray,
    scores: np.ndarray,
    *,
    score_column: str | None = None,
    extra: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
) -> CheckResult:
    """Assemble a :class:`CheckResult` from per-example flags and scores.

    Parameters
    ----------
    name : str
        The check's name.
    flags : array of shape (n_samples,), bool
        True where the example has the issue.
    scores : array of shape (n_samples,), float
        In [0, 1], low = suspicious; clipped into that range.
    score_column : str, optional
        Defaults to ``<name>_score``.
    extra : dict of str to array of shape (n_samples,), optional
        More per-example columns.
    info : dict, optional
        More summary entries (parameters, thresholds, set counts).
    """
    flags = np.asarray(flags, dtype=bool)
    scores = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    score_column = score_column or f"{name}_score"
    columns: dict[str, Any] = {f"is_{name}_issue": flags, score_column: scores}
    columns.update(extra or {})
    n = flags.shape[0]
    summary: dict[str, Any] = {
        "count": int(flags.sum()),
        "rate": float(flags.mean()) if n else 0.0,
        "score_mean": float(scores.mean()) if n else 1.0,
        "score_column": score_column,
    }
    summary.update(info or {})
    return CheckResult(name=name, issues=pd.DataFrame(columns), summary=summary)
