"""WeChatPayV3Client against an in-process fake WeChat Pay (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from mppay.wechatpay import errors
from mppay.wechatpay.config import MerchantConfig
from mppay.wechatpay.v3.auth import USER_AGENT
from mppay.wechatpay.v3.client import WeChatPayV3Client
from mppay.wechatpay.v3.models import RefundAmountRequest, RefundRequest
from tests import spec_vectors as v
from tests.unit.wechatpay_v3.helpers import (
    PUBLIC_KEY_ID,
    FakeWeChatPay,
    at,
    check_authorization,
    fixed_nonces,
    make_config,
    make_prepay_request,
    other_platform_key,
)

PREPAY = make_prepay_request()
TRANSACTION_PATH = "/v3/pay/transactions/out-trade-no/1217752501201407033233368018"
REFUND_BODY = {
    "refund_id": "50000000382019052709732678859",
    "out_refund_no": "R20231114001",
    "transaction_id": "4200000000202311140000000001",
    "out_trade_no": "1217752501201407033233368018",
    "channel": "ORIGINAL",
    "user_received_account": "支付用户零钱",
    "create_time": "2023-11-14T22:19:00+08:00",
    "status": "PROCESSING",
    "funds_account": "AVAILABLE",
    "amount": {"total": 100, "refund": 100, "payer_total": 100, "payer_refund": 100},
}


@asynccontextmanager
async def client_for(
    server: FakeWeChatPay, config: MerchantConfig | None = None, *nonces: str, **kwargs: Any
) -> AsyncIterator[WeChatPayV3Client]:
    async with (
        server.http() as http,
        WeChatPayV3Client(
            config or make_config(),
            http=http,
            clock=server.clock,
            nonce_factory=fixed_nonces(*(nonces or ("NONCE000000000000000000000000001",))),
            **kwargs,
        ) as client,
    ):
        yield client


async def test_prepay_sends_vector_7_5_b_bytes_and_authorization_exactly() -> None:
    server = FakeWeChatPay(at(v.V3_TIMESTAMP_75B))
    server.reply("POST", "/v3/pay/transactions/jsapi", body=v.V3_RESPONSE_76A_BODY)
    async with client_for(server, None, v.V3_NONCE_75B) as client:
        prepay = await client.prepay_jsapi(PREPAY)
    assert prepay.prepay_id == "wx201410272009395522657a690389285100"
    (request,) = server.requests
    assert request.url == "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi"
    assert request.content == v.V3_BODY_75B.encode()
    assert request.headers["Authorization"] == v.V3_AUTH_75B
    check_authorization(request)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Wechatpay-Serial"] == PUBLIC_KEY_ID


async def test_query_by_out_trade_no_signs_path_and_query_like_vector_7_5_c() -> None:
    server = FakeWeChatPay(at(1700000100))
    server.reply("GET", TRANSACTION_PATH, body=v.V3_NOTIFY_PLAINTEXT_78)
    async with client_for(server, None, "8E1C6A2D4B3F5E7A9C0B1D2E3F4A5B6C") as client:
        transaction = await client.query_order_by_out_trade_no("1217752501201407033233368018")
    assert transaction.trade_state == "SUCCESS"
    (request,) = server.requests
    assert request.url.raw_path == (
        b"/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109"
    )
    assert request.content == b""
    assert check_authorization(request)["signature"] == v.V3_SIG_75C


async def test_query_by_transaction_id_uses_the_id_path() -> None:
    server = FakeWeChatPay(at(1700000100))
    server.reply(
        "GET", "/v3/pay/transactions/id/4200000000202311140000000001", body=v.V3_NOTIFY_PLAINTEXT_78
    )
    async with client_for(server) as client:
        transaction = await client.query_order_by_transaction_id("4200000000202311140000000001")
    assert transaction.transaction_id == "4200000000202311140000000001"
    assert server.requests[0].url.params["mchid"] == v.V3_MCHID


async def test_path_identifiers_are_percent_encoded_and_signed_as_sent() -> None:
    server = FakeWeChatPay(at(1700000100))
    server.reply(
        "GET", "/v3/pay/transactions/out-trade-no/ab|c*d-e_f", body=v.V3_NOTIFY_PLAINTEXT_78
    )
    async with client_for(server) as client:
        await client.query_order_by_out_trade_no("ab|c*d-e_f")
    request = server.requests[0]
    assert request.url.raw_path.startswith(b"/v3/pay/transactions/out-trade-no/ab%7Cc%2Ad-e_f?")
    check_authorization(request)


async def test_close_order_posts_mchid_and_accepts_the_signed_empty_204_of_vector_7_6_b() -> None:
    server = FakeWeChatPay(at(int(v.V3_RESPONSE_76B_TIMESTAMP)))
    server.reply(
        "POST",
        f"{TRANSACTION_PATH}/close",
        status=204,
        signed=False,
        headers={
            "Wechatpay-Timestamp": v.V3_RESPONSE_76B_TIMESTAMP,
            "Wechatpay-Nonce": v.V3_RESPONSE_76B_NONCE,
            "Wechatpay-Serial": PUBLIC_KEY_ID,
            "Wechatpay-Signature": v.V3_RESPONSE_76B_SIGNATURE,
        },
    )
    async with client_for(server) as client:
        await client.close_order("1217752501201407033233368018")
    (request,) = server.requests
    assert request.content == b'{"mchid":"1230000109"}'
    check_authorization(request)


async def test_an_unsigned_204_for_close_is_untrusted() -> None:
    server = FakeWeChatPay(at(1700000200))
    server.reply("POST", f"{TRANSACTION_PATH}/close", status=204, signed=False)
    async with client_for(server) as client:
        with pytest.raises(errors.UntrustedResponseError) as caught:
            await client.close_order("1217752501201407033233368018")
    assert isinstance(caught.value.__cause__, errors.MissingHeaderError)
    assert isinstance(caught.value, errors.OutcomeUnknownError)
    assert caught.value.request_id == "08F1B2C3D4E5-REQ"


async def test_an_unsigned_200_is_untrusted_and_its_body_is_not_used() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/pay/transactions/jsapi", body=v.V3_RESPONSE_76A_BODY, signed=False)
    async with client_for(server) as client:
        with pytest.raises(errors.UntrustedResponseError) as caught:
            await client.prepay_jsapi(PREPAY)
    assert isinstance(caught.value.__cause__, errors.MissingHeaderError)


async def test_a_response_signed_with_another_key_is_untrusted() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "POST", "/v3/pay/transactions/jsapi", body=v.V3_RESPONSE_76A_BODY, key=other_platform_key()
    )
    async with client_for(server) as client:
        with pytest.raises(errors.UntrustedResponseError) as caught:
            await client.prepay_jsapi(PREPAY)
    assert isinstance(caught.value.__cause__, errors.SignatureMismatchError)


async def test_a_response_five_minutes_old_is_untrusted() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/pay/transactions/jsapi", body=v.V3_RESPONSE_76A_BODY)
    async with (
        server.http() as http,
        WeChatPayV3Client(make_config(), http=http, clock=at(1700000300)) as client,
    ):
        with pytest.raises(errors.UntrustedResponseError) as caught:
            await client.prepay_jsapi(PREPAY)
    assert isinstance(caught.value.__cause__, errors.TimestampSkewError)


async def test_a_signed_2xx_with_a_malformed_body_is_malformed_not_a_refusal() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/pay/transactions/jsapi", body='{"prepay":"x"}')
    async with client_for(server) as client:
        with pytest.raises(errors.MalformedMessageError) as caught:
            await client.prepay_jsapi(PREPAY)
    assert not isinstance(caught.value, errors.ApiError)
    assert caught.value.status_code == 200
    assert caught.value.request_id == "08F1B2C3D4E5-REQ"
    assert "outcome as unknown" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "error_class", "code"),
    [
        (
            400,
            {
                "code": "PARAM_ERROR",
                "message": "输入源“/body/appid”映射到字段“公众号ID”必填性规则校验失败，此字段为必填项",
                "detail": {"location": "body", "value": ""},
            },
            errors.ParamError,
            "PARAM_ERROR",
        ),
        (
            404,
            {"code": "ORDER_NOT_EXIST", "message": "订单不存在"},
            errors.OrderNotFoundError,
            "ORDER_NOT_EXIST",
        ),
        (
            401,
            {"code": "SIGN_ERROR", "message": "签名错误"},
            errors.SignRejectedError,
            "SIGN_ERROR",
        ),
        (
            429,
            {"code": "FREQUENCY_LIMITED", "message": "频率超限"},
            errors.FrequencyLimitedError,
            "FREQUENCY_LIMITED",
        ),
        (500, {"code": "SYSTEM_ERROR", "message": "系统错误"}, errors.ServerError, "SYSTEM_ERROR"),
        (403, {"code": "NO_AUTH", "message": "商户无权限"}, errors.AuthorizationError, "NO_AUTH"),
        (
            400,
            {"code": "ORDER_CLOSED", "message": "订单已关闭"},
            errors.OrderClosedError,
            "ORDER_CLOSED",
        ),
    ],
)
async def test_error_bodies_map_to_the_class_that_names_them(
    status: int, body: dict[str, Any], error_class: type[errors.WeChatPayError], code: str
) -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("GET", TRANSACTION_PATH, status=status, body=body, signed=False)
    async with client_for(server) as client:
        with pytest.raises(error_class) as caught:
            await client.query_order_by_out_trade_no("1217752501201407033233368018")
    error = caught.value
    assert type(error) is error_class
    assert error.code == code
    assert error.status_code == status
    assert error.request_id == "08F1B2C3D4E5-REQ"
    assert error.message == body["message"]
    assert error.detail == body.get("detail")


async def test_a_non_json_5xx_is_a_server_error_with_an_excerpt() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET", TRANSACTION_PATH, status=502, body="<html>Bad   Gateway" + "x" * 1000, signed=False
    )
    async with client_for(server) as client:
        with pytest.raises(errors.ServerError) as caught:
            await client.query_order_by_out_trade_no("1217752501201407033233368018")
    assert caught.value.code is None
    assert "<html>Bad Gateway" in caught.value.message
    assert len(caught.value.message) < 300


async def test_202_accepted_is_outcome_unknown() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/refund/domestic/refunds", status=202, signed=False)
    request = RefundRequest(
        out_refund_no="R1",
        out_trade_no="1217752501201407033233368018",
        amount=RefundAmountRequest(refund=1, total=100),
    )
    async with client_for(server) as client:
        with pytest.raises(errors.ServerError) as caught:
            await client.create_refund(request)
    assert caught.value.status_code == 202
    assert isinstance(caught.value, errors.OutcomeUnknownError)


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("read timed out"), httpx.ConnectError("connection refused")],
)
async def test_transport_failures_are_transport_errors(failure: Exception) -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/pay/transactions/jsapi", error=failure)
    async with client_for(server) as client:
        with pytest.raises(errors.TransportError) as caught:
            await client.prepay_jsapi(PREPAY)
    assert caught.value.__cause__ is failure
    assert isinstance(caught.value, errors.OutcomeUnknownError)


async def test_create_and_query_refund_round_trip() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/refund/domestic/refunds", body=REFUND_BODY)
    server.reply("GET", "/v3/refund/domestic/refunds/R20231114001", body=REFUND_BODY)
    request = RefundRequest(
        out_refund_no="R20231114001",
        out_trade_no="1217752501201407033233368018",
        reason="商品已售完",
        notify_url="https://example.com/wxpay/refund-notify",
        amount=RefundAmountRequest(refund=100, total=100),
    )
    async with client_for(server) as client:
        created = await client.create_refund(request)
        queried = await client.query_refund("R20231114001")
    assert created == queried
    assert created.status == "PROCESSING"
    post = server.requests[0]
    assert (
        post.content
        == (
            '{"out_trade_no":"1217752501201407033233368018","out_refund_no":"R20231114001",'
            '"reason":"商品已售完","notify_url":"https://example.com/wxpay/refund-notify",'
            '"amount":{"refund":100,"total":100,"currency":"CNY"}}'
        ).encode()
    )
    check_authorization(post)
    check_authorization(server.requests[1])


async def test_an_unknown_refund_is_resource_not_found() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply(
        "GET",
        "/v3/refund/domestic/refunds/R404",
        status=404,
        body={"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"},
        signed=False,
    )
    async with client_for(server) as client:
        with pytest.raises(errors.ResourceNotFoundError):
            await client.query_refund("R404")


def test_request_payment_params_reproduce_vector_7_7() -> None:
    config = make_config(appid=v.V3_PAY_APPID_77)
    client = WeChatPayV3Client(
        config,
        http=httpx.AsyncClient(),
        clock=at(int(v.V3_PAY_TIMESTAMP_77)),
        nonce_factory=fixed_nonces(v.V3_PAY_NONCE_77),
    )
    params = client.request_payment_params("wx201410272009395522657a690389285100")
    assert params.pay_sign == v.V3_PAY_SIGN_77
    assert params.to_dict(include_app_id=True) == {
        "appId": v.V3_PAY_APPID_77,
        "timeStamp": v.V3_PAY_TIMESTAMP_77,
        "nonceStr": v.V3_PAY_NONCE_77,
        "package": v.V3_PAY_PACKAGE_77,
        "signType": "RSA",
        "paySign": v.V3_PAY_SIGN_77,
    }


async def test_the_client_applies_its_timeout_to_every_request() -> None:
    server = FakeWeChatPay(at(1700000000))
    server.reply("POST", "/v3/pay/transactions/jsapi", body=v.V3_RESPONSE_76A_BODY)
    async with client_for(server, None, timeout=httpx.Timeout(3.0, connect=1.0)) as client:
        await client.prepay_jsapi(PREPAY)
    assert server.requests[0].extensions["timeout"] == {
        "connect": 1.0,
        "read": 3.0,
        "write": 3.0,
        "pool": 3.0,
    }


async def test_a_client_without_http_builds_and_closes_its_own() -> None:
    client = WeChatPayV3Client(make_config())
    await client.aclose()


def test_a_client_without_a_signing_key_is_a_configuration_error() -> None:
    config = make_config(merchant_private_key=None, merchant_serial_no=None)
    with pytest.raises(errors.ConfigurationError):
        WeChatPayV3Client(config)


async def test_parse_notification_accepts_vector_7_8_for_this_merchant() -> None:
    server = FakeWeChatPay(at(int(v.V3_NOTIFY_HEADERS_78["Wechatpay-Timestamp"])))
    async with client_for(server) as client:
        event = await client.parse_notification(
            v.V3_NOTIFY_HEADERS_78, v.V3_NOTIFY_BODY_78.encode()
        )
    assert event.resource.mchid == v.V3_MCHID
    assert server.requests == []


async def test_parse_notification_refuses_a_resource_for_another_app() -> None:
    server = FakeWeChatPay(at(int(v.V3_NOTIFY_HEADERS_78["Wechatpay-Timestamp"])))
    async with client_for(server, make_config(appid="wx0000000000000000")) as client:
        with pytest.raises(errors.MalformedMessageError, match="another merchant"):
            await client.parse_notification(v.V3_NOTIFY_HEADERS_78, v.V3_NOTIFY_BODY_78.encode())
