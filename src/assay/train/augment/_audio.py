"""Audio augmentation: synthetic car noise at chosen SNRs, plus audiomentations (MIT).

Background noise ("the recordings made in a car") is synthesised, never downloaded:
:func:`car_noise` sums low-passed brown noise (the broadband rumble of the road) and the
first six harmonics of an engine tone between 30 and 50 Hz whose pitch wobbles slowly
(the engine's RPM), normalised to unit RMS. :func:`mix_at_snr` adds it at a signal-to-
noise ratio drawn from ``snr_db``.

The other transforms come from audiomentations: ``gaussian_snr`` (AddGaussianSNR),
``gain`` (Gain, ±6 dB), ``time_shift`` (Shift, ±10% without rollover) and
``pitch_shift`` (PitchShift, ±2 semitones). audiomentations draws its randomness from
the global ``random`` and ``numpy.random`` generators; they are seeded for each copy and
restored afterwards, so the caller's random state is left as it was.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal
from scipy.io import wavfile

from assay.exceptions import InputError

__all__ = [
    "AUDIO_TRANSFORMS",
    "augment_audio_array",
    "augment_audio_file",
    "car_noise",
    "mix_at_snr",
]

#: Names of the audio transforms; ``car_noise`` is the synthesised background noise.
AUDIO_TRANSFORMS = ("car_noise", "gaussian_snr", "gain", "time_shift", "pitch_shift")


def car_noise(
    n_samples: int, sample_rate: int, *, seed: int = 0, rumble_hz: float | None = None
) -> np.ndarray:
    """Synthesise engine-like car noise.

    Parameters
    ----------
    n_samples : int
    sample_rate : int
        In Hz.
    seed : int, default=0
    rumble_hz : float, optional
        The engine's fundamental; drawn from [30, 50] Hz when not given.

    Returns
    -------
    ndarray of shape (n_samples,), float64, unit RMS
    """
    rng = np.random.default_rng(seed)
    f0 = float(rumble_hz) if rumble_hz is not None else float(rng.uniform(30.0, 50.0))
    t = np.arange(n_samples) / sample_rate
    wobble = 1.0 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6.3))
    phase = 2 * np.pi * np.cumsum(f0 * wobble) / sample_rate
    harmonics = sum(np.sin(h * phase + rng.uniform(0, 2 * np.pi)) / h for h in range(1, 7))
    brown = signal.lfilter([1.0], [1.0, -0.995], rng.standard_normal(n_samples))
    cutoff = min(400.0, 0.45 * sample_rate)
    sos = signal.butter(4, cutoff, btype="low", fs=sample_rate, output="sos")
    brown = signal.sosfilt(sos, brown - brown.mean())
    noise = 0.6 * _unit_rms(brown) + 0.4 * _unit_rms(np.asarray(harmonics))
    return _unit_rms(noise)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0
    return x / rms if rms > 0 else x


def mix_at_snr(samples: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add ``noise`` to ``samples`` so that the signal-to-noise ratio is ``snr_db``.

    Parameters
    ----------
    samples : array of shape (n_samples,) or (n_channels, n_samples)
    noise : array of shape (n_samples,)
    snr_db : float
        ``20 log10(rms(samples) / rms(added noise))``. Silent samples stay silent.

    Returns
    -------
    array like ``samples``, float32
    """
    rms_signal = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms_signal == 0:
        return np.asarray(samples, dtype=np.float32)
    scaled = _unit_rms(noise) * rms_signal / (10.0 ** (snr_db / 20.0))
    return np.asarray(samples + scaled, dtype=np.float32)


@contextmanager
def _seeded_global_random(seed: int) -> Iterator[None]:
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _audiomentations_transform(name: str) -> Any:
    try:
        import audiomentations as am
    except ImportError:
        raise InputError(
            "audio augmentation needs audiomentations; install it with "
            "pip install 'assay[augment]' (or pip install audiomentations)."
        ) from None
    factories = {
        "gaussian_snr": lambda: am.AddGaussianSNR(min_snr_db=10.0, max_snr_db=30.0, p=1.0),
        "gain": lambda: am.Gain(min_gain_db=-6.0, max_gain_db=6.0, p=1.0),
        "time_shift": lambda: am.Shift(min_shift=-0.1, max_shift=0.1, rollover=False, p=1.0),
        "pitch_shift": lambda: am.PitchShift(min_semitones=-2.0, max_semitones=2.0, p=1.0),
    }
    return factories[name]()


def augment_audio_array(
    samples: np.ndarray,
    sample_rate: int,
    seed: int,
    *,
    transforms: Sequence[str] = ("car_noise", "gain", "time_shift"),
    snr_db: tuple[float, float] = (0.0, 20.0),
) -> tuple[np.ndarray, str]:
    """Augment one recording with every transform in ``transforms``, in order.

    Parameters
    ----------
    samples : array of shape (n_samples,) or (n_channels, n_samples), float
    sample_rate : int
    seed : int
    transforms : sequence of str
        Names from :data:`AUDIO_TRANSFORMS`.
    snr_db : (float, float)
        Range of the car noise's signal-to-noise ratio in dB.

    Returns
    -------
    samples : array like the input, float32
    description : str
        e.g. ``audio:car_noise(snr_db=7.31,rumble_hz=41.2)+gain+time_shift``.
    """
    x = np.asarray(samples, dtype=np.float32)
    rng = np.random.default_rng(seed)
    parts = []
    for i, name in enumerate(transforms):
        if name == "car_noise":
            snr = float(rng.uniform(*snr_db))
            rumble = float(rng.uniform(30.0, 50.0))
            noise = car_noise(x.shape[-1], sample_rate, seed=seed + i, rumble_hz=rumble)
            x = mix_at_snr(x, noise, snr)
            parts.append(f"car_noise(snr_db={snr:.2f},rumble_hz={rumble:.1f})")
            continue
        with _seeded_global_random(seed + i):
            x = _audiomentations_transform(name)(samples=x, sample_rate=sample_rate)
        parts.append(name)
    return np.asarray(x, dtype=np.float32), "audio:" + "+".join(parts)


def augment_audio_file(
    path: str | Path, output_dir: Path, seed: int, **kwargs: Any
) -> tuple[str, str]:
    """Augment one WAV file into ``<output_dir>/<stem>~aug-<seed>.wav``.

    The output keeps the input's sample rate and its sample format (16-bit PCM stays
    16-bit PCM, clipped; float stays float32). ``kwargs`` go to
    :func:`augment_audio_array`.

    Returns
    -------
    path, description : str
    """
    source = Path(path)
    try:
        rate, data = wavfile.read(source)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"audio file {source} cannot be read as WAV ({exc}); fix or drop it."
        ) from None
    scale = float(np.iinfo(data.dtype).max) + 1 if np.issubdtype(data.dtype, np.integer) else 1.0
    x = data.astype(np.float32) / scale
    x = x.T if x.ndim == 2 else x  # (n, channels) -> (channels, n)
    out, description = augment_audio_array(x, int(rate), seed, **kwargs)
    out = out.T if out.ndim == 2 else out
    if np.issubdtype(data.dtype, np.integer):
        info = np.iinfo(data.dtype)
        out = np.clip(np.rint(out * scale), info.min, info.max).astype(data.dtype)
    target = output_dir / f"{source.stem}~aug-{int(seed)}.wav"
    wavfile.write(target, int(rate), out)
    return str(target), description
