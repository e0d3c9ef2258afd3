"""Database engines: where the database is, and how SQLite is made safe for several writers.

SQLite (the default, `$PLAYGROUND_HOME/playground.db`) runs in WAL mode, so readers never block the
writer and the writer never blocks readers. Every write transaction starts with `BEGIN IMMEDIATE`:
it takes the write lock up front and waits for it (busy timeout 30 s) instead of failing half way
with "database is locked" when a read transaction tries to upgrade, which is what lets the UI and
the CLI (two processes) write the same file at once. `synchronous=NORMAL` is durable across a
crash or kill of the process; only a power cut may lose the last commits.

Any other SQLAlchemy URL is used as given (`postgresql://` is read as `postgresql+psycopg://`).
This module reads the environment only in `default_url`, which `Store.open` calls once. Every store
call runs in `translated`, which turns driver errors into one-line `StorageError`s; `pg_safe` keeps
PostgreSQL text columns from NUL characters.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from storage.errors import StorageError

BUSY_TIMEOUT_S = 30.0


def default_home() -> Path:
    return Path(os.environ.get("PLAYGROUND_HOME") or Path.home() / ".playground").expanduser()


def default_url(home: Path | None = None) -> str:
    """PLAYGROUND_DATABASE_URL if set, else the SQLite file in the home."""
    if home is None and os.environ.get("PLAYGROUND_DATABASE_URL"):
        return os.environ["PLAYGROUND_DATABASE_URL"]
    return sqlite_url(Path(home) if home is not None else default_home())


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{Path(home).expanduser().resolve() / 'playground.db'}"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, a busy timeout and immediate write transactions."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(f"not a database URL: {_redact(url)!r} (expected e.g. sqlite:///path/playground.db)") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError:
        raise StorageError(f"no SQLAlchemy dialect for {parsed.drivername!r}; check the database URL") from None
    except ImportError as exc:
        hint = " (pip install 'playground[postgres]')" if parsed.get_backend_name() == "postgresql" else ""
        raise StorageError(f"database driver missing for {parsed.drivername}: {exc}{hint}") from None


def _sqlite_engine(url) -> Engine:  # noqa: ANN001 - sqlalchemy URL
    if not url.database or url.database == ":memory:":
        raise StorageError("an in-memory SQLite database cannot be shared between connections; use a file")
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


@contextlib.contextmanager
def transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back (entirely) when it raises."""
    with engine.connect() as conn:
        conn.execution_options(write=write)
        with conn.begin():
            yield conn


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn database driver errors into one-line StorageErrors at the store's boundary."""
    try:
        yield
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        raise StorageError(f"could not {action}: {reason}") from exc
    except json.JSONDecodeError as exc:
        raise StorageError(f"could not {action}: a stored JSON field is corrupt ({exc})") from exc


def pg_safe(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL text cannot hold NUL characters; they become U+FFFD (same length, so timelines hold)."""
    if conn.dialect.name != "postgresql":
        return row
    return {k: v.replace("\x00", "\ufffd") if isinstance(v, str) and "\x00" in v else v for k, v in row.items()}


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]
