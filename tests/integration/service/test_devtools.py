"""Testing an integration against the sandbox: one clock (``mppay clock advance`` moves the
emulator and the service), ``mppay listen``'s feed, and ``mppay events resend``; through the
real stack over HTTP, on SQLite and PostgreSQL. The CLI's blocking HTTP runs in a thread so
the servers on this loop keep answering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mppay.cli import app
from mppay.devtools_cli import Listener, render
from mppay.runner import Stack, bind, serving, start_stack
from mppay.settings import Settings
from tests.support.shop import Shop


@pytest.fixture
async def worker_shop(database_url: str, tmp_path: Path) -> AsyncIterator[Shop]:
    """The sandbox as `mppay serve --sandbox` runs it: with the in-process worker."""
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    running: Stack = await start_stack(
        settings,
        sandbox=True,
        service_socket=bind("127.0.0.1", 0),
        emulator_socket=bind("127.0.0.1", 0),
        run_worker=True,
        state_dir=tmp_path / "sandbox",
    )
    async with serving(running) as ready, httpx.AsyncClient(timeout=10) as http:
        yield Shop(ready, http)


async def _cli(*args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def test_clock_advance_expires_and_closes_an_unpaid_order(worker_shop: Shop) -> None:
    shop = worker_shop
    user = await shop.login()
    order = await shop.create_order(user)
    await shop.pay(user, order["id"])
    urls = ["--emulator-url", str(shop.emu), "--service-url", shop.api]
    before = (await shop.http.get(f"{shop.api}/admin/api/clock", headers=shop.admin)).json()
    # The order's TTL is 30 minutes; its expiry job runs 30 s after that.
    output = await _cli("clock", "advance", "31m", *urls)
    assert "advanced 1860 s" in output
    assert "emulator" in output
    assert "service" in output
    after = (await shop.http.get(f"{shop.api}/admin/api/clock", headers=shop.admin)).json()
    moved = datetime.fromisoformat(after["now"]) - datetime.fromisoformat(before["now"])
    assert moved >= timedelta(seconds=1860)
    closed = await shop.wait_for(user, order["id"], "CLOSED")
    assert closed["status"] == "CLOSED"
    timeline = [e["type"] for e in (await shop.dossier(order["id"]))["timeline"]]
    assert "order.expired" in timeline
    assert "order.closed" in timeline
    assert shop.stack.emulator is not None
    assert shop.stack.emulator.find_order(shop.mchid, order["out_trade_no"]).trade_state == "CLOSED"


async def test_listen_shows_the_notification_and_the_paid_event(shop: Shop) -> None:
    with httpx.Client(timeout=10) as http:
        listener = Listener(http, str(shop.emu), shop.api, str(shop.settings.admin_token))
        assert await asyncio.to_thread(listener.poll) == []  # starts from now
        user = await shop.login()
        order = await shop.paid_order(user)
        records = await asyncio.to_thread(listener.poll)
        # The emulator logs an attempt once the service has answered: poll as listen does.
        for _ in range(100):
            if any(r["feed"] == "notification" for r in records):
                break
            await asyncio.sleep(0.05)
            records += await asyncio.to_thread(listener.poll)
    notes = [r for r in records if r["feed"] == "notification"]
    assert [(n["event_type"], n["out_trade_no"], n["status_code"]) for n in notes] == [
        ("TRANSACTION.SUCCESS", order["out_trade_no"], 204)
    ]
    events = [(r["type"], r["order_id"]) for r in records if r["feed"] == "event"]
    assert ("order.paid", order["id"]) in events
    lines = [render(r) for r in records]
    assert any("TRANSACTION.SUCCESS" in line and "<-- 204" in line for line in lines)
    assert any("event order.paid" in line for line in lines)


async def test_resending_a_stored_notification_is_a_duplicate_and_changes_nothing(
    shop: Shop,
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    received = next(
        e
        for e in (await shop.dossier(order["id"]))["timeline"]
        if e["type"] == "notification.received"
    )
    notification_id = received["detail"]["notification_id"]
    before = await shop.dossier(order["id"])
    output = await _cli("events", "resend", notification_id, "--service-url", shop.api)
    assert f"notification {notification_id}" in output
    assert "duplicate" in output
    assert "event notification.duplicate" in output
    assert "order.paid" not in output
    after = await shop.dossier(order["id"])
    assert after["order"] == before["order"]
    added = [e["type"] for e in after["timeline"][len(before["timeline"]) :]]
    assert added == ["notification.duplicate"]
    missing = await shop.http.post(
        f"{shop.api}/admin/api/notifications/nope/resend", headers=shop.admin
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOTIFICATION_NOT_FOUND"
