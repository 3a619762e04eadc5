"""Mini Program message push (消息推送): the URL check and verified, decrypted messages.

WeChat signs every push with the token configured in the Mini Program admin console:
``signature = sha1(sorted([token, timestamp, nonce]) joined)`` in the query string. The URL
check is a GET that must echo ``echostr`` when that signature holds. In safe mode
(``encrypt_type=aes``) the body is ``{"ToUserName", "Encrypt"}`` (JSON) or the same as flat
XML, ``msg_signature = sha1(sorted([token, timestamp, nonce, Encrypt]) joined)``, and
``Encrypt`` is base64 of AES-256-CBC (key = base64 of EncodingAESKey + "=", IV = its first 16
bytes, PKCS#7 padding to 32 bytes) over ``16 random bytes | 4-byte big-endian length | message |
appid``. The message inside is JSON or XML like the envelope.

Verify first, then parse: signatures are checked over the raw query values and the raw
``Encrypt`` string before any decryption, and compared in constant time. With an
EncodingAESKey configured, plain (unencrypted) pushes are refused: a shop that chose safe
mode must not accept a message anyone who learns the token could forge in the clear.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mppay.wechatpay.errors import (
    ConfigurationError,
    DecryptionError,
    MalformedMessageError,
    MissingHeaderError,
    SignatureMismatchError,
)
from mppay.wechatpay.v2.xml import parse_xml

__all__ = [
    "MessagePushVerifier",
    "OrderSettlementEvent",
    "PushMessage",
    "push_signature",
]

MAX_PUSH_BYTES = 64 * 1024


def push_signature(*parts: str) -> str:
    """sha1 hex over the parts sorted as strings and joined: WeChat's push signature."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


@dataclass(frozen=True)
class OrderSettlementEvent:
    """``trade_manage_order_settlement``: sent when shipping completes and at settlement.

    At shipping ``estimated_settlement_time`` is set; at settlement ``confirm_receive_method``
    (1 automatic, 2 by the buyer), ``confirm_receive_time`` and ``settlement_time``.
    """

    transaction_id: str
    merchant_id: str
    merchant_trade_no: str
    pay_time: int | None
    shipped_time: int | None
    estimated_settlement_time: int | None
    confirm_receive_method: int | None
    confirm_receive_time: int | None
    settlement_time: int | None

    @property
    def settled(self) -> bool:
        return self.settlement_time is not None


@dataclass(frozen=True)
class PushMessage:
    """A verified (and decrypted) push. ``fields`` holds every field as received."""

    event: str
    msg_type: str
    from_user_name: str
    create_time: int
    fields: Mapping[str, Any]
    format: Literal["json", "xml"]

    @property
    def dedupe_key(self) -> str:
        """The same message delivered again has the same key; two messages never do.

        Events carry no MsgId and WeChat's advice (FromUserName + CreateTime) is not enough:
        the push at shipping and the one at settlement of an order can share a second. So
        the key also holds a digest of every field: a retry repeats the message exactly.
        """
        order = self.text("transaction_id") or ""
        canonical = json.dumps(
            {k: str(v) for k, v in self.fields.items()}, sort_keys=True, ensure_ascii=False
        )
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]
        return f"{self.from_user_name}:{self.create_time}:{self.event}:{order}:{digest}"

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        if value is None or value == "":
            return None
        return str(value)

    def number(self, name: str) -> int | None:
        value = self.fields.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise MalformedMessageError(f"push field {name} is not a number")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise MalformedMessageError(f"push field {name} is not a number") from None

    def settlement(self) -> OrderSettlementEvent:
        """The typed ``trade_manage_order_settlement`` event (``MalformedMessageError`` if not)."""
        if self.event != "trade_manage_order_settlement":
            raise MalformedMessageError(f"push is {self.event!r}, not a settlement")
        transaction_id = self.text("transaction_id")
        if not transaction_id:
            raise MalformedMessageError("settlement push has no transaction_id")
        return OrderSettlementEvent(
            transaction_id=transaction_id,
            merchant_id=self.text("merchant_id") or "",
            merchant_trade_no=self.text("merchant_trade_no") or "",
            pay_time=self.number("pay_time"),
            shipped_time=self.number("shipped_time"),
            estimated_settlement_time=self.number("estimated_settlement_time"),
            confirm_receive_method=self.number("confirm_receive_method"),
            confirm_receive_time=self.number("confirm_receive_time"),
            settlement_time=self.number("settlement_time"),
        )


