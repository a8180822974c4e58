"""The label check says how far to trust its flags (issue 18, item 5): expected
precision of the flagged set, estimated noise rate, and a weak-model warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assay.train.audit import audit
from assay.train.labels._trust import trust_line

TEXT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "text"


def _flip(y: np.ndarray, k: int, rate: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.choice(y.size, int(round(rate * y.size)), replace=False)
    noisy = y.copy()
    noisy[idx] = (y[idx] + rng.integers(1, k, idx.size)) % k
    return noisy


def _audit(X: np.ndarray, noisy: np.ndarray) -> tuple[dict, list[str]]:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = audit(
            pd.DataFrame({"label": noisy}),
            label="label",
            features=X,
            model=model,
            checks=["label"],
            seed=0,
        )
    flags = report.issues["is_label_issue"].to_numpy(bool)
    summary = dict(report.to_dict()["checks"]["label"], flags=flags)
    return summary, [str(w.message) for w in caught]


def test_expected_precision_tracks_the_real_one_on_digits() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    noisy = _flip(y, 10, 0.12, 0)
    summary, caught = _audit(X, noisy)
    real = float((noisy != y)[summary["flags"]].mean())
    assert abs(summary["expected_precision"] - real) < 0.15, (summary, real)
    assert abs(summary["estimated_noise_rate"] - 0.12) < 0.06
    assert not summary["weak_model"] and not any("too weak" in m for m in caught)
    assert "expected to be wrong" in (trust_line(summary) or "")


@pytest.mark.skipif(not TEXT.exists(), reason="needs ../shared/data/text (UCI sentences)")
def test_a_weak_text_model_is_called_weak() -> None:
    rows = [
        line.rstrip().rpartition("\t")
        for line in (TEXT / "yelp_labelled.txt").read_text().splitlines()
    ]
    texts = [r[0] for r in rows if r[2] in ("0", "1")]
    y = np.array([int(r[2]) for r in rows if r[2] in ("0", "1")])
    X = TfidfVectorizer(min_df=2).fit_transform(texts).toarray()[:, :300]
    noisy = _flip(y, 2, 0.12, 0)
    summary, caught = _audit(X, noisy)
    real = float((noisy != y)[summary["flags"]].mean())
    assert summary["weak_model"] and real < 0.5
    assert any("too weak" in m for m in caught)
