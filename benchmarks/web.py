"""Web benchmark: the review queue under 20 concurrent reviewers on loopback.

Target (issue 8): 100,000 items and 10,000 in the queue, on SQLite and on PostgreSQL,
20 concurrent users: review page and next-item p95 <= 150 ms, decision POST p95
<= 100 ms, no errors, no lost decisions (counted in the database afterwards). The
anchor is the target itself (no competitor).

The app runs in its own process (uvicorn, as ``assay ui`` runs it); the load comes
from this process (httpx, asyncio). Each user signs in, then loops: next item (303),
review page (200), decision (303). Users start at different places in the queue.

Run: ``.venv/bin/python benchmarks/web.py [--quick] [--no-postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

PG_URL = os.environ.get("ASSAY_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "benchmark password"


#: Indexes suggested to the lead for the queue order and item lookups; the benchmark
#: measures with and without them (they are not in the schema yet).
SUGGESTED_INDEXES = [
    "CREATE INDEX ix_review_queue_order ON review_items (dataset_id, status, score, id)",
    "CREATE INDEX ix_review_item ON review_items (dataset_id, item_id)",
]


def build(path: Path, db: str | None, n_items: int, n_queue: int, n_users: int,
          index: bool = False) -> None:
    """A workspace with ``n_items`` digit rows, ``n_queue`` queued, ``n_users`` reviewers."""
    from sklearn.datasets import load_digits

    from assay.store.users import add_user
    from assay.store.workspace import Workspace

    rng = np.random.default_rng(0)
    x, y = load_digits(return_X_y=True)
    rows = rng.integers(0, len(y), n_items)
    frame = pd.DataFrame(x[rows], columns=[f"pixel_{i}" for i in range(64)])
    frame.insert(0, "item_id", [f"i{k}" for k in range(n_items)])
    frame["label"] = y[rows]
    ws = Workspace.init(path, db=db)
    ws.import_dataset("digits", frame, label="label", id="item_id")
    queued = frame.sample(n_queue, random_state=0)
    ws.review.add("digits", pd.DataFrame({
        "item_id": queued["item_id"], "reason": "low self-confidence",
        "score": rng.random(n_queue), "given_label": queued["label"],
        "suggested_label": (queued["label"] + 1) % 10}), source="label_issue")
    for k in range(n_users):
        add_user(ws, f"user{k}", role="reviewer", password=PASSWORD)
    if index:
        from sqlalchemy import text

        with ws.engine.begin() as conn:
            for statement in SUGGESTED_INDEXES:
                conn.execute(text(statement))
    ws.close()


def serve(path: str, port: int, workers: int) -> None:
    """Run the app (the server process), as ``assay ui --workers N`` does."""
    from assay.cli.web import ui

    ui(Path(path), host="127.0.0.1", port=port, certfile=None, keyfile=None,
       workers=workers, forwarded_allow_ips=None, secure_cookies=None, workspace=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _sign_in(client: httpx.AsyncClient, name: str) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = await client.post("/login", data={"username": name, "password": PASSWORD,
                                             "csrf_token": token})
    assert done.status_code == 303, done.text
    home = await client.get("/datasets")
    return re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]


async def _timed(times: dict[str, list[float]], kind: str, call: Any) -> httpx.Response:
    start = time.perf_counter()
    response = await call
    times[kind].append(time.perf_counter() - start)
    return response


async def _round(client: httpx.AsyncClient, token: str, url: str, i: int,
                 out: dict[str, Any], think: float = 0.0) -> int | None:
    """One round: the next item at ``url``, its page, a decision (keep or relabel by
    ``i``); the entry decided, or None after an error (recorded in ``out``)."""
    moved = await _timed(out["times"], "next item", client.get(url))
    if moved.status_code != 303 or "/review/entry/" not in moved.headers.get("location", ""):
        out["errors"].append(f"next: {moved.status_code}")
        return None
    entry_id = int(moved.headers["location"].split("/")[-1])
    page = await _timed(out["times"], "review page", client.get(f"/review/entry/{entry_id}"))
    found = re.search(r'name="revision" value="(\d+)"', page.text)
    if page.status_code != 200 or found is None:
        out["errors"].append(f"page: {page.status_code}")
        return None
    if think:
        await asyncio.sleep(think)  # a person looks at the item
    fields = {"csrf_token": token, "revision": found.group(1)}
    fields.update({"relabel": str(i % 10)} if i % 2 else {"action": "keep"})
    done = await _timed(out["times"], "decision POST",
                        client.post(f"/review/entry/{entry_id}/decide", data=fields))
    key = {303: "decided", 409: "conflicts"}.get(done.status_code)
    if key is None:
        out["errors"].append(f"decide: {done.status_code}")
    else:
        out[key] += 1
    return entry_id


async def reviewer(base: str, k: int, start_after: int | None, n: int,
                   out: dict[str, Any], think: float = 0.0) -> None:
    """One user: ``n`` rounds of next -> review page -> decision."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        token = await _sign_in(client, f"user{k}")
        after = start_after
        for i in range(n):
            url = "/review/digits/next" + (f"?after={after}" if after else "")
            after = await _round(client, token, url, i, out, think)
            if after is None:
                return


