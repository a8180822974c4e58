"""Consensus refuses, before using any, more memory than its limit (issue 12).

Both methods keep one ``k x k`` confusion matrix per annotator and dense item x class
tables; with tens of thousands of classes (free-text labels) that is tens of GiB.
"""

from __future__ import annotations

import importlib
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from assay.collect import _memory, consensus
from assay.exceptions import InputError

consensus_module = importlib.import_module("assay.collect.consensus")  # the package's
agreement_module = importlib.import_module("assay.collect.agreement")  # names are functions


def _annotations(n_items: int, n_classes: int, n_annotators: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "item": np.tile(np.arange(n_items), n_annotators),
            "annotator": np.repeat([f"a{j}" for j in range(n_annotators)], n_items),
            "label": rng.integers(0, n_classes, n_items * n_annotators),
        }
    )
    frame.loc[: n_classes - 1, "label"] = np.arange(n_classes)  # every class occurs
    return frame


def _peak(frame: pd.DataFrame, method: str) -> int:
    """tracemalloc's peak bytes during ``consensus(frame, method)`` (3 iterations)."""
    tracemalloc.start()
    try:
        consensus(frame, method, max_iter=3)
        return int(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("method", ["majority", "dawid_skene"])
@pytest.mark.parametrize(("n_items", "n_classes", "n_annotators"),
                         [(600, 120, 3), (1500, 60, 6), (300, 200, 2)])
def test_estimate_covers_the_peak(method: str, n_items: int, n_classes: int,
                                  n_annotators: int) -> None:
    peak = _peak(_annotations(n_items, n_classes, n_annotators), method)
    need = consensus_module.memory_needed(n_items, n_classes, n_annotators, method)
    assert peak <= need <= 3 * peak


@pytest.mark.parametrize("method", ["majority", "dawid_skene"])
def test_estimate_of_a_sparse_design_counts_the_labels_given(method: str) -> None:
    """5 of 20 annotators per item (as in crowdsourcing): the estimate follows the
    labels given, not items x annotators (which refused 4M labels as 5.3 GiB)."""
    rng = np.random.default_rng(1)
    n_items, n_classes = 4_000, 10
    frame = _annotations(n_items, n_classes, 20, seed=1)
    given = np.argsort(rng.random((20, n_items)), axis=0)[:5].ravel()  # 5 per item
    frame = frame.iloc[np.sort(given * n_items + np.tile(np.arange(n_items), 5))]
    peak = _peak(frame, method)
    need = consensus_module.memory_needed(n_items, n_classes, 20, method, len(frame))
    assert peak <= need <= 3 * peak
    dense = consensus_module.memory_needed(n_items, n_classes, 20, method)
    assert dense > 2 * need


@pytest.mark.parametrize("method", ["majority", "dawid_skene"])
def test_over_the_limit_is_refused_before_any_is_used(
    monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    frame = _annotations(300, 40, 4)
    assert len(consensus(frame, method).priors) == 40  # within the default limit
    monkeypatch.setattr(consensus_module, "MAX_MEMORY", 2**16)
    with pytest.raises(InputError) as err:
        consensus(frame, method)
    msg = str(err.value)
    assert "\n" not in msg and "40 classes" in msg and "4 annotator" in msg
    assert "limit of" in msg and "transcript_agreement" in msg


def test_tens_of_thousands_of_classes_refused_fast() -> None:
    """30,000 free-text 'classes' would need tens of GiB: refused before allocating."""
    frame = _annotations(30_000, 30_000, 3)
    frame["label"] = "t" + frame["label"].astype(str)
    for method in ("majority", "dawid_skene"):
        tracemalloc.start()
        try:
            with pytest.raises(InputError, match="30000 classes .* GiB"):
                consensus(frame, method)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 200 * 2**20


def test_one_limit_shared_with_agreement() -> None:
    assert consensus_module.MAX_MEMORY == agreement_module.MAX_MEMORY == _memory.MAX_MEMORY
