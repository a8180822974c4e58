"""Transcribers who hear the same words but type them by different conventions (slide 9),
simulated from real transcripts; shared by the tests and
``benchmarks/transcript_normalisation.py``.

A transcriber types the true text (upper case, no punctuation but apostrophes: the
LibriSpeech style) by its own conventions, each stated:

* ``case``: ``upper`` (as given), ``lower``, or ``sentence`` (first letter capital);
* ``filler``: the share of clips it starts with a filler, "Um," or "uh" (they heard one);
* ``apostrophes``: ``drop`` types TODAY'S as TODAYS;
* ``commas``: the probability of a comma after a word, and a full stop at the end;
* ``digits``: numbers written as digits (EIGHTEEN -> 18, TWENTY ONE -> 21).

Independently of its conventions it mishears words at ``errors`` per word (a random
corpus word instead): the real disagreement, which no convention removes. A clip on which
neither of two transcribers misheard a word differs only by convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from assay.collect.normalisation import words_to_numbers

#: The label book that removes every convention above.
NORMALISATION = {
    "fillers": ["um", "uh"],
    "apostrophes": "drop",
    "case": "lower",
    "punctuation": "drop",
    "numbers": "digits",
}


@dataclass(frozen=True)
class Style:
    """One transcriber's conventions and real error rate."""

    case: str = "upper"
    filler: float = 0.0
    apostrophes: str = "keep"
    commas: float = 0.0
    digits: bool = False
    errors: float = 0.0


#: Three transcribers of slide 9, each with its conventions, and a small error rate.
STYLES = {
    "ann": Style(case="sentence", filler=0.4, commas=0.1, errors=0.02),
    "ben": Style(case="lower", filler=0.3, apostrophes="drop", digits=True, errors=0.02),
    "cat": Style(case="upper", apostrophes="drop", commas=0.05, errors=0.02),
}


def _case(text: str, case: str) -> str:
    if case == "lower":
        return text.lower()
    if case == "sentence":
        return text[:1].upper() + text[1:].lower()
    return text


def typed(rng: np.random.Generator, truth: str, style: Style, vocab: list[str]) -> tuple[str, bool]:
    """One transcription of ``truth`` and whether it has a real (misheard) word."""
    words = truth.split()
    misheard = False
    for k in range(len(words)):
        if rng.random() < style.errors:
            other = vocab[rng.integers(len(vocab))]
            misheard |= other != words[k]
            words[k] = other
    if style.digits:
        words = words_to_numbers(" ".join(words)).split()
    if style.apostrophes == "drop":
        words = [w.replace("'", "") or w for w in words]
    words = [
        w + "," if rng.random() < style.commas and i < len(words) - 1 else w
        for i, w in enumerate(words)
    ]
    if rng.random() < style.filler:
        words = [rng.choice(["UM,", "UH"]), *words]
    text = " ".join(words) + ("." if style.commas > 0 else "")
    return _case(text, style.case), misheard


def simulate(
    transcripts: list[str], styles: dict[str, Style] = STYLES, seed: int = 0
) -> pd.DataFrame:
    """Every transcriber types every clip: ``item``, ``annotator``, ``label``, ``misheard``.

    Parameters
    ----------
    transcripts : list of str
        The true transcripts, clip ``c<i>`` for position ``i``.
    """
    rng = np.random.default_rng(seed)
    vocab = sorted({w for t in transcripts for w in t.split()})
    rows = []
    for i, truth in enumerate(transcripts):
        for name, style in styles.items():
            text, misheard = typed(rng, truth, style, vocab)
            rows.append({"item": f"c{i}", "annotator": name, "label": text, "misheard": misheard})
    return pd.DataFrame(rows)


def convention_only_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Annotator pairs on a clip whose texts differ while neither misheard a word:
    ``item``, ``annotator_a``, ``annotator_b`` (``a < b``)."""
    merged = frame.merge(frame, on="item", suffixes=("_a", "_b"))
    merged = merged[merged["annotator_a"] < merged["annotator_b"]]
    only = ~merged["misheard_a"] & ~merged["misheard_b"] & (merged["label_a"] != merged["label_b"])
    return merged.loc[only, ["item", "annotator_a", "annotator_b"]].reset_index(drop=True)
