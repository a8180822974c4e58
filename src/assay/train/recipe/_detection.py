"""The fixed detection recipe: :class:`assay.train.detect.HogDetector` as a recipe.

``--recipe hog`` (or ``assay recipe add NAME hog``) names the CPU detector that
``benchmarks/detection_curve.py`` draws slide 19 with, at its default parameters: HOG
windows, one linear SVM per class, one round of hard negatives, NMS. Its spec records
every parameter, so the hash pins the model. A YAML recipe may name it with other
parameters::

    detector: hog
    params: {C: 0.05}
    seed: 0

:class:`BoxDetector` gives it the estimator interface the experiments and learning
curves use: ``fit(X, y)`` with ``X`` a one-column table of image paths (``path``,
:func:`assay.store.features.model_inputs` for a recipe that :attr:`reads_media`) and
``y`` one list of boxes per image; ``predict(X)`` returns one list of scored boxes
(``{"label", "x", "y", "w", "h", "score"}``) per image.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from assay.exceptions import InputError
from assay.train.detect import HogDetector

__all__ = ["DETECTORS", "BoxDetector", "detector_spec", "validate_detector_spec"]

#: The built-in detection recipes, by the name a user gives (``--recipe hog``).
DETECTORS = ("hog",)
#: HogDetector's parameters a recipe may set (``random_state`` is the recipe's seed).
_PARAMS = (
    "max_side",
    "cell",
    "window_cells",
    "max_scale",
    "C",
    "negatives_per_image",
    "hard_negatives_per_image",
    "nms_iou",
    "max_detections",
)
_DETECTOR_KEYS = ("name", "detector", "params", "seed")


def _defaults() -> dict[str, Any]:
    detector = HogDetector()
    return {k: getattr(detector, k) for k in _PARAMS}


def detector_spec(name: str, *, seed: int = 0) -> dict[str, Any] | None:
    """The spec of the built-in detection recipe ``name`` (None: not one of :data:`DETECTORS`)."""
    if name not in DETECTORS:
        return None
    return {
        "kind": "detector",
        "name": name,
        "detector": name,
        "params": _defaults(),
        "seed": int(seed),
    }


def validate_detector_spec(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A detection recipe mapping (``detector``, ``params``, ``name``, ``seed``) checked
    and completed with the default parameters.

    Raises
    ------
    InputError
        An unknown detector, key or parameter, or a parameter HogDetector refuses.
    """
    unknown = sorted(set(spec) - set(_DETECTOR_KEYS) - {"kind"})
    if unknown:
        raise InputError(
            f"{where}: unknown key {unknown[0]!r} in a detection recipe; the keys "
            f"are {', '.join(_DETECTOR_KEYS)}."
        )
    name = str(spec.get("detector"))
    if name not in DETECTORS:
        raise InputError(
            f"{where}: no built-in detector {name!r}; the detectors are {', '.join(DETECTORS)}."
        )
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise InputError(f"{where}: params must be a mapping of HogDetector parameters.")
    bad = sorted(set(map(str, params)) - set(_PARAMS))
    if bad:
        raise InputError(
            f"{where}: {bad[0]!r} is not a parameter of the {name} detector; "
            f"valid: {', '.join(_PARAMS)}."
        )
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"{where}: seed must be an integer >= 0; got {seed!r}.")
    full = {**_defaults(), **{str(k): v for k, v in params.items()}}
    HogDetector(**full, random_state=seed)._check_params(where)
    return {
        "kind": "detector",
        "name": str(spec.get("name") or name),
        "detector": name,
        "params": full,
        "seed": seed,
    }


def _paths(X: Any) -> list[str]:
    """Image paths from the recipe's input table (column ``path``) or a sequence."""
    column = X["path"] if isinstance(X, pd.DataFrame) else X
    return [str(p) for p in column]


class BoxDetector(BaseEstimator):  # type: ignore[misc]
    """The fixed detector as an estimator: image paths in, scored boxes out.

    Parameters
    ----------
    params : dict, optional
        HogDetector parameters (its defaults when missing).
    random_state : int, default 0
        Seed of the detector's random background windows.
    """

    def __init__(self, params: dict[str, Any] | None = None, random_state: int = 0) -> None:
        self.params = params
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> BoxDetector:
        """Fit the detector on images ``X`` (paths) and their boxes ``y`` (one list each).

        Raises
        ------
        InputError
            No box to learn from, or an image cannot be read.
        """
        from assay.tasks.detection import boxes_frame

        paths = _paths(X)
        images = {str(i): p for i, p in enumerate(paths)}
        boxes = boxes_frame(list(images), list(y))
        self.detector_ = HogDetector(**(self.params or {}), random_state=self.random_state)
        self.detector_.fit(images, boxes)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """One list of scored boxes per image, best first (object array of shape (n,))."""
        if not hasattr(self, "detector_"):
            raise InputError("BoxDetector is not fitted; call fit(X, y) first.")
        paths = _paths(X)
        found = self.detector_.predict({str(i): p for i, p in enumerate(paths)})
        out = np.empty(len(paths), dtype=object)
        for i in range(len(paths)):
            out[i] = []
        for image, group in found.groupby("image", sort=False):
            out[int(str(image))] = [
                {
                    "label": str(r["label"]),
                    **{k: float(r[k]) for k in ("x", "y", "w", "h", "score")},
                }
                for r in group.to_dict("records")
            ]
        return out
