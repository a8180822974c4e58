"""A speech dataset's recogniser output: the built-in recogniser (cached in the workspace)
or the user's own recogniser's transcript file.

The cache is one small JSON file per clip under ``.assay/cache/recogniser/``, named by the
clip's key (the SHA-256 of the recogniser's identity and the clip's 16 kHz samples), so
the same audio is never decoded twice, whichever dataset or version holds it. A file is
written to a temporary name and renamed, so an interrupted run leaves no half entry.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assay.collect.normalisation import Normalisation
from assay.exceptions import InputError, NotFoundError
from assay.store.datasets import DatasetVersion
from assay.store.features import media_paths
from assay.store.workspace import Workspace
from assay.train.recipe._speech import get_recogniser, normalise_words

__all__ = [
    "DiskCache",
    "book_normalisation",
    "compared_words",
    "spoken_clips",
    "recogniser_output",
    "read_hypotheses",
    "workspace_cache",
]


def spoken_clips(frame: pd.DataFrame) -> pd.DataFrame:
    """The clips people recorded: rows marked ``augmented`` (noisy copies made by
    ``assay augment`` for training) are dropped, as from an evaluation set; the
    recogniser's error analysis, audit and monitor reference read real clips only."""
    if "augmented" not in frame.columns:
        return frame
    marked = frame["augmented"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return frame[~marked].reset_index(drop=True)


def book_normalisation(ws: Workspace, dataset: str) -> Normalisation | None:
    """The latest label-book version's ``normalisation`` of ``dataset`` (None without one)."""
    try:
        book = ws.labelbook.get(dataset)
    except NotFoundError:
        return None
    return Normalisation.from_dict(book.normalisation) if book.normalisation else None


def compared_words(texts: Any, normalisation: Normalisation | None) -> list[str]:
    """Texts as a recogniser's output and a transcript are compared: the label book's
    conventions first (so a convention difference is no word error), then
    :func:`~assay.train.recipe._speech.normalise_words` (case and punctuation)."""
    out = []
    for text in texts:
        text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
        out.append(normalise_words(normalisation.apply(text) if normalisation else text))
    return out


class DiskCache(MutableMapping[str, Any]):
    """JSON values in files ``root/ab/<key>.json`` (keys are hex digests)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def __getitem__(self, key: str) -> Any:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(value, out)
        os.replace(tmp, path)

    def __delitem__(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return (p.stem for p in self.root.glob("*/*.json") if not p.name.startswith(".tmp-"))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def workspace_cache(ws: Workspace) -> DiskCache:
    """The workspace's recogniser cache (next to its objects for a database-URL one)."""
    base = ws.root / ".assay" if ws.root is not None else ws.objects.root.parent
    return DiskCache(base / "cache" / "recogniser")


def read_hypotheses(path: Path, ids: list[str], files: list[str] | None = None) -> pd.DataFrame:
    """A recogniser's output as a CSV ``file,hypothesis[,confidence]``.

    ``file`` names a clip by its item id or its media file (path relative to the media
    root, or the file name alone). Returns a frame indexed by item id (in ``ids`` order)
    with ``hypothesis`` and ``confidence`` (NaN when the file gives none).

    Raises
    ------
    InputError
        Unreadable or non-UTF-8 file, missing columns, clips the dataset does not hold,
        clips named twice, or clips of the dataset without a hypothesis.
    """
    try:
        raw = pd.read_csv(
            path, dtype={"file": str, "hypothesis": str}, keep_default_na=False, encoding="utf-8"
        )
    except FileNotFoundError:
        raise InputError(
            f"{path} does not exist; give the recogniser's output as a CSV "
            "file,hypothesis[,confidence]."
        ) from None
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise InputError(
            f"{path}: cannot read it as a UTF-8 CSV ({exc}); save it as UTF-8 "
            "CSV with columns file,hypothesis[,confidence]."
        ) from None
    missing = [c for c in ("file", "hypothesis") if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}: no column {' or '.join(missing)}; give columns "
            "file,hypothesis[,confidence] (one row per clip)."
        )
    return _matched(raw, path, ids, files)


def _names(ids: list[str], files: list[str] | None) -> dict[str, str]:
    names = {i: i for i in ids}
    for item, file in zip(ids, files or [], strict=False):
        names.setdefault(file, item)
        names.setdefault(Path(file).name, item)
    return names


def _matched(
    raw: pd.DataFrame, path: Path, ids: list[str], files: list[str] | None
) -> pd.DataFrame:
    names = _names(ids, files)
    items = raw["file"].map(names)
    unknown = np.flatnonzero(items.isna().to_numpy())
    if len(unknown):
        lines = ", ".join(str(i + 2) for i in unknown[:5])
        raise InputError(
            f"{path}: line(s) {lines} name clips the dataset does not hold "
            f"(e.g. {raw['file'].iloc[unknown[0]]!r}); name clips by item id or "
            "media file, or remove those lines."
        )
    twice = np.flatnonzero(items.duplicated().to_numpy())
    if len(twice):
        raise InputError(
            f"{path}: line {twice[0] + 2} names clip {items.iloc[twice[0]]!r} "
            "again; give one hypothesis per clip."
        )
    confidence = (
        pd.to_numeric(raw["confidence"], errors="coerce")
        if "confidence" in raw
        else pd.Series(np.nan, index=raw.index)
    )
    if "confidence" in raw and (confidence.isna() | ~confidence.between(0, 1)).any():
        bad = int(np.flatnonzero((confidence.isna() | ~confidence.between(0, 1)).to_numpy())[0])
        raise InputError(
            f"{path}: line {bad + 2} has confidence {raw['confidence'].iloc[bad]!r};"
            " give a number in [0, 1] (or leave the column out)."
        )
    out = pd.DataFrame(
        {
            "hypothesis": raw["hypothesis"].astype(str).to_numpy(),
            "confidence": confidence.to_numpy(float),
        },
        index=items.to_numpy(),
    )
    absent = [i for i in ids if i not in out.index]
    if absent:
        raise InputError(
            f"{path} has no hypothesis for {len(absent)} clip(s) of the dataset "
            f"(e.g. {absent[0]!r}); give one line per clip (an empty hypothesis "
            "if the recogniser heard nothing)."
        )
    return out.reindex(ids)


def recogniser_output(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    *,
    recogniser: str | None = None,
    hypotheses: Path | None = None,
) -> pd.DataFrame:
    """Hypotheses and confidences of a speech version's clips, indexed by item id.

    Exactly one of ``recogniser`` (a built-in name, run over the media files with the
    workspace's cache) and ``hypotheses`` (the user's CSV) is given.

    Raises
    ------
    InputError
        Both or neither given, the recogniser not installed, unreadable audio or a bad file.
    """
    if (recogniser is None) == (hypotheses is None):
        raise InputError(
            "give either recogniser='pocketsphinx' or hypotheses= (the recogniser's output), "
            "not both."
        )
    ids = frame[version.roles.id].astype(str).to_list()
    media = version.roles.media
    files = frame[media].astype(str).to_list() if media and media in frame else None
    if hypotheses is not None:
        return read_hypotheses(hypotheses, ids, files)
    engine = get_recogniser(str(recogniser), cache=workspace_cache(ws))
    heard = engine.transcribe(media_paths(version, frame))
    heard.index = pd.Index(ids)
    return heard
