"""Which text conventions would make annotators of free text agree?

The seed example: "Um, today's weather" / "Um today's weather" / "Today's weather". The
three annotators differ only in punctuation, in filler words and in case; writing those
conventions into the label book removes the disagreement. :func:`convention_report`
counts, for every pair of annotators that typed different texts for the same item, the
smallest set of normalisations that makes the two texts equal.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assay._validation import Integral, Interval, check_columns, validate_params
from assay.collect._stats import annotation_pairs
from assay.collect.annotations import encode_annotations

__all__ = ["NORMALIZATIONS", "ConventionReport", "convention_report", "normalize_text"]

DEFAULT_FILLERS = ("um", "uh", "erm", "er", "ah", "hmm", "mm", "uhm")
_SPACES = re.compile(r"\s{2,}")
_ELLIPSIS = re.compile(r"\s*(?:\.{3,}|\u2026)\s*")
_PUNCT = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)")


def _ellipses(text: str, fillers: Sequence[str]) -> str:
    return _SPACES.sub(" ", _ELLIPSIS.sub(" ", text)).strip()


def _fillers(text: str, fillers: Sequence[str]) -> str:
    pattern = r"\b(?:" + "|".join(map(re.escape, fillers)) + r")\b[,.;:!?]*\s*"
    return _SPACES.sub(" ", re.sub(pattern, "", text, flags=re.IGNORECASE)).strip()


def _punctuation(text: str, fillers: Sequence[str]) -> str:
    return _SPACES.sub(" ", _PUNCT.sub("", text)).strip()


def _case(text: str, fillers: Sequence[str]) -> str:
    return text.lower()


def _whitespace(text: str, fillers: Sequence[str]) -> str:
    return " ".join(text.split())


#: Normalisations in the order they are applied when combined, with a description.
NORMALIZATIONS: dict[str, tuple[Callable[[str, Sequence[str]], str], str]] = {
    "ellipses": (_ellipses, "treat '...' and '\u2026' as a word break"),
    "fillers": (_fillers, "drop filler words (um, uh, ...) and the punctuation after them"),
    "punctuation": (_punctuation, "drop punctuation (keep apostrophes inside words)"),
    "case": (_case, "ignore upper/lower case"),
    "whitespace": (_whitespace, "collapse runs of spaces, tabs and newlines; trim"),
}


def normalize_text(
    text: str, steps: Sequence[str] = tuple(NORMALIZATIONS),
    fillers: Sequence[str] = DEFAULT_FILLERS,
) -> str:
    """Apply the named normalisations (in the canonical order of :data:`NORMALIZATIONS`)."""
    for name, (func, _) in NORMALIZATIONS.items():
        if name in steps:
            text = func(text, fillers)
    return text


@dataclass
class ConventionReport:
    """Result of :func:`convention_report`.

    Attributes
    ----------
    normalizations : DataFrame, indexed by normalisation name (plus ``"all"``)
        ``description``, ``pairs_resolved_alone`` (disagreeing pairs that this
        normalisation alone makes equal), ``pairs_needing`` (resolved pairs whose smallest
        resolving sets include it) and ``examples`` (up to ``n_examples`` text pairs).
    pairs : DataFrame
        Every disagreeing annotator pair: ``item``, ``annotator_a``, ``annotator_b``,
        ``text_a``, ``text_b``, ``resolved_by`` (the smallest sets of normalisations that
        make the two equal, e.g. ``"fillers or punctuation"``, ``"fillers+case"``; None
        when all normalisations together still leave them different).
    n_pairs : int
        Annotator pairs on shared items.
    """

    normalizations: pd.DataFrame
    pairs: pd.DataFrame
    n_pairs: int

    def to_dict(self) -> dict[str, Any]:
        """Counts per normalisation (with examples), JSON-serialisable."""
        table = self.normalizations.reset_index(names="normalization")
        table["examples"] = table["examples"].map(lambda ex: [list(map(str, e)) for e in ex])
        return {"n_pairs": int(self.n_pairs), "n_disagreeing": len(self.pairs),
                "normalizations": table.to_dict(orient="records")}

    def summary(self) -> str:
        """One line per normalisation: how many disagreements it would remove."""
        n_dis = len(self.pairs)
        lines = [f"{n_dis} of {self.n_pairs} annotator pairs typed different texts"]
        for name, row in self.normalizations.iterrows():
            lines.append(f"  {name}: resolves {row['pairs_resolved_alone']} alone, "
                         f"needed for {row['pairs_needing']}")
        return "\n".join(lines)


def _every_subset(text: str, fillers: Sequence[str]) -> dict[tuple[str, ...], str]:
    """``text`` under every subset of the normalisations (in canonical order), each
    subset built from the one without its last step: one step applied per subset."""
    out: dict[tuple[str, ...], str] = {(): text}
    for name, (func, _) in NORMALIZATIONS.items():  # subsets ending in ``name``
        for subset, value in list(out.items()):
            out[(*subset, name)] = func(value, fillers)
    return out


def _smallest_sets(a: str, b: str, fillers: Sequence[str],
                   cache: dict[str, dict[tuple[str, ...], str]] | None = None
                   ) -> list[tuple[str, ...]]:
    """All smallest sets of normalisations that make ``a`` and ``b`` equal ([] if none)."""
    cache = {} if cache is None else cache
    for text in (a, b):
        if text not in cache:
            cache[text] = _every_subset(text, fillers)
    na, nb = cache[a], cache[b]
    names = tuple(NORMALIZATIONS)
    if na[names] != nb[names]:
        return []
    for size in range(1, len(names) + 1):
        found = [combo for combo in itertools.combinations(names, size) if na[combo] == nb[combo]]
        if found:
            return found
    return []


def _disagreeing_pairs(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    check_columns(df, ["label"], where="the annotations")
    enc = encode_annotations(df.assign(label=df["label"].map(str, na_action="ignore")))
    p = annotation_pairs(enc.item, enc.annotator, enc.label)
    diff = p.lab_a != p.lab_b
    out = pd.DataFrame({
        "item": enc.items[p.item[diff]], "annotator_a": enc.annotators[p.ann_a[diff]],
        "annotator_b": enc.annotators[p.ann_b[diff]],
        "text_a": enc.classes[p.lab_a[diff]], "text_b": enc.classes[p.lab_b[diff]],
    })
    return out, len(p.item)


@validate_params({"n_examples": [Interval(Integral, 0, None)]})
def convention_report(
    df: pd.DataFrame, *, fillers: Sequence[str] = DEFAULT_FILLERS, n_examples: int = 3
) -> ConventionReport:
    """Show which normalisations (case, punctuation, ellipses, fillers, whitespace) would
    make annotators of free text agree, with counts and examples.

    Parameters
    ----------
    df : DataFrame of shape (n_annotations, >= 3)
        ``item``, ``annotator``, ``label`` (the text).
    fillers : sequence of str
        Filler words, matched as whole words, case-insensitively.
    n_examples : int, default 3

    Returns
    -------
    ConventionReport
    """
    pairs, n_pairs = _disagreeing_pairs(df)
    texts = list(zip(pairs["text_a"], pairs["text_b"], strict=True))
    cache: dict[str, dict[tuple[str, ...], str]] = {}
    sets = [_smallest_sets(a, b, fillers, cache) for a, b in texts]
    pairs["resolved_by"] = pd.Series(
        [" or ".join("+".join(c) for c in s) if s else None for s in sets],
        dtype=object).to_numpy()
    rows = {}
    for name, (_, desc) in {**NORMALIZATIONS, "all": (None, "all of the above")}.items():
        steps = tuple(NORMALIZATIONS) if name == "all" else (name,)
        alone = [cache[a][steps] == cache[b][steps] for a, b in texts]
        needing = [bool(s) and (name == "all" or any(name in c for c in s)) for s in sets]
        ex = [f"{a!r} / {b!r}" for (a, b), hit in zip(texts, needing, strict=True) if hit]
        rows[name] = {"description": desc, "pairs_resolved_alone": int(np.sum(alone)),
                      "pairs_needing": int(np.sum(needing)), "examples": ex[:n_examples]}
    table = pd.DataFrame.from_dict(rows, orient="index")
    return ConventionReport(table, pairs, n_pairs)
