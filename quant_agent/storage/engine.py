"""Database engines: SQLite file by default, PostgreSQL by URL (psycopg 3).

SQLite gets foreign keys on, WAL journaling and a busy timeout; its parent folder is
created. A plain ``postgresql://`` URL is routed to the psycopg 3 driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from quant_agent.core.errors import ConfigError


def normalize_url(url: str | URL) -> URL:
    """Return ``url`` with the driver quant-agent uses for its backend."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in {"sqlite", "postgresql"}:
        raise ConfigError([f"database.url: unsupported backend {backend!r}"])
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def memory_engine() -> Engine:
    """A private in-memory SQLite database on one shared connection (a backtest's working
    store: no file I/O per step; ``copy_to_file`` writes it out at the end)."""
    from sqlalchemy.pool import StaticPool

    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})  # fmt: skip
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def copy_to_file(engine: Engine, path: Path) -> Path:
    """Copy a SQLite database to ``path`` with SQLite's online backup API."""
    import sqlite3

    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        raw.close()
    return path


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """Create an engine for ``url``; create the SQLite file's folder if needed."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
        if database and database != ":memory:":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(parsed, echo=echo, pool_pre_ping=True)
