"""Dialect-specific INSERT for upserts (both SQLite and PostgreSQL support ON CONFLICT)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` construct with ``on_conflict_*`` methods for the session's backend."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def table(model: Any) -> Table:
    """The ``Table`` of a mapped class (for Core statements that skip the ORM)."""
    return cast(Table, model.__table__)


async def core(session: AsyncSession) -> AsyncConnection:
    """The session's connection (its transaction) for Core statements on the hot path.

    ``session.execute`` runs even a plain INSERT through the ORM's bulk machinery when it names
    a mapped class; on the connection it is compiled once (SQLAlchemy's statement cache) and
    sent, with row tuples back and no identity map.
    """
    return await session.connection()


def supports_row_locks(session: AsyncSession) -> bool:
    """PostgreSQL takes row locks; SQLite serialises writers with BEGIN IMMEDIATE instead."""
    return session.get_bind().dialect.name == "postgresql"


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE / INSERT ... ON CONFLICT (the concurrency guard's answer)."""
    return cast(CursorResult[Any], result).rowcount


async def plan_each_page(session: AsyncSession) -> None:
    """Make PostgreSQL plan this transaction's statements for their actual parameters.

    A keyset page over a time range (``paid_at`` in [start, end) AND id > :after ORDER BY id
    LIMIT n) is a prepared statement; after five runs PostgreSQL may switch to a generic plan
    that, not knowing the range covers the whole table, scans and sorts the entire range for
    every page (seen at 1,000,000 orders: 31 ms a page instead of 6). ``SET LOCAL`` lasts
    until the end of the transaction only.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
