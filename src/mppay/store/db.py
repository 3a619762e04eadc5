"""Engines for SQLite (embedded default) and PostgreSQL (production), with the same behaviour.

SQLite: WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for writing units of work,
so two writers queue at the start of their transactions instead of failing half-way with
``database is locked`` after both have read. PostgreSQL: asyncpg, row locks where needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["READ_ONLY_OPTION", "async_url", "create_engine", "is_sqlite"]

READ_ONLY_OPTION = "mppay_read_only"


def async_url(url: str | URL) -> URL:
    """Normalise a database URL to its async driver: ``sqlite`` -> aiosqlite, ``postgresql`` -> asyncpg.

    >>> async_url("postgresql://u@h/db").drivername
    'postgresql+asyncpg'
    """
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` with the per-backend settings described above."""
    target = async_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if target.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
        if target.database and target.database != ":memory:":
            # A new deployment's data folder (e.g. var/) may not exist yet.
            Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(target, **kwargs)
    if target.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so "begin" below decides the mode.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
