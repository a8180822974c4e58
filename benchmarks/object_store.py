"""Object-store benchmark: import and read a version on S3 (loopback) vs local disk.

Targets (issue 19), at 1M x 20 (``--rows 1000000``): import and a cold read on the
S3-compatible server within 2x the local-disk time; a warm read (object in the local
read cache) within 1.2x. The anchor is the same operation on a local-disk workspace,
measured in the same run. ``--server`` picks the S3 server on loopback, and may be
given more than once to measure several in one run against one local-disk anchor:

* ``process`` (default): moto's ``moto_server`` in its own process, as a real
  endpoint is (pure Python: one streamed GET is fast, range requests are slow);
* ``thread``: moto as a ``ThreadedMotoServer`` in this process, where it shares the
  client's CPU and GIL (an upper bound, the mode of the earlier runs);
* ``s3rver``: the Node fake S3 ``s3rver``, which streams objects from files on disk
  (a second, unrelated server, to tell the server's cost from the client's; its
  CopyObject does not decode ``%3A`` in the source key, which only gc's restore of a
  copy set aside uses). It is not a Python package; install it once with
  ``npm install --prefix benchmarks/_work/s3rver s3rver`` (a git-ignored folder; or
  put ``s3rver`` on PATH, or name its executable in ``S3RVER``). When it is missing,
  that server is skipped with a message.

Every server shares the machine's cores with the client. Operations:

* import: ``Workspace.import_dataset`` of a new version (a different seed each time,
  so every import writes a new object);
* cold read: a new workspace client on a machine that holds none of the object's
  bytes: on local disk the object file's pages are dropped from the page cache first
  (``fsync`` + ``posix_fadvise(DONTNEED)``), so the hash and the read go to the disk;
  on S3 the read cache is emptied (download, hash, read), and s3rver's stored files
  leave the page cache too (moto keeps its objects in its own memory);
* cold read vs page cache (S3): the same S3 cold read as a ratio to the local read of
  a file the page cache holds (the local warm read below: the file as just written),
  the stricter comparison, kept beside the target's;
* cold read, warm read (new process): the same two reads, each by a new Python process
  (the read alone timed, inside it; the interpreter's start and assay's import are not
  counted): what a command of another machine's client pays, importing the storage
  backend (s3fs, ~0.3 s) included where the read needs the network;
* download (S3): the part of the cold read spent fetching the object into the local
  cache (``FsspecObjectStore.fetch``, timed inside the read): the rest is the hash
  check and the Parquet read that the local-disk anchor does too;
* warm read: the object already in the read cache, checked once in this process as a
  new process would (the local-disk anchor also hashes its file on the first read);
* server delivery (S3): the same object fetched by ``curl`` into ``/dev/null`` right
  after the cold read (no hash, no Parquet, no Python): what the server on this
  machine takes to hand over the bytes, the floor under any client's cold read. On
  loopback the server runs on the same two cores as the client, so its CPU is part of
  every S3 time here (it would not be against a remote store).

``--read-path`` measures instead how objects are read from their (cached) files:
memory-mapped (``assay.store.objects.MEMORY_MAP``, the default) against Arrow's
buffered read, in alternating rounds of one run, each round a new import and then a
cold read of it, on local disk and on each server.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table, write_results  # noqa: E402

from assay.store import objects  # noqa: E402
from assay.store.workspace import Workspace  # noqa: E402


def frame(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows: 18 float features, an integer id and a 10-class label."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(rng.normal(size=(n, 18)), columns=[f"f{i}" for i in range(18)])
    data["id"] = np.arange(n, dtype=np.int64)
    data["y"] = rng.integers(0, 10, size=n)
    return data


#: The S3 servers ``--server`` can start, in the order they are measured.
SERVERS = ("process", "thread", "s3rver")
#: How each server is named in the results.
SERVER_NAMES = {"process": "moto (process)", "thread": "moto (thread)", "s3rver": "s3rver"}
#: Folders whose files the running S3 server stores objects in (s3rver's), dropped
#: from the page cache before each cold read.
SERVER_FILES: list[Path] = []
#: The folder ``npm install --prefix`` puts s3rver in (git-ignored).
S3RVER_PREFIX = Path(__file__).parent / "_work" / "s3rver"


def start_s3(mode: str) -> Callable[[], None]:
    """An S3 server on loopback (``mode``: one of :data:`SERVERS`), with AWS_* pointing
    at it and a bucket ``bench``; returns the function that stops it."""
    import fsspec

    key = "bench"
    if mode == "thread":
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        stop = server.stop
    elif mode == "s3rver":
        host, port, stop = _s3rver_process()
        key = "S3RVER"  # s3rver's one account (it checks the key id, not the signature)
    else:
        host, port, stop = _moto_process()
    os.environ.update(
        AWS_ACCESS_KEY_ID=key,
        AWS_SECRET_ACCESS_KEY=key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
    )
    fsspec.filesystem("s3", skip_instance_cache=True).mkdir("bench")
    return stop


def s3rver_executable() -> str | None:
    """The ``s3rver`` executable: ``$S3RVER``, else under :data:`S3RVER_PREFIX`, else PATH."""
    named = os.environ.get("S3RVER")
    if named:
        return named if Path(named).exists() else None
    local = S3RVER_PREFIX / "node_modules" / ".bin" / "s3rver"
    if local.exists():
        return str(local)
    return shutil.which("s3rver")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(
    argv: list[str], port: int, ready_path: str, cleanup: Callable[[], None]
) -> tuple[str, int, Callable[[], None]]:
    """Start ``argv`` as a server on ``port``; return once ``ready_path`` answers (any
    HTTP status), with the function that stops it and then calls ``cleanup``."""
    import subprocess
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # it answers (an error status is an answer)
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        cleanup()
        raise RuntimeError(f"{Path(argv[0]).name} did not start")

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)
        cleanup()

    return "127.0.0.1", port, stop


def _s3rver_process() -> tuple[str, int, Callable[[], None]]:
    """``s3rver`` in a process of its own on a free port, its data in a temporary folder."""
    exe = s3rver_executable()
    if exe is None:
        raise FileNotFoundError(
            "s3rver is not installed (install it with `npm install --prefix "
            "benchmarks/_work/s3rver s3rver`, or set S3RVER to its executable)"
        )
    data = tempfile.mkdtemp(prefix="s3rver-")
    SERVER_FILES[:] = [Path(data)]
    port = _free_port()
    argv = [exe, "-d", data, "-a", "127.0.0.1", "-p", str(port), "--silent"]
    argv += ["--no-vhost-buckets", "--allow-mismatched-signatures"]

    def cleanup() -> None:
        SERVER_FILES.clear()
        shutil.rmtree(data, ignore_errors=True)

    return _serve(argv, port, "/", cleanup)


def _moto_process() -> tuple[str, int, Callable[[], None]]:
    """``moto_server`` in a process of its own on a free port, once it answers."""
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    argv = [str(exe), "-H", "127.0.0.1", "-p", str(port)]
    return _serve(argv, port, "/moto-api/", lambda: None)


def drop_from_page_cache(folders: list[Path]) -> None:
    """Flush every file under ``folders`` to disk and drop its pages from the page
    cache, so the next read of it goes to the disk (as on a machine that has not read
    it since it booted)."""
    for folder in folders:
        for path in folder.rglob("*") if folder.exists() else ():
            if not path.is_file():
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def forget_object_bytes(root: Path) -> None:
    """As on a machine that has not read the workspace at ``root``: its S3 read cache
    emptied, its local object files and the server's stored ones out of the page cache."""
    shutil.rmtree(root / ".assay" / "cache" / "objects", ignore_errors=True)
    drop_from_page_cache([root / ".assay" / "objects", *SERVER_FILES])


