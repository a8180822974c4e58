"""Real read-speech transcripts and simulated transcribers / recognisers with stated
error models, shared by the speech tests and ``benchmarks/speech.py``.

* :func:`transcribe`: one transcription of a true text; every word is substituted by a
  random corpus word with probability ``sub``, deleted with ``dele``, kept otherwise
  (apostrophes dropped when ``apos``: "TODAY'S" -> "TODAYS"), and followed by an
  inserted random word with probability ``ins``; the filler "UM" starts a share ``um``
  of the clips (slide 9's conventions).
* :func:`recogniser`: a recogniser whose difficulty varies by clip,
  ``r ~ Gamma(shape 2, mean 0.15)``, substitutions ``0.6 r``, deletions ``0.25 r``,
  insertions ``0.15 r`` (corpus WER ~15%).
* :func:`inject`: wrong given transcripts, a third each: 1-3 words substituted, 1-3
  consecutive words dropped, the transcript of another clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SPEECH = Path(__file__).resolve().parents[3] / "shared" / "data" / "speech" / "mini-librispeech"

TRANSCRIBERS = {
    "five": [
        {"sub": 0.03, "dele": 0.02, "ins": 0.01},
        {"sub": 0.08, "dele": 0.05, "ins": 0.03, "um": 0.3},
        {"sub": 0.10, "dele": 0.08, "ins": 0.04, "apos": True},
        {"sub": 0.15, "dele": 0.10, "ins": 0.05, "um": 0.5},
        {"sub": 0.20, "dele": 0.10, "ins": 0.08},
    ],
    "three": [
        {"sub": 0.03, "dele": 0.02, "ins": 0.01},
        {"sub": 0.08, "dele": 0.05, "ins": 0.03, "um": 0.3},
        {"sub": 0.15, "dele": 0.10, "ins": 0.05, "apos": True},
    ],
}


def clips() -> list[str]:
    """The 168 transcripts of transcripts.csv."""
    return pd.read_csv(SPEECH / "transcripts.csv")["transcript"].tolist()


def utterances() -> list[str]:
    """The 1,519 transcripts of the chapter files."""
    lines = [ln.split(" ", 1)[1].strip() for p in sorted((SPEECH / "trans").glob("*.txt"))
             for ln in p.read_text().splitlines() if " " in ln]
    return lines


def transcribe(rng: np.random.Generator, text: str, vocab: list[str], sub: float, dele: float,
               ins: float, um: float = 0.0, apos: bool = False) -> str:
    """One noisy transcription of ``text`` by the stated error model."""
    out = ["UM"] if rng.random() < um else []
    for word in text.split():
        u = rng.random()
        if u < sub:
            out.append(vocab[rng.integers(len(vocab))])
        elif u >= sub + dele:
            out.append(word.replace("'", "") if apos else word)
        if rng.random() < ins:
            out.append(vocab[rng.integers(len(vocab))])
    return " ".join(out)


def recogniser(rng: np.random.Generator, texts: list[str], vocab: list[str]) -> list[str]:
    """Simulated recogniser output: per-clip difficulty ``r ~ Gamma(2, 0.15 / 2)``."""
    r = rng.gamma(2.0, 0.075, len(texts))
    return [transcribe(rng, t, vocab, 0.6 * x, 0.25 * x, 0.15 * x) for t, x in zip(texts, r, strict=True)]


def inject(rng: np.random.Generator, texts: list[str], vocab: list[str],
           share: float = 0.1) -> tuple[list[str], np.ndarray]:
    """Given transcripts with ``share`` wrong; kinds 0 (substituted), 1 (dropped), 2 (wrong
    clip), -1 for correct ones."""
    given, kind = list(texts), np.full(len(texts), -1)
    bad = rng.choice(len(texts), int(share * len(texts)), replace=False)
    for i, k in zip(bad, np.arange(len(bad)) % 3, strict=True):
        words = texts[i].split()
        m = int(min(rng.integers(1, 4), max(len(words) - 1, 1)))
        if k == 0:
            for p in rng.choice(len(words), m, replace=False):
                words[p] = vocab[rng.integers(len(vocab))]
        elif k == 1 and len(words) > 1:
            s = int(rng.integers(0, len(words) - m + 1))
            words = words[:s] + words[s + m :]
        else:
            k = 2
            words = texts[(i + 1 + rng.integers(len(texts) - 1)) % len(texts)].split()
        given[i], kind[i] = " ".join(words), k
    return given, kind
