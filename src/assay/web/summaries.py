"""Turn recorded analyses (free-form JSON) into what the pages show.

Analyses are recorded by other parts of assay with their own result shapes; the web
app never assumes more than "a JSON dict". Headlines are its top-level scalars (and
those of a top-level ``summary``); sections with nothing recorded say how to run it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assay.tasks import Task

__all__ = [
    "ANALYSIS_PAGES", "drift_series", "headline", "headline_series", "latest",
    "scorecard_section",
]

#: Page slug -> (analysis kind, title, the command that records it).
ANALYSIS_PAGES: dict[str, tuple[str, str, str]] = {
    "agreement": ("agreement", "Consistency (annotator agreement)", "assay agreement DATASET"),
    "consensus": ("consensus", "Consensus labels", "assay consensus DATASET"),
    "audit": ("audit", "Label quality (audit)", "assay audit DATASET"),
    "slices": ("slices", "Coverage (slices)", "assay slices DATASET"),
    "curve": ("curve", "Size (learning curve)", "assay curve DATASET"),
    "experiments": ("experiment", "Experiments", "assay train DATASET --recipe RECIPE --eval EVALSET"),
}
_SCORECARD = [
    ("consistency", "agreement"),
    ("label quality", "audit"),
    ("coverage", "slices"),
    ("size", "curve"),
]


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


_PRIORITY = (
    "verdict",
    "recommendation",
    "krippendorff_alpha",
    "fleiss_kappa",
    "percent_agreement",
    "noise_rate",
    "estimated_noise",
    "issue_rate",
    "drifted",
)


def _rank(pair: tuple[str, Any]) -> tuple[int, int]:
    key, value = pair
    if key in _PRIORITY:
        return (0, _PRIORITY.index(key))
    if isinstance(value, float):
        return (1, 0)
    return (2, 0) if isinstance(value, str) else (3, 0)


def headline(result: dict[str, Any], *, limit: int = 6) -> list[tuple[str, Any]]:
    """Up to ``limit`` (name, value) scalars from the top of a result.

    Verdicts and the usual headline statistics come first, then other fractions
    and scores (floats), then words, then counts.
    """
    pairs: list[tuple[str, Any]] = []
    for source in (result.get("summary"), result):
        if isinstance(source, dict):
            pairs += [(str(k), v) for k, v in source.items() if _scalar(v) and v is not None]
    seen: set[str] = set()
    out = []
    for key, value in pairs:
        if key not in seen and not (isinstance(value, str) and len(value) > 200):
            seen.add(key)
            out.append((key, value))
    return sorted(out, key=_rank)[:limit]


def latest(analyses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest analysis of a list ordered newest first."""
    return analyses[0] if analyses else None


def scorecard_section(name: str, slug: str, analyses: list[dict[str, Any]]) -> dict[str, Any]:
    """One tile of the overview: the newest analysis' headline, or "not run yet"."""
    kind, title, command = ANALYSIS_PAGES[slug]
    newest = latest(analyses)
    tile: dict[str, Any] = {"name": name, "title": title, "link": f"/analyses/{slug}", "kind": kind}
    if newest is None:
        return {**tile, "status": "not run yet", "hint": f"run `{command}`"}
    return {
        **tile,
        "status": "ok",
        "dataset": newest["version"] or newest["dataset"],
        "created_at": newest["created_at"],
        "headline": headline(newest["result"]),
        "runs": len(analyses),
    }


def scorecard(analyses_of: Any) -> list[dict[str, Any]]:
    """The four analysis tiles; ``analyses_of(kind)`` lists analyses newest first."""
    return [
        scorecard_section(name, slug, analyses_of(ANALYSIS_PAGES[slug][0]))
        for name, slug in _SCORECARD
    ]


_DRIFT_KEYS = (
    "psi",
    "drift_score",
    "score",
    "effect_size",
    "statistic",
    "distance",
    "value",
    "p_value",
)


def _column_value(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict):
        for key in _DRIFT_KEYS:
            inner = value.get(key)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return float(inner)
    return None


def drift_series(windows: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Per-column drift values over windows, read from each window's report.

    Looks under ``drift``, ``columns`` or ``features`` for a dict of columns, or a list
    of records with a ``column`` key, whose values are numbers or dicts holding one of
    ``psi``, ``drift_score``, ``score``, ``effect_size``, ``statistic``, ``distance``,
    ``value`` or ``p_value`` (the first found). Columns not in a window get None.
    """
    per_window: list[dict[str, float]] = []
    for window in windows:
        report = window.get("report") or {}
        found: dict[str, float] = {}
        for key in ("drift", "columns", "features"):
            block = report.get(key)
            if isinstance(block, list):  # records with a "column" key
                block = {r["column"]: r for r in block if isinstance(r, dict) and "column" in r}
            if isinstance(block, dict):
                for col, value in block.items():
                    number = _column_value(value)
                    if number is not None:
                        found[str(col)] = number
                if found:
                    break
        per_window.append(found)
    names = sorted({c for w in per_window for c in w})
    return {c: [w.get(c) for w in per_window] for c in names[:12]}


def headline_series(
    analyses: list[dict[str, Any]], task_of: Callable[[str | None], Task | None]
) -> dict[str, list[dict[str, Any]]]:
    """The headline metric of each run, oldest first, per metric name.

    A run counts when its result holds a metric table (``evaluation.overall``, as an
    experiment's does) with the headline metric of its dataset's task
    (``task_of(dataset)``, :meth:`assay.tasks.Task.headline`): accuracy for
    classification, the task's first metric for another kind.

    Returns
    -------
    dict
        ``{metric: [{"run", "dataset", "value", "low", "high"}, ...]}``.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for run in reversed(analyses):
        overall = (run["result"].get("evaluation") or {}).get("overall")
        task = task_of(run["dataset"])
        if not isinstance(overall, dict) or task is None or task.metrics[0] not in overall:
            continue
        found = task.headline(overall)
        out.setdefault(found.metric, []).append({
            "run": run["id"],
            "dataset": run["version"] or run["dataset"],
            "value": found.value,
            "low": found.interval.get("low"),
            "high": found.interval.get("high"),
        })
    return out
