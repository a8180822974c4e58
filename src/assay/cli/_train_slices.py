"""``assay slices`` and ``assay curve``: error analysis and clean vs collect.

Registered by :mod:`assay.cli.train`. The ``run_*`` functions do the work without
printing or recording (the demo calls them); the commands record the analysis and print.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import typer

from assay.cli._common import (
    JsonOption,
    WorkspaceOption,
    cli_flags,
    emit_json,
    err_console,
    in_range,
    open_workspace,
    out_console,
    progress,
    table,
)
from assay.cli.train import collected_warnings, jsonable, recipe_model, single_class_error
from assay.exceptions import InputError
from assay.store.features import load_predictions, model_inputs

if TYPE_CHECKING:
    from assay.store.datasets import DatasetVersion
    from assay.store.workspace import Workspace

__all__ = ["curve_cmd", "recipe_predictions", "run_curve", "run_slices", "slices_cmd"]


# ----------------------------------------------------------------- predictions
def recipe_predictions(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    recipe: str | None,
    *,
    embeddings: Path | None = None,
    seed: int = 0,
    n_jobs: int | None = 1,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Out-of-sample predictions of the recipe (or the modality's default model).

    Returns
    -------
    y_pred : ndarray of shape (n_rows,)
    pred_probs : ndarray of shape (n_rows, n_classes), columns in sorted class order
    recipe_hash : str or None
    """
    from assay.train.predict import cross_val_predict_proba

    labels = frame[version.roles.label].to_numpy()
    single_class_error(version, labels)
    model, recipe_hash = recipe_model(ws, recipe)
    spec = ws.recipes.get(recipe) if recipe is not None else None
    caught: list[str] = []
    with collected_warnings(caught):
        X = model_inputs(version, frame, spec, embeddings=embeddings)
        modality = "tabular" if isinstance(X, pd.DataFrame) else "embeddings"
        probs = cross_val_predict_proba(
            model, X, labels, n_jobs=n_jobs, seed=seed, modality=modality
        )
    for text in caught:
        warnings.warn(text, UserWarning, stacklevel=2)
    return np.unique(labels)[np.argmax(probs, axis=1)], probs, recipe_hash


# ----------------------------------------------------------------- slices
def _hlp(
    ws: Workspace,
    version: DatasetVersion,
    frame: pd.DataFrame,
    hlp: float | None,
    from_annotations: bool,
) -> tuple[Any, str]:
    from assay.store.features import item_agreement

    if hlp is not None and from_annotations:
        raise InputError("give either --hlp or --hlp-from-annotations, not both.")
    if not from_annotations:
        return hlp, "none (gap to perfect accuracy)" if hlp is None else f"given: {hlp}"
    rows = item_agreement(ws.annotations.load(version.name), frame[version.roles.id].tolist())
    n = int(np.isfinite(rows).sum())
    if n == 0:
        raise InputError(
            f"{version.name} has no item labelled by two or more annotators; import them with "
            f"`assay annotations import {version.name} FILE`, or give --hlp X."
        )
    return rows, f"annotator agreement on {n} multiply-labelled items"


def _check_by(version: DatasetVersion, frame: pd.DataFrame, by: Sequence[str]) -> None:
    """Refuse ``--by`` columns the version does not have, listing its tag columns."""
    missing = [c for c in by if c not in frame.columns]
    if not missing:
        return
    tags = list(version.roles.tags)
    others = [str(c) for c in frame.columns if c not in tags]
    listed = ", ".join(others[:10]) + (
        f" ... ({len(others) - 10} more)" if len(others) > 10 else ""
    )
    raise InputError(
        f"{version.ref} has no column {', '.join(map(repr, missing))} to slice by (--by); "
        f"its tag columns are: {', '.join(tags) if tags else 'none'} (other columns: {listed}). "
        "Name one of them in --by."
    )


