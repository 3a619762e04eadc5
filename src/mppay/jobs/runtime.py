"""Background work started with a process: the outbox worker, the schedule (daily
reconciliation, the retention job), and platform certificate refresh. Each starter returns the coroutine that stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

from mppay.domain.identifiers import BEIJING
from mppay.jobs.handlers import HANDLERS
from mppay.jobs.worker import Worker
from mppay.usecases.context import ServiceContext
from mppay.usecases.followups import RECONCILE, enqueue_retention
from mppay.usecases.shipping_events import enqueue_watch

if TYPE_CHECKING:
    from mppay.bootstrap import Service

__all__ = [
    "RECONCILE_AFTER",
    "certificate_refresher",
    "enqueue_due_reconciliation",
    "enqueue_scheduled_work",
    "in_process_worker",
    "periodic",
]

log = logging.getLogger(__name__)

# WeChat generates the previous day's bill around 09:00-10:00 Beijing time.
RECONCILE_AFTER = time(10, 5)
SCHEDULE_CHECK_SECONDS = 300
RERUN_AFTER = timedelta(hours=1)
CERTIFICATE_CHECK_SECONDS = 3600

Stop = Callable[[], Awaitable[None]]


def periodic(name: str, every_seconds: float, action: Callable[[], Awaitable[object]]) -> Stop:
    """Run ``action`` now and then every ``every_seconds``; a failure is logged, not fatal."""

    async def loop() -> None:
        while True:
            try:
                await action()
            except Exception:
                log.exception("periodic task %s failed", name)
            await asyncio.sleep(every_seconds)

    task = asyncio.create_task(loop(), name=f"mppay:{name}")

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop


async def enqueue_due_reconciliation(ctx: ServiceContext) -> date | None:
    """After 10:05 Beijing time, queue yesterday's reconciliation unless it already ran."""
    now = ctx.clock.now().astimezone(BEIJING)
    if now.time() < RECONCILE_AFTER:
        return None
    bill_date = now.date() - timedelta(days=1)
    utc_now = ctx.clock.now()
    async with ctx.uow() as uow:
        previous = await uow.reconciliations.get(bill_date)
        # A bill may not be generated yet ("no bill") or a fetch may fail: try again hourly.
        retry = (
            previous is not None
            and previous.status in ("NO_BILL", "FAILED")
            and (utc_now - previous.started_at > RERUN_AFTER)
        )
        if previous is not None and not retry:
            return None
        await uow.jobs.enqueue(
            RECONCILE,
            {"bill_date": bill_date.isoformat()},
            run_at=utc_now,
            now=utc_now,
            dedupe_key=f"{RECONCILE}:{bill_date.isoformat()}",
        )
        await uow.commit()
    return bill_date


async def enqueue_scheduled_work(ctx: ServiceContext) -> None:
    """What every worker's schedule check queues: reconciliation when due, and the retention
    job unless one is open (its dedupe key keeps it to one across all workers)."""
    await enqueue_due_reconciliation(ctx)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        await enqueue_retention(uow, now)
        if ctx.shipping is not None:
            await enqueue_watch(uow, now)
        await uow.commit()


async def in_process_worker(service: Service) -> Stop:
    """The outbox worker and the schedule (reconciliation, retention), inside this process."""
    worker = Worker(service.ctx, HANDLERS)
    task = asyncio.create_task(worker.run(), name="mppay:worker")
    stop_schedule = periodic(
        "schedule", SCHEDULE_CHECK_SECONDS, lambda: enqueue_scheduled_work(service.ctx)
    )
    service.worker = worker

    async def stop() -> None:
        await stop_schedule()
        worker.stop()
        await task

    return stop


async def certificate_refresher(service: Service) -> Stop:
    """Refresh platform certificates on a schedule (certificate mode only)."""
    client = service.v3_client
    store = client.certificate_store if client is not None else None
    if store is None or client is None or client.config.wechatpay_public_key is not None:

        async def nothing() -> None:
            return None

        return nothing
    return periodic("certificate-refresh", CERTIFICATE_CHECK_SECONDS, store.refresh_if_due)
