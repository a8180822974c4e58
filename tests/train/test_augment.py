"""Augmentation: provenance, seeding, slices, and each modality's transforms."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.io import wavfile
from sklearn.datasets import load_digits

from assay.exceptions import InputError
from assay.train.augment import PROVENANCE_COLUMNS, augment, choose_parents
from assay.train.augment._audio import augment_audio_array, car_noise, mix_at_snr
from assay.train.augment._text import char_noise, swap_adjacent, word_dropout


@pytest.fixture(scope="module")
def digits_frame() -> pd.DataFrame:
    d = load_digits()
    frame = pd.DataFrame(d.data[:120].astype(np.int64), columns=[f"p{i}" for i in range(64)])
    frame.insert(0, "id", [f"d{i}" for i in range(120)])
    frame["label"] = d.target[:120]
    frame["writer"] = np.where(np.arange(120) % 2 == 0, "left", "right")
    return frame


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


# -- the shared contract --------------------------------------------------------------
@pytest.mark.parametrize(("factor", "expected"), [(1, 120), (2, 240), (0.5, 60), (1.25, 150)])
def test_factor_sets_the_number_of_copies(
    digits_frame: pd.DataFrame, factor: float, expected: int
) -> None:
    out = augment(digits_frame, modality="tabular", label="label", factor=factor, seed=0)
    assert len(out) == expected
    assert set(PROVENANCE_COLUMNS) <= set(out.columns)
    assert out["augmented"].all()
    assert out["parent_id"].isin(digits_frame["id"]).all()
    assert out["id"].is_unique and not out["id"].isin(digits_frame["id"]).any()
    counts = out["parent_id"].value_counts()
    assert counts.max() - counts.min() <= 1  # copies spread evenly over the parents


def test_same_seed_same_rows_other_seed_other_rows(digits_frame: pd.DataFrame) -> None:
    a = augment(digits_frame, modality="tabular", label="label", seed=3)
    b = augment(digits_frame, modality="tabular", label="label", seed=3)
    c = augment(digits_frame, modality="tabular", label="label", seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["p20"].equals(c["p20"])


def test_slice_and_augmented_rows_limit_the_parents(digits_frame: pd.DataFrame) -> None:
    mask = (digits_frame["writer"] == "left").to_numpy()
    first = augment(digits_frame, modality="tabular", label="label", slice_mask=mask, seed=0)
    assert set(first["parent_id"]) == set(digits_frame.loc[mask, "id"])
    assert (first["writer"] == "left").all()
    grown = pd.concat([digits_frame, first], ignore_index=True)
    second = augment(grown, modality="tabular", label="label", seed=1)
    assert second["parent_id"].isin(digits_frame["id"]).all()  # never an augmented parent
    assert len(second) == len(digits_frame)


def test_choose_parents_distributes_the_fraction() -> None:
    parents = choose_parents(10, 2.3, seed=0)
    counts = np.bincount(parents, minlength=10)
    assert len(parents) == 23 and set(counts) == {2, 3} and (counts == 3).sum() == 3


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"modality": "video"}, "'modality'"),
        ({"factor": 0}, "'factor'"),
        ({"factor": -1.0}, "'factor'"),
        ({"slice_mask": np.ones(3, dtype=bool)}, "'slice_mask'"),
        ({"slice_mask": np.zeros(120, dtype=bool)}, "selects no original"),
        ({"label": "class"}, "no column 'class'"),
        ({"modality": "text"}, "no column 'text'"),
        ({"modality": "tabular", "columns": ["nope"]}, "no column 'nope'"),
    ],
)
def test_bad_input_is_refused(digits_frame: pd.DataFrame, kwargs: dict, fragment: str) -> None:
    args = {"modality": "tabular", "label": "label", "seed": 0, **kwargs}
    with pytest.raises(InputError, match=re.escape(fragment)):
        augment(digits_frame, **args)


# -- tabular ---------------------------------------------------------------------------
def test_smote_rows_lie_between_parent_and_a_near_same_class_row(
    digits_frame: pd.DataFrame,
) -> None:
    cols = [f"p{i}" for i in range(64)]
    frame = digits_frame.assign(**{c: digits_frame[c].astype(float) for c in cols})
    out = augment(frame, modality="tabular", label="label", seed=2, k_neighbors=3)
    by_id = frame.set_index("id")
    for _, row in out.head(40).iterrows():
        match = re.fullmatch(r"tabular:smote\(neighbour=(\w+),u=([\d.]+)\)", row["transform"])
        assert match is not None
        neighbour, u = match.group(1), float(match.group(2))
        parent = by_id.loc[row["parent_id"]]
        z = by_id.loc[neighbour]
        assert z["label"] == parent["label"] == row["label"]
        x, zx = parent[cols].to_numpy(float), z[cols].to_numpy(float)
        np.testing.assert_allclose(row[cols].to_numpy(float), x + u * (zx - x), atol=1e-3)
        same = frame[frame["label"] == parent["label"]]
        dist = np.linalg.norm(same[cols].to_numpy(float) - x, axis=1)  # brute-force reference
        nearest = np.sort(dist)[3]  # the parent itself, then its 3 nearest
        assert dist[same["id"].to_numpy() == neighbour][0] <= nearest + 1e-9
        assert row["writer"] == parent["writer"]  # categorical copied from the parent


def test_smote_keeps_integer_columns_integer(digits_frame: pd.DataFrame) -> None:
    out = augment(digits_frame, modality="tabular", label="label", seed=0)
    assert out["p20"].dtype == digits_frame["p20"].dtype


def test_missing_numeric_value_is_named_by_column_and_index_label() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "z": [1.0, 2.0, np.nan, 4.0],
                          "label": ["a", "a", "b", "b"]}, index=[10, 20, 30, 40])
    with pytest.raises(InputError, match="column 'z' of the dataset is missing a value at "
                                         "index 30; impute it before augmenting"):
        augment(frame, modality="tabular", label="label", seed=0)


def test_smote_needs_two_rows_of_a_class() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0], "label": ["a", "a", "b"]})
    with pytest.raises(InputError, match="class 'b' has a single row"):
        augment(frame, modality="tabular", label="label", seed=0)


# -- text ------------------------------------------------------------------------------
def test_text_transforms_do_what_they_say() -> None:
    text = "the quick brown fox jumps over the lazy dog"
    words = text.split()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        dropped = word_dropout(text, rng, p=0.3).split()
        it = iter(words)
        assert 1 <= len(dropped) <= len(words) and all(w in it for w in dropped)  # subsequence
        swapped = swap_adjacent(text, rng).split()
        diff = [i for i in range(len(words)) if swapped[i] != words[i]]
        assert sorted(swapped) == sorted(words) and (len(diff) in (0, 2))
        if len(diff) == 2:
            assert diff[1] == diff[0] + 1
    assert char_noise(text, np.random.default_rng(0), p=0.0) == text
    assert char_noise(text, np.random.default_rng(0), p=1.0) != text
    assert word_dropout("alone", np.random.default_rng(0), p=1.0) == "alone"


def test_text_augment_is_seeded_and_keeps_labels() -> None:
    frame = pd.DataFrame(
        {
            "id": range(30),
            "text": [f"the service at place {i} was slow and the food was cold" for i in range(30)],
            "label": [0, 1, 2] * 10,
        }
    )
    a = augment(frame, modality="text", label="label", factor=2, seed=5)
    b = augment(frame, modality="text", label="label", factor=2, seed=5)
    pd.testing.assert_frame_equal(a, b)
    parents = frame.set_index("id")
    assert (a["label"].to_numpy() == parents.loc[a["parent_id"], "label"].to_numpy()).all()
    assert set(a["transform"]) == {"text:word_dropout", "text:swap_adjacent", "text:char_noise"}
    changed = a["text"].to_numpy() != parents.loc[a["parent_id"], "text"].to_numpy()
    assert changed.mean() > 0.8
    only = augment(frame, modality="text", label="label", seed=0, transforms=["swap_adjacent"])
    assert set(only["transform"]) == {"text:swap_adjacent"}
    with pytest.raises(InputError, match="'transforms'"):
        augment(frame, modality="text", label="label", transforms=["synonyms"])


# -- images ----------------------------------------------------------------------------
def test_image_arrays_keep_shape_and_dtype_and_change() -> None:
    d = load_digits()
    rgb = np.random.default_rng(0).integers(0, 256, (6, 24, 24, 3), dtype=np.uint8)
    frame = pd.DataFrame(
        {"id": range(6), "image": list(d.images[:6]), "rgb": list(rgb), "label": d.target[:6]}
    )
    out = augment(frame, modality="image", label="label", seed=0)
    for new, old in zip(out["image"], frame["image"], strict=True):
        assert new.shape == (8, 8) and new.dtype == old.dtype
        assert not np.array_equal(new, old)
        assert new.min() >= 0 and new.max() <= 16 + 1e-9  # stays in the digits' range
    colour = augment(frame, modality="image", label="label", column="rgb", seed=0)
    assert all(a.dtype == np.uint8 and a.shape == (24, 24, 3) for a in colour["rgb"])
    again = augment(frame, modality="image", label="label", column="rgb", seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(colour["rgb"], again["rgb"], strict=True))


def test_image_files_are_written_to_the_output_folder(tmp_path: Path) -> None:
    d = load_digits()
    paths = []
    for i in range(3):
        path = tmp_path / "in" / f"digit{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray((d.images[i] * 15).astype(np.uint8)).save(path)
        paths.append(str(path))
    frame = pd.DataFrame({"id": range(3), "image": paths, "label": d.target[:3]})
    out = augment(frame, modality="image", label="label", output_dir=tmp_path / "out", seed=1)
    for new_path in out["image"]:
        assert Path(new_path).parent == tmp_path / "out"
        with Image.open(new_path) as img:
            assert img.size == (8, 8)
    with pytest.raises(InputError, match="output_dir"):
        augment(frame, modality="image", label="label", seed=1)


# -- audio -----------------------------------------------------------------------------
def test_car_noise_is_low_frequency_and_unit_rms() -> None:
    rate = 8000
    noise = car_noise(2 * rate, rate, seed=0)
    assert _rms(noise) == pytest.approx(1.0)
    power = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(noise.size, 1 / rate)
    assert power[freqs < 300].sum() / power.sum() > 0.9
    peak = freqs[np.argmax(power[freqs > 20]) + np.sum(freqs <= 20)]
    assert 25 <= peak <= 320  # the engine's fundamental or one of its first harmonics
    np.testing.assert_array_equal(noise, car_noise(2 * rate, rate, seed=0))
    assert not np.array_equal(noise, car_noise(2 * rate, rate, seed=1))


@pytest.mark.parametrize("snr_db", [0.0, 6.0, 20.0])
def test_mix_at_snr_hits_the_ratio(snr_db: float) -> None:
    rate = 8000
    speech = np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 0.3
    mixed = mix_at_snr(speech, car_noise(rate, rate, seed=2), snr_db)
    measured = 20 * np.log10(_rms(speech) / _rms(mixed - speech))
    assert measured == pytest.approx(snr_db, abs=0.01)
    assert np.array_equal(mix_at_snr(np.zeros(10), np.ones(10), 5.0), np.zeros(10))


def test_audio_augment_leaves_global_random_state_alone() -> None:
    rate = 8000
    x = np.sin(2 * np.pi * 300 * np.arange(rate) / rate).astype(np.float32)
    np.random.seed(123)
    random.seed(123)
    expected = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(123)
    out1, _ = augment_audio_array(x, rate, 7, transforms=("gaussian_snr", "gain", "time_shift"))
    assert (np.random.random(), random.random()) == expected
    out2, _ = augment_audio_array(x, rate, 7, transforms=("gaussian_snr", "gain", "time_shift"))
    np.testing.assert_array_equal(out1, out2)


def test_car_noise_on_real_spoken_digits(shared_data: Path, tmp_path: Path) -> None:
    """Real data: FSDD recordings get car noise at SNRs inside the asked range."""
    folder = shared_data / "audio" / "fsdd"
    paths = sorted(folder.glob("*_jackson_1*.wav"))[:4]
    if not paths:
        pytest.skip(f"no FSDD recordings in {folder}")
    arrays = []
    for path in paths:
        rate, data = wavfile.read(path)
        arrays.append(data.astype(np.float32) / 32768.0)
    frame = pd.DataFrame(
        {"id": [p.stem for p in paths], "audio": arrays, "label": [p.stem[0] for p in paths]}
    )
    out = augment(
        frame,
        modality="audio",
        label="label",
        sample_rate=rate,
        seed=0,
        transforms=["car_noise"],
        snr_db=(5.0, 15.0),
    )
    for new, old, described in zip(out["audio"], arrays, out["transform"], strict=True):
        measured = 20 * np.log10(_rms(old) / _rms(new - old))
        found = re.search(r"snr_db=([\d.]+)", described)
        assert found is not None
        stated = float(found.group(1))
        assert 5.0 <= measured <= 15.0 and measured == pytest.approx(stated, abs=0.05)
    on_files = pd.DataFrame({"id": frame["id"], "audio": [str(p) for p in paths], "label": 0})
    written = augment(on_files, modality="audio", label="label", output_dir=tmp_path, seed=0)
    for new_path, old_path in zip(written["audio"], paths, strict=True):
        new_rate, new_data = wavfile.read(new_path)
        old_rate, old_data = wavfile.read(old_path)
        assert new_rate == old_rate and new_data.dtype == old_data.dtype
        assert new_data.shape == old_data.shape and not np.array_equal(new_data, old_data)
    with pytest.raises(InputError, match="sample_rate"):
        augment(frame, modality="audio", label="label", seed=0)
