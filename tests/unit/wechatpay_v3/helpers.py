"""Plain factories and a fake WeChat Pay server for the API v3 tests.

The fake signs and encrypts with ``cryptography`` directly, never with the library under
test, so a mistake in the library cannot be mirrored here.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from mppay.wechatpay.clock import FixedClock
from mppay.wechatpay.config import MerchantConfig
from mppay.wechatpay.keys import load_private_key, load_public_key
from mppay.wechatpay.v3.models import Amount, JsapiPrepayRequest, Payer
from tests import spec_vectors as v

MERCHANT_KEY = load_private_key(v.MERCHANT_KEY_PEM)
PLATFORM_KEY = load_private_key(v.PLATFORM_KEY_PEM)
PLATFORM_PUBLIC_KEY = load_public_key(v.PLATFORM_PUBLIC_KEY_PEM)
PUBLIC_KEY_ID = v.V3_NOTIFY_HEADERS_78["Wechatpay-Serial"]
PLATFORM_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
API_V3_KEY = v.V3_API_KEY_78
NOW = 1_700_000_000
BASE_URL = "https://api.mch.weixin.qq.com"


@lru_cache(maxsize=1)
def other_platform_key() -> rsa.RSAPrivateKey:
    """A second WeChat-side key, for rotation and wrong-key tests (generated once per run)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_config(**overrides: Any) -> MerchantConfig:
    """The merchant of the spec vectors, with the public key mode configured by default."""
    fields: dict[str, Any] = {
        "mchid": v.V3_MCHID,
        "appid": v.V3_APPID,
        "merchant_serial_no": v.V3_MERCHANT_SERIAL,
        "merchant_private_key": MERCHANT_KEY,
        "api_v3_key": API_V3_KEY,
        "wechatpay_public_key": PLATFORM_PUBLIC_KEY,
        "wechatpay_public_key_id": PUBLIC_KEY_ID,
    }
    fields.update(overrides)
    return MerchantConfig(**fields)


def make_prepay_request(**overrides: Any) -> JsapiPrepayRequest:
    """The order of spec vector 7.5(b), without appid/mchid (the client adds them)."""
    fields: dict[str, Any] = {
        "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": "1217752501201407033233368018",
        "notify_url": "https://www.weixin.qq.com/wxpay/pay.php",
        "amount": Amount(total=100),
        "payer": Payer(openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
    }
    fields.update(overrides)
    return JsapiPrepayRequest.model_validate(fields)


def make_certificate(
    key: rsa.RSAPrivateKey = PLATFORM_KEY,
    serial: str = PLATFORM_SERIAL,
    not_before: datetime = datetime(2023, 1, 1, tzinfo=UTC),
    not_after: datetime = datetime(2028, 1, 1, tzinfo=UTC),
) -> x509.Certificate:
    """A self-signed platform certificate with the given serial (hex) and validity."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA test")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(serial, 16))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_headers(
    body: bytes,
    *,
    timestamp: int = NOW,
    nonce: str = "9e4c3b2a1f0d8e7c6b5a4f3e2d1c0b9a",
    serial: str = PUBLIC_KEY_ID,
    key: rsa.RSAPrivateKey = PLATFORM_KEY,
) -> dict[str, str]:
    """The Wechatpay-* headers WeChat puts on a response or notification with this body."""
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Wechatpay-Signature": rsa_sign(key, message),
    }


def aes_gcm_seal(
    plaintext: bytes, *, key: str = API_V3_KEY, nonce: str = "0123456789ab", aad: str = ""
) -> str:
    return base64.b64encode(
        AESGCM(key.encode()).encrypt(nonce.encode(), plaintext, aad.encode())
    ).decode()


def certificate_list_body(
    certificates: list[x509.Certificate], *, key: str = API_V3_KEY, serial_no: str | None = None
) -> bytes:
    """A ``GET /v3/certificates`` body holding ``certificates``, each AES-GCM sealed."""
    data = []
    for index, certificate in enumerate(certificates):
        nonce = f"nonce{index:07d}"
        data.append(
            {
                "serial_no": serial_no or format(certificate.serial_number, "X"),
                "effective_time": "2023-01-01T08:00:00+08:00",
                "expire_time": "2028-01-01T08:00:00+08:00",
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": nonce,
                    "associated_data": "certificate",
                    "ciphertext": aes_gcm_seal(
                        certificate_pem(certificate), key=key, nonce=nonce, aad="certificate"
                    ),
                },
            }
        )
    return json.dumps({"data": data}).encode()


_AUTH = re.compile(r"WECHATPAY2-SHA256-RSA2048 (?P<params>.*)")
_PARAM = re.compile(r'(\w+)="([^"]*)"')


def check_authorization(request: httpx.Request) -> dict[str, str]:
    """Parse ``Authorization`` and verify it with the merchant public key over the rebuilt
    five-line message; returns the parameters. Raises ``InvalidSignature`` when it does not
    verify."""
    match = _AUTH.fullmatch(request.headers["Authorization"])
    assert match is not None, request.headers["Authorization"]
    params = dict(_PARAM.findall(match["params"]))
    message = (
        (
            f"{request.method}\n{request.url.raw_path.decode()}\n{params['timestamp']}\n"
            f"{params['nonce_str']}\n"
        ).encode()
        + request.content
        + b"\n"
    )
    MERCHANT_KEY.public_key().verify(
        base64.b64decode(params["signature"]), message, padding.PKCS1v15(), hashes.SHA256()
    )
    return params


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    signed: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    serial: str = PUBLIC_KEY_ID
    key: rsa.RSAPrivateKey = PLATFORM_KEY
    error: Exception | None = None


class FakeWeChatPay:
    """Answers queued replies per (method, path) and records every request it receives."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self._replies: dict[tuple[str, str], list[Reply]] = {}

    def reply(self, method: str, path: str, **kwargs: Any) -> None:
        body = kwargs.pop("body", b"")
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False).encode()
        elif isinstance(body, str):
            body = body.encode()
        self._replies.setdefault((method, path), []).append(Reply(body=body, **kwargs))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self._replies.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"code": "NOT_FOUND", "message": "no fake route"})
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if reply.error is not None:
            raise reply.error
        headers = {"Request-ID": "08F1B2C3D4E5-REQ", **reply.headers}
        if reply.signed:
            timestamp = int(self.clock.now().timestamp())
            headers.update(
                signed_headers(reply.body, timestamp=timestamp, serial=reply.serial, key=reply.key)
            )
        return httpx.Response(reply.status, content=reply.body, headers=headers)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


def fixed_nonces(*nonces: str) -> Callable[[], str]:
    """A nonce factory returning ``nonces`` in turn (the last one repeats)."""
    remaining = list(nonces)

    def next_nonce() -> str:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return next_nonce


def at(timestamp: int) -> FixedClock:
    return FixedClock(datetime.fromtimestamp(timestamp, UTC))


def days(n: float) -> timedelta:
    return timedelta(days=n)
