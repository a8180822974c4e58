"""Images for the detector: paths or arrays in, downscaled grayscale arrays out."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assay.exceptions import InputError

#: An image as a path to a file PIL can read, or an array (height, width[, channels]).
ImageLike = str | Path | np.ndarray
#: Images by id (the ``image`` column of a boxes frame), or a sequence of paths whose
#: file names are the ids.
Images = Mapping[Any, ImageLike] | Sequence[str | Path]


@dataclass(frozen=True)
class Loaded:
    """One image ready for HOG.

    ``pixels`` is float32 grayscale in [0, 1], shape (height, width), downscaled by
    ``factor`` (<= 1) from the original, whose boxes are multiplied by ``factor``.
    ``key`` identifies the pixels for caches (the file's path, or a digest of an
    array's pixels).
    """

    pixels: np.ndarray
    factor: float
    key: str


def as_mapping(images: Images, where: str = "images") -> dict[Any, ImageLike]:
    """Images by id: a mapping as it is, a sequence of paths keyed by file name."""
    if isinstance(images, Mapping):
        return dict(images)
    if isinstance(images, str | Path | np.ndarray):
        raise InputError(
            f"{where} must be a mapping of image id to path or array, or a list of paths; "
            f"got a single {type(images).__name__}"
        )
    out: dict[Any, ImageLike] = {}
    for item in images:
        if not isinstance(item, str | Path):
            raise InputError(
                f"{where}: a list of images holds paths (keyed by file name); got "
                f"{type(item).__name__}; pass a mapping of id to array instead"
            )
        out[Path(item).name] = item
    return out


def load_image(image_id: Any, image: ImageLike, max_side: int) -> Loaded:
    """Read one image as grayscale float32 and shrink it so its longest side <= max_side.

    Raises
    ------
    InputError
        The file is missing or unreadable, or the array is not 2-D/3-D.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, np.ndarray):
        pil = _from_array(image_id, image)
        key = "array:" + hashlib.sha1(pil.tobytes()).hexdigest()
        original = pil.size
    else:
        path = Path(image)
        if not path.is_file():
            raise InputError(
                f"image {image_id!r}: file {str(path)!r} does not exist; fix the path or "
                "drop the image's boxes"
            )
        try:
            pil, original = _open_reduced(path, max_side)
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(
                f"image {image_id!r}: {str(path)!r} is not an image PIL can read ({exc})"
            ) from None
        key = str(path.resolve())
    factor = min(1.0, max_side / max(original))
    if factor < 1.0:
        size = (max(1, round(original[0] * factor)), max(1, round(original[1] * factor)))
        pil = pil.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(pil, dtype=np.float32) / 255.0
    return Loaded(pixels=pixels, factor=factor, key=key)


def _open_reduced(path: Path, max_side: int) -> tuple[Any, tuple[int, int]]:
    """Open ``path`` as grayscale, decoded no larger than needed, and its full size.

    A JPEG is decoded at the smallest of 1/1, 1/2, 1/4 or 1/8 scale that still
    covers ``max_side`` (PIL's ``draft``: the decoder scales the DCT blocks), so a
    2048-pixel photo shrunk to 160 is not first decoded whole; other formats decode
    whole. The caller resizes to the exact size from the full one.
    """
    from PIL import Image

    pil = Image.open(path)
    original = pil.size
    factor = min(1.0, max_side / max(original))
    if factor < 1.0:
        pil.draft("L", (math.ceil(original[0] * factor), math.ceil(original[1] * factor)))
    return pil.convert("L"), original


def _from_array(image_id: Any, image: np.ndarray) -> Any:
    from PIL import Image

    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=2)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise InputError(
            f"image {image_id!r}: an array image has shape (height, width) or "
            f"(height, width, channels); got {image.shape}"
        )
    arr = arr.astype(np.float64)
    if arr.max(initial=0.0) > 1.0:
        arr = arr / 255.0
    return Image.fromarray(np.clip(arr * 255.0, 0, 255).astype(np.uint8))
