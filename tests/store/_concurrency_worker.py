"""One writer of the concurrency suite, run as a real process (``python THIS_FILE ...``).

It opens the workspace once and performs ``N`` operations of one role in a loop,
printing (and flushing) one line per finished operation, so that a ``kill -9`` part way
still leaves every acknowledged operation checkable::

    ACK commit d 7 <object hash> <rows> <added id,added id,...>
    ACK decide <entry> <actor> <action> <label or ->
    ACK undo <entry> <actor>
    ACK apply d <number> <decision id,decision id,...>
    ACK gc <objects removed>
    ACK ingest m <window>
    CONFLICT <op> <message>        a ConflictError: nothing written (CLI exit 2)
    REFUSED <op> <Class> <message> another AssayError (CLI exit 2)

A ConflictError or another AssayError ends only that operation; anything else is a
crash: the traceback goes to stderr and the process exits with 3, as the CLI does.

Usage: ``python _concurrency_worker.py WORKSPACE ROLE WORKER_ID SEED N``; ROLE is one of
commit, review, apply, gc, ingest. ``python _concurrency_worker.py --serve`` forks such
workers on request (see :func:`serve`): each is a real process of its own (own database
connections, killed with SIGKILL like any other) that starts in milliseconds instead of
the second Python's imports cost.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from collections.abc import Callable

import numpy as np
import pandas as pd

from assay.exceptions import AssayError, ConflictError
from assay.store.workspace import Workspace

DATASET = "d"
MONITOR = "m"
ID_STRIDE = 1_000_000  # worker w adds ids w * ID_STRIDE + ..., never reused


def _say(line: str) -> None:
    print(line.replace("\n", " "), flush=True)


def op_commit(ws: Workspace, rng: random.Random, actor: str, worker: int, i: int) -> str:
    """Add 1-5 rows to the head of ``d`` as a compare-and-swap commit on that head."""
    head = ws.dataset(DATASET)
    frame = head.to_pandas()
    k = rng.randint(1, 5)
    ids = [(worker + 1) * ID_STRIDE + i * 10 + j for j in range(k)]
    noise = np.random.default_rng(rng.getrandbits(32))
    extra = pd.DataFrame(
        {
            "id": np.array(ids, dtype=frame["id"].dtype),
            "f0": noise.normal(size=k),
            "f1": noise.normal(size=k),
            "y": np.array([rng.randint(0, 3) for _ in ids], dtype=frame["y"].dtype),
        }
    )
    new = pd.concat([frame, extra], ignore_index=True)
    v = ws.commit(DATASET, new, message=f"add {k} by {actor}", author=actor, parent=head.ref)
    return f"commit {DATASET} {v.number} {v.object_hash} {v.n_rows} {','.join(map(str, ids))}"


def op_review(ws: Workspace, rng: random.Random, actor: str, worker: int, i: int) -> str:
    """Decide an open entry, or undo / decide again a decided one (with its revision)."""
    queue = ws.review.list(DATASET, status=None)
    live = queue[queue["status"] != "applied"]
    if live.empty:
        return "skip no entry left"
    entry = live.iloc[rng.randrange(len(live))]
    entry_id, revision = int(entry["id"]), int(entry["revision"])
    if entry["status"] == "decided" and rng.random() < 0.5:
        ws.review.undo(entry_id, user=actor, revision=revision)
        return f"undo {entry_id} {actor}"
    roll = rng.random()
    action = "relabel" if roll < 0.5 else "remove" if roll < 0.65 else "keep"
    label = str(rng.randint(0, 3)) if action == "relabel" else None
    ws.review.decide(entry_id, action, label=label, user=actor, revision=revision)
    return f"decide {entry_id} {actor} {action} {label or '-'}"


def op_apply(ws: Workspace, rng: random.Random, actor: str, worker: int, i: int) -> str:
    """Apply the decisions in force as a new version of ``d``."""
    v = ws.review.apply(DATASET, user=actor)
    decisions = v.provenance.get("review_decisions", [])
    return f"apply {DATASET} {v.number} {','.join(map(str, decisions)) or '-'}"


def op_gc(ws: Workspace, rng: random.Random, actor: str, worker: int, i: int) -> str:
    """Collect garbage with no grace period: only leases protect writes in flight."""
    removed = ws.gc(grace_s=0)
    time.sleep(rng.uniform(0.0, 0.1))
    return f"gc {len(removed)}"


def op_ingest(ws: Workspace, rng: random.Random, actor: str, worker: int, i: int) -> str:
    """Ingest a production batch of 20-60 rows as the monitor's next window."""
    n = rng.randint(20, 60)
    noise = np.random.default_rng(rng.getrandbits(32))
    batch = pd.DataFrame({"f0": noise.normal(size=n), "f1": noise.normal(0.2, 1.0, size=n)})
    result = ws.monitors.ingest(MONITOR, batch, source=f"batch of {actor}")
    return f"ingest {MONITOR} {result['window']}"


ROLES: dict[str, Callable[[Workspace, random.Random, str, int, int], str]] = {
    "commit": op_commit,
    "review": op_review,
    "apply": op_apply,
    "gc": op_gc,
    "ingest": op_ingest,
}


def serve() -> int:
    """Fork workers on request, so that each starts without paying Python's imports.

    Reads requests from stdin, one JSON object a line: ``{"name", "argv", "env",
    "out", "err"}``; forks a child that redirects its stdout / stderr to the files
    ``out`` / ``err``, sets ``env`` and runs :func:`main` on ``argv``. Prints (flushed)
    ``PID name pid`` when a child starts and ``EXIT name code`` when it ends (a negative
    code: killed by that signal). Ends when stdin closes and every child ended.
    """
    import select

    import assay.deploy  # noqa: F401  (the imports an ingest needs, once)
    import assay.store.monitor_checks  # noqa: F401

    children: dict[int, str] = {}
    buffer, closing = b"", False
    while not (closing and not children):
        if not closing and select.select([0], [], [], 0.01)[0]:
            chunk = os.read(0, 65536)
            closing = not chunk
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                request = json.loads(line)
                children[_fork(request)] = request["name"]
        elif closing:
            time.sleep(0.01)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            _say(f"EXIT {children.pop(pid)} {os.waitstatus_to_exitcode(status)}")
    return 0


def _fork(request: dict) -> int:
    pid = os.fork()
    if pid:
        _say(f"PID {request['name']} {pid}")
        return pid
    code = 3
    try:
        for fd, path in ((1, request["out"]), (2, request["err"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        os.environ.update(request["env"])
        code = main(request["argv"])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str]) -> int:
    """Run ``N`` operations of one role; 0 when no operation crashed, else 3."""
    path, role, worker, seed, n = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    rng = random.Random(seed)
    op = ROLES[role]
    with Workspace(path) as ws:
        _say(f"READY {role} {worker}")
        for i in range(n):
            actor = f"w{worker}-{role}-{i}"
            try:
                _say("ACK " + op(ws, rng, actor, worker, i))
            except ConflictError as exc:
                _say(f"CONFLICT {role} {exc}")
            except AssayError as exc:
                _say(f"REFUSED {role} {type(exc).__name__} {exc}")
            except Exception:
                traceback.print_exc()
                return 3
    return 0


if __name__ == "__main__":
    sys.exit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
