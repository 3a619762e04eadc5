"""The audit row of one notification: whole for a verified notification, bounded for any other.

Anyone can POST to a notify URL, so what an unverified body may cost is capped: its SHA-256,
its length, the first ``REJECTED_BODY_PREFIX_BYTES`` bytes, the reason and the audited headers
(each value cut to ``HEADER_VALUE_MAX_CHARS``). A verified body came from WeChat and is kept
whole. No text stored here holds a NUL character: PostgreSQL refuses NUL in text columns, and
the failed INSERT would lose the very row that records the attempt (``body_sha256`` still
identifies the exact bytes received).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime

from mppay.store.models import NotificationRow

__all__ = [
    "HEADER_VALUE_MAX_CHARS",
    "REASON_MAX_CHARS",
    "REJECTED_BODY_PREFIX_BYTES",
    "audited_headers",
    "notification_row",
    "storable_text",
]

REJECTED_BODY_PREFIX_BYTES = 256
HEADER_VALUE_MAX_CHARS = 512  # a v3 RSA-2048 signature is 344 Base64 characters
REASON_MAX_CHARS = 500

# Headers worth keeping for audit; nothing else (cookies, proxies' headers) is stored.
_AUDITED_HEADERS = (
    "content-type",
    "request-id",
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-serial",
    "wechatpay-signature",
    "wechatpay-signature-type",
    "user-agent",
)


def storable_text(text: str) -> str:
    """``text`` as any database stores it: NUL becomes U+FFFD, lone surrogates become ``?``.

    >>> storable_text("a\\x00b")
    'a\\ufffdb'
    """
    return text.replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")


def _bounded(text: str, limit: int) -> str:
    return storable_text(text[:limit])


def _optional(text: str | None) -> str | None:
    return None if text is None else storable_text(text)


def audited_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The audited headers only, each value bounded and storable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return {
        name: _bounded(lowered[name], HEADER_VALUE_MAX_CHARS)
        for name in _AUDITED_HEADERS
        if name in lowered
    }


def _stored_body(body: bytes, *, whole: bool) -> str:
    kept = body if whole else body[:REJECTED_BODY_PREFIX_BYTES]
    return storable_text(kept.decode("utf-8", errors="replace"))


def notification_row(
    *,
    received_at: datetime,
    api_version: str,
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    verified: bool,
    outcome: str,
    reason: str | None = None,
    notification_id: str | None = None,
    event_type: str | None = None,
    out_trade_no: str | None = None,
    out_refund_no: str | None = None,
    order_id: str | None = None,
) -> NotificationRow:
    """The row to store; ``body`` is the raw bytes received (hashed and measured as such)."""
    return NotificationRow(
        received_at=received_at,
        api_version=api_version,
        channel=channel,
        notification_id=_optional(notification_id),
        event_type=_optional(event_type),
        verified=verified,
        outcome=outcome,
        reason=None if reason is None else _bounded(reason, REASON_MAX_CHARS),
        out_trade_no=_optional(out_trade_no),
        out_refund_no=_optional(out_refund_no),
        order_id=order_id,
        headers=audited_headers(headers),
        body=_stored_body(body, whole=verified),
        body_sha256=hashlib.sha256(body).hexdigest(),
        body_length=len(body),
    )
