"""Speech in production: audio features of clips, their drift and the recogniser's
confidence, and low-confidence clips sampled for transcription.

:func:`speech_features` measures each clip on 25 ms frames every 10 ms (numpy only):

- ``duration_s``: the clip's length in seconds;
- ``loudness_db``: RMS level in dB relative to full scale (dBFS);
- ``noise_db``: the noise floor, the 10th percentile of the frames' RMS level (dBFS):
  the level between words; background noise (a car) raises it;
- ``snr_db``: a signal-to-noise estimate, the 90th minus the 10th percentile of the
  frames' level (speech peaks over the floor between words);
- ``speaking_rate``: words per second of the clip (words of its transcript, or of the
  recogniser's hypothesis for unlabeled production clips).

:func:`speech_drift` tests these and the recogniser's ``confidence`` (a prediction
column) with :func:`assay.deploy.drift.drift`; :func:`sample_low_confidence` picks clips
for transcription review with :func:`assay.deploy.feedback.sample_for_labeling`
(weighted toward low confidence, a random share kept for unbiased estimates).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.deploy.drift import DriftReport, drift
from assay.deploy.feedback import sample_for_labeling
from assay.exceptions import InputError
from assay.modalities.audio import Clip, read_wav

__all__ = ["SPEECH_FEATURES", "sample_low_confidence", "speech_drift", "speech_features"]

#: The audio features of :func:`speech_features`, in column order.
SPEECH_FEATURES = ("duration_s", "loudness_db", "noise_db", "snr_db", "speaking_rate")
_FLOOR_DB = -120.0


def _frame_levels(samples: np.ndarray, rate: int) -> np.ndarray:
    """RMS level in dBFS of 25 ms frames every 10 ms."""
    size, hop = max(int(0.025 * rate), 1), max(int(0.010 * rate), 1)
    if len(samples) < size:
        samples = np.pad(samples, (0, size - len(samples)))
    cumulative = np.concatenate([[0.0], np.cumsum(samples**2)])
    starts = np.arange(0, len(samples) - size + 1, hop)
    power = (cumulative[starts + size] - cumulative[starts]) / size
    return np.maximum(10 * np.log10(np.maximum(power, 1e-30)), _FLOOR_DB)


def clip_measures(clip: Clip) -> dict[str, float]:
    """Duration, loudness, noise floor and SNR estimate of one clip (no word count)."""
    rate, samples = clip
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if len(x) == 0 or rate <= 0:
        raise InputError("a clip holds no samples; remove empty recordings.")
    levels = _frame_levels(x, int(rate))
    low, high = np.percentile(levels, [10, 90])
    rms = float(np.sqrt(np.mean(x**2)))
    return {
        "duration_s": len(x) / float(rate),
        "loudness_db": max(20 * np.log10(max(rms, 1e-15)), _FLOOR_DB),
        "noise_db": float(low),
        "snr_db": float(high - low),
    }


def speech_features(
    clips: Sequence[Clip | str | Path], words: Sequence[str | None] | None = None
) -> pd.DataFrame:
    """Audio features of every clip (see the module docstring).

    Parameters
    ----------
    clips : sequence of n WAV paths or (rate, samples) clips
    words : sequence of n str, optional
        Each clip's transcript (or hypothesis), for ``speaking_rate``; NaN without.

    Returns
    -------
    DataFrame of shape (n, 5)
        The columns of :data:`SPEECH_FEATURES`, in clip order.
    """
    if words is not None and len(words) != len(clips):
        raise InputError(
            f"words has {len(words)} texts for {len(clips)} clips; give one transcript per clip."
        )
    rows = [clip_measures(read_wav(c) if isinstance(c, (str, Path)) else c) for c in clips]
    table = pd.DataFrame(rows, columns=list(SPEECH_FEATURES[:4]), dtype=float)
    counts = (
        np.array(
            [len(str(w).split()) if isinstance(w, str) else np.nan for w in words], dtype=float
        )
        if words is not None
        else np.full(len(clips), np.nan)
    )
    table["speaking_rate"] = counts / table["duration_s"].to_numpy()
    return table


def speech_drift(
    reference: pd.DataFrame, current: pd.DataFrame, *, seed: int = 0, **options: Any
) -> DriftReport:
    """Drift of the audio features and the recogniser's confidence.

    Parameters
    ----------
    reference, current : DataFrame
        :func:`speech_features` columns plus ``confidence`` (the recogniser's, in
        [0, 1]) when known; columns absent from either side are left out.
    seed : int
    **options
        Passed to :func:`assay.deploy.drift.drift` (``alpha``, ``thresholds``, ...).

    Returns
    -------
    DriftReport
        ``confidence`` is tested as a prediction column (its drift always counts).
    """
    wanted = [*SPEECH_FEATURES, "confidence"]
    columns = [
        c
        for c in wanted
        if c in reference
        and c in current
        and reference[c].notna().any()
        and current[c].notna().any()
    ]
    if not columns:
        raise InputError(
            "no audio feature is measured on both sides; give speech_features "
            "of the reference and of the current clips."
        )
    prediction = ["confidence"] if "confidence" in columns else None
    return drift(
        reference[columns],
        current[columns],
        columns=columns,
        column_types=dict.fromkeys(columns, "numeric"),
        prediction=prediction,
        seed=seed,
        **options,
    )


def sample_low_confidence(
    batch: pd.DataFrame, *, n: int, random_share: float = 0.2, seed: int = 0
) -> pd.DataFrame:
    """Clips of a production batch to transcribe, weighted toward low confidence.

    Parameters
    ----------
    batch : DataFrame with a ``confidence`` column in [0, 1]
    n : int
        Clips to pick.
    random_share : float
        Share of ``n`` drawn uniformly (unbiased estimates of the WER in production).
    seed : int

    Returns
    -------
    DataFrame
        The picked rows with ``reason`` (random, low_confidence), ``score``, ``random`` and
        ``inclusion_probability`` (:func:`assay.deploy.feedback.sample_for_labeling`).
    """
    if "confidence" not in batch:
        raise InputError(
            "the batch has no confidence column; give the recogniser's "
            "confidence per clip (pocketsphinx gives one)."
        )
    confidence = batch["confidence"].fillna(0.0).clip(0.0, 1.0).to_numpy(dtype=float)
    return sample_for_labeling(
        batch, n=n, confidence=confidence, random_share=random_share, seed=seed
    )
