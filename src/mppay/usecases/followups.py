"""Follow-up work, written as outbox job rows in the same transaction as the state change.

The worker (``mppay.jobs``) runs them. Each kind has at most one open job per subject
(``dedupe_key``), and every handler is idempotent, so a job that runs again after a crash
does no harm.

Order sync: 30 s, 1 m, 2 m, 5 m, 10 m after the prepay, then every 30 m until the order
expires. Refund sync: 1 m, 2 m, 5 m, 10 m, then every 30 m until the refund is final.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mppay.store.uow import UnitOfWork

__all__ = [
    "EXPIRE_ORDER",
    "EXPIRY_GRACE",
    "RECONCILE",
    "RETENTION",
    "SYNC_ORDER",
    "SYNC_REFUND",
    "enqueue_order_expiry",
    "enqueue_order_sync",
    "enqueue_refund_sync",
    "enqueue_retention",
    "order_sync_delay",
    "refund_sync_delay",
]

SYNC_ORDER = "order.sync"
EXPIRE_ORDER = "order.expire"
SYNC_REFUND = "refund.sync"
RECONCILE = "reconcile"
# One recurring job (it reschedules itself), so every worker may enqueue it: the dedupe key
# keeps exactly one open.
RETENTION = "retention"

ORDER_SYNC_STEPS = (30, 60, 120, 300, 600)
REFUND_SYNC_STEPS = (60, 120, 300, 600)
STEADY_SECONDS = 1800
# WeChat stops taking money at time_expire (= our expires_at); a payment made in the last
# second still needs a moment to be notified, so expiry runs a little later.
EXPIRY_GRACE = timedelta(seconds=30)


def order_sync_delay(step: int) -> timedelta:
    """How long to wait before the ``step``-th query (0-based) of an unpaid order."""
    return timedelta(
        seconds=ORDER_SYNC_STEPS[step] if step < len(ORDER_SYNC_STEPS) else STEADY_SECONDS
    )


def refund_sync_delay(step: int) -> timedelta:
    return timedelta(
        seconds=REFUND_SYNC_STEPS[step] if step < len(REFUND_SYNC_STEPS) else STEADY_SECONDS
    )


async def enqueue_order_expiry(
    uow: UnitOfWork, order_id: str, expires_at: datetime, now: datetime
) -> None:
    await uow.jobs.enqueue(
        EXPIRE_ORDER,
        {"order_id": order_id},
        run_at=expires_at + EXPIRY_GRACE,
        now=now,
        dedupe_key=f"{EXPIRE_ORDER}:{order_id}",
    )


async def enqueue_order_sync(uow: UnitOfWork, order_id: str, now: datetime) -> None:
    await uow.jobs.enqueue(
        SYNC_ORDER,
        {"order_id": order_id, "step": 0},
        run_at=now + order_sync_delay(0),
        now=now,
        dedupe_key=f"{SYNC_ORDER}:{order_id}",
    )


async def enqueue_refund_sync(uow: UnitOfWork, refund_id: str, now: datetime) -> None:
    await uow.jobs.enqueue(
        SYNC_REFUND,
        {"refund_id": refund_id, "step": 0},
        run_at=now + refund_sync_delay(0),
        now=now,
        dedupe_key=f"{SYNC_REFUND}:{refund_id}",
    )


async def enqueue_retention(uow: UnitOfWork, now: datetime) -> bool:
    """Queue the retention job unless one is open; True when this call queued it."""
    return await uow.jobs.enqueue(
        RETENTION, {}, run_at=now, now=now, dedupe_key=RETENTION, max_attempts=5
    )
