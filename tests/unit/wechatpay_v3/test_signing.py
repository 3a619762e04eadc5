"""Request signing and paySign against spec §7.5 and §7.7."""

from __future__ import annotations

import httpx
import pytest

from mppay.wechatpay.errors import ConfigurationError
from mppay.wechatpay.v3.auth import USER_AGENT, WeChatPayV3Auth
from mppay.wechatpay.v3.signing import (
    RequestSigner,
    build_authorization,
    build_pay_sign_message,
    build_request_message,
    sign_message,
)
from tests import spec_vectors as v
from tests.unit.wechatpay_v3.helpers import MERCHANT_KEY, at, check_authorization, fixed_nonces


def make_signer(timestamp: int, nonce: str) -> RequestSigner:
    return RequestSigner(
        v.V3_MCHID,
        v.V3_MERCHANT_SERIAL,
        MERCHANT_KEY,
        clock=at(timestamp),
        nonce_factory=fixed_nonces(nonce),
    )


def test_vector_7_5_a_get_without_query_signs_to_the_published_signature() -> None:
    message = build_request_message(
        "GET", "/v3/certificates", 1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242", b""
    )
    assert message == v.V3_SIG_75A_MESSAGE.encode()
    assert sign_message(MERCHANT_KEY, message) == v.V3_SIG_75A


def test_vector_7_5_b_post_jsapi_signs_and_builds_the_exact_authorization_header() -> None:
    body = v.V3_BODY_75B.encode()
    message = build_request_message(
        "POST", "/v3/pay/transactions/jsapi", v.V3_TIMESTAMP_75B, v.V3_NONCE_75B, body
    )
    assert message == b"POST\n/v3/pay/transactions/jsapi\n1700000000\n" + (
        v.V3_NONCE_75B.encode() + b"\n" + body + b"\n"
    )
    assert sign_message(MERCHANT_KEY, message) == v.V3_SIG_75B
    signer = make_signer(v.V3_TIMESTAMP_75B, v.V3_NONCE_75B)
    assert signer.authorization("POST", "/v3/pay/transactions/jsapi", body) == v.V3_AUTH_75B


def test_vector_7_5_c_get_with_query_signs_path_and_query() -> None:
    message = build_request_message(
        "GET",
        "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109",
        1700000100,
        "8E1C6A2D4B3F5E7A9C0B1D2E3F4A5B6C",
        b"",
    )
    assert message == v.V3_SIG_75C_MESSAGE.encode()
    assert sign_message(MERCHANT_KEY, message) == v.V3_SIG_75C


def test_method_is_upper_cased_in_the_message() -> None:
    assert build_request_message("get", "/x", 1, "N", b"").startswith(b"GET\n")


def test_authorization_parameters_follow_wechatpay_go_order_without_spaces() -> None:
    header = build_authorization(
        mchid="1", nonce_str="N", timestamp=2, serial_no="S", signature="a+b/c="
    )
    assert header == (
        'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="N",timestamp="2",'
        'serial_no="S",signature="a+b/c="'
    )


@pytest.mark.parametrize("nonce", ['ab"cd', "ab,cd", "ab cd", "ab\ncd", "", "X" * 33])
def test_a_nonce_that_would_break_the_header_or_message_is_refused(nonce: str) -> None:
    signer = make_signer(1700000000, nonce)
    with pytest.raises(ConfigurationError):
        signer.authorization("GET", "/v3/certificates", b"")


def test_vector_7_7_pay_sign_matches_and_params_are_strings() -> None:
    message = build_pay_sign_message(
        v.V3_PAY_APPID_77, v.V3_PAY_TIMESTAMP_77, v.V3_PAY_NONCE_77, v.V3_PAY_PACKAGE_77
    )
    assert sign_message(MERCHANT_KEY, message) == v.V3_PAY_SIGN_77
    signer = make_signer(int(v.V3_PAY_TIMESTAMP_77), v.V3_PAY_NONCE_77)
    params = signer.request_payment(v.V3_PAY_APPID_77, "wx201410272009395522657a690389285100")
    assert params.to_dict() == {
        "timeStamp": "1414561699",
        "nonceStr": v.V3_PAY_NONCE_77,
        "package": v.V3_PAY_PACKAGE_77,
        "signType": "RSA",
        "paySign": v.V3_PAY_SIGN_77,
    }


def test_signer_repr_does_not_show_the_key() -> None:
    assert "PRIVATE" not in repr(make_signer(1, "N"))
    assert "***" in repr(make_signer(1, "N"))


def test_auth_signs_the_percent_encoded_path_query_and_exact_body() -> None:
    auth = WeChatPayV3Auth(make_signer(1700000000, "NONCE1"), lambda: "PUB_KEY_ID_01")
    request = httpx.Request(
        "POST",
        "https://api.mch.weixin.qq.com/v3/x/a%7Cb/close?mchid=1230000109&q=a b",
        content=b'{"mchid":"1230000109"}',
    )
    flow = auth.sync_auth_flow(request)
    signed = next(flow)
    params = check_authorization(signed)
    assert signed.url.raw_path == b"/v3/x/a%7Cb/close?mchid=1230000109&q=a%20b"
    assert params == {
        "mchid": v.V3_MCHID,
        "nonce_str": "NONCE1",
        "timestamp": "1700000000",
        "serial_no": v.V3_MERCHANT_SERIAL,
        "signature": params["signature"],
    }
    assert signed.headers["Wechatpay-Serial"] == "PUB_KEY_ID_01"
    assert signed.headers["Accept"] == "application/json"
    assert signed.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("mppay/")


def test_auth_omits_wechatpay_serial_when_no_wechat_key_is_known() -> None:
    auth = WeChatPayV3Auth(make_signer(1700000000, "NONCE1"), lambda: None)
    request = httpx.Request("GET", "https://api.mch.weixin.qq.com/v3/certificates")
    signed = next(auth.sync_auth_flow(request))
    assert "Wechatpay-Serial" not in signed.headers
    check_authorization(signed)


async def test_auth_works_as_the_auth_of_an_async_client() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    auth = WeChatPayV3Auth(make_signer(1700000000, "NONCE2"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as http:
        await http.post("https://api.mch.weixin.qq.com/v3/y", content=b"{}")
    params = check_authorization(seen[0])
    assert params["nonce_str"] == "NONCE2"
