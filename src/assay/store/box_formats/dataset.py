"""Box annotations as an image dataset, and back.

An imported detection dataset has one row per image: ``item_id`` and ``path`` (the
image's path under the dataset's media root), ``label`` (its boxes, Arrow
``list<struct<label, x, y, w, h>>``, see :mod:`assay.tasks.detection`), ``width`` and
``height`` (pixels). Box attributes (VOC ``difficult``...) are not kept in the label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay.exceptions import InputError
from assay.tasks.detection import BOX_FIELDS, BOX_LIST_TYPE, as_boxes

from ._common import BoxSet, image_size

__all__ = ["BoxSource", "box_import_source", "box_table", "dataset_boxes", "export_boxes"]


@dataclass
class BoxSource:
    """Box annotations to import (``Workspace.import_dataset(name, BoxSource(...))``).

    Attributes
    ----------
    path : path
        The annotation file or folder.
    format : str
        One of :data:`assay.store.box_formats.READ_FORMATS`.
    images : path, optional
        The folder of the images (the format's default when None).
    drop_empty : bool
        Leave zero-area boxes out instead of refusing them.
    dropped : DataFrame
        After :meth:`read`: the boxes left out (``where`` names each).
    """

    path: Path
    format: str
    images: Path | None = None
    drop_empty: bool = False
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __str__(self) -> str:
        return str(self.path)

    def dropped_note(self) -> str:
        """``Left out 2 zero-area box(es): FILE object 13, ...``."""
        return f"Left out {len(self.dropped)} zero-area box(es): {', '.join(self.dropped['where'])}."

    def read(self) -> tuple[pa.Table, dict[str, Any]]:
        """The dataset table and the reader's info (see :func:`box_table`)."""
        from . import read_boxes

        read = read_boxes(self.path, self.format, images=self.images, drop_empty=self.drop_empty)
        table, info = box_table(read)
        self.dropped = read.dropped
        return table, {**info, "format": self.format}


def box_table(read: BoxSet) -> tuple[pa.Table, dict[str, Any]]:
    """One row per image with its boxes, and ``media_root``/``media_column``/``modality``.

    Raises
    ------
    InputError
        An image carries boxes of several annotators (a dataset holds one set of boxes
        per image; labelers' boxes are annotations).
    """
    _one_annotator(read.boxes)
    images = read.images
    if images.empty:
        raise InputError("the annotations list no image; nothing to import")
    paths = [Path(p) for p in images["path"]]
    root = Path(os.path.commonpath([str(p.parent) for p in paths]))
    grouped = read.boxes.groupby("image", sort=False)[list(BOX_FIELDS)]
    per_image = {image: group.to_dict("records") for image, group in grouped}
    labels = [per_image.get(image, []) for image in images["image"]]
    table = pa.table({
        "item_id": pa.array(images["image"].astype(str).tolist(), pa.string()),
        "path": pa.array([p.relative_to(root).as_posix() for p in paths], pa.string()),
        "label": pa.array(labels, type=BOX_LIST_TYPE),
        "width": pa.array(images["width"].astype(np.int64)),
        "height": pa.array(images["height"].astype(np.int64)),
    })
    from assay.store.readers import RowNames

    info = {"rows": RowNames("file", labels=images["image"].tolist()), "media_root": str(root),
            "media_column": "path", "modality": "image"}
    return table, info


def _one_annotator(boxes: pd.DataFrame) -> None:
    if "annotator" not in boxes.columns:
        return
    counts = boxes.groupby("image")["annotator"].nunique()
    several = counts[counts > 1]
    if len(several):
        image = several.index[0]
        who = sorted(map(str, boxes.loc[boxes["image"] == image, "annotator"].unique()))
        raise InputError(
            f"image {image!r} has boxes of {len(who)} annotators ({', '.join(who)}); a dataset "
            "holds one set of boxes per image: export one annotator's boxes, or measure their "
            "agreement on the boxes frame (read_boxes)"
        )


def dataset_boxes(table: pa.Table, *, label: str, media: str | None, root: str | None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A detection dataset's boxes frame and images frame (for the writers).

    Parameters
    ----------
    table : pyarrow.Table, n_images rows
        A version's rows.
    label : str
        Its label column (lists of boxes).
    media, root : str or None
        Its media column (image paths) and media root; sizes are read from the image
        headers when the table has no ``width``/``height`` columns.
    """
    frame = table.to_pandas()
    names = frame[media].astype(str) if media else frame.iloc[:, 0].astype(str)
    if {"width", "height"} <= set(frame.columns):
        width, height = frame["width"].astype(int), frame["height"].astype(int)
    else:
        if not media or root is None:
            raise InputError("the dataset has no image sizes (width, height) nor image paths; "
                             "re-import it with --boxes")
        sizes = [image_size(Path(root) / n, f"image {n}") for n in names]
        width, height = pd.Series([s[0] for s in sizes]), pd.Series([s[1] for s in sizes])
    images = pd.DataFrame({"image": names.to_numpy(), "width": width.to_numpy(),
                           "height": height.to_numpy()})
    rows = [{"image": name, **box} for name, value in zip(names, frame[label], strict=True)
            for box in as_boxes(value) or ()]
    return pd.DataFrame.from_records(rows, columns=["image", *BOX_FIELDS]), images


def export_boxes(version: Any, out: str | Path, format: str) -> tuple[Path, int, int]:
    """Write a detection dataset version's boxes as COCO or YOLO (atomically).

    Parameters
    ----------
    version : DatasetVersion
        A version of a detection dataset.
    out : path
        The COCO JSON file, or the YOLO folder.
    format : {"coco", "yolo"}

    Returns
    -------
    path : Path
        What was written.
    n_images, n_boxes : int
    """
    from . import write_boxes

    if version.task_kind != "detection":
        raise InputError(
            f"{version.ref} holds {version.task_kind} labels, not boxes; --format "
            f"{format} writes detection datasets (export other datasets to .csv/.parquet)"
        )
    boxes, images = dataset_boxes(version.to_arrow(), label=version.roles.label,
                                  media=version.roles.media, root=version.media_root)
    classes = list(version.label_names) if version.label_names else None
    path = write_boxes(boxes, images, out, format, classes=classes)
    return path, len(images), len(boxes)


def box_import_source(
    source: Path | None, boxes: Path | None, format: str | None, images: Path | None,
    drop_empty: bool, task: str | None,
) -> BoxSource | None:
    """What ``assay import`` imports: a :class:`BoxSource` for ``--boxes``, else None
    (``source`` is a table or folder), refusing options that do not go together."""
    if boxes is None:
        given = [flag for flag, value in (("--format", format), ("--images", images),
                                          ("--drop-empty-boxes", drop_empty or None)) if value]
        if given:
            raise InputError(f"{', '.join(given)}: only with --boxes FILE_OR_DIR; add --boxes or leave them out")
        if source is None:
            raise InputError("give SOURCE (a file or folder) or --boxes FILE_OR_DIR --format FORMAT")
        return None
    if source is not None:
        raise InputError(f"give SOURCE ({source}) or --boxes ({boxes}), not both")
    if format is None:
        raise InputError("--boxes needs --format: coco, yolo, voc or label-studio")
    if task not in (None, "detection"):
        raise InputError(f"--boxes imports detection labels; leave out --task {task}")
    return BoxSource(Path(boxes), format, Path(images) if images is not None else None, drop_empty)
