"""Checking what WeChat signs: API v3 responses and notifications (spec §2.3, §2.4).

Vocabulary from wechatpay-go: a *verifier* checks one signature with the key a serial names;
the *validator* checks a whole message (headers, the five-minute window, then the verifier).

Every failure is a ``VerificationError`` subclass, so a caller can reject with one ``except``:

- a ``Wechatpay-*`` header absent, empty, or a timestamp that is not whole seconds
  -> ``MissingHeaderError`` (an unusable header is treated like a missing one);
- ``WECHATPAY/SIGNTEST/`` probe -> ``SignatureProbeError`` (checked before any crypto);
- ``Wechatpay-Signature-Type`` other than ``WECHATPAY2-SHA256-RSA2048`` -> ``SignatureMismatchError``;
- ``|now - timestamp| >= 300`` s -> ``TimestampSkewError``;
- no key for ``Wechatpay-Serial`` -> ``UnknownSerialError``;
- bad Base64 or a signature that does not verify -> ``SignatureMismatchError``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..clock import Clock, unix_seconds
from ..config import PUBLIC_KEY_ID_PREFIX
from ..errors import (
    MissingHeaderError,
    SignatureMismatchError,
    SignatureProbeError,
    TimestampSkewError,
    UnknownSerialError,
)
from .certificates import PlatformCertificateStore

__all__ = [
    "DEFAULT_MAX_SKEW_SECONDS",
    "SIGNATURE_PROBE_PREFIX",
    "SIGNATURE_TYPE",
    "CertificateVerifier",
    "CombinedVerifier",
    "PublicKeyVerifier",
    "ResponseValidator",
    "Verifier",
    "build_response_message",
    "verify_signature",
]

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
DEFAULT_MAX_SKEW_SECONDS = 300

_SECONDS = re.compile(r"[0-9]{1,12}")


def build_response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The three-line string-to-verify ``TIMESTAMP\\nNONCE\\nBODY\\n`` over the raw body bytes."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def verify_signature(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> None:
    """Check a Base64 RSASSA-PKCS1-v1_5 SHA-256 signature over ``message``.

    Raises ``SignatureMismatchError`` when the Base64 is invalid or the signature does not verify.
    """
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureMismatchError("Wechatpay-Signature is not valid Base64") from exc
    try:
        public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureMismatchError(
            "Wechatpay-Signature does not verify over the bytes received"
        ) from exc


class Verifier(Protocol):
    """Checks one signature with the WeChat-side key named by ``serial``.

    ``verify`` returns ``None`` on success and raises ``UnknownSerialError`` or
    ``SignatureMismatchError`` otherwise; it is async because finding the key may download
    platform certificates.
    """

    async def verify(self, serial: str, message: bytes, signature: str) -> None: ...


class PublicKeyVerifier:
    """Verifies with the "WeChat Pay public key" (``PUB_KEY_ID_...``) configured by the merchant."""

    def __init__(self, key_id: str, public_key: rsa.RSAPublicKey) -> None:
        self.key_id = key_id
        self._public_key = public_key

    async def verify(self, serial: str, message: bytes, signature: str) -> None:
        """Raises ``UnknownSerialError`` unless ``serial`` is our key id, then checks the signature."""
        if serial != self.key_id:
            raise UnknownSerialError(f"no WeChat Pay public key with id {_excerpt(serial)}")
        verify_signature(self._public_key, message, signature)


class CertificateVerifier:
    """Verifies with a platform certificate found by serial in a ``PlatformCertificateStore``.

    An unknown serial makes the store refresh (rate-limited) before giving up.
    """

    def __init__(self, store: PlatformCertificateStore) -> None:
        self.store = store

    async def verify(self, serial: str, message: bytes, signature: str) -> None:
        """Raises ``UnknownSerialError`` or ``SignatureMismatchError``."""
        certificate = await self.store.find(serial)
        verify_signature(certificate.public_key, message, signature)


class CombinedVerifier:
    """Picks the key by serial: ``PUB_KEY_ID_...`` -> public key, anything else -> certificates.

    Both may be configured at once, which is what a merchant needs while WeChat migrates it
    from platform certificates to the public key (notifications arrive signed either way).
    """

    def __init__(
        self,
        *,
        public_key: PublicKeyVerifier | None = None,
        certificates: CertificateVerifier | None = None,
    ) -> None:
        self.public_key = public_key
        self.certificates = certificates

    async def verify(self, serial: str, message: bytes, signature: str) -> None:
        """Raises ``UnknownSerialError`` when the matching kind of key is not configured."""
        if serial.startswith(PUBLIC_KEY_ID_PREFIX):
            if self.public_key is None:
                raise UnknownSerialError(
                    f"message signed with WeChat Pay public key {_excerpt(serial)}, "
                    "but no public key is configured"
                )
            await self.public_key.verify(serial, message, signature)
            return
        if self.certificates is None:
            raise UnknownSerialError(
                f"message signed with platform certificate {_excerpt(serial)}, "
                "but no platform certificates are configured"
            )
        await self.certificates.verify(serial, message, signature)


class ResponseValidator:
    """Validates a signed response or notification: headers, time window, then signature.

    ``max_skew_seconds`` is exclusive: a message exactly 300 s old (or 300 s in the future) is
    rejected, 299 s is accepted, as in wechatpay-go.
    """

    def __init__(
        self, verifier: Verifier, clock: Clock, max_skew_seconds: int = DEFAULT_MAX_SKEW_SECONDS
    ) -> None:
        self.verifier = verifier
        self._clock = clock
        self._max_skew_seconds = max_skew_seconds

    async def validate(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return ``None`` if the message is authentic; raise a ``VerificationError`` otherwise.

        ``headers`` may be any mapping (names are matched case-insensitively); ``body`` must be
        the raw bytes exactly as received.
        """
        lowered = {name.lower(): value for name, value in headers.items()}
        timestamp = _required(lowered, "Wechatpay-Timestamp")
        nonce = _required(lowered, "Wechatpay-Nonce")
        serial = _required(lowered, "Wechatpay-Serial")
        signature = _required(lowered, "Wechatpay-Signature")
        if signature.startswith(SIGNATURE_PROBE_PREFIX):
            raise SignatureProbeError(
                "Wechatpay-Signature is a WECHATPAY/SIGNTEST/ probe; rejecting it as WeChat expects"
            )
        signature_type = lowered.get("wechatpay-signature-type") or SIGNATURE_TYPE
        if signature_type != SIGNATURE_TYPE:
            raise SignatureMismatchError(
                f"unsupported Wechatpay-Signature-Type {_excerpt(signature_type)}"
            )
        if not _SECONDS.fullmatch(timestamp):
            raise MissingHeaderError("Wechatpay-Timestamp is not a whole number of Unix seconds")
        skew = unix_seconds(self._clock) - int(timestamp)
        if abs(skew) >= self._max_skew_seconds:
            raise TimestampSkewError(
                f"Wechatpay-Timestamp {timestamp} is {abs(skew)} s "
                f"{'old' if skew > 0 else 'in the future'}; the limit is "
                f"{self._max_skew_seconds - 1} s"
            )
        await self.verifier.verify(
            serial, build_response_message(timestamp, nonce, body), signature
        )


def _required(lowered: Mapping[str, str], name: str) -> str:
    value = lowered.get(name.lower())
    if not value:
        raise MissingHeaderError(f"{name} header is missing or empty")
    return value


def _excerpt(value: str) -> str:
    """A bounded, quoted rendering of an attacker-controlled value for error messages."""
    return repr(value[:64] + ("..." if len(value) > 64 else ""))
