"""Box review keys past class 9 and readable captions on a crowded image, in a real
browser (Playwright driving Debian's chromium), on the real chess photo of ``valid/``
with the most boxes (Roboflow Chess Pieces, 12 classes).

Classes 10+ are typed as two digits in quick succession (1 then 2 = class 12); a single
digit still picks its class once the wait is over. Captions of neighbouring boxes do
not overlap (each is moved inside or below its box when the place above is taken).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from webhelpers import PASSWORD, chromium_page, serving

from assay.store.box_formats.dataset import BoxSource
from assay.store.users import add_user
from assay.store.workspace import Workspace
from assay.tasks.detection import as_boxes

pytestmark = pytest.mark.browser


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    return path


@pytest.fixture
def crowded(sqlite_workspace: Workspace, shared_data: Path, tmp_path: Path) -> dict[str, Any]:
    """The photo with the most boxes, imported alone and queued with its boxes."""
    folder = shared_data / "detection" / "chess-pieces" / "valid"
    coco = json.loads((folder / "_annotations.coco.json").read_text())
    counts = pd.Series([a["image_id"] for a in coco["annotations"]]).value_counts()
    image = next(i for i in coco["images"] if i["id"] == int(counts.index[0]))
    notes = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
    path = tmp_path / "crowded.json"
    path.write_text(json.dumps({**coco, "images": [image], "annotations": notes}))
    ws = sqlite_workspace
    ws.import_dataset("chess", BoxSource(path, "coco", images=folder), task="detection")
    frame = ws.dataset("chess").to_pandas()
    given = as_boxes(frame["label"].iloc[0])
    ws.review.add("chess", pd.DataFrame({
        "item_id": [frame["item_id"].iloc[0]], "reason": "check the boxes", "score": [0.2],
        "given_label": [given], "suggested_label": [given],
    }), source="label_issue")
    add_user(ws, "rita", role="reviewer", password=PASSWORD)
    return {"n_boxes": len(given), "entry": int(ws.review.list("chess")["id"].iloc[0])}


@pytest.fixture
def page(sqlite_workspace: Workspace, crowded: dict[str, Any]) -> Iterator[tuple[Any, str]]:
    with serving(sqlite_workspace) as url, chromium_page(_chromium()) as tab:
        tab.set_viewport_size({"width": 1366, "height": 900})
        tab.goto(f"{url}/login")
        tab.fill("input[name=username]", "rita")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{url}/")
        tab.goto(f"{url}/review/entry/{crowded['entry']}")
        tab.wait_for_function("window.assayBoxes && window.assayBoxes.width > 0")
        yield tab, url


def _posted(p: Any) -> list[dict[str, Any]]:
    return json.loads(p.input_value("#relabel"))


def test_two_digit_class_keys(page: tuple[Any, str], crowded: dict[str, Any]) -> None:
    p, _ = page
    names = p.evaluate("window.assayBoxes.names")
    assert len(names) >= 12 and crowded["n_boxes"] >= 10
    assert "1 then 2 = 12" in p.inner_text(".labelbook .keys")
    p.eval_on_selector("#boxes-widget", "w => w.scrollIntoView()")
    p.keyboard.press("2")  # 10+ boxes: 2 waits for a second digit, then box 2
    p.wait_for_timeout(900)
    assert p.inner_text("#box-selected").startswith("box 2 ")
    p.keyboard.press("1")
    p.keyboard.press("2")
    p.wait_for_timeout(100)
    assert _posted(p)[1]["label"] == names[11]
    p.keyboard.press("1")
    p.keyboard.press("0")
    p.wait_for_timeout(100)
    assert _posted(p)[1]["label"] == names[9]
    p.keyboard.press("3")  # 3 cannot start a class number (12 classes): at once
    p.wait_for_timeout(100)
    assert _posted(p)[1]["label"] == names[2]


def test_captions_do_not_overlap(page: tuple[Any, str], crowded: dict[str, Any]) -> None:
    p, _ = page
    rects = p.eval_on_selector_all(
        "#boxes-svg g.box text",
        "ts => ts.map(t => { const b = t.getBoundingClientRect(); "
        "return [b.left, b.top, b.right, b.bottom]; })",
    )
    assert len(rects) == crowded["n_boxes"]
    overlaps = [
        (i, j)
        for i, a in enumerate(rects)
        for j, b in enumerate(rects[:i])
        if a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1
    ]
    assert not overlaps, overlaps
