"""The hot path's statements on the database driver itself, inside the session's transaction.

A Core statement run through ``AsyncConnection.execute`` crosses SQLAlchemy's async layers
each time (a greenlet switch, the execution context, the DBAPI adapter, result objects):
measured at about half of the service's CPU per order. Here a statement is compiled once per
dialect (its SQL text, the positional order of its parameters, the type processors of its
parameters and result columns, exactly those SQLAlchemy would apply) and then sent straight
to the driver connection that the session's transaction already holds: asyncpg (prepared
statements, cached by asyncpg) or aiosqlite (one thread hop per statement, rows fetched in
the same hop).

Same transaction, same connection: a repository can mix these with ORM statements, and the
unit of work's commit/rollback ends both. Errors are the driver's own exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Driver", "Statement", "driver"]

_Processor = Callable[[Any], Any]
_INFO_KEY = "mppay_driver"
_AFFECTED = re.compile(r"(?:UPDATE|DELETE|INSERT \d+|SELECT) (\d+)")


class _Compiled:
    """One statement compiled for one dialect."""

    __slots__ = ("binds", "defaults", "names", "results", "sql")

    def __init__(self, element: ClauseElement, dialect: Dialect, keys: Sequence[str] | None):
        compiled = cast(
            SQLCompiler,
            element.compile(dialect=dialect, column_keys=list(keys) if keys else None),
        )
        positions = compiled.positiontup
        assert positions is not None, "both drivers take positional parameters"
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(positions)
        # Literals written into the statement (status == 'PENDING') are bound parameters with
        # a value: sent as-is unless the caller names them.
        self.defaults = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        self.binds: tuple[_Processor | None, ...] = tuple(
            compiled.binds[name].type._cached_bind_processor(dialect) for name in self.names
        )
        self.results: tuple[_Processor | None, ...] = tuple(
            column[3]._cached_result_processor(dialect, None) for column in compiled._result_columns
        )

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, process in zip(self.names, self.binds, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(value if process is None or value is None else process(value))
        return tuple(values)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


class Statement:
    """A Core statement for the driver; compiled on first use per dialect.

    ``keys``: for an INSERT without ``values()``, the columns it writes (every execution
    passes exactly these).
    """

    __slots__ = ("_compiled", "_element", "_keys")

    def __init__(self, element: ClauseElement, keys: Sequence[str] | None = None) -> None:
        self._element = element
        self._keys = tuple(keys) if keys else None
        self._compiled: dict[type[Dialect], _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(type(dialect))
        if found is None:
            found = self._compiled[type(dialect)] = _Compiled(self._element, dialect, self._keys)
        return found


class Driver:
    """The session's transaction, seen at the driver. Get one with ``await driver(session)``."""

    def __init__(self, dialect: Dialect, connection: Any) -> None:
        self._dialect = dialect
        self._connection = connection
        self._postgres = dialect.name == "postgresql"

    @property
    def is_postgres(self) -> bool:
        return self._postgres

    async def fetch(self, statement: Statement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        compiled = statement.compiled(self._dialect)
        args = compiled.args(params)
        if self._postgres:
            rows: Iterable[Sequence[Any]] = await self._connection.fetch(compiled.sql, *args)
        else:
            rows = await self._connection.execute_fetchall(compiled.sql, args)
        return [compiled.row(row) for row in rows]

    async def first(
        self, statement: Statement, params: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        rows = await self.fetch(statement, params)
        return rows[0] if rows else None

    async def scalar(self, statement: Statement, params: Mapping[str, Any]) -> Any:
        row = await self.first(statement, params)
        return None if row is None else row[0]

    async def execute(self, statement: Statement, params: Mapping[str, Any]) -> int:
        """Run a statement without rows; the number of rows it changed."""
        compiled = statement.compiled(self._dialect)
        args = compiled.args(params)
        if self._postgres:
            status: str = await self._connection.execute(compiled.sql, *args)
            matched = _AFFECTED.match(status)
            return int(matched.group(1)) if matched else -1
        cursor = await self._connection.execute(compiled.sql, args)
        return int(cursor.rowcount)

    async def execute_many(self, statement: Statement, params: Sequence[Mapping[str, Any]]) -> None:
        compiled = statement.compiled(self._dialect)
        # asyncpg and aiosqlite both name it executemany(sql, rows).
        await self._connection.executemany(compiled.sql, [compiled.args(one) for one in params])


async def driver(session: AsyncSession) -> Driver:
    """The driver connection of the session's transaction, beginning it if needed.

    Remembered in ``session.info`` until the unit of work commits or rolls back (``forget``),
    since after that the session may hold another pooled connection.
    """
    if session.new or session.dirty or session.deleted:
        # What the session's autoflush would have done before an ORM statement.
        await session.flush()
    found = session.info.get(_INFO_KEY)
    if found is not None:
        return cast(Driver, found)
    connection = await session.connection()  # begins: SQLite's BEGIN IMMEDIATE runs here
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    dialect = connection.dialect
    if dialect.name == "postgresql" and adapted._transaction is None:
        # SQLAlchemy's asyncpg adapter opens the driver's transaction lazily, at its first
        # statement; ours go around the adapter, so open it the way that statement would.
        # The session's commit/rollback then end it as usual.
        await adapted._start_transaction()
    found = Driver(dialect, adapted._connection)
    session.info[_INFO_KEY] = found
    return found


def forget(session: AsyncSession) -> None:
    """Drop the remembered driver connection (the transaction ended)."""
    session.info.pop(_INFO_KEY, None)
