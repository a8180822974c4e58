"""The speech demo's data: real clips of Mini LibriSpeech, a car-noise slice, and the
transcripts typed by simulated people (:mod:`assay.demo.speech` tells the story).

* :func:`choose_clips`: the 64 shortest utterances with two of every reader, 16 of them
  (seeded) "recorded in a car"; :func:`write_clips` copies them, mixing synthetic car
  noise (:func:`assay.train.augment._audio.car_noise`) into those at 0 dB SNR.
* :func:`plant_errors`: a stated share of the transcripts typed wrong, a third only by
  slide 9's conventions (a leading "um," and lower case), the rest by real errors (two
  or three words substituted, or three or four consecutive words dropped).
* :func:`transcriptions`: three transcribers with stated error rates, one of whom types
  slide 9's conventions.
"""

from __future__ import annotations

import os
import shutil
import wave
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import wavfile

from assay.collect.normalisation import Normalisation
from assay.exceptions import InputError

__all__ = [
    "CAR_SNR_DB",
    "NORMALISATION",
    "N_CAR",
    "N_CLIPS",
    "TRANSCRIBERS",
    "WRONG_SHARE",
    "choose_clips",
    "data_folder",
    "plant_errors",
    "transcriptions",
    "write_clips",
]

N_CLIPS, N_CAR, CAR_SNR_DB = 64, 16, 0.0
#: Share of the imported transcripts typed wrong (a third conventions only).
WRONG_SHARE = 0.30
#: The label book's convention (slide 9's fix), LibriSpeech's own style.
NORMALISATION = Normalisation(
    fillers=("um", "uh"), apostrophes="keep", case="upper", punctuation="drop"
)
#: Transcribers of the collect chapter: substitution and deletion rates, and whether they
#: type slide 9's conventions (fillers, lower case, commas).
TRANSCRIBERS = {"ann": (0.01, 0.01, False), "ben": (0.02, 0.01, True), "cy": (0.06, 0.04, False)}


def data_folder() -> Path:
    """Mini LibriSpeech: ``ASSAY_SPEECH_DATA``, else ``shared/data/speech/mini-librispeech``
    beside the repository.

    Raises
    ------
    InputError
        The folder or its ``transcripts.csv`` is missing.
    """
    env = os.environ.get("ASSAY_SPEECH_DATA")
    folder = (
        Path(env)
        if env
        else (
            Path(__file__).resolve().parents[4] / "shared" / "data" / "speech" / "mini-librispeech"
        )
    )
    if not (folder / "transcripts.csv").is_file():
        raise InputError(
            f"the speech demo reads Mini LibriSpeech from {folder}, which has no "
            "transcripts.csv; set ASSAY_SPEECH_DATA to its folder."
        )
    return folder


def _duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / float(w.getframerate())


def choose_clips(folder: Path, seed: int = 0) -> pd.DataFrame:
    """The demo's clips: ``file``, ``speaker``, ``sex``, ``duration``, ``truth`` and
    ``noise`` (``car`` for :data:`N_CAR` of them, else ``clean``), sorted by file."""
    table = pd.read_csv(folder / "transcripts.csv")
    sexes = pd.read_csv(folder / "speakers.csv").set_index("speaker")["sex"]
    table["duration"] = [_duration(folder / f) for f in table["file"]]
    table = table.sort_values(["duration", "file"])
    first = table.groupby("speaker", sort=False).head(2)
    chosen = pd.concat([first, table.drop(first.index).head(N_CLIPS - len(first))])
    chosen = chosen.sort_values("file").reset_index(drop=True)
    chosen["sex"] = chosen["speaker"].map(sexes).fillna("?").astype(str)
    chosen["speaker"] = chosen["speaker"].astype(str)
    rng = np.random.default_rng(seed)
    car = rng.choice(len(chosen), N_CAR, replace=False)
    chosen["noise"] = np.where(np.isin(np.arange(len(chosen)), car), "car", "clean")
    return chosen.rename(columns={"transcript": "truth"})


