"""Text augmentation: simple, documented, seeded transforms (no models, no word lists).

Each augmented copy gets exactly one transform, chosen uniformly from the ones asked for:

- ``word_dropout``: drop each word with probability ``p`` (default 0.1); at least one
  word is always kept.
- ``swap_adjacent``: swap one randomly chosen pair of neighbouring words (texts with one
  word are returned as they are).
- ``char_noise``: for each letter, with probability ``p`` (default 0.05), apply one
  typo: delete it, replace it by a random lowercase letter, insert a random lowercase
  letter after it, or swap it with the next character. No synonyms are used, so the
  meaning is never replaced by a dictionary's guess.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["TEXT_TRANSFORMS", "augment_texts", "char_noise", "swap_adjacent", "word_dropout"]

_LETTERS = np.array(list(string.ascii_lowercase))


def word_dropout(text: str, rng: np.random.Generator, *, p: float = 0.1) -> str:
    """Drop each word with probability ``p``, keeping at least one word."""
    words = text.split()
    if len(words) <= 1:
        return text
    keep = rng.random(len(words)) >= p
    if not keep.any():
        keep[rng.integers(len(words))] = True
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


def swap_adjacent(text: str, rng: np.random.Generator) -> str:
    """Swap one random pair of neighbouring words."""
    words = text.split()
    if len(words) <= 1:
        return text
    i = int(rng.integers(len(words) - 1))
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def char_noise(text: str, rng: np.random.Generator, *, p: float = 0.05) -> str:
    """Apply a random typo (delete, substitute, insert, transpose) to letters w.p. ``p``."""
    chars = list(text)
    out: list[str] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        if not c.isalpha() or rng.random() >= p:
            out.append(c)
            i += 1
            continue
        op = int(rng.integers(4))
        if op == 1:
            out.append(str(rng.choice(_LETTERS)))
        elif op == 2:
            out.extend([c, str(rng.choice(_LETTERS))])
        elif op == 3 and i + 1 < len(chars):
            out.extend([chars[i + 1], c])
            i += 1
        elif op == 3:
            out.append(c)
        i += 1  # op 0 deletes c
    return "".join(out) if out else text


_FUNCS: dict[str, Callable[[str, np.random.Generator], str]] = {
    "word_dropout": word_dropout,
    "swap_adjacent": swap_adjacent,
    "char_noise": char_noise,
}
#: Names of the text transforms.
TEXT_TRANSFORMS = tuple(_FUNCS)


def augment_texts(
    texts: Sequence[str], seeds: np.ndarray, transforms: Sequence[str] = TEXT_TRANSFORMS
) -> tuple[list[str], list[str]]:
    """Augment each text with one seeded transform.

    Parameters
    ----------
    texts : sequence of str, length n
    seeds : array of shape (n,), int
        One seed per text; the same seed gives the same result.
    transforms : sequence of str
        Names from :data:`TEXT_TRANSFORMS` to choose from.

    Returns
    -------
    new_texts, descriptions : lists of str, length n
    """
    names = list(transforms)
    out, described = [], []
    for text, seed in zip(texts, seeds, strict=True):
        rng = np.random.default_rng(int(seed))
        name = names[int(rng.integers(len(names)))]
        out.append(_FUNCS[name](str(text), rng))
        described.append(f"text:{name}")
    return out, described
