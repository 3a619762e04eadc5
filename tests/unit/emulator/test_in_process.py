"""The emulator mounted in-process (httpx.ASGITransport), its Python helpers and its state file."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from mppay.cli import app as cli_app
from mppay.emulator import BusinessError, Emulator, FaultError, LoginError, SandboxClock, create_app
from mppay.emulator.app import RedactSecrets
from tests import spec_vectors as v
from tests.integration.emulator.harness import V3Signer

START = 1_700_000_000.0


def fast_merchant(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    """A merchant on the spec's throw-away keys (no key generation, so tests stay fast)."""
    return emulator.create_merchant(
        merchant_private_key_pem=v.MERCHANT_KEY_PEM,
        wechatpay_private_key_pem=v.PLATFORM_KEY_PEM,
        platform_private_key_pem=v.PLATFORM_KEY_PEM,
        **extra,
    )


class MerchantApp:
    """A merchant's notify endpoint as an ASGI app."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

        async def notify(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response(status_code=204)

        self.app = Starlette(routes=[Route("/notify", notify, methods=["POST"])])


async def order(client: httpx.AsyncClient, merchant: dict[str, Any], out_trade_no: str) -> str:
    response = await client.post(
        "/v3/pay/transactions/jsapi",
        json={
            "appid": merchant["appid"],
            "mchid": merchant["mchid"],
            "description": "in-process",
            "out_trade_no": out_trade_no,
            "notify_url": "http://merchant.test/notify",
            "amount": {"total": 1},
            "payer": {"openid": "oInProcessUser01"},
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["prepay_id"])


def in_process(emulator: Emulator, merchant: dict[str, Any]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(emulator)),
        base_url="https://api.mch.weixin.qq.com",
        auth=V3Signer(merchant),
    )


async def wait_for(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_notifications_reach_an_asgi_merchant_through_notify_transport() -> None:
    shop = MerchantApp()
    emulator = Emulator(
        clock=SandboxClock(start=START), notify_transport=httpx.ASGITransport(app=shop.app)
    )
    merchant = fast_merchant(emulator)
    async with in_process(emulator, merchant) as client:
        await order(client, merchant, "INPROC0001")
        emulator.pay(merchant["mchid"], "INPROC0001")
        assert await emulator.deliver_due() >= 0
        await wait_for(lambda: len(shop.bodies) == 1)
    await emulator.stop()
    [attempt] = emulator.deliveries(out_trade_no="INPROC0001")
    assert (attempt["outcome"], attempt["status_code"]) == ("success", 204)


async def test_without_a_lifespan_each_request_kicks_delivery() -> None:
    shop = MerchantApp()
    emulator = Emulator(
        clock=SandboxClock(start=START), notify_transport=httpx.ASGITransport(app=shop.app)
    )
    merchant = fast_merchant(emulator)
    async with in_process(emulator, merchant) as client:
        await order(client, merchant, "INPROC0002")
        paid = await client.post(
            "/sandbox/orders/INPROC0002/pay", json={"mchid": merchant["mchid"]}
        )
        assert paid.status_code == 200
        await wait_for(lambda: len(shop.bodies) == 1)
    await emulator.stop()


async def test_running_runs_the_delivery_loop_for_the_block() -> None:
    shop = MerchantApp()
    emulator = Emulator(
        clock=SandboxClock(start=START), notify_transport=httpx.ASGITransport(app=shop.app)
    )
    merchant = fast_merchant(emulator)
    async with emulator.running():
        async with in_process(emulator, merchant) as client:
            await order(client, merchant, "INPROC0003")
        emulator.pay(merchant["mchid"], "INPROC0003")
        await wait_for(lambda: len(shop.bodies) == 1)


async def test_the_state_file_keeps_merchants_orders_clock_and_faults(tmp_path: Path) -> None:
    path = tmp_path / "emulator.json"
    first = Emulator(clock=SandboxClock(start=START), state_file=path)
    merchant = fast_merchant(first)
    async with in_process(first, merchant) as client:
        await order(client, merchant, "PERSIST001")
    await first.stop()
    first.advance_clock(100)
    first.set_faults({"seed": 3, "notify_drop_rate": 0.25})
    first.save()
    second = Emulator(clock=SandboxClock(start=START), state_file=path)
    assert second.merchant(merchant["mchid"]) == merchant
    assert second.find_order(merchant["mchid"], "PERSIST001").trade_state == "NOTPAY"
    assert second.now() == START + 100
    assert second.faults.to_json()["global"] == {"seed": 3, "notify_drop_rate": 0.25}


def test_python_helpers_raise_clear_errors() -> None:
    emulator = Emulator(clock=SandboxClock(start=START))
    merchant = fast_merchant(emulator)
    with pytest.raises(LoginError):
        emulator.login_code("wx0000000000000000")
    with pytest.raises(LookupError):
        emulator.complete_refund("NOPE")
    with pytest.raises(BusinessError):
        emulator.pay(merchant["mchid"], "NOPE")
    with pytest.raises(ValueError, match="unknown filters"):
        emulator.deliveries(colour="red")
    with pytest.raises(FaultError):
        emulator.set_faults({"notify_drop_rate": 2})
    with pytest.raises(ValueError, match="already exists"):
        fast_merchant(emulator, mchid=merchant["mchid"])
    with pytest.raises(ValueError, match="only moves forward"):
        emulator.advance_clock(-1)
    code = emulator.login_code(merchant["appid"], "oHelperUser0001")
    assert code["openid"] == "oHelperUser0001"


def test_a_merchant_may_register_only_its_public_key() -> None:
    from mppay.emulator.crypto import load_private_key, public_key_pem

    emulator = Emulator()
    public = public_key_pem(load_private_key(v.MERCHANT_KEY_PEM).public_key())
    merchant = emulator.create_merchant(
        merchant_public_key_pem=public, wechatpay_private_key_pem=v.PLATFORM_KEY_PEM
    )
    assert merchant["merchant_private_key_pem"] is None


def test_the_cli_offers_the_emulator_command() -> None:
    result = CliRunner().invoke(cli_app, ["emulator", "--help"])
    assert result.exit_code == 0
    assert "--state-file" in result.output


def test_access_log_lines_hide_the_app_secret_and_the_login_code() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1",
            "GET",
            "/sns/jscode2session?appid=wx1&secret=S3CR3T&js_code=C0DE",
            "1.1",
            200,
        ),
        None,
    )
    assert RedactSecrets().filter(record)
    line = record.getMessage()
    assert "S3CR3T" not in line
    assert "C0DE" not in line
    assert "secret=***&js_code=***" in line


async def test_a_trailing_slash_is_not_redirected() -> None:
    emulator = Emulator()
    transport = httpx.ASGITransport(app=create_app(emulator))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        response = await client.get("/v3/certificates/")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
