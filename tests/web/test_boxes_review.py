"""Review of detection boxes in a real browser (Playwright driving Debian's chromium)
on real raccoon images (Pascal VOC): the page draws the given and suggested boxes over
the image; the test adjusts a corner, deletes, reclasses and draws boxes with the mouse
and keys, accepts with Enter, applies the decision and reads the new version's box-level
diff. Boxes outside the image or of zero size come back with a one-line error. The README
screenshot goes to ``docs/screenshot-boxes.png``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from webhelpers import PASSWORD, chromium_page, serving

from assay.exceptions import InputError
from assay.store.box_formats.dataset import BoxSource
from assay.store.users import add_user
from assay.store.workspace import Workspace
from assay.tasks.detection import as_boxes, check_in_image
from assay.workflows.review import apply_decisions

REPO = Path(__file__).resolve().parents[2]
IMAGES = ("raccoon-119.jpg", "raccoon-117.jpg", "raccoon-12.jpg", "raccoon-1.jpg")
#: Shift of the suggested boxes (image pixels): a stand-in for a detector's output.
SHIFT = 14.0
pytestmark = pytest.mark.browser


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    return path


def _suggested(boxes: list[dict[str, Any]], width: float) -> list[dict[str, Any]]:
    return [{**b, "x": min(b["x"] + SHIFT, width - b["w"])} for b in boxes]


@pytest.fixture
def raccoons(sqlite_workspace: Workspace, shared_data: Path, tmp_path: Path) -> pd.DataFrame:
    """Four raccoon images imported from their VOC files, each queued with its boxes and
    the boxes shifted right as the suggestion; a label book with a second class."""
    ws, source = sqlite_workspace, shared_data / "detection" / "raccoon"
    (tmp_path / "ann").mkdir()
    for image in IMAGES:
        shutil.copy(source / "annotations" / image.replace(".jpg", ".xml"), tmp_path / "ann")
    ws.import_dataset("raccoon", BoxSource(tmp_path / "ann", "voc", images=source / "images"),
                      task="detection")
    frame = ws.dataset("raccoon").to_pandas().set_index("item_id").loc[list(IMAGES)]
    given = [as_boxes(v) for v in frame["label"]]
    ws.labelbook.save("raccoon", {"dog": {"description": "a dog, not a raccoon"},
                                  "raccoon": {"description": "a raccoon, any pose"}},
                      message="two classes")
    ws.review.add("raccoon", pd.DataFrame({
        "item_id": list(IMAGES), "reason": "boxes disagree with the detector",
        "score": np.linspace(0.1, 0.4, len(IMAGES)), "given_label": given,
        "suggested_label": [_suggested(g, w) for g, w in zip(given, frame["width"], strict=True)],
    }), source="label_issue")
    add_user(ws, "rita", role="reviewer", password=PASSWORD)
    return frame


@pytest.fixture
def page(sqlite_workspace: Workspace, raccoons: pd.DataFrame) -> Iterator[tuple[Any, str]]:
    with serving(sqlite_workspace) as url, chromium_page(_chromium()) as tab:
        tab.set_viewport_size({"width": 1366, "height": 900})
        tab.goto(f"{url}/login")
        tab.fill("input[name=username]", "rita")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{url}/")
        yield tab, url


def _open(p: Any, url: str, ws: Workspace, image: str) -> dict[str, Any]:
    listed = ws.review.list("raccoon")
    entry = ws.review.get(int(listed.loc[listed["item_id"] == image, "id"].iloc[0]))
    p.goto(f"{url}/review/entry/{entry['id']}")
    p.wait_for_function("window.assayBoxes && window.assayBoxes.width > 0")
    p.eval_on_selector("#boxes-widget", "w => w.scrollIntoView()")
    return entry


def _screen(p: Any, x: float, y: float) -> tuple[float, float]:
    """Image pixels -> page coordinates of the overlay."""
    r = p.eval_on_selector("#boxes-svg", "s => { const b = s.getBoundingClientRect(); "
                           "return [b.x, b.y, b.width, b.height]; }")
    w, h = p.evaluate("[window.assayBoxes.width, window.assayBoxes.height]")
    return r[0] + x * r[2] / w, r[1] + y * r[3] / h


def _drag(p: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    p.mouse.move(*_screen(p, *start))
    p.mouse.down()
    p.mouse.move(*_screen(p, *end), steps=6)
    p.mouse.up()


def _posted(p: Any) -> list[dict[str, Any]]:
    return json.loads(p.input_value("#relabel"))


def _near(box: dict[str, Any], x: float, y: float, w: float, h: float, tol: float) -> bool:
    return all(abs(box[k] - v) <= tol for k, v in zip("xywh", (x, y, w, h), strict=True))


def test_edit_boxes_accept_and_apply(page: tuple[Any, str], sqlite_workspace: Workspace,
                                     raccoons: pd.DataFrame) -> None:
    p, url = page
    ws = sqlite_workspace
    entry = _open(p, url, ws, "raccoon-119.jpg")
    given = entry["given_label"]
    assert len(given) == 3
    assert p.locator("#boxes-svg g.box rect.frame").count() == len(given)
    assert p.locator("#boxes-svg g.suggested rect").count() == len(entry["suggested_label"])
    assert "Delete removes it" in p.inner_text(".labelbook .keys")
    assert p.locator("#boxes-svg g.box text").all_text_contents() == \
        ["1 raccoon", "2 raccoon", "3 raccoon"]
    # The image is shown scaled: one image pixel is not one screen pixel.
    px = p.evaluate("window.assayBoxes.scale()")
    assert abs(px - 1.0) > 0.01
    tol = 1.5 * px + 0.1  # a mouse position is a whole screen pixel

    p.focus("#note")
    p.keyboard.press("Tab")  # from the note field, Tab walks the boxes
    assert p.inner_text("#box-selected").startswith("box 1 (raccoon)")
    p.keyboard.press("Tab")
    assert p.inner_text("#box-selected").startswith("box 2 (raccoon)")
    p.keyboard.press("Escape")
    assert p.inner_text("#box-selected") == "no box selected"

    b1 = given[0]
    p.mouse.click(*_screen(p, b1["x"] + 40, b1["y"] + 40))  # select box 1
    assert p.locator("#boxes-svg rect.handle").count() == 8
    corner = (b1["x"] + b1["w"], b1["y"] + b1["h"])
    _drag(p, corner, (corner[0] - 40, corner[1] - 30))  # its bottom-right corner
    assert _near(_posted(p)[0], b1["x"], b1["y"], b1["w"] - 40, b1["h"] - 30, tol)

    p.keyboard.press("Escape")  # deselect; a digit now selects that box
    p.keyboard.press("3")
    assert p.inner_text("#box-selected").startswith("box 3 (raccoon)")
    p.keyboard.press("Delete")
    assert len(_posted(p)) == 2

    b2 = given[1]
    kept = _posted(p)
    p.mouse.move(*_screen(p, b2["x"] + 5, b2["y"] + 5))
    p.mouse.down()
    p.mouse.move(*_screen(p, b2["x"] + 60, b2["y"] - 50), steps=4)
    assert _posted(p) != kept  # the box follows the mouse...
    p.keyboard.press("Escape")  # ...until Esc puts it back
    p.mouse.up()
    assert _posted(p) == kept
    p.mouse.click(*_screen(p, b2["x"] + b2["w"] / 2, b2["y"] + b2["h"] / 2))
    p.keyboard.press("1")  # the first class of the label book: dog
    assert _posted(p)[1]["label"] == "dog"

    new = (40.0, 420.0, 150.0, 510.0)  # empty image area (400 x 533 px)
    _drag(p, new[:2], new[2:])
    p.keyboard.press("2")  # then pick its class: raccoon
    posted = _posted(p)
    assert len(posted) == 3 and posted[2]["label"] == "raccoon"
    assert _near(posted[2], new[0], new[1], new[2] - new[0], new[3] - new[1], tol)
    assert all(round(v, 1) == v for b in posted for v in (b["x"], b["y"], b["w"], b["h"]))
    changes = p.inner_text("#box-changes")
    assert changes == "3 boxes: 1 added, 1 removed, 1 moved, 1 class changed"
    p.eval_on_selector(".review h1", "h => h.scrollIntoView()")
    p.screenshot(path=str(REPO / "docs" / "screenshot-boxes.png"))  # for the README

    before = p.url
    p.keyboard.press("Enter")
    p.wait_for_url(lambda u: u != before)
    p.wait_for_load_state()
    assert p.locator("#decide-error").count() == 0, p.inner_text("#decide-error")
    decided = ws.review.get(entry["id"])
    assert decided["decision"] == "relabel" and decided["decision_label"] == posted

    version = apply_decisions(ws, "raccoon", user="rita")
    words = ws.diff(f"raccoon@v{version.parent_number}", version.ref).label_changes()
    assert len(words) == 1
    parts = words[0].split(": ", 1)[-1].split(", ")
    assert "box 1 moved" in parts[0] and "box 2 class changed raccoon -> dog" in parts
    assert "box 3 removed (raccoon)" in parts and "box added (raccoon)" in parts
    p.goto(f"{url}/datasets/raccoon/items/raccoon-119.jpg")
    assert "3 boxes: dog, raccoon ×2" in p.inner_text("main")
    p.goto(f"{url}/datasets/raccoon")
    assert p.locator("text=raccoon").count() > 0
    stored = ws.dataset("raccoon").to_pandas().set_index("item_id").loc["raccoon-119.jpg", "label"]
    assert as_boxes(stored) == posted


@pytest.mark.parametrize(("boxes", "message"), [
    ([{"label": "raccoon", "x": 600.0, "y": 10.0, "w": 90.0, "h": 50.0}], "outside the image"),
    ([{"label": "raccoon", "x": 10.0, "y": 10.0, "w": 0.0, "h": 50.0}], "positive width"),
])
def test_a_box_outside_the_image_or_of_zero_size_is_refused(
    page: tuple[Any, str], sqlite_workspace: Workspace, boxes: list[dict[str, Any]], message: str
) -> None:
    p, url = page
    entry = _open(p, url, sqlite_workspace, "raccoon-1.jpg")  # 650 x 417 pixels
    kept = _posted(p)
    # The widget clips what it draws; a hand-made set is what a bad client posts.
    p.eval_on_selector("#relabel", "(f, v) => { f.value = v; }", json.dumps(kept + boxes))
    p.keyboard.press("Enter")
    p.wait_for_selector("#decide-error")
    error = p.inner_text("#decide-error")
    assert message in error and "box 2" in error and "\n" not in error
    assert sqlite_workspace.review.get(entry["id"])["status"] == "open"
    p.wait_for_function("window.assayBoxes && window.assayBoxes.width > 0")
    shown = p.locator("#boxes-svg g.box rect.frame").count()
    assert shown == len(kept) + (1 if message == "outside the image" else 0)


def test_s_starts_from_the_suggested_boxes(page: tuple[Any, str],
                                           sqlite_workspace: Workspace) -> None:
    p, url = page
    entry = _open(p, url, sqlite_workspace, "raccoon-117.jpg")
    p.keyboard.press("s")
    assert _posted(p) == entry["suggested_label"]
    assert p.inner_text("#box-changes") == "2 boxes: 2 added, 2 removed"
    before = p.url
    p.keyboard.press("Enter")
    p.wait_for_url(lambda u: u != before)
    assert sqlite_workspace.review.get(entry["id"])["decision_label"] == entry["suggested_label"]


def test_check_in_image_edges() -> None:
    inside = [{"label": "a", "x": 0.0, "y": 0.0, "w": 650.0, "h": 417.0}]
    check_in_image(inside, 650, 417)  # touching every edge is inside
    for x, y, w, h in ((-0.1, 0, 10, 10), (0, -0.1, 10, 10), (640.1, 0, 10, 10), (0, 407.1, 10, 10)):
        with pytest.raises(InputError, match=r"^box 2 \(a\) spans .* outside the image \(650 x 417"):
            check_in_image(inside + [{"label": "a", "x": x, "y": y, "w": w, "h": h}], 650, 417)
