"""Database engines and schema migrations.

SQLite (WAL) is the embedded default; PostgreSQL through psycopg 3 is the team option.
One URL switches. Alembic migrations are applied when a workspace is opened; a
database whose schema revision this assay does not know was written by a newer assay
and is refused rather than modified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from assay.exceptions import StoreError

__all__ = ["connect", "describe_url", "ensure_schema", "head_revision"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (``_sqlite_begin``), not the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Start write transactions with ``BEGIN IMMEDIATE``.

    A deferred transaction that reads, then writes after another writer committed,
    fails at once with "database is locked" (the busy timeout does not apply to it);
    an immediate one takes the write lock first and waits its turn. Sessions opened
    with the execution option ``assay_readonly`` stay deferred, so readers never wait.
    """
    readonly = conn.get_execution_options().get("assay_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def connect(url: str) -> Engine:
    """Create an engine for ``url`` and check that the database answers.

    Raises
    ------
    StoreError
        When the URL is malformed, its driver is missing, or the server cannot be
        reached; the message says which and how to fix it.
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"the database URL {describe_url(url)!r} is not usable ({exc}); write it as "
            "sqlite:///path/to/assay.db or postgresql+psycopg://user@host:5432/dbname."
        ) from exc
    try:
        with engine.connect():
            pass
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(
            f"cannot reach the database at {describe_url(url)}: {reason}. Check that the "
            "server is running and that the URL (host, port, database, user) is right."
        ) from exc
    return engine


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest schema revision this assay knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def ensure_schema(engine: Engine, location: str) -> None:
    """Apply pending migrations; refuse a schema written by a newer assay.

    Parameters
    ----------
    engine : Engine
        The workspace's database.
    location : str
        Where the workspace is, for the message.
    """
    cfg = _alembic_config()
    script = ScriptDirectory.from_config(cfg)
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == script.get_current_head():
        return
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise StoreError(
            f"the workspace at {location} was written by a newer assay (schema revision "
            f"{current!r} is unknown to this one); upgrade assay: pip install -U assay."
        )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
