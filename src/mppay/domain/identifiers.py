"""Identifiers we mint: opaque public ids and WeChat-shaped merchant numbers.

``out_trade_no`` / ``out_refund_no`` follow WeChat's rules (6-32 / up to 64 chars of
``[0-9A-Za-z_-|*]``), start with a Beijing-time stamp so they sort and read well in bills,
and end with enough randomness that two processes never collide.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta, timezone

__all__ = ["BEIJING", "new_order_id", "new_out_refund_no", "new_out_trade_no", "new_refund_id"]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_ALPHANUM = string.ascii_uppercase + string.digits
_LOWER = string.ascii_lowercase + string.digits


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_order_id() -> str:
    """An opaque public order id such as ``ord_k3j5...`` (24 chars)."""
    return "ord_" + _random(_LOWER, 20)


def new_refund_id() -> str:
    return "rfd_" + _random(_LOWER, 20)


def new_out_trade_no(now: datetime) -> str:
    """``MP`` + yyyyMMddHHmmss (Beijing) + 12 random chars: 28 chars, WeChat-valid."""
    return "MP" + now.astimezone(BEIJING).strftime("%Y%m%d%H%M%S") + _random(_ALPHANUM, 12)


def new_out_refund_no(now: datetime) -> str:
    """``RF`` + yyyyMMddHHmmss (Beijing) + 12 random chars."""
    return "RF" + now.astimezone(BEIJING).strftime("%Y%m%d%H%M%S") + _random(_ALPHANUM, 12)