def write_clips(folder: Path, clips: pd.DataFrame, dest: Path) -> None:
    """Copy the clean clips, mix car noise into the others (16-bit WAV, seeded)."""
    from assay.modalities.audio import read_wav
    from assay.train.augment._audio import car_noise, mix_at_snr

    dest.mkdir(parents=True, exist_ok=True)
    for i, row in enumerate(clips.itertuples(index=False)):
        target = dest / Path(str(row.file)).name
        if row.noise == "clean":
            shutil.copyfile(folder / str(row.file), target)
            continue
        rate, samples = read_wav(folder / str(row.file))
        noisy = mix_at_snr(samples, car_noise(len(samples), rate, seed=i), CAR_SNR_DB)
        pcm = np.round(np.clip(noisy, -1.0, 1.0) * 32767).astype(np.int16)
        wavfile.write(target, rate, pcm)


def _convention(text: str) -> str:
    """Slide 9: a leading filler, lower case, a comma."""
    return "um, " + text.lower()


def plant_errors(
    truth: pd.Series, vocabulary: list[str], *, share: float, seed: int
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Type ``share`` of the transcripts wrong, seeded.

    A third of them differ only by conventions (:func:`_convention`); the others hold a
    real error: two or three words substituted by other words of the corpus, or three
    or four consecutive words dropped (clips of five words or more).

    Returns
    -------
    typed : Series of str
    kind : Series of ``ok``, ``convention``, ``substituted``, ``dropped``
    wrong : Series of bool
        A real error (what an audit should find; conventions are the label book's job).
    """
    rng = np.random.default_rng(seed)
    typed, kind = truth.copy(), pd.Series("ok", index=truth.index)
    rows = rng.permutation(len(truth))[: int(round(share * len(truth)))]
    for n, r in enumerate(rows):
        words = str(truth.iloc[r]).split()
        if n % 3 == 0:
            typed.iloc[r], kind.iloc[r] = _convention(" ".join(words)), "convention"
        elif n % 3 == 1 or len(words) < 6:
            for p in rng.choice(
                len(words), min(len(words), int(rng.integers(2, 4))), replace=False
            ):
                words[p] = _other_word(rng, vocabulary, words[p])
            typed.iloc[r], kind.iloc[r] = " ".join(words), "substituted"
        else:
            k = int(rng.integers(3, 5))
            start = int(rng.integers(0, len(words) - k + 1))
            typed.iloc[r], kind.iloc[r] = " ".join(words[:start] + words[start + k :]), "dropped"
    return typed, kind, kind.isin(["substituted", "dropped"])


def _other_word(rng: np.random.Generator, vocabulary: list[str], word: str) -> str:
    while True:
        other = vocabulary[int(rng.integers(len(vocabulary)))]
        if other != word:
            return other


def _transcribe(
    rng: np.random.Generator,
    text: str,
    vocabulary: list[str],
    sub: float,
    dele: float,
    conventions: bool,
) -> str:
    """One transcriber's text: words substituted or dropped at the stated rates; slide
    9's conventions (a filler on half the clips, lower case, a comma) when asked."""
    out = []
    for word in text.split():
        u = rng.random()
        if u < sub:
            out.append(_other_word(rng, vocabulary, word))
        elif u >= sub + dele:
            out.append(word)
    typed = " ".join(out)
    if conventions:
        typed = ("um, " if rng.random() < 0.5 else "") + typed.lower()
    return typed


def transcriptions(truth: pd.Series, vocabulary: list[str], seed: int) -> pd.DataFrame:
    """Every transcriber's text of each clip of ``truth``: ``item, annotator, label``."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "item": item,
            "annotator": name,
            "label": _transcribe(rng, str(text), vocabulary, sub, dele, conv),
        }
        for name, (sub, dele, conv) in TRANSCRIBERS.items()
        for item, text in truth.items()
    ]
    return pd.DataFrame(rows)
