"""How far to trust a label check's flags: expected precision and a weak-model warning.

The flags of a label check are only as good as the out-of-sample probabilities behind
them. Two numbers say how good, from the probabilities alone (no ground truth):

* **expected precision** of the flagged set: the mean, over flagged examples, of the
  probability that the given label is wrong, ``1 - p(given | x)``;
* **estimated noise rate**: the off-diagonal share of the calibrated confident joint
  (:func:`assay.train.labels.estimate_noise`).

And one warning: the model is **too weak** for its ranking to be useful when its
cross-validated accuracy on the given labels lifts less than half of the way from
chance (the largest class share) to 1, or when fewer than half of the flags are
expected to be real. On the efficacy grid (``benchmarks/efficacy_grid.py``) the UCI
sentiment sentences with TF-IDF + logistic regression are such a case: accuracy 0.74 on
clean labels, 26-29% of the flags real at 12% noise, and dropping them lowered accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.train.labels._issues import estimate_noise

__all__ = ["MIN_LIFT", "MIN_PRECISION", "flag_trust", "trust_line"]

#: Below this lift of the cross-validated accuracy over chance the model is too weak.
MIN_LIFT = 0.5
#: Below this expected precision most flags are expected to be correct labels.
MIN_PRECISION = 0.5


def flag_trust(codes: np.ndarray, probs: np.ndarray, flags: np.ndarray) -> dict[str, Any]:
    """Expected precision of the flags, estimated noise rate, and whether the model is weak.

    Parameters
    ----------
    codes : ndarray of shape (n_samples,)
        Given labels as class codes (columns of ``probs``).
    probs : ndarray of shape (n_samples, n_classes)
        Out-of-sample probabilities.
    flags : ndarray of shape (n_samples,), bool
        The flagged examples.

    Returns
    -------
    dict
        ``expected_precision`` (NaN without flags), ``estimated_noise_rate``,
        ``cv_accuracy`` (argmax against the given labels), ``chance_accuracy`` (largest
        class share) and ``weak_model`` (bool).
    """
    codes = np.asarray(codes, dtype=np.int64)
    flags = np.asarray(flags, dtype=bool)
    k = probs.shape[1]
    wrong = 1.0 - probs[np.arange(codes.size), codes]
    precision = float(wrong[flags].mean()) if flags.any() else float("nan")
    joint = estimate_noise(codes, probs, classes=list(range(k))).confident_joint
    noise = float(1.0 - np.trace(joint) / max(joint.sum(), 1))
    accuracy = float((probs.argmax(axis=1) == codes).mean())
    chance = float(np.bincount(codes, minlength=k).max() / max(codes.size, 1))
    lift = (accuracy - chance) / (1.0 - chance) if chance < 1 else 0.0
    weak = lift < MIN_LIFT or (flags.any() and precision < MIN_PRECISION)
    return {
        "expected_precision": precision,
        "estimated_noise_rate": noise,
        "cv_accuracy": accuracy,
        "chance_accuracy": chance,
        "weak_model": bool(weak),
    }


def trust_line(summary: dict[str, Any]) -> str | None:
    """One plain line on how far to trust the flags (None without the numbers)."""
    if "expected_precision" not in summary:
        return None
    count, precision = int(summary.get("count", 0)), summary["expected_precision"]
    head = (
        f"about {precision:.0%} of the {count} flagged labels are expected to be wrong"
        if count
        else "no label flagged"
    )
    line = f"{head} (estimated noise rate {summary['estimated_noise_rate']:.0%})."
    if summary["weak_model"]:
        line += (
            f" Warning: the model is too weak for this ranking (cross-validated accuracy "
            f"{summary['cv_accuracy']:.2f}, chance {summary['chance_accuracy']:.2f}): "
            "review before dropping or relabelling."
        )
    return line
