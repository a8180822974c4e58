"""HOG features of sliding windows: the window shape, the pyramid grid, crops.

A window is ``rows x cols`` HOG cells; with 2x2-cell blocks its feature is the
``(rows - 1) x (cols - 1)`` blocks it covers. The block grid of
``skimage.feature.hog(feature_vector=False)`` (here vectorised with numpy, tested equal)
computed once per image and scale gives every window's feature as a slice of it, so
scoring a linear classifier over all windows is ``(rows-1)(cols-1)`` small matrix
products instead of one HOG per window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Scales of the pyramid are powers of this step (shared lattice, so pyramids cache).
SCALE_STEP = 2.0 ** 0.25
_ORIENTATIONS = 9


@dataclass(frozen=True)
class Window:
    """The sliding window of one class: its size in cells and the pyramid it runs on.

    ``scales`` are image scale factors (exponents ``k`` of :data:`SCALE_STEP`): at scale
    ``s`` the window covers a box of ``cols * cell / s`` by ``rows * cell / s`` pixels
    of the (downscaled) image.
    """

    rows: int
    cols: int
    cell: int
    scale_exponents: tuple[int, ...]

    @property
    def n_features(self) -> int:
        return (self.rows - 1) * (self.cols - 1) * 4 * _ORIENTATIONS


def window_for(widths: np.ndarray, heights: np.ndarray, *, cells: int, cell: int,
               max_scale: float) -> Window:
    """The window of a class from its training boxes (in downscaled pixels).

    Parameters
    ----------
    widths, heights : ndarray, shape (n_boxes,)
    cells : int
        Target number of cells in the window (its area); the aspect is the boxes'
        median aspect.
    cell : int
        Pixels per HOG cell.
    max_scale : float
        Largest image upscaling (small boxes beyond it are searched at this scale).
    """
    aspect = float(np.median(widths / heights))
    rows = max(3, round(np.sqrt(cells / aspect)))
    cols = max(3, round(np.sqrt(cells * aspect)))
    window_side = np.sqrt(rows * cols) * cell
    sides = np.sqrt(widths * heights)
    # A 5% margin past the extreme quantiles, so the pyramid brackets nearly every box.
    lo, hi = np.quantile(sides, [0.02, 0.98]) * np.array([0.95, 1.05])
    k_lo = int(np.floor(np.log(window_side / hi) / np.log(SCALE_STEP)))
    k_hi = int(np.ceil(np.log(window_side / lo) / np.log(SCALE_STEP)))
    k_max = int(np.floor(np.log(max_scale) / np.log(SCALE_STEP)))
    exps = tuple(range(k_lo, min(k_hi, k_max) + 1)) or (k_max,)
    return Window(rows=rows, cols=cols, cell=cell, scale_exponents=exps)


def hog_grid(pixels: np.ndarray, cell: int) -> np.ndarray:
    """The normalized HOG block grid of an image, as ``skimage.feature.hog`` computes it.

    Same features as ``hog(pixels, 9, (cell, cell), (2, 2), "L2-Hys",
    feature_vector=False)`` (tested equal), vectorised: skimage normalises block by
    block in a Python loop, several times slower over a pyramid.

    Parameters
    ----------
    pixels : ndarray, shape (height, width)
        Grayscale.

    Returns
    -------
    ndarray, shape (cells_down - 1, cells_across - 1, 36), float32
        Empty in the first two axes when the image is smaller than 2x2 cells.
    """
    hist = _cell_histograms(np.asarray(pixels, dtype=np.float64), cell)
    if min(hist.shape[:2]) < 2:
        return np.zeros((0, 0, 4 * _ORIENTATIONS), dtype=np.float32)
    top = np.stack([hist[:-1, :-1], hist[:-1, 1:]], axis=2)
    bottom = np.stack([hist[1:, :-1], hist[1:, 1:]], axis=2)
    blocks = np.stack([top, bottom], axis=2).reshape(*top.shape[:2], -1)
    # L2-Hys: L2-normalise, clip at 0.2, normalise again (eps as in skimage).
    blocks = blocks / np.sqrt((blocks**2).sum(axis=-1, keepdims=True) + 1e-10)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks**2).sum(axis=-1, keepdims=True) + 1e-10)
    return blocks.astype(np.float32)


def _cell_histograms(pixels: np.ndarray, cell: int) -> np.ndarray:
    """Per-cell histograms of unsigned gradient orientation weighted by magnitude.

    Returns
    -------
    ndarray, shape (height // cell, width // cell, 9)
        Mean magnitude per orientation bin (0-180 degrees, hard binning).
    """
    g_row = np.zeros_like(pixels)
    g_col = np.zeros_like(pixels)
    g_row[1:-1] = pixels[2:] - pixels[:-2]
    g_col[:, 1:-1] = pixels[:, 2:] - pixels[:, :-2]
    n_r, n_c = pixels.shape[0] // cell, pixels.shape[1] // cell
    mag = np.hypot(g_row, g_col)[: n_r * cell, : n_c * cell]
    angle = np.rad2deg(np.arctan2(g_row, g_col))[: n_r * cell, : n_c * cell] % 180
    bins = np.minimum((angle / (180 / _ORIENTATIONS)).astype(np.int64), _ORIENTATIONS - 1)
    cells = ((np.arange(n_r * cell) // cell)[:, None] * n_c
             + (np.arange(n_c * cell) // cell)[None, :])
    hist = np.bincount((cells * _ORIENTATIONS + bins).ravel(), weights=mag.ravel(),
                       minlength=n_r * n_c * _ORIENTATIONS)
    return hist.reshape(n_r, n_c, _ORIENTATIONS) / cell**2


def rescaled(pixels: np.ndarray, scale: float) -> np.ndarray:
    """The image resized by ``scale`` (PIL bilinear, which averages when shrinking)."""
    if abs(scale - 1.0) < 1e-9:
        return pixels
    height, width = pixels.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return _resize(pixels, size)


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray(np.asarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def score_map(grid: np.ndarray, window: Window, coef: np.ndarray,
              intercept: float) -> np.ndarray:
    """A linear classifier's score for every window position of a block grid.

    Parameters
    ----------
    grid : ndarray, shape (R, C, 36)
    coef : ndarray, shape (n_features,)
        Weights in the order of :func:`window_features`.

    Returns
    -------
    ndarray, shape (R - rows + 2, C - cols + 2)
        Score of the window whose top-left cell is (row, col); empty if none fits.
    """
    br, bc = window.rows - 1, window.cols - 1
    out_r, out_c = grid.shape[0] - br + 1, grid.shape[1] - bc + 1
    if out_r <= 0 or out_c <= 0:
        return np.zeros((0, 0), dtype=np.float32)
    weights = coef.reshape(br, bc, -1).astype(np.float32)
    scores = np.full((out_r, out_c), intercept, dtype=np.float32)
    for i in range(br):
        for j in range(bc):
            scores += grid[i:i + out_r, j:j + out_c] @ weights[i, j]
    return scores


def window_features(grid: np.ndarray, window: Window, rows: np.ndarray,
                    cols: np.ndarray) -> np.ndarray:
    """Features of the windows whose top-left cells are ``(rows[i], cols[i])``.

    Returns
    -------
    ndarray, shape (len(rows), n_features), float32
    """
    br, bc = window.rows - 1, window.cols - 1
    if len(rows) == 0:
        return np.zeros((0, window.n_features), dtype=np.float32)
    out = [grid[r:r + br, c:c + bc].reshape(-1) for r, c in zip(rows, cols, strict=True)]
    return np.stack(out)


def crop_features(pixels: np.ndarray, box: np.ndarray, window: Window,
                  flip: bool = False) -> np.ndarray:
    """Features of one box cropped from the image and resized to the window.

    Parameters
    ----------
    box : ndarray, shape (4,)
        ``x, y, w, h`` in the image's pixels.

    Returns
    -------
    ndarray, shape (n_features,), float32
    """
    height, width = pixels.shape
    x0, y0 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x1 = int(min(width, max(x0 + 1, np.ceil(box[0] + box[2]))))
    y1 = int(min(height, max(y0 + 1, np.ceil(box[1] + box[3]))))
    crop = pixels[y0:y1, x0:x1]
    if flip:
        crop = crop[:, ::-1]
    patch = _resize(crop, (window.cols * window.cell, window.rows * window.cell))
    return hog_grid(patch, window.cell).reshape(-1)
