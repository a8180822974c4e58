"""CLI start-up and detector image loading, against the way they were done before.

Two measurements, each with its anchor in the same run:

* **CLI start-up**: wall time of ``assay import --help`` in a new process (the store
  commands' start), against the same command in a process that first imports
  ``scipy.optimize`` and ``scipy.stats``, as the store's import chain did before they
  were imported where they are used. Median of ``--repeats`` runs each, interleaved.
* **Detector image loading**: :func:`assay.train.detect._images.load_image` of the
  chess photos (2048 x 1371 JPEGs, shrunk to ``max_side`` 160), which decodes a JPEG
  at a reduced DCT scale (PIL ``draft``), against a full decode, grayscale conversion
  and the same bilinear resize (the loader before). Median of ``--repeats`` passes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

CHESS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "detection" / (
    "chess-pieces/valid"
)
NOW = "from assay.cli.main import main; main(['import', '--help'])"
BEFORE = "import scipy.optimize, scipy.stats; " + NOW


def _process_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def startup(repeats: int) -> tuple[float, float]:
    """Median seconds of the command now and as before (interleaved runs)."""
    _process_seconds(NOW)  # warm the file cache and the bytecode
    now, before = [], []
    for _ in range(repeats):
        now.append(_process_seconds(NOW))
        before.append(_process_seconds(BEFORE))
    return statistics.median(now), statistics.median(before)


def _full_decode(path: Path, max_side: int) -> np.ndarray:
    """The loader before: decode whole, convert, then resize (bilinear)."""
    from PIL import Image

    pil = Image.open(path).convert("L")
    factor = min(1.0, max_side / max(pil.size))
    if factor < 1.0:
        size = (max(1, round(pil.width * factor)), max(1, round(pil.height * factor)))
        pil = pil.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(pil, dtype=np.float32) / 255.0


def image_loading(n_images: int, max_side: int, repeats: int) -> tuple[float, float, float]:
    """Median seconds per pass over the photos, now and before, and the largest mean
    absolute pixel difference between the two (pixels in [0, 1])."""
    from assay.train.detect._images import load_image

    paths = sorted(CHESS.glob("*.jpg"))[:n_images]
    now, before, diff = [], [], 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        ours = [load_image(p.name, p, max_side).pixels for p in paths]
        now.append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs = [_full_decode(p, max_side) for p in paths]
        before.append(time.perf_counter() - start)
    for a, b in zip(ours, theirs, strict=True):
        diff = max(diff, float(np.abs(a - b).mean()) if a.shape == b.shape else np.inf)
    return statistics.median(now), statistics.median(before), diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--max-side", type=int, default=160)
    args = parser.parse_args(argv)
    now, before = startup(args.repeats)
    rows = [["`assay import --help` (new process)", f"{now:.3f}", f"{before:.3f}",
             f"{now / before:.2f}x"]]
    if CHESS.exists():
        img_now, img_before, diff = image_loading(args.images, args.max_side, args.repeats)
        rows.append([f"load {args.images} chess photos at max_side {args.max_side}",
                     f"{img_now:.3f}", f"{img_before:.3f}", f"{img_now / img_before:.2f}x"])
        note = (f"\n\nThe reduced-scale decode gives the same image sizes; its pixels differ "
                f"from the full decode's by at most {diff:.4f} on average (of 1.0).")
    else:
        note = f"\n\n{CHESS} is absent: image loading was not measured."
    body = (
        f"Medians of {args.repeats} runs; the anchor is the way it was done before "
        "(see the script's docstring), measured in the same run.\n\n"
        + markdown_table(["operation", "now (s)", "before (s)", "ratio"], rows) + note
    )
    write_results("startup", "CLI start-up and detector image loading", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
