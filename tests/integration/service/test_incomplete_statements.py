"""Correctly signed (or encrypted) SUCCESS statements that leave out a field money depends on.

Each one is acknowledged (WeChat repeating it would not help), changes no money state, flags
the order for review with a reason naming the missing field, and is stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.service.test_attacks import merchant_secrets, paid_resource, signed
from tests.support.forge import v2_paid_fields, v2_refund_notification, v2_sign, v2_xml
from tests.support.shop import Shop, User


async def pending_order(shop: Shop) -> tuple[User, dict[str, Any]]:
    user = await shop.login()
    order = await shop.create_order(user)
    await shop.pay(user, order["id"])
    return user, order


async def processing_refund(shop: Shop) -> tuple[dict[str, Any], dict[str, Any]]:
    """A paid order and one of its refunds that WeChat will not settle by itself here."""
    user = await shop.login()
    order = await shop.paid_order(user, [{"product_id": "beans", "quantity": 1}])  # 6800
    await shop.faults(notify_drop_rate=1.0)  # no genuine REFUND.SUCCESS races the forged one
    response = await shop.refund(order["id"], 1800)
    assert response.status_code == 201, response.text
    return order, response.json()


def without(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    """A deep copy of ``data`` without the field at ``dotted`` (``amount.total``)."""
    copy = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    *parents, leaf = dotted.split(".")
    target = copy
    for parent in parents:
        target = target[parent]
    del target[leaf]
    return copy


async def assert_flagged_not_paid(shop: Shop, order_id: str, reason: str) -> None:
    dossier = await shop.dossier(order_id)
    assert dossier["order"]["status"] == "PENDING"
    assert dossier["order"]["transaction_id"] is None
    assert dossier["order"]["needs_review"] is True
    assert reason in dossier["order"]["review_reason"]
    assert "review.mismatch" in [entry["type"] for entry in dossier["timeline"]]
    assert [n["outcome"] for n in dossier["notifications"] if n["verified"]] == ["mismatch"]


async def assert_refund_flagged(shop: Shop, order_id: str, refund_id: str, reason: str) -> None:
    dossier = await shop.dossier(order_id)
    refund = next(r for r in dossier["refunds"] if r["id"] == refund_id)
    assert refund["status"] == "PROCESSING"
    assert refund["needs_attention"] is True
    assert reason in refund["error_message"]
    assert dossier["order"]["status"] == "PAID"
    assert dossier["order"]["refunded_fen"] == 0
    assert dossier["order"]["needs_review"] is True
    assert reason in dossier["order"]["review_reason"]
    outcomes = [n["outcome"] for n in dossier["notifications"] if n["out_refund_no"]]
    assert outcomes == ["mismatch"]


@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        ("amount", "amount_total"),
        ("amount.total", "amount_total"),
        ("amount.currency", "currency"),
        ("transaction_id", "transaction_id"),
    ],
)
async def test_a_signed_v3_payment_notification_missing_a_field_does_not_pay(
    shop: Shop, missing: str, reason: str
) -> None:
    user, order = await pending_order(shop)
    headers, body = signed(shop, without(paid_resource(shop, user, order), missing))
    response = await shop.http.post(f"{shop.api}/notify/v3/payments", content=body, headers=headers)
    assert response.status_code == 204, response.text
    await assert_flagged_not_paid(shop, order["id"], reason)


@pytest.mark.parametrize("api_version", ["v2"])
@pytest.mark.parametrize("missing", ["total_fee", "transaction_id"])
async def test_a_signed_v2_payment_notification_missing_a_field_does_not_pay(
    shop: Shop, missing: str
) -> None:
    user, order = await pending_order(shop)
    fields = v2_paid_fields(
        appid=str(shop.settings.appid),
        mchid=shop.mchid,
        openid=user.openid,
        out_trade_no=order["out_trade_no"],
        total_fen=order["amount_total_fen"],
        transaction_id="4200000000202611290000000077",
    )
    del fields[missing]
    fields["sign"] = v2_sign(fields, merchant_secrets(shop).api_v2_key)
    response = await shop.http.post(f"{shop.api}/notify/v2/payments", content=v2_xml(fields))
    assert response.status_code == 200, response.text
    assert b"<return_code><![CDATA[SUCCESS]]></return_code>" in response.content
    await assert_flagged_not_paid(
        shop, order["id"], "amount_total" if missing == "total_fee" else missing
    )


@pytest.mark.parametrize(
    ("missing", "reason"),
    [("amount", "refund_amount"), ("amount.refund", "refund_amount"), ("refund_id", "refund_id")],
)
async def test_a_signed_v3_refund_notification_missing_a_field_does_not_settle_the_refund(
    shop: Shop, missing: str, reason: str
) -> None:
    order, refund = await processing_refund(shop)
    resource = {
        "mchid": shop.mchid,
        "out_trade_no": order["out_trade_no"],
        "transaction_id": order["transaction_id"],
        "out_refund_no": refund["out_refund_no"],
        "refund_id": "50300000000000000000000001",
        "refund_status": "SUCCESS",
        "success_time": "2026-11-29T10:00:00+08:00",
        "user_received_account": "支付用户零钱",
        "amount": {"total": 6800, "refund": 1800, "payer_total": 6800, "payer_refund": 1800},
    }
    headers, body = signed(shop, without(resource, missing), event_type="REFUND.SUCCESS")
    response = await shop.http.post(f"{shop.api}/notify/v3/refunds", content=body, headers=headers)
    assert response.status_code == 204, response.text
    await assert_refund_flagged(shop, order["id"], refund["id"], reason)


@pytest.mark.parametrize("api_version", ["v2"])
@pytest.mark.parametrize(
    ("missing", "reason"), [("refund_fee", "refund_amount"), ("refund_id", "refund_id")]
)
async def test_a_v2_refund_notification_missing_a_field_does_not_settle_the_refund(
    shop: Shop, missing: str, reason: str
) -> None:
    order, refund = await processing_refund(shop)
    inner = {
        "transaction_id": order["transaction_id"],
        "out_trade_no": order["out_trade_no"],
        "refund_id": "50300000000000000000000002",
        "out_refund_no": refund["out_refund_no"],
        "total_fee": "6800",
        "refund_fee": "1800",
        "refund_status": "SUCCESS",
        "success_time": "2026-11-29 10:00:00",
        "refund_recv_accout": "支付用户零钱",
        "refund_account": "REFUND_SOURCE_UNSETTLED_FUNDS",
        "refund_request_source": "API",
    }
    del inner[missing]
    body = v2_refund_notification(
        inner,
        appid=str(shop.settings.appid),
        mch_id=shop.mchid,
        api_v2_key=merchant_secrets(shop).api_v2_key,
    )
    response = await shop.http.post(f"{shop.api}/notify/v2/refunds", content=body)
    assert response.status_code == 200, response.text
    assert b"<return_code><![CDATA[SUCCESS]]></return_code>" in response.content
    await assert_refund_flagged(shop, order["id"], refund["id"], reason)
