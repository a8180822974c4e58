"""What each analysis page shows: headline numbers in words, chart data and items.

Every builder reads recorded analyses (free-form JSON dicts) and returns a JSON-safe
``view`` dict: the page's JSON is the view itself, and the templates draw its charts
with the figure functions of :mod:`assay._charts`. Missing numbers are ``None`` (the
pages say "no human-level estimate", never "nan"); runs are named like the CLI
(experiments ``E1``, ``E2``, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from assay._stats import wilson_interval
from assay.exceptions import AssayError

__all__ = [
    "agreement_view",
    "audit_view",
    "curve_view",
    "experiment_names",
    "percent",
    "slices_view",
]

Thumb = Callable[[str | None, Any], dict[str, Any]]


def number(value: Any) -> float | None:
    """``value`` as a finite float, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def percent(value: Any, digits: int = 1) -> str:
    """``0.117`` -> ``"11.7%"``; a missing value -> ``"–"``."""
    f = number(value)
    return "\u2013" if f is None else f"{100 * f:.{digits}f}%"


def three(value: Any) -> str:
    """A number with 3 decimals, or ``"–"``."""
    f = number(value)
    return "\u2013" if f is None else f"{f:.3f}"


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def experiment_names(runs: list[dict[str, Any]]) -> dict[int, str]:
    """Analysis id -> ``E1``, ``E2``, ... (numbered oldest first, as the CLI does)."""
    return {r["id"]: f"E{n}" for n, r in enumerate(sorted(runs, key=lambda r: r["id"]), 1)}


# Consistency ---------------------------------------------------------------------------


def agreement_view(
    runs: list[dict[str, Any]], shown: dict[str, Any], detail: Any, thumb: Thumb
) -> dict[str, Any]:
    """The consistency page: headline, per class per label-book version, confusion,
    labeler pairs and the most disagreed items.

    Parameters
    ----------
    runs : list of dict
        Agreement analyses, newest first.
    shown : dict
        The analysis the page is about.
    detail : AgreementReport or None
        The agreement recomputed from the stored annotations of the shown run's label
        book version (for the confusion, pairs and items); None when there are none.
    thumb : callable
        ``thumb(version, item_id)`` -> a small rendering of the item.
    """
    r = shown["result"]
    versions: dict[str, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda a: a["id"]):
        book = run["result"].get("labelbook_version")
        if run["dataset"] == shown["dataset"] and isinstance(run["result"].get("per_class"), dict):
            versions[f"label book v{book}" if book else f"run {run['id']}"] = run["result"][
                "per_class"
            ]
    view: dict[str, Any] = {
        "headline": {
            "alpha": number(r.get("krippendorff_alpha")),
            "percent_agreement": number(r.get("percent_agreement")),
            "kappa": number(r.get("fleiss_kappa")),
            "hlp": number(r.get("hlp")),
            "n_items": r.get("n_items"),
            "n_annotators": r.get("n_annotators"),
            "labelbook_version": r.get("labelbook_version"),
        },
        "sentence": _agreement_sentence(r, versions),
        "per_class_versions": versions,
        "confusion": None,
        "pairs": [],
        "disagreements": [],
    }
    if detail is not None:
        _add_agreement_detail(view, detail, shown.get("version") or shown["dataset"], thumb)
    elif _square(r.get("matrix")):
        labels = r.get("classes") or list(range(len(r["matrix"])))
        view["confusion"] = {"labels": [str(c) for c in labels], "matrix": r["matrix"]}
    return view


def _square(matrix: Any) -> bool:
    return (
        isinstance(matrix, list)
        and 0 < len(matrix) <= 60
        and all(isinstance(row, list) and len(row) == len(matrix) for row in matrix)
    )


def _agreement_sentence(r: dict[str, Any], versions: dict[str, dict[str, Any]]) -> str:
    alpha = number(r.get("krippendorff_alpha"))
    text = (
        f"Labelers agree on {percent(r.get('percent_agreement'))} of "
        f"{r.get('n_items', 0):,} items labelled more than once "
        f"(Krippendorff's alpha {three(alpha)}; 1 is perfect, 0 is chance)."
    )
    per = r.get("per_class")
    if isinstance(per, dict) and per:
        worst = min(per, key=lambda c: _or(number(per[c]), 2.0))
        text += f" Class {worst} agrees least ({three(per[worst])})."
    if len(versions) > 1:
        names = list(versions)
        text += f" Compared: {names[0]} and {names[-1]}."
    return text


