"""API v3 callback notifications: validate the raw bytes, then decrypt, then parse (spec §2.5).

``NotificationParser`` is wechatpay-go's *notify handler*. The order is the security
property: nothing of the body is decoded before its signature has been checked over the exact
bytes received.

Answering WeChat is the web layer's job: 200/204 with no body when ``parse`` returns (also
for a duplicate), 4xx/5xx with ``{"code":"FAIL","message":...}`` when it raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from ..errors import DecryptionError, MalformedMessageError
from .aead import AEAD_AES_256_GCM, decrypt_aes_256_gcm
from .models import RefundResource, Transaction, describe_validation_error
from .verification import ResponseValidator

__all__ = [
    "NotificationEnvelope",
    "NotificationParser",
    "NotificationResource",
    "RefundEvent",
    "RefundEventType",
    "TransactionEvent",
    "TransactionEventType",
]

TransactionEventType = Literal["TRANSACTION.SUCCESS"]
RefundEventType = Literal["REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"]

_TRANSACTION_EVENTS = frozenset({"TRANSACTION.SUCCESS"})
_REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})


class _Received(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class NotificationResource(_Received):
    """The encrypted part of a notification, as sent."""

    algorithm: str
    ciphertext: str
    nonce: str
    associated_data: str | None = None
    original_type: str | None = None


class NotificationEnvelope(_Received):
    """The outer JSON of a notification. ``id`` is opaque (UUID-like in practice)."""

    id: str
    create_time: AwareDatetime
    event_type: str
    resource_type: str | None = None
    summary: str | None = None
    resource: NotificationResource


class TransactionEvent(_Received):
    """A verified, decrypted ``TRANSACTION.SUCCESS`` notification."""

    id: str
    event_type: TransactionEventType
    create_time: AwareDatetime
    resource_type: str | None = None
    summary: str | None = None
    resource: Transaction


class RefundEvent(_Received):
    """A verified, decrypted ``REFUND.SUCCESS`` / ``REFUND.ABNORMAL`` / ``REFUND.CLOSED``."""

    id: str
    event_type: RefundEventType
    create_time: AwareDatetime
    resource_type: str | None = None
    summary: str | None = None
    resource: RefundResource


class NotificationParser:
    """Turns a notification request (headers + raw body) into a typed event."""

    def __init__(self, api_v3_key: str | bytes, validator: ResponseValidator) -> None:
        self._api_v3_key = api_v3_key.encode("utf-8") if isinstance(api_v3_key, str) else api_v3_key
        self._validator = validator

    async def parse(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        """Validate, decrypt and parse one notification.

        Raises, in the order checked: a ``VerificationError`` subclass when the signature
        headers or signature are not acceptable; ``MalformedMessageError`` when the envelope is
        not the expected JSON, the algorithm is not ``AEAD_AES_256_GCM`` or the ``event_type``
        is not a payment or refund event; ``DecryptionError`` when the resource does not
        decrypt; ``MalformedMessageError`` when the plaintext is not the expected resource.
        """
        await self._validator.validate(headers, body)
        envelope = _parse_envelope(body)
        if envelope.resource.algorithm != AEAD_AES_256_GCM:
            raise MalformedMessageError(
                f"notification {envelope.id[:64]!r}: unsupported algorithm "
                f"{envelope.resource.algorithm[:32]!r}"
            )
        if envelope.event_type not in _TRANSACTION_EVENTS | _REFUND_EVENTS:
            raise MalformedMessageError(
                f"notification {envelope.id[:64]!r}: unsupported event_type "
                f"{envelope.event_type[:64]!r}"
            )
        try:
            plaintext = decrypt_aes_256_gcm(
                self._api_v3_key,
                envelope.resource.nonce,
                envelope.resource.associated_data or "",
                envelope.resource.ciphertext,
            )
        except DecryptionError as exc:
            raise DecryptionError(f"notification {envelope.id[:64]!r}: {exc.message}") from exc
        common = {
            "id": envelope.id,
            "event_type": envelope.event_type,
            "create_time": envelope.create_time,
            "resource_type": envelope.resource_type,
            "summary": envelope.summary,
        }
        try:
            if envelope.event_type in _TRANSACTION_EVENTS:
                transaction = Transaction.model_validate_json(plaintext)
                return TransactionEvent.model_validate({**common, "resource": transaction})
            refund = RefundResource.model_validate_json(plaintext)
            return RefundEvent.model_validate({**common, "resource": refund})
        except ValidationError as exc:
            raise MalformedMessageError(
                f"notification {envelope.id[:64]!r}: decrypted resource is not a "
                f"{envelope.event_type} resource: {describe_validation_error(exc)}"
            ) from exc


def _parse_envelope(body: bytes) -> NotificationEnvelope:
    try:
        return NotificationEnvelope.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedMessageError(
            f"notification body is not a v3 notification envelope: {describe_validation_error(exc)}"
        ) from exc
