"""An operator's retried refund call refunds once: ``Idempotency-Key`` on
``POST /admin/api/orders/{id}/refunds``, guarded by a unique constraint."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.shop import Shop


async def _refund(
    shop: Shop, order_id: str, amount_fen: int, key: str | None, reason: str = "cold"
) -> httpx.Response:
    headers = {**shop.admin, **({"Idempotency-Key": key} if key is not None else {})}
    return await shop.http.post(
        f"{shop.api}/admin/api/orders/{order_id}/refunds",
        json={"amount_fen": amount_fen, "reason": reason},
        headers=headers,
    )


def _refunds_at_wechat(shop: Shop, order: dict[str, Any]) -> list[str]:
    assert shop.stack.emulator is not None
    return [
        refund.out_refund_no
        for refund in shop.stack.emulator.state.refunds.values()
        if refund.out_trade_no == order["out_trade_no"]
    ]


async def _refunds_here(shop: Shop, order_id: str) -> list[str]:
    return [refund["out_refund_no"] for refund in (await shop.dossier(order_id))["refunds"]]


async def test_a_retried_refund_with_the_same_key_refunds_once(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    first = await _refund(shop, order["id"], 100, "op-retry-1")
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await _refund(shop, order["id"], 100, "op-retry-1")
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["out_refund_no"] == first.json()["out_refund_no"]
    assert _refunds_at_wechat(shop, order) == [first.json()["out_refund_no"]]
    assert await _refunds_here(shop, order["id"]) == [first.json()["out_refund_no"]]


async def test_concurrent_retries_with_one_key_make_one_refund(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    answers = await asyncio.gather(*(_refund(shop, order["id"], 100, "op-burst") for _ in range(6)))
    assert {answer.status_code for answer in answers} == {201}, [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert sum("Idempotent-Replayed" not in answer.headers for answer in answers) == 1
    assert len(_refunds_at_wechat(shop, order)) == 1
    assert len(await _refunds_here(shop, order["id"])) == 1


async def test_the_same_key_with_another_body_is_refused(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    assert (await _refund(shop, order["id"], 100, "op-reused")).status_code == 201
    for amount, reason in ((200, "cold"), (100, "another reason")):
        reused = await _refund(shop, order["id"], amount, "op-reused", reason)
        assert reused.status_code == 409, reused.text
        assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert reused.json()["request_id"]
    assert len(await _refunds_here(shop, order["id"])) == 1


async def test_a_key_is_scoped_to_its_order_and_no_key_keeps_every_call(shop: Shop) -> None:
    user = await shop.login()
    one, other = await shop.paid_order(user), await shop.paid_order(user)
    assert (await _refund(shop, one["id"], 100, "op-shared")).status_code == 201
    elsewhere = await _refund(shop, other["id"], 100, "op-shared")
    assert elsewhere.status_code == 201, elsewhere.text
    assert "Idempotent-Replayed" not in elsewhere.headers
    for _ in range(2):
        assert (await _refund(shop, other["id"], 100, None)).status_code == 201
    assert len(await _refunds_here(shop, other["id"])) == 3
    assert len(_refunds_at_wechat(shop, other)) == 3