def _add_agreement_detail(view: dict[str, Any], detail: Any, version: str, thumb: Thumb) -> None:
    conf = detail.confusion
    view["confusion"] = {
        "labels": [str(c) for c in conf.index],
        "matrix": [[int(v) for v in row] for row in conf.to_numpy()],
    }
    pairs = detail.pairs.sort_values("n_items", ascending=False).head(15)
    view["pairs"] = [
        {
            "a": str(p["annotator_a"]),
            "b": str(p["annotator_b"]),
            "n_items": int(p["n_items"]),
            "percent_agreement": number(p["percent_agreement"]),
            "cohen_kappa": number(p["cohen_kappa"]),
        }
        for _, p in pairs.iterrows()
    ]
    items = []
    for item, row in detail.disagreements.head(8).iterrows():
        labels = row.get("labels")
        text = (
            ", ".join(f"{k}: {v}" for k, v in labels.items())
            if isinstance(labels, dict)
            else _short_labels({k: v for k, v in row.items() if k != "n_annotations"})
        )
        items.append({"item": str(item), "labels": text[:160], **thumb(version, item)})
    view["disagreements"] = items


def _short_labels(labels: dict[str, Any]) -> str:
    parts = [f"{k}: {v}" for k, v in labels.items() if v is not None and str(v) != "nan"]
    return "; ".join(parts)[:160]


# Label quality -------------------------------------------------------------------------


_CHECK_WORDS = {
    "label": "labels look wrong",
    "outlier": "outliers",
    "near_duplicate": "near duplicates",
    "exact_duplicate": "exact duplicates",
    "class_imbalance": "rare-class items",
}


def audit_view(
    shown: dict[str, Any],
    curve: dict[str, Any] | None,
    queue: dict[str, dict[str, int]],
    flagged_items: list[dict[str, Any]],
    thumb: Thumb,
) -> dict[str, Any]:
    """The label-quality page: how many labels look wrong, the estimated noise rate, top
    suspects, outliers and duplicates, queued vs decided.

    Parameters
    ----------
    shown : dict
        The audit analysis.
    curve : dict or None
        The newest curve analysis of the same dataset version (its noise estimate).
    queue : dict
        Per review source, counts per status (``open``, ``decided``, ``applied``).
    flagged_items : list of dict
        Review entries of the dataset from the outlier and duplicate checks.
    thumb : callable
        ``thumb(version, item_id)`` -> a small rendering of the item.
    """
    r = shown["result"]
    version = shown.get("version") or shown["dataset"]
    n = int(r.get("n_rows") or 0)
    checks = r.get("checks") or {}
    label = checks.get("label") or {}
    count = int(label.get("count") or 0)
    low, high = wilson_interval(count, n) if n else (None, None)
    view: dict[str, Any] = {
        "n_rows": n,
        "wrong": count,
        "wrong_rate": number(label.get("rate")),
        "wrong_low": number(low),
        "wrong_high": number(high),
        "sentence": _audit_sentence(count, n, label.get("rate"), low, high, "label" in checks),
        "estimate": _noise_estimate(curve, count, n),
        "checks": {
            _CHECK_WORDS.get(k, k.replace("_", " ")): int(v.get("count") or 0)
            for k, v in checks.items()
            if isinstance(v, dict)
        },
        "suspects": [
            {
                "item": str(w.get("item_id")),
                "given": w.get("given_label"),
                "suggested": w.get("suggested_label"),
                "quality": number(w.get("label_quality")),
                **thumb(version, w.get("item_id")),
            }
            for w in (r.get("worst_labels") or [])[:12]
        ],
        "flagged": [
            {**f, **thumb(version, f["item"]), **_partner(f, version, thumb)}
            for f in flagged_items[:12]
        ],
        "queue": queue,
        "warnings": [str(w) for w in r.get("warnings") or []],
    }
    return view


