"""A label book's transcription conventions, applied to texts before they are compared.

Transcribers who hear the same words may still type different texts: "Um, today's
weather", "Um todays weather", "Todays weather" (slide 9). Once the team agrees on a
convention and writes it into the label book, texts are compared after applying it, and
the disagreement that was only about conventions disappears. :class:`Normalisation` is
that convention, stored as the label book's ``normalisation`` section::

    {"fillers": ["um", "uh"], "apostrophes": "drop", "case": "lower",
     "punctuation": "drop", "numbers": "digits", "words": {"oh": "zero"}}

Steps, in this order: punctuation (``drop``: everything but letters, digits, spaces and
apostrophes inside words), words (each word spelled as a key, in any case, replaced by
its value: ``{"oh": "zero", "o'clock": "oclock"}``), apostrophes (``drop``: ``today's`` -> ``todays``), fillers
(whole words, any case, dropped), numbers (``digits``: ``twenty one`` -> ``21``;
``words``: ``21`` -> ``twenty one``; whole numbers up to 999,999), case (``lower`` or
``upper``), and runs of whitespace collapsed. ``keep`` (the default) leaves a convention
as typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assay.exceptions import InputError

__all__ = ["CHOICES", "Normalisation", "as_normalisation", "number_to_words", "words_to_numbers"]

#: The allowed values of each convention (the first is the default).
CHOICES: dict[str, tuple[str, ...]] = {
    "apostrophes": ("keep", "drop"),
    "case": ("keep", "lower", "upper"),
    "punctuation": ("keep", "drop"),
    "numbers": ("keep", "digits", "words"),
}
_PUNCT = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)|_")
_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = {"hundred": 100, "thousand": 1000}
_VALUES = {w: i for i, w in enumerate(_ONES)} | {w: 10 * i for i, w in enumerate(_TENS) if i > 1}
_NUMBER_WORDS = frozenset(_VALUES) | frozenset(_SCALES)


def number_to_words(n: int) -> str:
    """``21`` -> ``twenty one``, ``105`` -> ``one hundred five`` (0 <= n <= 999,999)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    rest = n % 1000
    return (
        number_to_words(n // 1000)
        + " thousand"
        + ("" if rest == 0 else " " + number_to_words(rest))
    )


def _parse_number(words: list[str]) -> int | None:
    """The value of a run of number words (``twenty one``), or None if not a number."""
    total = current = 0
    last = None
    for word in words:
        if word in _VALUES:
            value = _VALUES[word]
            if last == "unit" or (last == "ten" and (value >= 10 or value == 0)):
                return None
            current += value
            last = "ten" if value >= 20 else "unit"
        elif word == "hundred" and 0 < current < 10:
            current, last = current * 100, "scale"
        elif word == "thousand" and 0 < current + total < 1000 and total == 0:
            total, current, last = (current or 1) * 1000, 0, "scale"
        else:
            return None
    return total + current


def words_to_numbers(text: str) -> str:
    """Runs of number words as digits: ``twenty one pages`` -> ``21 pages`` (the longest
    run that reads as one number; ``and`` inside a number is dropped)."""
    tokens = text.split()
    low = [t.lower() for t in tokens]
    out, i = [], 0
    while i < len(tokens):
        end = i
        while end < len(tokens) and (low[end] in _NUMBER_WORDS or (end > i and low[end] == "and")):
            end += 1
        found = _longest_number(low, i, end)
        if found is None:
            out.append(tokens[i])
            i += 1
        else:
            value, i = found
            out.append(str(value))
    return " ".join(out)


def _longest_number(low: list[str], start: int, end: int) -> tuple[int, int] | None:
    """The value of the longest run ``low[start:k]`` (``k <= end``) that reads as one
    number, and ``k``; None when none does."""
    for k in range(end, start, -1):
        if low[k - 1] == "and":
            continue
        value = _parse_number([w for w in low[start:k] if w != "and"])
        if value is not None:
            return value, k
    return None


def _digits_to_words(text: str) -> str:
    return re.sub(r"\b\d{1,6}\b", lambda m: number_to_words(int(m.group())), text)


@dataclass(frozen=True)
class Normalisation:
    """The label book's transcription conventions (see the module docstring).

    Attributes
    ----------
    fillers : tuple of str
        Words dropped wherever they stand (any case).
    words : tuple of (str, str) pairs
        Word mapping: a word spelled as the first (any case) becomes the second.
    apostrophes, case, punctuation, numbers : str
        One of :data:`CHOICES` each; ``keep`` leaves the text as typed.
    """

    fillers: tuple[str, ...] = field(default=())
    apostrophes: str = "keep"
    case: str = "keep"
    punctuation: str = "keep"
    numbers: str = "keep"
    words: tuple[tuple[str, str], ...] = field(default=())

    def apply(self, text: str) -> str:
        """``text`` under these conventions."""
        if self.punctuation == "drop":
            text = _PUNCT.sub(" ", text)
        if self.words:
            mapping = dict(self.words)
            text = " ".join(mapping.get(w.lower(), w) for w in text.split())
        if self.apostrophes == "drop":
            text = text.replace("'", "").replace("\u2019", "")
        if self.fillers:
            wanted = {f.lower() for f in self.fillers}
            text = " ".join(w for w in text.split() if w.lower().strip(",.;:!?") not in wanted)
        if self.numbers == "digits":
            text = words_to_numbers(text)
        elif self.numbers == "words":
            text = _digits_to_words(text)
        if self.case == "lower":
            text = text.lower()
        elif self.case == "upper":
            text = text.upper()
        return " ".join(text.split())

    def apply_all(self, texts: Sequence[str]) -> list[str]:
        """Every text of ``texts`` under these conventions."""
        return [self.apply(t) for t in texts]

    @property
    def is_identity(self) -> bool:
        """Whether every convention is ``keep`` and no filler is dropped."""
        return self == Normalisation()

    def to_dict(self) -> dict[str, Any]:
        """The label book's ``normalisation`` section."""
        return {
            "fillers": list(self.fillers),
            "apostrophes": self.apostrophes,
            "case": self.case,
            "punctuation": self.punctuation,
            "numbers": self.numbers,
            "words": dict(self.words),
        }

    def describe(self) -> str:
        """One line: ``drop fillers (um, uh); drop apostrophes; lower case``."""
        parts = [f"drop fillers ({', '.join(self.fillers)})"] if self.fillers else []
        for name in CHOICES:
            value = getattr(self, name)
            if value != "keep":
                parts.append(
                    f"{value} case"
                    if name == "case"
                    else f"numbers as {value}"
                    if name == "numbers"
                    else f"{value} {name}"
                )
        if self.words:
            pairs = [f"{k} -> {v}" for k, v in self.words[:3]]
            more = f", +{len(self.words) - 3}" if len(self.words) > 3 else ""
            parts.append(f"words {', '.join(pairs)}{more}")
        return "; ".join(parts) or "texts compared as typed"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "normalisation") -> Normalisation:
        """Read a ``normalisation`` section, checking every key and value.

        Raises
        ------
        InputError
            An unknown key, a value outside :data:`CHOICES`, fillers that are not words.
        """
        if not isinstance(data, Mapping):
            raise InputError(
                f"{where} must be a mapping of conventions, got {type(data).__name__}."
            )
        unknown = sorted(set(data) - {"fillers", "words", *CHOICES})
        if unknown:
            raise InputError(
                f"{where}: unknown convention {unknown[0]!r}; give fillers, words, "
                f"{', '.join(CHOICES)}."
            )
        values = {k: str(data[k]) for k in CHOICES if k in data and data[k] is not None}
        for key, value in values.items():
            if value not in CHOICES[key]:
                raise InputError(
                    f"{where}: {key} must be one of {', '.join(CHOICES[key])}; got {value!r}."
                )
        return cls(
            fillers=_fillers(data.get("fillers") or (), where),
            words=_word_map(data.get("words") or {}, where),
            **values,
        )


