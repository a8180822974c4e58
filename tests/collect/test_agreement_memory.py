"""Agreement refuses, before using any, more memory than its limit (issue 12)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from assay.collect import agreement
from assay.collect._stats import annotation_pairs, pair_confusions
from assay.collect.annotations import encode_annotations
from assay.exceptions import InputError

agreement_module = importlib.import_module("assay.collect.agreement")  # the package's
# `agreement` is the function


def _annotations(n_items: int, n_classes: int, n_annotators: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "item": np.tile(np.arange(n_items), n_annotators),
            "annotator": np.repeat([f"a{j}" for j in range(n_annotators)], n_items),
            "label": rng.integers(0, n_classes, n_items * n_annotators),
        }
    )


def test_estimate_covers_the_pair_confusions() -> None:
    frame = _annotations(300, 40, 4)
    enc = encode_annotations(frame)
    pairs = annotation_pairs(enc.item, enc.annotator, enc.label)
    conf = pair_confusions(pairs, len(enc.annotators), enc.n_classes)[2]
    need = agreement_module.memory_needed(enc.n_items, enc.n_classes, conf.shape[0])
    dense = enc.n_items * enc.n_classes * 8
    assert need >= 2 * conf.nbytes + dense
    assert need <= 2 * conf.nbytes + dense + 6 * enc.n_classes**2 * 8


def test_over_the_limit_is_refused_naming_classes_and_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _annotations(300, 40, 4)
    report = agreement(frame, ci=False)  # within the default limit
    assert len(report.classes) == 40
    monkeypatch.setattr(agreement_module, "MAX_MEMORY", 2**16)
    with pytest.raises(InputError, match=r"40 classes .* 6 annotator pair\(s\).* limit of"):
        agreement(frame, ci=False)