def _audit_sentence(count: int, n: int, rate: Any, low: Any, high: Any, checked: bool) -> str:
    if not checked:
        return "This audit did not check labels."
    return (
        f"{count:,} of {n:,} labels ({percent(rate)}, 95% interval {percent(low)} to "
        f"{percent(high)}) look wrong: the model trained on the other rows confidently "
        "predicts another class."
    )


def _noise_estimate(curve: dict[str, Any] | None, flagged: int, n: int) -> dict[str, Any] | None:
    if curve is None:
        return None
    rate = number(curve["result"].get("noise_rate"))
    if rate is None:
        return None
    size = int(curve["result"].get("n") or n or 0)
    estimated = round(rate * size)
    low, high = wilson_interval(estimated, size) if size else (None, None)
    return {
        "rate": rate,
        "low": number(low),
        "high": number(high),
        "count": estimated,
        "n": size,
        "version": curve.get("version"),
        "why": (
            f"The size analysis estimates {estimated:,} wrong labels "
            f"({percent(rate)}, 95% interval {percent(low)} to {percent(high)}) by counting "
            f"how many labels the model's probabilities contradict; this audit flags the "
            f"{flagged:,} it is most confident about. One is an estimate of a rate, the "
            "other a list of items to review: the flagged count is usually the lower."
        ),
    }


def _partner(entry: dict[str, Any], version: str, thumb: Thumb) -> dict[str, Any]:
    other = entry.get("partner")
    if other is None:
        return {}
    found = thumb(version, other)
    return {"partner_view": {"item": str(other), **found}}


# Coverage ------------------------------------------------------------------------------


def slices_view(shown: dict[str, Any]) -> dict[str, Any]:
    """The coverage page: a bar per slice with its interval, the human-level line,
    potential gain and the recommended action per slice."""
    r = shown["result"]
    metric = str(r.get("metric") or "accuracy")
    table = r.get("tag_table") or {}
    actions = {
        row.get("slice"): row for row in (r.get("tag_recommendations") or {}).get("rows") or []
    }
    found = {
        row.get("slice"): row for row in (r.get("slice_recommendations") or {}).get("rows") or []
    }
    rows = []
    for row in table.get("rows") or []:
        act = actions.get(row.get("tag")) or {}
        rows.append(
            {
                "tag": row.get("tag"),
                "n": row.get("n"),
                "metric": number(row.get("metric")),
                "metric_low": number(row.get("metric_low")),
                "metric_high": number(row.get("metric_high")),
                "hlp": number(row.get("hlp")),
                "gain": number(row.get("gain")),
                "gain_low": number(row.get("gain_low")),
                "gain_high": number(row.get("gain_high")),
                "action": act.get("action") or "no action",
                "evidence": act.get("evidence") or row.get("note") or "",
            }
        )
    hlp = _overall_hlp(str(table.get("summary") or ""))
    best = max(rows, key=lambda x: x["gain"] if x["gain"] is not None else -1.0, default=None)
    return {
        "metric": metric,
        "overall": number(r.get("score")),
        "hlp": hlp,
        "hlp_source": r.get("hlp_source"),
        "rows": rows,
        "found": list(found.values()),
        "found_summary": (r.get("slices") or {}).get("summary"),
        "sentence": _slices_sentence(metric, number(r.get("score")), hlp, best),
    }


def _overall_hlp(summary: str) -> float | None:
    found = re.search(r"\bHLP ([0-9.]+)", summary.splitlines()[0] if summary else "")
    return number(found.group(1)) if found else None


def _slices_sentence(
    metric: str, overall: float | None, hlp: float | None, best: dict[str, Any] | None
) -> str:
    text = f"Overall {metric} {three(overall)}"
    text += (
        f" against a human level of {three(hlp)}."
        if hlp is not None
        else " (no human-level estimate)."
    )
    if best is not None and best["gain"] is not None:
        text += (
            f" The slice with the most to gain is {best['tag']}: closing its gap to human "
            f"level would add {percent(best['gain'])} to overall {metric}."
        )
    return text


# Size ----------------------------------------------------------------------------------


