"""The transcript widget without a browser: the word differences it marks (server-side
alignment), how it shows a transcript against another, and how the dataset page counts
transcripts."""

from __future__ import annotations

import pyarrow as pa
import pytest

from assay.tasks import get_task
from assay.web.transcript_view import edit_counts, length_counts, word_diff
from assay.web.widgets import TranscriptWidget, widget_for


def _ops(tokens: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(t["op"], t["word"]) for t in tokens]


def test_substitution_deletion_and_insertion_are_marked_on_their_side() -> None:
    given, suggested = word_diff("the cat sat on a mat today", "the black cat sat on the mat")
    assert _ops(given) == [
        ("same", "the"),
        ("same", "cat"),
        ("same", "sat"),
        ("same", "on"),
        ("sub", "a"),
        ("same", "mat"),
        ("del", "today"),
    ]
    assert _ops(suggested) == [
        ("same", "the"),
        ("ins", "black"),
        ("same", "cat"),
        ("same", "sat"),
        ("same", "on"),
        ("sub", "the"),
        ("same", "mat"),
        ("del", "today"),
    ]
    assert suggested[5]["was"] == "a"
    assert edit_counts(suggested) == {"sub": 1, "ins": 1, "del": 1}


def test_slide_nine_filler_and_apostrophe() -> None:
    given, suggested = word_diff("um today's weather", "today's weather")
    assert _ops(given) == [("del", "um"), ("same", "today's"), ("same", "weather")]
    assert _ops(suggested)[1:] == [("same", "today's"), ("same", "weather")]
    given, suggested = word_diff("todays weather", "today's weather")
    assert _ops(given)[0] == ("sub", "todays") and _ops(suggested)[0] == ("sub", "today's")


@pytest.mark.parametrize(("a", "b"), [("", ""), ("", "new words"), ("old words", "")])
def test_empty_sides(a: str, b: str) -> None:
    given, suggested = word_diff(a, b)
    assert [t["word"] for t in given] == a.split()
    assert [t["word"] for t in suggested if t["op"] != "del"] == b.split()


def test_the_task_names_the_widget_and_show_describes_the_change() -> None:
    widget = widget_for(get_task("transcript"))
    assert isinstance(widget, TranscriptWidget)
    shown = widget.show("today's fine weather", "um todays weather")
    assert shown["text"] == "today's fine weather" and shown["chips"] is None
    assert shown["delta"] == "'um todays' -> 'today's fine'"  # one rewritten run
    assert [t["op"] for t in shown["words"]] == ["sub", "sub", "same"]
    shown = widget.show("today's weather", "um today's weather")
    assert shown["delta"] == "removed 'um'"
    assert [t["op"] for t in shown["words"]] == ["del", "same", "same"]
    assert widget.show("same words", "same words")["delta"] is None
    assert widget.show(None) == {"text": "", "chips": None, "delta": None}


def test_clips_are_counted_by_their_number_of_words() -> None:
    column = pa.chunked_array([["one", "one two", "a b c d e f g h i j k l m n", None]])
    counts = length_counts(column, bins=3)
    assert sum(c["count"] for c in counts) == 3
    assert counts[0] == {"label": "1-5 words", "count": 2}
    assert counts[-1]["label"] == "11-14 words"
    assert length_counts(pa.chunked_array([pa.array([], pa.string())])) == []
