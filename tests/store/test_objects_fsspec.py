"""Objects on an fsspec URL: a real S3-compatible server (moto, loopback) and file://.

The server runs in this process (``ThreadedMotoServer``) and is reached over HTTP
like any S3 endpoint, by this process and by the worker processes of the two-client
test; credentials come from the environment only (AWS_*), as for a real bucket.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from assay.cli.main import main
from assay.exceptions import InputError, NotFoundError, StoreError
from assay.store._fsspec_objects import FsspecObjectStore
from assay.store.workspace import Workspace

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file
from _concurrency import WORKER, setup_workspace  # noqa: E402
from _concurrency_checks import check_decisions, check_linear, check_nothing_lost  # noqa: E402


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback; AWS_* in the environment point at it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env["AWS_ENDPOINT_URL"]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A new, empty bucket (as a team's admin would create it)."""
    import fsspec

    name = f"b{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3", skip_instance_cache=True).mkdir(name)
    return name


def _s3() -> Any:
    import fsspec

    return fsspec.filesystem("s3", use_listings_cache=False)


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 3, size=n)})


def test_init_and_import_put_objects_in_the_bucket(
    tmp_path: Path, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{bucket}/team"
    assert main(["init", str(tmp_path / "ws"), "--objects", url]) == 0
    config = json.loads((tmp_path / "ws" / ".assay" / "config.json").read_text())
    assert config["objects"] == url and "testing" not in json.dumps(config)
    source = tmp_path / "d.csv"
    _frame().to_csv(source, index=False)
    assert main(["import", "d", str(source), "--label", "y", "-w", str(tmp_path / "ws")]) == 0
    ws = Workspace(tmp_path / "ws")
    digest = ws.dataset("d@v1").object_hash
    assert _s3().find(f"{bucket}/team") == [f"{bucket}/team/{digest[:2]}/{digest}.parquet"]
    assert not list((tmp_path / "ws" / ".assay").glob("objects/??/*.parquet"))
    pd.testing.assert_frame_equal(
        ws.dataset("d@v1").to_pandas()[["x", "y"]], _frame(), check_dtype=False
    )
    assert ws.objects.digests() == [digest]
    capsys.readouterr()


def test_a_missing_bucket_leaves_no_folder_and_says_so(
    tmp_path: Path, s3_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["init", str(tmp_path / "ws"), "--objects", "s3://no-such-bucket-x/p"])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot write objects to s3://no-such-bucket-x/p" in err
    assert "bucket does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "ws").exists()


def test_credentials_in_the_url_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="carries credentials; remove them"):
        Workspace.init(tmp_path / "ws", objects="s3://KEY:SECRET@bucket/p")
    assert not (tmp_path / "ws").exists()


def test_file_urls_work_through_fsspec(tmp_path: Path) -> None:
    url = (tmp_path / "shared").as_uri()
    ws = Workspace.init(tmp_path / "ws", objects=url)
    v = ws.import_dataset("d", _frame(), label="y")
    assert (tmp_path / "shared" / v.object_hash[:2] / f"{v.object_hash}.parquet").exists()
    other = Workspace.init(tmp_path / "ws2", objects=url)  # another client, same objects
    assert other.objects.exists(v.object_hash)


def _store(bucket: str, tmp_path: Path, **kw: Any) -> FsspecObjectStore:
    return FsspecObjectStore(f"s3://{bucket}/objs", cache_dir=tmp_path / "cache", **kw)