#: Run by :func:`read_in_new_process`: one version read by a new workspace client.
_CHILD = """
import sys, time
from assay.store.workspace import Workspace
start = time.perf_counter()
Workspace(sys.argv[1]).dataset(sys.argv[2]).to_arrow()
print(time.perf_counter() - start)
"""


def read_in_new_process(root: Path, ref: str) -> float:
    """Seconds a new Python process takes to read version ``ref`` (the read alone)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), ref], capture_output=True, text=True,
        check=True,
    )
    return float(done.stdout.strip())


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextmanager
def fetch_clock() -> Iterator[list[float]]:
    """While open, the seconds of each ``FsspecObjectStore.fetch`` (the download of an
    object, before its hash is checked) are appended to the list it yields."""
    from assay.store._fsspec_objects import FsspecObjectStore

    fetch = FsspecObjectStore.fetch
    seconds: list[float] = []

    def timed_fetch(self: FsspecObjectStore, digest: str, path: Any) -> None:
        seconds.append(timed(lambda: fetch(self, digest, path)))

    FsspecObjectStore.fetch = timed_fetch  # type: ignore[method-assign]
    try:
        yield seconds
    finally:
        FsspecObjectStore.fetch = fetch  # type: ignore[method-assign]


def measure(root: Path, objects_url: str | None, n: int, repeats: int) -> dict[str, float]:
    """Median import, cold-read (and its download) and warm-read seconds for one kind of
    workspace."""
    ws = Workspace.init(root, objects=objects_url)
    imports, cold, download, warm, delivery = [], [], [], [], []
    fresh_cold, fresh_warm = [], []
    for r in range(repeats):
        data = frame(n, seed=r)
        imports.append(timed(lambda d=data: ws.import_dataset("bench", d, label="y", id="id")))
        ref = f"bench@v{r + 1}"
        forget_object_bytes(root)  # a new machine: nothing cached
        fresh_cold.append(read_in_new_process(root, ref))
        fresh_warm.append(read_in_new_process(root, ref))
        forget_object_bytes(root)  # and again for this process
        objects._VERIFIED.clear()
        with fetch_clock() as fetched:
            cold.append(timed(lambda ref=ref: Workspace(root).dataset(ref).to_arrow()))
        download.append(sum(fetched))
        if objects_url is not None:
            delivery.append(curl_seconds(root, ref))
        objects._VERIFIED.clear()  # a new process on the same machine: cache kept
        warm.append(timed(lambda ref=ref: Workspace(root).dataset(ref).to_arrow()))
        print(
            f"{root.name} round {r + 1}: import {imports[-1]:.3f} cold {cold[-1]:.3f} "
            f"(download {download[-1]:.3f}) warm {warm[-1]:.3f}; new process: cold "
            f"{fresh_cold[-1]:.3f} warm {fresh_warm[-1]:.3f}"
            + (f" curl {delivery[-1]:.3f}" if delivery and delivery[-1] else ""),
            file=sys.stderr,
        )
    ws.close()
    result = {
        "import": statistics.median(imports),
        "cold read": statistics.median(cold),
        "warm read": statistics.median(warm),
        "cold read (new process)": statistics.median(fresh_cold),
        "warm read (new process)": statistics.median(fresh_warm),
    }
    if objects_url is not None:
        result["download"] = statistics.median(download)
        if all(seconds is not None for seconds in delivery):
            result["server delivery"] = statistics.median(delivery)
    return result


def curl_seconds(root: Path, ref: str) -> float | None:
    """Seconds for ``curl`` to fetch version ``ref``'s object into /dev/null (None
    without curl), through a presigned URL: the server's delivery alone."""
    import subprocess

    curl = shutil.which("curl")
    if curl is None:
        return None
    ws = Workspace(root)
    try:
        store = ws.objects
        url = store.fs.sign(store.key(ws.dataset(ref).object_hash))  # type: ignore[attr-defined]
    finally:
        ws.close()
    return timed(lambda: subprocess.run([curl, "-sf", "-o", os.devnull, url], check=True))


