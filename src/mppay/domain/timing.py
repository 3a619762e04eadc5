"""Time rules: order expiry, prepay_id lifetime, and v2's close window."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = [
    "MIN_ORDER_TTL",
    "MIN_PAY_WINDOW",
    "PREPAY_LIFETIME",
    "PREPAY_REUSE_MARGIN",
    "V2_CLOSE_MIN_AGE",
    "V2_MIN_TIME_EXPIRE_WINDOW",
    "earliest_v2_close",
    "prepay_expires_at",
    "prepay_reusable",
]

PREPAY_LIFETIME = timedelta(hours=2)
# Do not hand out a prepay_id that could expire while the user is still in the cashier.
PREPAY_REUSE_MARGIN = timedelta(minutes=10)
# v2 closeorder refuses orders younger than 5 minutes; v2 time_expire must also be > 5 minutes
# away, so orders never live shorter than that.
V2_CLOSE_MIN_AGE = timedelta(minutes=5)
MIN_ORDER_TTL = timedelta(minutes=5)
# v3 refuses a time_expire less than a minute away; v2 wants more than 5 minutes.
MIN_PAY_WINDOW = timedelta(minutes=1)
V2_MIN_TIME_EXPIRE_WINDOW = timedelta(minutes=5, seconds=30)


def prepay_expires_at(obtained_at: datetime) -> datetime:
    return obtained_at + PREPAY_LIFETIME


def prepay_reusable(expires_at: datetime, now: datetime) -> bool:
    """True while a stored prepay_id still has comfortably more life than a cashier session."""
    return expires_at - now > PREPAY_REUSE_MARGIN


def earliest_v2_close(first_prepay_requested_at: datetime) -> datetime:
    """v2 ``closeorder`` accepts an order only 5 minutes after WeChat created it (spec 4.4).

    WeChat's clock starts when it receives the first unifiedorder, which is after we sent it;
    a small buffer covers the network and clock skew.
    """
    return first_prepay_requested_at + V2_CLOSE_MIN_AGE + timedelta(seconds=10)
