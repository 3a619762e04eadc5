"""Identifiers with the shapes WeChat uses, so clients' format checks see realistic values.

Shapes (from real traffic quoted in the spec): prepay ``wx`` + Beijing ``yyyyMMddHHmmss`` + 20
hex (36 chars); transaction ``420000`` + 4 digits + ``yyyyMMdd`` + 10 digits (28 digits); refund
``50`` + 8 digits + ``yyyyMMdd`` + 11 digits (29 digits); openid 28 URL-safe chars starting with
``o``; notification id a UUID. Randomness comes from ``secrets``: ids must not collide across
runs that share a state file.
"""

from __future__ import annotations

import base64
import secrets
import string
import uuid
from datetime import datetime

from .clock import BEIJING

__all__ = [
    "alnum",
    "app_secret",
    "appid",
    "digits",
    "hex_lower",
    "login_code",
    "mchid",
    "notification_id",
    "openid",
    "prepay_id",
    "public_key_id",
    "refund_id",
    "request_id",
    "serial_number",
    "session_key",
    "transaction_id",
]

_ALNUM = string.ascii_letters + string.digits
_OPENID_CHARS = string.ascii_letters + string.digits + "-_"


def alnum(length: int) -> str:
    """Random ``[A-Za-z0-9]`` of ``length`` (API keys, nonces)."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def digits(length: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))


def hex_lower(length: int) -> str:
    return secrets.token_hex((length + 1) // 2)[:length]


def _day(ts: float, fmt: str) -> str:
    return datetime.fromtimestamp(ts, tz=BEIJING).strftime(fmt)


def mchid() -> str:
    """Ten digits starting ``19`` (real direct-merchant numbers look like ``1900009191``)."""
    return "19" + digits(8)


def appid() -> str:
    return "wx" + hex_lower(16)


def app_secret() -> str:
    return hex_lower(32)


def serial_number() -> int:
    """An X.509 serial whose upper-case hex is exactly 40 digits and whose DER fits 20 octets."""
    return secrets.randbelow(0x7 << 156) + (1 << 156)


def public_key_id(mchid_: str, ts: float) -> str:
    """``PUB_KEY_ID_`` + 32 digits built from the merchant number and the day, like real ids."""
    return "PUB_KEY_ID_01" + mchid_[-10:].rjust(10, "0") + _day(ts, "%Y%m%d") + digits(12)


def prepay_id(ts: float) -> str:
    return "wx" + _day(ts, "%Y%m%d%H%M%S") + hex_lower(20)


def transaction_id(ts: float) -> str:
    return "420000" + digits(4) + _day(ts, "%Y%m%d") + digits(10)


def refund_id(ts: float) -> str:
    return "50" + digits(8) + _day(ts, "%Y%m%d") + digits(11)


def openid() -> str:
    return "o" + "".join(secrets.choice(_OPENID_CHARS) for _ in range(27))


def login_code() -> str:
    """``wx.login`` codes are 32 URL-safe characters."""
    return "".join(secrets.choice(_OPENID_CHARS) for _ in range(32))


def session_key() -> str:
    """Base64 of 16 random bytes, as code2Session returns."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def notification_id() -> str:
    return str(uuid.uuid4())


def request_id() -> str:
    """``Request-ID`` header value: upper-case hex, like WeChat's opaque ids."""
    return secrets.token_hex(20).upper() + "-0"
