"""assay: data-centric AI toolkit."""

from __future__ import annotations

from assay.exceptions import AssayError, ConflictError, InputError, NotFoundError, StoreError

__version__ = "0.1.0"

__all__ = [
    "AssayError",
    "ConflictError",
    "InputError",
    "NotFoundError",
    "StoreError",
    "__version__",
]
