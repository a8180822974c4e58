"""What the labeling pages show: a blind item, the classes with their keys, the label
book aside, and the live agreement as charts and tables.

Blindness is built here: :func:`blind_item` keeps only what a labeler may see of an
item (never its label column, nor its media path, which may name a class folder), and
the label page's context is made of the labeler's own task and the label book only.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from assay import _stats
from assay.exceptions import InputError, NotFoundError
from assay.store.datasets import DatasetVersion
from assay.store.workspace import Workspace
from assay.web.cache import TableCache
from assay.web.items import item_view
from assay.web.labelbook_form import EXAMPLE_KINDS

__all__ = [
    "RESERVED_KEYS",
    "agreement_view",
    "blind_item",
    "book_examples",
    "check_item_id",
    "class_choices",
    "input_kind",
    "latest_book",
]

#: Keys of the labeling page that never pick a class: s skips, u marks unsure.
RESERVED_KEYS = frozenset("su")
#: Example items per class shown beside the item.
MAX_EXAMPLES = 4
#: Tasks whose label is typed in a text field (a transcript, a number) instead of chosen.
TEXT_INPUT = {"transcript": "Transcript", "number": "Value"}


#: The longest item id a labeling table holds.
MAX_ID = 400


def check_item_id(item_id: str) -> str:
    """``item_id`` when a labeling table can hold it, else a one-line :class:`InputError`
    (a NUL byte, which PostgreSQL text refuses; more than :data:`MAX_ID` characters)."""
    if "\x00" in item_id or len(item_id) > MAX_ID:
        raise InputError(
            f"item id {item_id[:40]!r}{'...' if len(item_id) > 40 else ''} is not an item id "
            f"(a NUL byte, or over {MAX_ID} characters); use the ids the labeling page shows."
        )
    return item_id


def media_url(name: str, item_id: str) -> str:
    """The labeling route that serves an item's media file by item id."""
    return f"/label/{quote(name, safe='')}/items/{quote(item_id, safe='')}/media"


def blind_item(version: DatasetVersion, cache: TableCache, item_id: str) -> dict[str, Any]:
    """The item as a labeler sees it: its media, text, pixels and other fields, never
    its label nor its media path (served by id through :func:`media_url`)."""
    view = item_view(version, cache, item_id)
    hidden = {version.roles.label, version.roles.media, version.roles.id}
    if view["text"] is not None:
        hidden.add("text")  # shown as the item's text
    return {
        "item_id": item_id,
        "media_url": media_url(version.name, item_id) if view["media_url"] else None,
        "media_kind": view["media_kind"],
        "text": view["text"],
        "pixels": view["pixels"],
        "row": {
            k: v
            for k, v in view["row"].items()
            if k not in hidden and not (view["pixels"] and k.startswith("pixel_"))
        },
    }


def latest_book(ws: Workspace, name: str) -> dict[str, Any] | None:
    """The latest label-book version as a dict, None when the dataset has none."""
    try:
        return ws.labelbook.get(name).to_dict()
    except NotFoundError:
        return None


def input_kind(widget: str) -> str:
    """``choice`` for classes, ``text`` for transcripts and numbers, else ``none``."""
    if widget == "choice":
        return "choice"
    return "text" if widget in TEXT_INPUT else "none"


def _keys(names: list[str]) -> list[list[str]]:
    """Each class's keys: its own digit when every class is a digit, else 1-9 by
    position; and its first letter when no earlier class took it (never s or u)."""
    digits = all(len(n) == 1 and n.isdigit() for n in names)
    taken: set[str] = set(RESERVED_KEYS)
    out = []
    for i, name in enumerate(names):
        keys = [name] if digits else ([str(i + 1)] if i < 9 else [])
        first = name[:1].lower()
        if first.isalpha() and first not in taken:
            keys.append(first)
            taken.add(first)
        out.append(keys)
    return out


def class_choices(
    ws: Workspace, name: str, book: dict[str, Any] | None, cache: TableCache, *, choose: bool
) -> list[dict[str, Any]]:
    """The classes a label may take, in the label book's order (else, when labels are
    ``choose``-n rather than typed, the dataset's label list, else its labels):
    ``label``, ``keys``, ``description``, ``rules``, ``examples`` (item ids by kind).

    A typed label (a transcript) lists only the label book's entries, without keys:
    the dataset's labels would be the answers."""
    defined: dict[str, Any] = (book or {}).get("classes") or {}
    if defined:
        names = [str(c) for c in defined]
    elif choose:
        allowed, _ = ws.allowed_label_names(name)
        names = allowed or [str(c) for c in cache.get(ws.dataset(name)).classes()]
    else:
        names = []
    all_keys = _keys(names) if choose else [[] for _ in names]
    out = []
    for cls, keys in zip(names, all_keys, strict=True):
        spec = defined.get(cls) or {}
        spec = spec if isinstance(spec, dict) else {"description": str(spec)}
        out.append(
            {
                "label": cls,
                "keys": keys,
                "description": spec.get("description"),
                "rules": list(spec.get("rules") or []),
                "example_ids": {
                    kind: [str(i) for i in (spec.get("examples") or {}).get(kind) or []]
                    for kind in EXAMPLE_KINDS
                },
            }
        )
    return out


def book_examples(
    version: DatasetVersion, cache: TableCache, classes: list[dict[str, Any]]
) -> None:
    """Add ``examples`` (the first few example items, blind) to each class."""
    for cls in classes:
        shown: list[dict[str, Any]] = []
        for kind, ids in cls["example_ids"].items():
            for item_id in ids:
                if len(shown) >= MAX_EXAMPLES:
                    break
                view = blind_item(version, cache, item_id)
                shown.append({**view, "kind": kind, "row": {}})
        cls["examples"] = shown


