"""What the emulator remembers of shipping information: tokens, per-payment records, pushes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AccessTokenRecord", "PushEntry", "ShippingRecord", "ShippingSettings"]


@dataclass
class ShippingSettings:
    """Emulator-wide shipping rules (``PUT /sandbox/shipping/settings``); times are business."""

    visible_delay_seconds: float = 60.0  # 10060001 this long after payment
    auto_confirm_days: float = 10.0  # buyer silent: confirmed automatically after shipping
    settle_delay_seconds: float = 0.0  # from confirmation to settlement
    remind_after_seconds: float = 3 * 86400.0  # paid and not shipped: reminder push
    token_lifetime_seconds: int = 7200


@dataclass
class AccessTokenRecord:
    token: str
    appid: str
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class ShippingRecord:
    """Shipping of one paid order (key: ``mchid/out_trade_no``), WeChat's order_state 1-5."""

    mchid: str
    out_trade_no: str
    transaction_id: str
    order_state: int = 1
    logistics_type: int | None = None
    delivery_mode: int | None = None
    finish_shipping: bool = False
    packages: list[dict[str, Any]] = field(default_factory=list)
    completed_uploads: int = 0  # uploads that finished shipping: the first + at most 1 update
    last_upload_time: float | None = None
    shipped_at: float | None = None
    confirmed_at: float | None = None
    confirm_method: int | None = None  # 1 automatic, 2 by the buyer
    settled_at: float | None = None
    reminded: bool = False


@dataclass
class PushEntry:
    """A message push WeChat owes a merchant's message-push URL."""

    id: str
    seq: int
    mchid: str
    event: str
    transaction_id: str
    fields: dict[str, Any]
    created_at: float
    next_due: float
    attempts: int = 0
    state: str = "pending"  # pending | delivered | gave_up
