"""Production items decided on the web become rows in the browser too (issue 17, item 4):
the review page of a dataset whose monitor sampled production rows (Elec2) says how
many decided production items wait and, for a reviewer, offers the button that runs
``assay review apply NAME --production``; a viewer sees the count but no button.
Playwright drives Debian's chromium; the screenshot goes to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from webhelpers import PASSWORD, chromium_page, chromium_path, fill, serving

from assay.cli.main import main
from assay.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
RECIPE = (
    "featurizer: standard_scaler\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0\n"
)
DECISIONS = ("--keep", "--keep", "--remove", "--keep", "--remove", "--keep")
pytestmark = pytest.mark.browser


def _assay(*args: str) -> str:
    """``assay ARGS`` in-process; its standard output (exit 0 required)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    assert code == 0, (args, err.getvalue())
    return out.getvalue()


@pytest.fixture
def elec(sqlite_workspace: Workspace, shared_data: Path, tmp_path: Path) -> list[int]:
    """Elec2 reference rows, a monitor, six production rows it sampled, decided: four
    kept, two removed. Returns the entry ids."""
    ws, w = sqlite_workspace, ["-w", sqlite_workspace.location]
    fill(ws)  # the users
    frame = pd.read_csv(shared_data / "drift" / "elec.csv")
    frame.insert(0, "id", range(len(frame)))
    frame.iloc[:1500].to_csv(tmp_path / "ref.csv", index=False)
    frame.iloc[30000:31000].drop(columns=["class"]).to_csv(tmp_path / "batch.csv", index=False)
    _assay("import", "elec", str(tmp_path / "ref.csv"), "--label", "class", "--id", "id", *w)
    (tmp_path / "r.yaml").write_text(RECIPE)
    _assay("recipe", "add", "lr", str(tmp_path / "r.yaml"), *w)
    _assay("monitor", "add", "m", "--reference", "elec@v1", "--recipe", "lr", *w)
    with contextlib.suppress(AssertionError):  # exit 1: the batch drifted
        _assay("monitor", "ingest", "m", str(tmp_path / "batch.csv"), *w)
    _assay("monitor", "sample", "m", "--n", str(len(DECISIONS)), *w)
    ids = ws.review.list("elec", source="drift_sample")["id"].astype(int).tolist()
    for entry, flag in zip(ids, DECISIONS, strict=True):
        _assay("review", "decide", str(entry), flag, *w)
    return ids


@pytest.fixture
def server(sqlite_workspace: Workspace, elec: list[int]) -> Iterator[str]:
    with serving(sqlite_workspace) as url:
        yield url


def _sign_in(page: Any, server: str, name: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def test_reviewer_adds_production_items_from_the_review_page(
    server: str, sqlite_workspace: Workspace, elec: list[int]
) -> None:
    ws = sqlite_workspace
    with chromium_page(chromium_path()) as page:
        _sign_in(page, server, "vic")  # a viewer: the count, no button
        page.goto(f"{server}/review/elec")
        assert "6 decided production items" in page.inner_text("#production-waiting")
        assert page.locator("#apply-production").count() == 0
        assert page.locator("#apply").count() == 0  # nothing of the dataset's own
        page.context.clear_cookies()
        _sign_in(page, server, "rita")
        page.goto(f"{server}/review/elec")
        (REPO / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "test-artifacts" / "review-production.png"))
        page.click("#apply-production")
        page.wait_for_selector("#diff-summary")
        summary = page.inner_text("#diff-summary")
        assert "elec@v2" in summary and "4 added" in summary, summary
        page.goto(f"{server}/review/elec")
        assert page.locator("#production-waiting").count() == 0
    version = ws.dataset("elec")
    assert version.ref == "elec@v2" and version.n_rows == 1504
    kept = sorted(i for i, flag in zip(elec, DECISIONS, strict=True) if flag == "--keep")
    rows = [ws.review.get(i)["payload"]["row"] for i in kept]
    added = version.to_pandas().tail(len(kept))
    assert added["nswprice"].tolist() == pytest.approx([r["nswprice"] for r in rows])
    assert all(ws.review.get(i)["status"] == "applied" for i in kept)
    assert ws.review.production_waiting("elec") == {}
