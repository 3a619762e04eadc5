"""What mppay answers WeChat when it refuses a notification: a code and a short fixed message
per kind, never the detail (exception classes, our clock, XML parse positions). The detail is
in the stored record instead."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select

from mppay.store.models import NotificationRow
from mppay.usecases.ports import PaymentGateway, VerifiedTradeNotice
from tests.integration.service.test_attacks import paid_resource, pending_order, signed
from tests.support.forge import v2_paid_fields, v2_sign, v2_xml
from tests.support.shop import Shop

# What any internal detail looks like: a Python class name, a Unix time, a parse position.
INTERNAL = re.compile(r"[A-Z][A-Za-z]+(Error|Exception)\b|\b1[0-9]{9}\b|line \d|column \d")


async def last_reason(shop: Shop) -> str:
    async with shop.stack.service.engine.connect() as connection:
        reason = await connection.scalar(
            select(NotificationRow.reason).order_by(NotificationRow.id.desc()).limit(1)
        )
    assert reason is not None
    return str(reason)


async def v3_reply(shop: Shop, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    response = await shop.http.post(f"{shop.api}/notify/v3/payments", content=body, headers=headers)
    return response.status_code, response.json()


async def test_a_stale_notification_is_refused_without_telling_wechat_our_clock(
    shop: Shop,
) -> None:
    user, order = await pending_order(shop)
    stale = int(time.time()) - 600
    headers, body = signed(shop, paid_resource(shop, user, order), timestamp=stale)

    status, reply = await v3_reply(shop, headers, body)

    assert status == 401
    assert reply == {"code": "FAIL", "message": "signature invalid"}
    reason = await last_reason(shop)
    assert "TimestampSkewError" in reason
    assert str(stale) in reason


async def test_a_bad_signature_is_refused_with_a_fixed_message(shop: Shop) -> None:
    user, order = await pending_order(shop)
    headers, body = signed(shop, paid_resource(shop, user, order), signing_key_pem=None)

    status, reply = await v3_reply(shop, headers, body)

    assert status == 401
    assert reply == {"code": "FAIL", "message": "signature invalid"}
    assert not INTERNAL.search(json.dumps(reply))
    assert "SignatureMismatchError" in await last_reason(shop)


class CrashingGateway:
    """The real gateway, except that handling a payment notification crashes on our side."""

    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def verify_trade_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedTradeNotice:
        raise KeyError("pool at 10.0.0.7:5432 exhausted since 1764400000")


async def test_a_crash_answers_a_fixed_internal_error_and_keeps_the_detail(shop: Shop) -> None:
    user, order = await pending_order(shop)
    ctx = shop.stack.service.ctx
    ctx.gateways = {**ctx.gateways, "v3": CrashingGateway(ctx.gateways["v3"])}  # type: ignore[dict-item]
    headers, body = signed(shop, paid_resource(shop, user, order))

    status, reply = await v3_reply(shop, headers, body)

    assert status == 500
    assert reply == {"code": "FAIL", "message": "internal error"}
    reason = await last_reason(shop)
    assert "KeyError" in reason
    assert "10.0.0.7:5432" in reason


@pytest.mark.parametrize("api_version", ["v2"])
async def test_a_malformed_v2_notification_gets_no_parse_positions_back(shop: Shop) -> None:
    _user, _order = await pending_order(shop)
    broken = b"<xml><return_code><![CDATA[SUCCESS]]></return_code>\n<appid>wx1</mch_id></xml>"

    response = await shop.http.post(f"{shop.api}/notify/v2/payments", content=broken)

    assert response.status_code == 400
    assert response.content == v2_xml({"return_code": "FAIL", "return_msg": "malformed"})
    reason = await last_reason(shop)
    assert re.search(r"line 2|column \d", reason), reason


@pytest.mark.parametrize("api_version", ["v2"])
async def test_a_badly_signed_v2_notification_gets_a_fixed_message(shop: Shop) -> None:
    user, order = await pending_order(shop)
    fields = v2_paid_fields(
        appid=str(shop.settings.appid),
        mchid=shop.mchid,
        openid=user.openid,
        out_trade_no=order["out_trade_no"],
        total_fen=order["amount_total_fen"],
        transaction_id="4200000000202611290000000099",
    )
    fields["sign"] = v2_sign(fields, "a-stranger's-key-of-thirty-two-c")

    response = await shop.http.post(f"{shop.api}/notify/v2/payments", content=v2_xml(fields))

    assert response.status_code == 401
    assert response.content == v2_xml({"return_code": "FAIL", "return_msg": "signature invalid"})
    assert not INTERNAL.search(response.text)
    assert "Error" in await last_reason(shop)
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"


async def test_a_signtest_probe_is_refused_with_a_fixed_message(shop: Shop) -> None:
    user, order = await pending_order(shop)
    probe = "WECHATPAY/SIGNTEST/" + "A" * 300
    headers, body = signed(shop, paid_resource(shop, user, order), signature=probe)

    status, reply = await v3_reply(shop, headers, body)

    assert status == 401
    assert reply == {"code": "FAIL", "message": "signature invalid"}
    assert "SIGNTEST" in await last_reason(shop)
