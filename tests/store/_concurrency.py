"""The concurrency storm: real writer processes, random ``kill -9``, then invariants.

:func:`run_storm` sets up a workspace (dataset ``d`` with review entries, dataset ``c``
for CLI imports, monitor ``m``), then runs waves of writer processes at once: library
workers (``_concurrency_worker.py``, many operations each, one acknowledgement line per
operation) and ``assay`` CLI commands. A seeded ``random.Random`` picks which processes
are killed and when (after a random number of acknowledged operations, or a random
delay). The ``check_*`` functions return the problems they find, as sentences.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from assay.exceptions import NotFoundError
from assay.store import models as m
from assay.store.workspace import Workspace

PYTHON = sys.executable
EXE = str(Path(sys.executable).with_name("assay"))
WORKER = str(Path(__file__).with_name("_concurrency_worker.py"))
N_ITEMS = 200  # rows of d@v1
N_ENTRIES = 120  # review entries, one per item 0..119 (an item never gets two)
HANG_S = 150.0  # a process still running after this long is killed and reported


class Launcher:
    """The forking server (``_concurrency_worker.py --serve``) and what it reported."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.pids: dict[str, int] = {}
        self.exits: dict[str, int] = {}
        self._changed = threading.Condition()
        self.popen = subprocess.Popen(
            [PYTHON, WORKER, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(folder / "launcher.err").open("w"),
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            kind, name, number = line.split()
            with self._changed:
                (self.pids if kind == "PID" else self.exits)[name] = int(number)
                self._changed.notify_all()

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> int:
        """Fork a worker running ``argv``; its output goes to ``folder/name.out|err``."""
        assert self.popen.stdin is not None
        request = {"name": name, "argv": argv, "env": env,
                   "out": str(self.folder / f"{name}.out"),
                   "err": str(self.folder / f"{name}.err")}
        self.popen.stdin.write(json.dumps(request) + "\n")
        self.popen.stdin.flush()
        with self._changed:
            if not self._changed.wait_for(lambda: name in self.pids, timeout=120):
                raise AssertionError(f"the launcher did not start {name}: "
                                     f"{(self.folder / 'launcher.err').read_text()}")
        return self.pids[name]

    def close(self) -> None:
        """Let the launcher end once its children have."""
        assert self.popen.stdin is not None
        self.popen.stdin.close()
        self.popen.wait(timeout=HANG_S)
        self._reader.join(timeout=10)


def labelled_parquet(path: Path, n: int, seed: int, *, n_features: int = 8,
                     n_classes: int = 5) -> Path:
    """A seeded Parquet file of ``n`` rows: ``n_features`` normal columns and a label ``y``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, n_features)),
                         columns=[f"f{i}" for i in range(n_features)])
    frame["y"] = rng.integers(0, n_classes, size=n)
    frame.to_parquet(path)
    return path


@dataclass
class Proc:
    """A writer process, what it printed, and whether the storm killed it.

    A ``worker`` is forked by the :class:`Launcher`; a ``cli`` command is an ``assay``
    process of its own. Both print to files (``folder/name.out``, ``.err``).
    """

    name: str
    kind: str  # "worker" or "cli"
    role: str
    argv: list[str]
    env: dict[str, str]
    folder: Path = Path()
    launcher: Launcher | None = None
    popen: subprocess.Popen[bytes] | None = None
    pid: int = 0
    lines: list[str] = field(default_factory=list)
    stderr: str = ""
    killed: bool = False
    hung: bool = False
    kill_after_ops: int | None = None  # workers: kill once this many operations ended
    kill_at: float | None = None  # seconds after start (CLI), or after kill_after_ops
    started: float = 0.0
    reached_at: float | None = None

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal); None while it runs."""
        if self.launcher is not None:
            return self.launcher.exits.get(self.name)
        return None if self.popen is None else self.popen.poll()

    def ops_done(self) -> int:
        """Operations that ended with an outcome line (workers)."""
        return sum(1 for line in self.lines if line.split(" ", 1)[0] in OUTCOMES)

    def start(self, launcher: Launcher) -> None:
        """Fork (worker) or spawn (cli) the process."""
        self.folder = launcher.folder
        self.started = time.monotonic()
        if self.kind == "worker":
            self.launcher = launcher
            self.pid = launcher.spawn(self.name, self.argv, self.env)
            return
        with (self.folder / f"{self.name}.out").open("wb") as out, (
            self.folder / f"{self.name}.err"
        ).open("wb") as err:
            self.popen = subprocess.Popen(self.argv, env={**os.environ, **self.env},
                                          stdout=out, stderr=err)
        self.pid = self.popen.pid

    def read(self) -> None:
        """Collect what it printed so far (whole lines)."""
        path = self.folder / f"{self.name}.out"
        text = path.read_text(errors="replace") if path.exists() else ""  # killed at birth
        self.lines = text.split("\n")[:-1]

    def kill(self) -> None:
        """SIGKILL, if it still runs."""
        if self.killed or self.returncode is not None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended (and was reaped) just now
            return
        self.killed = True

    def join(self) -> None:
        """Wait for the exit; collect its output."""
        deadline = time.monotonic() + HANG_S
        while self.returncode is None:
            if time.monotonic() > deadline and not self.hung:
                self.hung = True
                self.kill()
            time.sleep(0.01)
        self.read()
        err = self.folder / f"{self.name}.err"
        self.stderr = err.read_text(errors="replace") if err.exists() else ""


OUTCOMES = ("ACK", "CONFLICT", "REFUSED")


@dataclass
class Storm:
    """What ran, for the checks and the summary."""

    backend: str
    seed: int
    root: Path
    procs: list[Proc]
    seconds: float

    def summary(self) -> str:
        """One line: operations, kills, outcomes."""
        outcomes: Counter[str] = Counter()
        for p in self.procs:
            if p.kind == "worker":
                for line in p.lines:
                    head = line.split(" ", 2)
                    if head[0] in OUTCOMES:
                        outcomes[f"{head[0].lower()} {head[1]}"] += 1
            else:
                outcomes[f"cli {p.role} exit {p.returncode}"] += 1
        kills = sum(p.killed for p in self.procs)
        shown = ", ".join(f"{k}: {n}" for k, n in sorted(outcomes.items()))
        return (
            f"[{self.backend} seed {self.seed}] {self.operations()} operations in "
            f"{len(self.procs)} processes, {kills} killed (-9), {self.seconds:.0f} s; {shown}"
        )

    def operations(self) -> int:
        """Operations that ended, plus the one each killed process was in."""
        done = sum(p.ops_done() for p in self.procs if p.kind == "worker")
        cli = sum(1 for p in self.procs if p.kind == "cli")
        in_flight = sum(1 for p in self.procs if p.kind == "worker" and p.killed)
        return done + cli + in_flight

    def kills(self) -> int:
        """How many processes were killed by the storm."""
        return sum(p.killed for p in self.procs)

    def workspace(self) -> Workspace:
        """The workspace, opened afresh."""
        return Workspace(self.root)


# ---------------------------------------------------------------- setting up
def setup_workspace(root: Path, db: str | None, seed: int) -> None:
    """``d`` (200 rows, entries for items 0..119), ``c`` (for CLI imports), monitor ``m``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(N_ITEMS, dtype=np.int64),
            "f0": rng.normal(size=N_ITEMS),
            "f1": rng.normal(size=N_ITEMS),
            "y": rng.integers(0, 4, size=N_ITEMS),
        }
    )
    with Workspace.init(root, db=db) as ws:
        ws.import_dataset("d", frame, label="y", id="id")
        entries = pd.DataFrame(
            {
                "item_id": frame["id"][:N_ENTRIES].astype(str),
                "reason": "suspicious",
                "score": rng.uniform(size=N_ENTRIES),
                "given_label": frame["y"][:N_ENTRIES].astype(int).tolist(),
            }
        )
        ws.review.add("d", entries, source="label_issue")
        ws.import_dataset("c", frame.iloc[:50], label="y", id="id")
        ws.monitors.add("m", "d@v1")
    for k in range(4):
        frame.sample(n=60, random_state=seed + k).to_csv(root / f"c{k}.csv", index=False)
    frame[["f0", "f1"]].iloc[:40].to_csv(root / "batch.csv", index=False)


def worker(root: Path, role: str, wid: int, seed: int, n: int, env: dict[str, str]) -> Proc:
    """A library worker doing ``n`` operations of ``role`` (forked by the launcher)."""
    argv = [str(root), role, str(wid), str(seed), str(n)]
    return Proc(f"w{wid:02d}-{role}", "worker", role, argv, env)


def cli(root: Path, name: str, role: str, args: list[str]) -> Proc:
    """An ``assay`` command acting as ``name`` (ASSAY_USER), printing JSON."""
    argv = [EXE, *args, "-w", str(root), "--json"]
    return Proc(name, "cli", role, argv, {"ASSAY_USER": name})


# ---------------------------------------------------------------- running
WAVE_ROLES = ("commit", "commit", "review", "review", "apply", "apply", "gc", "ingest")
FAULTS = {
    "commit": "before_commit:0.03",
    "apply": "before_commit:0.05",
    "ingest": "monitor_before_store:0.05",
}


def plan_wave(
    root: Path, wave: int, rng: random.Random, n_ops: int, kills: int
) -> list[Proc]:
    """The processes of one wave; ``kills`` of the workers and one command get killed."""
    procs = []
    for j, role in enumerate(WAVE_ROLES):
        wid = wave * 10 + j
        env = {"ASSAY_FAULT_SLEEP": FAULTS[role]} if role in FAULTS and rng.random() < 0.5 else {}
        n = n_ops // 2 if role == "ingest" else n_ops  # the costliest operation
        procs.append(worker(root, role, wid, rng.getrandbits(31), n, env))
    for p in rng.sample(procs, kills):
        p.kill_after_ops = rng.randint(1, int(p.argv[-1]) // 2)
        p.kill_at = rng.uniform(0.0, 0.3)
    commands = _wave_commands(root, wave, rng)
    rng.choice(commands).kill_at = rng.uniform(0.3, 3.0)
    return procs + commands


def _wave_commands(root: Path, wave: int, rng: random.Random) -> list[Proc]:
    """Two ``assay`` writers per wave: an import of ``c``, then by turns an apply, a gc
    with no grace, a decision and a monitor ingest."""
    csv = str(root / f"c{wave % 4}.csv")
    first = cli(root, f"cli{wave}-import", "import", ["import", "c", csv])
    entry = str(rng.randint(1, N_ENTRIES))
    role, args = [
        ("apply", ["review", "apply", "d"]),
        ("gc", ["gc", "--grace", "0"]),
        ("decide", ["review", "decide", entry, "--keep"]),
        ("ingest", ["monitor", "ingest", "m", str(root / "batch.csv")]),
    ][wave % 4]
    return [first, cli(root, f"cli{wave}-{role}", role, args)]


def run_wave(procs: list[Proc], launcher: Launcher) -> None:
    """Start every process, kill the chosen ones when their moment comes, wait for all."""
    for p in procs:
        p.start(launcher)
    while any(p.returncode is None for p in procs):
        now = time.monotonic()
        for p in procs:
            _maybe_kill(p, now)
        time.sleep(0.01)
    for p in procs:
        p.join()


def _maybe_kill(p: Proc, now: float) -> None:
    if p.returncode is not None:
        return
    if now - p.started > HANG_S:
        p.hung = True
        p.kill()
        return
    if p.kill_at is None:
        return
    if p.kill_after_ops is not None:
        if p.reached_at is None:
            p.read()
            if p.ops_done() >= p.kill_after_ops:
                p.reached_at = now
        if p.reached_at is not None and now - p.reached_at >= p.kill_at:
            p.kill()
    elif now - p.started >= p.kill_at:
        p.kill()


def run_storm(root: Path, db: str | None, backend: str, seed: int, waves: int = 4,
              n_ops: int = 15, kills: int = 3) -> Storm:
    """Set up, run ``waves`` waves of writers with kills; return what ran."""
    rng = random.Random(seed)
    launcher = Launcher(root.parent / "out")  # imports while the workspace is set up
    procs: list[Proc] = []
    try:
        setup_workspace(root, db, seed)
        started = time.monotonic()
        for wave in range(waves):
            planned = plan_wave(root, wave, rng, n_ops, kills)
            run_wave(planned, launcher)
            procs += planned
    finally:
        launcher.close()
    return Storm(backend, seed, root, procs, time.monotonic() - started)


# ---------------------------------------------------------------- reading the store
def acks(storm: Storm) -> list[tuple[Proc, list[str]]]:
    """Every worker acknowledgement, split into words, with its process."""
    return [
        (p, line.split(" ")[1:])
        for p in storm.procs
        if p.kind == "worker"
        for line in p.lines
        if line.startswith("ACK ") and not line.startswith("ACK skip")
    ]


def versions(ws: Workspace, name: str) -> list[m.Version]:
    """Every version row of dataset ``name``, by number."""
    with ws.session(readonly=True) as s:
        ds = s.scalar(select(m.Dataset).where(m.Dataset.name == name))
        assert ds is not None
        return list(
            s.scalars(
                select(m.Version).where(m.Version.dataset_id == ds.id).order_by(m.Version.number)
            )
        )


def rows_of(ws: Workspace, table: type[m.Base]) -> list[Any]:
    """Every row of a table."""
    with ws.session(readonly=True) as s:
        return list(s.scalars(select(table)))


def label_map(ws: Workspace, digest: str) -> dict[int, int]:
    """id -> label of an object of dataset ``d``."""
    table = ws.objects.get_table(digest, ["id", "y"])
    return dict(zip(table.column("id").to_pylist(), table.column("y").to_pylist(), strict=True))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cli_json(p: Proc) -> Any:
    """The JSON a CLI command printed (exit 0), else None."""
    if p.returncode != 0:
        return None
    try:
        return json.loads("\n".join(p.lines))
    except ValueError:
        return None


def find_version(ws: Workspace, ref: str) -> Any:
    """The version ``ref``, or None when it does not exist."""
    try:
        return ws.dataset(ref)
    except NotFoundError:
        return None
