"""``--fail-on`` thresholds for CI gating: ``"label_issue>5%"``, ``"outlier>=10"``."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from assay.exceptions import InputError

__all__ = ["Threshold", "parse_threshold"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_PATTERN = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>>=|<=|>|<)\s*"
    r"(?P<value>[0-9]*\.?[0-9]+)\s*(?P<pct>%?)\s*$"
)


@dataclass(frozen=True)
class Threshold:
    """One gating rule on a check's summary.

    Attributes
    ----------
    check : str
        The check's name (``"label"`` for ``label_issue``).
    op : {">", ">=", "<", "<="}
    value : float
        A rate in [0, 1] when ``kind == "rate"``, else a count.
    kind : {"rate", "count"}
        ``"rate"`` when the value was written with ``%``.
    """

    check: str
    op: str
    value: float
    kind: str

    def is_exceeded(self, summary: Mapping[str, Any]) -> bool:
        """Whether a check's summary (``count``, ``rate``) breaks this rule."""
        return _OPS[self.op](float(summary[self.kind]), self.value)

    def __str__(self) -> str:
        shown = f"{self.value * 100:g}%" if self.kind == "rate" else f"{self.value:g}"
        return f"{self.check}_issue{self.op}{shown}"


def parse_threshold(text: str) -> Threshold:
    """Parse ``"<check>[_issue] <op> <value>[%]"``.

    Parameters
    ----------
    text : str
        E.g. ``"label_issue>5%"`` (more than 5% of examples flagged) or
        ``"near_duplicate>=10"`` (at least 10 examples flagged).

    Returns
    -------
    Threshold

    Examples
    --------
    >>> parse_threshold("label_issue>5%")
    Threshold(check='label', op='>', value=0.05, kind='rate')
    """
    match = _PATTERN.match(text)
    if match is None:
        raise InputError(
            f"cannot read the threshold {text!r}; write it as CHECK_issue OP VALUE, "
            "e.g. 'label_issue>5%' or 'outlier_issue>=10'."
        )
    name = match["name"]
    check = name[: -len("_issue")] if name.endswith("_issue") else name
    value = float(match["value"])
    if match["pct"]:
        if value > 100:
            raise InputError(f"threshold {text!r} has a percentage above 100%.")
        return Threshold(check, match["op"], value / 100.0, "rate")
    return Threshold(check, match["op"], value, "count")
