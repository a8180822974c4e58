"""Database engines and schema migrations.

SQLite (WAL) is the embedded default; PostgreSQL through psycopg 3 is the team option.
One URL switches. Alembic migrations are applied when a workspace is opened; a
database whose schema revision this assay does not know was written by a newer assay
and is refused rather than modified.
"""

from __future__ import annotations

import os
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

__all__ = ["connect", "database_error", "describe_url", "ensure_schema", "head_revision"]

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
        raise database_error(exc, url) from exc
    return engine


#: SQLite's words for a failure, and what it means for the workspace (``{db}``: the file).
_SQLITE_FAILURES = (
    (
        ("attempt to write a readonly database", "readonly database"),
        "the workspace database {db} is read-only ({reason}): the file or its folder "
        "cannot be written; make both writable (chmod u+w, or remount the file system "
        "read-write), or copy the workspace somewhere you can write",
    ),
    (
        ("unable to open database file",),
        "cannot open the workspace database {db} ({reason}): the file or its folder "
        "cannot be read or written (SQLite also creates {db}-wal and {db}-shm beside it); "
        "check that the folder exists and that you may write to it (chmod u+w)",
    ),
    (
        ("file is not a database", "database disk image is malformed"),
        "the workspace database {db} is damaged ({reason}); restore .assay/assay.db from "
        "a backup (it is not a SQLite database any more)",
    ),
    (
        ("database or disk is full",),
        "the disk holding the workspace database {db} is full ({reason}); nothing was "
        "written: free some space and run the command again",
    ),
    (
        ("database is locked",),
        "the workspace database {db} stayed locked by another process for 30 s "
        "({reason}); wait for it to finish and run the command again",
    ),
)
#: PostgreSQL error classes (SQLSTATE) that are not "the server cannot be reached".
_PG_FAILURES = {
    "53100": "the database server's disk is full ({reason}); nothing was written: free "
    "space on the server and run the command again",
    "25006": "the database at {db} is read-only ({reason}); connect to a writable server "
    "(not a standby), or ask its administrator",
    "42501": "the database user lacks a permission at {db} ({reason}); grant it (e.g. "
    "GRANT ALL ON SCHEMA) or use another user in the URL",
    "22003": "a number is out of range for the database ({reason}); use a smaller number",
}


def database_error(exc: DBAPIError, url: str) -> StoreError:
    """Name a database failure for what it is, with how to fix it.

    A read-only, damaged or full SQLite file, a locked database and PostgreSQL's
    disk-full, read-only and permission errors each get their own message; anything
    else is taken for a database that cannot be reached.
    """
    reason = _first_line(exc)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database or url
        lowered = reason.lower()
        if "unable to open" in lowered and _read_only(Path(db).parent):
            lowered = "readonly database"  # SQLite cannot create its -wal/-shm files there
        for needles, text in _SQLITE_FAILURES:
            if any(needle in lowered for needle in needles):
                return StoreError(text.format(db=db, reason=reason) + ".")
    else:
        known = _PG_FAILURES.get(sqlstate(exc))
        if known is not None:
            return StoreError(known.format(db=describe_url(url), reason=reason) + ".")
    return StoreError(
        f"cannot reach the database at {describe_url(url)}: {reason}. Check that the "
        "server is running and that the URL (host, port, database, user) is right."
    )


def _read_only(folder: Path) -> bool:
    """Whether ``folder`` exists and cannot be written (permissions or a read-only mount)."""
    try:
        mounted_ro = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
    return mounted_ro or not os.access(folder, os.W_OK)


def sqlstate(exc: DBAPIError) -> str:
    """The SQLSTATE of a PostgreSQL error ("" for SQLite and unknown drivers)."""
    return str(getattr(exc.orig, "sqlstate", None) or "")


def known_failure(exc: DBAPIError) -> bool:
    """Whether :func:`database_error` has a message of its own for ``exc``."""
    return sqlstate(exc) in _PG_FAILURES


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


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
    try:
        _migrate(engine, location)
    except (OperationalError, DBAPIError) as exc:
        raise database_error(exc, engine.url.render_as_string(hide_password=False)) from exc


def _migrate(engine: Engine, location: str) -> None:
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
