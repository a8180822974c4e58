"""The modality plugin interface and its registry.

A modality knows how to load its items from files, turn them into a feature matrix
(n_samples, n_features) for the audit's checks and models, and render one item as HTML for
reports. Users who already have embeddings pass them to the audit directly and skip
``featurize``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assay.exceptions import InputError

__all__ = [
    "Modality",
    "available_modalities",
    "get_modality",
    "item_renderer",
    "register_modality",
]


@runtime_checkable
class Modality(Protocol):
    """What a modality plugin provides.

    Attributes
    ----------
    name : str
        The registry name (``"tabular"``, ``"image"``, ...).
    """

    name: str

    def load(self, paths: Sequence[str | Path]) -> list[Any]:
        """Read one item per path."""
        ...

    def featurize(self, items: Any) -> np.ndarray:
        """Return features of shape (n_items, n_features), float64, finite."""
        ...

    def render_html(self, item: Any) -> str:
        """Return an HTML fragment showing one item; user content is escaped."""
        ...


_REGISTRY: dict[str, Callable[..., Modality]] = {}


def register_modality(name: str, factory: Callable[..., Modality]) -> None:
    """Register a modality class (or any factory taking keyword parameters) under ``name``."""
    if not name.isidentifier():
        raise InputError(f"a modality name must be an identifier; got {name!r}.")
    _REGISTRY[name] = factory


def available_modalities() -> list[str]:
    """The names of the registered modalities."""
    return list(_REGISTRY)


def get_modality(name: str, **params: Any) -> Modality:
    """Instantiate the modality ``name`` with ``params`` (e.g. ``method="tfidf"``)."""
    if name not in _REGISTRY:
        raise InputError(
            f"unknown modality {name!r}; the modalities are: {', '.join(_REGISTRY)}. "
            "Register new ones with assay.modalities.register_modality."
        )
    return _REGISTRY[name](**params)


def item_renderer(modality: Modality | str, items: Sequence[Any]) -> Callable[[int], str]:
    """A ``render_item(position) -> html`` hook for reports, over a sequence of items.

    Parameters
    ----------
    modality : Modality or str
        The modality (or its registry name) whose ``render_html`` draws each item.
    items : sequence
        The items (paths, texts, rows) in the audited data's row order.
    """
    mod = get_modality(modality) if isinstance(modality, str) else modality

    def render(position: int) -> str:
        return mod.render_html(items[position])

    return render
