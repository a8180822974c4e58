"""The agreement bootstrap over groups of equal items: same distribution, fewer draws."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from assay.collect import _bootstrap, _stats
from assay.collect._bootstrap import Features, item_features, row_groups
from assay.collect._delta import cohen_delta_interval
from assay.collect.annotations import encode_annotations


def _features(df: pd.DataFrame) -> Features:
    enc = encode_annotations(df)
    counts = enc.counts()
    p_item, n_item = _stats.item_agreement(counts)
    pairs = _stats.annotation_pairs(enc.item, enc.annotator, enc.label)
    present, inv = _stats.pair_index(pairs, len(enc.annotators))
    return item_features(counts, p_item, n_item, pairs, inv, len(present))


def test_row_groups_are_the_distinct_rows() -> None:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 3, size=(40, 6)) * (rng.random((40, 6)) < 0.5)
    dense = base[rng.integers(0, 40, 500)].astype(float)
    groups = row_groups(sparse.csr_matrix(dense))
    assert groups is not None
    first, sizes = groups
    uniq, counts = np.unique(dense, axis=0, return_counts=True)
    assert sizes.sum() == 500 and len(first) == len(uniq)
    assert sorted(sizes) == sorted(counts)
    for row, size in zip(first, sizes, strict=True):
        assert (dense == dense[row]).all(axis=1).sum() == size
    assert row_groups(sparse.csr_matrix(dense), max_groups=len(uniq) - 1) is None


def test_group_sizes_as_weights_give_the_point_estimate(crowd: Callable[[str], pd.DataFrame]
                                                        ) -> None:
    f = _features(crowd("AdultContent2"))
    groups = row_groups(f.counts)
    assert groups is not None
    first, sizes = groups
    assert len(first) < len(f.p_item) / 4  # real crowd items repeat their label counts
    sub = _bootstrap._subset(f, first)
    whole = _bootstrap._class_stats(f, np.ones((1, len(f.p_item))), "nominal", None)
    grouped = _bootstrap._class_stats(sub, sizes[None, :].astype(float), "nominal", None)
    for key, val in whole.items():
        assert grouped[key][0] == pytest.approx(val[0], abs=1e-12)


def test_grouped_draws_have_the_item_bootstrap_distribution(
    crowd: Callable[[str], pd.DataFrame],
) -> None:
    """1,000 grouped replicates against 1,000 item-level ones (the former method)."""
    f = _features(crowd("AdultContent2"))
    m = len(f.p_item)
    groups = row_groups(f.counts)
    assert groups is not None
    grouped = _bootstrap._draws(
        lambda g, w: _bootstrap._class_stats(g, w, "nominal", None), f, groups, 1000,
        np.random.default_rng(1))
    rng = np.random.default_rng(2)
    items = [_bootstrap._class_stats(f, _bootstrap._weights(rng, 100, m), "nominal", None)
             for _ in range(10)]
    for key in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha"):
        old = np.concatenate([d[key] for d in items])
        assert stats.ks_2samp(grouped[key], old).pvalue > 0.01, key
        assert np.std(grouped[key]) == pytest.approx(np.std(old), rel=0.1)


def test_mean_cohen_kappa_takes_the_delta_interval_above_the_work_budget(
    crowd: Callable[[str], pd.DataFrame], monkeypatch: pytest.MonkeyPatch,
) -> None:
    f = _features(crowd("BarzanMozafari"))
    boot = _bootstrap.bootstrap_intervals(f, "nominal", None, 1000, 0)["cohen_kappa"]
    monkeypatch.setattr(_bootstrap, "COHEN_WORK", 10)
    got = _bootstrap.bootstrap_intervals(f, "nominal", None, 1000, 0)["cohen_kappa"]
    assert got == cohen_delta_interval(f)
    width = boot[1] - boot[0]
    assert abs((got[1] - got[0]) - width) < 0.2 * width
