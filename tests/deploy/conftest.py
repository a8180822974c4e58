"""Shared fixtures for the deploy tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def elec() -> pd.DataFrame:
    """Elec2 (45,312 rows, 7 columns) from the shared real data folder."""
    path = DATA / "drift" / "elec.csv"
    if not path.exists():
        pytest.skip(f"real data folder absent: {path} (clone shared/ beside the repo)")
    return pd.read_csv(path)


@pytest.fixture(scope="session")
def mnist_probs() -> tuple:
    """Out-of-sample MNIST test-set probabilities and their given labels."""
    import numpy as np

    folder = DATA / "label-errors"
    probs = sorted(folder.glob("*mnist*pyx*.npy"))
    labels = sorted(folder.glob("*mnist*original_labels*.npy"))
    if not probs or not labels:
        pytest.skip(f"real data folder absent: {folder} (clone shared/ beside the repo)")
    return np.load(probs[0]), np.load(labels[0])
