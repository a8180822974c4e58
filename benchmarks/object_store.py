"""Object-store benchmark: import and read a version on S3 (moto, loopback) vs local disk.

Targets (issue 19), at 1M x 20 (``--rows 1000000``): import and a cold read on the
S3-compatible server within 2x the local-disk time; a warm read (object in the local
read cache) within 1.2x. The anchor is the same operation on a local-disk workspace,
measured in the same run. The S3 server is moto on loopback: by default in its own
process (``moto_server``), as a real endpoint is; ``--server thread`` runs it as a
``ThreadedMotoServer`` in this process, where it shares the client's CPU and GIL (an
upper bound, the mode of the earlier runs). Either way it shares the machine's cores.

* import: ``Workspace.import_dataset`` of a new version (a different seed each time,
  so every import writes a new object);
* cold read: a new workspace client with an empty read cache (S3: download, hash,
  read);
* warm read: the object already in the read cache, checked once in this process as a
  new process would (the local-disk anchor also hashes its file on the first read).
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
from collections.abc import Callable
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


def start_s3(mode: str) -> Callable[[], None]:
    """A moto S3 server on loopback (``mode``: "process" or "thread"), with AWS_*
    pointing at it and a bucket ``bench``; returns the function that stops it."""
    import fsspec

    if mode == "thread":
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        stop = server.stop
    else:
        host, port, stop = _moto_process()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
    )
    fsspec.filesystem("s3").mkdir("bench")
    return stop


def _moto_process() -> tuple[str, int, Callable[[], None]]:
    """``moto_server`` in a process of its own on a free port, once it answers."""
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("moto_server did not start")

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)

    return "127.0.0.1", port, stop


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(root: Path, objects_url: str | None, n: int, repeats: int) -> dict[str, float]:
    """Median import, cold-read and warm-read seconds for one kind of workspace."""
    ws = Workspace.init(root, objects=objects_url)
    cache = root / ".assay" / "cache" / "objects"
    imports, cold, warm = [], [], []
    for r in range(repeats):
        data = frame(n, seed=r)
        imports.append(timed(lambda d=data: ws.import_dataset("bench", d, label="y", id="id")))
        ref = f"bench@v{r + 1}"
        shutil.rmtree(cache, ignore_errors=True)  # a new machine: nothing cached
        objects._VERIFIED.clear()
        cold.append(timed(lambda ref=ref: Workspace(root).dataset(ref).to_arrow()))
        objects._VERIFIED.clear()  # a new process on the same machine: cache kept
        warm.append(timed(lambda ref=ref: Workspace(root).dataset(ref).to_arrow()))
    ws.close()
    return {
        "import": statistics.median(imports),
        "cold read": statistics.median(cold),
        "warm read": statistics.median(warm),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="target: 1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--server", choices=("process", "thread"), default="process",
                        help="moto in its own process (default) or in this one")
    args = parser.parse_args(argv)
    stop = start_s3(args.server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = measure(Path(tmp) / "local", None, args.rows, args.repeats)
            s3 = measure(Path(tmp) / "s3", "s3://bench/ws", args.rows, args.repeats)
    finally:
        stop()
    limits = {"import": 2.0, "cold read": 2.0, "warm read": 1.2}
    rows = [
        [op, f"{local[op]:.3f}", f"{s3[op]:.3f}", f"{s3[op] / local[op]:.2f}x", f"<= {lim}x"]
        for op, lim in limits.items()
    ]
    body = (
        f"{args.rows:,} rows x 20 columns, medians of {args.repeats} (target size: "
        f"1,000,000 rows); moto in {'its own process' if args.server == 'process' else 'this process (a thread)'}.\n\n"
        + markdown_table(["operation", "local disk (s)", "S3 moto (s)", "ratio", "target"], rows)
    )
    write_results("object_store", "Object store: S3 (moto, loopback) vs local disk", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
