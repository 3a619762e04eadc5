"""The ports shipping information needs: WeChat's Mini Program server API and message push.

Implemented in ``mppay.adapters.shipping`` over ``mppay.wechatpay.miniprogram``. Errors reuse
the payment ports' split (``Refused`` vs ``OutcomeUnknown``), plus ``NotYetVisible``: WeChat's
10060001 right after payment, a definite "nothing recorded, ask again in a minute".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mppay.domain.shipping import ShipmentPlan
from mppay.usecases.ports import GatewayError

__all__ = [
    "NotYetVisible",
    "PushEvent",
    "PushVerifier",
    "ShipmentUpload",
    "ShippingGateway",
    "ShippingSetup",
    "WeChatShipping",
]


class NotYetVisible(GatewayError):
    """10060001: WeChat does not see the payment yet (just paid); nothing was recorded."""


@dataclass(frozen=True)
class ShipmentUpload:
    transaction_id: str
    payer_openid: str
    plan: ShipmentPlan
    upload_time: datetime


@dataclass(frozen=True)
class WeChatShipping:
    """One payment as WeChat's shipping management sees it (order_state 1-5)."""

    transaction_id: str
    out_trade_no: str
    order_state: int
    tracking_nos: tuple[str, ...] = ()


class ShippingGateway(Protocol):
    async def upload(self, upload: ShipmentUpload) -> None: ...

    async def is_trade_managed(self) -> bool: ...

    async def get_order(self, transaction_id: str) -> WeChatShipping: ...

    async def list_orders(
        self, *, last_index: str | None
    ) -> tuple[list[WeChatShipping], str, bool]: ...


@dataclass(frozen=True)
class PushEvent:
    """A verified, decrypted message push."""

    event: str
    dedupe_key: str
    transaction_id: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    body: str = ""


class PushVerifier(Protocol):
    """Raises ``mppay.usecases.ports.NotificationRejected`` for anything not from WeChat."""

    def check_url(self, query: Mapping[str, str]) -> str: ...

    def open(self, query: Mapping[str, str], body: bytes) -> PushEvent: ...


@dataclass
class ShippingSetup:
    """Shipping's wiring, one field of ``ServiceContext`` (None: shipping not configured).

    ``retry_base_seconds``: first wait after 10060001 / a timeout (then doubling, see
    ``mppay.domain.shipping.upload_retry_delay``); ``alert_after_seconds``: how long a paid
    order may wait for its shipping before the watch job raises an alert.
    """

    gateway: ShippingGateway
    verifier: PushVerifier | None = None
    retry_base_seconds: float = 30.0
    alert_after_seconds: float = 48 * 3600.0
    watch_every_seconds: float = 600.0
