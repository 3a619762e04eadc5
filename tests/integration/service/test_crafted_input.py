"""Crafted input through real HTTP, on SQLite and PostgreSQL: a specific 4xx, never a 500.

Each case here once answered 500 with a traceback: timestamps that cannot be converted to UTC,
integers past the database's 64 bits, NUL characters PostgreSQL refuses in text, lone surrogates
no database can encode, and chunked bodies over the size limit.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.shop import Shop

ERROR_KEYS = {"code", "message", "request_id"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert body["code"] == code
    assert body["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "cursor",
    [
        "2026-11-29T10:00:00|ord_x",  # naive: no offset
        "0001-01-01T00:00:00+05:00|ord_x",  # before year 1 in UTC
        "9999-12-31T23:59:59-05:00|ord_x",  # after year 9999 in UTC
        "0001-01-01T00:00:00|ord_x",
        "9999-12-31T23:59:59.999999+00:00",  # no order id
    ],
)
async def test_a_crafted_cursor_is_an_invalid_cursor(shop: Shop, cursor: str) -> None:
    user = await shop.login()
    response = await shop.http.get(
        f"{shop.api}/api/orders", params={"cursor": cursor}, headers=user.headers
    )
    assert_error(response, 422, "INVALID_CURSOR")


async def test_a_cursor_this_api_returned_still_pages(shop: Shop) -> None:
    user = await shop.login()
    first = await shop.create_order(user)
    second = await shop.create_order(user)
    page = await shop.http.get(f"{shop.api}/api/orders?limit=1", headers=user.headers)
    assert [o["id"] for o in page.json()["items"]] == [second["id"]]
    rest = await shop.http.get(
        f"{shop.api}/api/orders",
        params={"limit": 1, "cursor": page.json()["next_cursor"]},
        headers=user.headers,
    )
    assert [o["id"] for o in rest.json()["items"]] == [first["id"]]


async def test_admin_dates_at_the_ends_of_the_calendar_search_without_error(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.create_order(user)
    for params in (
        {"to": "9999-12-31"},
        {"date_to": "9999-12-31"},
        {"from": "0001-01-01T00:00:00+05:00"},
        {"from": "0001-01-01", "to": "9999-12-31T23:59:59-05:00"},
        {"to": "9999-12-31T23:59:59.999999-14:00"},
    ):
        response = await shop.http.get(
            f"{shop.api}/admin/api/orders",
            params={**params, "out_trade_no": order["out_trade_no"]},
            headers=shop.admin,
        )
        assert response.status_code == 200, (params, response.text)
        assert [o["id"] for o in response.json()["items"]] == [order["id"]]
    beyond = await shop.http.get(
        f"{shop.api}/admin/api/orders", params={"from": "9999-12-31"}, headers=shop.admin
    )
    assert beyond.status_code == 200, beyond.text
    assert beyond.json()["items"] == []


@pytest.mark.parametrize("offset", [str(10**20), str(2**63), "-1"])
async def test_an_admin_offset_past_any_row_is_invalid_request(shop: Shop, offset: str) -> None:
    response = await shop.http.get(
        f"{shop.api}/admin/api/orders", params={"offset": offset}, headers=shop.admin
    )
    assert_error(response, 422, "INVALID_REQUEST")


@pytest.mark.parametrize("amount", [2**63, 2**64, 10**30, 100_000_001, 0, -5])
async def test_a_refund_amount_out_of_range_is_invalid_amount(shop: Shop, amount: int) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    response = await shop.refund(order["id"], amount)
    assert_error(response, 422, "INVALID_AMOUNT")
    assert (await shop.dossier(order["id"]))["order"]["refund_reserved_fen"] == 0


async def test_nul_in_a_path_or_query_parameter_is_invalid_request(shop: Shop) -> None:
    user = await shop.login()
    order = await shop.create_order(user)
    for path, headers in (
        ("/api/orders/%00", user.headers),
        (f"/api/orders/{order['id']}%00/pay", user.headers),
        ("/api/orders?cursor=%00", user.headers),
        ("/admin/api/orders?out_trade_no=%00", shop.admin),
        ("/admin/api/orders?openid=o%00x", shop.admin),
        ("/admin/api/orders/%00", shop.admin),
    ):
        method = "POST" if path.endswith("/pay") else "GET"
        response = await shop.http.request(method, f"{shop.api}{path}", headers=headers)
        assert_error(response, 422, "INVALID_REQUEST")
        assert "NUL" in response.json()["message"]


@pytest.mark.parametrize("text", ["\u0000", "cold\u0000", "\ud800"])
async def test_nul_or_a_lone_surrogate_in_a_json_string_is_invalid_request(
    shop: Shop, text: str
) -> None:
    user = await shop.login()
    order = await shop.paid_order(user)
    # ensure_ascii keeps a lone surrogate as the \ud800 escape a hostile client would send.
    refund = await shop.http.post(
        f"{shop.api}/admin/api/orders/{order['id']}/refunds",
        content=json.dumps({"amount_fen": 100, "reason": text}, ensure_ascii=True),
        headers={**shop.admin, "Content-Type": "application/json"},
    )
    assert_error(refund, 422, "INVALID_REQUEST")
    assert refund.json()["details"][0]["loc"] == ["body", "reason"]
    login = await shop.http.post(
        f"{shop.api}/api/login",
        content=json.dumps({"code": text}, ensure_ascii=True),
        headers={"Content-Type": "application/json"},
    )
    assert_error(login, 422, "INVALID_REQUEST")
    assert (await shop.dossier(order["id"]))["order"]["refund_reserved_fen"] == 0


def chunked(total: int, piece: int = 8192) -> Any:
    """A generator body: httpx sends it with Transfer-Encoding: chunked, no Content-Length."""

    async def pieces() -> AsyncIterator[bytes]:
        sent = 0
        yield b'{"items": [{"product_id": "latte", "note": "'
        while sent < total:
            yield b"x" * piece
            sent += piece
        yield b'"}]}'

    return pieces()


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders",
        "/api/login",
        "/admin/api/orders/ord_x/refunds",
        "/notify/v3/payments",
        "/notify/v3/refunds",
        "/notify/v2/payments",
        "/notify/v2/refunds",
    ],
)
async def test_a_chunked_body_over_the_limit_is_payload_too_large(shop: Shop, path: str) -> None:
    user = await shop.login()
    headers = {**(shop.admin if path.startswith("/admin") else user.headers)}
    headers["Content-Type"] = "application/json"
    response = await shop.http.post(f"{shop.api}{path}", content=chunked(200_000), headers=headers)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_chunked_body_under_the_limit_is_read_as_usual(shop: Shop) -> None:
    user = await shop.login()
    response = await shop.http.post(
        f"{shop.api}/api/orders",
        content=chunked(30_000),
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 201, response.text
