"""Recognise Dask collections without importing Dask (an optional dependency).

Every entry point that accepts a Dask DataFrame or array (import, drift, agreement,
consensus, label issues) asks these, so that the in-memory path never pays Dask's
import time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_dask_collection", "is_dask_frame"]


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame."""
    return type(data).__module__.startswith("dask") and hasattr(data, "npartitions")


def is_dask_collection(data: Any) -> bool:
    """Whether ``data`` is any Dask collection (array, Series or DataFrame)."""
    return type(data).__module__.startswith("dask") and hasattr(data, "dask")
