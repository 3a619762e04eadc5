"""The database: reachable, and at the newest migration. Read-only: it never migrates.

A SQLite file that does not exist is reported, not created (the service's engine would create
an empty one). PostgreSQL gets a short connect timeout so a firewalled host fails fast.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from mppay.store.db import async_url
from mppay.store.migrate import alembic_config

from .result import CheckResult, failed, passed

__all__ = ["check_database"]

_NAME, _TITLE = "database", "database reachable and migrated (MPPAY_DATABASE_URL)"
_CONNECT_TIMEOUT_SECONDS = 5.0
_MIGRATE_FIX = "run `mppay migrate` (with the same MPPAY_DATABASE_URL) before `mppay serve`"


async def check_database(url: str) -> CheckResult:
    try:
        target = async_url(url)
    except (ArgumentError, ValueError) as exc:
        return failed(_NAME, _TITLE, f"not a database URL: {exc}", _url_fix())
    shown = target.set(drivername=target.get_backend_name()).render_as_string(hide_password=True)
    connect_args: dict[str, Any] = {}
    if target.get_backend_name() == "sqlite":
        database = target.database or ""
        if database in ("", ":memory:"):
            return failed(_NAME, _TITLE, f"{shown} is not a file", _url_fix())
        if not _is_file(database):
            return failed(_NAME, _TITLE, f"{shown}: the file does not exist", _MIGRATE_FIX)
    else:
        connect_args["timeout"] = _CONNECT_TIMEOUT_SECONDS
    engine = create_async_engine(target, poolclass=NullPool, connect_args=connect_args)
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT_SECONDS * 2):
            async with engine.connect() as connection:
                current = await connection.run_sync(_current_heads)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return failed(
            _NAME,
            _TITLE,
            f"cannot connect to {shown}: {_reason(exc)}",
            "check MPPAY_DATABASE_URL (host, port, user, password, database) and that the "
            "database server is running and reachable from here",
        )
    finally:
        await engine.dispose()
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    if current == heads:
        return passed(_NAME, _TITLE, f"{shown} at {', '.join(sorted(heads))} (the newest)")
    found = ", ".join(sorted(current)) or "no schema"
    return failed(
        _NAME,
        _TITLE,
        f"{shown} is at {found}; the newest migration is {', '.join(sorted(heads))}",
        _MIGRATE_FIX,
    )


def _is_file(path: str) -> bool:
    return Path(path).expanduser().is_file()  # one stat: not worth a thread


def _current_heads(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {_CONNECT_TIMEOUT_SECONDS * 2:g} s"
    original = getattr(exc, "orig", None) or exc
    text = " ".join(str(original).split())[:200]
    return f"{type(original).__name__}: {text}" if text else type(original).__name__


def _url_fix() -> str:
    return (
        "set MPPAY_DATABASE_URL to sqlite:///path/to/mppay.sqlite3 or "
        "postgresql://user:password@host/database"
    )
