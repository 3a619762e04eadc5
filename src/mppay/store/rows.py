"""Row tuples the hot path reads instead of ORM objects (no identity map, no lazy loads).

Each is the exact set of columns one request needs, read in one statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

__all__ = ["OrderFacts", "PayableOrder"]


class PayableOrder(NamedTuple):
    """An order as ``pay_order`` needs it, with its newest obtained prepay (if any)."""

    id: str
    out_trade_no: str
    api_version: str
    description: str
    status: str
    amount_total_fen: int
    currency: str
    openid: str
    expires_at: datetime
    prepay_id: str | None
    prepay_expires_at: datetime | None


class OrderFacts(NamedTuple):
    """What applying a WeChat statement compares and moves (read under the row lock)."""

    id: str
    out_trade_no: str
    appid: str
    mchid: str
    openid: str
    status: str
    amount_total_fen: int
    currency: str
    transaction_id: str | None
