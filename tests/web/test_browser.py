"""End to end in a real browser: Playwright driving Debian's chromium.

Sign in, relabel three items with the keyboard (and undo one), apply the queue, and
see the new version and its diff; edit the label book and meet a conflict.
Screenshots are kept in ``test-artifacts/`` (the review page also in
``docs/screenshot-review.png``).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from webhelpers import PASSWORD, fill

from assay.store import models as m
from assay.store.workspace import Workspace
from assay.web import create_app
from assay.web.serve import HTTP_PROTOCOL

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.browser

LABELBOOK = {
    "classes": {
        str(d): {"description": f"the handwritten digit {d}",
                 "rules": ["judge the shape, not the stroke width"] if d in (1, 7) else []}
        for d in range(10)
    }
}


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if IN_CI:
            pytest.fail("chromium is not installed; .ci/run must apt-get install chromium")
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(sqlite_workspace: Workspace) -> Iterator[str]:
    """The app on a free loopback port, served by uvicorn in a thread."""
    fill(sqlite_workspace)
    with sqlite_workspace.session() as s:
        ds = s.query(m.Dataset).filter_by(name="digits").one()
        s.add(m.LabelBookVersion(dataset_id=ds.id, number=1, content=LABELBOOK,
                                 message="digits label book", author="test"))
    port = _free_port()
    config = uvicorn.Config(create_app(sqlite_workspace, secret_key="b" * 32), host="127.0.0.1",
                            port=port, log_level="warning", http=HTTP_PROTOCOL)
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


@pytest.fixture
def page(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(15_000)
        yield tab
        browser.close()


def _relabel_with_key(page: object, server: str) -> tuple[str, int]:
    """Press the number key of a class other than the given one; return (item, label)."""
    given = int(page.inner_text("#given"))  # type: ignore[attr-defined]
    item = page.inner_text("h1 a")  # type: ignore[attr-defined]
    new = (given + 3) % 10
    before = page.url  # type: ignore[attr-defined]
    page.keyboard.press(str(new))  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: url != before)  # type: ignore[attr-defined]
    return item, new


def test_review_loop_in_the_browser(page: object, server: str, sqlite_workspace: Workspace) -> None:
    p = page
    p.goto(f"{server}/review/digits")  # type: ignore[attr-defined]
    assert "/login" in p.url  # type: ignore[attr-defined]
    p.fill("input[name=username]", "rita")  # type: ignore[attr-defined]
    p.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    p.wait_for_url(f"{server}/review/digits")  # type: ignore[attr-defined]
    p.click("#start")  # type: ignore[attr-defined]
    p.wait_for_selector("aside.labelbook")  # type: ignore[attr-defined]
    assert "the handwritten digit" in p.inner_text("aside.labelbook")  # type: ignore[attr-defined]
    assert p.locator("svg.pixels").count() == 1  # type: ignore[attr-defined]
    shot = REPO / "test-artifacts" / "review.png"
    shot.parent.mkdir(exist_ok=True)
    p.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
    (REPO / "docs").mkdir(exist_ok=True)
    shutil.copyfile(shot, REPO / "docs" / "screenshot-review.png")

    decided = [_relabel_with_key(p, server) for _ in range(3)]
    p.keyboard.press("u")  # undo the third decision: back on its entry, open again
    p.wait_for_selector("#decide")  # type: ignore[attr-defined]
    assert p.inner_text("h1 a") == decided[2][0]  # type: ignore[attr-defined]
    assert p.inner_text("#status") == "open"  # type: ignore[attr-defined]
    decided[2] = _relabel_with_key(p, server)

    p.goto(f"{server}/review/digits")  # type: ignore[attr-defined]
    p.click("#apply")  # type: ignore[attr-defined]
    p.wait_for_selector("#diff-summary")  # type: ignore[attr-defined]
    assert "digits@v2" in p.inner_text("#diff-summary")  # type: ignore[attr-defined]
    assert "3 relabeled" in p.inner_text("#diff-summary")  # type: ignore[attr-defined]
    table = p.inner_text("#relabeled")  # type: ignore[attr-defined]
    for item, _ in decided:
        assert item in table
    labels = sqlite_workspace.dataset("digits@v2").labels
    assert {item: int(labels[item]) for item, _ in decided} == dict(decided)


def test_labelbook_edit_in_the_browser(page: object, server: str, sqlite_workspace: Workspace) -> None:
    """Edit a class definition in the form, see version 2 and its diff; a stale form
    gets the conflict page and saves nothing."""
    p = page
    p.goto(f"{server}/login")  # type: ignore[attr-defined]
    p.fill("input[name=username]", "rita")  # type: ignore[attr-defined]
    p.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    p.wait_for_url(f"{server}/")  # type: ignore[attr-defined]
    p.click("nav >> text=Label books")  # type: ignore[attr-defined]
    p.click("#labelbooks >> text=digits")  # type: ignore[attr-defined]
    assert p.inner_text("#book-version") == "v1"  # type: ignore[attr-defined]
    p.click("#edit")  # type: ignore[attr-defined]
    row = p.locator("fieldset", has=p.locator("legend", has_text="7"))  # type: ignore[attr-defined]
    row.locator("textarea[name$='-description']").fill("a 7, crossed or not")
    row.locator("textarea[name$='-rules']").fill("judge the shape\nignore the cross bar")
    row.locator("textarea[name$='-positive']").fill("d7")
    p.fill("#message", "sharper 7")  # type: ignore[attr-defined]
    p.click("#save")  # type: ignore[attr-defined]
    p.wait_for_url(f"{server}/labelbook/digits?version=2")  # type: ignore[attr-defined]
    assert p.inner_text("#book-version") == "v2"  # type: ignore[attr-defined]
    seven = p.locator("article.classdef", has=p.locator("h2", has_text="7"))  # type: ignore[attr-defined]
    assert "a 7, crossed or not" in seven.inner_text()
    assert seven.locator("svg.pixels").count() == 1  # the positive example, drawn
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    p.screenshot(path=str(REPO / "test-artifacts" / "labelbook.png"), full_page=True)  # type: ignore[attr-defined]
    book = sqlite_workspace.labelbook.get("digits")
    assert (book.number, book.author, book.message) == (2, "rita", "sharper 7")
    assert book.classes["7"]["rules"] == ["judge the shape", "ignore the cross bar"]
    assert sqlite_workspace.labelbook.get("digits", 1).classes == LABELBOOK["classes"]
    p.click("text=diff with v1")  # type: ignore[attr-defined]
    added = p.locator("#diff [data-class='7'] ins").all_inner_texts()  # type: ignore[attr-defined]
    assert added == ["a 7, crossed or not", "judge the shape", "ignore the cross bar", "d7"]

    p.goto(f"{server}/labelbook/digits/edit")  # type: ignore[attr-defined]
    sqlite_workspace.labelbook.save("digits", LABELBOOK["classes"], message="rob reverts",
                                    author="rob")  # saved while rita's form is open
    p.fill("#message", "too late")  # type: ignore[attr-defined]
    row = p.locator("fieldset", has=p.locator("legend", has_text="0"))  # type: ignore[attr-defined]
    row.locator("textarea[name$='-description']").fill("a round zero")
    p.click("#save")  # type: ignore[attr-defined]
    p.wait_for_selector("#proposed")  # type: ignore[attr-defined]
    p.screenshot(path=str(REPO / "test-artifacts" / "labelbook-conflict.png"), full_page=True)  # type: ignore[attr-defined]
    assert "rob reverts" in p.inner_text("#since")  # type: ignore[attr-defined]
    changed = p.locator("#their-changes .changed h3").all_inner_texts()  # type: ignore[attr-defined]
    assert changed == ["7"]  # only what rob changed back, not every class
    assert "a round zero" in p.inner_text("#proposed")  # type: ignore[attr-defined]
    assert [b.number for b in sqlite_workspace.labelbook.versions("digits")] == [1, 2, 3]


def test_sign_out_in_the_browser_ends_a_copied_session(
    page: object, server: str, sqlite_workspace: Workspace
) -> None:
    """Sign in, copy the session cookie into a second browser context, sign out in the
    first: the copy is signed out too (the session's row is gone)."""
    p = page
    p.goto(f"{server}/login")  # type: ignore[attr-defined]
    p.fill("input[name=username]", "rita")  # type: ignore[attr-defined]
    p.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    p.wait_for_url(f"{server}/")  # type: ignore[attr-defined]
    cookies = p.context.cookies()  # type: ignore[attr-defined]
    other = p.context.browser.new_context()  # type: ignore[attr-defined]
    other.add_cookies(cookies)
    copy = other.new_page()
    copy.goto(f"{server}/review")
    assert "/login" not in copy.url
    with sqlite_workspace.session() as s:
        assert s.query(m.WebSession).count() == 1
    p.click("form.who button")  # type: ignore[attr-defined]
    p.wait_for_url(f"{server}/login")  # type: ignore[attr-defined]
    copy.goto(f"{server}/review")
    assert "/login" in copy.url
    with sqlite_workspace.session() as s:
        assert s.query(m.WebSession).count() == 0
    other.close()
