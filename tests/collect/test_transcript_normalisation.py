"""A label book's transcription conventions: the normalisation itself, agreement before
and after it on transcripts simulated from real read speech, and the label book section."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.collect.speech_conventions import NORMALISATION, convention_only_pairs, simulate
from tests.collect.speech_transcribers import SPEECH, clips

from assay.collect import transcript_agreement
from assay.collect.normalisation import Normalisation, number_to_words, words_to_numbers
from assay.collect.transcript_report import transcript_agreement_report
from assay.exceptions import InputError
from assay.store.workspace import Workspace

SLIDE_9 = pd.DataFrame(
    {
        "item": ["c1"] * 3,
        "annotator": ["a", "b", "c"],
        "label": ["Um, today's weather", "Um todays weather", "Todays weather"],
    }
)


def test_each_convention() -> None:
    n = Normalisation.from_dict(NORMALISATION)
    assert {n.apply(t) for t in SLIDE_9["label"]} == {"todays weather"}
    assert (
        n.apply("I paid twenty one pounds, and fifty pence...") == "i paid 21 pounds and 50 pence"
    )
    words = Normalisation(numbers="words")
    assert words.apply("room 105 of 2300") == "room one hundred five of two thousand three hundred"
    assert words_to_numbers("one two three") == "1 2 3"
    assert words_to_numbers("a hundred and one") == "a hundred and 1"
    assert words_to_numbers("one hundred and one nights") == "101 nights"
    for k in (0, 7, 19, 20, 42, 100, 999, 1000, 21_305, 999_999):
        assert words_to_numbers(number_to_words(k)) == str(k)
    assert Normalisation().apply("  As  typed, Um. ") == "As typed, Um."
    assert Normalisation().is_identity and not n.is_identity


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"case": "title"}, "case must be one of keep, lower, upper; got 'title'"),
        ({"filler": ["um"]}, "unknown convention 'filler'"),
        ({"fillers": "um, you know"}, None),
        ({"fillers": [1]}, "fillers must be a list of words"),
    ],
)
def test_a_bad_section_is_one_line(section: dict, message: str | None) -> None:
    if message is None:
        assert Normalisation.from_dict(section).fillers == ("um", "you", "know")
        return
    with pytest.raises(InputError, match=message):
        Normalisation.from_dict(section)


@pytest.mark.skipif(not SPEECH.is_dir(), reason="the shared speech set is missing")
def test_convention_only_disagreements_vanish_on_real_transcripts() -> None:
    frame = simulate(clips(), seed=3)
    report = transcript_agreement_report(frame, labelbook=NORMALISATION)
    conventions_only = convention_only_pairs(frame)
    assert len(conventions_only) > 50
    assert report.normalised_rates is not None
    after = report.normalised_rates.pair_rows.set_index(["item", "annotator_a", "annotator_b"])
    keys = list(conventions_only.itertuples(index=False, name=None))
    assert (after.loc[keys, "word_errors"] == 0).all()  # every one of them vanished
    assert report.vanished == len(conventions_only)
    assert report.normalised_rates.wer < 0.1 < report.rates.wer
    agreement = transcript_agreement(
        frame[["item", "annotator", "label"]], labelbook={"normalisation": NORMALISATION}
    )
    assert agreement.normalised is not None
    assert agreement.normalised.krippendorff_alpha > 0.9 > agreement.krippendorff_alpha
    assert "after the label book's normalisation" in agreement.summary()


def test_the_label_book_holds_the_normalisation(tmp_path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    ws.import_dataset(
        "s",
        pd.DataFrame({"item_id": ["a", "b"], "t": ["x y", "z"]}),
        label="t",
        id="item_id",
        task="transcript",
    )
    book = tmp_path / "book.yaml"
    book.write_text("normalisation:\n  fillers: [um]\n  case: lower\n")
    first = ws.labelbook.save_file("s", book)
    assert first.classes == {} and first.normalisation["case"] == "lower"
    assert first.normalisation["fillers"] == ["um"]
    assert "lower case" in first.to_markdown()
    book.write_text("normalisation:\n  fillers: [um, uh]\n  case: lower\n  numbers: digits\n")
    ws.labelbook.save_file("s", book)
    delta = ws.labelbook.diff("s", 1, 2)
    assert delta["normalisation"] == {
        "fillers": {"old": ["um"], "new": ["um", "uh"]},
        "numbers": {"old": "keep", "new": "digits"},
    }
    book.write_text("normalisation:\n  case: sideways\n")
    with pytest.raises(InputError, match="book.yaml, normalisation: case must be one of"):
        ws.labelbook.save_file("s", book)
    assert len(ws.labelbook.versions("s")) == 2


def test_word_mapping() -> None:
    """``words``: a word spelled as a key (any case, after punctuation) becomes its value,
    before apostrophes, numbers and case; bad mappings are one line each."""
    from assay.collect.normalisation import Normalisation

    book = Normalisation.from_dict(
        {"words": {"oh": "zero", "o'clock": "oclock"}, "numbers": "digits", "case": "lower",
         "punctuation": "drop", "apostrophes": "drop"}
    )
    assert book.apply("Oh, seven O'clock!") == "0 7 oclock"
    assert book.to_dict()["words"] == {"oh": "zero", "o'clock": "oclock"}
    assert "words oh -> zero" in book.describe()
    for bad, message in (({"oh no": "x"}, "not one word"), ({"oh": ""}, "give its spelling"),
                         (["oh"], "must map a word")):
        with pytest.raises(InputError, match=message):
            Normalisation.from_dict({"words": bad})
