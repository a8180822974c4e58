"""Word alignment of two transcripts, for showing what changed (ground layer).

:func:`align_words` returns a minimal word alignment (a Levenshtein alignment at the
minimal number of edits) as runs of ``equal``, ``replace``, ``delete`` and ``insert``,
the same tags as :mod:`difflib`'s opcodes. Among the alignments at the minimal distance
it keeps the most matched words (so ``"um todays weather"`` against ``"todays nice
weather"`` reads *delete um, insert nice*, not two substitutions), which is what a person
reading a diff expects. The rates themselves come from :mod:`assay._wer`; the two agree
on the distance.

Words are split on whitespace and compared as given (normalise first when conventions
differ).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

__all__ = ["WordEdit", "align_words", "describe_word_changes"]

Tag = Literal["equal", "replace", "delete", "insert"]


class WordEdit(NamedTuple):
    """One run of an alignment: ``old[i1:i2]`` becomes ``new[j1:j2]`` (word positions)."""

    tag: Tag
    i1: int
    i2: int
    j1: int
    j2: int


def _costs(a: list[str], b: list[str]) -> np.ndarray:
    """The programme's table: ``K * edits - hits`` of the best alignment of prefixes."""
    k = len(a) + len(b) + 1
    table = np.zeros((len(a) + 1, len(b) + 1), dtype=np.int64)
    table[:, 0] = np.arange(len(a) + 1) * k
    table[0, :] = np.arange(len(b) + 1) * k
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            diagonal = table[i - 1, j - 1] + (-1 if a[i - 1] == b[j - 1] else k)
            table[i, j] = min(diagonal, table[i - 1, j] + k, table[i, j - 1] + k)
    return table


def _steps(a: list[str], b: list[str]) -> list[Tag]:
    """The single-word steps of the best alignment, first to last."""
    table, k = _costs(a, b), len(a) + len(b) + 1
    i, j, steps = len(a), len(b), []
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            same = a[i - 1] == b[j - 1]
            if table[i, j] == table[i - 1, j - 1] + (-1 if same else k):
                steps.append("equal" if same else "replace")
                i, j = i - 1, j - 1
                continue
        if i > 0 and table[i, j] == table[i - 1, j] + k:
            steps.append("delete")
            i -= 1
        else:
            steps.append("insert")
            j -= 1
    return steps[::-1]  # type: ignore[return-value]


def align_words(old: str, new: str) -> list[WordEdit]:
    """A minimal word alignment of ``old`` to ``new``, as runs of one tag.

    Parameters
    ----------
    old, new : str
        Two transcripts; words are split on whitespace.

    Returns
    -------
    list of WordEdit
        ``(tag, i1, i2, j1, j2)``: ``old`` words ``i1:i2`` become ``new`` words
        ``j1:j2``; tags ``equal``, ``replace``, ``delete`` (``j1 == j2``), ``insert``
        (``i1 == i2``). Adjacent deletions and insertions around a replacement merge
        into it.

    Examples
    --------
    >>> [e.tag for e in align_words("um todays weather", "todays nice weather")]
    ['delete', 'equal', 'insert', 'equal']
    """
    a, b = old.split(), new.split()
    runs: list[WordEdit] = []
    i = j = 0
    for step in _steps(a, b):
        di, dj = int(step != "insert"), int(step != "delete")
        tag: Tag = step
        if runs and runs[-1].tag != "equal" and step != "equal":
            last = runs[-1]
            tag = last.tag if last.tag == step else "replace"
            runs[-1] = WordEdit(tag, last.i1, i + di, last.j1, j + dj)
        elif runs and runs[-1].tag == step:
            last = runs[-1]
            runs[-1] = WordEdit(step, last.i1, i + di, last.j1, j + dj)
        else:
            runs.append(WordEdit(tag, i, i + di, j, j + dj))
        i, j = i + di, j + dj
    return runs


def describe_word_changes(old: str, new: str, *, limit: int = 4) -> str:
    """What changed between two transcripts, in words: ``'todays' -> 'today's'``,
    ``added 'um'``, ``removed 'the'`` joined by commas (the first ``limit`` runs, then
    ``... (N more)``); ``unchanged`` when the words are the same."""
    a, b = old.split(), new.split()
    parts = []
    for edit in align_words(old, new):
        before, after = " ".join(a[edit.i1 : edit.i2]), " ".join(b[edit.j1 : edit.j2])
        if edit.tag == "replace":
            parts.append(f"'{before}' -> '{after}'")
        elif edit.tag == "delete":
            parts.append(f"removed '{before}'")
        elif edit.tag == "insert":
            parts.append(f"added '{after}'")
    if not parts:
        return "unchanged" if a == b else "whitespace changed"
    more = f", ... ({len(parts) - limit} more)" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more
