"""``/metrics``: behind ``MPPAY_METRICS_TOKEN`` when it is set, and no full-table GROUP BY per
scrape (the order gauges are cached for ``MPPAY_METRICS_CACHE_SECONDS``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from mppay.runner import Stack, bind, serving, start_stack
from mppay.settings import Settings
from tests.support.shop import Shop

METRICS_TOKEN = "c3f1a9e07b5d48e2a6f0d9b1c47e8a25"


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=database_url, metrics_token=METRICS_TOKEN
    )
    running = await start_stack(
        settings,
        sandbox=True,
        service_socket=bind("127.0.0.1", 0),
        emulator_socket=bind("127.0.0.1", 0),
        run_worker=False,
        state_dir=tmp_path / "sandbox",
    )
    async with serving(running) as ready:
        yield ready


async def test_metrics_need_the_metrics_token_when_one_is_configured(shop: Shop) -> None:
    url = f"{shop.api}/metrics"
    for headers in ({}, {"Authorization": "Bearer wrong"}, shop.admin):
        refused = await shop.http.get(url, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "UNAUTHENTICATED"
        assert refused.json()["request_id"]
        assert "mppay_orders" not in refused.text
    allowed = await shop.http.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert allowed.status_code == 200
    assert 'mppay_orders{status="PENDING"}' in allowed.text


async def test_scrapes_share_one_count_of_orders_until_it_goes_stale(shop: Shop) -> None:
    grouped: list[str] = []

    def count_group_bys(*args: Any) -> None:
        statement = str(args[2])
        # The count of orders (the shipment gauges ride on the same cached refresh).
        if "GROUP BY" in statement.upper() and "FROM orders" in statement:
            grouped.append(statement)

    engine = shop.stack.service.ctx.uow.engine.sync_engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count_group_bys)
    try:
        user = await shop.login()
        await shop.create_order(user)
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        scrapes = [await shop.http.get(f"{shop.api}/metrics", headers=headers) for _ in range(4)]
    finally:
        event.remove(engine, "before_cursor_execute", count_group_bys)
    assert [scrape.status_code for scrape in scrapes] == [200] * 4
    assert all('mppay_orders{status="PENDING"} 1.0' in scrape.text for scrape in scrapes)
    assert len(grouped) == 1, grouped


async def test_without_a_metrics_token_metrics_stay_open(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}")  # type: ignore[call-arg]
    running = await start_stack(
        settings,
        sandbox=True,
        service_socket=bind("127.0.0.1", 0),
        emulator_socket=bind("127.0.0.1", 0),
        run_worker=False,
        state_dir=tmp_path / "sandbox",
    )
    async with serving(running) as ready, httpx.AsyncClient() as http:
        assert (await http.get(f"{ready.service_url}/metrics")).status_code == 200
