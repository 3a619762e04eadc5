"""Use-case tests over a real SQLite database (migrated with Alembic) and in-memory ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from mppay.adapters.catalog_file import load_demo_catalog
from mppay.store.db import create_engine
from mppay.store.migrate import upgrade_to_head_async
from mppay.store.models import UserRow
from mppay.store.uow import UnitOfWorkFactory
from mppay.usecases.context import ServiceContext
from tests.support.fakes import FakeGateway, FakeLogin, MutableClock


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def gateway(clock: MutableClock) -> FakeGateway:
    return FakeGateway(clock)


@pytest.fixture
def fake_login() -> FakeLogin:
    return FakeLogin()


@pytest.fixture
async def ctx(
    tmp_path: Path, clock: MutableClock, gateway: FakeGateway, fake_login: FakeLogin
) -> AsyncIterator[ServiceContext]:
    engine = create_engine(f"sqlite:///{tmp_path / 'service.sqlite3'}")
    await upgrade_to_head_async(engine)
    yield ServiceContext(
        uow=UnitOfWorkFactory(engine),
        gateways={"v3": gateway},
        active_version="v3",
        login=fake_login,
        catalog=load_demo_catalog(),
        clock=clock,
        notify_base_url="https://shop.example.com",
        order_ttl=timedelta(minutes=30),
    )
    await engine.dispose()


async def make_user(ctx: ServiceContext, openid: str = "o-alice") -> UserRow:
    async with ctx.uow() as uow:
        user = await uow.users.upsert_by_openid(openid, None, ctx.clock.now())
        await uow.commit()
    return user
