"""The speech engines on real clips: what the recogniser hears (16 kHz PCM, keys, the
cache), WER per tag with intervals and human-level WER, and the audio features that
drift (noise floor under car noise from the existing augmentation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.signal import resample_poly

from assay._wer import word_error_rate
from assay.deploy.drift_audio import speech_drift, speech_features
from assay.exceptions import InputError
from assay.modalities.audio import read_wav
from assay.train.augment._audio import augment_audio_array
from assay.train.recipe._speech import get_recogniser, normalise_words, pcm16
from assay.train.slices._speech import (
    clip_errors,
    corpus_rate,
    duration_bin,
    human_clip_errors,
    wer_by_tag,
)


@pytest.fixture(scope="module")
def speech(shared_data: Path) -> pd.DataFrame:
    root = shared_data / "speech" / "mini-librispeech"
    table = pd.read_csv(root / "transcripts.csv").head(24)
    table["path"] = [str(root / f) for f in table["file"]]
    return table


def test_normalised_words_are_librispeech_style() -> None:
    assert normalise_words("Um, today's  weather!") == "UM TODAY'S WEATHER"
    assert normalise_words("...") == ""


def test_pcm16_resamples_to_16_khz(speech: pd.DataFrame) -> None:
    rate, x = read_wav(speech["path"][0])
    assert rate == 16_000
    same = pcm16((rate, x))
    assert same == pcm16(speech["path"][0]) and len(same) == 2 * len(x)
    half = resample_poly(x, 1, 2)
    assert abs(len(pcm16((8_000, half))) - 2 * len(x)) <= 4


def test_unknown_recogniser_is_refused() -> None:
    with pytest.raises(InputError, match="pocketsphinx"):
        get_recogniser("whisper")


def test_recogniser_reads_its_cache_and_never_decodes_twice(speech: pd.DataFrame) -> None:
    pytest.importorskip("pocketsphinx")
    cache: dict[str, dict[str, float | str]] = {}
    engine = get_recogniser("pocketsphinx", cache=cache)
    clip = speech["path"][0]
    first = engine.transcribe([clip])
    assert not first["cached"][0] and len(cache) == 1
    assert 0 < first["confidence"][0] <= 1 and first["hypothesis"][0]
    key = first["key"][0]
    cache[key] = {"hypothesis": "from the cache", "confidence": 0.5}
    again = engine.transcribe([clip])
    assert again["cached"][0] and again["hypothesis"][0] == "from the cache"


def test_wer_per_tag_is_corpus_wer_with_an_interval(speech: pd.DataFrame) -> None:
    refs = speech["transcript"].tolist()
    hyps = [" ".join(t.split()[1:]) if i % 3 == 0 else t for i, t in enumerate(refs)]
    clips = clip_errors(refs, hyps)
    assert np.allclose(
        clips["wer"], [word_error_rate(r, h) for r, h in zip(refs, hyps, strict=True)]
    )
    tags = pd.DataFrame({"speaker": speech["speaker"].astype(str)})
    table = wer_by_tag(clips, tags, n_boot=200)
    assert table["tag"][0] == "all"
    assert abs(table["wer"][0] - word_error_rate(refs, hyps)) < 1e-12
    for row in table.to_dict("records"):
        mask = (
            (tags["speaker"] == row["tag"].split("=")[-1]).to_numpy()
            if row["tag"] != "all"
            else np.ones(len(refs), bool)
        )
        sub = [i for i in np.flatnonzero(mask)]
        expected = word_error_rate([refs[i] for i in sub], [hyps[i] for i in sub])
        assert abs(row["wer"] - expected) < 1e-12
        assert row["wer_low"] <= row["wer"] <= row["wer_high"]
    assert table["gap"].iloc[1:].is_monotonic_decreasing
    empty = corpus_rate(np.array([]), np.array([]))
    assert empty["n"] == 0 and np.isnan(empty["value"])


def test_human_wer_from_two_transcribers() -> None:
    annotations = pd.DataFrame(
        {
            "item": ["a", "a", "b", "b", "c"],
            "annotator": ["x", "y", "x", "y", "x"],
            "label": ["ONE TWO", "ONE TWO", "THREE FOUR FIVE", "THREE FOUR", "SIX"],
        }
    )
    human = human_clip_errors(annotations, ["a", "b", "c"])
    assert human.loc["a", "word_errors"] == 0 and human.loc["a", "words"] == 2
    assert human.loc["b", "word_errors"] == 1 and human.loc["b", "words"] == 2.5
    assert human.loc["c"].isna().all()


def test_duration_bins() -> None:
    assert duration_bin([1.0, 3.0, 7.5, 12.0]).tolist() == ["<3 s", "3-6 s", "6-10 s", ">=10 s"]


def test_car_noise_raises_the_noise_floor_and_drifts(speech: pd.DataFrame) -> None:
    clips = [read_wav(p) for p in speech["path"]]
    words = speech["transcript"].tolist()
    clean = speech_features(clips, words)
    noisy = []
    for i, (rate, x) in enumerate(clips):
        y, _ = augment_audio_array(x, rate, i, transforms=("car_noise",), snr_db=(0, 5))
        noisy.append((rate, y))
    car = speech_features(noisy, words)
    assert np.allclose(clean["duration_s"], [len(x) / r for r, x in clips])
    assert (car["noise_db"] > clean["noise_db"] + 10).all()
    assert (car["snr_db"] < clean["snr_db"]).all()
    assert np.allclose(car["speaking_rate"], clean["speaking_rate"])
    report = speech_drift(clean, car)
    drifted = set(report.columns.index[report.columns["drifted"]])
    assert {"noise_db", "snr_db"} <= drifted and "duration_s" not in drifted
    with pytest.raises(InputError, match="one transcript per clip"):
        speech_features(clips, words[:3])
