"""The labeling pages of the web app: what a page costs on top of the use cases.

On one plan of ``--items`` unlabeled text items (20 labelers, a 20% agreement sample)
a labeler's labeling page (HTML and JSON) and a submit (the POST and the page it
redirects to) are timed through the app in-process (FastAPI's TestClient: no network),
against :func:`assay.workflows.labeling.next_item` / ``submit_label`` alone; then the
live agreement page (HTML, and the body the page polls) on ``2 x --agreement-items``
overlapping labels, against :func:`~assay.workflows.labeling.live_agreement` alone
(each computed afresh), and the body polled when nothing changed (the labels stamp
read, the last context reused).
Targets (issue 16): next item and submit p95 <= 100 ms, agreement on 20,000 labels
p95 <= 500 ms.

Run: ``.venv/bin/python benchmarks/labeling_web.py [--quick] [--postgres]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402
from labeling import PG_URL, _agreement, _fresh, _workspace  # noqa: E402

PASSWORD = "correct horse battery"


def _ms(times: list[float], q: float) -> float:
    return float(np.percentile(times, q)) * 1000


def _timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _client(ws: Any, name: str, role: str) -> tuple[Any, str]:
    from fastapi.testclient import TestClient

    from assay.store.users import add_user
    from assay.web import create_app

    add_user(ws, name, role=role, password=PASSWORD)
    client = TestClient(create_app(ws, secret_key="b" * 32))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post(
        "/login",
        data={
            "username": name,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/label",
        },
    )
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/label").text)
    assert found is not None
    return client, found.group(1)


def _queue_rows(ws: Any, repeats: int) -> list[list[Any]]:
    """The labeling page and a submit, through the app and through the use cases."""
    from assay.workflows.labeling import next_item, submit_label

    client, csrf = _client(ws, "l00", "labeler")
    rng = np.random.default_rng(0)

    def submit_page() -> None:
        item = client.get("/label/d?format=json").json()["task"]["item_id"]
        start = time.perf_counter()
        answer = client.post(
            "/label/d/submit",
            data={"csrf_token": csrf, "item_id": item, "label": "abcd"[rng.integers(4)]},
        )
        assert answer.status_code == 200, answer.text
        posts.append(time.perf_counter() - start)

    def submit_use_case() -> None:
        task = next_item(ws, "d", "l01")
        assert task is not None
        start = time.perf_counter()
        submit_label(ws, "d", "l01", task.item_id, "abcd"[rng.integers(4)])
        posts.append(time.perf_counter() - start)

    client.get("/label/d")  # the version's rows into the page cache, as in a live server
    rows = []
    for what, fn in (
        ("next item: next_item()", lambda: next_item(ws, "d", "l00")),
        ("next item: labeling page (HTML)", lambda: client.get("/label/d")),
        ("next item: labeling page (JSON)", lambda: client.get("/label/d?format=json")),
    ):
        times = _timed(fn, repeats)
        rows.append([what, repeats, f"{_ms(times, 50):.1f}", f"{_ms(times, 95):.1f}"])
    for what, fn in (
        ("submit: submit_label()", submit_use_case),
        ("submit: POST + the next page", submit_page),
    ):
        posts: list[float] = []
        for _ in range(repeats):
            fn()
        rows.append([what, repeats, f"{_ms(posts, 50):.1f}", f"{_ms(posts, 95):.1f}"])
    return rows


def _forget(state: Any) -> None:
    """Drop the app's agreement contexts: the next request computes agreement afresh."""
    shared = getattr(state, "labeling_agreements", None)
    if shared is not None:
        shared.forget("d")
    getattr(state, "labeling_stamped", {}).pop("d", None)


def _agreement_rows(ws: Any, n_items: int, repeats: int) -> list[list[Any]]:
    from assay.workflows.labeling import live_agreement

    alone = _agreement(ws, n_items, repeats)
    client, _ = _client(ws, "rita", "reviewer")
    rows = [
        [
            f"agreement ({2 * n_items:,} labels): live_agreement()",
            repeats,
            f"{_ms(alone, 50):.0f}",
            f"{_ms(alone, 95):.0f}",
        ]
    ]
    for what, path in (
        ("agreement page (HTML)", "/label/d/agreement"),
        ("agreement body (polled)", "/label/d/agreement/live"),
    ):
        times = []
        for _ in range(repeats):  # each computed afresh (reviewers of a plan share one)
            _forget(client.app.state)
            start = time.perf_counter()
            assert client.get(path).status_code == 200
            times.append(time.perf_counter() - start)
        rows.append([f"{what}", repeats, f"{_ms(times, 50):.0f}", f"{_ms(times, 95):.0f}"])
    times = []
    for _ in range(repeats):  # past the 2 s sharing: the labels stamp read, then the same
        shared = getattr(client.app.state, "labeling_agreements", None)
        if shared is not None:
            shared.forget("d")
        start = time.perf_counter()
        assert client.get("/label/d/agreement/live").status_code == 200
        times.append(time.perf_counter() - start)
    what = "agreement body (polled, nothing new)"
    rows.append([what, repeats, f"{_ms(times, 50):.0f}", f"{_ms(times, 95):.0f}"])
    assert live_agreement(ws, "d").n_labels == 2 * n_items
    return rows


def run(db: str | None, args: argparse.Namespace) -> list[list[Any]]:
    from assay.workflows.labeling import plan_labeling

    with tempfile.TemporaryDirectory() as tmp:
        ws = _workspace(Path(tmp) / "ws", db, args.items)
        names = [f"l{i:02d}" for i in range(20)]
        plan_labeling(ws, "d", labelers=names, overlap=0.2, actor="bench")
        rows = _queue_rows(ws, args.repeats)
        ws.close()
        ws = _workspace(Path(tmp) / "ws2", _fresh(db), args.agreement_items)
        rows += _agreement_rows(ws, args.agreement_items, max(5, args.repeats // 4))
        ws.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    args.items = 5_000 if args.quick else 100_000
    args.agreement_items = 2_000 if args.quick else 10_000
    args.repeats = 20 if args.quick else 60
    out = []
    for name, db in (("SQLite", None), ("PostgreSQL", PG_URL if args.postgres else None)):
        if name == "PostgreSQL" and not args.postgres:
            continue
        out += [[name, *row] for row in run(_fresh(db), args)]
    table = markdown_table(["backend", "what", "calls", "p50 ms", "p95 ms"], out)
    body = (
        f"{args.items:,} items, 20 labelers; in-process requests (no network); targets: "
        "next item and submit p95 <= 100 ms, agreement on 20,000 labels p95 <= 500 ms.\n\n" + table
    )
    write_results(
        "labeling_web" + ("_quick" if args.quick else ""), "Labeling pages (issue 16)", body
    )


if __name__ == "__main__":
    main()