def _latest_label_flags(
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
) -> dict[str, Any]:
    """Tag table, discovered slices and recommendations for a version (not yet recorded)."""
    from assay.store.features import metadata_frame
    from assay.train.slices import find_slices, recommend, slice_table

    if recipe is not None and predictions is not None:
        raise InputError("give either --recipe or --predictions, not both.")
    start = time.perf_counter()
    version = ws.dataset(ref)
    frame = version.to_pandas()
    tags = list(by) if by else list(version.roles.tags)
    if not tags:
        raise InputError(f"{version.ref} has no tag columns; name some with --by COL1,COL2.")
    _check_by(version, frame, tags)
    hlp_value, hlp_source = _hlp(ws, version, frame, hlp, hlp_from_annotations)
    meta = metadata_frame(version, frame, metadata) if find else None
    y_true = frame[version.roles.label].to_numpy()
    recipe_hash = None
    if predictions is not None:
        y_pred = load_predictions(predictions, version, frame)
    else:
        y_pred, _, recipe_hash = recipe_predictions(
            ws, version, frame, recipe, seed=seed, n_jobs=n_jobs
        )
    modality = version.modality if version.modality in ("image", "audio", "text") else "tabular"
    flags = _latest_label_flags(ws, version, frame)
    tag_table = slice_table(frame, y_true, y_pred, by=tags, hlp=hlp_value, seed=seed)
    result: dict[str, Any] = {
        "dataset": version.ref,
        "by": tags,
        "hlp_source": hlp_source,
        "accuracy": float(np.mean(y_true == y_pred)),
        "tag_table": tag_table.to_dict(),
        "tag_recommendations": recommend(
            tag_table, label_issue_rate=flags, modality=modality
        ).to_dict(),
    }
    if meta is not None and meta.shape[1]:
        found = find_slices(meta, (y_true != y_pred).astype(float), alpha=alpha, seed=seed)
        result["slices"] = found.to_dict()
        result["slice_recommendations"] = recommend(
            found, label_issue_rate=flags, modality=modality
        ).to_dict()
    table_ = pa.table(
        {
            "item_id": frame[version.roles.id].to_numpy(),
            "y_true": pd.Series(y_true).astype(str).to_numpy(),
            "y_pred": pd.Series(y_pred).astype(str).to_numpy(),
            "error": y_true != y_pred,
        }
    )
    params = {
        "by": tags,
        "recipe": recipe,
        "alpha": alpha,
        "find": find,
        "seed": seed,
        "predictions": str(predictions) if predictions else None,
        "metadata": list(meta.columns) if meta is not None else None,
    }
    return {
        "result": jsonable(result),
        "params": params,
        "recipe_hash": recipe_hash,
        "table": table_,
        "duration_s": time.perf_counter() - start,
    }


def _print_slices(result: dict[str, Any]) -> None:
    console = out_console()
    rows = [
        [
            r["tag"],
            r["n"],
            _pct(r["metric"], ".3f"),
            _pct(r["hlp"], ".3f"),
            f"{_pct(r['gain'])} [{_pct(r['gain_low'])}, {_pct(r['gain_high'])}]",
            "clarify labels (low HLP)" if r["is_low_hlp"] else "",
            r["note"],
        ]
        for r in result["tag_table"]["rows"]
    ]
    console.print(
        f"{result['dataset']}: accuracy {result['accuracy']:.3f} (out of sample); "
        f"HLP: {result['hlp_source']}"
    )
    console.print(
        table(
            "tags by potential gain", ["tag", "n", "accuracy", "HLP", "gain", "flag", "note"], rows
        )
    )
    found = result.get("slices")
    if found is not None:
        console.print(found["summary"])
    for key in ("tag_recommendations", "slice_recommendations"):
        recs = [r for r in (result.get(key) or {}).get("rows", []) if r["action"] != "no action"]
        for r in recs:
            console.print(f"- {r['slice']}: {r['action']} ({r['evidence']})")


def _pct(value: Any, fmt: str = ".2%") -> str:
    return "-" if value is None else format(float(value), fmt)


def _split(text: str | None) -> list[str] | None:
    """``"a, b,a"`` -> ``["a", "b"]`` (each name once, in order); ``None`` stays None."""
    return list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip())) if text else None


