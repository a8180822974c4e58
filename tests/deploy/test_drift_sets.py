"""set_drift: per-label frequency, set size and co-occurrence drift of label sets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from assay.deploy.drift_sets import SetDriftReport, label_indicators, set_drift
from assay.exceptions import InputError

LABELS = np.array(["bug", "docs", "perf", "ui", "security"])


def _sets(n: int, p: list[float], seed: int, couple: float = 0.0) -> pd.Series:
    """n label sets; label j on with probability p[j]; ``couple`` copies 'bug' into
    'docs' on that share of rows (co-occurrence without changing much else)."""
    rng = np.random.default_rng(seed)
    on = rng.random((n, len(LABELS))) < np.asarray(p)
    if couple:
        copy = rng.random(n) < couple
        on[copy, 1] = on[copy, 0]
    return pd.Series([list(LABELS[row]) for row in on], name="tags")


P = [0.3, 0.3, 0.2, 0.4, 0.1]


@pytest.mark.parametrize("seed", range(5))
def test_unchanged_frequencies_do_not_drift(seed: int) -> None:
    report = set_drift(_sets(2_000, P, seed), _sets(2_000, P, seed + 100))
    assert not report.drifted, report.summary()
    assert report.drifted_columns == [] and report.drifted_pairs == []


@pytest.mark.parametrize("seed", range(5))
def test_a_changed_tag_frequency_is_detected_and_named(seed: int) -> None:
    changed = [0.3, 0.3, 0.35, 0.4, 0.1]  # perf 20% -> 35%
    report = set_drift(_sets(2_000, P, seed), _sets(2_000, changed, seed + 100))
    assert report.drifted
    assert "tags:perf" in report.drifted_columns
    assert not {"tags:bug", "tags:docs", "tags:ui", "tags:security"} & set(
        report.drifted_columns)
    assert report.frequencies.loc["perf", "cur"] == pytest.approx(0.35, abs=0.03)
    assert "perf: frequency" in report.summary()


def test_cooccurrence_shift_is_found_when_marginals_stay() -> None:
    report = set_drift(_sets(3_000, P, 1), _sets(3_000, P, 2, couple=0.6))
    assert ("bug", "docs") in report.drifted_pairs
    assert report.cooccurrence.loc[("bug", "docs"), "phi_cur"] > 0.4
    assert report.drifted


def test_set_size_shift_and_unseen_label() -> None:
    ref = pd.Series([["a"]] * 300 + [["b"]] * 300)
    cur = pd.Series([["a", "b", "c"]] * 200)
    report = set_drift(ref, cur, name="pred")
    assert {"pred:size", "pred:c"} <= set(report.drifted_columns)
    assert report.frequencies.loc["c", "ref"] == 0.0


def test_report_is_json_and_a_drift_report() -> None:
    report = set_drift(_sets(500, P, 0), _sets(500, [0.6, 0.3, 0.2, 0.4, 0.1], 1))
    assert isinstance(report, SetDriftReport)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["drifted"] is True
    assert {f["label"] for f in data["frequencies"]} == set(LABELS)
    assert all(len(line) <= 80 for line in report.summary().splitlines())
    assert "<table" in report.to_html()


def test_inputs_as_json_text_and_indicators() -> None:
    ref = ['["a", "b"]', "[]", '["b"]']
    frame = label_indicators(ref)
    assert frame.columns.tolist() == ["a", "b"]
    assert frame.to_numpy().tolist() == [[True, True], [False, False], [False, True]]


def test_missing_set_and_empty_side_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"current batch index 7 has no label set"):
        set_drift(pd.Series([["a"]] * 5), pd.Series([["a"], None], index=[6, 7]))
    with pytest.raises(InputError, match="reference has no rows"):
        set_drift(pd.Series([], dtype=object), pd.Series([["a"]]))
    with pytest.raises(InputError, match="not a list of labels"):
        set_drift(pd.Series([["a"], 3]), pd.Series([["a"]]))
    with pytest.raises(InputError, match="alpha"):
        set_drift(pd.Series([["a"]]), pd.Series([["a"]]), alpha=2.0)