def curve_view(shown: dict[str, Any], audit: dict[str, Any] | None) -> dict[str, Any]:
    """The size page: the learning curves, the verdict in one sentence with its interval,
    and the noise estimate next to the audit's flagged count."""
    r = shown["result"]
    metric = str(r.get("metric") or "accuracy")
    extra = [number(v) for v in r.get("equivalent_extra") or []] + [None, None, None]
    summary = str(r.get("summary") or "")
    sentence = next((x for x in summary.splitlines() if x.startswith("cleaning")), "")
    flagged = None
    if audit is not None:
        flagged = int(((audit["result"].get("checks") or {}).get("label") or {}).get("count") or 0)
    n = int(r.get("n") or 0)
    rate = number(r.get("noise_rate"))
    return {
        "metric": metric,
        "verdict": r.get("verdict"),
        "verdict_sentence": _verdict_sentence(
            r.get("verdict"), sentence, settled=r.get("verdict_settled")
        ),
        "tie": r.get("tie") if r.get("verdict_settled") is False else None,
        "equivalent_extra": {"value": extra[0], "low": extra[1], "high": extra[2]},
        "n": n,
        "noise_rate": rate,
        "scenarios": [
            {
                "scenario": row.get("scenario"),
                "n_train": row.get("n_train"),
                "value": number(row.get(metric)),
                "low": number(row.get("low")),
                "high": number(row.get("high")),
            }
            for row in r.get("table") or []
        ],
        "series": r.get("series") or [],
        "audit_flagged": flagged,
        "noise_note": _noise_note(rate, n, flagged, audit),
        "warnings": [str(w) for w in r.get("warnings") or []],
    }


def _verdict_sentence(verdict: Any, sentence: str, *, settled: Any = None) -> str:
    what = {
        "clean": "Clean the labels first",
        "collect": "Collect more data first",
    }.get(str(verdict), f"Verdict: {verdict}" if verdict else "No verdict")
    if settled is False:  # the interval straddles the examples collecting adds
        what = f"A tie (by a nose: {str(verdict).lower()})"
    return f"{what}: {sentence}" if sentence else what + "."


def _noise_note(
    rate: float | None, n: int, flagged: int | None, audit: dict[str, Any] | None
) -> str:
    if rate is None:
        return "This curve has no label-noise estimate."
    text = f"Estimated label noise {percent(rate)} (about {round(rate * n):,} of {n:,} labels)."
    if flagged is not None and audit is not None:
        text += (
            f" The audit of {audit.get('version') or audit['dataset']} flagged {flagged:,}: "
            "the estimate counts every label the model's probabilities contradict, the audit "
            "lists only those it is confident enough to send to review."
        )
    return text


def safe_detail(compute: Callable[[], Any]) -> tuple[Any, str | None]:
    """``compute()`` or (None, the reason it could not be computed)."""
    try:
        return compute(), None
    except KeyError as exc:
        return None, f"a recorded run lacks the field {exc.args[0]!r}: it cannot be shown"
    except (AssayError, ValueError) as exc:
        return None, str(exc).splitlines()[0][:200]


# Experiments ---------------------------------------------------------------------------


def experiments_view(
    runs: list[dict[str, Any]],
    headlines: dict[str, list[dict[str, Any]]],
    comparison: dict[str, Any] | None,
    problem: str | None,
) -> dict[str, Any]:
    """The experiments page: the headline metric with its interval over runs and a
    side-by-side comparison of two experiments with the data diff.

    Parameters
    ----------
    runs : list of dict
        Experiment analyses, newest first.
    headlines : dict
        :func:`assay.web.summaries.headline_series` of ``runs``.
    comparison : dict or None
        ``ExperimentComparison.to_dict()`` of the two compared experiments.
    problem : str or None
        Why no comparison could be drawn.
    """
    names = experiment_names(runs)
    series = {
        metric: [{**p, "name": names.get(p["run"], str(p["run"]))} for p in points]
        for metric, points in headlines.items()
    }
    table = [
        {
            "name": names[r["id"]],
            "data": r["result"].get("data") or r.get("version"),
            "recipe": r["result"].get("recipe"),
            "eval_set": r["result"].get("eval_set"),
            "n_train": r["result"].get("n_train"),
        }
        for r in sorted(runs, key=lambda r: r["id"])
    ]
    return {
        "names": names,
        "series": series,
        "table": table,
        "comparison": _comparison(comparison) if comparison else None,
        "comparison_problem": problem,
    }


