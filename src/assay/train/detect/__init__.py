"""The fixed detection recipe: a CPU detector that trains in minutes.

:class:`HogDetector` (``_detector``) scans a multi-scale HOG pyramid (``_hog``,
``_scan``) with one linear SVM per class, trained on the boxes, random background and
one round of hard negatives (``_train``); :func:`non_max_suppression` (``_nms``) keeps
the best of overlapping windows. Images come as paths or arrays (``_images``); boxes
as the boxes frame of :mod:`assay._boxes`.
"""

from __future__ import annotations

from assay.train.detect._detector import HogDetector
from assay.train.detect._nms import non_max_suppression

__all__ = ["HogDetector", "non_max_suppression"]