def _fillers(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{where}: fillers must be a list of words, e.g. ["um", "uh"].')
    words = tuple(v.strip().lower() for v in value if v.strip())
    bad = [w for w in words if len(w.split()) != 1]
    if bad:
        raise InputError(f"{where}: filler {bad[0]!r} is not one word; list each filler word.")
    return words


def _word_map(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """The ``words`` mapping as (lower-case word, replacement) pairs, checked."""
    example = '{"oh": "zero", "o\'clock": "oclock"}'
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: words must map a word to its spelling, e.g. {example}.")
    pairs = []
    for key, new in value.items():
        if not isinstance(key, str) or len(key.split()) != 1:
            raise InputError(
                f"{where}: words key {key!r} is not one word; map each word, e.g. {example}."
            )
        if not isinstance(new, (str, int)) or not str(new).strip():
            raise InputError(
                f"{where}: words maps {key!r} to {new!r}; give its spelling as "
                "text (list words to drop under fillers)."
            )
        pairs.append((key.strip().lower(), " ".join(str(new).split())))
    return tuple(pairs)


def as_normalisation(value: Any) -> Normalisation | None:
    """A :class:`Normalisation` from one, from its section, or from a whole label book
    (a mapping with a ``normalisation`` key, or an object with ``normalisation``);
    None for None or a label book without the section."""
    if value is None or isinstance(value, Normalisation):
        return value
    section = getattr(value, "normalisation", None)
    if section is None and isinstance(value, Mapping):
        section = value.get("normalisation", None if "classes" in value else value)
    if section is None:
        return None
    return section if isinstance(section, Normalisation) else Normalisation.from_dict(section)
