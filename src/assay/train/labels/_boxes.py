"""Label issues of object-detection boxes, found from a model's predictions.

:func:`find_box_issues` compares the given boxes with a detector's out-of-sample
predictions (both boxes frames, see :mod:`assay._boxes`) and scores four kinds of error:

* **overlooked**: a confident prediction with no label box (a missing box);
* **badly_located**: a label box whose same-class prediction overlaps it much less
  than predictions overlap correct boxes;
* **swapped**: a label box that a confident prediction of *another* class covers
  (IoU >= 0.5) while no confident prediction of its own class does;
* **spurious**: a label box that no confident prediction of any class touches.

Every score is a probability-like ``label_quality`` in [0, 1] with the same meaning
(0.5 = as likely wrong as right), so the four kinds rank together. The thresholds come
from the data (``attrs["fit"]``, a :class:`BoxIssueFit`):

1. **Confidence.** A prediction's raw ``score`` is replaced by ``p``, the share of
   predictions with that score that find a label box of their class (IoU >= 0.5,
   one-to-one): an isotonic fit of "matched" on the score, so ``p`` is the detector's
   own precision at that score on this data. An unmatched prediction is an
   overlooked object when ``p > 0.5``: the score above which most predictions are
   real objects, estimated from the matched predictions' score distribution
   (``overlooked_score``).
2. **Location.** The IoU of each label box with its same-class partner (Hungarian
   matching per image and class, :func:`assay._boxes.match_boxes`), where the partner
   is confident (``p > 0.5``), goes into a two-part mixture fitted by EM: correct boxes
   a normal on the logit of the IoU, badly located boxes an IoU uniform on [0.1, 1].
   The error component's posterior is the probability that the box is badly located;
   ``badloc_iou`` is the IoU below which it passes one half.
3. ``label_quality`` per kind: badly located ``1 - posterior``; swapped ``1 - p_other *
   (1 - p_same)`` (the best other-class prediction at IoU >= 0.5, and the same-class
   partner if it reaches IoU 0.5); spurious ``u + (1 - u) * p_near`` with ``p_near``
   the largest ``p * min(1, iou / 0.5)`` of any prediction overlapping the box (IoU >=
   0.1; a prediction that only grazes the box supports it less): a box no
   prediction touches is a detector miss or a spurious box, which the box alone cannot
   tell apart, so it is flagged but ranks after every issue a confident prediction
   supports. The image can tell them apart a little: ``u`` is 0.45 where the detector
   found something confident in the image (it looked there and did not see this box)
   and 0.475 where it found nothing confident (blind there: a miss is likelier);
   overlooked ``1 - p * (1 - iou / 0.5)`` with ``iou`` its largest overlap with any
   label box. A label box takes the lowest of its three, and is an issue below 0.5.

Fixed by convention rather than data: IoU 0.5 for "the same object" (COCO's AP50), 0.1
for "about this box" and 0.45/0.475 for a box no prediction touches. Measured against
cleanlab's ``object_detection`` in
``benchmarks/box_issues.py`` (results in ``benchmarks/results/box_issues.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from assay._boxes import candidate_pairs, check_boxes, iou_rows, match_boxes
from assay.exceptions import InputError
from assay.train.labels._regression import MAD_SCALE

__all__ = ["BOX_ISSUE_KINDS", "BoxIssueFit", "box_issues_per_image", "find_box_issues"]

#: The kinds of box label issue, in the order of the per-image counts.
BOX_ISSUE_KINDS = ("overlooked", "badly_located", "swapped", "spurious")
#: IoU at which two boxes are the same object.
SAME_IOU = 0.5
#: IoU at which a prediction is about a label box at all.
NEAR_IOU = 0.1
#: Quality of a label box that no prediction touches: a detector miss and a spurious box
#: look the same there, so such a box is flagged but ranks after every issue that a
#: confident prediction supports.
UNSEEN_QUALITY = 0.45
#: Quality of such a box in an image where the detector found nothing confident: there
#: a miss is the likelier story, so the box ranks after the untouched boxes of images
#: the detector did see.
UNSEEN_BLIND_QUALITY = 0.475
_GEOMETRY = ["x", "y", "w", "h"]
_EPS = 1e-4


@dataclass(frozen=True)
class BoxIssueFit:
    """The thresholds :func:`find_box_issues` estimated (the table's ``attrs["fit"]``).

    Attributes
    ----------
    overlooked_score : float
        Raw score above which an unmatched prediction is an overlooked object
        (``inf`` when no score reaches a precision of one half).
    badloc_iou : float
        IoU with a confident same-class partner below which a label box is badly
        located (0 when the IoUs show no error component).
    badloc_share : float
        The mixture's share of badly located boxes among the partnered ones.
    precision : float
        Share of all predictions that matched a label box of their class.
    """

    overlooked_score: float
    badloc_iou: float
    badloc_share: float
    precision: float


@dataclass(frozen=True)
class _Frames:
    """Checked labels and predictions with image and class codes shared by both."""

    lab: pd.DataFrame
    pred: pd.DataFrame
    lab_image: np.ndarray
    pred_image: np.ndarray
    lab_class: np.ndarray
    pred_class: np.ndarray


def find_box_issues(
    labels: pd.DataFrame,
    predictions: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Flag overlooked, badly located, swapped and spurious boxes, ranked by suspicion.

    See the module docstring for the scores and how their thresholds are estimated.

    Parameters
    ----------
    labels : DataFrame, shape (n_boxes, >= 6)
        The given boxes: ``image``, ``label``, ``x``, ``y``, ``w``, ``h``.
    predictions : DataFrame, shape (n_predictions, >= 7)
        A detector's out-of-sample boxes with the same columns plus ``score``
        (higher = more confident), kept down to a low score (e.g. 0.05).
    classes : sequence, optional
        The known classes; a box of another class is refused.

    Returns
    -------
    DataFrame, shape (n_boxes + n_overlooked_candidates, 18)
        One row per label box and per unmatched prediction that is more likely an
        object than not, sorted by ``label_quality`` (most suspicious first):
        ``image``; ``issue`` (one of :data:`BOX_ISSUE_KINDS`, or ``""``);
        ``is_label_issue``; ``label_quality`` (in [0, 1], lower = more suspicious);
        ``given_label``, ``given_x/y/w/h`` (the label box; empty for an overlooked
        object); ``suggested_label``, ``suggested_x/y/w/h`` (the prediction that
        supports the verdict; empty for a spurious box: delete it); ``score`` (that
        prediction's score); ``iou`` (between the given and suggested box);
        ``label_row`` and ``prediction_row`` (row positions in ``labels`` and
        ``predictions``, -1 for none). ``attrs["fit"]`` holds the :class:`BoxIssueFit`.

    Raises
    ------
    InputError
        A frame that is not a boxes frame (see :func:`assay._boxes.check_boxes`), no
        label boxes or no predictions, or a class outside ``classes``.
    """
    frames = _prepare(labels, predictions, classes)
    partner, partner_iou = _partners(frames)
    p, overlooked_score, precision = _confidence(frames, partner, partner_iou)
    pairs = _image_pairs(frames)
    loc_q, badloc_iou, share = _location_quality(partner, partner_iou, p)
    label_table = _label_rows(frames, pairs, partner, partner_iou, p, loc_q)
    table = pd.concat([label_table, _overlooked_rows(frames, pairs, partner, p)], ignore_index=True)
    table = table.sort_values("label_quality", kind="mergesort", ignore_index=True)
    table.attrs["fit"] = BoxIssueFit(
        overlooked_score=overlooked_score,
        badloc_iou=badloc_iou,
        badloc_share=share,
        precision=precision,
    )
    return table


def _prepare(labels: Any, predictions: Any, classes: Sequence[Any] | None) -> _Frames:
    """Check both frames and code their images and classes jointly."""
    lab = check_boxes(labels, where="labels")
    pred = check_boxes(predictions, where="predictions", extra=("score",))
    for frame, name in ((lab, "labels"), (pred, "predictions")):
        if len(frame) == 0:
            raise InputError(
                f"{name} has no boxes; finding box issues needs label boxes "
                "and a detector's predictions on the same images"
            )
        if classes is not None:
            _known_classes(frame, classes, name)
    images, _ = pd.factorize(pd.concat([lab["image"], pred["image"]], ignore_index=True))
    codes, _ = pd.factorize(pd.concat([lab["label"], pred["label"]], ignore_index=True))
    n = len(lab)
    return _Frames(lab, pred, images[:n], images[n:], codes[:n], codes[n:])


def _known_classes(frame: pd.DataFrame, classes: Sequence[Any], where: str) -> None:
    unknown = np.flatnonzero(~frame["label"].isin(list(classes)).to_numpy())
    if unknown.size:
        row = int(unknown[0])
        raise InputError(
            f"{where} row {row} (image {frame['image'].iloc[row]!r}): class "
            f"{frame['label'].iloc[row]!r} is not among classes {list(classes)!r}; fix the "
            f"class or add it to classes ({unknown.size} such box(es))"
        )


def _partners(frames: _Frames) -> tuple[np.ndarray, np.ndarray]:
    """Each label box's same-class prediction (one to one, IoU >= 0.1), -1 for none."""
    m = match_boxes(frames.lab, frames.pred, by_label=True, min_iou=NEAR_IOU)
    pair = (m.left >= 0) & (m.right >= 0)
    partner = np.full(len(frames.lab), -1, dtype=np.int64)
    partner_iou = np.zeros(len(frames.lab))
    partner[m.left[pair]] = m.right[pair]
    partner_iou[m.left[pair]] = m.iou[pair]
    return partner, partner_iou


def _confidence(
    frames: _Frames, partner: np.ndarray, partner_iou: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Each prediction's precision at its score, and the score where it passes 0.5.

    Returns
    -------
    p : ndarray, shape (n_predictions,)
        Isotonic fit of "matched to a label box of its class at IoU >= 0.5" on the score.
    overlooked_score : float
        The lowest score with ``p > 0.5`` (``inf`` when none).
    precision : float
        The share of matched predictions.
    """
    score = frames.pred["score"].to_numpy()
    matched = np.zeros(len(score))
    good = partner[(partner >= 0) & (partner_iou >= SAME_IOU)]
    matched[good] = 1.0
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    p = iso.fit(score, matched).predict(score)
    above = score[p > 0.5]
    overlooked = float(above.min()) if above.size else float("inf")
    return p, overlooked, float(matched.mean())


def _image_pairs(frames: _Frames) -> pd.DataFrame:
    """Every (label box, prediction) pair of the same image with IoU >= 0.1.

    Returns
    -------
    DataFrame, shape (n_pairs, 3)
        ``label`` and ``pred`` row positions and their ``iou``.
    """
    li, pi = candidate_pairs(frames.lab_image, frames.pred_image)
    lg = frames.lab[_GEOMETRY].to_numpy()
    pg = frames.pred[_GEOMETRY].to_numpy()
    iou = iou_rows(lg[li], pg[pi])
    keep = iou >= NEAR_IOU
    return pd.DataFrame({"label": li[keep], "pred": pi[keep], "iou": iou[keep]})


def _location_quality(
    partner: np.ndarray, partner_iou: np.ndarray, p: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Badly-located quality of every label box from its confident partner's IoU.

    Returns
    -------
    quality : ndarray, shape (n_boxes,)
        ``1 - P(badly located)``; 1 for a box without a confident partner.
    badloc_iou : float
        The IoU below which the error component is the more likely one.
    share : float
        The mixture's error share.
    """
    quality = np.ones(partner.shape[0])
    rows = np.flatnonzero((partner >= 0) & (p[np.maximum(partner, 0)] > 0.5))
    if rows.shape[0] < 10:
        return quality, 0.0, 0.0
    posterior, share = _iou_mixture(partner_iou[rows])
    quality[rows] = 1.0 - posterior
    grid = np.linspace(NEAR_IOU, 1.0, 901)
    grid_post, _ = _iou_mixture(partner_iou[rows], at=grid)
    above = grid[grid_post > 0.5]
    return quality, float(above.max()) if above.size else 0.0, share


def _iou_mixture(
    iou: np.ndarray, *, at: np.ndarray | None = None, n_iter: int = 100
) -> tuple[np.ndarray, float]:
    """Posterior of the error component in a two-part mixture of IoUs, fitted by EM.

    Correct boxes: a normal on the logit of the IoU (started at the median and
    1.4826 MAD). Badly located boxes: IoU uniform on [0.1, 1]. Errors only lower the IoU,
    so the posterior is 0 above the normal's centre.

    Parameters
    ----------
    iou : ndarray, shape (n,)
        IoUs of label boxes with their confident same-class predictions.
    at : ndarray, shape (m,), optional
        IoUs to evaluate the posterior at (default: ``iou``).

    Returns
    -------
    posterior : ndarray, shape (n,) or (m,)
    share : float
        The error component's weight.
    """
    x, jac = _logit(iou), _jacobian(iou)
    mu = float(np.median(x))
    sd = max(MAD_SCALE * float(np.median(np.abs(x - mu))), _EPS)
    pi = 0.1
    for _ in range(n_iter):
        post = _posterior(x, jac, mu, sd, pi)
        pi = float(np.clip(post.mean(), 1e-6, 0.5))
        w = 1.0 - post
        mu = float(np.sum(w * x) / np.sum(w))
        sd = max(float(np.sqrt(np.sum(w * (x - mu) ** 2) / np.sum(w))), _EPS)
    target = iou if at is None else at
    post = _posterior(_logit(target), _jacobian(target), mu, sd, pi)
    return np.where(_logit(target) >= mu, 0.0, post), pi


def _posterior(x: np.ndarray, jac: np.ndarray, mu: float, sd: float, pi: float) -> np.ndarray:
    core = (1 - pi) * np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
    wide = pi * jac / (1.0 - NEAR_IOU)  # uniform IoU density, on the logit scale
    return wide / (wide + core)


def _jacobian(iou: np.ndarray) -> np.ndarray:
    q = np.clip(iou, _EPS, 1 - _EPS)
    return q * (1 - q)


def _logit(iou: np.ndarray) -> np.ndarray:
    q = np.clip(iou, _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def _best_per_label(
    pairs: pd.DataFrame, value: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per label box, the largest ``value`` over ``pairs`` and its prediction (-1, 0)."""
    best = np.zeros(n)
    which = np.full(n, -1, dtype=np.int64)
    if len(pairs):
        li = pairs["label"].to_numpy()
        order = np.lexsort((value, li))
        last = order[np.r_[li[order][1:] != li[order][:-1], True]]
        best[li[last]] = value[last]
        which[li[last]] = pairs["pred"].to_numpy()[last]
    return best, which


def _label_rows(
    frames: _Frames,
    pairs: pd.DataFrame,
    partner: np.ndarray,
    partner_iou: np.ndarray,
    p: np.ndarray,
    loc_q: np.ndarray,
) -> pd.DataFrame:
    """One row per label box: its three qualities, the lowest, and the prediction behind it."""
    n = len(frames.lab)
    li, pi = pairs["label"].to_numpy(), pairs["pred"].to_numpy()
    pair_p = p[pi]
    other = (frames.lab_class[li] != frames.pred_class[pi]) & (pairs["iou"].to_numpy() >= SAME_IOU)
    p_other, other_pred = _best_per_label(pairs[other], pair_p[other], n)
    p_same = np.where((partner >= 0) & (partner_iou >= SAME_IOU), p[partner], 0.0)
    swap_q = 1.0 - p_other * (1.0 - p_same)
    # a prediction that only grazes the box supports it in proportion to its overlap
    support = pair_p * np.minimum(1.0, pairs["iou"].to_numpy() / SAME_IOU)
    near_p, _ = _best_per_label(pairs, support, n)
    unseen = _unseen_quality(frames, p)
    spur_q = unseen + (1.0 - unseen) * near_p
    qualities = np.column_stack([loc_q, swap_q, spur_q])
    kind = np.argmin(qualities, axis=1)
    quality = qualities[np.arange(n), kind]
    flagged = quality < 0.5
    names = np.array(BOX_ISSUE_KINDS[1:], dtype=object)
    suggested = np.select([kind == 1, kind == 2], [other_pred, -1], default=partner)
    return _rows(
        frames, np.arange(n), suggested, quality, flagged, np.where(flagged, names[kind], "")
    )


def _unseen_quality(frames: _Frames, p: np.ndarray) -> np.ndarray:
    """Quality of each label box if no prediction touches it, by what the detector saw.

    A box no prediction touches is a detector miss or a spurious box, and the box alone
    cannot tell them apart. The image can: where the detector found nothing confident
    (no prediction with ``p > 0.5``), it is blind there and a miss is the likelier story
    (quality :data:`UNSEEN_BLIND_QUALITY`); where it confidently found objects, it looked
    at this image, and a box it did not touch is more likely spurious
    (:data:`UNSEEN_QUALITY`). Both stay below 0.5, so such a box is still flagged, and
    still ranks after every issue a confident prediction supports.

    Parameters
    ----------
    frames : _Frames
        The checked labels and predictions.
    p : ndarray, shape (n_predictions,)
        Each prediction's confidence (precision at its score).

    Returns
    -------
    ndarray, shape (n_boxes,)
    """
    n_images = int(max(frames.lab_image.max(initial=-1), frames.pred_image.max(initial=-1))) + 1
    seen = np.bincount(frames.pred_image, weights=(p > 0.5).astype(float), minlength=n_images)
    return np.where(seen[frames.lab_image] > 0, UNSEEN_QUALITY, UNSEEN_BLIND_QUALITY)


def _overlooked_rows(
    frames: _Frames, pairs: pd.DataFrame, partner: np.ndarray, p: np.ndarray
) -> pd.DataFrame:
    """Rows for predictions that partner no label box and are more likely real than not."""
    max_iou = np.zeros(len(frames.pred))
    np.maximum.at(max_iou, pairs["pred"].to_numpy(), pairs["iou"].to_numpy())
    free = np.ones(len(frames.pred), dtype=bool)
    free[partner[partner >= 0]] = False
    rows = np.flatnonzero(free & (max_iou < SAME_IOU) & (p > 0.5))
    quality = 1.0 - p[rows] * (1.0 - max_iou[rows] / SAME_IOU)
    flagged = quality < 0.5
    return _rows(
        frames,
        np.full(rows.shape[0], -1),
        rows,
        quality,
        flagged,
        np.where(flagged, "overlooked", ""),
    )


def _rows(
    frames: _Frames,
    label_row: np.ndarray,
    pred_row: np.ndarray,
    quality: np.ndarray,
    flagged: np.ndarray,
    issue: np.ndarray,
) -> pd.DataFrame:
    """The output table for given label rows and prediction rows (-1 = none)."""
    given = _take(frames.lab, label_row, ["label", *_GEOMETRY])
    suggested = _take(frames.pred, pred_row, ["label", *_GEOMETRY, "score"])
    image = np.where(
        label_row >= 0,
        frames.lab["image"].to_numpy(dtype=object)[np.maximum(label_row, 0)],
        frames.pred["image"].to_numpy(dtype=object)[np.maximum(pred_row, 0)],
    )
    both = (label_row >= 0) & (pred_row >= 0)
    iou = np.full(label_row.shape[0], np.nan)
    iou[both] = iou_rows(
        frames.lab[_GEOMETRY].to_numpy()[label_row[both]],
        frames.pred[_GEOMETRY].to_numpy()[pred_row[both]],
    )
    table = pd.DataFrame(
        {
            "image": image,
            "issue": issue.astype(object),
            "is_label_issue": flagged,
            "label_quality": quality,
            "given_label": given["label"],
            "suggested_label": suggested["label"],
        }
    )
    for c in _GEOMETRY:
        table[f"given_{c}"] = given[c]
    for c in _GEOMETRY:
        table[f"suggested_{c}"] = suggested[c]
    table["score"] = suggested["score"]
    table["iou"] = iou
    table["label_row"] = label_row.astype(np.int64)
    table["prediction_row"] = pred_row.astype(np.int64)
    return table


def _take(frame: pd.DataFrame, rows: np.ndarray, columns: list[str]) -> dict[str, np.ndarray]:
    """``frame[columns]`` at ``rows``, None (labels) or NaN (numbers) where a row is -1."""
    missing = rows < 0
    safe = np.maximum(rows, 0)
    out: dict[str, np.ndarray] = {}
    for c in columns:
        if c == "label":
            values = frame[c].to_numpy(dtype=object)[safe]
            values[missing] = None
        else:
            values = frame[c].to_numpy(dtype=float)[safe]
            values[missing] = np.nan
        out[c] = values
    return out


def box_issues_per_image(issues: pd.DataFrame) -> pd.DataFrame:
    """Per-image review queue from :func:`find_box_issues`'s table.

    Parameters
    ----------
    issues : DataFrame
        The table :func:`find_box_issues` returned.

    Returns
    -------
    DataFrame, shape (n_images, 8)
        Indexed by ``image``, sorted with the most suspicious image first:
        ``image_quality`` (the lowest ``label_quality`` of its rows, in [0, 1]),
        ``n_boxes`` (label boxes), ``n_issues`` and one count column per kind of
        :data:`BOX_ISSUE_KINDS`. Ties in quality go to the image with more issues.

    Raises
    ------
    InputError
        ``issues`` lacks the columns of :func:`find_box_issues`'s table.
    """
    needed = ["image", "issue", "is_label_issue", "label_quality", "label_row"]
    if not isinstance(issues, pd.DataFrame) or any(c not in issues for c in needed):
        raise InputError(
            "box_issues_per_image needs the table find_box_issues returned "
            f"(columns {', '.join(needed)})"
        )
    grouped = issues.groupby("image", sort=False)
    out = pd.DataFrame(
        {
            "image_quality": grouped["label_quality"].min(),
            "n_boxes": (issues["label_row"] >= 0).groupby(issues["image"], sort=False).sum(),
            "n_issues": grouped["is_label_issue"].sum().astype(np.int64),
        }
    )
    counts = pd.crosstab(issues["image"], issues["issue"])
    for kind in BOX_ISSUE_KINDS:
        out[kind] = (
            counts[kind].reindex(out.index, fill_value=0).astype(np.int64) if kind in counts else 0
        )
    out.index.name = "image"
    return out.sort_values(["image_quality", "n_issues"], ascending=[True, False], kind="mergesort")
