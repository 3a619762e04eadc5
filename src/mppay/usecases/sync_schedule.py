"""When to ask WeChat again about an order or a refund that has not settled.

Order sync: 30 s, 1 m, 2 m, 5 m, 10 m after the prepay, then every 30 m until the order
expires (the expiry job then closes it). Refund sync: 1 m, 2 m, 5 m, 10 m, then every 30 m.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["first_sync_at", "next_order_sync_at", "next_refund_sync_at"]

ORDER_SYNC_STEPS = (30, 60, 120, 300, 600)
REFUND_SYNC_STEPS = (60, 120, 300, 600)
STEADY_INTERVAL = 1800


def first_sync_at(prepay_at: datetime) -> datetime:
    return prepay_at + timedelta(seconds=ORDER_SYNC_STEPS[0])


def _step(steps: tuple[int, ...], attempts: int) -> timedelta:
    return timedelta(seconds=steps[attempts] if attempts < len(steps) else STEADY_INTERVAL)


def next_order_sync_at(now: datetime, attempts_done: int) -> datetime:
    """The next query time after ``attempts_done`` queries (the first was at 30 s)."""
    return now + _step(ORDER_SYNC_STEPS, attempts_done)


def next_refund_sync_at(now: datetime, attempts_done: int) -> datetime:
    return now + _step(REFUND_SYNC_STEPS, attempts_done)
