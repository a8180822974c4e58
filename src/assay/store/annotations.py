"""Annotations in the workspace: several labels per item, tied to a dataset's items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import func, select

from assay.exceptions import InputError
from assay.store import models as m
from assay.store.datasets import dataset_task
from assay.tasks import Task

if TYPE_CHECKING:
    from assay.store.workspace import Workspace

__all__ = ["AnnotationStore"]


class AnnotationStore:
    """Annotations of a workspace (``ws.annotations``), in long format.

    Each stored import is a numbered batch, so that agreement can be compared across
    label-book revisions (``labelbook_version`` per row).
    """

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def add(
        self,
        dataset: str,
        annotations: pd.DataFrame,
        *,
        labelbook_version: int | None = None,
        where: str = "the annotations",
    ) -> int:
        """Store checked annotations for items of ``dataset``; return the batch number.

        Parameters
        ----------
        annotations : DataFrame
            Long format ``item``, ``annotator``, ``label`` (already normalised, see
            :func:`assay.collect.normalize_annotations`), optional ``time`` and
            ``labelbook_version``.
        labelbook_version : int, optional
            The label-book version the annotators followed, for rows that do not say.

        Raises
        ------
        InputError
            When items are not in the dataset's latest version (nothing is stored); ids
            are compared as text, so ``9.0`` does not match an item ``9``.
        """
        version = self.ws.dataset(dataset)
        known = set(version.to_pandas([version.roles.id])[version.roles.id].astype(str))
        items = annotations["item"].astype(str)
        unknown = sorted(set(items) - known)
        if unknown:
            raise InputError(
                f"{where}: {len(unknown)} item(s) are not in {version.ref}, e.g. "
                f"{', '.join(unknown[:5])}; annotate items of the dataset (ids from its "
                f"{version.roles.id!r} column){_decimal_hint(unknown, known)}. Nothing was "
                "stored."
            )
        with self.ws.session() as s:
            ds = self.ws._dataset_row(s, version.name)
            batch = (
                s.scalar(
                    select(func.max(m.Annotation.batch)).where(m.Annotation.dataset_id == ds.id)
                )
                or 0
            ) + 1
            rows = [
                _row(ds.id, batch, {str(k): v for k, v in r.items()}, labelbook_version,
                     version.task)
                for r in annotations.to_dict("records")
            ]
            s.bulk_insert_mappings(m.Annotation, rows)  # type: ignore[arg-type]
        return batch

    def load(self, dataset: str, *, batch: int | None = None) -> pd.DataFrame:
        """The stored annotations: ``item``, ``annotator``, ``label``, ``labelbook_version``,
        ``time``, ``batch``; labels decoded by the dataset's task."""
        task = dataset_task(dataset, self.ws)
        query = select(m.Annotation).join(m.Dataset).where(m.Dataset.name == dataset)
        if batch is not None:
            query = query.where(m.Annotation.batch == batch)
        with self.ws.session(readonly=True) as s:
            self.ws._dataset_row(s, dataset)
            rows = s.scalars(query.order_by(m.Annotation.id)).all()
            records = [
                {
                    "item": a.item_id,
                    "annotator": a.annotator,
                    "label": task.decode_label(a.label),
                    "labelbook_version": a.labelbook_version,
                    "time": a.annotated_at,
                    "batch": a.batch,
                }
                for a in rows
            ]
        columns = ["item", "annotator", "label", "labelbook_version", "time", "batch"]
        return pd.DataFrame.from_records(records, columns=columns)


def _decimal_hint(unknown: list[str], known: set[str]) -> str:
    """A hint when ids such as ``9.0`` stand for the dataset's ``9``."""
    whole = [u for u in unknown if u.endswith(".0") and u[:-2] in known]
    if not whole:
        return ""
    return (
        f"; ids such as {whole[0]} were written as decimals (for {whole[0][:-2]}): write "
        "them as whole numbers (tasks written by an older `assay plan-sample` have this)"
    )


def _row(
    dataset_id: int, batch: int, record: dict[str, Any], lb: int | None, task: Task
) -> dict[str, Any]:
    version = record.get("labelbook_version")
    when = record.get("time")
    return {
        "dataset_id": dataset_id,
        "batch": batch,
        "item_id": str(record["item"]),
        "annotator": str(record["annotator"]),
        "label": task.encode_label(record["label"]),
        "labelbook_version": int(version) if version is not None and pd.notna(version) else lb,
        "annotated_at": pd.Timestamp(when).to_pydatetime()
        if when is not None and pd.notna(when)
        else None,
    }
