"""assay: data-centric AI. Hold the model fixed and improve the data.

The public API is listed once, in ``__init__.pyi`` (by lifecycle phase): type checkers
read it as this package's stub, and :func:`lazy_loader.attach_stub` reads it here to
build ``__all__`` and load each name from its module on first use (PEP 562), so
``import assay`` (and ``assay --version``) does not import scikit-learn, SciPy or the
store. ``tests/test_public_api.py`` pins the result.
"""

from __future__ import annotations

import typing as _typing

import lazy_loader as _lazy

__version__ = "0.1.0"

_load, _, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ += ["__version__"]


def __getattr__(name: str) -> _typing.Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _load(name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