def per_server(
    servers: list[str], measure_one: Callable[[str], Any]
) -> dict[str, Any]:
    """``{server: measure_one(server)}`` with each server running on loopback in turn
    (a server that cannot be started is skipped, said)."""
    import s3fs

    found: dict[str, Any] = {}
    for server in servers:
        try:
            stop = start_s3(server)
        except FileNotFoundError as exc:
            print(f"{SERVER_NAMES[server]} skipped: {exc}.", file=sys.stderr)
            continue
        try:
            found[server] = measure_one(server)
        finally:
            stop()
            s3fs.S3FileSystem.clear_instance_cache()  # the next server has another endpoint
    return found


def measure_servers(
    servers: list[str], n: int, repeats: int, tmp: Path
) -> dict[str, dict[str, float]]:
    """``{server: medians}`` for each server that can be started."""
    return per_server(servers, lambda s: measure(tmp / s, "s3://bench/ws", n, repeats))


def read_path_rounds(root: Path, objects_url: str | None, n: int, repeats: int) -> dict[bool, float]:
    """``{memory_map: median cold-read seconds}``: rounds alternate between reading the
    object files memory-mapped and buffered; each round imports a new version first."""
    ws = Workspace.init(root, objects=objects_url)
    cache = root / ".assay" / "cache" / "objects"
    seconds: dict[bool, list[float]] = {True: [], False: []}
    try:
        for r in range(2 * repeats):
            ws.import_dataset("bench", frame(n, seed=r), label="y", id="id")
            objects.MEMORY_MAP = r % 2 == 0
            shutil.rmtree(cache, ignore_errors=True)
            objects._VERIFIED.clear()
            ref = f"bench@v{r + 1}"
            seconds[objects.MEMORY_MAP].append(
                timed(lambda ref=ref: Workspace(root).dataset(ref).to_arrow())
            )
    finally:
        objects.MEMORY_MAP = True
        ws.close()
    return {mapped: statistics.median(values) for mapped, values in seconds.items()}


