"""The analysis pages in a real browser (Playwright driving Debian's chromium) on the demo
workspace: every page at 1366x900, screenshots kept under the test's tmp dir (the
overview and the size page also in ``docs/`` for the README), charts present with the
expected number of marks, nothing overflowing its card or panel, no "nan" and no raw
parameter name in the visible text.
"""

from __future__ import annotations

import io
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from rich.console import Console
from webhelpers import PASSWORD

from assay.store.users import add_user
from assay.store.workspace import Workspace
from assay.web import create_app
from assay.web.serve import HTTP_PROTOCOL

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser

#: Raw names that must never reach a reader's eyes (they live in the JSON).
RAW_NAMES = ("label_knn_weight", "label_probs_source", "krippendorff_alpha", "noise_rate",
             "equivalent_extra", "worst_labels", "tag_table", "hlp_source")

#: Page -> the charts it must show, with (CSS selector of one mark, expected count).
PAGES: dict[str, dict[str, tuple[str, int]]] = {
    "/": {},
    "/analyses/agreement": {"classes": ("rect.mark", 20), "confusion": ("rect.mark", 100)},
    "/analyses/audit": {"checks": ("rect.mark", 1)},
    "/analyses/slices": {"slices": ("rect.mark", 5)},
    "/analyses/curve": {"curve": ("circle.mark", 16)},
    "/analyses/experiments": {"runs": ("circle.mark", 3)},
    "/monitoring": {"accuracy": ("circle.mark", 3), "drift": ("circle.mark", 12)},
}

OVERFLOW_JS = """() => {
  const bad = [];
  for (const box of document.querySelectorAll('.dash-card, .dash-panel, .dash-item')) {
    const outer = box.getBoundingClientRect();
    for (const el of box.querySelectorAll('*')) {
      if (el.closest('details:not([open])') && el.tagName !== 'SUMMARY') continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < outer.left - 1 || r.right > outer.right + 1) {
        bad.push(box.className + ' > ' + el.tagName + ': ' + (el.textContent || '').slice(0, 40));
      }
    }
  }
  return bad;
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``assay demo`` built in a tmp dir, served by uvicorn in a thread, with an admin."""
    from assay.demo import run_demo

    root = tmp_path_factory.mktemp("demo")
    run_demo(root / "ws", Console(file=io.StringIO(), width=100))
    ws = Workspace(root / "ws")
    add_user(ws, "ada", role="admin", password=PASSWORD)
    port = _free_port()
    config = uvicorn.Config(create_app(ws, secret_key="d" * 32), host="127.0.0.1", port=port,
                            log_level="warning", http=HTTP_PROTOCOL)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 15 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    ws.close()


@pytest.fixture(scope="module")
def tab(demo_server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(20_000)
        page.goto(f"{demo_server}/login")
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{demo_server}/")
        yield page
        browser.close()


@pytest.mark.parametrize("path", list(PAGES))
def test_analysis_page_in_the_browser(
    tab: object, demo_server: str, path: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = tab
    page.goto(demo_server + path)  # type: ignore[attr-defined]
    name = path.strip("/").replace("/", "-") or "overview"
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
    if path in ("/", "/analyses/curve"):
        docs = "screenshot-overview.png" if path == "/" else "screenshot-analysis.png"
        page.screenshot(path=str(REPO / "docs" / docs))  # type: ignore[attr-defined]

    for chart, (mark, expected) in PAGES[path].items():
        figure = f'figure[data-chart="{chart}"]'
        assert page.locator(f"{figure} svg").count() == 1, f"no {chart} chart on {path}"  # type: ignore[attr-defined]
        assert page.locator(f"{figure} svg {mark}").count() == expected, chart  # type: ignore[attr-defined]
        assert page.locator(f"{figure} details table tbody tr").count() >= 1  # type: ignore[attr-defined]

    if path == "/monitoring":  # reference vs current per column, the most drifted first
        dists = page.locator('figure[data-chart^="dist-"]')  # type: ignore[attr-defined]
        assert dists.count() == 8
        assert dists.first.locator("svg rect").count() >= 4  # two bars per bin
    text = page.inner_text("main")  # type: ignore[attr-defined]
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), f"'nan' on {path}"
    assert not [raw for raw in RAW_NAMES if raw in text], path
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # type: ignore[attr-defined]
    assert page.evaluate(OVERFLOW_JS) == []  # type: ignore[attr-defined]


def test_overview_has_five_cards_with_a_headline_each(tab: object, demo_server: str) -> None:
    page = tab
    page.goto(demo_server + "/")  # type: ignore[attr-defined]
    cards = page.locator(".dash-card")  # type: ignore[attr-defined]
    assert cards.count() == 5
    values = [v.strip() for v in page.locator(".dash-card .big").all_inner_texts()]  # type: ignore[attr-defined]
    assert len(values) == 5 and all(values)
    links = [cards.nth(i).get_attribute("href") for i in range(5)]
    assert links == ["/analyses/agreement", "/analyses/audit", "/analyses/slices",
                     "/analyses/curve", "/monitoring"]
    page.goto(demo_server + "/analyses/experiments")  # type: ignore[attr-defined]
    assert page.locator(".dash-runs td a").all_inner_texts() == ["E3", "E2", "E1"]  # type: ignore[attr-defined]
    assert "#" not in page.inner_text(".dash-runs")  # type: ignore[attr-defined]
