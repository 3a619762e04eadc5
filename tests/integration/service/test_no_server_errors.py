"""Property: no input a client controls makes the service answer 5xx.

Hypothesis drives the real stack over HTTP (on SQLite and on PostgreSQL, where NUL characters and
integer ranges are refused by the database itself) through every Mini Program and operations
endpoint, with crafted path, query and JSON body values: extreme dates and offsets, huge and
negative integers, NUL, lone surrogates, wrong types. Every answer must be below 500, and every
4xx the documented ``{"code", "message", "request_id"}`` body.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.shop import Shop

# Every character, lone surrogates included (JSON can carry them as \ud800 escapes).
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=24)
# A URL carries bytes: text that has a UTF-8 form, and raw escapes of bytes that are not UTF-8.
_URL_TEXT = st.text(max_size=24)
_RAW_ESCAPES = st.sampled_from(["%00", "%ED%A0%80", "%FF%FE", "%C0%80", "%", "%zz", "a%00b"])
_EDGE_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "0001-01-01",
        "9999-12-31",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-14:00",
        "2026-11-29T10:00:00",
        "2026-02-30",
        "-1",
        str(2**31),
        str(2**63),
        str(10**20),
        "1e309",
        "NaN",
        "../..",
        "%00",
        "null",
        "true",
        "PAID",
        "ord_" + "x" * 300,
    ]
)
_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_MOMENTS = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
_ISO_TIME = st.one_of(
    _MOMENTS.map(datetime.isoformat),
    st.builds(lambda m, tz: m.replace(tzinfo=tz).isoformat(), _MOMENTS, _OFFSETS),
    st.dates().map(lambda d: d.isoformat()),
)
_CURSOR = st.builds(lambda t, i: f"{t}|{i}", _ISO_TIME, st.text(string.printable, max_size=30))
_HUGE_INT = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**20, 10**30]),
)
_TEXT = st.one_of(_URL_TEXT, _EDGE_TEXT, _ISO_TIME, _CURSOR, _HUGE_INT.map(str))
# One path segment or query value, percent-encoded as it goes on the wire.
_WIRE = st.one_of(_TEXT.map(lambda text: quote(text, safe="")), _RAW_ESCAPES)
_JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    _HUGE_INT,
    st.floats(allow_nan=False),
    _ANY_TEXT,
    _EDGE_TEXT,
    st.just("\ud800"),
)
_JSON = st.recursive(
    _JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_TEXT, inner, max_size=3),
    max_leaves=6,
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # "{id}" is replaced by an order id or crafted text
    query: tuple[str, ...] = ()
    body: tuple[str, ...] | None = None  # the JSON fields the route reads
    admin: bool = False


ENDPOINTS = [
    Endpoint("GET", "/api/products"),
    Endpoint("POST", "/api/login", body=("code",)),
    Endpoint("GET", "/api/orders", query=("limit", "cursor")),
    Endpoint("POST", "/api/orders", body=("items",)),
    Endpoint("GET", "/api/orders/{id}", query=("refresh",)),
    Endpoint("POST", "/api/orders/{id}/pay"),
    Endpoint("POST", "/api/orders/{id}/cancel"),
    Endpoint(
        "GET",
        "/admin/api/orders",
        query=(
            "status",
            "from",
            "to",
            "date_from",
            "date_to",
            "out_trade_no",
            "openid",
            "needs_review",
            "limit",
            "offset",
        ),
        admin=True,
    ),
    Endpoint("GET", "/admin/api/orders/{id}", admin=True),
    Endpoint("POST", "/admin/api/orders/{id}/refunds", body=("amount_fen", "reason"), admin=True),
    Endpoint("GET", "/admin/api/reconciliations", query=("limit",), admin=True),
    Endpoint("GET", "/admin/api/reconciliations/{id}", admin=True),
]


@st.composite
def requests(draw: st.DrawFn) -> tuple[Endpoint, str | int, dict[str, str], dict[str, Any] | None]:
    """An endpoint, a path id (an int: the world's order of that index), query values, a body.

    Path and query values come percent-encoded, so undecodable bytes can be sent too.
    """
    endpoint = draw(st.sampled_from(ENDPOINTS))
    path_id = draw(st.one_of(st.sampled_from([0, 1]), _WIRE))
    names = draw(st.lists(st.sampled_from(endpoint.query), unique=True)) if endpoint.query else []
    query = {name: draw(_WIRE) for name in names}
    body: dict[str, Any] | None = None
    if endpoint.body is not None:
        body = {name: draw(_JSON) for name in endpoint.body if draw(st.booleans())}
        if "items" in endpoint.body and draw(st.booleans()):
            body["items"] = [{"product_id": draw(_JSON), "quantity": draw(_JSON)}]
    return endpoint, path_id, query, body


@dataclass(frozen=True)
class World:
    shop: Shop
    user_headers: dict[str, str]
    order_ids: tuple[str, str]  # a pending order and a paid one, both the user's


@pytest.fixture
async def world(shop: Shop) -> World:
    """The stack (on each database), a logged-in user with two orders, and the admin token."""
    user = await shop.login()
    pending = await shop.create_order(user)
    paid = await shop.paid_order(user)
    return World(shop, user.headers, (pending["id"], paid["id"]))


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
async def test_no_client_input_makes_the_service_answer_5xx(
    world: World, request: tuple[Endpoint, str | int, dict[str, str], dict[str, Any] | None]
) -> None:
    shop = world.shop
    endpoint, path_id, query, body = request
    if isinstance(path_id, int):
        path_id = world.order_ids[path_id]
    path = endpoint.path.replace("{id}", path_id)
    if query:
        path += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    headers = dict(shop.admin if endpoint.admin else world.user_headers)
    content = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        content = json.dumps(body, ensure_ascii=True).encode()
    response = await shop.http.request(
        endpoint.method, f"{shop.api}{path}", content=content, headers=headers
    )
    assert response.status_code < 500, (endpoint.method, path, query, body, response.text)
    if response.status_code >= 400:
        error = response.json()
        assert {"code", "message", "request_id"} <= set(error), response.text
        assert error["request_id"] == response.headers["x-request-id"]
