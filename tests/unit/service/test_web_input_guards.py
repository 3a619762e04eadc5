"""The edge's guards against crafted input, in process (httpx over ASGI, no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError

from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import InvalidInput
from mppay.usecases.orders import _decode_cursor
from mppay.web.app import MAX_BODY_BYTES, create_app
from mppay.web.nul_guard import nul_location
from mppay.web.routes.admin import _moment
from mppay.web.schemas import LoginRequest, OrderCreate, RefundCreate


@pytest.fixture
async def http(ctx: ServiceContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx, admin_token="admin-token-for-tests-0123456789")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mppay.test") as client:
        yield client


async def _chunks(total: int) -> AsyncIterator[bytes]:
    yield b'{"code": "'
    for _ in range(total // 4096):
        yield b"x" * 4096
    yield b'"}'


async def test_a_chunked_body_over_the_limit_is_413_not_a_parse_error(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/api/login",
        content=_chunks(MAX_BODY_BYTES + 8192),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("path", "query", "where"),
    [
        ("/api/orders/\x00", b"", ["path"]),
        ("/admin/api/orders", b"out_trade_no=%00", ["query", "out_trade_no"]),
        ("/admin/api/orders", b"limit=5&openid=o%00x", ["query", "openid"]),
        ("/admin/api/orders", b"a%00b=1", ["query", "a\\x00b"]),
        ("/api/orders", b"cursor=2026-01-01%7Cord_1&limit=5", None),
        ("/api/orders", b"cursor=%FF%FE", None),
    ],
)
def test_nul_location_names_where_a_nul_is(
    path: str, query: bytes, where: list[str] | None
) -> None:
    assert nul_location(path, query) == where


async def test_a_nul_in_the_query_is_refused_before_authentication(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/admin/api/orders?out_trade_no=%00")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "INVALID_REQUEST"
    assert body["details"][0]["loc"] == ["query", "out_trade_no"]


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("9999-12-31", True, datetime.max.replace(tzinfo=UTC)),
        ("9999-12-31T23:59:59-05:00", False, datetime.max.replace(tzinfo=UTC)),
        ("0001-01-01T00:00:00+05:00", False, datetime.min.replace(tzinfo=UTC)),
        ("0001-01-01", False, datetime.min.replace(tzinfo=UTC)),
        ("2026-11-29", True, datetime(2026, 11, 29, 16, 0, tzinfo=UTC)),
        ("2026-11-29T10:00:00", False, datetime(2026, 11, 29, 2, 0, tzinfo=UTC)),
    ],
)
def test_admin_date_bounds_are_utc_and_clamped_at_the_calendars_ends(
    value: str, end: bool, expected: datetime
) -> None:
    assert _moment(value, end=end, name="to") == expected


@pytest.mark.parametrize(
    "cursor",
    [
        "2026-11-29T10:00:00|ord_1",
        "0001-01-01T00:00:00+05:00|ord_1",
        "9999-12-31T23:59:59-05:00|ord_1",
        "2026-11-29T10:00:00+00:00|",
        "2026-11-29T10:00:00+00:00",
        "garbage|ord_1",
    ],
)
def test_a_cursor_we_did_not_write_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        _decode_cursor(cursor)
    assert raised.value.code == "INVALID_CURSOR"


def test_a_cursor_we_wrote_decodes_to_utc() -> None:
    moment, order_id = _decode_cursor("2026-11-29T18:00:00+08:00|ord_1")
    assert (moment, order_id) == (datetime(2026, 11, 29, 10, 0, tzinfo=UTC), "ord_1")


@pytest.mark.parametrize("text", ["\x00", "a\x00", "\ud800"])
def test_request_bodies_refuse_text_no_database_can_store(text: str) -> None:
    for build in (
        lambda: LoginRequest(code=text),
        lambda: RefundCreate(amount_fen=1, reason=text),
        lambda: OrderCreate.model_validate({"items": [{"product_id": text}]}),
    ):
        with pytest.raises(ValidationError):
            build()
