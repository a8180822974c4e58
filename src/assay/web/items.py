"""What the item and review pages show of one item: its row, media and label history.

Media files are served only from the dataset's registered media root; a path that
resolves outside it (``..``, an absolute path, a symlink out) is not found (404).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from assay.exceptions import NotFoundError
from assay.store.datasets import DatasetVersion
from assay.store.readers import MEDIA_EXTENSIONS
from assay.web.cache import TableCache
from assay.web.charts import pixel_values

__all__ = ["item_view", "label_history", "media_file"]

_MAX_TEXT = 20_000


def _safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + " ..."
    if isinstance(value, (list, dict, bytes)):
        return str(value)[:2000]
    return value


def item_view(
    version: DatasetVersion,
    cache: TableCache,
    item_id: str,
    *,
    fallback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The item as the pages render it.

    Parameters
    ----------
    version : DatasetVersion
        The version to read the item from.
    item_id : str
        The item's id (as text).
    fallback : dict, optional
        A row to show when the version does not hold the item (e.g. a production row
        carried in a review entry's payload).
    """
    row = cache.get(version).row(item_id)
    present = row is not None
    if row is None:
        row = dict(fallback or {})
    label = row.get(version.roles.label)
    row = {str(k): _safe(v) for k, v in row.items()}
    view: dict[str, Any] = {
        "item_id": item_id,
        "in_version": present,
        "version": version.ref,
        "label": _safe(label) if not isinstance(label, list) else [_safe(v) for v in label],
        "modality": version.modality,
        "row": row,
        "media_url": None,
        "media_kind": None,
        "text": None,
        "pixels": pixel_values(row),
    }
    _add_media(view, version, row)
    return view


def _add_media(view: dict[str, Any], version: DatasetVersion, row: dict[str, Any]) -> None:
    """The media link (served from the dataset's media root) and text of the item."""
    media = version.roles.media
    if media and isinstance(row.get(media), str) and version.media_root:
        path = row[media]
        view["media_url"] = f"/media/{quote(version.name, safe='')}/{quote(path)}"
        view["media_kind"] = MEDIA_EXTENSIONS.get(Path(path).suffix.lower())
    if isinstance(row.get("text"), str):
        view["text"] = row["text"]


def label_history(versions: list[DatasetVersion], item_id: str) -> list[dict[str, Any]]:
    """The item's label in each version (newest first); ``present`` False when absent."""
    out = []
    for v in versions:
        frame = v.to_pandas([v.roles.id, v.roles.label])
        ids = pd.Index(frame[v.roles.id].astype(str))
        pos = int(ids.get_indexer(pd.Index([item_id]))[0])
        label: Any = frame[v.roles.label].iloc[pos] if pos >= 0 else None
        if isinstance(label, np.ndarray):  # a set of labels (a list column)
            label = label.tolist()
        out.append(
            {
                "version": v.ref,
                "created_at": v.created_at,
                "author": v.author,
                "message": v.message,
                "present": bool(pos >= 0),
                "label": label.item() if hasattr(label, "item") else label,
            }
        )
    return out


def media_file(version: DatasetVersion, path: str) -> Path:
    """The file ``path`` under the version's media root, else :class:`NotFoundError`."""
    missing = NotFoundError(f"no media file {path!r} in dataset {version.name!r}.")
    if not version.media_root or "\x00" in path:
        raise missing
    root = Path(version.media_root).resolve()
    try:
        target = (root / path).resolve()
    except (OSError, RuntimeError) as exc:
        raise missing from exc
    if not target.is_relative_to(root) or not target.is_file():
        raise missing
    if target.suffix.lower() not in MEDIA_EXTENSIONS:
        raise missing
    return target
