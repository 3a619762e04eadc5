"""Dialect-specific INSERT for upserts (both SQLite and PostgreSQL support ON CONFLICT)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` construct with ``on_conflict_*`` methods for the session's backend."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def supports_row_locks(session: AsyncSession) -> bool:
    """PostgreSQL takes row locks; SQLite serialises writers with BEGIN IMMEDIATE instead."""
    return session.get_bind().dialect.name == "postgresql"


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE / INSERT ... ON CONFLICT (the concurrency guard's answer)."""
    return cast(CursorResult[Any], result).rowcount
