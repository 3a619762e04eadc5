"""v3 request authentication and response/notification signing (§2.2, §2.3, §2.12).

Requests: ``Authorization: WECHATPAY2-SHA256-RSA2048 k="v",...`` with the five parameters in any
order; the signed message is ``METHOD\\nURL\\nTS\\nNONCE\\nBODY\\n`` over the raw body bytes,
verified with the public key of the merchant's registered API key (by ``mchid`` + ``serial_no``).
Answers and notifications: ``TS\\nNONCE\\nBODY\\n`` signed by the platform or WeChat Pay key.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives.asymmetric import rsa

from .crypto import rsa_sign, rsa_verify
from .errors import V3Error
from .state import EmulatorState, Merchant

__all__ = [
    "SCHEME",
    "SIGNATURE_TYPE",
    "SKEW_SECONDS",
    "authenticate",
    "parse_authorization",
    "request_message",
    "response_message",
    "signature_headers",
]

SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
SKEW_SECONDS = 300
_PARAMS = ("mchid", "nonce_str", "timestamp", "serial_no", "signature")
_PAIR = re.compile(r'\s*([A-Za-z_]+)="([^"]*)"\s*(?:,|$)')

# Texts of WeChat's 401 answers (the skew text is observed verbatim, spec §2.2).
MSG_FORMAT = "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
MSG_SKEW = "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
MSG_SERIAL = "商户证书序列号有误。请使用签名私钥匹配的证书序列号"
MSG_SIGNATURE = "错误的签名，验签失败"


def parse_authorization(header: str) -> dict[str, str]:
    """The five parameters of an ``Authorization`` header, any order; ValueError if malformed.

    >>> parse_authorization('WECHATPAY2-SHA256-RSA2048 serial_no="S",signature="x",'
    ...     'mchid="1",timestamp="2",nonce_str="n"')["mchid"]
    '1'
    """
    scheme, _, rest = header.strip().partition(" ")
    if scheme != SCHEME or not rest:
        raise ValueError("unknown authorization scheme")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PAIR.match(rest, position)
        if match is None or match.end() == position:
            raise ValueError("malformed authorization parameters")
        key, value = match.group(1), match.group(2)
        if key in params:
            raise ValueError(f"duplicate parameter {key}")
        params[key] = value
        position = match.end()
    missing = [name for name in _PARAMS if not params.get(name)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    return params


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{method}\n{url}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def authenticate(
    state: EmulatorState,
    *,
    method: str,
    urls: Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    wall_now: float,
) -> Merchant:
    """The merchant whose valid signature is on this request; V3Error (401/400) otherwise.

    ``urls`` are the canonical URLs the client may have signed (the raw path + query as sent;
    also without a mount prefix when the emulator is mounted under one).
    """
    header = headers.get("authorization")
    if not header:
        raise V3Error(401, "SIGN_ERROR", MSG_FORMAT)
    try:
        params = parse_authorization(header)
    except ValueError as exc:
        raise V3Error(401, "SIGN_ERROR", MSG_FORMAT, {"issue": str(exc)}) from exc
    merchant = state.merchants.get(params["mchid"])
    if merchant is None:
        raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")
    if params["serial_no"].upper() != merchant.merchant_serial_no.upper():
        raise V3Error(401, "SIGN_ERROR", MSG_SERIAL)
    timestamp = params["timestamp"]
    if not timestamp.isdigit() or abs(wall_now - int(timestamp)) >= SKEW_SECONDS:
        raise V3Error(401, "SIGN_ERROR", MSG_SKEW)
    key = merchant.merchant_public_key()
    for url in urls:
        message = request_message(method.upper(), url, timestamp, params["nonce_str"], body)
        if rsa_verify(key, message, params["signature"]):
            return merchant
    raise V3Error(401, "SIGN_ERROR", MSG_SIGNATURE)


def signature_headers(
    key: rsa.RSAPrivateKey,
    serial: str,
    body: bytes,
    *,
    timestamp: str,
    nonce: str | None = None,
) -> dict[str, str]:
    """The ``Wechatpay-*`` headers of a signed answer or notification (nonce: 32 hex chars)."""
    nonce = nonce if nonce is not None else secrets.token_hex(16)
    return {
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(key, response_message(timestamp, nonce, body)),
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }
