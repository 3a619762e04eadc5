import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mppay.wechatpay.clock import FixedClock
from mppay.wechatpay.errors import (
    AccessTokenRejectedError,
    InvalidCredentialError,
    MalformedMessageError,
    ParamError,
    ServerError,
    ShippingRefusedError,
    ShippingRetryLaterError,
    TransportError,
)
from mppay.wechatpay.miniprogram import (
    Contact,
    DeliveryMode,
    LogisticsType,
    MiniProgramServerClient,
    OrderKey,
    Package,
    ShippingInfo,
)

APPID = "wx8888888888888888"
SECRET = "0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


def answer(payload: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(payload).encode())


class FakeWeChat:
    """Issues numbered tokens; each API call answers what ``api`` says for the token it got."""

    def __init__(self) -> None:
        self.issued = 0
        self.valid: set[str] = set()
        self.calls: list[httpx.Request] = []
        self.api: Callable[[httpx.Request], dict[str, Any]] = lambda request: {"errcode": 0}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.url.path == "/cgi-bin/stable_token":
            self.issued += 1
            token = f"TOKEN{self.issued}"
            self.valid = {token}
            return answer({"access_token": token, "expires_in": 7200})
        if request.url.params.get("access_token") not in self.valid:
            return answer({"errcode": 40001, "errmsg": "invalid credential rid: 6a-1"})
        return answer(self.api(request))


def client_for(fake: Handler, clock: FixedClock | None = None) -> MiniProgramServerClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return MiniProgramServerClient(
        APPID, SECRET, base_url="https://api.example", http=http, clock=clock or FixedClock(T0)
    )


def express(**overrides: Any) -> ShippingInfo:
    fields: dict[str, Any] = {
        "order_key": OrderKey(transaction_id="4200000001"),
        "logistics_type": LogisticsType.EXPRESS,
        "delivery_mode": DeliveryMode.UNIFIED,
        "packages": (Package("拿铁*2", tracking_no="YT1", express_company="YTO"),),
        "payer_openid": "oUser",
        "upload_time": T0,
    }
    fields.update(overrides)
    return ShippingInfo(**fields)


async def test_an_upload_posts_wechats_body_with_the_stable_token() -> None:
    fake = FakeWeChat()
    await client_for(fake).upload_shipping_info(express())
    token_call, upload = fake.calls
    assert json.loads(token_call.content) == {
        "grant_type": "client_credential",
        "appid": APPID,
        "secret": SECRET,
        "force_refresh": False,
    }
    assert upload.url.path == "/wxa/sec/order/upload_shipping_info"
    assert upload.url.params["access_token"] == "TOKEN1"
    assert json.loads(upload.content) == {
        "order_key": {"order_number_type": 2, "transaction_id": "4200000001"},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{"item_desc": "拿铁*2", "tracking_no": "YT1", "express_company": "YTO"}],
        "upload_time": "2026-03-01T10:00:00.000+08:00",
        "payer": {"openid": "oUser"},
    }


async def test_the_token_is_reused_until_shortly_before_it_expires() -> None:
    clock = FixedClock(T0)
    fake = FakeWeChat()
    client = client_for(fake, clock)
    await client.set_msg_jump_path("pages/order/order")
    clock.advance(7200 - 301)
    await client.set_msg_jump_path("pages/order/order")
    assert fake.issued == 1
    clock.advance(2)  # inside the 5-minute margin: replaced before WeChat would refuse it
    await client.set_msg_jump_path("pages/order/order")
    assert fake.issued == 2


async def test_a_rejected_token_is_replaced_once_for_all_concurrent_callers() -> None:
    fake = FakeWeChat()
    client = client_for(fake)
    fake.api = lambda request: {"errcode": 0, "is_trade_managed": True}
    assert await client.is_trade_managed() is True
    fake.valid = set()  # another instance force-refreshed: our TOKEN1 is now stale
    results = await asyncio.gather(*(client.is_trade_managed() for _ in range(8)))
    assert results == [True] * 8
    assert fake.issued == 2  # one replacement shared by all eight callers


async def test_concurrent_first_callers_share_one_token_fetch() -> None:
    fake = FakeWeChat()
    client = client_for(fake)
    await asyncio.gather(*(client.set_msg_jump_path("p") for _ in range(5)))
    assert fake.issued == 1


