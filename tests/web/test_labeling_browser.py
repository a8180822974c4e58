"""Labeling end to end in a real browser (issue 16): Playwright driving Debian's chromium.

Two labelers sign in and label the same 20 digits with the keyboard (a class's key,
``u`` and a note once, Enter), disagreeing on some; a reviewer watches the agreement
page update itself and reads Cohen's kappa, which equals scikit-learn's
``cohen_kappa_score`` of the labels the test chose; the reviewer adjudicates the
disagreements with the keyboard and applies the labels: the new version's labels are
the expected ones. The labeling page is kept as ``docs/screenshot-labeling.png``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sklearn.metrics import cohen_kappa_score
from webhelpers import PASSWORD, digits_frame, fill, serving

from assay.store.users import add_user
from assay.store.workspace import Workspace
from assay.workflows.labeling import plan_labeling

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.browser

ITEMS = [f"d{i}" for i in range(20)]
TRUTH = {k: int(v) for k, v in zip(digits_frame()["item_id"], digits_frame()["label"], strict=True)}
#: Items the second labeler gets wrong (truth + 1): the disagreements.
WRONG = {"d2", "d5", "d9", "d13", "d17"}
#: One example item per class in the label book, from outside the items to label.
EXAMPLES = {d: next(i for i, v in TRUTH.items() if v == d and i not in ITEMS) for d in range(10)}
RULES = {
    1: ["a plain vertical stroke is a 1, with or without a flag"],
    7: ["a 7 has a horizontal top bar; a crossed stem is still a 7"],
}


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if IN_CI:
            pytest.fail("chromium is not installed; .ci/run must apt-get install chromium")
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    return path


@pytest.fixture
def server(sqlite_workspace: Workspace) -> Iterator[str]:
    """Digits with a label book; ann and benno both label d0..d19."""
    ws = sqlite_workspace
    fill(ws)
    classes = {
        str(d): {
            "description": f"the handwritten digit {d}",
            "rules": RULES.get(d, []),
            "examples": {"positive": [EXAMPLES[d]]},
        }
        for d in range(10)
    }
    ws.labelbook.save("digits", classes, message="digits label book", author="ada", base=0)
    for name in ("ann", "benno"):
        add_user(ws, name, role="labeler", password=PASSWORD)
    plan_labeling(
        ws, "digits", labelers=["ann", "benno"], per_item=2, overlap=1.0, items=ITEMS, actor="ada"
    )
    with serving(ws) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=_chromium(),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def _signed_in(browser: Any, server: str, name: str, target: str) -> Any:
    tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    tab.set_default_timeout(15_000)
    tab.goto(f"{server}{target}")
    tab.fill("input[name=username]", name)
    tab.fill("input[name=password]", PASSWORD)
    with tab.expect_navigation():
        tab.click("button[type=submit]")
    return tab


def _label_queue(tab: Any, labeler: str, chosen: dict[str, int]) -> None:
    """Label every item of the queue with the keyboard; record the labels in ``chosen``."""
    while tab.locator("#finished").count() == 0:
        item = tab.inner_text("#item-id")
        label = (TRUTH[item] + 1) % 10 if labeler == "benno" and item in WRONG else TRUTH[item]
        tab.keyboard.press(str(label))
        assert tab.is_checked(f'input[name="label"][value="{label}"]')
        if labeler == "ann" and item == "d3":  # unsure, with a note
            tab.keyboard.press("u")
            tab.keyboard.type("thin stroke")
        if labeler == "ann" and len(chosen) == 4:
            shot = REPO / "docs" / "screenshot-labeling.png"
            tab.screenshot(path=str(shot), full_page=False)
        with tab.expect_navigation():
            tab.keyboard.press("Enter")
        chosen[item] = label
    assert tab.inner_text("#done") == "20"


def _kappa_on_page(tab: Any, before: str, n_labels: int) -> str:
    """The pair's kappa once the page (never reloaded by the test) has swapped in a body
    past ``before`` that counts ``n_labels`` labels."""
    tab.wait_for_function(
        "([s, n]) => { const b = document.querySelector('[data-stamp]');"
        " const c = document.getElementById('n-labels');"
        " return b.dataset.stamp !== s && c && c.textContent === n; }",
        arg=[before, str(n_labels)],
        timeout=20_000,
    )
    assert int(tab.get_attribute("#live", "data-updated")) >= 1
    return str(tab.locator("#pairs td.kappa").first.text_content())


def _adjudicate(tab: Any, server: str) -> int:
    tab.goto(f"{server}/label/digits/adjudicate")
    decided = 0
    if tab.locator("#start").count():
        with tab.expect_navigation():
            tab.click("#start")
    while tab.locator("#all-decided").count() == 0:
        item = tab.inner_text("#item-id")
        assert {t.strip() for t in tab.locator("#their-labels dt").all_inner_texts()} == {
            "ann",
            "benno",
        }
        tab.keyboard.press(str(TRUTH[item]))
        with tab.expect_navigation():
            tab.keyboard.press("Enter")
        decided += 1
        if "/adjudicate/" not in tab.url:
            break
    return decided


def test_two_labelers_agreement_adjudication_apply(
    browser: Any, server: str, sqlite_workspace: Workspace
) -> None:
    ann = _signed_in(browser, server, "ann", "/label/digits")
    assert ann.url.endswith("/label/digits")
    assert "the handwritten digit" in ann.inner_text("aside.labelbook")
    rita = _signed_in(browser, server, "rita", "/label/digits/agreement")
    assert rita.locator("#no-overlap").count() == 1
    stamp = str(rita.get_attribute("[data-stamp]", "data-stamp"))
    labels: dict[str, dict[str, int]] = {"ann": {}, "benno": {}}
    _label_queue(ann, "ann", labels["ann"])
    benno = _signed_in(browser, server, "benno", "/")
    assert benno.url.endswith("/label")
    with benno.expect_navigation():
        benno.click("#queues a")
    _label_queue(benno, "benno", labels["benno"])
    expected = cohen_kappa_score(
        [labels["ann"][i] for i in ITEMS], [labels["benno"][i] for i in ITEMS]
    )
    shown = _kappa_on_page(rita, stamp, 2 * len(ITEMS))
    assert float(shown) == pytest.approx(expected, abs=5e-4)
    assert rita.locator("#disagreed tbody tr").count() == len(WRONG)
    assert rita.locator("#chart-classes svg").count() == 1
    rita.click("#table-pairs summary")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    rita.screenshot(path=str(REPO / "test-artifacts" / "agreement-live.png"), full_page=True)
    assert _adjudicate(rita, server) == len(WRONG)
    with rita.expect_navigation():
        rita.click("#apply-button")
    made = rita.inner_text("#version")
    frame = sqlite_workspace.dataset(made).to_pandas()
    applied = dict(zip(frame["item_id"], frame["label"], strict=True))
    assert {i: int(applied[i]) for i in ITEMS} == {i: TRUTH[i] for i in ITEMS}
    assert "20" in rita.inner_text("#applied")


def test_letter_keys_skip_and_unsure(browser: Any, tmp_path: Path) -> None:
    """On text items: h and e pick classes by their first letter, s skips, u marks
    unsure and moves to the note, Enter in the note submits."""
    import pandas as pd

    ws = Workspace.init(tmp_path / "mail")
    texts = pd.DataFrame(
        {"item_id": ["t0", "t1", "t2"], "text": ["great food", "cold soup", "buy now"]}
    )
    ws.import_dataset(
        "mail", texts.assign(label=["ham", "ham", "spam"]), label="label", id="item_id"
    )
    ws.labelbook.save(
        "mail",
        {
            "ham": {"description": "a real message"},
            "spam": {},
            "eggs": {"description": "about breakfast"},
        },
        message="three",
        author="t",
        base=0,
    )
    add_user(ws, "ann", role="labeler", password=PASSWORD)
    plan_labeling(ws, "mail", labelers=["ann"], per_item=1, overlap=0.0, actor="t")
    with serving(ws) as url:
        tab = _signed_in(browser, url, "ann", "/label/mail")
        first = tab.inner_text("#item-id")
        tab.keyboard.press("h")
        assert tab.is_checked('input[name="label"][value="ham"]')
        tab.keyboard.press("e")
        assert tab.is_checked('input[name="label"][value="eggs"]')
        with tab.expect_navigation():
            tab.keyboard.press("s")
        second = tab.inner_text("#item-id")
        assert second != first and "skipped" in tab.inner_text("#saved")
        tab.keyboard.press("2")
        tab.keyboard.press("u")
        tab.keyboard.type("could be a newsletter")
        with tab.expect_navigation():
            tab.keyboard.press("Enter")
        assert "as spam" in tab.inner_text("#saved")
    from assay.store import models as m

    with ws.session(readonly=True) as s:
        rows = {r.item_id: r for r in s.query(m.LabelingLabel).all()}
    assert rows[first].skipped and rows[first].label is None
    assert rows[second].unsure and rows[second].note == "could be a newsletter"
    ws.close()