async def load(base: str, starts: list[int | None], n: int, think: float = 0.0) -> dict[str, Any]:
    out: dict[str, Any] = {"times": {"next item": [], "review page": [], "decision POST": []},
                           "errors": [], "decided": 0, "conflicts": 0}
    await asyncio.gather(*(reviewer(base, k, s, n, out, think) for k, s in enumerate(starts)))
    return out


async def _open_round(clients: list[tuple[httpx.AsyncClient, str]], k: int, after: int,
                      delay: float, out: dict[str, Any]) -> None:
    """Round ``k`` of the open-loop load, started ``delay`` s from now whatever the
    server is doing: next item after entry ``after``, its page, a decision."""
    await asyncio.sleep(delay)
    out["lag"].append(time.perf_counter() - out["t0"] - delay)  # the client's own lateness
    try:
        client, token = clients[k % len(clients)]
        await _round(client, token, f"/review/digits/next?after={after}", k, out)
    except httpx.HTTPError as exc:  # a refused or dropped connection is an error, not a crash
        out["errors"].append(f"{type(exc).__name__}")


async def open_loop(base: str, users: int, open_ids: list[int], rate: float,
                    seconds: float) -> dict[str, Any]:
    """Open-loop load: rounds (3 requests each) start at ``rate / 3`` per second on a
    fixed schedule, spread over ``users`` signed-in reviewers; round ``k`` decides the
    open entry after ``open_ids[2k]``, so no two rounds want the same entry."""
    n = min(int(rate / 3 * seconds), len(open_ids) // 2)
    out: dict[str, Any] = {"times": {"next item": [], "review page": [], "decision POST": []},
                           "errors": [], "decided": 0, "conflicts": 0, "lag": []}
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)  # per reviewer
    clients = [httpx.AsyncClient(base_url=base, timeout=60, limits=limits) for _ in range(users)]
    try:
        tokens = [await _sign_in(c, f"user{k}") for k, c in enumerate(clients)]
        pairs = list(zip(clients, tokens, strict=True))
        out["t0"] = time.perf_counter()
        await asyncio.gather(*(_open_round(pairs, k, open_ids[2 * k], k * 3 / rate, out)
                               for k in range(n)))
        out["wall"] = time.perf_counter() - out["t0"]
    finally:
        for c in clients:
            await c.aclose()
    return out


