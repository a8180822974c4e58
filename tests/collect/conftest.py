"""Shared fixtures for the collect tests: real crowd data and small simulations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CROWD = DATA / "crowd"


def load_crowd(name: str) -> pd.DataFrame:
    """labels.txt of one crowd data set as (item, annotator, label), repeats dropped."""
    path = CROWD / name / "labels.txt"
    if not path.is_file():
        pytest.skip(f"real crowd data not found at {path} (shared/data is beside the repo)")
    df = pd.read_csv(path, sep="\t", header=None, names=["annotator", "item", "label"],
                     dtype=str)
    return df.drop_duplicates(["item", "annotator"], keep="last").reset_index(drop=True)


def load_gold(name: str, file: str) -> pd.Series:
    path = CROWD / name / file
    if not path.is_file():
        pytest.skip(f"gold labels not found at {path}")
    g = pd.read_csv(path, sep="\t", header=None, names=["item", "label"], dtype=str)
    return g.set_index("item")["label"]


def simulate(
    n_items: int = 300, n_annotators: int = 6, per_item: int = 3, n_classes: int = 4,
    accuracy: float = 0.75, seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Annotators who are right with probability ``accuracy``, else uniform at random."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n_items)
    who = np.argsort(rng.random((n_items, n_annotators)), axis=1)[:, :per_item]
    right = rng.random((n_items, per_item)) < accuracy
    lab = np.where(right, truth[:, None], rng.integers(0, n_classes, (n_items, per_item)))
    df = pd.DataFrame({
        "item": np.repeat(np.arange(n_items), per_item),
        "annotator": [f"a{j:02d}" for j in who.ravel()],
        "label": lab.ravel(),
    })
    return df, truth


@pytest.fixture
def sim() -> tuple[pd.DataFrame, np.ndarray]:
    """300 items, 3 of 6 annotators each, 4 classes, 75% accurate annotators."""
    return simulate()


@pytest.fixture
def simulator() -> Callable[..., tuple[pd.DataFrame, np.ndarray]]:
    """The :func:`simulate` factory."""
    return simulate


@pytest.fixture
def crowd() -> Callable[[str], pd.DataFrame]:
    """Load a real crowd data set by folder name (skips when absent)."""
    return load_crowd


@pytest.fixture
def crowd_gold() -> Callable[[str, str], pd.Series]:
    """Load gold labels of a real crowd data set (skips when absent)."""
    return load_gold
