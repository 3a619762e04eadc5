"""Bad input and attacks, through real HTTP: each is refused (or absorbed) and changes nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.forge import v2_paid_fields, v2_sign, v2_xml, v3_notification
from tests.support.shop import Shop, User


def merchant_secrets(shop: Shop) -> Any:
    assert shop.stack.emulator is not None
    return shop.stack.emulator.state.merchants[shop.mchid]


def paid_resource(
    shop: Shop, user: User, order: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    resource = {
        "appid": shop.settings.appid,
        "mchid": shop.mchid,
        "out_trade_no": order["out_trade_no"],
        "transaction_id": "4200000000202611290000000042",
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": datetime.now(UTC).isoformat(timespec="seconds"),
        "payer": {"openid": user.openid},
        "amount": {
            "total": order["amount_total_fen"],
            "payer_total": order["amount_total_fen"],
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    resource.update(overrides)
    return resource


def signed(shop: Shop, resource: dict[str, Any], **options: Any) -> tuple[dict[str, str], bytes]:
    merchant = merchant_secrets(shop)
    options.setdefault("signing_key_pem", merchant.wechatpay_private_key_pem)
    return v3_notification(
        resource=resource,
        api_v3_key=merchant.api_v3_key,
        serial=merchant.wechatpay_public_key_id,
        **options,
    )


async def post_v3(
    shop: Shop, headers: dict[str, str], body: bytes, channel: str = "payments"
) -> int:
    response = await shop.http.post(
        f"{shop.api}/notify/v3/{channel}", content=body, headers=headers
    )
    return response.status_code


async def pending_order(shop: Shop) -> tuple[User, dict[str, Any]]:
    user = await shop.login()
    order = await shop.create_order(user)
    await shop.pay(user, order["id"])
    return user, order


async def test_an_amount_sent_by_the_client_is_ignored(shop: Shop) -> None:
    user = await shop.login()
    response = await shop.http.post(
        f"{shop.api}/api/orders",
        json={
            "items": [{"product_id": "beans", "quantity": 1, "price_fen": 1}],
            "amount_total_fen": 1,
            "total": 1,
        },
        headers=user.headers,
    )
    assert response.status_code == 201
    assert response.json()["amount_total_fen"] == 6800


async def test_other_users_cannot_see_or_act_on_an_order(shop: Shop) -> None:
    alice = await shop.login()
    mallory = await shop.login()
    order = await shop.create_order(alice)
    for method, path in (("GET", ""), ("POST", "/pay"), ("POST", "/cancel")):
        response = await shop.http.request(
            method, f"{shop.api}/api/orders/{order['id']}{path}", headers=mallory.headers
        )
        assert response.status_code == 404
        assert response.json()["code"] == "ORDER_NOT_FOUND"
    listed = (await shop.http.get(f"{shop.api}/api/orders", headers=mallory.headers)).json()
    assert listed["items"] == []


async def test_requests_without_a_valid_token_are_refused(shop: Shop) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = await shop.http.post(
            f"{shop.api}/api/orders", json={"items": [{"product_id": "latte"}]}, headers=headers
        )
        assert response.status_code == 401
        assert set(response.json()) >= {"code", "message", "request_id"}
    admin = await shop.http.get(
        f"{shop.api}/admin/api/orders", headers={"Authorization": "Bearer wrong"}
    )
    assert admin.status_code == 401


@pytest.mark.parametrize(
    "attack",
    ["stranger_key", "tampered_body", "replayed", "signtest_probe", "missing_headers"],
)
async def test_a_notification_that_fails_verification_changes_nothing(
    shop: Shop, attack: str
) -> None:
    user, order = await pending_order(shop)
    resource = paid_resource(shop, user, order)
    if attack == "stranger_key":
        headers, body = signed(shop, resource, signing_key_pem=None)
    elif attack == "tampered_body":
        headers, body = signed(shop, resource)
        body = body.replace(b'"summary":"', b'"summary":"x', 1)
    elif attack == "replayed":
        headers, body = signed(shop, resource, timestamp=int(time.time()) - 600)
    elif attack == "signtest_probe":
        headers, body = signed(shop, resource, signature="WECHATPAY/SIGNTEST/" + "A" * 300)
    else:
        headers, body = signed(shop, resource)
        del headers["Wechatpay-Signature"]
    assert await post_v3(shop, headers, body) == 401
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"
    notifications = (await shop.dossier(order["id"]))["notifications"]
    assert notifications == [] or all(not n["verified"] for n in notifications)


async def test_a_correctly_signed_notification_for_an_unknown_order_changes_nothing(
    shop: Shop,
) -> None:
    user, order = await pending_order(shop)
    headers, body = signed(
        shop, paid_resource(shop, user, order, out_trade_no="MPNOTOURS00000000001")
    )
    assert await post_v3(shop, headers, body) == 404
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"


async def test_an_amount_mismatch_is_flagged_for_review_not_paid(shop: Shop) -> None:
    _user, order = await pending_order(shop)
    response = await shop.http.post(
        f"{shop.emu}/sandbox/notifications/send",
        json={
            "mchid": shop.mchid,
            "out_trade_no": order["out_trade_no"],
            "event_type": "TRANSACTION.SUCCESS",
            "resource_overrides": {
                "trade_state": "SUCCESS",
                "amount": {
                    "total": 1,
                    "payer_total": 1,
                    "currency": "CNY",
                    "payer_currency": "CNY",
                },
            },
        },
    )
    assert response.status_code == 200, response.text
    dossier = await shop.dossier(order["id"])
    assert dossier["order"]["status"] == "PENDING"
    assert dossier["order"]["needs_review"] is True
    assert "amount_total" in dossier["order"]["review_reason"]
    assert "review.mismatch" in [entry["type"] for entry in dossier["timeline"]]


async def test_concurrent_duplicate_notifications_pay_exactly_once(shop: Shop) -> None:
    user, order = await pending_order(shop)
    headers, body = signed(shop, paid_resource(shop, user, order))
    statuses = await asyncio.gather(*(post_v3(shop, headers, body) for _ in range(12)))
    assert set(statuses) == {204}
    dossier = await shop.dossier(order["id"])
    assert dossier["order"]["status"] == "PAID"
    assert [e["type"] for e in dossier["timeline"]].count("order.paid") == 1
    outcomes = sorted(n["outcome"] for n in dossier["notifications"])
    assert outcomes == ["applied_paid"] + ["duplicate"] * 11


async def test_concurrent_refunds_never_exceed_the_paid_amount(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.paid_order(user, [{"product_id": "beans", "quantity": 1}])  # 6800
    responses = await asyncio.gather(*(shop.refund(order["id"], 2000) for _ in range(8)))
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 409]
    assert len(created) == 3
    assert len(refused) == 5
    assert {r.json()["code"] for r in refused} == {"REFUND_EXCEEDS_REFUNDABLE"}
    assert (await shop.dossier(order["id"]))["order"]["refund_reserved_fen"] == 6000


async def test_oversized_and_malformed_bodies_get_specific_errors(shop: Shop) -> None:
    user = await shop.login()
    huge = await shop.http.post(
        f"{shop.api}/notify/v3/payments", content=b"{" + b" " * 200_000 + b"}"
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "PAYLOAD_TOO_LARGE"
    broken = await shop.http.post(
        f"{shop.api}/api/orders",
        content=b'{"items": [',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["code"] == "INVALID_REQUEST"
    float_quantity = await shop.http.post(
        f"{shop.api}/api/orders",
        json={"items": [{"product_id": "latte", "quantity": 1.5}]},
        headers=user.headers,
    )
    assert float_quantity.status_code == 422
    unknown = await shop.http.post(
        f"{shop.api}/api/orders", json={"items": [{"product_id": "nope"}]}, headers=user.headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "UNKNOWN_PRODUCT"
    garbage = await shop.http.post(
        f"{shop.api}/notify/v3/payments",
        content=b"not json",
        headers={"Content-Type": "application/json"},
    )
    assert garbage.status_code in (400, 401)


@pytest.mark.parametrize("api_version", ["v2"])
async def test_xxe_in_a_v2_notification_is_refused_and_changes_nothing(shop: Shop) -> None:
    user, order = await pending_order(shop)
    merchant = merchant_secrets(shop)
    fields = v2_paid_fields(
        appid=str(shop.settings.appid),
        mchid=shop.mchid,
        openid=user.openid,
        out_trade_no=order["out_trade_no"],
        total_fen=order["amount_total_fen"],
        transaction_id="4200000000202611290000000099",
    )
    fields["sign"] = v2_sign(fields, merchant.api_v2_key)
    xxe = b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + v2_xml(
        fields
    ).replace(b"<nonce_str><![CDATA[n1]]></nonce_str>", b"<nonce_str>&x;</nonce_str>")
    response = await shop.http.post(f"{shop.api}/notify/v2/payments", content=xxe)
    assert 400 <= response.status_code < 500
    assert b"<return_code><![CDATA[FAIL]]></return_code>" in response.content
    assert b"root:" not in response.content
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"
    # The same notification, well formed and signed, is accepted: the refusal above was the XXE.
    ok = await shop.http.post(f"{shop.api}/notify/v2/payments", content=v2_xml(fields))
    assert ok.status_code == 200
    assert b"SUCCESS" in ok.content
    assert (await shop.order(user, order["id"]))["status"] == "PAID"
