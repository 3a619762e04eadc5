"""Limits a hostile or looping client runs into, through real HTTP (issue 11, item 6).

Login has its own connection pool to WeChat, so slow logins cannot hold up payments; logins
are rate-limited per client address; a user's open PENDING orders are capped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from mppay.runner import Stack, bind, serving, start_stack
from mppay.settings import Settings
from tests.support.shop import Shop

# More than the shared pool of 200 connections a login could once take from payments.
FLOOD = 210


@asynccontextmanager
async def shop_with(tmp_path: Path, database_url: str, **settings: Any) -> AsyncIterator[Shop]:
    configured = Settings(_env_file=None, database_url=database_url, **settings)  # type: ignore[call-arg]
    stack: Stack = await start_stack(
        configured,
        sandbox=True,
        service_socket=bind("127.0.0.1", 0),
        emulator_socket=bind("127.0.0.1", 0),
        run_worker=False,
        state_dir=tmp_path / "sandbox",
    )
    async with serving(stack) as ready, httpx.AsyncClient(timeout=30) as http:
        yield Shop(ready, http)


async def login_codes(shop: Shop, count: int) -> list[str]:
    async def one() -> str:
        body = {"appid": str(shop.settings.appid), "openid": f"oFLOOD{uuid.uuid4().hex[:22]}"}
        return str((await shop.http.post(f"{shop.emu}/sandbox/login", json=body)).json()["code"])

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def until(condition: Any, what: str) -> None:
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_a_flood_of_slow_logins_does_not_hold_up_a_payment(
    tmp_path: Path, database_url: str
) -> None:
    async with shop_with(
        tmp_path,
        database_url,
        login_max_connections=4,
        login_timeout_seconds=60,
        login_rate_burst=100_000,
    ) as shop:
        emulator = shop.stack.emulator
        assert emulator is not None
        user = await shop.login()
        order = await shop.create_order(user)
        codes = await login_codes(shop, FLOOD)
        # jscode2session now hangs until the faults are cleared; payment paths are untouched.
        await shop.faults(api_latency_ms=600_000, api_fault_paths=["/sns/"])
        flood = httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=None))
        logins = [
            asyncio.create_task(flood.post(f"{shop.api}/api/login", json={"code": code}))
            for code in codes
        ]
        try:
            await until(lambda: emulator.faults.held >= 4, "the logins fill their pool")
            paid = await shop.http.post(
                f"{shop.api}/api/orders/{order['id']}/pay", headers=user.headers
            )
            assert paid.status_code == 200, paid.text
            assert not any(task.done() for task in logins), "pay waited for logins to finish"
            # The flood reached WeChat only through the login pool's few connections.
            assert emulator.faults.held == 4
        finally:
            await shop.http.delete(f"{shop.emu}/sandbox/faults")
            answers = await asyncio.gather(*logins)
            await flood.aclose()
        assert {answer.status_code for answer in answers} == {200}


async def test_logins_past_the_burst_from_one_address_get_429_and_others_do_not(
    tmp_path: Path, database_url: str
) -> None:
    async with shop_with(
        tmp_path, database_url, login_rate_per_minute=1, login_rate_burst=3
    ) as shop:
        codes = await login_codes(shop, 5)
        for code in codes[:3]:
            answer = await shop.http.post(f"{shop.api}/api/login", json={"code": code})
            assert answer.status_code == 200, answer.text
        limited = await shop.http.post(f"{shop.api}/api/login", json={"code": codes[3]})
        assert limited.status_code == 429
        assert limited.json()["code"] == "RATE_LIMITED"
        assert limited.json()["request_id"]
        assert limited.headers["Retry-After"] == "60"  # one login a minute
        # Another client address has its own bucket (loopback answers for all of 127/8).
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(transport=other, timeout=30) as elsewhere:
            answer = await elsewhere.post(f"{shop.api}/api/login", json={"code": codes[4]})
        assert answer.status_code == 200, answer.text


async def test_one_order_past_the_open_order_cap_is_409_and_a_replay_still_answers(
    tmp_path: Path, database_url: str
) -> None:
    async with shop_with(tmp_path, database_url, max_pending_orders_per_user=2) as shop:
        user = await shop.login()
        first = await shop.create_order(user, key="cap-1")
        await shop.create_order(user, key="cap-2")
        body = {"items": [{"product_id": "latte", "quantity": 1}]}
        refused = await shop.http.post(
            f"{shop.api}/api/orders", json=body, headers={**user.headers, "Idempotency-Key": "x"}
        )
        assert refused.status_code == 409
        assert refused.json()["code"] == "TOO_MANY_PENDING_ORDERS"
        replay = await shop.http.post(
            f"{shop.api}/api/orders",
            json=body,
            headers={**user.headers, "Idempotency-Key": "cap-1"},
        )
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == first["id"]
        # Cancelling one makes room again.
        cancelled = await shop.http.post(
            f"{shop.api}/api/orders/{first['id']}/cancel", headers=user.headers
        )
        assert cancelled.status_code == 200, cancelled.text
        await shop.create_order(user, key="cap-3")
