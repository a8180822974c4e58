"""Review of transcripts in a real browser (Playwright driving Debian's chromium) on real
read speech (Mini LibriSpeech clips): the page plays the clip with the keyboard, shows
the given and the suggested transcript with their word differences marked (aligned on
the server), and the reviewer edits the text and relabels with Enter, or accepts the
suggestion with ``a``; the decisions are stored and applied as a word-level diff. The
README screenshot goes to ``docs/screenshot-transcript.png``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from webhelpers import PASSWORD, chromium_page, serving

from assay.store.transcript_import import TranscriptSource
from assay.store.users import add_user
from assay.store.workspace import Workspace
from assay.workflows.review import apply_decisions

REPO = Path(__file__).resolve().parents[2]
#: Four real clips (Mini LibriSpeech) and the edits planted in their given transcripts.
CLIPS = ("19-198-0001.wav", "118-47824-0022.wav", "118-47824-0030.wav", "19-198-0037.wav")
pytestmark = pytest.mark.browser
AUDIO = "document.getElementById('transcript-audio')"


def _until(p: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll ``expression`` in the page until it is true (the page's content security
    policy forbids the string predicates of ``wait_for_function`` while polling)."""
    deadline = time.monotonic() + timeout
    while not p.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not on PATH (apt-get install -y chromium)")
    return path


def corrupt(true: str) -> str:
    """The given transcript: the third word substituted (``THE`` for it, or ``A``), the
    fifth dropped and a filler ``UM`` in front (slide 9's conventions and real slips)."""
    words = true.split()
    words[2] = "A" if words[2] == "THE" else "THE"
    del words[4]
    return " ".join(["UM", *words])


@pytest.fixture
def clips(sqlite_workspace: Workspace, shared_data: Path, tmp_path: Path) -> pd.DataFrame:
    """The four clips as a transcript dataset (their given transcripts corrupted), each
    queued with the true transcript as the suggestion."""
    source = shared_data / "speech" / "mini-librispeech"
    table = pd.read_csv(source / "transcripts.csv")
    table = table[table["file"].str.removeprefix("wav/").isin(CLIPS)].copy()
    (tmp_path / "clips").mkdir()
    for f in table["file"]:
        shutil.copy(source / f, tmp_path / "clips")
    table["file"] = table["file"].str.removeprefix("wav/")
    table["truth"] = table["transcript"]
    table["transcript"] = [corrupt(t) for t in table["truth"]]
    table[["file", "transcript", "speaker"]].to_csv(tmp_path / "clips" / "typed.csv", index=False)
    ws = sqlite_workspace
    ws.import_dataset(
        "speech",
        TranscriptSource(tmp_path / "clips" / "typed.csv"),
        task="transcript",
        label="transcript",
        tags=["speaker"],
    )
    first = ws.dataset("speech").to_pandas()
    truth = dict(zip(table["file"].str.removesuffix(".wav"), table["truth"], strict=True))
    first["label"] = first["transcript"]
    first["truth"] = first["item_id"].map(truth)
    ws.review.add(
        "speech",
        pd.DataFrame(
            {
                "item_id": first["item_id"],
                "reason": "the recogniser disagrees",
                "score": [0.1 * (i + 1) for i in range(len(first))],
                "given_label": first["label"],
                "suggested_label": first["truth"],
            }
        ),
        source="label_issue",
    )
    add_user(ws, "rita", role="reviewer", password=PASSWORD)
    return first.set_index("item_id")


@pytest.fixture
def page(sqlite_workspace: Workspace, clips: pd.DataFrame) -> Iterator[tuple[Any, str]]:
    with serving(sqlite_workspace) as url, chromium_page(_chromium()) as tab:
        tab.set_viewport_size({"width": 1280, "height": 900})
        tab.goto(f"{url}/login")
        tab.fill("input[name=username]", "rita")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{url}/")
        yield tab, url


def _open(p: Any, url: str, ws: Workspace, clip: str) -> dict[str, Any]:
    listed = ws.review.list("speech")
    row = listed[listed["item_id"].astype(str) == clip.removesuffix(".wav")]
    entry = ws.review.get(int(row["id"].iloc[0]))
    p.goto(f"{url}/review/entry/{entry['id']}")
    _until(p, "window.assayTranscript !== undefined")
    return entry


def _marked(p: Any, side: str) -> dict[str, list[str]]:
    """The words of one side of the comparison, by how they are marked."""
    out: dict[str, list[str]] = {}
    for el in p.locator(f"#{side}-words .w").all():
        out.setdefault(el.get_attribute("data-op"), []).append(el.inner_text())
    return out