class MessagePushVerifier:
    """Checks pushes for one Mini Program.

    ``token`` is the message-push Token; ``encoding_aes_key`` (43 characters) and ``appid``
    turn on safe mode, after which only encrypted pushes are accepted.
    """

    def __init__(
        self, token: str, *, encoding_aes_key: str | None = None, appid: str | None = None
    ) -> None:
        if not token:
            raise ConfigurationError("the message push token is empty")
        self._token = token
        self._key: bytes | None = None
        self._appid = appid
        if encoding_aes_key:
            if not appid:
                raise ConfigurationError("safe mode needs the appid")
            try:
                key = base64.b64decode(encoding_aes_key + "=", validate=True)
            except (binascii.Error, ValueError):
                raise ConfigurationError("the EncodingAESKey is not base64") from None
            if len(encoding_aes_key) != 43 or len(key) != 32:
                raise ConfigurationError("the EncodingAESKey must be 43 characters (32 bytes)")
            self._key = key

    def __repr__(self) -> str:
        return f"MessagePushVerifier(safe_mode={self._key is not None})"

    def check_url(self, query: Mapping[str, str]) -> str:
        """The ``echostr`` to answer WeChat's URL check, if ``signature`` holds."""
        self._check_signature(query)
        echostr = query.get("echostr")
        if not echostr:
            raise MissingHeaderError("URL check without echostr")
        return echostr

    def open(self, query: Mapping[str, str], body: bytes) -> PushMessage:
        """Verify a pushed message and return it decrypted and parsed.

        Raises ``MissingHeaderError`` (no signature / msg_signature), ``SignatureMismatchError``,
        ``DecryptionError`` (bad ciphertext, padding or appid) or ``MalformedMessageError`` /
        ``XmlError`` (not a message of the expected shape).
        """
        self._check_signature(query)
        if len(body) > MAX_PUSH_BYTES:
            raise MalformedMessageError("push body is too large")
        fmt, envelope = _parse(body)
        if query.get("encrypt_type", "") == "aes":
            if self._key is None:
                raise SignatureMismatchError("encrypted push, but no EncodingAESKey configured")
            encrypted = envelope.get("Encrypt")
            if not isinstance(encrypted, str) or not encrypted:
                raise MalformedMessageError("encrypted push without Encrypt")
            msg_signature = query.get("msg_signature")
            if not msg_signature:
                raise MissingHeaderError("encrypted push without msg_signature")
            expected = push_signature(
                self._token, query.get("timestamp", ""), query.get("nonce", ""), encrypted
            )
            if not hmac.compare_digest(expected, msg_signature.lower()):
                raise SignatureMismatchError("msg_signature does not match")
            fmt, envelope = _parse(self._decrypt(encrypted))
        elif self._key is not None:
            raise SignatureMismatchError("plain push refused: safe mode is configured")
        return _message(fmt, envelope)

    def _check_signature(self, query: Mapping[str, str]) -> None:
        signature = query.get("signature")
        timestamp = query.get("timestamp")
        nonce = query.get("nonce")
        if not signature or not timestamp or not nonce:
            raise MissingHeaderError("push without signature, timestamp or nonce")
        expected = push_signature(self._token, timestamp, nonce)
        if not hmac.compare_digest(expected, signature.lower()):
            raise SignatureMismatchError("push signature does not match")

    def _decrypt(self, encrypted: str) -> bytes:
        assert self._key is not None
        assert self._appid is not None
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionError("Encrypt is not base64") from None
        if not data or len(data) % 16:
            raise DecryptionError("Encrypt is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptionError("bad padding (wrong EncodingAESKey?)")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise DecryptionError("decrypted message is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, appid = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length:
            raise DecryptionError("decrypted length does not fit")
        if not hmac.compare_digest(appid, self._appid.encode()):
            raise DecryptionError("the push is for another appid")
        return message


def _parse(body: bytes) -> tuple[Literal["json", "xml"], dict[str, Any]]:
    text = body.lstrip()
    if text.startswith(b"{"):
        try:
            payload = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise MalformedMessageError("push is not JSON") from None
        if not isinstance(payload, dict):
            raise MalformedMessageError("push is not a JSON object")
        return "json", payload
    return "xml", dict(parse_xml(bytes(text), max_bytes=MAX_PUSH_BYTES))


def _message(fmt: Literal["json", "xml"], fields: dict[str, Any]) -> PushMessage:
    event = fields.get("Event")
    msg_type = fields.get("MsgType")
    sender = fields.get("FromUserName")
    if not isinstance(event, str) or not isinstance(msg_type, str):
        raise MalformedMessageError("push has no MsgType / Event")
    if not isinstance(sender, str):
        raise MalformedMessageError("push has no FromUserName")
    raw_time = fields.get("CreateTime")
    create_time = -1
    if isinstance(raw_time, int | str) and not isinstance(raw_time, bool):
        try:
            create_time = int(raw_time)
        except ValueError:
            create_time = -1
    if create_time < 0:
        raise MalformedMessageError("push has no CreateTime")
    return PushMessage(
        event=event,
        msg_type=msg_type,
        from_user_name=sender,
        create_time=create_time,
        fields=fields,
        format=fmt,
    )
