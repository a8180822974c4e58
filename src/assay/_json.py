"""One way to make results JSON-safe, for the store, the CLI and the web app."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` with datetimes, numpy scalars and arrays made JSON-safe; NaN/inf -> None.

    Mappings become dicts with string keys, sequences become lists, anything else that
    JSON cannot hold becomes its ``str``.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