def example_ids(classes: list[dict[str, Any]]) -> set[str]:
    """Every example item id of the label book's classes."""
    return {i for c in classes for ids in c["example_ids"].values() for i in ids}


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _pair_rows(pairs: pd.DataFrame) -> list[dict[str, Any]]:
    """Labeler pairs: shared items, percent agreement (Wilson 95% interval) and Cohen's
    kappa with its large-sample 95% interval (Cohen 1960: se = sqrt(po (1 - po) / n) /
    (1 - pe), pe from po and kappa)."""
    out = []
    for r in pairs.itertuples(index=False):
        n, po, kappa = int(str(r.n_items)), _num(r.percent_agreement), _num(r.cohen_kappa)
        row: dict[str, Any] = {
            "pair": f"{r.annotator_a} · {r.annotator_b}",
            "a": str(r.annotator_a),
            "b": str(r.annotator_b),
            "n_items": n,
            "percent_agreement": po,
            "agreement_ci": None,
            "cohen_kappa": kappa,
            "kappa_ci": None,
        }
        if po is not None and n > 0:
            low, high = _stats.wilson_interval(po * n, n)
            row["agreement_ci"] = [float(low), float(high)]
        if po is not None and kappa is not None and n > 0 and kappa < 1:
            pe = (po - kappa) / (1 - kappa)
            se = math.sqrt(po * (1 - po) / n) / (1 - pe) if pe < 1 else 0.0
            row["kappa_ci"] = [max(-1.0, kappa - 1.96 * se), min(1.0, kappa + 1.96 * se)]
        elif kappa == 1:
            row["kappa_ci"] = [1.0, 1.0]
        out.append(row)
    return out


def _class_rows(report: Any) -> list[dict[str, Any]]:
    """Per class: specific agreement with a Wilson 95% interval over the label pairs
    that touch the class, the class it is confused with, and how often."""
    per = report.per_class
    conf = report.confusion.to_numpy(dtype=np.float64)
    out = []
    for i, (cls, r) in enumerate(per.iterrows()):
        agree = _num(r["agreement"])
        pairs = conf[i, i] / 2 + (conf[i].sum() - conf[i, i])  # unordered pairs with it
        ci = None
        if agree is not None and pairs > 0:
            low, high = _stats.wilson_interval(agree * pairs, pairs)
            ci = [float(low), float(high)]
        out.append(
            {
                "class": str(cls),
                "n_labels": int(r["n_labels"]),
                "agreement": agree,
                "agreement_ci": ci,
                "confused_with": None if r["confused_with"] is None else str(r["confused_with"]),
                "confused_share": _num(r["confused_share"]),
            }
        )
    return out


def _report_view(report: Any) -> dict[str, Any]:
    """The headline statistics with their 95% intervals, pairs and classes."""
    ci = {k: [float(lo), float(hi)] for k, (lo, hi) in getattr(report, "ci", {}).items()}
    headline = [
        {"name": label, "value": _num(getattr(report, attr, None)), "ci": ci.get(key)}
        for label, attr, key in (
            ("Cohen's kappa (mean over pairs)", "mean_cohen_kappa", "cohen_kappa"),
            ("Krippendorff's alpha", "krippendorff_alpha", "krippendorff_alpha"),
            ("percent agreement", "percent_agreement", "percent_agreement"),
        )
        if hasattr(report, attr)
    ]
    has_classes = hasattr(report, "per_class") and hasattr(report, "confusion")
    has_pairs = isinstance(getattr(report, "pairs", None), pd.DataFrame)
    return {
        "headline": headline,
        "pairs": _pair_rows(report.pairs) if has_pairs and "cohen_kappa" in report.pairs else [],
        "classes": _class_rows(report) if has_classes else [],
    }


def agreement_view(live: Any) -> dict[str, Any]:
    """The live agreement page's context from a
    :class:`~assay.workflows.labeling.LiveAgreement`."""
    out: dict[str, Any] = {
        "n_items": live.n_items,
        "n_labels": live.n_labels,
        "headline": [],
        "pairs": [],
        "classes": [],
        "revise": [],
        "by_labelbook": [],
        "disagreed": [],
        "report": None,
    }
    if live.report is not None:
        out.update(_report_view(live.report))
        out["revise"] = _revise_rows(live.revise)
        if not out["pairs"] and not out["classes"]:  # numbers, transcripts: as it is
            out["report"] = live.report.to_dict()
    if live.by_labelbook is not None:
        out["by_labelbook"] = [
            {
                "version": f"v{v}",
                "alpha": _num(r.krippendorff_alpha),
                "items": int(r.n_items),
                "per_class": {str(k): _num(a) for k, a in r.per_class["agreement"].items()},
            }
            for v, r in live.by_labelbook.reports.items()
        ]
    out["disagreed"] = [
        {
            "item": str(r["item"]),
            "labels": {str(k): v for k, v in r["labels"].items()},
            "adjudicated": r["adjudicated"],
        }
        for r in live.disagreed.to_dict("records")
    ]
    return out


def _revise_rows(revise: pd.DataFrame) -> list[dict[str, Any]]:
    if revise.empty:
        return []
    frame = revise.reset_index()
    if "class" not in frame.columns:  # not classes (e.g. the clips transcribers differ on)
        return []
    return [
        {str(k): (_num(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]
