"""Fixtures shared by the whole suite: real workspaces on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
PG_URL = os.environ.get("ASSAY_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True, scope="session")
def _one_thread_per_worker() -> Iterator[None]:
    """pytest-xdist runs one worker per core; BLAS threads on top oversubscribe them
    (logistic-regression fits ran 80-250x slower on a loaded 2-core machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A 2-worker Dask LocalCluster (threads, one per worker) for one test module;
    yields its scheduler address (skips without distributed)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets beside the repository (skip when absent)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (see ../shared/data/README.md)")
    return SHARED_DATA


def _pg_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    assert PG_URL is not None
    engine = create_engine(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as exc:
        engine.dispose()
        if IN_CI:
            raise AssertionError(f"PostgreSQL at {PG_URL} cannot be reached in CI: {exc}") from exc
        pytest.skip(f"PostgreSQL at {PG_URL} cannot be reached: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _backend_url(backend: str) -> Iterator[str | None]:
    """``None`` for embedded SQLite, else a PostgreSQL URL with a private schema."""
    if backend == "sqlite":
        yield None
        return
    if PG_URL is None:
        if IN_CI:
            raise AssertionError("CI must set ASSAY_TEST_DATABASE_URL to test PostgreSQL")
        pytest.skip("ASSAY_TEST_DATABASE_URL is not set")
    yield from _pg_schema_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """``None`` for embedded SQLite, else a PostgreSQL URL with a private schema."""
    yield from _backend_url(request.param)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """As ``db_url``, but one per module and backend (for an expensive shared setup)."""
    yield from _backend_url(request.param)


@pytest.fixture
def workspace(tmp_path: Path, db_url: str | None) -> Iterator[Workspace]:
    """A new, empty workspace on each database backend."""
    ws = Workspace.init(tmp_path / "ws", db=db_url)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A new, empty workspace on embedded SQLite only."""
    ws = Workspace.init(tmp_path / "ws")
    try:
        yield ws
    finally:
        ws.close()
