"""Retention: trimming what has outlived its use, in bounded batches.

Trimmed: sessions some time after they expired, idempotency keys past their replay window
(orders' and operator refunds'), the bounded records of rejected notifications, and finished
jobs (DONE or FAILED). Never trimmed: orders, their items, events, payment attempts, refunds,
verified notifications and reconciliation runs, the money records.

Each DELETE removes at most ``batch_size`` rows in its own short transaction, so neither a
lock nor a WAL burst grows with the backlog; a run stops after ``max_batches`` statements per
kind and says whether more is left (the job then comes back sooner).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from mppay.store.repos.retention import TRIMMABLE, Trimmable
from mppay.usecases.context import ServiceContext
from mppay.usecases.retention_policy import RetentionPolicy

__all__ = ["RetentionPolicy", "RetentionReport", "trim_expired"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionReport:
    """Rows deleted per kind in one run; ``more_left`` when a kind hit ``max_batches``."""

    deleted: dict[str, int]
    more_left: bool


def _cutoffs(policy: RetentionPolicy, now: datetime) -> dict[Trimmable, datetime]:
    return {
        "sessions": now - policy.sessions_after_expiry,
        "idempotency_keys": now - policy.idempotency_keys,
        "refund_idempotency_keys": now - policy.idempotency_keys,
        "rejected_notifications": now - policy.rejected_notifications,
        "finished_jobs": now - policy.finished_jobs,
    }


async def trim_expired(ctx: ServiceContext) -> RetentionReport:
    """Delete what is past its window (see the module docstring); return what was deleted."""
    policy = ctx.retention
    cutoffs = _cutoffs(policy, ctx.clock.now())
    deleted: dict[str, int] = {}
    more_left = False
    for kind in TRIMMABLE:
        total, batch = 0, policy.batch_size
        for _ in range(policy.max_batches):
            async with ctx.uow() as uow:
                batch = await uow.retention.delete_batch(kind, cutoffs[kind], policy.batch_size)
                await uow.commit()
            total += batch
            if batch < policy.batch_size:
                break
        else:
            more_left = True  # every batch was full: the rest waits for the next run
        deleted[kind] = total
    if any(deleted.values()):
        log.info("retention trimmed %s", ", ".join(f"{k}={n}" for k, n in deleted.items() if n))
    return RetentionReport(deleted=deleted, more_left=more_left)


def next_run_after(report: RetentionReport, policy: RetentionPolicy) -> timedelta:
    """A backlog is worked off in catch-up runs; otherwise the job waits a full interval."""
    return policy.catch_up_every if report.more_left else policy.every
