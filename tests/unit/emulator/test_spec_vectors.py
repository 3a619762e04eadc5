"""The emulator reproduces the spec §7 vectors with its own code (no mppay.wechatpay)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mppay.emulator import Emulator, SandboxClock, create_app
from mppay.emulator.auth import parse_authorization, signature_headers
from mppay.emulator.bills import HEADERS
from mppay.emulator.cashier import Cashier
from mppay.emulator.crypto import (
    aes_ecb_encrypt_req_info,
    load_private_key,
    rsa_verify,
    sha1_hex,
    v2_sign,
    v2_sign_string,
)
from mppay.emulator.messages import dumps, transaction_json, v3_notification_body
from mppay.emulator.state import Order
from mppay.emulator.xmlcodec import build_cdata_xml, parse_xml
from tests import spec_vectors as v

PUBLIC_KEY_ID = v.V3_NOTIFY_HEADERS_78["Wechatpay-Serial"]


class MovableWall:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def spec_emulator(wall: MovableWall, *, key_mode: str = "public_key") -> Emulator:
    emulator = Emulator(wall_clock=wall, clock=SandboxClock(start=wall.now))
    emulator.create_merchant(
        key_mode=key_mode,
        mchid=v.V3_MCHID,
        appid=v.V3_APPID,
        api_v3_key=v.V3_API_KEY_78,
        api_v2_key=v.V2_KEY,
        merchant_private_key_pem=v.MERCHANT_KEY_PEM,
        merchant_serial_no=v.V3_MERCHANT_SERIAL,
        wechatpay_private_key_pem=v.PLATFORM_KEY_PEM,
        wechatpay_public_key_id=PUBLIC_KEY_ID,
        platform_private_key_pem=v.PLATFORM_KEY_PEM,
    )
    return emulator


def client_for(emulator: Emulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(emulator)),
        base_url="https://api.mch.weixin.qq.com",
    )


async def test_a_request_signed_as_in_7_5b_is_accepted_at_its_timestamp() -> None:
    wall = MovableWall(v.V3_TIMESTAMP_75B)
    async with client_for(spec_emulator(wall)) as client:
        response = await client.post(
            "/v3/pay/transactions/jsapi",
            content=v.V3_BODY_75B.encode(),
            headers={"Authorization": v.V3_AUTH_75B, "Content-Type": "application/json"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["prepay_id"].startswith("wx")


async def test_the_7_5b_request_is_refused_five_minutes_later_with_the_skew_message() -> None:
    wall = MovableWall(v.V3_TIMESTAMP_75B + 300)
    async with client_for(spec_emulator(wall)) as client:
        response = await client.post(
            "/v3/pay/transactions/jsapi",
            content=v.V3_BODY_75B.encode(),
            headers={"Authorization": v.V3_AUTH_75B},
        )
    assert response.status_code == 401
    assert response.json() == {
        "code": "SIGN_ERROR",
        "message": "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟",
    }


async def test_a_request_signed_as_in_7_5a_and_7_5c_is_accepted_with_params_in_any_order() -> None:
    wall = MovableWall(1554208460)
    emulator = spec_emulator(wall, key_mode="certificate")
    auth_a = (
        f'WECHATPAY2-SHA256-RSA2048 signature="{v.V3_SIG_75A}",serial_no="{v.V3_MERCHANT_SERIAL}",'
        f'timestamp="1554208460",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",mchid="{v.V3_MCHID}"'
    )
    async with client_for(emulator) as client:
        certificates = await client.get("/v3/certificates", headers={"Authorization": auth_a})
        wall.now = 1700000100
        auth_c = (
            f'WECHATPAY2-SHA256-RSA2048 timestamp="1700000100",mchid="{v.V3_MCHID}",'
            f'nonce_str="8E1C6A2D4B3F5E7A9C0B1D2E3F4A5B6C",signature="{v.V3_SIG_75C}",serial_no="{v.V3_MERCHANT_SERIAL}"'
        )
        query = await client.get(
            "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109",
            headers={"Authorization": auth_c},
        )
    assert certificates.status_code == 200, certificates.text
    assert query.status_code == 404  # authenticated; the order was never created here
    assert query.json()["code"] == "ORDER_NOT_EXIST"


def test_authorization_parameters_parse_in_any_order() -> None:
    params = parse_authorization(v.V3_AUTH_75B)
    assert params["signature"] == v.V3_SIG_75B
    assert params["timestamp"] == str(v.V3_TIMESTAMP_75B)


@pytest.mark.parametrize(
    ("body", "timestamp", "nonce", "expected"),
    [
        (
            v.V3_RESPONSE_76A_BODY.encode(),
            v.V3_RESPONSE_76A_TIMESTAMP,
            v.V3_RESPONSE_76A_NONCE,
            v.V3_RESPONSE_76A_SIGNATURE,
        ),
        (b"", v.V3_RESPONSE_76B_TIMESTAMP, v.V3_RESPONSE_76B_NONCE, v.V3_RESPONSE_76B_SIGNATURE),
    ],
    ids=["7.6a-200", "7.6b-204-empty-body"],
)
def test_response_signing_reproduces_7_6(
    body: bytes, timestamp: str, nonce: str, expected: str
) -> None:
    headers = signature_headers(
        load_private_key(v.PLATFORM_KEY_PEM), "S", body, timestamp=timestamp, nonce=nonce
    )
    assert headers["Wechatpay-Signature"] == expected
    assert headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"


def _order_78() -> Order:
    return Order(
        mchid=v.V3_MCHID,
        appid=v.V3_APPID,
        out_trade_no="1217752501201407033233368018",
        api="v3",
        sign_type="RSA",
        description="Image形象店-深圳腾大-QQ公仔",
        total=100,
        currency="CNY",
        openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        notify_url="https://www.weixin.qq.com/wxpay/pay.php",
        attach="",
        fingerprint="",
        created_at=1699971000,
        time_expire=1699971000 + 7200,
        trade_state="SUCCESS",
        transaction_id="4200000000202311140000000001",
        success_time=1699971210,
    )


def test_the_transaction_resource_of_a_paid_order_is_byte_identical_to_7_8() -> None:
    assert (
        dumps(transaction_json(_order_78(), for_query=False)) == v.V3_NOTIFY_PLAINTEXT_78.encode()
    )


def test_notification_encryption_and_signing_reproduce_7_8() -> None:
    body = v3_notification_body(
        event_type="TRANSACTION.SUCCESS",
        resource_plaintext=v.V3_NOTIFY_PLAINTEXT_78.encode(),
        api_v3_key=v.V3_API_KEY_78,
        notification_id="EV-2018022511223320873",
        create_time="2023-11-14T22:13:31+08:00",
        nonce=v.V3_NOTIFY_NONCE_78,
    )
    assert body == v.V3_NOTIFY_BODY_78.encode()
    assert json.loads(body)["resource"]["ciphertext"] == v.V3_NOTIFY_CIPHERTEXT_78
    headers = signature_headers(
        load_private_key(v.PLATFORM_KEY_PEM),
        PUBLIC_KEY_ID,
        body,
        timestamp=v.V3_NOTIFY_HEADERS_78["Wechatpay-Timestamp"],
        nonce=v.V3_NOTIFY_HEADERS_78["Wechatpay-Nonce"],
    )
    assert headers == {k: v.V3_NOTIFY_HEADERS_78[k] for k in headers}
    plaintext = AESGCM(v.V3_API_KEY_78.encode()).decrypt(
        v.V3_NOTIFY_NONCE_78.encode(),
        base64.b64decode(v.V3_NOTIFY_CIPHERTEXT_78),
        b"transaction",
    )
    assert plaintext == v.V3_NOTIFY_PLAINTEXT_78.encode()


def test_v2_signatures_reproduce_7_2_and_7_4() -> None:
    assert v2_sign(v.V2_PARAMS_72, v.V2_KEY) == v.V2_MD5_72
    assert v2_sign(v.V2_PARAMS_72, v.V2_KEY, "HMAC-SHA256") == v.V2_HMAC_72
    assert v2_sign(v.V2_PARAMS_72_EXTRA, v.V2_KEY) == v.V2_MD5_72_EXTRA
    assert v2_sign(v.V2_PARAMS_72_EXTRA, v.V2_KEY, "HMAC-SHA256") == v.V2_HMAC_72_EXTRA
    assert v2_sign_string(v.V2_PARAMS_74, v.V2_KEY) == v.V2_STRING_74
    assert v2_sign(v.V2_PARAMS_74, v.V2_KEY) == v.V2_MD5_74


@pytest.mark.parametrize(
    ("sign_type", "expected"), [("MD5", v.V2_PAY_MD5_73), ("HMAC-SHA256", v.V2_PAY_HMAC_73)]
)
def test_v2_pay_sign_reproduces_7_3(sign_type: str, expected: str) -> None:
    params = {**v.V2_PAY_PARAMS_73, "signType": sign_type}
    assert v2_sign(params, v.V2_PAY_KEY_73, sign_type) == expected


def test_the_cashier_accepts_the_7_7_v3_pay_sign() -> None:
    emulator = spec_emulator(MovableWall(1414561699))
    merchant = emulator.state.merchants[v.V3_MCHID]
    params = {
        "appId": v.V3_PAY_APPID_77,
        "timeStamp": v.V3_PAY_TIMESTAMP_77,
        "nonceStr": v.V3_PAY_NONCE_77,
        "package": v.V3_PAY_PACKAGE_77,
        "paySign": v.V3_PAY_SIGN_77,
    }
    assert Cashier._sign_ok(params, merchant, "v3")
    assert not Cashier._sign_ok({**params, "nonceStr": "x"}, merchant, "v3")


def test_req_info_encryption_reproduces_7_10() -> None:
    assert aes_ecb_encrypt_req_info(v.V2_KEY, v.V2_REQ_INFO_PLAINTEXT_710.encode()) == (
        v.V2_REQ_INFO_710
    )
    fields = parse_xml(v.V2_REQ_INFO_PLAINTEXT_710.encode(), root="root")
    assert build_cdata_xml(dict(sorted(fields.items())), root="root") == (
        v.V2_REQ_INFO_PLAINTEXT_710.encode()
    )


def test_bill_digest_reproduces_7_11_and_headers_start_like_the_spec() -> None:
    assert sha1_hex(v.BILL_711.encode()) == v.BILL_711_SHA1
    assert HEADERS["ALL"].startswith("交易时间,公众账号ID,商户号,")
    assert len(HEADERS["ALL"].split(",")) == 27


def test_the_platform_public_key_verifies_what_the_emulator_signs() -> None:
    from mppay.emulator.crypto import load_public_key

    headers = signature_headers(
        load_private_key(v.PLATFORM_KEY_PEM), "S", b"{}", timestamp="1", nonce="n"
    )
    assert rsa_verify(
        load_public_key(v.PLATFORM_PUBLIC_KEY_PEM), b"1\nn\n{}\n", headers["Wechatpay-Signature"]
    )