def _comparison(d: dict[str, Any]) -> dict[str, Any]:
    c = d["comparison"]
    head = c.get("headline")
    metrics = [
        {"metric": k, **{f: number(v.get(f)) for f in ("a", "b", "delta", "low", "high")}}
        for k, v in (c.get("metrics") or {}).items()
    ]
    main = next((x for x in metrics if x["metric"] == head), metrics[0] if metrics else None)
    sides = [_side(d[side]) for side in ("a", "b")]
    diff = d.get("diff") or {}
    sentence = _comparison_sentence(c, main, sides) if main is not None else ""
    return {
        "sides": sides,
        "metrics": metrics,
        "sentence": sentence,
        "diff_counts": diff.get("counts") or {},
        "relabeled": [
            {"item": str(x.get("item_id")), "old": x.get("old_label"), "new": x.get("new_label")}
            for x in (diff.get("relabeled") or [])[:12]
        ],
        "diff_text": f"{diff.get('a')} -> {diff.get('b')}" if diff else "different datasets",
    }


def _side(e: dict[str, Any]) -> dict[str, Any]:
    keys = ("data", "recipe", "eval_set", "n_train", "headline")
    return {"name": e["id"], **{k: e.get(k) for k in keys}}


def _comparison_sentence(
    c: dict[str, Any], main: dict[str, Any], sides: list[dict[str, Any]]
) -> str:
    head = c.get("headline")
    if None in (main["delta"], main["low"], main["high"]):
        return f"{head}: {three(main['a'])} -> {three(main['b'])}"
    return (
        f"{sides[1]['name']} vs {sides[0]['name']}: {head} {three(main['a'])} -> "
        f"{three(main['b'])} ({main['delta']:+.3f}, 95% interval {main['low']:+.3f} to "
        f"{main['high']:+.3f}); McNemar p = {c.get('p_value', 0):.3g}, "
        + ("a real difference." if c.get("significant") else "within noise.")
    )


# Monitoring ----------------------------------------------------------------------------


def monitor_view(monitor: dict[str, Any]) -> dict[str, Any]:
    """One monitor: drift effect over windows, estimated vs realised accuracy, alerts on
    the time line, and (when the window reports keep them) per-column histograms."""
    windows = monitor["windows"]
    names = [f"window {w['number']}" for w in windows]
    events = [(float(i + 1), a) for i, w in enumerate(windows) for a in (w.get("alerts") or [])]
    reference = number((monitor.get("config") or {}).get("reference_accuracy"))
    accuracy = {
        "estimated": _perf(windows, "estimated", "estimated_accuracy"),
        "realised": _perf(windows, "realised", "accuracy"),
    }
    accuracy = {k: v for k, v in accuracy.items() if any(x is not None for x in v[0])}
    last = windows[-1]["report"] if windows else {}
    return {
        "name": monitor["name"],
        "recipe": monitor.get("recipe"),
        "windows": names,
        "rows": [w["rows"] for w in windows],
        "events": events,
        "drift": _drift_effects(windows),
        "share_drifted": [
            number(((w.get("report") or {}).get("params") or {}).get("share_drifted"))
            for w in windows
        ],
        "accuracy": accuracy,
        "reference_accuracy": reference,
        "distributions": _distributions(last),
        "last_drifted": sorted(
            [
                {
                    "column": c["column"],
                    "effect": number(c.get("effect_size")),
                    "finding": c.get("finding") or "",
                }
                for c in (last.get("columns") or [])
                if c.get("drifted")
            ],
            key=lambda d: -_or(d["effect"], 0.0),
        )[:15],
        "sentence": _monitor_sentence(windows),
    }


def _perf(windows: list[dict[str, Any]], block: str, key: str) -> tuple[list[Any], ...]:
    vals, lows, highs = [], [], []
    for w in windows:
        perf = ((w.get("report") or {}).get("performance") or {}).get(block) or {}
        vals.append(number(perf.get(key)))
        lows.append(number(perf.get(f"{key}_low")))
        highs.append(number(perf.get(f"{key}_high")))
    return vals, lows, highs


