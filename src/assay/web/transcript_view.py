"""Transcripts as the pages show them: two texts with their word differences marked.

The alignment is :func:`assay._alignment.align_words` (a minimal word alignment keeping
the most matched words), computed here on the server; the page only colours the
words. Each side of a pair of transcripts becomes a list of tokens ``{"word", "op"}``:

* the *given* side marks the words the other text drops (``del``) or replaces
  (``sub``);
* the *suggested* side marks the words it adds (``ins``) or puts in their place
  (``sub``, with ``was``: the given words they replace) and keeps a struck ``del``
  token where given words were dropped, so the reader sees where they went.

Every other word is ``same``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assay._alignment import align_words
from assay.store.readers import MEDIA_EXTENSIONS

__all__ = [
    "Token",
    "add_production_clip",
    "edit_counts",
    "length_counts",
    "production_clip",
    "word_diff",
]

#: The review source of the clips ``assay monitor clips`` samples from production.
PRODUCTION_SOURCE = "drift_sample"

#: One word of a shown transcript: ``{"word": str, "op": same|sub|del|ins}`` and, on a
#: substituted word of the suggested side, ``"was"`` (the words it replaces).
Token = dict[str, str]


def word_diff(given: str, suggested: str) -> tuple[list[Token], list[Token]]:
    """The tokens of both sides of ``given`` -> ``suggested`` (see the module docstring).

    Parameters
    ----------
    given, suggested : str
        Two transcripts; words are split on whitespace and compared as given.

    Returns
    -------
    given_tokens : list of Token
        One per word of ``given``, ops ``same``, ``sub`` or ``del``.
    suggested_tokens : list of Token
        One per word of ``suggested`` (ops ``same``, ``sub``, ``ins``), plus a ``del``
        token for each given word it drops.
    """
    old, new = given.split(), suggested.split()
    left: list[Token] = []
    right: list[Token] = []
    for edit in align_words(given, suggested):
        before, after = old[edit.i1 : edit.i2], new[edit.j1 : edit.j2]
        if edit.tag == "equal":
            left += [{"word": w, "op": "same"} for w in before]
            right += [{"word": w, "op": "same"} for w in after]
        elif edit.tag == "replace":
            was = " ".join(before)
            left += [{"word": w, "op": "sub"} for w in before]
            right += [{"word": w, "op": "sub", "was": was} for w in after]
        elif edit.tag == "delete":
            left += [{"word": w, "op": "del"} for w in before]
            right += [{"word": w, "op": "del"} for w in before]
        else:
            right += [{"word": w, "op": "ins"} for w in after]
    return left, right


def edit_counts(tokens: list[Token]) -> dict[str, int]:
    """How many words of the suggested side are substituted, inserted, and how many
    given words it drops: ``{"sub", "ins", "del"}``."""
    return {op: sum(t["op"] == op for t in tokens) for op in ("sub", "ins", "del")}


def length_counts(column: pa.ChunkedArray, bins: int = 12) -> list[dict[str, Any]]:
    """The dataset page's view of a column of transcripts: clips by their number of
    words, in at most ``bins`` ranges (``[{"label": "5-9 words", "count"}]``)."""
    words = pc.list_value_length(pc.utf8_split_whitespace(column.drop_null()))
    n = np.asarray(words.to_numpy(), dtype=np.int64)
    if len(n) == 0:
        return []
    lo, hi = int(n.min()), int(n.max())
    width = max(1, -(-(hi - lo + 1) // bins))
    out = []
    for start in range(lo, hi + 1, width):
        end = min(start + width - 1, hi)
        count = int(((n >= start) & (n <= end)).sum())
        if count:
            label = f"{start} words" if start == end else f"{start}-{end} words"
            out.append({"label": label, "count": count})
    return out


def production_clip(entry: Mapping[str, Any]) -> Path | None:
    """The production clip a review entry was sampled from, when it may be served.

    Only what the monitor recorded is served: the entry's source is ``drift_sample``,
    its payload names the file (``assay monitor clips`` writes the path when it samples
    the clip; a request never names a path), the file is audio and still exists.
    """
    payload = entry.get("payload") or {}
    path = payload.get("path") if isinstance(payload, Mapping) else None
    if entry.get("source") != PRODUCTION_SOURCE or not isinstance(path, str) or "\x00" in path:
        return None
    target = Path(path)
    if MEDIA_EXTENSIONS.get(target.suffix.lower()) != "audio":
        return None
    try:
        return target.resolve() if target.is_absolute() and target.is_file() else None
    except OSError:
        return None


def add_production_clip(view: dict[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """An item view of a production clip (not in the dataset) given its player: the
    review page then plays it from ``/review/entry/{id}/clip``."""
    if view.get("media_url") is None and production_clip(entry) is not None:
        view["media_url"] = f"/review/entry/{int(entry['id'])}/clip"
        view["media_kind"] = "audio"
    return view
