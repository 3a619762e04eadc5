"""The real stack for integration tests: the service and the WeChat Pay emulator, each on its
own loopback port, talking real HTTP (prepay, queries, notifications), on SQLite and on
PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mppay.runner import Stack, bind, serving, start_stack
from mppay.settings import Settings
from tests.support.databases import PostgresFactory
from tests.support.shop import Shop


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mppay.sqlite3'}"
    factory: PostgresFactory = request.getfixturevalue("postgres")
    return await factory.new_database()


@pytest.fixture
def api_version() -> str:
    return "v3"


@pytest.fixture
async def stack(database_url: str, api_version: str, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = Settings(_env_file=None, database_url=database_url, api_version=api_version)  # type: ignore[call-arg]
    running = await start_stack(
        settings,
        sandbox=True,
        service_socket=bind("127.0.0.1", 0),
        emulator_socket=bind("127.0.0.1", 0),
        run_worker=False,
        state_dir=tmp_path / "sandbox",
        emulator_options={"refund_delay_seconds": 0.3},
    )
    async with serving(running) as ready:
        yield ready


@pytest.fixture
async def shop(stack: Stack) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield Shop(stack, http)
