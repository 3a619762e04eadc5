"""Apply Alembic migrations programmatically (``mppay migrate``, and at service start-up)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["alembic_config", "upgrade_to_head", "upgrade_to_head_async"]

MIGRATIONS = Path(__file__).with_name("migrations")
# Serialises concurrent start-ups of several processes on one PostgreSQL database.
_PG_MIGRATION_LOCK = 7_021_977


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (blocking; for the CLI)."""
    command.upgrade(alembic_config(url), "head")


async def upgrade_to_head_async(engine: AsyncEngine) -> None:
    """Upgrade over an existing async engine; on PostgreSQL under an advisory lock."""
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_MIGRATION_LOCK})")
        try:
            config = alembic_config(str(engine.url.render_as_string(hide_password=False)))

            def run(sync_connection: object) -> None:
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "head")

            await connection.run_sync(run)
            await connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                await connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_MIGRATION_LOCK})")
                await connection.commit()


def run_sync_upgrade(url: str) -> None:
    asyncio.run(_upgrade_url(url))


async def _upgrade_url(url: str) -> None:
    from .db import create_engine

    engine = create_engine(url)
    try:
        await upgrade_to_head_async(engine)
    finally:
        await engine.dispose()
