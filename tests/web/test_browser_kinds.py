"""Review of regression and multi-label labels in a real browser (Playwright driving
Debian's chromium): Enter accepts the suggested number, typing changes it, a value that
is not a number comes back with its error; digits toggle labels of a set and the page
says what is added and removed. Every decision is checked in the store and on the page.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webhelpers import PASSWORD, chromium_page, fill, fill_kinds, serving

from assay.store.workspace import Workspace
from assay.web.widgets import format_number

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.browser


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if IN_CI:
            pytest.fail("chromium is not installed; .ci/run must apt-get install chromium")
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    return path


@pytest.fixture
def server(sqlite_workspace: Workspace) -> Iterator[str]:
    fill(sqlite_workspace)
    fill_kinds(sqlite_workspace)
    with serving(sqlite_workspace) as url:
        yield url


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    with chromium_page(_chromium()) as tab:
        tab.goto(f"{server}/login")
        tab.fill("input[name=username]", "rita")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{server}/")
        yield tab


def _shot(page: Any, name: str) -> None:
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(REPO / "test-artifacts" / name), full_page=True)


def _leave_with(page: Any, key: str) -> None:
    """Press ``key`` and wait for the next page."""
    before = page.url
    page.keyboard.press(key)
    page.wait_for_url(lambda url: url != before)
    page.wait_for_load_state()


def _entry_id(page: Any) -> int:
    return int(page.url.split("/review/entry/")[1].split("?")[0])


def test_number_review_in_the_browser(page: Any, server: str,
                                      sqlite_workspace: Workspace) -> None:
    p, ws = page, sqlite_workspace
    p.goto(f"{server}/review/diabetes/next")
    first = ws.review.get(_entry_id(p))
    suggested = format_number(first["suggested_label"])
    assert p.input_value("#relabel") == suggested
    assert p.inner_text("#given-value") == format_number(first["given_label"])
    assert p.inner_text("#suggested-value") == suggested
    _shot(p, "review-number.png")
    _leave_with(p, "Enter")  # Enter accepts the suggestion
    assert ws.review.get(first["id"])["decision_label"] == first["suggested_label"]

    second = ws.review.get(_entry_id(p))
    p.keyboard.press("9")  # a digit starts a new value in the field
    p.keyboard.type("8.5")
    assert p.input_value("#relabel") == "98.5"
    _leave_with(p, "Enter")
    assert ws.review.get(second["id"])["decision_label"] == 98.5

    third = ws.review.get(_entry_id(p))
    p.fill("#relabel", "about 120")
    p.press("#relabel", "Enter")
    p.wait_for_selector("#decide-error")
    assert "not a number" in p.inner_text("#decide-error")
    assert p.input_value("#relabel") == "about 120"
    assert ws.review.get(third["id"])["status"] == "open"
    _shot(p, "review-number-error.png")
    p.fill("#relabel", "120")
    p.press("#relabel", "Enter")
    p.wait_for_url(lambda url: f"/review/entry/{third['id']}" not in url)
    assert ws.review.get(third["id"])["decision_label"] == 120.0

    p.goto(f"{server}/review/entry/{second['id']}")
    assert p.inner_text("#status") == "decided"
    delta = 98.5 - second["given_label"]
    assert p.inner_text("#decided") == f"98.5 ({'+' if delta > 0 else ''}{format_number(delta)})"


def test_tags_review_in_the_browser(page: Any, server: str,
                                    sqlite_workspace: Workspace) -> None:
    p, ws = page, sqlite_workspace
    p.goto(f"{server}/review/tickets/next")
    entry = ws.review.get(_entry_id(p))
    assert (entry["given_label"], entry["suggested_label"]) == (["bug", "ui"], ["bug", "urgent"])

    def checked() -> list[str]:
        return p.eval_on_selector_all(
            "#tags input:checked", "boxes => boxes.map(b => b.value)")

    assert checked() == ["bug", "urgent"]
    assert p.inner_text("#changes") == "adds urgent · removes ui"
    p.keyboard.press("1")  # the first label: billing, added
    p.keyboard.press("4")  # the fourth: ui, kept after all
    assert checked() == ["billing", "bug", "ui", "urgent"]
    assert p.inner_text("#changes") == "adds billing, urgent"
    states = p.eval_on_selector_all("#tags label", "ls => ls.map(l => l.dataset.state)")
    assert states == ["added", "kept", "off", "kept", "added"]
    _shot(p, "review-tags.png")
    _leave_with(p, "Enter")
    assert ws.review.get(entry["id"])["decision_label"] == ["billing", "bug", "ui", "urgent"]

    p.goto(f"{server}/review/entry/{entry['id']}")
    assert p.inner_text("#status") == "decided"
    chips = p.eval_on_selector_all(
        "#decided .chip", "cs => cs.map(c => c.textContent + ':' + c.dataset.state)")
    assert chips == ["billing:added", "bug:kept", "ui:kept", "urgent:added"]
    p.goto(f"{server}/datasets/tickets/items/{entry['item_id']}")
    assert "billing" in p.inner_text("#decisions td.decision")
