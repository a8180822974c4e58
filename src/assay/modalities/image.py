"""Images: a small, documented feature extractor that needs no downloaded weights.

Features of one image (390 numbers), all computed with numpy on a Pillow-loaded image:

* **thumbnail** (256): the image in grayscale, resized to 16 x 16 (bilinear), in [0, 1];
* **gradient histograms** (128, HOG-like): the grayscale image resized to 32 x 32,
  central-difference gradients, and per cell of 8 x 8 pixels (4 x 4 cells) a histogram of
  unsigned gradient orientation in 8 bins weighted by magnitude, each cell L2-normalised;
* **colour** (6): mean and standard deviation of each RGB channel, in [0, 1].

This is in the spirit of Dalal & Triggs' HOG without block normalisation; it is enough to
find duplicates, odd images and many label errors on small images (digits, icons). Bring
your own embeddings (e.g. from a CNN) for natural photos. scikit-image's ``hog`` would do
the same with another dependency; numpy keeps the install small.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from assay.exceptions import InputError

__all__ = ["ImageModality", "image_features"]

_BINS = 8
_CELL = 8
_SIDE = 32


def _open(item: Any) -> Image.Image:
    if isinstance(item, Image.Image):
        return item
    if isinstance(item, np.ndarray):
        return Image.fromarray(_to_uint8(item))
    try:
        with Image.open(Path(item)) as img:
            img.load()
            return img
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"{item}: cannot read the image ({exc}); give a PNG or JPEG file.") from None


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Pixels as uint8: floats in [0, 1] are scaled by 255, larger ranges by their maximum."""
    if arr.dtype == np.uint8:
        return arr
    top = float(arr.max()) if arr.size else 1.0
    scale = 255.0 if top <= 1.0 else 255.0 / top
    return np.clip(np.asarray(arr, dtype=np.float64) * scale, 0, 255).astype(np.uint8)


def _gradient_histograms(gray: np.ndarray) -> np.ndarray:
    """HOG-like cell histograms of a (32, 32) grayscale array; shape (128,)."""
    gy, gx = np.gradient(gray)
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((angle / np.pi * _BINS).astype(int), _BINS - 1)
    cells = _SIDE // _CELL
    cell_id = (np.arange(_SIDE) // _CELL)[:, None] * cells + (np.arange(_SIDE) // _CELL)[None, :]
    hist = np.bincount(
        (cell_id * _BINS + bins).ravel(), weights=magnitude.ravel(), minlength=cells**2 * _BINS
    ).reshape(cells**2, _BINS)
    norms = np.linalg.norm(hist, axis=1, keepdims=True)
    return (hist / np.where(norms > 0, norms, 1.0)).ravel()


def _one_image(img: Image.Image) -> np.ndarray:
    rgb = img.convert("RGB")
    gray = rgb.convert("L")
    thumb = np.asarray(gray.resize((16, 16), Image.Resampling.BILINEAR), dtype=np.float64) / 255
    small = np.asarray(gray.resize((_SIDE, _SIDE), Image.Resampling.BILINEAR), dtype=np.float64)
    colour = np.asarray(rgb, dtype=np.float64).reshape(-1, 3) / 255
    return np.concatenate(
        [thumb.ravel(), _gradient_histograms(small / 255), colour.mean(0), colour.std(0)]
    )


def image_features(items: Sequence[Any]) -> np.ndarray:
    """Features of images (see the module docstring).

    Parameters
    ----------
    items : sequence of PIL images, paths, or arrays of shape (h, w[, 3])
        Arrays: uint8 as they are, floats in [0, 1] scaled by 255, others by their maximum.

    Returns
    -------
    ndarray of shape (n_images, 390)
    """
    if len(items) == 0:
        return np.zeros((0, 390))
    return np.vstack([_one_image(_open(item)) for item in items])


class ImageModality:
    """PNG/JPEG images, loaded with Pillow.

    Parameters
    ----------
    thumbnail_size : int, default=96
        Longest side, in pixels, of the thumbnails in reports.
    """

    name = "image"

    def __init__(self, thumbnail_size: int = 96) -> None:
        self.thumbnail_size = thumbnail_size

    def load(self, paths: Sequence[str | Path]) -> list[Any]:
        """Open every image (decoded, file closed)."""
        return [_open(p) for p in paths]

    def featurize(self, items: Any) -> np.ndarray:
        """See :func:`image_features`."""
        return image_features(list(items))

    def render_html(self, item: Any) -> str:
        """A base64 PNG thumbnail (longest side about ``thumbnail_size``) in an ``<img>``."""
        img = _open(item).copy()
        factor = self.thumbnail_size // max(img.size)
        if factor > 1:  # tiny images (e.g. 8x8 digits) are enlarged, pixels kept sharp
            img = img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)
        img.thumbnail((self.thumbnail_size, self.thumbnail_size))
        buffer = io.BytesIO()
        img.convert("RGB" if img.mode not in ("L", "RGB", "RGBA") else img.mode).save(
            buffer, format="PNG"
        )
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        alt = html.escape(str(item) if isinstance(item, (str, Path)) else "image")
        return f'<img src="data:image/png;base64,{data}" alt="{alt}">'
