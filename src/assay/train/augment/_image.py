"""Image augmentation with albumentations (MIT), on arrays in memory or on image files.

The default pipeline (:func:`default_image_pipeline`) keeps the class of a digit or an
object: a small affine jitter (rotation within ±10°, scale 0.9-1.1, shift within 5%),
brightness/contrast changes and mild Gaussian noise; no flips, since a flipped digit can
change its class. Pass any albumentations transform or ``Compose`` to use another one.
Every copy is seeded (``Compose.set_random_seed``), so the seed in the provenance
reproduces it.

Arrays may be ``uint8`` (as they are), floats in [0, 1], or any other numeric range
(scaled to [0, 1] by the array's maximum for the transform and scaled back, keeping the
dtype). Albumentations' update check, which would reach the network on import, is
switched off (``NO_ALBUMENTATIONS_UPDATE=1``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from assay.exceptions import InputError

__all__ = ["augment_image_array", "augment_image_file", "default_image_pipeline"]


def _albumentations() -> Any:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    try:
        import albumentations
    except ImportError:
        raise InputError(
            "image augmentation needs albumentations; install it with "
            "pip install 'assay[augment]' (or pip install albumentations)."
        ) from None
    return albumentations


def default_image_pipeline() -> Any:
    """The default albumentations ``Compose`` (class-preserving jitter, see module doc)."""
    A = _albumentations()
    return A.Compose(
        [
            A.Affine(rotate=(-10, 10), scale=(0.9, 1.1), translate_percent=(-0.05, 0.05), p=1.0),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
            A.GaussNoise(std_range=(0.02, 0.06), p=0.3),
        ]
    )


def _as_compose(pipeline: Any) -> Any:
    A = _albumentations()
    if pipeline is None:
        return default_image_pipeline()
    return pipeline if isinstance(pipeline, A.Compose) else A.Compose([pipeline])


def describe_pipeline(pipeline: Any) -> str:
    """``image:Affine+RandomBrightnessContrast+...``, the transforms of a Compose."""
    compose = _as_compose(pipeline)
    return "image:" + "+".join(type(t).__name__ for t in compose.transforms)


def augment_image_array(image: np.ndarray, seed: int, pipeline: Any = None) -> np.ndarray:
    """Augment one image.

    Parameters
    ----------
    image : array of shape (height, width) or (height, width, channels)
    seed : int
    pipeline : albumentations transform or Compose, optional
        Defaults to :func:`default_image_pipeline`.

    Returns
    -------
    array of the same shape and dtype as ``image``
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or not np.issubdtype(arr.dtype, np.number):
        raise InputError(
            f"an image must be a numeric array of shape (height, width[, channels]); got "
            f"dtype {arr.dtype} and shape {arr.shape}."
        )
    work, scale = _to_work(arr)
    squeeze = work.ndim == 2
    compose = _as_compose(pipeline)
    compose.set_random_seed(int(seed))
    out = compose(image=work[..., None] if squeeze else work)["image"]
    out = out[..., 0] if squeeze else out
    if arr.dtype == np.uint8:
        return np.asarray(out, dtype=np.uint8)
    out = np.clip(out, 0.0, 1.0) * scale
    if np.issubdtype(arr.dtype, np.integer):
        out = np.rint(out)
    return out.astype(arr.dtype)


def _to_work(arr: np.ndarray) -> tuple[np.ndarray, float]:
    if arr.dtype == np.uint8:
        return arr, 255.0
    peak = float(np.max(np.abs(arr))) if arr.size else 0.0
    low = float(np.min(arr)) if arr.size else 0.0
    if low < 0:
        raise InputError("image arrays must not hold negative values; rescale them to [0, 1].")
    scale = 1.0 if 0 < peak <= 1.0 and np.issubdtype(arr.dtype, np.floating) else max(peak, 1.0)
    return (arr.astype(np.float32) / scale), scale


def augment_image_file(path: str | Path, output_dir: Path, seed: int, pipeline: Any = None) -> str:
    """Augment one image file and write the result as PNG into ``output_dir``.

    Returns
    -------
    str
        The new file's path, ``<output_dir>/<stem>~aug-<seed>.png``.
    """
    from PIL import Image, UnidentifiedImageError

    source = Path(path)
    try:
        with Image.open(source) as img:
            arr = np.asarray(img.convert("RGB") if img.mode not in ("L", "RGB") else img)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"image file {source} cannot be read ({exc}); fix or drop it.") from None
    out = augment_image_array(arr, seed, pipeline)
    target = output_dir / f"{source.stem}~aug-{int(seed)}.png"
    Image.fromarray(out).save(target)
    return str(target)