async def test_a_second_rejection_is_raised_not_retried_forever() -> None:
    calls = {"token": 0}

    def always_stale(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            calls["token"] += 1
            return answer({"access_token": "SAME", "expires_in": 7200})
        return answer({"errcode": 42001, "errmsg": "access_token expired rid: ab-1"})

    with pytest.raises(AccessTokenRejectedError) as caught:
        await client_for(always_stale).set_msg_jump_path("p")
    assert caught.value.code == "42001"
    assert caught.value.request_id == "ab-1"
    assert calls["token"] == 2


@pytest.mark.parametrize(
    ("errcode", "cls"),
    [
        (10060001, ShippingRetryLaterError),
        (10060003, ShippingRefusedError),
        (268485216, ShippingRefusedError),
        (-1, ServerError),
        (10060012, ServerError),
        (47001, ParamError),
    ],
)
async def test_errcodes_name_their_meaning(errcode: int, cls: type[Exception]) -> None:
    fake = FakeWeChat()
    fake.api = lambda request: {"errcode": errcode, "errmsg": "支付单不存在 rid: 1-2"}
    with pytest.raises(cls):
        await client_for(fake).upload_shipping_info(express())


async def test_a_wrong_secret_is_a_credential_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return answer({"errcode": 40125, "errmsg": "invalid appsecret"})

    with pytest.raises(InvalidCredentialError):
        await client_for(refuse).get_delivery_list()


async def test_a_timeout_is_outcome_unknown_and_hides_the_token() -> None:
    fake = FakeWeChat()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/wxa"):
            raise httpx.ReadTimeout("slow", request=request)
        return fake(request)

    with pytest.raises(TransportError) as caught:
        await client_for(handler).upload_shipping_info(express())
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert "TOKEN1" not in str(caught.value)


async def test_get_order_reads_the_shipping_state() -> None:
    fake = FakeWeChat()
    order = {
        "transaction_id": "4200000001",
        "merchant_id": "1900000109",
        "merchant_trade_no": "MP1",
        "openid": "oUser",
        "paid_amount": 3600,
        "pay_time": 1772330400,
        "order_state": 2,
        "in_complaint": False,
        "shipping": {
            "delivery_mode": 1,
            "logistics_type": 1,
            "finish_shipping": True,
            "shipping_list": [
                {"tracking_no": "YT1", "express_company": "YTO", "upload_time": 1772330500}
            ],
        },
    }
    fake.api = lambda request: {"errcode": 0, "order": order}
    got = await client_for(fake).get_order(OrderKey(mchid="1900000109", out_trade_no="MP1"))
    assert json.loads(fake.calls[-1].content) == {
        "merchant_id": "1900000109",
        "merchant_trade_no": "MP1",
    }
    assert got.order_state == 2
    assert got.finish_shipping
    assert got.packages[0].tracking_no == "YT1"


async def test_get_order_list_pages_and_refuses_a_misshapen_answer() -> None:
    fake = FakeWeChat()
    fake.api = lambda request: {"errcode": 0, "order_list": [], "last_index": "x", "has_more": True}
    page = await client_for(fake).get_order_list(order_state=1, last_index="w", page_size=50)
    assert (page.orders, page.last_index, page.has_more) == ((), "x", True)
    assert json.loads(fake.calls[-1].content) == {
        "page_size": 50,
        "order_state": 1,
        "last_index": "w",
    }
    fake.api = lambda request: {"errcode": 0, "order_list": {"not": "a list"}}
    with pytest.raises(MalformedMessageError):
        await client_for(fake).get_order_list()


async def test_other_calls_use_wechats_paths() -> None:
    fake = FakeWeChat()
    fake.api = lambda request: {
        "errcode": 0,
        "completed": False,
        "delivery_list": [{"delivery_id": "SF", "delivery_name": "顺丰速运"}],
    }
    client = client_for(fake)
    assert await client.is_trade_management_confirmation_completed() is False
    assert (await client.get_delivery_list())[0].delivery_id == "SF"
    await client.notify_confirm_receive(OrderKey(transaction_id="42"), T0)
    assert json.loads(fake.calls[-1].content) == {
        "transaction_id": "42",
        "received_time": int(T0.timestamp()),
    }
    paths = [call.url.path for call in fake.calls[1:]]
    assert paths == [
        "/wxa/sec/order/is_trade_management_confirmation_completed",
        "/cgi-bin/express/delivery/open_msg/get_delivery_list",
        "/wxa/sec/order/notify_confirm_receive",
    ]


def test_shipping_rules_are_checked_before_sending() -> None:
    many = tuple(Package("x", tracking_no=f"T{i}", express_company="YTO") for i in range(16))
    with pytest.raises(ValueError, match="1 to 15"):
        express(delivery_mode=DeliveryMode.SPLIT, packages=many, is_all_delivered=True)
    with pytest.raises(ValueError, match="is_all_delivered"):
        express(delivery_mode=DeliveryMode.SPLIT)
    with pytest.raises(ValueError, match="SF Express"):
        express(packages=(Package("x", tracking_no="SF1", express_company="SF"),))
    sf = Package("x", tracking_no="SF1", express_company="SF", contact=Contact(None, "189****1234"))
    assert express(packages=(sf,)).to_dict()["shipping_list"][0]["contact"] == {
        "receiver_contact": "189****1234"
    }
    virtual = express(
        logistics_type=LogisticsType.VIRTUAL, packages=(Package("礼品卡"),), upload_time=T0
    )
    assert virtual.to_dict()["shipping_list"] == [{"item_desc": "礼品卡"}]
    with pytest.raises(ValueError, match="order key"):
        OrderKey()