def _drift_effects(windows: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Effect size per column over windows: the six columns with the largest effect."""
    per: dict[str, list[float | None]] = {}
    for i, w in enumerate(windows):
        for c in (w.get("report") or {}).get("columns") or []:
            if isinstance(c, dict) and "column" in c:
                per.setdefault(str(c["column"]), [None] * len(windows))[i] = number(
                    c.get("effect_size")
                )
    top = sorted(per, key=lambda k: -max((v for v in per[k] if v is not None), default=0.0))
    return {k: per[k] for k in top[:6]}


def _distributions(report: dict[str, Any]) -> list[dict[str, Any]]:
    charts = report.get("charts") or {}
    tested = sorted(
        (c for c in report.get("columns") or [] if c.get("drifted")),
        key=lambda c: -_or(number(c.get("effect_size")), 0.0),
    )
    drifted = [c["column"] for c in tested]
    order = drifted + [k for k in charts if k not in drifted]
    out = []
    for col in order[:8]:
        ch = charts.get(col) or {}
        if ch.get("ref") is not None and ch.get("cur") is not None:
            out.append(
                {
                    "column": col,
                    "ref": ch["ref"],
                    "cur": ch["cur"],
                    "edges": ch.get("edges") or ch.get("labels"),
                }
            )
    return out


def _monitor_sentence(windows: list[dict[str, Any]]) -> str:
    if not windows:
        return "No window ingested yet: run `assay monitor ingest NAME FILE`."
    w = windows[-1]
    report = w.get("report") or {}
    columns = report.get("columns") or []
    drifted = sum(1 for c in columns if c.get("drifted"))
    alerts = len(w.get("alerts") or [])
    text = (
        f"Window {w['number']} ({w['rows']:,} rows): "
        + (f"{drifted} of {len(columns)} columns drifted" if columns else "no column tested")
        + f", {alerts} alert{'s' if alerts != 1 else ''}."
    )
    realised = ((report.get("performance") or {}).get("realised") or {}).get("accuracy")
    if number(realised) is not None:
        text += f" Realised accuracy {three(realised)}."
    return text


# Overview ------------------------------------------------------------------------------


def _card(name: str, link: str, **fields: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "link": link,
        "status": "ok",
        "value": "",
        "unit": "",
        "meaning": "",
        "trend": "",
        "trend_dir": None,
        "hint": None,
        "source": "",
    }
    return {**base, **fields}


def _not_run(name: str, link: str, command: str) -> dict[str, Any]:
    return _card(name, link, status="not run yet", hint=f"run `{command}`")


def _trend(new: float | None, old: float | None, text: str) -> dict[str, Any]:
    if new is None or old is None:
        return {}
    direction = "up" if new > old else "down" if new < old else "flat"
    return {"trend": text, "trend_dir": direction}


def consistency_card(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The overview's consistency card: Krippendorff's alpha of the newest agreement."""
    link = "/analyses/agreement"
    if not runs:
        return _not_run("consistency", link, "assay agree DATASET")
    r = runs[0]["result"]
    alpha = number(r.get("krippendorff_alpha"))
    book = r.get("labelbook_version")
    card = _card(
        "consistency",
        link,
        value=three(alpha),
        unit="Krippendorff's alpha",
        meaning=f"labelers agree on {percent(r.get('percent_agreement'))} of "
        f"{int(r.get('n_items') or 0):,} items" + (f" (label book v{book})" if book else ""),
        source=runs[0].get("version") or runs[0]["dataset"] or "",
    )
    same = [a for a in runs[1:] if a["dataset"] == runs[0]["dataset"]]
    if same:
        old = number(same[0]["result"].get("krippendorff_alpha"))
        old_book = same[0]["result"].get("labelbook_version")
        card |= _trend(
            alpha,
            old,
            f"from {three(old)}"
            + (f" (label book v{old_book})" if old_book else " (previous run)"),
        )
    return card


def quality_card(runs: list[dict[str, Any]], curve: list[dict[str, Any]]) -> dict[str, Any]:
    """The label-quality card: how many labels look wrong in the newest audit."""
    link = "/analyses/audit"
    if not runs:
        return _not_run("label quality", link, "assay audit DATASET")
    r = runs[0]["result"]
    label = (r.get("checks") or {}).get("label") or {}
    count = int(label.get("count") or 0)
    version = runs[0].get("version") or runs[0]["dataset"] or ""
    queued = sum(int(v) for v in (r.get("queued") or {}).values() if number(v) is not None)
    card = _card(
        "label quality",
        link,
        value=f"{count:,}",
        unit="labels look wrong",
        meaning=f"{percent(label.get('rate'))} of {int(r.get('n_rows') or 0):,} in {version}"
        f"; {queued:,} sent to review",
        source=version,
    )
    same = [a for a in runs[1:] if a["dataset"] == runs[0]["dataset"]]
    if same:
        old = number(((same[0]["result"].get("checks") or {}).get("label") or {}).get("count"))
        if old is not None:
            card |= _trend(
                count,
                old,
                f"from {int(old):,} in {same[0].get('version') or same[0]['dataset']}",
            )
    return card


def coverage_card(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The coverage card: overall metric vs human level, and the slice with most to gain."""
    link = "/analyses/slices"
    if not runs:
        return _not_run("coverage", link, "assay slices DATASET --by COLUMN")
    v = slices_view(runs[0])
    best = max(v["rows"], key=lambda x: _or(x["gain"], -1.0), default=None)
    meaning = (
        f"vs human level {three(v['hlp'])}" if v["hlp"] is not None else "no human-level estimate"
    )
    if best is not None and best["gain"] is not None:
        meaning += f"; most to gain: {str(best['tag'])[:28]} (+{percent(best['gain'])})"
    return _card(
        "coverage",
        link,
        value=three(v["overall"]),
        unit=v["metric"],
        meaning=meaning,
        source=runs[0].get("version") or "",
    )


def size_card(runs: list[dict[str, Any]], audits: list[dict[str, Any]]) -> dict[str, Any]:
    """The size card: the clean-or-collect verdict and the noise estimate."""
    link = "/analyses/curve"
    if not runs:
        return _not_run("size", link, "assay curve DATASET --recipe RECIPE")
    r = runs[0]["result"]
    extra = [number(x) for x in r.get("equivalent_extra") or []] + [None, None, None]
    meaning = (
        f"cleaning is worth about {extra[0]:,.0f} more examples "
        f"(95% interval {extra[1]:,.0f} to {extra[2]:,.0f})"
        if None not in extra[:3]
        else "see the learning curve"
    )
    verdict = str(r.get("verdict") or "no verdict")
    if r.get("verdict_settled") is False:
        verdict = f"tie ({verdict})"
    return _card(
        "size",
        link,
        value=verdict,
        unit="clean or collect",
        meaning=meaning,
        trend=f"estimated label noise {percent(r.get('noise_rate'))}"
        + _flagged_by(runs[0], audits),
        source=runs[0].get("version") or "",
    )


def _flagged_by(curve: dict[str, Any], audits: list[dict[str, Any]]) -> str:
    """`` (estimated; the audit flags N)`` for the audit of the curve's version."""
    same = [a for a in audits if a.get("version") == curve.get("version")]
    if not same:
        return ""
    count = number(((same[0]["result"].get("checks") or {}).get("label") or {}).get("count"))
    return "" if count is None else f" (estimated; the audit flags {int(count):,})"


def production_card(monitors: list[dict[str, Any]]) -> dict[str, Any]:
    """The production card: alerts of each monitor's last window."""
    link = "/monitoring"
    if not monitors:
        return _not_run(
            "feedback from production", link, "assay monitor add NAME --reference DATASET@vN"
        )
    last = [(m, m["windows"][-1] if m["windows"] else None) for m in monitors]
    alerts = sum(len(w.get("alerts") or []) for _, w in last if w)
    named = next(((m, w) for m, w in last if w), None)
    card = _card(
        "feedback from production",
        link,
        value=f"{alerts}",
        unit="active alert" + ("" if alerts == 1 else "s"),
        meaning=f"{len(monitors)} monitor{'s' if len(monitors) != 1 else ''}",
    )
    if named is not None:
        m, w = named
        card["meaning"] = f"{m['name']}: " + _monitor_sentence([w])
        if len(m["windows"]) > 1:
            prev = m["windows"][-2]
            card |= _trend(
                float(alerts),
                float(len(prev.get("alerts") or [])),
                f"from {len(prev.get('alerts') or [])} in window {prev['number']}",
            )
    return card