def test_diff_marks_the_planted_words(
    page: tuple[Any, str], sqlite_workspace: Workspace, clips: pd.DataFrame
) -> None:
    p, url = page
    entry = _open(p, url, sqlite_workspace, CLIPS[0])
    true = clips.loc[entry["item_id"], "truth"].split()
    given = _marked(p, "given")
    suggested = _marked(p, "suggested")
    # given "UM w0 w1 X w3 w5 ...": UM is dropped by the suggestion, X replaced by w2;
    # the suggestion adds w4 back
    assert given["del"] == ["UM"] and given["sub"] == [entry["given_label"].split()[3]]
    assert suggested["sub"] == [true[2]] and suggested["ins"] == [true[4]]
    assert suggested["del"] == ["UM"]  # shown struck where it went
    assert " ".join(given["same"]) == " ".join(true[:2] + true[3:4] + true[5:])
    assert p.inner_text("#diff-counts") == "1 substituted · 1 dropped · 1 added"
    title = p.get_attribute("#suggested-words mark.sub", "title")
    assert title == f"was: {entry['given_label'].split()[3]}"
    # the suggestion line above the item says the same change in words
    assert p.locator("#suggested ins.ins").all_inner_texts() == [true[4]]


def test_play_edit_and_relabel_with_the_keyboard(
    page: tuple[Any, str], sqlite_workspace: Workspace, clips: pd.DataFrame
) -> None:
    p, url = page
    ws = sqlite_workspace
    entry = _open(p, url, ws, CLIPS[1])
    assert "space or k = play/pause" in p.inner_text(".labelbook .keys")
    _until(p, f"{AUDIO}.readyState >= 1")
    p.locator("body").click(position={"x": 5, "y": 5})  # nothing focused
    p.keyboard.press("k")
    _until(p, f"!{AUDIO}.paused && {AUDIO}.currentTime > 0.3")
    assert p.inner_text("#play").endswith("pause")
    assert ws.review.get(entry["id"])["status"] == "open"  # k played, it did not keep
    p.keyboard.press(" ")
    _until(p, f"{AUDIO}.paused")
    stopped = p.evaluate(f"{AUDIO}.currentTime")
    p.keyboard.press("ArrowLeft")
    assert p.evaluate(f"{AUDIO}.currentTime") == pytest.approx(max(stopped - 2, 0), abs=0.05)

    p.keyboard.press("e")  # into the field, at the end of the given text
    assert p.evaluate("document.activeElement.id") == "relabel"
    assert p.inner_text("#edit-state") == "same as the given transcript"
    fixed = clips.loc[entry["item_id"], "truth"].lower()
    p.keyboard.press("Control+a")
    p.keyboard.type(fixed)
    assert p.inner_text("#edit-state") == "edited: differs from the given transcript"
    p.keyboard.press("k")  # typing: a letter, not play/pause
    p.keyboard.press("Backspace")
    assert p.input_value("#relabel") == fixed
    p.eval_on_selector(".review h1", "h => h.scrollIntoView()")
    p.screenshot(path=str(REPO / "docs" / "screenshot-transcript.png"))  # for the README

    before = p.url
    p.keyboard.press("Enter")
    p.wait_for_url(lambda u: u != before)
    p.wait_for_load_state()
    assert p.locator("#decide-error").count() == 0
    decided = ws.review.get(entry["id"])
    assert decided["decision"] == "relabel" and decided["decision_label"] == fixed
    assert decided["decided_by"] == "rita"

    version = apply_decisions(ws, "speech", user="rita")
    stored = ws.dataset("speech").to_pandas().set_index("item_id")
    assert stored.loc[entry["item_id"], "transcript"] == fixed
    p.goto(f"{url}/datasets/speech/diff?a={version.parent_number}&b={version.number}")
    assert p.locator("main ins.ins, main mark.sub, main del.del").count() > 0


def test_a_accepts_the_suggestion(
    page: tuple[Any, str], sqlite_workspace: Workspace, clips: pd.DataFrame
) -> None:
    p, url = page
    entry = _open(p, url, sqlite_workspace, CLIPS[2])
    before = p.url
    p.keyboard.press("a")
    p.wait_for_url(lambda u: u != before)
    decided = sqlite_workspace.review.get(entry["id"])
    assert decided["decision"] == "relabel"
    assert decided["decision_label"] == entry["suggested_label"]


def test_shift_k_keeps_and_an_empty_text_is_refused(
    page: tuple[Any, str], sqlite_workspace: Workspace
) -> None:
    p, url = page
    ws = sqlite_workspace
    entry = _open(p, url, ws, CLIPS[3])
    p.fill("#relabel", "   ")
    p.focus("#relabel")
    p.keyboard.press("Control+Enter")
    p.wait_for_selector("#decide-error")
    assert "\n" not in p.inner_text("#decide-error")
    assert ws.review.get(entry["id"])["status"] == "open"
    _until(p, "window.assayTranscript !== undefined")
    p.locator("body").click(position={"x": 5, "y": 5})
    before = p.url
    p.keyboard.press("Shift+K")
    p.wait_for_url(lambda u: u != before)
    assert ws.review.get(entry["id"])["decision"] == "keep"
