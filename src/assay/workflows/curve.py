"""Clean vs collect: is fixing the labels worth more than more data?

:func:`run_curve` measures learning curves of a recipe on a version's labels as they
are and as cleaned (:func:`assay.train.curves.clean_vs_collect`) and returns a
:class:`CurveRun`; :func:`record_curve` records it as a ``curve`` analysis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assay._json import jsonable
from assay.store.features import model_inputs
from assay.store.labeling import require_labels
from assay.workflows._common import collected_warnings, single_class_error

if TYPE_CHECKING:
    from assay.store.workspace import Workspace
    from assay.train.recipe import Recipe

__all__ = ["CurveRun", "record_curve", "run_curve"]


@dataclass
class CurveRun:
    """Clean vs collect for one version, before it is recorded.

    ``result`` is the analysis's JSON result: ``dataset``, ``recipe``, ``task``,
    ``metric`` (the task's headline metric), ``greater_is_better``, ``n``, ``extra``,
    ``noise_rate``, ``table`` (the metric as is / after cleaning / after collecting,
    a column named after the metric), ``equivalent_extra`` (estimate, low, high),
    ``verdict`` (``"clean"`` or ``"collect"``, in the metric's direction; ``"none"``
    when a curve cannot be drawn, with the reason in ``no_verdict``),
    ``verdict_settled`` (the bootstrap interval backs the verdict; false: a tie, and
    ``tie`` says why in a sentence; null without an interval),
    ``summary``, ``series`` (the curves) and ``warnings``.
    """

    result: dict[str, Any]
    params: dict[str, Any]
    recipe_hash: str
    duration_s: float


def _series_json(report: Any) -> list[dict[str, Any]]:
    """The clean and noisy curves as JSON lines (x, y, interval, style)."""
    up_to = report.n_ + report.extra_
    lines = report.clean_.series(up_to, "#2ca02c") + report.noisy_.series(up_to, "#d62728")
    return [
        {
            "label": s.label,
            "color": s.color,
            "dashed": s.dashed,
            "markers": s.markers,
            **{
                k: None if getattr(s, k) is None else np.asarray(getattr(s, k), float).tolist()
                for k in ("x", "y", "low", "high")
            },
        }
        for s in lines
    ]


def _recipe(ws: Workspace, name: str) -> Recipe:
    """A registered recipe, else the built-in recipe of that name (``hog``)."""
    from assay.train.recipe import DETECTORS, load_recipe

    if name in DETECTORS and name not in {r["name"] for r in ws.recipes.list()}:
        return load_recipe(name)
    return ws.recipes.get(name)


def run_curve(
    ws: Workspace,
    ref: str,
    *,
    recipe: str,
    repeats: int = 3,
    extra: int | None = None,
    embeddings: Path | None = None,
    seed: int = 0,
    n_jobs: int | None = 1,
) -> CurveRun:
    """Clean vs collect for a version with the recipe (not yet recorded).

    Parameters
    ----------
    ws : Workspace
    ref : str
        The version, ``NAME`` or ``NAME@vN``.
    recipe : str
        A registered recipe, or a built-in one (``hog``: the fixed detector), held fixed.
    repeats : int
        Train/test splits per curve.
    extra : int, optional
        Examples to collect (default: as many as there are).
    embeddings : path, optional
        Features to use instead of the version's own.
    seed : int
    n_jobs : int, optional
    """
    from assay.train.curves import clean_vs_collect, tie_text

    start = time.perf_counter()
    version = ws.dataset(ref)
    frame = version.to_pandas()
    require_labels(version, frame)
    task = version.task
    labels = frame[version.roles.label].to_numpy()
    if task.class_targets:
        single_class_error(version, labels)
    targets, classes = task.fit_targets(labels)
    spec = _recipe(ws, recipe)
    caught: list[str] = []
    with collected_warnings(caught):
        X = model_inputs(version, frame, spec, embeddings=embeddings)
        report = clean_vs_collect(
            task.model_for(spec.build()),
            X,
            targets,
            repeats=repeats,
            extra=extra,
            seed=seed,
            n_jobs=n_jobs,
            task=task,
            classes=classes,
        )
    rows = report.table.to_dict(orient="records")
    result = jsonable(
        {
            "dataset": version.ref,
            "recipe": recipe,
            "task": task.kind,
            "metric": report.metric_,
            "greater_is_better": report.greater_is_better_,
            "n": report.n_,
            "extra": report.extra_,
            "noise_rate": report.noise_rate_,
            "table": rows,
            "equivalent_extra": list(report.equivalent_extra_),
            "verdict": report.verdict,
            "verdict_settled": report.settled,
            "tie": (
                tie_text(report.equivalent_extra_, report.extra_)
                if report.settled is False
                else None
            ),
            "no_verdict": report.no_verdict_,
            "summary": report.summary(),
            "series": _series_json(report),
            "warnings": caught,
        }
    )
    params = {"recipe": recipe, "repeats": repeats, "extra": extra, "seed": seed}
    return CurveRun(result, params, spec.hash, time.perf_counter() - start)


def record_curve(ws: Workspace, run: CurveRun) -> int:
    """Record clean vs collect as a ``curve`` analysis; return its id."""
    return ws.record_analysis(
        "curve",
        run.result,
        dataset=run.result["dataset"],
        params=run.params,
        recipe_hash=run.recipe_hash,
        duration_s=run.duration_s,
    )
