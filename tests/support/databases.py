"""Throw-away databases for integration tests: a SQLite file, or a PostgreSQL database cloned
from a migrated template (``MPPAY_TEST_DATABASE_URL`` names the server; CI sets it)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import asyncpg
from sqlalchemy.engine import make_url

from mppay.store.migrate import run_sync_upgrade

__all__ = ["PostgresFactory", "postgres_server_url"]


def postgres_server_url() -> str | None:
    return os.environ.get("MPPAY_TEST_DATABASE_URL") or None


def _blocking(fn: Callable[[], object]) -> None:
    """Run ``fn`` (which may call ``asyncio.run``) on its own thread: callers may be inside a loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(fn).result()


def _dsn(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


class PostgresFactory:
    """Creates databases named ``mppay_it_<run>_<n>`` from one migrated template; drops all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.prefix = f"mppay_it_{os.getpid()}_{secrets.token_hex(2)}"
        self.template = f"{self.prefix}_template"
        self.created: list[str] = []

    async def _admin(self, *statements: str) -> None:
        connection = await asyncpg.connect(_dsn(self.server_url, "postgres"))
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    def prepare(self) -> None:
        _blocking(lambda: asyncio.run(self._admin(f'CREATE DATABASE "{self.template}"')))
        _blocking(lambda: run_sync_upgrade(_dsn(self.server_url, self.template)))

    async def new_database(self) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        self.created.append(name)
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return _dsn(self.server_url, name)

    async def new_empty_database(self) -> str:
        """A database with no schema at all (for migration tests)."""
        name = f"{self.prefix}_{len(self.created)}"
        self.created.append(name)
        await self._admin(f'CREATE DATABASE "{name}"')
        return _dsn(self.server_url, name)

    def drop_all(self) -> None:
        statements = [
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            for name in [*self.created, self.template]
        ]
        _blocking(lambda: asyncio.run(self._admin(*statements)))
