"""The whole loop through real HTTP: login, products, order, prepay, the WeChat client's
requestPayment, the notification, PAID; cancel; refunds; recovery of a lost notification."""

import pytest

from tests.support.shop import Shop

LOOP_VERSIONS = pytest.mark.parametrize("api_version", ["v3", "v2"])


@LOOP_VERSIONS
async def test_an_order_is_paid_through_prepay_request_payment_and_the_notification(
    shop: Shop,
) -> None:
    user = await shop.login()
    products = (await shop.http.get(f"{shop.api}/api/products")).json()
    assert {"id", "name", "description", "price_fen"} <= set(products[0])
    order = await shop.create_order(user, [{"product_id": "beans", "quantity": 2}])
    assert order["status"] == "PENDING"
    assert order["amount_total_fen"] == 2 * 6800
    params = await shop.pay(user, order["id"])
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["signType"] == ("RSA" if shop.settings.api_version == "v3" else "HMAC-SHA256")
    assert await shop.request_payment(user, params) == "requestPayment:ok"
    paid = await shop.wait_for(user, order["id"], "PAID")
    assert paid["transaction_id"].startswith("42")
    timeline = [entry["type"] for entry in (await shop.dossier(order["id"]))["timeline"]]
    assert timeline[:4] == ["order.created", "prepay.requested", "prepay.obtained", "order.paid"]


@LOOP_VERSIONS
async def test_a_cancelled_payment_leaves_the_order_pending_and_cancel_closes_it(
    shop: Shop,
) -> None:
    user = await shop.login()
    order = await shop.create_order(user)
    params = await shop.pay(user, order["id"])
    assert await shop.request_payment(user, params, action="cancel") == "requestPayment:fail cancel"
    assert (await shop.order(user, order["id"], refresh=True))["status"] == "PENDING"
    if shop.settings.api_version == "v2":
        # v2 closeorder refuses orders younger than 5 minutes: the answer says when to retry.
        early = await shop.http.post(
            f"{shop.api}/api/orders/{order['id']}/cancel", headers=user.headers
        )
        assert early.status_code == 409
        assert early.json()["code"] == "CLOSE_NOT_YET_ALLOWED"
        assert shop.stack.emulator is not None
        shop.stack.emulator.advance_clock(6 * 60)
        shop.stack.service.ctx.clock = _ShiftedClock(shop.stack.service.ctx.clock, 6 * 60)
    response = await shop.http.post(
        f"{shop.api}/api/orders/{order['id']}/cancel", headers=user.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CLOSED"
    again = await shop.http.post(f"{shop.api}/api/orders/{order['id']}/pay", headers=user.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "ORDER_CLOSED"


@LOOP_VERSIONS
async def test_partial_and_full_refunds_follow_the_refund_notifications(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.paid_order(user, [{"product_id": "croissant", "quantity": 2}])  # 2500
    first = await shop.refund(order["id"], 1000)
    assert first.status_code == 201, first.text
    assert first.json()["status"] in ("PROCESSING", "SUCCESS")
    await shop.wait_for(user, order["id"], "PARTIALLY_REFUNDED")
    second = await shop.refund(order["id"], 1500)
    assert second.status_code == 201, second.text
    refunded = await shop.wait_for(user, order["id"], "REFUNDED")
    assert refunded["refunded_fen"] == 2500
    too_much = await shop.refund(order["id"], 1)
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "REFUND_EXCEEDS_REFUNDABLE"
    refunds = (await shop.dossier(order["id"]))["refunds"]
    assert sorted(r["status"] for r in refunds) == ["SUCCESS", "SUCCESS"]


@LOOP_VERSIONS
async def test_a_dropped_notification_is_recovered_by_refresh(shop: Shop) -> None:
    await shop.faults(notify_drop_rate=1.0)
    user = await shop.login()
    order = await shop.create_order(user)
    params = await shop.pay(user, order["id"])
    assert await shop.request_payment(user, params) == "requestPayment:ok"
    assert (await shop.order(user, order["id"]))["status"] == "PENDING"
    recovered = await shop.order(user, order["id"], refresh=True)
    assert recovered["status"] == "PAID"
    assert recovered["transaction_id"]


class _ShiftedClock:
    """The service's clock moved forward like the emulator's (for v2's 5-minute close rule)."""

    def __init__(self, inner: object, seconds: float) -> None:
        from datetime import timedelta

        self._inner = inner
        self._delta = timedelta(seconds=seconds)

    def now(self):  # type: ignore[no-untyped-def]
        return self._inner.now() + self._delta  # type: ignore[attr-defined]


async def test_operators_search_orders_by_status_date_and_payer(shop: Shop) -> None:
    alice = await shop.login()
    bob = await shop.login()
    paid = await shop.paid_order(alice)
    pending = await shop.create_order(bob)

    async def search(**params: str) -> list[str]:
        response = await shop.http.get(
            f"{shop.api}/admin/api/orders", params=params, headers=shop.admin
        )
        assert response.status_code == 200, response.text
        return [order["id"] for order in response.json()["items"]]

    assert await search(status="PAID") == [paid["id"]]
    assert await search(openid=bob.openid) == [pending["id"]]
    assert await search(out_trade_no=paid["out_trade_no"]) == [paid["id"]]
    assert set(await search(**{"from": "2000-01-01", "to": "2999-12-31"})) == {
        paid["id"],
        pending["id"],
    }
    assert await search(date_from="2999-01-01") == []
    assert pending["id"] in await search(**{"from": pending["created_at"]})
    bad = await shop.http.get(
        f"{shop.api}/admin/api/orders", params={"from": "yesterday"}, headers=shop.admin
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "INVALID_DATE"
