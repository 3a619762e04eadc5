"""Alembic's ``upgrade head`` on an empty database gives exactly the models' schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mppay.store.db import create_engine
from mppay.store.migrate import upgrade_to_head_async
from mppay.store.models import Base
from tests.support.databases import PostgresFactory


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    factory: PostgresFactory = request.getfixturevalue("postgres_empty")
    return await factory.new_empty_database()


async def test_upgrade_head_on_an_empty_database_matches_the_models(empty_database: str) -> None:
    engine = create_engine(empty_database)
    try:
        await upgrade_to_head_async(engine)
        async with engine.connect() as connection:

            def diff(sync_connection: Any) -> list[Any]:
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return list(compare_metadata(context, Base.metadata))

            differences = await connection.run_sync(diff)
        assert differences == []
    finally:
        await engine.dispose()
