"""Augment a slice of a dataset: new rows with provenance, never evaluation rows.

Modules: ``_augment`` (:func:`augment`), one per modality (``_tabular``, ``_text``,
``_image``, ``_audio``) and ``_slice`` (the slice language: column comparisons).
"""

from __future__ import annotations

from assay.train.augment._augment import (
    MAX_FACTOR,
    MODALITIES,
    PROVENANCE_COLUMNS,
    augment,
    check_factor,
    choose_parents,
)

__all__ = ["MAX_FACTOR", "MODALITIES", "PROVENANCE_COLUMNS", "augment", "check_factor", "choose_parents"]