async def _cpu_rounds(path: Path, rounds: int) -> dict[str, list[float]]:
    """CPU time per request, one user, in this process (app and client share it)."""
    from assay.web.app import create_app

    app = create_app(str(path), secret_key="b" * 32)
    transport = httpx.ASGITransport(app=app)
    cpu: dict[str, list[float]] = {"next item": [], "review page": [], "decision POST": []}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        token = await _sign_in(client, "user0")
        after: int | None = None
        for i in range(rounds + 3):
            t0 = time.process_time()
            moved = await client.get("/review/digits/next" + (f"?after={after}" if after else ""))
            t1 = time.process_time()
            after = int(moved.headers["location"].split("/")[-1])
            page = await client.get(f"/review/entry/{after}")
            t2 = time.process_time()
            revision = re.search(r'name="revision" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
            fields = {"csrf_token": token, "revision": revision}
            fields.update({"relabel": str(i % 10)} if i % 2 else {"action": "keep"})
            await client.post(f"/review/entry/{after}/decide", data=fields)
            t3 = time.process_time()
            if i >= 3:  # the first rounds load the table into the cache
                for kind, a, b in (("next item", t0, t1), ("review page", t1, t2),
                                   ("decision POST", t2, t3)):
                    cpu[kind].append(b - a)
    return cpu


#: Stages of a request: (label, file suffix, function name); CPU time is their cumulative time.
STAGES = [
    ("sign-in check (cookie, session cache)", "assay/web/deps.py", "authenticate"),
    ("form + CSRF", "assay/web/deps.py", "_read_fields"),
    ("queue query (next)", "assay/web/queries.py", "next_entry"),
    ("entry + label book + count + version (1 transaction)", "assay/web/queries.py",
     "entry_page"),
    ("item row + widget", "assay/web/items.py", "item_view"),
    ("template render", "assay/web/render.py", "render"),
    ("check against the item (entry + version)", "assay/web/routes/review.py", "_check_for_item"),
    ("decision (check, write, audit: 1-2 transactions)", "assay/workflows/review.py",
     "decide_entry"),
]


def _inline_threadpool() -> None:
    """Run sync endpoints in the event loop's thread, so one profiler sees all the work."""
    import fastapi.dependencies.utils
    import fastapi.routing

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    fastapi.routing.run_in_threadpool = inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = inline  # type: ignore[assignment]


def _stage_rows(stats: Any, kind: str, n: int, cpu_ms: float) -> list[list[Any]]:
    """Rows: CPU ms per request by stage (profiled shares scaled to ``cpu_ms``)."""
    total = 0.0
    found: dict[str, float] = {}
    for (file, _, func), (_, _, _, cum, _) in stats.stats.items():
        if file.endswith("fastapi/applications.py") and func == "__call__":
            total += cum
        for label, suffix, name in STAGES:
            if file.endswith(suffix) and func == name:
                found[label] = found.get(label, 0.0) + cum
    scale = cpu_ms / (total * 1000 / n) if total else 0.0
    rows = [[kind, "server CPU per request (unprofiled)", f"{cpu_ms:.2f}", "100%"]]
    rest = total
    for label, value in found.items():
        rest -= value
        rows.append([kind, label, f"{value * 1000 / n * scale:.2f}", f"{value / total:.0%}"])
    rows.append([kind, "framework (routing, dependencies, middleware, response)",
                 f"{rest * 1000 / n * scale:.2f}", f"{rest / total:.0%}"])
    return rows


async def _profile_kind(path: Path, kind: str, rounds: int, profile: bool) -> tuple[Any, float]:
    """CPU of the server for one request kind, in process, client excluded."""
    import cProfile

    from assay.web.app import create_app

    app = create_app(str(path), secret_key="b" * 32)
    prof = cProfile.Profile(time.process_time)
    spent = 0.0

    async def server(scope: Any, receive: Any, send: Any) -> None:
        nonlocal spent
        on = scope["type"] == "http" and _kind_of(scope) == kind
        t0 = time.process_time()
        if on and profile:
            prof.enable()
        try:
            await app(scope, receive, send)
        finally:
            if on and profile:
                prof.disable()
            spent += (time.process_time() - t0) if on else 0.0

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server),
                                 base_url="http://bench") as client:
        token = await _sign_in(client, "user0")
        await _walk(client, token, rounds + 3)  # warm: the table cache, compiled queries
        spent = 0.0
        prof = cProfile.Profile(time.process_time)
        await _walk(client, token, rounds)
    import pstats

    return (pstats.Stats(prof) if profile else None), spent * 1000 / rounds


def _kind_of(scope: Any) -> str:
    path = scope["path"]
    if path.endswith("/next"):
        return "next item"
    return "decision POST" if path.endswith("/decide") else "review page"


