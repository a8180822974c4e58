"""A check declares its report reason and its review-queue source on its class (one
place): a new check is reported and queued without editing any table elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from assay.train.audit import Check, CheckResult, audit, make_result, queue_sources, register_check
from assay.train.audit._checks import _REGISTRY, check_reason
from assay.train.audit._context import AuditContext


@pytest.fixture
def zero_row_check() -> Iterator[type[Check]]:
    @register_check
    class ZeroRow(Check):
        name = "zero_row"
        requires: ClassVar[tuple[str, ...]] = ("features",)
        reason = "every feature is zero"
        queue_source = "zero_row"

        def run(self, ctx: AuditContext) -> CheckResult:
            assert ctx.features is not None
            flat = np.abs(ctx.features).sum(axis=1) == 0
            return make_result("zero_row", flat, np.where(flat, 0.0, 1.0))

    yield ZeroRow
    _REGISTRY.pop("zero_row")


def test_the_builtin_checks_declare_what_the_tables_said() -> None:
    assert queue_sources() == {
        "label": "label_issue",
        "outlier": "outlier",
        "near_duplicate": "near_duplicate",
        "exact_duplicate": "exact_duplicate",
        "leakage": "leakage",
    }
    assert check_reason("outlier") == "far from its nearest neighbours"
    assert check_reason("nothing_like_it") == "flagged by the nothing_like_it check"


def test_a_new_check_is_reported_and_queued_from_its_class(zero_row_check: type[Check]) -> None:
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 0.0], "b": [0.0, 1.0, 3.0, 0.0]})
    report = audit(frame, label=None, features=["a", "b"], checks=["zero_row"])
    assert report.issues["is_zero_row_issue"].tolist() == [True, False, False, True]
    assert queue_sources()["zero_row"] == "zero_row"
    assert set(report.review_items()["reason"]) == {"every feature is zero"}
