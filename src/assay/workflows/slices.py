"""Error analysis of a version: the task's metric per tag against HLP, weak slices, advice.

:func:`run_slices` tabulates the out-of-sample errors of a recipe (or given
predictions) per tag against human-level performance, optionally discovers weak
slices (SliceLine) and recommends what to do for each; :func:`record_slices` records
it as a ``slices`` analysis. Everything that depends on the kind of label is asked of
the dataset's task: out-of-sample predictions (:meth:`Task.out_of_sample`), the
evaluation and its per-item errors (accuracy / absolute error / set error), and the
metric of the tag table (:meth:`Task.slice_inputs`, in the task's direction).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from assay._json import jsonable
from assay.exceptions import InputError
from assay.store.features import load_predictions
from assay.store.labeling import require_labels
from assay.workflows._common import exclusive, modality_of

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace

__all__ = ["SlicesRun", "latest_label_flags", "record_slices", "run_slices"]


@dataclass
class SlicesRun:
    """An error analysis of one version, before it is recorded.

    ``result`` is the analysis's JSON result (``dataset``, ``by``, ``hlp_source``,
    ``task``, ``metric`` (the task's headline metric), ``score`` (its value out of
    sample, also under the metric's name, e.g. ``accuracy``), ``greater_is_better``,
    ``tag_table``, ``tag_recommendations`` and, when slices were searched, ``slices``
    and ``slice_recommendations``); ``table`` holds one row per item (item_id, y_true,
    y_pred as text, error: the task's per-item error).
    """

    result: dict[str, Any]
    params: dict[str, Any]
    recipe_hash: str | None
    table: pa.Table
    duration_s: float

    @property
    def significant(self) -> list[str]:
        """The discovered slices whose error rate is significantly above the overall one."""
        rows = (self.result.get("slices") or {}).get("rows", [])
        return [r["slice"] for r in rows if r.get("is_significant")]


def _hlp(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    hlp: float | None,
    from_annotations: bool,
) -> tuple[Any, str]:
    """The human-level performance to compare with, and where it comes from."""
    from assay.store.features import item_agreement

    exclusive(hlp=hlp, hlp_from_annotations=from_annotations)
    if not from_annotations:
        return hlp, "none (gap to a perfect score)" if hlp is None else f"given: {hlp}"
    rows = item_agreement(ws.annotations.load(version.name), frame[version.roles.id].tolist())
    n = int(np.isfinite(rows).sum())
    if n == 0:
        raise InputError(
            f"{version.name} has no item labelled by two or more annotators; import the "
            f"annotations of {version.name} first, or give hlp=X."
        )
    return rows, f"annotator agreement on {n} multiply-labelled items"


def _check_by(version: DatasetVersion, frame: pd.DataFrame, by: Sequence[str]) -> None:
    """Refuse ``by`` columns the version does not have, listing its tag columns."""
    missing = [c for c in by if c not in frame.columns]
    if not missing:
        return
    tags = list(version.roles.tags)
    others = [str(c) for c in frame.columns if c not in tags]
    listed = ", ".join(others[:10]) + (
        f" ... ({len(others) - 10} more)" if len(others) > 10 else ""
    )
    raise InputError(
        f"{version.ref} has no column {', '.join(map(repr, missing))} to slice by; "
        f"its tag columns are: {', '.join(tags) if tags else 'none'} (other columns: {listed}); "
        "give by= one of them."
    )


def latest_label_flags(
    ws: Workspace, version: DatasetVersion, frame: pd.DataFrame
) -> np.ndarray | None:
    """``is_label_issue`` per row from the latest audit of this version, if any."""
    for record in ws.analyses("audit", dataset=version.name):
        if record["version"] != version.ref:
            continue
        stored = ws.analysis_table(record)
        if stored is None or "is_label_issue" not in stored.column_names:
            return None
        issues = stored.to_pandas()
        flags = issues.set_index(issues["item_id"].astype(str))["is_label_issue"]
        return flags.reindex(frame[version.roles.id].astype(str)).fillna(False).to_numpy(bool)
    return None


def _tags(version: DatasetVersion, frame: pd.DataFrame, by: Sequence[str] | None,
          derived: Sequence[str] = (), *, find: bool = False) -> list[str]:
    """The columns to tabulate: ``by``, else the version's tag columns and the columns
    the task derives from the items (:meth:`Task.slice_columns`); none when there are
    none and the slices are to be found (``find``) over the other columns instead."""
    tags = list(by) if by else [*version.roles.tags, *derived]
    if not tags and not find:
        raise InputError(
            f"{version.ref} has no tag columns; name some with by=[COL1, COL2], or search "
            "its other columns for weak slices with find=True."
        )
    _check_by(version, frame, tags)
    return tags


def run_slices(
    ws: Workspace,
    ref: str,
    *,
    by: Sequence[str] | None = None,
    recipe: str | None = None,
    predictions: Path | None = None,
    hlp: float | None = None,
    hlp_from_annotations: bool = False,
    find: bool = True,
    alpha: float = 0.9,
    metadata: Sequence[str] | None = None,
    seed: int = 0,
    n_jobs: int | None = 1,
    mapping: Path | None = None,
) -> SlicesRun:
    """Tag table, discovered slices and recommendations for a version (not yet recorded).

    Parameters
    ----------
    ws : Workspace
    ref : str
        The version, ``NAME`` or ``NAME@vN``.
    by : sequence of str, optional
        The tag columns (default: the version's tags).
    recipe : str, optional
        A registered recipe whose out-of-sample predictions are analysed (default: the
        modality's default model).
    predictions : path, optional
        Given predictions instead (labels or probabilities, ``.npy`` / ``.csv`` /
        ``.parquet``; detection: a detector's boxes, COCO result JSON or a boxes table,
        :meth:`Task.read_predictions`).
    mapping : path, optional
        A file naming the ids ``predictions`` use (detection: the COCO file whose
        numeric image and category ids the results refer to).
    hlp : float, optional
        Human-level performance for every tag.
    hlp_from_annotations : bool
        HLP per tag from the agreement of the version's double labels.
    find : bool
        Also discover weak slices (SliceLine) over ``metadata``.
    alpha : float
        SliceLine's weight of the error term, in (0, 1].
    metadata : sequence of str, optional
        Columns for the search (default: tags and few-valued numeric columns).
    seed : int
    n_jobs : int, optional
    """
    from assay.store.features import metadata_frame

    exclusive(recipe=recipe, predictions=predictions)
    start = time.perf_counter()
    version = ws.dataset(ref)
    frame = version.to_pandas()
    require_labels(version, frame)
    derived = version.task.slice_columns(frame, label=version.roles.label,
                                         media=version.roles.media, root=version.media_root)
    derived = derived[[c for c in derived.columns if c not in frame.columns]]
    frame = frame.join(derived)
    tags = _tags(version, frame, by, list(derived.columns), find=find)
    hlp_value, hlp_source = _hlp(ws, version, frame, hlp, hlp_from_annotations)
    meta = metadata_frame(version, frame, metadata) if find else None
    y_true, classes = version.task.fit_targets(frame[version.roles.label].to_numpy())
    recipe_hash = None
    if predictions is not None:
        y_pred = _given_predictions(version, frame, predictions, mapping)
    else:
        y_pred, recipe_hash = _predictions(ws, version, frame, y_true, recipe, seed, n_jobs)
    evaluation = version.task.evaluate_predictions(
        y_true, y_pred, classes=classes, n_boot=200, seed=seed
    )
    result = {"dataset": version.ref, "by": tags, "hlp_source": hlp_source}
    result.update(_analyse(ws, version, frame, evaluation, tags, hlp_value, meta, alpha, seed))
    result.update(_item_counts(version, frame, evaluation))
    params = {
        "by": tags,
        "recipe": recipe,
        "alpha": alpha,
        "find": find,
        "seed": seed,
        "predictions": str(predictions) if predictions else None,
        "mapping": str(mapping) if mapping else None,
        "metadata": list(meta.columns) if meta is not None else None,
    }
    table = _error_table(version, frame, evaluation)
    return SlicesRun(jsonable(result), params, recipe_hash, table, time.perf_counter() - start)


def _given_predictions(
    version: DatasetVersion, frame: pd.DataFrame, path: Path, mapping: Path | None
) -> Any:
    """Predictions from a file: in the task's own format (detection: boxes), else
    labels or probabilities (:func:`load_predictions`)."""
    from assay.workflows._box_annotations import item_names

    given = version.task.read_predictions(
        path, labels=frame[version.roles.label].tolist(),
        ids=frame[version.roles.id].astype(str).tolist(), names=item_names(version, frame),
        mapping=mapping,
    )
    return load_predictions(path, version, frame) if given is None else given


def _predictions(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    y_true: np.ndarray,
    recipe: str | None,
    seed: int,
    n_jobs: int | None,
) -> tuple[np.ndarray, str | None]:
    """Out-of-sample predictions of the recipe (default: the modality's default model
    of the task's kind) and the recipe's hash."""
    from assay.store.features import model_inputs
    from assay.workflows._common import collected_warnings, recipe_model, single_class_error

    task = version.task
    if task.class_targets:
        single_class_error(version, frame[version.roles.label].to_numpy())
    model, recipe_hash = recipe_model(ws, recipe)
    spec = ws.recipes.get(recipe) if recipe is not None else None
    caught: list[str] = []
    with collected_warnings(caught):
        X = model_inputs(version, frame, spec)
        modality = "tabular" if isinstance(X, pd.DataFrame) else "embeddings"
        _, y_pred = task.out_of_sample(model, X, y_true, seed=seed, n_jobs=n_jobs,
                                       modality=modality)
    for text in caught:
        warnings.warn(text, UserWarning, stacklevel=2)
    return y_pred, recipe_hash


def _analyse(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    evaluation: Any,
    tags: list[str],
    hlp: Any,
    meta: pd.DataFrame | None,
    alpha: float,
    seed: int,
) -> dict[str, Any]:
    """The task's metric, the tag table and, with ``meta``, the discovered slices of the
    per-item errors, each advised."""
    from assay.train.slices import find_slices, recommend, slice_table

    task = version.task
    modality = modality_of(version)
    flags = latest_label_flags(ws, version, frame)
    y_true, y_pred, metric = task.slice_inputs(evaluation)
    name = task.metrics[0]
    score = float(evaluation.overall[name]["value"])
    out: dict[str, Any] = {
        "task": task.kind,
        "metric": name,
        "greater_is_better": task.greater_is_better,
        "score": score,
        name: score,
        "tag_table": None,  # no tag columns: only the slices found
        "tag_recommendations": None,
    }
    if tags:
        tag_table = slice_table(
            frame, y_true, y_pred, by=tags, hlp=hlp, metric=metric,
            greater_is_better=task.greater_is_better, seed=seed,
        )
        out["tag_table"] = tag_table.to_dict()
        out["tag_recommendations"] = recommend(
            tag_table, label_issue_rate=flags, modality=modality
        ).to_dict()
    if meta is not None and meta.shape[1]:
        found = find_slices(meta, evaluation.item_errors, alpha=alpha, seed=seed)
        out["slices"] = found.to_dict()
        out["slice_scores"] = _slice_scores(found, y_true, y_pred, metric, task, seed)
        out["slice_recommendations"] = recommend(
            found, label_issue_rate=flags, modality=modality
        ).to_dict()
    return out


def _slice_scores(found: Any, y_true: Any, y_pred: Any, metric: Any, task: Any,
                  seed: int) -> dict[str, Any]:
    """The task's metric on each discovered slice with its bootstrap interval (the tag
    table's numbers, one bool column per slice; detection: mAP over the slice's images)."""
    from assay.train.slices import slice_table

    names = [str(s) for s in found.table["slice"]] if len(found.table) else []
    if not names:
        return {"rows": []}
    members = pd.DataFrame(np.asarray(found.masks, dtype=bool).T, columns=names)
    scores = slice_table(members, y_true, y_pred, by=names, metric=metric, min_support=0,
                         greater_is_better=task.greater_is_better, n_boot=200, seed=seed)
    out = scores.to_dict()
    order = {name: k for k, name in enumerate(names)}
    out["rows"] = sorted(out["rows"], key=lambda r: order.get(str(r["tag"]), len(order)))
    return out


def _item_counts(version: DatasetVersion, frame: pd.DataFrame, evaluation: Any,
                 k: int = 20) -> dict[str, Any]:
    """An evaluation's per-item counts when it has them (detection: true and false
    positives and misses at IoU 0.5), the ``k`` items with the largest error first."""
    table = getattr(evaluation, "per_image", None)
    if not isinstance(table, pd.DataFrame) or table.empty:
        return {}
    ids = frame[version.roles.id].astype(str).to_numpy()
    worst = table.assign(item_id=ids[table["item"].to_numpy()]).sort_values(
        ["error", "fn", "fp"], ascending=False, kind="mergesort").head(k)
    columns = ["item_id", "tp", "fp", "fn", "error", "missed", "false"]
    return {"per_item": {"score_threshold": getattr(evaluation, "score_threshold", None),
                         "totals": {c: int(table[c].sum()) for c in ("tp", "fp", "fn")},
                         "rows": worst[columns].to_dict("records")}}


def _text(values: Any) -> np.ndarray:
    """Labels as text, one per item (a label set as its JSON list)."""
    return np.array([json.dumps(list(v)) if isinstance(v, (list, tuple, np.ndarray)) else str(v)
                     for v in values], dtype=object)


def _error_table(version: DatasetVersion, frame: pd.DataFrame, evaluation: Any) -> pa.Table:
    """One row per item: item_id, y_true, y_pred (as text) and the task's item error."""
    return pa.table(
        {
            "item_id": frame[version.roles.id].to_numpy(),
            "y_true": _text(evaluation.y_true),
            "y_pred": _text(evaluation.y_pred),
            "error": np.asarray(evaluation.item_errors, dtype=np.float64),
        }
    )


def record_slices(ws: Workspace, run: SlicesRun) -> int:
    """Record the error analysis as a ``slices`` analysis; return its id."""
    return ws.record_analysis(
        "slices",
        run.result,
        dataset=run.result["dataset"],
        params=run.params,
        recipe_hash=run.recipe_hash,
        table=run.table,
        duration_s=run.duration_s,
    )
