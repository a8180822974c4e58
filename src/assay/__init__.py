"""assay: data-centric AI. Hold the model fixed and improve the data.

The public API, by lifecycle phase. Everything here is pinned by
``tests/test_public_api.py``.
"""

from __future__ import annotations

from assay.exceptions import AssayError, ConflictError, InputError, NotFoundError, StoreError
from assay.store.datasets import DatasetVersion
from assay.store.diff import DatasetDiff
from assay.store.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "AssayError",
    "ConflictError",
    "DatasetDiff",
    "DatasetVersion",
    "InputError",
    "NotFoundError",
    "StoreError",
    "Workspace",
    "__version__",
]
