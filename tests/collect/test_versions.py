"""Agreement per label-book version."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.collect import agreement, agreement_by, compare_classes


def _two_versions() -> pd.DataFrame:
    """Version 1: 'ant' and 'bee' are confused half the time; version 2: rarely."""
    rng = np.random.default_rng(0)
    rows = []
    for version, p_confuse in [(1, 0.5), (2, 0.05)]:
        for i in range(150):
            truth = ["ant", "bee", "cat"][i % 3]
            for ann in ["x", "y"]:
                lab = truth
                if truth != "cat" and rng.random() < p_confuse:
                    lab = "bee" if truth == "ant" else "ant"
                rows.append((f"v{version}-{i}", ann, lab, version))
    return pd.DataFrame(rows, columns=["item", "annotator", "label", "labelbook_version"])


def test_agreement_by_version_and_compare() -> None:
    df = _two_versions()
    reports = agreement_by(df, ci=False)
    assert list(reports) == [1, 2]
    one = agreement(df[df["labelbook_version"] == 1].drop(columns="labelbook_version"),
                    ci=False)
    assert reports[1].krippendorff_alpha == pytest.approx(one.krippendorff_alpha, abs=1e-12)
    table = compare_classes(reports)
    assert list(table.columns) == [1, 2, "change"]
    change = table["change"].to_dict()
    assert change["ant"] > 0.3 and change["bee"] > 0.3
    assert change["cat"] == pytest.approx(0.0)


def test_version_without_double_labels_is_skipped_with_warning() -> None:
    df = _two_versions()
    extra = pd.DataFrame({"item": ["z"], "annotator": ["x"], "label": ["ant"],
                          "labelbook_version": [3]})
    with pytest.warns(UserWarning, match="labelbook_version=3"):
        reports = agreement_by(pd.concat([df, extra]), ci=False)
    assert list(reports) == [1, 2]
