"""Error analysis by slice: discovered slices, the tag table and what to do about each.

Modules: ``_slices`` (:func:`find_slices`), ``sliceline`` (the SliceLine search),
``_embedding`` (clusters of embeddings), ``_table`` (:func:`slice_table`),
``_recommend`` (:func:`recommend`) and ``_stats`` (p-values, FDR adjustment).
"""

from __future__ import annotations

from assay.train.slices._recommend import Recommendations, recommend
from assay.train.slices._slices import SliceReport, find_slices
from assay.train.slices._table import SliceTable, slice_table

__all__ = ["Recommendations", "SliceReport", "SliceTable", "find_slices", "recommend", "slice_table"]
