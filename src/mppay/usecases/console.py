"""What the operations console reads and the few actions of its own.

Refunds, closing and refreshing an order go through the same use cases as the operations API
(``refunds``, ``closing``, ``trade_sync``); this module adds the overview's figures, the lists
an operator works through, and three actions: resolving a ``needs_review`` flag with a
comment, retrying a job, and queueing a reconciliation re-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mppay.domain.identifiers import BEIJING
from mppay.domain.states import RefundStatus
from mppay.store.models import JobRow, NotificationRow, OrderRow, ReconciliationRunRow, RefundRow
from mppay.store.repos.console import OrderQuery
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, InvalidInput, NotFound, UpstreamUnavailable
from mppay.usecases.followups import RECONCILE
from mppay.usecases.ports import GatewayError
from mppay.usecases.refunds import sync_refund
from mppay.usecases.trade_sync import refresh_order

__all__ = [
    "REVIEW_RESOLVED",
    "OrderQuery",
    "Overview",
    "beijing_midnight",
    "failing_jobs",
    "list_notifications",
    "list_refunds",
    "orders_before",
    "overview",
    "queue_reconciliation",
    "refresh_from_wechat",
    "resolve_review",
    "retry_job",
    "search_orders",
]

REVIEW_RESOLVED = "review.resolved"
COMMENT_LIMIT = 500
# WeChat hands out bills of the last three months only (bill_date "within the last 3 months").
BILL_HISTORY = timedelta(days=92)


def beijing_midnight(day: date) -> datetime:
    """The first instant of a Beijing calendar day (an aware datetime)."""
    return datetime.combine(day, time(0), BEIJING)


@dataclass(frozen=True)
class Overview:
    today: date
    paid_today: tuple[int, int]  # (count, fen)
    paid_yesterday: tuple[int, int]
    refunds_today: tuple[int, int]
    needs_review: int
    rejected_notifications_24h: int
    failing_jobs: int
    last_reconciliation: ReconciliationRunRow | None
    # fen per Beijing hour of today and of yesterday, and per day of the last 30 days.
    hourly_today: dict[int, int]
    hourly_yesterday: dict[int, int]
    daily_30: dict[int, int]


async def overview(ctx: ServiceContext) -> Overview:
    now = ctx.clock.now()
    today = now.astimezone(BEIJING).date()
    start = beijing_midnight(today)
    yesterday = start - timedelta(days=1)
    tomorrow = start + timedelta(days=1)
    async with ctx.uow(read_only=True) as uow:
        q = uow.console
        return Overview(
            today=today,
            paid_today=await q.paid_totals(start, tomorrow),
            paid_yesterday=await q.paid_totals(yesterday, start),
            refunds_today=await q.refund_totals(start, tomorrow),
            needs_review=await q.count_needing_review(),
            rejected_notifications_24h=await q.count_rejected_notifications(
                now - timedelta(hours=24)
            ),
            failing_jobs=await q.count_failing_jobs(),
            last_reconciliation=await q.last_reconciliation(),
            hourly_today=await q.paid_by_bucket(start, 3600, 24),
            hourly_yesterday=await q.paid_by_bucket(yesterday, 3600, 24),
            daily_30=await q.paid_by_bucket(start - timedelta(days=29), 86400, 30),
        )


async def search_orders(
    ctx: ServiceContext, query: OrderQuery, *, limit: int, offset: int
) -> list[OrderRow]:
    async with ctx.uow(read_only=True) as uow:
        return await uow.console.orders(query, limit=limit, offset=offset)


async def orders_before(
    ctx: ServiceContext, query: OrderQuery, before: tuple[datetime, str] | None, *, limit: int
) -> list[OrderRow]:
    """One keyset page of the export (each page its own short read transaction)."""
    async with ctx.uow(read_only=True) as uow:
        return await uow.console.orders_before(query, before, limit=limit)


async def list_refunds(
    ctx: ServiceContext, *, status: str | None, limit: int, offset: int
) -> list[RefundRow]:
    async with ctx.uow(read_only=True) as uow:
        return await uow.console.refunds(status=status, limit=limit, offset=offset)


async def list_notifications(
    ctx: ServiceContext, *, kind: str | None, limit: int, offset: int
) -> list[NotificationRow]:
    async with ctx.uow(read_only=True) as uow:
        return await uow.console.notifications(kind=kind, limit=limit, offset=offset)


async def failing_jobs(
    ctx: ServiceContext, *, limit: int
) -> tuple[list[JobRow], list[JobRow], dict[str, int]]:
    """(failing or failed jobs, queued or running jobs, counts by status)."""
    async with ctx.uow(read_only=True) as uow:
        return (
            await uow.console.jobs(failing_only=True, limit=limit),
            await uow.console.jobs(failing_only=False, limit=limit),
            await uow.console.count_jobs_by_status(),
        )


async def resolve_review(
    ctx: ServiceContext, order_id: str, comment: str, *, operator: str
) -> None:
    """Clear the order's ``needs_review`` flag; the comment goes on its timeline.

    Raises ``InvalidInput`` COMMENT_REQUIRED, ``NotFound``, ``Conflict`` NOT_FLAGGED (not
    flagged, or resolved by someone else first).
    """
    text = comment.strip()
    if not text:
        raise InvalidInput("COMMENT_REQUIRED", "say how the review was resolved")
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        order = await uow.orders.get(order_id, with_items=False)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
        if not await uow.console.resolve_review(order_id, now):
            raise Conflict("NOT_FLAGGED", "the order is not flagged for review")
        await uow.events.append(
            order_id,
            REVIEW_RESOLVED,
            at=now,
            source="console",
            detail={
                "operator": operator,
                "comment": text[:COMMENT_LIMIT],
                "reason": order.review_reason,
            },
        )
        await uow.commit()


async def refresh_from_wechat(ctx: ServiceContext, order_id: str) -> OrderRow:
    """Query WeChat for a PENDING order and for each refund still in flight; apply answers.

    Raises ``NotFound`` or ``UpstreamUnavailable`` when WeChat cannot be reached.
    """
    order = await refresh_order(ctx, order_id, source="console")
    async with ctx.uow(read_only=True) as uow:
        refunds = await uow.refunds.for_order(order_id)
    for refund in refunds:
        if RefundStatus(refund.status).is_final:
            continue
        try:
            await sync_refund(ctx, refund.id)
        except GatewayError as exc:
            raise UpstreamUnavailable(
                "WECHAT_UNAVAILABLE", f"could not ask WeChat about refund {refund.id}: {exc}"
            ) from exc
    async with ctx.uow(read_only=True) as uow:
        fresh = await uow.orders.get(order_id)
    return fresh or order


async def retry_job(ctx: ServiceContext, job_id: int) -> None:
    """Run a failing or failed job now; ``Conflict`` NOT_FAILING when it is neither."""
    async with ctx.uow() as uow:
        if not await uow.console.retry_job(job_id, ctx.clock.now()):
            raise Conflict("NOT_FAILING", f"job {job_id} is not failing")
        await uow.commit()


async def queue_reconciliation(ctx: ServiceContext, bill_date: date) -> bool:
    """Queue a (re-)run of ``bill_date``; False when one is already queued.

    Refuses (``InvalidInput`` INVALID_DATE) today and later, which have no bill yet, and days
    more than three months back, whose bills WeChat no longer hands out.
    """
    now = ctx.clock.now()
    today = now.astimezone(BEIJING).date()
    if not today - BILL_HISTORY <= bill_date < today:
        raise InvalidInput(
            "INVALID_DATE", "a bill exists for a past day within the last three months"
        )
    async with ctx.uow() as uow:
        queued = await uow.jobs.enqueue(
            RECONCILE,
            {"bill_date": bill_date.isoformat()},
            run_at=now,
            now=now,
            dedupe_key=f"{RECONCILE}:{bill_date.isoformat()}",
        )
        await uow.commit()
    return queued