def test_reads_are_verified_and_a_damaged_object_is_reported(tmp_path: Path, bucket: str) -> None:
    import pyarrow as pa

    store = _store(bucket, tmp_path)
    digest = store.put_table(pa.Table.from_pandas(_frame()))
    key = store.key(digest)
    data = bytearray(_s3().cat_file(key))
    data[len(data) // 3] ^= 0xFF
    _s3().pipe_file(key, bytes(data))
    fresh = _store(bucket, tmp_path / "other")  # an empty cache: must download
    with pytest.raises(StoreError, match=f"object {digest} of d@v1 does not match its hash"):
        fresh.get_table(digest, what="d@v1")
    _s3().rm(key)
    with pytest.raises(NotFoundError, match=f"is missing from s3://{bucket}/objs"):
        fresh.get_table(digest)
    cached = store.cache.path(digest)  # the writer's own cached copy: damage is seen
    cached.write_bytes(b"x" + cached.read_bytes()[1:])
    with pytest.raises(NotFoundError):  # re-fetched (the cached copy was bad): gone
        _store(bucket, tmp_path).get_table(digest)


def test_the_read_cache_serves_warm_reads_and_stays_bounded(tmp_path: Path, bucket: str) -> None:
    import pyarrow as pa

    writer = _store(bucket, tmp_path / "w")
    digests = [writer.put_table(pa.Table.from_pandas(_frame(5000, seed=s))) for s in range(3)]
    size = max(writer.cache.path(d).stat().st_size for d in digests)
    reader = _store(bucket, tmp_path / "r", cache_bytes=int(size * 2.5))
    for d in digests:
        assert reader.get_table(d).num_rows == 5000
    cached = {p.stem for p in (tmp_path / "r" / "cache").glob("??/*.parquet")}
    assert cached == set(digests[1:])  # bounded: the least recently read went first
    _s3().rm(writer.key(digests[2]))  # a warm read never goes to the network
    assert reader.get_table(digests[2]).num_rows == 5000
    assert reader.get_table(digests[0]).num_rows == 5000  # evicted: fetched again
    later = _store(bucket, tmp_path / "r")  # a new client on the same machine
    assert later.get_table(digests[2]).num_rows == 5000
    opened = {"fs", "_opened"} & set(vars(later))
    assert not opened  # served by the cache: the bucket never opened (nor s3fs imported)


def test_an_unknown_or_missing_backend_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Protocol not known: nosuch; install the fsspec"):
        Workspace.init(tmp_path / "ws", objects="nosuch://bucket/p")
    assert not (tmp_path / "ws").exists()


def test_gc_keeps_young_leased_and_referenced_objects(tmp_path: Path, bucket: str) -> None:
    import pyarrow as pa

    ws = Workspace.init(tmp_path / "ws", objects=f"s3://{bucket}/ws")
    kept = ws.import_dataset("d", _frame(), label="y").object_hash
    orphan = ws.objects.put_table(pa.Table.from_pandas(_frame(seed=5)))  # lease kept
    assert ws.gc(grace_s=0) == []  # the lease protects it
    ws.objects.leases.purge()  # type: ignore[union-attr]
    from sqlalchemy import delete

    from assay.store import models as m

    with ws.session() as s:
        s.execute(delete(m.ObjectLease))
    assert ws.gc() == []  # younger than the grace period
    assert ws.gc(grace_s=0) == [orphan]
    assert ws.objects.digests() == [kept]
    assert not _s3().find(f"{bucket}/ws/tmp")  # no aside copy left
    assert ws.dataset("d@v1").to_arrow().num_rows == 400


def test_gc_restores_what_a_killed_gc_left_aside(
    tmp_path: Path, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.init(tmp_path / "ws", objects=f"s3://{bucket}/ws")
    digest = ws.import_dataset("d", _frame(), label="y").object_hash
    key = ws.objects.key(digest)  # type: ignore[attr-defined]
    aside = f"{bucket}/ws/tmp/.gc-otherhost:123:gc-{digest}.parquet"
    _s3().mv(key, aside)  # as a gc on another machine would, before it died
    ws.objects.cache.drop([digest])  # type: ignore[attr-defined]
    with pytest.raises(NotFoundError):
        ws.dataset("d@v1").to_arrow()
    assert ws.gc(grace_s=0) == []  # another host's gc: only restored after the TTL
    monkeypatch.setattr("assay.store._fsspec_objects.LEASE_TTL_S", -1.0)  # it expired
    assert ws.gc(grace_s=0) == []
    assert ws.dataset("d@v1").to_arrow().num_rows == 400


# ---------------------------------------------------------------- two clients
ROLES_A = ("commit", "review", "apply", "gc")
ROLES_B = ("commit", "review", "apply", "ingest")


def _start(root: Path, role: str, wid: int, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, str(root), role, str(wid), str(1000 + wid), str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ASSAY_USER": f"w{wid}"},
    )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_clients_share_one_bucket_and_one_database(
    tmp_path: Path, bucket: str, db_url: str
) -> None:
    """Two folders (two machines) on one PostgreSQL and one bucket, writing at once."""
    url = f"s3://{bucket}/team"
    a, b = tmp_path / "alice", tmp_path / "bob"
    Workspace.init(a, db=db_url, objects=url).close()
    setup_workspace(a, db_url, seed=3)  # d with review entries, c, monitor m
    Workspace.init(b, db=db_url, objects=url).close()
    procs = [_start(a, role, i, 4) for i, role in enumerate(ROLES_A)]
    procs += [_start(b, role, 10 + i, 4) for i, role in enumerate(ROLES_B)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "READY" in out
    acks = [
        line.split()[1:] for out, _ in outs for line in out.splitlines() if line.startswith("ACK ")
    ]
    with Workspace(b) as ws:
        versions = {v.number: v.object_hash for v in ws.log("d")}
        for words in acks:
            if words[:2] == ["commit", "d"]:
                assert versions[int(words[2])] == words[3], words
            if words[:2] == ["apply", "d"]:
                assert int(words[2]) in versions, words
        assert sum(w[0] in ("commit", "apply", "ingest") for w in acks if w) >= 6
        assert check_linear(ws) == [] and check_nothing_lost(ws) == []
        assert check_decisions(ws) == []
    with Workspace(a) as ws:  # alice's machine reads what bob wrote, verified
        ws.objects.cache.drop(versions.values())  # type: ignore[attr-defined]
        for number in versions:
            assert ws.dataset(f"d@v{number}").to_arrow().num_rows > 0
        assert set(versions.values()) <= set(ws.objects.digests())
