"""Build WeChat-style notifications by hand (test side), correctly or deliberately wrong.

Written with ``cryptography`` directly, so the attack tests do not depend on the code they
attack.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.padding import PKCS7


def v3_notification(
    *,
    resource: dict[str, Any],
    api_v3_key: str,
    signing_key_pem: str | None,
    serial: str,
    event_type: str = "TRANSACTION.SUCCESS",
    timestamp: int | None = None,
    signature: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a v3 notification; ``signing_key_pem=None`` signs with a stranger's key."""
    nonce = secrets.token_hex(6)
    associated = "transaction" if event_type.startswith("TRANSACTION") else "refund"
    plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    ciphertext = AESGCM(api_v3_key.encode()).encrypt(nonce.encode(), plaintext, associated.encode())
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "create_time": "2026-11-29T10:00:00+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": associated,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": associated,
                "nonce": nonce,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    header_nonce = secrets.token_hex(16)
    if signature is None:
        if signing_key_pem is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            loaded = serialization.load_pem_private_key(signing_key_pem.encode(), None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            key = loaded
        message = f"{ts}\n{header_nonce}\n".encode() + body + b"\n"
        signature = base64.b64encode(
            key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        ).decode()
    headers = {
        "Content-Type": "application/json",
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": header_nonce,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Wechatpay-Signature": signature,
    }
    return headers, body


def v2_paid_fields(
    *, appid: str, mchid: str, openid: str, out_trade_no: str, total_fen: int, transaction_id: str
) -> dict[str, str]:
    """The fields of a v2 payment notification for a paid order, before ``sign``."""
    return {
        "return_code": "SUCCESS",
        "appid": appid,
        "mch_id": mchid,
        "nonce_str": "n1",
        "result_code": "SUCCESS",
        "openid": openid,
        "trade_type": "JSAPI",
        "bank_type": "OTHERS",
        "total_fee": str(total_fen),
        "cash_fee": str(total_fen),
        "transaction_id": transaction_id,
        "out_trade_no": out_trade_no,
        "time_end": "20261129100000",
    }


def v2_xml(fields: dict[str, str]) -> bytes:
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return f"<xml>{inner}</xml>".encode()


def v2_sign(fields: dict[str, str], key: str, sign_type: str = "MD5") -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if v != "" and k != "sign")
    text += f"&key={key}"
    if sign_type == "HMAC-SHA256":
        return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text.encode()).hexdigest().upper()


def v2_refund_notification(
    inner: dict[str, str], *, appid: str, mch_id: str, api_v2_key: str
) -> bytes:
    """A v2 refund notification: ``inner`` encrypted into ``req_info`` (AES-256-ECB, PKCS#7,
    key = lower-hex MD5 of the API v2 key); the outer XML carries no signature."""
    plaintext = "<root>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in inner.items())
    padder = PKCS7(128).padder()
    padded = padder.update((plaintext + "</root>").encode()) + padder.finalize()
    key = hashlib.md5(api_v2_key.encode()).hexdigest().encode()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 (WeChat's scheme)
    req_info = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()
    return v2_xml(
        {
            "return_code": "SUCCESS",
            "appid": appid,
            "mch_id": mch_id,
            "nonce_str": secrets.token_hex(8),
            "req_info": req_info,
        }
    )