def slices_cmd(
    name: str = typer.Argument(..., help="The dataset version, NAME or NAME@vN."),
    by: str = typer.Option(None, "--by", help="Comma-separated tag columns (default: tags)."),
    recipe: str = typer.Option(None, "--recipe", help="A registered recipe (its model)."),
    predictions: Path = typer.Option(
        None, "--predictions", help="Predictions: .npy labels/probabilities, or .csv/.parquet."
    ),
    hlp: float = typer.Option(
        None,
        "--hlp",
        callback=in_range(0, 1, hint="an accuracy"),
        help="Human-level performance (an accuracy in [0, 1]) for every tag.",
    ),
    hlp_from_annotations: bool = typer.Option(
        False, "--hlp-from-annotations", help="HLP per tag from annotator agreement."
    ),
    find: bool = typer.Option(False, "--find", help="Also discover slices (SliceLine)."),
    alpha: float = typer.Option(
        0.9,
        "--alpha",
        callback=in_range(0, 1, low_open=True, hint="SliceLine's weight of the error term"),
        help="SliceLine's error weight in (0, 1].",
    ),
    metadata: str = typer.Option(
        None, "--metadata", help="Columns for --find (default: tags and few numeric columns)."
    ),
    fail_on_slices: bool = typer.Option(
        False, "--fail-on-slices", help="Exit 1 when a significant weak slice is found."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the model, bootstrap, slices."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Error analysis: accuracy per tag against HLP, weak slices, recommendations."""
    ws = open_workspace(workspace)
    flags = cli_flags(by="--by", hlp="--hlp", alpha="--alpha", metadata="--metadata", seed="--seed")
    with progress(f"Analysing errors of {name}"), flags:
        run = run_slices(
            ws,
            name,
            by=_split(by),
            recipe=recipe,
            predictions=predictions,
            hlp=hlp,
            hlp_from_annotations=hlp_from_annotations,
            find=find,
            alpha=alpha,
            metadata=_split(metadata),
            seed=seed,
        )
    result = run["result"]
    analysis = ws.record_analysis(
        "slices",
        result,
        dataset=result["dataset"],
        params=run["params"],
        recipe_hash=run["recipe_hash"],
        table=run["table"],
        duration_s=run["duration_s"],
    )
    significant = [
        r["slice"] for r in (result.get("slices") or {}).get("rows", []) if r.get("is_significant")
    ]
    if as_json:
        emit_json({"analysis": analysis, **result, "significant": significant})
    else:
        _print_slices(result)
    failed = fail_on_slices and bool(significant)
    if failed:
        err_console().print(
            f"{len(significant)} significant weak slice(s): {'; '.join(significant[:3])}",
            markup=False,
        )
    raise typer.Exit(1 if failed else 0)


# ----------------------------------------------------------------- curve
def _series_json(report: Any) -> list[dict[str, Any]]:
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
) -> dict[str, Any]:
    """Clean vs collect for a version with the recipe (not yet recorded)."""
    from assay.train.curves import clean_vs_collect

    start = time.perf_counter()
    version = ws.dataset(ref)
    frame = version.to_pandas()
    labels = frame[version.roles.label].to_numpy()
    single_class_error(version, labels)
    spec = ws.recipes.get(recipe)
    caught: list[str] = []
    with collected_warnings(caught):
        X = model_inputs(version, frame, spec, embeddings=embeddings)
        report = clean_vs_collect(
            spec.build(), X, labels, repeats=repeats, extra=extra, seed=seed, n_jobs=n_jobs
        )
    rows = report.table.to_dict(orient="records")
    verdict = "clean" if rows[1]["accuracy"] >= rows[2]["accuracy"] else "collect"
    result = jsonable(
        {
            "dataset": version.ref,
            "recipe": recipe,
            "n": report.n_,
            "extra": report.extra_,
            "noise_rate": report.noise_rate_,
            "table": rows,
            "equivalent_extra": list(report.equivalent_extra_),
            "verdict": verdict,
            "summary": report.summary(),
            "series": _series_json(report),
            "warnings": caught,
        }
    )
    params = {"recipe": recipe, "repeats": repeats, "extra": extra, "seed": seed}
    return {
        "result": result,
        "params": params,
        "recipe_hash": spec.hash,
        "duration_s": time.perf_counter() - start,
    }


def curve_cmd(
    name: str = typer.Argument(..., help="The dataset version, NAME or NAME@vN."),
    recipe: str = typer.Option(..., "--recipe", help="A registered recipe (held fixed)."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Train/test splits per curve."),
    extra: int = typer.Option(
        None, "--extra", min=1, help="Examples to collect (default: as many as there are)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the splits and the noise."),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Clean vs collect: is fixing the labels worth more than more data?"""
    ws = open_workspace(workspace)
    flags = cli_flags(repeats="--repeats", extra="--extra", seed="--seed")
    with progress(f"Learning curves of {name}"), flags:
        run = run_curve(ws, name, recipe=recipe, repeats=repeats, extra=extra, seed=seed)
    result = run["result"]
    analysis = ws.record_analysis(
        "curve",
        result,
        dataset=result["dataset"],
        params=run["params"],
        recipe_hash=run["recipe_hash"],
        duration_s=run["duration_s"],
    )
    if as_json:
        emit_json({"analysis": analysis, **{k: v for k, v in result.items() if k != "series"}})
        return
    console = out_console()
    console.print("\n".join(result["summary"].splitlines()[:-1]))
    from assay.train.clean_collect import equivalence_text

    console.print(equivalence_text(result["equivalent_extra"], result["n"]))
    rows = result["table"]
    console.print(
        f"verdict: {result['verdict']} (after cleaning {rows[1]['accuracy']:.3f} vs "
        f"after collecting {result['extra']} more {rows[2]['accuracy']:.3f})"
    )
