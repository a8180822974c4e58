"""The fixed detection recipe: HOG sliding windows, a linear SVM per class, NMS."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.svm import LinearSVC

from assay._boxes import check_boxes
from assay._validation import Integral, Interval, Real, validate_parameter_constraints
from assay.exceptions import InputError
from assay.train.detect._hog import Window, window_for
from assay.train.detect._images import Images, Loaded, as_mapping, load_image
from assay.train.detect._nms import non_max_suppression
from assay.train.detect._scan import Candidates, pyramid, scan
from assay.train.detect._train import (
    Mined,
    apply_offsets,
    candidate_features,
    mine,
    positives,
    random_negatives,
)

_COLUMNS = ["image", "label", "x", "y", "w", "h", "score"]
# Candidates per class and image that go into NMS (the pairwise IoU is n x n).
_PRE_NMS = 1000
# Box regression needs this many examples; fewer keep the windows as they are.
_MIN_REGRESSION = 20
# Caps on a class's positive boxes and regression examples: dense classes (blood cells)
# have thousands, and more adds training time, not accuracy.
_MAX_BOXES = 1000
_MAX_REGRESSION = 3000


class HogDetector:
    """A CPU object detector in minutes: HOG windows, linear SVMs, hard negatives, NMS.

    Per class, the window's aspect is the median aspect of the class's training boxes
    and the image pyramid spans their sizes. Positives are the boxes (and their mirror
    images) resized to the window; negatives are random background windows, then one
    round of hard negatives (the background windows the first SVM scores highest).
    Prediction scores every window of the pyramid and keeps the best after per-class
    non-maximum suppression.

    Parameters
    ----------
    max_side : int, default 240
        Images are shrunk so their longest side is at most this many pixels (speed);
        an int >= 32.
    cell : int, default 8
        Pixels per HOG cell; an int >= 2.
    window_cells : int, default 40
        Cells in a window (its area in cells; the aspect comes from the boxes); an
        int >= 9 (a window is at least 3 x 3 cells).
    max_scale : float, default 2.0
        Largest upscaling of an image, for small boxes; a number >= 1.
    C : float, default 0.1
        The linear SVM's regularisation (smaller = stronger); a number > 0.
    negatives_per_image : int, default 15
        Random background windows per training image; an int >= 1.
    hard_negatives_per_image : int, default 15
        Mined background windows (the ones the first SVM scores highest) per training
        image; an int >= 0 (0 skips nothing but adds none).
    nms_iou : float, default 0.3
        Overlapping predictions of a class above this IoU are suppressed; in (0, 1].
    max_detections : int, default 100
        Predictions kept per image (over all classes); an int >= 1.
    random_state : int, default 0
        Seed of the random negatives; an int >= 0.
    memory : dict or None, default None
        A dict the caller keeps to reuse HOG pyramids of image files across fits and
        predictions (benchmarks); None computes them afresh.

    The parameters are checked when :meth:`fit` or :meth:`predict` runs
    (scikit-learn's convention: the constructor only stores them); a bad one raises
    :class:`~assay.exceptions.InputError` naming it.

    Attributes
    ----------
    classes_ : list
        Classes seen in fit.
    windows_ : dict of class to Window
    coef_ : dict of class to ndarray, shape (n_features,)
    intercept_ : dict of class to float
    """

    #: Checked by :meth:`fit` and :meth:`predict`.
    _parameter_constraints: dict[str, list[Any]] = {  # noqa: RUF012 - read only
        "max_side": [Interval(Integral, 32, None)],
        "cell": [Interval(Integral, 2, None)],
        "window_cells": [Interval(Integral, 9, None)],
        "max_scale": [Interval(Real, 1.0, None)],
        "C": [Interval(Real, 0.0, None, closed="neither")],
        "negatives_per_image": [Interval(Integral, 1, None)],
        "hard_negatives_per_image": [Interval(Integral, 0, None)],
        "nms_iou": [Interval(Real, 0.0, 1.0, closed="right")],
        "max_detections": [Interval(Integral, 1, None)],
        "random_state": [Interval(Integral, 0, None)],
        "memory": [dict, None],
    }

    def __init__(
        self,
        *,
        max_side: int = 240,
        cell: int = 8,
        window_cells: int = 40,
        max_scale: float = 2.0,
        C: float = 0.1,
        negatives_per_image: int = 15,
        hard_negatives_per_image: int = 15,
        nms_iou: float = 0.3,
        max_detections: int = 100,
        random_state: int = 0,
        memory: dict[Any, np.ndarray] | None = None,
    ) -> None:
        self.max_side = max_side
        self.cell = cell
        self.window_cells = window_cells
        self.max_scale = max_scale
        self.C = C
        self.negatives_per_image = negatives_per_image
        self.hard_negatives_per_image = hard_negatives_per_image
        self.nms_iou = nms_iou
        self.max_detections = max_detections
        self.random_state = random_state
        self.memory = memory

    def fit(self, images: Images, boxes: pd.DataFrame) -> HogDetector:
        """Learn one window classifier per class.

        Parameters
        ----------
        images : mapping of image id to path or array, or list of paths
            Every image of ``boxes`` (more images serve as background only). A list of
            paths is keyed by file name.
        boxes : DataFrame, shape (n_boxes, >= 6)
            A boxes frame (``image, label, x, y, w, h`` in the original pixels).

        Returns
        -------
        HogDetector
            self, fitted.
        """
        self._check_params("HogDetector.fit")
        checked = _checked_training_boxes(boxes, as_mapping(images))
        table = as_mapping(images)
        loaded = {i: load_image(i, table[i], self.max_side) for i in table}
        rng = np.random.default_rng(self.random_state)
        self.classes_ = sorted(checked["label"].unique().tolist(), key=str)
        self.windows_: dict[Any, Window] = {}
        self.coef_: dict[Any, np.ndarray] = {}
        self.intercept_: dict[Any, float] = {}
        self.regressors_: dict[Any, Ridge | None] = {}
        # Grids are computed once per image and scale for every class and both rounds.
        memory = self.memory if self.memory is not None else {}
        for label in self.classes_:
            self._fit_class(label, loaded, checked[checked["label"] == label], rng, memory)
        return self

    def _check_params(self, caller: str) -> None:
        params = {k: getattr(self, k) for k in self._parameter_constraints}
        validate_parameter_constraints(self._parameter_constraints, params, caller)

    def _fit_class(
        self,
        label: Any,
        loaded: dict[Any, Loaded],
        boxes: pd.DataFrame,
        rng: np.random.Generator,
        memory: dict[Any, np.ndarray],
    ) -> None:
        ids = list(loaded)
        by_image = boxes.groupby("image", sort=False)[["x", "y", "w", "h"]]
        scaled = {i: g.to_numpy(float) * loaded[i].factor for i, g in by_image}
        per_image = [scaled.get(i, np.zeros((0, 4))) for i in ids]
        allboxes = np.concatenate(per_image)
        window = window_for(
            allboxes[:, 2],
            allboxes[:, 3],
            cells=self.window_cells,
            cell=self.cell,
            max_scale=self.max_scale,
        )
        exps = set(window.scale_exponents)
        pos = positives([loaded[i] for i in ids], _at_most(per_image, _MAX_BOXES, rng), window)
        neg = [
            random_negatives(
                pyramid(loaded[i], exps, self.cell, memory),
                window,
                b,
                self.negatives_per_image,
                rng,
            )
            for i, b in zip(ids, per_image, strict=True)
        ]
        svm = self._svm(pos, np.concatenate(neg))
        coef, intercept = svm.coef_[0], float(svm.intercept_[0])
        mined = [
            mine(
                pyramid(loaded[i], exps, self.cell, memory),
                window,
                coef,
                intercept,
                b,
                self.hard_negatives_per_image,
            )
            for i, b in zip(ids, per_image, strict=True)
        ]
        svm = self._svm(pos, np.concatenate(neg + [m.negatives for m in mined]))
        self.windows_[label] = window
        self.coef_[label] = svm.coef_[0].astype(np.float32)
        self.intercept_[label] = float(svm.intercept_[0])
        self.regressors_[label] = _regressor(mined, rng)

    def _svm(self, pos: np.ndarray, neg: np.ndarray) -> LinearSVC:
        X = np.concatenate([pos, neg])
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        return LinearSVC(C=self.C, dual=False, max_iter=5000, random_state=self.random_state).fit(
            X, y
        )

    def _regress(
        self, label: Any, grids: dict[int, np.ndarray], cand: Candidates, keep: np.ndarray
    ) -> np.ndarray:
        """The kept windows moved by the class's box regression, shape (len(keep), 4)."""
        regressor = self.regressors_[label]
        if regressor is None or len(keep) == 0:
            return cand.boxes[keep]
        feats = candidate_features(grids, self.windows_[label], cand, keep)
        return apply_offsets(cand.boxes[keep], regressor.predict(feats))

    def predict(self, images: Images) -> pd.DataFrame:
        """Boxes found in each image, best first.

        Parameters
        ----------
        images : mapping of image id to path or array, or list of paths
            The images to search (a list of paths is keyed by file name).

        Returns
        -------
        DataFrame, shape (n_predictions, 7)
            ``image, label, x, y, w, h, score`` in the original pixels; ``score`` is the
            SVM's decision value (comparable within a class).
        """
        if not hasattr(self, "coef_"):
            raise InputError("HogDetector is not fitted; call fit(images, boxes) first")
        self._check_params("HogDetector.predict")
        table = as_mapping(images)
        exps = set().union(*(w.scale_exponents for w in self.windows_.values()))
        frames = [self._predict_one(i, load_image(i, table[i], self.max_side), exps) for i in table]
        if not frames:
            return pd.DataFrame(columns=_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    def _predict_one(self, image_id: Any, image: Loaded, exps: set[int]) -> pd.DataFrame:
        grids = pyramid(image, exps, self.cell, self.memory)
        parts = []
        for label in self.classes_:
            cand = scan(
                grids,
                self.windows_[label],
                self.coef_[label],
                self.intercept_[label],
                top=4 * self.max_detections,
            )
            keep = np.argsort(-cand.scores, kind="stable")[:_PRE_NMS]
            keep = keep[
                non_max_suppression(
                    cand.boxes[keep],
                    cand.scores[keep],
                    iou_threshold=self.nms_iou,
                    max_keep=self.max_detections,
                )
            ]
            found = self._regress(label, grids, cand, keep)
            frame = pd.DataFrame(found / image.factor, columns=["x", "y", "w", "h"])
            frame.insert(0, "label", label)
            frame["score"] = cand.scores[keep].astype(float)
            parts.append(frame)
        out = pd.concat(parts, ignore_index=True).sort_values("score", ascending=False)
        out.insert(0, "image", image_id)
        return out.head(self.max_detections)[_COLUMNS].reset_index(drop=True)


def _regressor(mined: list[Mined], rng: np.random.Generator) -> Ridge | None:
    """Ridge from window features to box offsets (R-CNN's box regression), if learnable."""
    X = np.concatenate([m.near for m in mined])
    if len(X) < _MIN_REGRESSION:
        return None
    rows = rng.permutation(len(X))[:_MAX_REGRESSION]
    y = np.concatenate([m.offsets for m in mined])
    return Ridge(alpha=10.0, solver="cholesky").fit(X[rows], y[rows])


def _at_most(per_image: list[np.ndarray], limit: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A random subset of ``limit`` boxes over all images (all of them if fewer)."""
    sizes = [len(b) for b in per_image]
    if sum(sizes) <= limit:
        return per_image
    chosen = np.zeros(sum(sizes), dtype=bool)
    chosen[rng.choice(sum(sizes), size=limit, replace=False)] = True
    parts = np.split(chosen, np.cumsum(sizes)[:-1])
    return [b[keep] for b, keep in zip(per_image, parts, strict=True)]


def _checked_training_boxes(boxes: pd.DataFrame, images: dict[Any, Any]) -> pd.DataFrame:
    checked = check_boxes(boxes, where="boxes")
    if checked.empty:
        raise InputError(
            "boxes has no rows; the detector learns from at least one box per class "
            "(columns image, label, x, y, w, h)"
        )
    missing = ~checked["image"].isin(list(images))
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise InputError(
            f"boxes row {row}: image {checked['image'].iloc[row]!r} is not among the "
            f"{len(images)} images given to fit; pass it or drop its boxes"
        )
    return checked
