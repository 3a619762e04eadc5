"""What each outbox job kind does. Every handler re-reads the state first, so it is idempotent.

- ``order.sync``: query an unpaid order on the back-off schedule and apply the answer through
  the same code path as a notification, until it is paid, closed or expired.
- ``order.expire``: close an order whose time is up, at WeChat first (v2: not within 5 minutes
  of the first prepay); if WeChat says it was paid, it is recorded as paid instead.
- ``refund.sync``: query a refund that is not final (re-submitting it with the same
  out_refund_no if WeChat never got it) until SUCCESS or CLOSED; ABNORMAL keeps being
  watched at the steady interval and is flagged for a human.
- ``reconcile``: reconcile one bill date.
- ``retention``: trim what has outlived its retention window; reschedules itself.
- ``shipping.start`` / ``shipping.upload`` / ``shipping.watch``: shipping information (see
  ``mppay.usecases.shipping``): create the shipment (virtual goods upload at once), upload
  with back-off on 10060001 and time-outs, alert on shipments waiting too long.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from mppay.domain.events import OrderEventType
from mppay.domain.states import OrderStatus, RefundStatus
from mppay.jobs.worker import Done, Handler, Outcome, Reschedule
from mppay.store.models import JobRow
from mppay.usecases import followups
from mppay.usecases.closing import CloseTooEarly, close_order
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict
from mppay.usecases.reconciliation import reconcile
from mppay.usecases.refunds import sync_refund
from mppay.usecases.retention import next_run_after, trim_expired
from mppay.usecases.shipping import START_SHIPPING, UPLOAD_SHIPMENT, start_shipping, upload_shipment
from mppay.usecases.shipping_events import WATCH_SHIPPING, watch_shipping
from mppay.usecases.trade_sync import refresh_order

__all__ = ["HANDLERS"]

log = logging.getLogger(__name__)


async def sync_order(ctx: ServiceContext, job: JobRow) -> Outcome:
    order_id = str(job.payload["order_id"])
    step = int(job.payload.get("step", 0))
    order = await refresh_order(ctx, order_id, source="sync_job")
    if order.status != OrderStatus.PENDING:
        return Done()
    now = ctx.clock.now()
    next_run = now + followups.order_sync_delay(step + 1)
    if next_run >= order.expires_at + followups.EXPIRY_GRACE:
        return Done()  # the expiry job takes it from here
    return Reschedule(next_run, {"order_id": order_id, "step": step + 1})


async def expire_order(ctx: ServiceContext, job: JobRow) -> Outcome:
    order_id = str(job.payload["order_id"])
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get(order_id)
    if order is None or order.status != OrderStatus.PENDING:
        return Done()
    now = ctx.clock.now()
    if now < order.expires_at:
        return Reschedule(order.expires_at + followups.EXPIRY_GRACE)
    async with ctx.uow() as uow:
        await uow.events.append(order.id, OrderEventType.EXPIRED, at=now, source="expiry_job")
        await uow.commit()
    try:
        await close_order(ctx, order, source="expiry_job")
    except CloseTooEarly as exc:
        return Reschedule(exc.retry_at)
    except Conflict as exc:
        if exc.code == "ORDER_ALREADY_PAID":
            log.info("order %s was paid at the last moment; recorded as paid", order.id)
            return Done()
        raise
    return Done()


async def sync_refund_job(ctx: ServiceContext, job: JobRow) -> Outcome:
    refund_id = str(job.payload["refund_id"])
    step = int(job.payload.get("step", 0))
    refund = await sync_refund(ctx, refund_id)
    if RefundStatus(refund.status).is_final:
        return Done()
    next_run = ctx.clock.now() + followups.refund_sync_delay(step + 1)
    return Reschedule(next_run, {"refund_id": refund_id, "step": step + 1})


async def reconcile_job(ctx: ServiceContext, job: JobRow) -> Outcome:
    await reconcile(ctx, date.fromisoformat(str(job.payload["bill_date"])))
    return Done()


async def retention_job(ctx: ServiceContext, job: JobRow) -> Outcome:
    report = await trim_expired(ctx)
    return Reschedule(ctx.clock.now() + next_run_after(report, ctx.retention))


async def start_shipping_job(ctx: ServiceContext, job: JobRow) -> Outcome:
    if ctx.shipping is not None:
        await start_shipping(ctx, str(job.payload["order_id"]))
    return Done()


async def upload_shipment_job(ctx: ServiceContext, job: JobRow) -> Outcome:
    if ctx.shipping is None:
        return Done()
    step = int(job.payload.get("step", 0))
    request_id = int(job.payload["request_id"])
    wait = await upload_shipment(ctx, request_id, step)
    if wait is None:
        return Done()
    return Reschedule(ctx.clock.now() + wait, {"request_id": request_id, "step": step + 1})


async def watch_shipping_job(ctx: ServiceContext, job: JobRow) -> Outcome:
    if ctx.shipping is None:
        return Done()
    await watch_shipping(ctx)
    return Reschedule(ctx.clock.now() + timedelta(seconds=ctx.shipping.watch_every_seconds))


HANDLERS: dict[str, Handler] = {
    followups.SYNC_ORDER: sync_order,
    followups.EXPIRE_ORDER: expire_order,
    followups.SYNC_REFUND: sync_refund_job,
    followups.RECONCILE: reconcile_job,
    followups.RETENTION: retention_job,
    START_SHIPPING: start_shipping_job,
    UPLOAD_SHIPMENT: upload_shipment_job,
    WATCH_SHIPPING: watch_shipping_job,
}