async def _walk(client: httpx.AsyncClient, token: str, rounds: int) -> None:
    """``rounds`` rounds of one signed-in reviewer (``token``: the CSRF token)."""
    moved = await client.get("/review/digits/next")
    for i in range(rounds):
        entry = int(moved.headers["location"].split("/")[-1])
        page = await client.get(f"/review/entry/{entry}")
        revision = re.search(r'name="revision" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
        fields = {"csrf_token": token, "revision": revision}
        fields.update({"relabel": str(i % 10)} if i % 2 else {"action": "keep"})
        await client.post(f"/review/entry/{entry}/decide", data=fields)
        moved = await client.get(f"/review/digits/next?after={entry}")


def stage_profile(path: Path, rounds: int) -> list[list[Any]]:
    """Where the server's CPU time of each request kind goes (cProfile, process time)."""
    rows: list[list[Any]] = []
    _inline_threadpool()
    for kind in ("next item", "review page", "decision POST"):
        _, cpu_ms = asyncio.run(_profile_kind(path, kind, rounds, profile=False))
        stats, _ = asyncio.run(_profile_kind(path, kind, rounds, profile=True))
        rows += _stage_rows(stats, kind, rounds, cpu_ms)
    return rows


def _wait(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server process exited")
        try:
            httpx.get(base + "/login", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start in 60 s")


def _counts(path: Path) -> tuple[int, int]:
    from sqlalchemy import func, select

    from assay.store import models as m
    from assay.store.workspace import Workspace

    with Workspace(path) as ws, ws.session() as s:
        decided = s.scalar(select(func.count()).where(m.ReviewItem.status == "decided"))
        logged = s.scalar(select(func.count()).where(m.AuditLog.action.like("review.%")))
    return int(decided or 0), int(logged or 0)


def _starts(path: Path, users: int) -> list[int | None]:
    """Where each user starts: evenly spread over the open queue."""
    from assay.store.workspace import Workspace

    with Workspace(path) as ws:
        ids = ws.review.list("digits", limit=None)["id"].tolist()
    step = len(ids) // users
    return [None] + [ids[k * step] for k in range(1, users)]


def _measure(path: Path, base: str, args: argparse.Namespace, think: float,
             rounds: int) -> tuple[dict[str, Any], float, int]:
    before, _ = _counts(path)
    t0 = time.perf_counter()
    out = asyncio.run(load(base, _starts(path, args.users), rounds, think))
    wall = time.perf_counter() - t0
    after, logged = _counts(path)
    return out, wall, (before + out["decided"]) - after


def _measure_open(path: Path, base: str, args: argparse.Namespace) -> list[list[Any]]:
    """The open-loop load mode (issue 17): rows per request kind, rate, errors, lost."""
    from assay.store.workspace import Workspace

    with Workspace(path) as ws:
        open_ids = ws.review.list("digits", limit=None)["id"].tolist()
    before, _ = _counts(path)
    out = asyncio.run(open_loop(base, args.users, open_ids, args.rate, args.seconds))
    after, _ = _counts(path)
    lag = np.asarray(out["lag"]) * 1000
    rows = _rows(f"{args.label}, load {args.rate:.0f} req/s offered", out, out["wall"],
                 (before + out["decided"]) - after)
    rows[-1][-1] += (f"; client lateness p95 {np.percentile(lag, 95):.0f} ms "
                     f"(the load generator's own delay)")
    return rows


def run_backend(name: str, db: str | None, args: argparse.Namespace,
                index: bool = False) -> list[list[Any]]:
    rows: list[list[Any]] = []
    name = name + (" + index" if index else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ws"
        t0 = time.perf_counter()
        build(path, db, args.items, args.queue, args.users, index)
        print(f"[{name}] built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        port = _free_port()
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(path), str(port),
                                 str(args.workers)])
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base, proc)
            for _ in range(args.workers * 2):  # warm-up: each worker loads the table once
                asyncio.run(load(base, [None], 1))
            if args.rate:
                args.label = name
                rows += _measure_open(path, base, args)
            for label, think, rounds in args.modes:
                out, wall, lost = _measure(path, base, args, think, rounds)
                rows += _rows(f"{name}, {label}", out, wall, lost)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        cpu = asyncio.run(_cpu_rounds(path, args.cpu_rounds))
        args.stage_rows += [[name, *r] for r in stage_profile(path, args.cpu_rounds)]
        for kind, times in cpu.items():
            ms = np.asarray(times) * 1000
            rows.append([f"{name}, CPU per request", kind, len(ms), f"{np.median(ms):.1f}",
                         f"{np.percentile(ms, 95):.1f}", "", "one user, in-process, CPU time"])
        decided, logged = _counts(path)
    if decided != logged:
        rows.append([name, "audit log", "", "", "", "", f"MISMATCH: {decided} decided, {logged} logged"])
    else:
        rows.append([name, "audit log", "", "", "", "", f"every decision logged ({logged})"])
    return rows


def _kinds(errors: list[str]) -> str:
    """`` (ReadError 2, next: 500 1)``: what the errors were, or nothing."""
    from collections import Counter

    counts = Counter(errors)
    return f" ({', '.join(f'{k} {n}' for k, n in counts.most_common())})" if counts else ""


def _rows(name: str, out: dict[str, Any], wall: float, lost: int) -> list[list[Any]]:
    targets = {"next item": 150, "review page": 150, "decision POST": 100}
    rows = []
    for kind, times in out["times"].items():
        ms = np.asarray(times) * 1000
        p50, p95 = statistics.median(ms), float(np.percentile(ms, 95))
        verdict = "met" if p95 <= targets[kind] else "MISSED"
        rows.append([name, kind, len(ms), f"{p50:.1f}", f"{p95:.1f}", targets[kind], verdict])
    total = sum(len(t) for t in out["times"].values())
    rows.append([name, "all", total, f"{total / wall:.0f} req/s", "", "",
                 f"errors {len(out['errors'])}{_kinds(out['errors'])}, decided {out['decided']}, conflicts "
                 f"{out['conflicts']}, lost {lost}"])
    return rows


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small and fast (< 60 s)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--rate", type=float, default=200.0,
                        help="offered requests per second of the open-loop load mode (0: skip)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load mode")
    parser.add_argument("--load-only", action="store_true",
                        help="PostgreSQL only: the load mode, CPU per request and stages "
                        "(results/web-load.md)")
    args = parser.parse_args()
    args.items, args.queue, args.users = (
        (10_000, 1_000, 5) if args.quick else (100_000, 10_000, 20)
    )
    args.cpu_rounds = 20 if args.quick else 60
    args.seconds = min(args.seconds, 8.0) if args.quick else args.seconds
    args.modes = (
        [] if args.load_only
        else [("no think time", 0.0, 8), ("0.5 s think", 0.5, 4)] if args.quick
        else [("no think time", 0.0, 30), ("0.5 s think", 0.5, 20)]
    )
    args.stage_rows = []
    return args


def _describe(args: argparse.Namespace) -> str:
    closed = ", ".join(f"{r} ({label})" for label, _, r in args.modes)
    return (
        f"{args.items:,} items, {args.queue:,} queued, {args.users} signed-in reviewers, each "
        "round = next item -> review page -> decision"
        + (f"; closed-loop rounds per user: {closed}" if closed else "")
        + f". App served by `assay ui --workers {args.workers}` (uvicorn) in its own process, "
        "load from httpx (asyncio) in another, loopback. "
        + (f"'load {args.rate:.0f} req/s offered' (issue 17) is open-loop: rounds start on a "
           f"fixed schedule ({args.rate / 3:.1f} rounds/s, {args.seconds:.0f} s) whether or not "
           "the server has answered the earlier ones, spread over the reviewers, no think "
           "time; the 'all' row gives the rate achieved and the client's own lateness "
           "(if large, the load generator, not the server, was the limit). "
           if args.rate else "")
        + ("'no think time' is a closed-loop stress test (every user fires the next request "
           "at once); '0.5 s think' waits half a second on each page before deciding. "
           if closed else "")
        + "The review queue's indexes (migration 0002) are in place. 'Lost' counts decisions "
        "answered 303 but not in the database afterwards."
        + " 'CPU per request' rows: CPU time (not wall time) of each request for one user, "
        "app and httpx client in one process, so they hardly depend on the other load on "
        "the machine; they include the client's own overhead (about 1 ms)."
        + f" Load average at the end: {os.getloadavg()[0]:.1f} on 2 cores.\n\n"
    )


def _stages_text(args: argparse.Namespace) -> str:
    if not args.stage_rows:
        return ""
    header = ["backend", "request", "stage", "CPU ms", "share"]
    return (
        "\n\n### Where the time of a request goes\n\nServer CPU per request by stage, one "
        "reviewer, in process (the app called directly, the test client's CPU excluded; "
        "sync endpoints run in the event loop's thread so one profiler sees them). Shares "
        "from cProfile (process time), scaled to the unprofiled CPU. Stages nest only where "
        "named (the decision includes its check against the item). Wall time beyond CPU "
        "is waiting for the database (round trips, and its own CPU on the same cores).\n\n"
        + markdown_table(header, args.stage_rows)
    )


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    args = _args()
    rows = []
    if not args.load_only:
        rows += run_backend("SQLite", None, args, False)
    if not args.no_postgres and not args.quick:
        rows += _postgres(args, False)
    header = ["backend", "request", "n", "p50 ms", "p95 ms", "target p95 ms", "result"]
    body = _describe(args) + markdown_table(header, rows) + _stages_text(args)
    name = "web-load" if args.load_only else "web" if not args.quick else "web-quick"
    write_results(name, "Web: review queue under load", body)


def _postgres(args: argparse.Namespace, index: bool) -> list[list[Any]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    engine = create_engine(PG_URL)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as exc:
        print(f"PostgreSQL not reachable ({exc}); skipped", file=sys.stderr)
        return [["PostgreSQL", "not run: server not reachable", "", "", "", "", ""]]
    sep = "&" if "?" in PG_URL else "?"
    try:
        return run_backend("PostgreSQL", f"{PG_URL}{sep}options=-csearch_path%3D{schema}", args,
                           index)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


if __name__ == "__main__":
    main()