def read_path_report(servers: list[str], n: int, repeats: int, tmp: Path) -> str:
    """The ``--read-path`` table: cold reads memory-mapped vs buffered, per store."""
    measured = {"local disk": read_path_rounds(tmp / "local", None, n, repeats)}
    found = per_server(
        servers, lambda s: read_path_rounds(tmp / s, "s3://bench/ws", n, repeats)
    )
    measured.update({f"S3 {SERVER_NAMES[s]}": m for s, m in found.items()})
    rows = [
        [store, f"{m[False]:.3f}", f"{m[True]:.3f}", f"{m[True] / m[False]:.2f}x"]
        for store, m in measured.items()
    ]
    header = ["store", "buffered read (s)", "memory-mapped (s)", "mapped / buffered"]
    return (
        f"{n:,} rows x 20 columns; cold reads (a new client, empty read cache), medians "
        f"of {repeats} rounds each way, the two ways alternating in one run and every "
        "round a new import first.\n\n" + markdown_table(header, rows)
    )


def table(local: dict[str, float], servers: dict[str, dict[str, float]]) -> str:
    """The results: each operation's seconds and ratio to local disk, per server."""
    limits = {
        "import": "<= 2.0x",
        "cold read": "<= 2.0x",
        "cold read vs page cache": "(stricter)",
        "download": "(part of cold read)",
        "warm read": "<= 1.2x",
        "cold read (new process)": "<= 2.0x",
        "warm read (new process)": "<= 1.2x",
        "server delivery": "(floor of the cold read)",
    }
    # what each row measures (its name, unless named here) and the local time it is a
    # ratio to; a row measured as another shows its anchor in the local column
    measured_as = {"cold read vs page cache": "cold read"}
    bases = {"cold read vs page cache": "warm read", "download": "cold read",
             "server delivery": "cold read"}
    header = ["operation", "local disk (s)"]
    for server in servers:
        header += [f"S3 {SERVER_NAMES[server]} (s)", "ratio"]
    rows = []
    for op, limit in limits.items():
        own = local.get(bases[op] if op in measured_as else op)
        row = [op, f"{own:.3f}" if own is not None else "-"]
        for medians in servers.values():
            measured = medians.get(measured_as.get(op, op))
            if measured is None:
                row += ["-", "-"]
                continue
            base = local[bases.get(op, op)]
            row += [f"{measured:.3f}", f"{measured / base:.2f}x"]
        rows.append([*row, limit])
    return markdown_table([*header, "target"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="target: 1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--server",
        choices=SERVERS,
        action="append",
        help="the S3 server on loopback (repeat for several; default: "
        "process, moto in its own process)",
    )
    parser.add_argument(
        "--read-path",
        action="store_true",
        help="compare memory-mapped and buffered reads of the object files instead",
    )
    args = parser.parse_args(argv)
    wanted = [s for s in SERVERS if s in (args.server or ["process"])]
    if args.read_path:
        with tempfile.TemporaryDirectory() as tmp:
            body = read_path_report(wanted, args.rows, args.repeats, Path(tmp))
        write_results("object_store_read_path", "Object files: memory-mapped vs buffered reads", body)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        local = measure(Path(tmp) / "local", None, args.rows, args.repeats)
        servers = measure_servers(wanted, args.rows, args.repeats, Path(tmp))
    if not servers:
        print("no S3 server could be started: nothing written.", file=sys.stderr)
        return 0
    body = (
        f"{args.rows:,} rows x 20 columns, medians of {args.repeats} (target size: "
        f"1,000,000 rows); S3 servers on loopback, each in its own process unless named "
        "(thread). A cold read starts with none of the object's bytes on this machine: "
        "the local file's pages dropped from the page cache, the S3 read cache empty; "
        "cold read vs page cache compares the S3 cold read with the local read of the "
        "file in the page cache (the warm read's); download is the cold read's fetch of "
        "the object (timed inside it), server delivery the same object fetched by curl "
        "into /dev/null (the server alone); both as ratios to the local-disk cold "
        "read.\n\n" + table(local, servers)
    )
    write_results("object_store", "Object store: S3 (loopback) vs local disk", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
