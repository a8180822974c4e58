"""Audio: WAV files read with ``scipy.io.wavfile``, MFCC summary statistics as features.

Features of one clip (42 numbers), computed with numpy/scipy:

1. the signal is made mono (channel mean) and scaled to [-1, 1];
2. frames of 25 ms every 10 ms, a Hann window, the power spectrum (``rfft``);
3. a mel filterbank of 40 triangular filters from 0 Hz to half the sample rate, the
   log of the filter energies (log-mel), and its DCT-II keeping 13 coefficients (MFCC);
4. summary over frames: mean (13) and standard deviation (13) of the MFCCs, mean
   absolute frame-to-frame difference of the MFCCs (13), mean and standard deviation of
   the log frame energy (2) and the zero-crossing rate (1).

Clips of any length and sample rate give the same 42 numbers, so a folder of recordings
becomes one matrix. Bring your own embeddings for anything richer.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.fft import dct
from scipy.io import wavfile

from assay.exceptions import InputError

__all__ = ["AudioModality", "Clip", "audio_features", "mel_filterbank"]

N_MELS = 40
N_MFCC = 13
N_FEATURES = 3 * N_MFCC + 3
_TINY = 1e-10

Clip = tuple[int, np.ndarray]
"""(sample rate, mono float samples in [-1, 1])."""


def read_wav(path: str | Path) -> Clip:
    """Read a WAV file as (rate, mono float64 samples in [-1, 1])."""
    try:
        rate, data = wavfile.read(Path(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the WAV file ({exc}).") from None
    samples = np.asarray(data)
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        samples = (samples.astype(np.float64) - (info.max + info.min + 1) / 2) / (info.max + 1)
    samples = samples.astype(np.float64)
    return int(rate), samples.mean(axis=1) if samples.ndim == 2 else samples


def mel_filterbank(rate: int, n_fft: int, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, n_fft // 2 + 1)."""
    mel = np.linspace(0.0, 2595 * np.log10(1 + rate / 2 / 700), n_mels + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    rising = (freqs - lower) / np.maximum(centre - lower, _TINY)
    falling = (upper - freqs) / np.maximum(upper - centre, _TINY)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def _frames(samples: np.ndarray, rate: int) -> np.ndarray:
    size, hop = max(int(0.025 * rate), 16), max(int(0.010 * rate), 8)
    if samples.shape[0] < size:
        samples = np.pad(samples, (0, size - samples.shape[0]))
    starts = np.arange(0, samples.shape[0] - size + 1, hop)
    return samples[starts[:, None] + np.arange(size)[None, :]]


def clip_features(clip: Clip) -> np.ndarray:
    """The 42 summary features of one clip (see the module docstring)."""
    rate, samples = clip
    frames = _frames(np.asarray(samples, dtype=np.float64), rate)
    n_fft = 1 << int(np.ceil(np.log2(frames.shape[1])))
    power = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), n=n_fft)) ** 2
    log_mel = np.log(power @ mel_filterbank(rate, n_fft).T + _TINY)
    mfcc = dct(log_mel, type=2, axis=1, norm="ortho")[:, :N_MFCC]
    delta = np.abs(np.diff(mfcc, axis=0)).mean(axis=0) if mfcc.shape[0] > 1 else np.zeros(N_MFCC)
    energy = np.log((frames**2).sum(axis=1) + _TINY)
    zcr = np.mean(np.abs(np.diff(np.signbit(frames), axis=1)))
    return np.concatenate(
        [mfcc.mean(0), mfcc.std(0), delta, [energy.mean(), energy.std(), zcr]]
    )


def audio_features(items: Sequence[Any]) -> np.ndarray:
    """Features of audio clips.

    Parameters
    ----------
    items : sequence of paths to WAV files or (rate, samples) tuples

    Returns
    -------
    ndarray of shape (n_clips, 42)
    """
    clips = [item if isinstance(item, tuple) else read_wav(item) for item in items]
    if not clips:
        return np.zeros((0, N_FEATURES))
    return np.vstack([clip_features(c) for c in clips])


class AudioModality:
    """WAV recordings."""

    name = "audio"

    def load(self, paths: Sequence[str | Path]) -> list[Any]:
        """Read every WAV file as a (rate, samples) clip."""
        return [read_wav(p) for p in paths]

    def featurize(self, items: Any) -> np.ndarray:
        """See :func:`audio_features`."""
        return audio_features(list(items))

    def render_html(self, item: Any) -> str:
        """An ``<audio controls>`` player with the clip inlined as a WAV data URL."""
        rate, samples = item if isinstance(item, tuple) else read_wav(item)
        buffer = io.BytesIO()
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
        wavfile.write(buffer, rate, pcm)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        title = html.escape(str(item) if isinstance(item, (str, Path)) else "clip")
        return f'<audio controls title="{title}" src="data:audio/wav;base64,{data}"></audio>'
