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

The load runs in ``--rounds`` rounds (3 of 20 s): a p95 reported is the median of the
rounds' p95s, which a burst of other work on a shared machine moves less. The last lines
say, per backend and target, the number and whether it is met.

Run: ``.venv/bin/python benchmarks/labeling.py [--quick] [--no-postgres]`` (about 3
minutes; ``--quick`` about 1).
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


def _median_p95(rounds: list[list[float]]) -> tuple[float, list[float]]:
    """The median over rounds of each round's p95 (ms), and the per-round p95s."""
    per = [_p(r, 95) for r in rounds if r]
    return (float(np.median(per)) if per else float("nan")), per


def run_backend(name: str, db: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """Plan, ``args.rounds`` rounds of 20 labelers, the agreement timing; the table row
    and the headline numbers (medians over rounds of each round's p95)."""
    from assay.workflows.labeling import plan_labeling

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        start = time.perf_counter()
        ws = _workspace(root, db, args.items)
        names = [f"l{i:02d}" for i in range(args.labelers)]
        plan_labeling(ws, "d", labelers=names, overlap=0.2, actor="bench")
        setup = time.perf_counter() - start
        ws.close()
        rounds = []
        for k in range(args.rounds):
            result = _load(root, args)
            rounds.append(result)
            print(
                f"  {name} round {k + 1}/{args.rounds}: next p95 "
                f"{_p(result['out']['next'], 95):.1f} ms, submit p95 "
                f"{_p(result['out']['submit'], 95):.1f} ms",
                file=sys.stderr,
            )
        stored = rounds[-1]["stored"]
        acked = sum(len(r["out"]["acked"]) for r in rounds)
        lost = acked - stored
        errors = sum(len(r["out"]["errors"]) for r in rounds)
        ws = _workspace(Path(tmp) / "ws2", _fresh(db), args.agreement_items)
        agree = _agreement(ws, args.agreement_items, args.repeats)
        ws.close()
    nxt, nxt_rounds = _median_p95([r["out"]["next"] for r in rounds])
    sub, sub_rounds = _median_p95([r["out"]["submit"] for r in rounds])
    every = {k: [x for r in rounds for x in r["out"][k]] for k in ("next", "submit")}
    row = [
        name,
        f"{args.items:,}",
        args.labelers,
        f"{setup:.1f} s",
        len(every["next"]),
        f"{_p(every['next'], 50):.1f} / {nxt:.1f}",
        f"{_p(every['submit'], 50):.1f} / {sub:.1f}",
        acked,
        lost,
        errors,
        f"{2 * args.agreement_items:,}: {_p(agree, 50):.0f} / {_p(agree, 95):.0f}",
    ]
    return {
        "row": row,
        "name": name,
        "next": (nxt, nxt_rounds),
        "submit": (sub, sub_rounds),
        "agreement": _p(agree, 95),
        "lost": lost,
        "errors": errors,
    }


def _verdicts(results: list[dict[str, Any]]) -> str:
    """One line per backend and target: the number, the target, met or not."""
    lines = []
    for r in results:
        for what, key in (("next item", "next"), ("submit", "submit")):
            value, per = r[key]
            shown = ", ".join(f"{v:.0f}" for v in per)
            verdict = "met" if value <= 100 else "NOT met"
            lines.append(
                f"- {r['name']}: {what} p95 {value:.1f} ms (median of rounds: {shown}) "
                f"<= 100 ms: {verdict}"
            )
        agree = r["agreement"]
        verdict = "met" if agree <= 500 else "NOT met"
        lines.append(f"- {r['name']}: live agreement p95 {agree:.0f} ms <= 500 ms: {verdict}")
        lost = "met" if r["lost"] == 0 and r["errors"] == 0 else "NOT met"
        lines.append(f"- {r['name']}: lost labels {r['lost']}, errors {r['errors']}: {lost}")
    return "\n".join(lines)


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
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of labeling")
    parser.add_argument("--agreement-items", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.quick:
        args.items, args.duration, args.agreement_items, args.repeats = 5000, 8.0, 2000, 3
    results = [run_backend("SQLite", None, args)]
    if not args.no_postgres:
        results.append(run_backend("PostgreSQL", _fresh(PG_URL), args))
    rows = [r["row"] for r in results]
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
    body = (
        markdown_table(header, rows)
        + (
            f"\n\nLoad average at the end: {load} (2 cores shared with other work). "
            f"Think time {args.think} s between an item and its label; {args.rounds} rounds "
            f"of {args.duration:.0f} s of labeling; p95 = the median over rounds of each "
            "round's p95 (p50 over every call); targets: next and submit p95 <= 100 ms, 0 "
            "lost, agreement on 20,000 labels p95 <= 500 ms.\n\n"
        )
        + _verdicts(results)
    )
    write_results("labeling" + ("_quick" if args.quick else ""), "Labeling (issue 16)", body)


if __name__ == "__main__":
    main()
