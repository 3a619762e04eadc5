"""Shipping information end to end: the service, its worker and the emulator over real HTTP,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mppay.adapters.shipping import WeChatShippingGateway
from mppay.jobs.handlers import HANDLERS
from mppay.jobs.worker import Worker
from tests.support.shop import Shop, User

EXPRESS = {"packages": [{"express_company": "YTO", "tracking_no": "YT100"}]}


async def emulator_settings(shop: Shop, **settings: float) -> None:
    response = await shop.http.put(f"{shop.emu}/sandbox/shipping/settings", json=settings)
    assert response.status_code == 200, response.text


async def run_jobs(shop: Shop) -> None:
    await Worker(shop.stack.service.ctx, HANDLERS).run_until_idle()


async def paid(shop: Shop, product: str = "latte") -> tuple[User, dict[str, Any]]:
    user = await shop.login()
    order = await shop.paid_order(user, [{"product_id": product, "quantity": 1}])
    await run_jobs(shop)  # shipping.start
    return user, order


async def ship(
    shop: Shop, order_id: str, body: dict[str, Any], *, method: str = "POST", key: str = ""
) -> httpx.Response:
    headers = {**shop.admin, **({"Idempotency-Key": key} if key else {})}
    return await shop.http.request(
        method, f"{shop.api}/admin/api/orders/{order_id}/shipments", json=body, headers=headers
    )


async def shipping_of(shop: Shop, user: User, order_id: str) -> dict[str, Any]:
    return dict((await shop.order(user, order_id))["shipping"])


async def wechat_view(shop: Shop, transaction_id: str) -> dict[str, Any]:
    return dict((await shop.http.get(f"{shop.emu}/sandbox/shipping/{transaction_id}")).json())


async def until(check: Any, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def event_types(dossier: dict[str, Any]) -> list[str]:
    return [entry["type"] for entry in dossier["timeline"]]


@pytest.fixture
async def quick(shop: Shop) -> Shop:
    await emulator_settings(shop, visible_delay_seconds=0)
    assert shop.stack.service.ctx.shipping is not None
    shop.stack.service.ctx.shipping.retry_base_seconds = 0.2
    return shop


async def test_virtual_goods_are_uploaded_automatically_after_payment(quick: Shop) -> None:
    user, order = await paid(quick, "giftcard")
    await run_jobs(quick)
    shipping = await shipping_of(quick, user, order["id"])
    assert shipping["state"] == "UPLOADED"
    assert shipping["logistics_type"] == 3
    theirs = await wechat_view(quick, order["transaction_id"])
    assert theirs["order_state"] == 2
    assert theirs["shipping"]["logistics_type"] == 3


async def test_physical_goods_are_shipped_by_the_operator_and_settle(quick: Shop) -> None:
    user, order = await paid(quick)
    assert (await shipping_of(quick, user, order["id"]))["state"] == "PENDING_UPLOAD"
    first = await ship(quick, order["id"], EXPRESS, key="ship-1")
    assert first.status_code == 202, first.text
    again = await ship(quick, order["id"], EXPRESS, key="ship-1")
    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await ship(quick, order["id"], {"packages": [{"express_company": "ZTO", "tracking_no": "Z1"}]}, key="ship-1")  # fmt: skip
    assert other.status_code == 409
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    await run_jobs(quick)
    shipping = await shipping_of(quick, user, order["id"])
    assert shipping["state"] == "UPLOADED"
    assert shipping["tracking"] == [{"express_company": "YTO", "tracking_no": "YT100"}]
    confirmed = await quick.http.post(
        f"{quick.emu}/sandbox/shipping/{order['transaction_id']}/confirm"
    )
    assert confirmed.status_code == 200, confirmed.text

    async def settled() -> bool:
        return (await shipping_of(quick, user, order["id"]))["state"] == "SETTLED"

    await until(settled, "the settlement push")
    types = event_types(await quick.dossier(order["id"]))
    assert types.count("shipping.uploaded") == 1
    assert types.count("shipping.settled") == 1
    metrics = (await quick.http.get(f"{quick.api}/metrics")).text
    assert 'mppay_shipments{state="SETTLED"} 1' in metrics


async def test_an_upload_right_after_payment_is_retried_until_wechat_sees_it(
    quick: Shop,
) -> None:
    await emulator_settings(quick, visible_delay_seconds=1.0)
    user, order = await paid(quick)
    assert (await ship(quick, order["id"], EXPRESS)).status_code == 202

    async def uploaded() -> bool:
        await run_jobs(quick)
        return (await shipping_of(quick, user, order["id"]))["state"] == "UPLOADED"

    await until(uploaded, "the retried upload")
    timeline = (await quick.dossier(order["id"]))["timeline"]
    deferred = [e for e in timeline if e["type"] == "shipping.deferred"]
    assert deferred
    assert deferred[0]["detail"]["code"] == "10060001"
    assert event_types({"timeline": timeline}).count("shipping.uploaded") == 1


async def test_a_correction_is_accepted_and_a_second_one_refused(quick: Shop) -> None:
    user, order = await paid(quick)
    assert (await ship(quick, order["id"], EXPRESS)).status_code == 202
    early = await ship(quick, order["id"], EXPRESS)
    assert early.status_code == 409
    assert early.json()["code"] == "ALREADY_SHIPPED"
    await run_jobs(quick)
    fixed = {"packages": [{"express_company": "ZTO", "tracking_no": "ZT200"}]}
    correction = await ship(quick, order["id"], fixed, method="PUT")
    assert correction.status_code == 202, correction.text
    await run_jobs(quick)
    shipping = await shipping_of(quick, user, order["id"])
    assert shipping["tracking"] == [{"express_company": "ZTO", "tracking_no": "ZT200"}]
    theirs = await wechat_view(quick, order["transaction_id"])
    assert [p["tracking_no"] for p in theirs["shipping"]["shipping_list"]] == ["ZT200"]
    third = await ship(quick, order["id"], EXPRESS, method="PUT")
    assert third.status_code == 409
    assert third.json()["code"] == "CORRECTION_LIMIT_REACHED"


async def test_split_delivery_completes_with_the_last_package(quick: Shop) -> None:
    user, order = await paid(quick)
    part = {"delivery_mode": "split", "is_all_delivered": False, **EXPRESS}
    assert (await ship(quick, order["id"], part)).status_code == 202
    await run_jobs(quick)
    shipping = await shipping_of(quick, user, order["id"])
    assert shipping["state"] == "PENDING_UPLOAD"
    assert len(shipping["tracking"]) == 1
    last = {
        "delivery_mode": "split",
        "is_all_delivered": True,
        "packages": [{"express_company": "YTO", "tracking_no": "YT101"}],
    }
    assert (await ship(quick, order["id"], last)).status_code == 202
    await run_jobs(quick)
    shipping = await shipping_of(quick, user, order["id"])
    assert shipping["state"] == "UPLOADED"
    assert [t["tracking_no"] for t in shipping["tracking"]] == ["YT100", "YT101"]
    assert (await wechat_view(quick, order["transaction_id"]))["order_state"] == 2


async def test_tokens_are_shared_and_refreshed_once_after_revocation_and_expiry(
    quick: Shop,
) -> None:
    setup = quick.stack.service.ctx.shipping
    assert setup is not None
    assert isinstance(setup.gateway, WeChatShippingGateway)
    client = setup.gateway.client
    before = client.tokens.fetches
    companies = await asyncio.gather(*(client.get_delivery_list() for _ in range(8)))
    assert all(c for c in companies)
    fetched = client.tokens.fetches - before
    assert fetched <= 1  # a token cached earlier in this test's stack is reused
    revoked = await quick.http.post(
        f"{quick.emu}/sandbox/access_tokens/revoke", json={"appid": quick.settings.appid}
    )
    assert revoked.status_code == 200
    await asyncio.gather(*(client.get_delivery_list() for _ in range(8)))
    assert client.tokens.fetches == before + fetched + 1
    advanced = await quick.http.post(f"{quick.emu}/sandbox/clock", json={"advance_seconds": 7201})
    assert advanced.status_code == 200
    await asyncio.gather(*(client.get_delivery_list() for _ in range(8)))
    assert client.tokens.fetches == before + fetched + 2


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _encrypt(key_text: str, appid: str, message: bytes) -> str:
    key = base64.b64decode(key_text + "=")
    plain = b"0123456789abcdef" + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


async def test_forged_and_unsigned_pushes_are_rejected_and_change_nothing(quick: Shop) -> None:
    user, order = await paid(quick)
    assert (await ship(quick, order["id"], EXPRESS)).status_code == 202
    await run_jobs(quick)
    settlement = {
        "ToUserName": "gh_x",
        "FromUserName": "o_forger",
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "trade_manage_order_settlement",
        "transaction_id": order["transaction_id"],
        "merchant_trade_no": order["out_trade_no"],
        "settlement_time": int(time.time()),
        "confirm_receive_method": 2,
    }
    body = json.dumps(settlement).encode()
    url = f"{quick.api}/wechat/message-push"
    token = str(quick.settings.message_push_token)
    aes_key = str(quick.settings.message_push_aes_key)
    ts, nonce = str(int(time.time())), "n0nce"
    unsigned = await quick.http.post(url, content=body)
    wrong_token = await quick.http.post(
        url,
        params={"signature": _sha1("guess", ts, nonce), "timestamp": ts, "nonce": nonce},
        content=body,
    )
    plain_but_signed = await quick.http.post(
        url,
        params={"signature": _sha1(token, ts, nonce), "timestamp": ts, "nonce": nonce},
        content=body,
    )
    wrong_key = _encrypt("A" * 43, str(quick.settings.appid), body)
    envelope = json.dumps({"ToUserName": "gh_x", "Encrypt": wrong_key}).encode()
    forged_cipher = await quick.http.post(
        url,
        params={
            "signature": _sha1(token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": _sha1(token, ts, nonce, wrong_key),
        },
        content=envelope,
    )
    good = _encrypt(aes_key, str(quick.settings.appid), body)
    bad_msg_signature = await quick.http.post(
        url,
        params={
            "signature": _sha1(token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": _sha1("guess", ts, nonce, good),
        },
        content=json.dumps({"Encrypt": good}).encode(),
    )
    statuses = [
        r.status_code
        for r in (unsigned, wrong_token, plain_but_signed, forged_cipher, bad_msg_signature)
    ]
    assert statuses == [401, 401, 401, 401, 401]
    assert (await shipping_of(quick, user, order["id"]))["state"] == "UPLOADED"
    assert "shipping.settled" not in event_types(await quick.dossier(order["id"]))
    check = await quick.http.get(
        url,
        params={
            "signature": _sha1(token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": "e-123",
        },
    )
    assert (check.status_code, check.text) == (200, "e-123")


async def test_duplicate_settlement_pushes_are_applied_once(quick: Shop) -> None:
    user, order = await paid(quick)
    assert (await ship(quick, order["id"], EXPRESS)).status_code == 202
    await run_jobs(quick)
    await quick.faults(mchid=quick.mchid, notify_duplicate_rate=1.0)
    try:
        confirmed = await quick.http.post(
            f"{quick.emu}/sandbox/shipping/{order['transaction_id']}/confirm"
        )
        assert confirmed.status_code == 200

        async def delivered_twice() -> bool:
            deliveries = await quick.deliveries()
            settlement = [
                d
                for d in deliveries
                if d["api"] == "push"
                and d["event_type"] == "trade_manage_order_settlement"
                and d["out_trade_no"] == order["out_trade_no"]
                and d["outcome"] == "success"
                and d["kind"] == "duplicate"
            ]
            return len(settlement) >= 1  # the settlement push, delivered a second time

        await until(delivered_twice, "the duplicated pushes")
    finally:
        await quick.http.delete(f"{quick.emu}/sandbox/faults")
    assert (await shipping_of(quick, user, order["id"]))["state"] == "SETTLED"
    assert event_types(await quick.dossier(order["id"])).count("shipping.settled") == 1


async def test_sync_recovers_lost_pushes_and_the_watch_alerts_once(quick: Shop) -> None:
    from mppay.usecases.shipping_events import sync_shipping, watch_shipping

    ctx = quick.stack.service.ctx
    assert ctx.shipping is not None
    user, shipped = await paid(quick)
    _, waiting = await paid(quick)
    assert (await ship(quick, shipped["id"], EXPRESS)).status_code == 202
    await run_jobs(quick)
    await quick.faults(mchid=quick.mchid, notify_drop_rate=1.0)
    try:
        confirm = f"{quick.emu}/sandbox/shipping/{shipped['transaction_id']}/confirm"
        assert (await quick.http.post(confirm)).status_code == 200
        assert (await shipping_of(quick, user, shipped["id"]))["state"] == "UPLOADED"
        report = await sync_shipping(ctx)
    finally:
        await quick.http.delete(f"{quick.emu}/sandbox/faults")
    assert report.advanced == 1
    assert report.disagreements == []
    assert (await shipping_of(quick, user, shipped["id"]))["state"] == "SETTLED"
    ctx.shipping.alert_after_seconds = 0
    assert await watch_shipping(ctx) == 1
    assert await watch_shipping(ctx) == 0
    assert "shipping.overdue" in event_types(await quick.dossier(waiting["id"]))
