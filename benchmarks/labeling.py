"""Labeling benchmark: 20 labelers on one plan of 100,000 unlabeled items.

Targets (issue 16), on SQLite and on PostgreSQL (loopback): next item p95 <= 100 ms,
submit p95 <= 100 ms, 0 lost labels (counted in the database afterwards); agreement
on 20,000 overlapping labels p95 <= 500 ms. The anchor is the target itself.

Each labeler is a thread with its own workspace (its own connection pool), calling the
use cases the web app calls (:func:`assay.workflows.labeling.next_item`,
:func:`~assay.workflows.labeling.submit_label`); between an item and its label the
labeler thinks for ``--think`` seconds (0.5 s), so 20 labelers interleave at the load of
20 people. Agreement is measured on a second plan with 10,000 items labeled by two
labelers each (labels written in bulk, then ``live_agreement`` timed).

Run: ``.venv/bin/python benchmarks/labeling.py [--quick] [--no-postgres]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

PG_URL = os.environ.get(
    "ASSAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _workspace(root: Path, db: str | None, n_items: int) -> Any:
    from assay.store.workspace import Workspace

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"text": [f"item {i} {rng.integers(1000)}" for i in range(n_items)]})
    ws = Workspace.init(root, db=db)
    ws.import_dataset("d", frame)  # no label column: every item awaits a label
    ws.labelbook.save(
        "d", {c: {"description": f"class {c}"} for c in "abcd"}, message="four classes"
    )
    return ws


def _labeler(root: Path, who: str, think: float, until: float, out: dict[str, list[float]]) -> None:
    from assay.exceptions import ConflictError
    from assay.store.workspace import Workspace
    from assay.workflows.labeling import next_item, submit_label

    ws = Workspace(root)
    rng = np.random.default_rng(abs(hash(who)) % 2**32)
    try:
        time.sleep(rng.random() * think)  # labelers do not start in step
        while time.perf_counter() < until:
            start = time.perf_counter()
            task = next_item(ws, "d", who)
            out["next"].append(time.perf_counter() - start)
            if task is None:
                return
            time.sleep(think)
            start = time.perf_counter()
            try:
                submit_label(ws, "d", who, task.item_id, "abcd"[rng.integers(4)])
            except ConflictError:
                out["conflicts"].append(1.0)
                continue
            out["submit"].append(time.perf_counter() - start)
            out["acked"].append(1.0)
    except Exception as exc:  # noqa: BLE001 - counted as an error
        out["errors"].append(1.0)
        print(f"{who}: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        ws.close()


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def _load(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """20 labelers for ``args.duration`` seconds; latencies and the count afterwards."""
    from sqlalchemy import func, select

    from assay.store import models as m
    from assay.store.workspace import Workspace

    out: dict[str, list[float]] = {
        k: [] for k in ("next", "submit", "acked", "conflicts", "errors")
    }
    until = time.perf_counter() + args.duration
    names = [f"l{i:02d}" for i in range(args.labelers)]
    lock = threading.Lock()
    shards = {n: {k: [] for k in out} for n in names}
    threads = [
        threading.Thread(target=_labeler, args=(root, n, args.think, until, shards[n]))
        for n in names
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with lock:
        for shard in shards.values():
            for k, v in shard.items():
                out[k].extend(v)
    ws = Workspace(root)
    with ws.session(readonly=True) as s:
        stored = s.scalar(select(func.count()).select_from(m.LabelingLabel))
    ws.close()
    return {"out": out, "stored": int(stored or 0)}


def _agreement(ws: Any, n_items: int, repeats: int) -> list[float]:
    """``live_agreement`` on ``n_items`` items with two labels each (bulk-written)."""
    from sqlalchemy import insert

    from assay.store import models as m
    from assay.workflows.labeling import live_agreement, plan_labeling

    items = list(range(n_items))
    plan_labeling(ws, "d", labelers=["x", "y"], items=items, overlap=1.0, actor="bench")
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 4, n_items)
    with ws.session() as s:
        project = s.query(m.LabelingProject).order_by(m.LabelingProject.id.desc()).first()
        rows = []
        for who, noise in (("x", 0.1), ("y", 0.2)):
            flip = rng.random(n_items) < noise
            labels = np.where(flip, rng.integers(0, 4, n_items), truth)
            rows += [
                {
                    "project_id": project.id,
                    "item_id": str(i),
                    "labeler": who,
                    "label": f'"{"abcd"[k]}"',
                    "unsure": False,
                    "skipped": False,
                    "labelbook_version": 1,
                    "prefilled": False,
                    "in_sample": True,
                    "revision": 0,
                }
                for i, k in zip(items, labels, strict=True)
            ]
        s.execute(insert(m.LabelingLabel), rows)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        live_agreement(ws, "d")
        times.append(time.perf_counter() - start)
    return times


def run_backend(name: str, db: str | None, args: argparse.Namespace) -> list[list[Any]]:
    from assay.workflows.labeling import plan_labeling

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        start = time.perf_counter()
        ws = _workspace(root, db, args.items)
        names = [f"l{i:02d}" for i in range(args.labelers)]
        plan_labeling(ws, "d", labelers=names, overlap=0.2, actor="bench")
        setup = time.perf_counter() - start
        ws.close()
        result = _load(root, args)
        out = result["out"]
        lost = len(out["acked"]) - result["stored"]
        ws = _workspace(Path(tmp) / "ws2", _fresh(db), args.agreement_items)
        agree = _agreement(ws, args.agreement_items, args.repeats)
        ws.close()
    return [
        [
            name,
            f"{args.items:,}",
            args.labelers,
            f"{setup:.1f} s",
            len(out["next"]),
            f"{_p(out['next'], 50):.1f} / {_p(out['next'], 95):.1f}",
            f"{_p(out['submit'], 50):.1f} / {_p(out['submit'], 95):.1f}",
            len(out["acked"]),
            lost,
            len(out["errors"]),
            f"{2 * args.agreement_items:,}: {_p(agree, 50):.0f} / {_p(agree, 95):.0f}",
        ]
    ]


def _fresh(db: str | None) -> str | None:
    """A PostgreSQL URL with a new schema (None for SQLite)."""
    if db is None:
        return None
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 items, 15 s")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--agreement-items", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.items, args.duration, args.agreement_items, args.repeats = 5000, 15.0, 2000, 3
    rows = run_backend("SQLite", None, args)
    if not args.no_postgres:
        rows += run_backend("PostgreSQL", _fresh(PG_URL), args)
    header = [
        "backend",
        "items",
        "labelers",
        "plan setup",
        "next calls",
        "next p50 / p95 ms",
        "submit p50 / p95 ms",
        "labels acked",
        "lost",
        "errors",
        "agreement labels: p50 / p95 ms",
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = markdown_table(header, rows) + (
        f"\n\nLoad average at the end: {load} (2 cores shared with other work). "
        f"Think time {args.think} s between an item and its label; {args.duration:.0f} s "
        "of labeling; targets: next and submit p95 <= 100 ms, 0 lost, agreement on 20,000 "
        "labels p95 <= 500 ms."
    )
    write_results("labeling" + ("_quick" if args.quick else ""), "Labeling (issue 16)", body)


if __name__ == "__main__":
    main()
