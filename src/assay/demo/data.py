"""The demo's data: scikit-learn's digits as a tabular dataset with tags and a split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

__all__ = ["PIXELS", "digits_frame"]

PIXELS = [f"pixel_{i}" for i in range(64)]


def digits_frame(seed: int = 0) -> pd.DataFrame:
    """The 1,797 digits: 64 pixel columns (0-16), ``label``, tags and ``split``.

    Tags are real properties of each image, for error analysis: ``ink`` (light /
    medium / heavy, by total intensity tertile) and ``width`` (narrow / wide, by the
    number of non-empty pixel columns).
    """
    digits = load_digits()
    frame = pd.DataFrame(digits.data, columns=PIXELS)
    images = digits.images
    ink = images.sum(axis=(1, 2))
    frame["ink"] = pd.qcut(ink, 3, labels=["light", "medium", "heavy"]).astype(str)
    used_columns = (images.sum(axis=1) > 0).sum(axis=1)
    frame["width"] = np.where(used_columns >= np.median(used_columns), "wide", "narrow")
    frame["label"] = digits.target.astype(np.int64)
    train, _ = train_test_split(
        np.arange(len(frame)), test_size=0.3, stratify=digits.target, random_state=seed
    )
    frame["split"] = "test"
    frame.loc[train, "split"] = "train"
    return frame


def inject_label_noise(
    labels: pd.Series, *, rate: float, seed: int
) -> tuple[pd.Series, np.ndarray]:
    """Class-conditional label noise: each class's flips go to one or two confusable classes.

    Returns the noisy labels and the boolean mask of flipped rows. The flips follow a
    fixed confusion pattern (e.g. 1 -> 7, 3 -> 8, 4 -> 9), the way real labelers err.
    """
    confusable = {
        0: [6],
        1: [7],
        2: [3],
        3: [8, 5],
        4: [9],
        5: [3, 6],
        6: [0, 5],
        7: [1],
        8: [3, 1],
        9: [4, 7],
    }
    rng = np.random.default_rng(seed)
    values = labels.to_numpy().copy()
    flip = rng.random(len(values)) < rate
    for row in np.flatnonzero(flip):
        values[row] = rng.choice(confusable[int(values[row])])
    return pd.Series(values, index=labels.index, name=labels.name), flip
