"""The fixed speech recipe: an offline recogniser held still while the transcripts improve.

:class:`PocketsphinxRecogniser` runs CMU pocketsphinx (BSD-2-Clause; its wheel ships a
US English acoustic model, dictionary and language model, so nothing is downloaded) on
CPU over WAV clips. Each clip is made mono, resampled to 16 kHz and quantised to 16-bit
PCM, and the recogniser's hypothesis for those exact samples is looked up in a ``cache``
(any mutable mapping the caller keeps; the workspace keeps one on disk) under the SHA-256
of the samples and the recogniser's identity, so a second run over the same clips
decodes nothing. A clip's ``confidence`` is the mean posterior probability of its
recognised words (pocketsphinx's word lattice), 0 when it heard no word.

:func:`normalise_words` is how a recogniser's output and a given transcript are compared:
upper case, every character but letters, digits and apostrophes removed (the LibriSpeech
normalisation), so that case and punctuation are not counted as word errors.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal

from assay._progress import stage
from assay.exceptions import InputError
from assay.modalities.audio import Clip, read_wav

__all__ = [
    "INSTALL_HINT",
    "RECOGNISERS",
    "PocketsphinxRecogniser",
    "get_recogniser",
    "normalise_words",
    "pcm16",
]

#: The built-in recognisers, by the name a user gives (``--recipe pocketsphinx``).
RECOGNISERS = ("pocketsphinx",)
#: What a user types to get the recogniser.
INSTALL_HINT = "pip install 'assay[speech]'"
RATE = 16_000
_NOT_WORD = re.compile(r"[^A-Z0-9' ]+")


def normalise_words(text: str) -> str:
    """Upper case, only letters, digits and apostrophes, single spaces."""
    return " ".join(_NOT_WORD.sub(" ", str(text).upper()).split())


def pcm16(clip: Clip | str | Path) -> bytes:
    """A clip as the recogniser hears it: mono 16 kHz signed 16-bit little-endian PCM.

    Parameters
    ----------
    clip : (rate, samples) or a WAV path
        Samples are floats in [-1, 1] (as :func:`assay.modalities.audio.read_wav` gives).
    """
    rate, samples = read_wav(clip) if isinstance(clip, (str, Path)) else clip
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if rate != RATE:
        g = int(np.gcd(int(rate), RATE))
        samples = signal.resample_poly(samples, RATE // g, int(rate) // g)
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def _require_pocketsphinx() -> Any:
    try:
        return importlib.import_module("pocketsphinx")
    except ImportError:
        raise InputError(
            f"the offline recogniser pocketsphinx is not installed; {INSTALL_HINT} (or give "
            "your own recogniser's output as a CSV file,hypothesis[,confidence])."
        ) from None


def _is_word(word: str) -> bool:
    """A recognised word, not silence, a filler or a sentence mark (``<s>``, ``[NOISE]``)."""
    return bool(word) and word[0] not in "<[+"


class PocketsphinxRecogniser:
    """CMU pocketsphinx with its bundled US English model, on CPU.

    Parameters
    ----------
    cache : mutable mapping, optional
        Hypotheses by clip key (:meth:`key`): ``{"hypothesis": str, "confidence": float}``.
        Hits are not decoded again; new results are stored in it.

    Raises
    ------
    InputError
        pocketsphinx is not installed (the message says how to install it).
    """

    name = "pocketsphinx"

    def __init__(self, *, cache: MutableMapping[str, Any] | None = None) -> None:
        self._module = _require_pocketsphinx()
        self.cache = cache
        self._decoder: Any = None

    @property
    def identity(self) -> str:
        """The recogniser and its version: part of every cache key."""
        return f"pocketsphinx-{getattr(self._module, '__version__', '5')}-en-us-default"

    def key(self, pcm: bytes) -> str:
        """SHA-256 (hex) of the recogniser's identity and the clip's 16 kHz PCM."""
        digest = hashlib.sha256(self.identity.encode())
        digest.update(b"\0")
        digest.update(pcm)
        return digest.hexdigest()

    def decode(self, pcm: bytes) -> dict[str, Any]:
        """Recognise one clip of 16 kHz PCM: its hypothesis (lower case, as heard) and the
        mean posterior of its words (0 when none)."""
        if self._decoder is None:
            self._decoder = self._module.Decoder(samprate=RATE, loglevel="FATAL")
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        posteriors = [float(s.prob) for s in decoder.seg() if _is_word(s.word)]
        confidence = float(np.clip(np.mean(posteriors), 0.0, 1.0)) if posteriors else 0.0
        return {"hypothesis": hyp.hypstr if hyp is not None else "", "confidence": confidence}

    def transcribe(self, clips: Sequence[Clip | str | Path]) -> pd.DataFrame:
        """Recognise every clip (cached ones are not decoded again).

        Parameters
        ----------
        clips : sequence of n WAV paths or (rate, samples) clips

        Returns
        -------
        DataFrame of shape (n, 4)
            ``hypothesis`` (str), ``confidence`` (float in [0, 1]), ``key`` (the clip's
            cache key) and ``cached`` (bool: read from the cache), in clip order.

        Raises
        ------
        InputError
            A clip cannot be read as WAV.
        """
        rows = []
        with stage(
            f"recognising {len(clips):,} clips with pocketsphinx", total=len(clips)
        ) as advance:
            for clip in clips:
                pcm = pcm16(clip)
                key = self.key(pcm)
                found = self.cache.get(key) if self.cache is not None else None
                result = dict(found) if found is not None else self.decode(pcm)
                if found is None and self.cache is not None:
                    self.cache[key] = result
                rows.append({**result, "key": key, "cached": found is not None})
                advance(1)
        return pd.DataFrame(rows, columns=["hypothesis", "confidence", "key", "cached"])


def get_recogniser(
    name: str, *, cache: MutableMapping[str, Any] | None = None
) -> PocketsphinxRecogniser:
    """The built-in recogniser called ``name`` (one of :data:`RECOGNISERS`).

    Raises
    ------
    InputError
        An unknown name, or the recogniser is not installed.
    """
    if name != "pocketsphinx":
        raise InputError(
            f"no built-in recogniser {name!r}; the recognisers are "
            f"{', '.join(RECOGNISERS)} (or give your own recogniser's output as "
            "a CSV file,hypothesis)."
        )
    return PocketsphinxRecogniser(cache=cache)
