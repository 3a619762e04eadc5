"""Apply what WeChat says about a trade: the one code path for notifications, queries,
user refreshes, the sync job, expiry and reconciliation.

Exactly-once comes from the store: a conditional UPDATE whose WHERE clause lists the allowed
source states, plus the unique constraint on ``transaction_id``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from mppay.domain.checks import ExpectedTrade, trade_mismatches
from mppay.domain.events import OrderEventType
from mppay.domain.states import OrderStatus, order_sources_for
from mppay.domain.wechat_facts import TradeOutcome, TradeSnapshot
from mppay.store.models import OrderRow
from mppay.store.uow import UnitOfWork
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import NotFound, UpstreamUnavailable
from mppay.usecases.ports import OutcomeUnknown, Refused
from mppay.usecases.shipping import enqueue_start_shipping

__all__ = ["TradeApplyResult", "apply_trade_snapshot", "refresh_order"]

log = logging.getLogger(__name__)


class TradeSubject(Protocol):
    """What applying a statement reads of an order: an ``OrderRow`` or a hot path's
    ``OrderFacts`` row tuple, read in the caller's transaction."""

    @property
    def id(self) -> str: ...
    @property
    def appid(self) -> str: ...
    @property
    def mchid(self) -> str: ...
    @property
    def out_trade_no(self) -> str: ...
    @property
    def amount_total_fen(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def openid(self) -> str: ...
    @property
    def status(self) -> str: ...


class TradeApplyResult(StrEnum):
    PAID = "applied_paid"
    CLOSED = "applied_closed"
    ALREADY_PAID = "duplicate"
    ALREADY_CLOSED = "duplicate_closed"
    STILL_PENDING = "pending"
    MISMATCH = "mismatch"
    CONFLICT = "conflict"


def expected_trade(order: TradeSubject) -> ExpectedTrade:
    return ExpectedTrade(
        appid=order.appid,
        mchid=order.mchid,
        out_trade_no=order.out_trade_no,
        amount_total_fen=order.amount_total_fen,
        currency=order.currency,
        payer_openid=order.openid,
    )


async def apply_trade_snapshot(
    ctx: ServiceContext,
    uow: UnitOfWork,
    order: TradeSubject,
    snapshot: TradeSnapshot,
    *,
    source: str,
) -> TradeApplyResult:
    """Bring ``order`` in line with ``snapshot`` inside the caller's transaction.

    Never commits. A statement that contradicts our record on appid, mchid, out_trade_no,
    amount, currency or payer, or that says paid without amount, currency or transaction_id,
    changes no money state: the order is flagged for review.
    """
    now = ctx.clock.now()
    mismatches = trade_mismatches(expected_trade(order), snapshot)
    if mismatches:
        reason = "; ".join(str(m) for m in mismatches)
        await uow.orders.flag_for_review(order.id, f"{source}: {reason}", now)
        await uow.events.append(
            order.id,
            OrderEventType.MISMATCH,
            at=now,
            source=source,
            detail={
                "mismatches": [m.__dict__ for m in mismatches],
                "trade_state": snapshot.trade_state,
            },
        )
        ctx.observer.alert(
            "WeChat statement contradicts the order",
            order_id=order.id,
            out_trade_no=order.out_trade_no,
            source=source,
            mismatch=reason,
        )
        return TradeApplyResult.MISMATCH

    outcome = snapshot.outcome
    if outcome is TradeOutcome.PAID:
        return await _apply_paid(ctx, uow, order, snapshot, source=source, now=now)
    if outcome is TradeOutcome.CLOSED:
        return await _apply_closed(ctx, uow, order, snapshot, source=source, now=now)
    return TradeApplyResult.STILL_PENDING


async def _apply_paid(
    ctx: ServiceContext,
    uow: UnitOfWork,
    order: TradeSubject,
    snapshot: TradeSnapshot,
    *,
    source: str,
    now: datetime,
) -> TradeApplyResult:
    was_closed = order.status == OrderStatus.CLOSED
    moved = await uow.orders.transition(
        order.id,
        to=OrderStatus.PAID,
        from_states=order_sources_for(OrderStatus.PAID),
        now=now,
        transaction_id=snapshot.transaction_id,
        paid_at=snapshot.success_time or now,
    )
    if moved:
        detail = {
            "transaction_id": snapshot.transaction_id,
            "amount_total_fen": snapshot.amount_total_fen,
            "success_time": snapshot.success_time.isoformat() if snapshot.success_time else None,
        }
        await uow.events.append(order.id, OrderEventType.PAID, at=now, source=source, detail=detail)
        if ctx.shipping is not None:
            # The shipping outbox row, in the PAID transition's transaction (发货信息管理).
            await enqueue_start_shipping(uow, order.id, now)
        if was_closed:
            # WeChat's word wins over our close: the money was taken, so record it and tell a human.
            await uow.orders.flag_for_review(
                order.id, "paid after the order was closed locally", now
            )
            await uow.events.append(
                order.id, OrderEventType.PAID_AFTER_CLOSE, at=now, source=source, detail=detail
            )
            ctx.observer.alert("paid after close", order_id=order.id, source=source)
        log.info("order %s paid (%s, via %s)", order.id, snapshot.transaction_id, source)
        return TradeApplyResult.PAID

    status, transaction_id = await uow.orders.state_of(order.id)
    if OrderStatus(status).is_paid and transaction_id == snapshot.transaction_id:
        return TradeApplyResult.ALREADY_PAID
    reason = (
        f"{source}: WeChat reports transaction {snapshot.transaction_id} paid but the order is "
        f"{status} with transaction {transaction_id}"
    )
    return await _conflict(ctx, uow, order, reason, source=source, now=now)


async def _apply_closed(
    ctx: ServiceContext,
    uow: UnitOfWork,
    order: TradeSubject,
    snapshot: TradeSnapshot,
    *,
    source: str,
    now: datetime,
) -> TradeApplyResult:
    moved = await uow.orders.transition(
        order.id,
        to=OrderStatus.CLOSED,
        from_states=order_sources_for(OrderStatus.CLOSED),
        now=now,
        closed_at=now,
    )
    if moved:
        await uow.events.append(
            order.id,
            OrderEventType.CLOSED,
            at=now,
            source=source,
            detail={"trade_state": snapshot.trade_state},
        )
        return TradeApplyResult.CLOSED
    status, _ = await uow.orders.state_of(order.id)
    if status == OrderStatus.CLOSED:
        return TradeApplyResult.ALREADY_CLOSED
    reason = f"{source}: WeChat reports {snapshot.trade_state} but the order is {status}"
    return await _conflict(ctx, uow, order, reason, source=source, now=now)


async def _conflict(
    ctx: ServiceContext,
    uow: UnitOfWork,
    order: TradeSubject,
    reason: str,
    *,
    source: str,
    now: datetime,
) -> TradeApplyResult:
    """A statement the transition table cannot take: flag the order, keep the evidence, alert."""
    await uow.orders.flag_for_review(order.id, reason, now)
    await uow.events.append(
        order.id, OrderEventType.MISMATCH, at=now, source=source, detail={"conflict": reason}
    )
    ctx.observer.alert("conflicting WeChat statement", order_id=order.id, detail=reason)
    return TradeApplyResult.CONFLICT


async def refresh_order(
    ctx: ServiceContext,
    order_id: str,
    *,
    source: str,
    include_closed: bool = False,
    record_unchanged: bool = True,
) -> OrderRow:
    """Query WeChat for a PENDING order and apply the answer; returns the fresh order.

    ``include_closed`` also asks about a CLOSED order (reconciliation found it paid at
    WeChat). Orders never sent to WeChat are returned as they are. A query failure raises
    ``UpstreamUnavailable`` (the caller may still show the stored state).

    ``record_unchanged=False`` writes no ``wechat.queried`` / ``wechat.query_failed`` event
    when the answer changed nothing: user refreshes come as often as a client polls, while
    the jobs' queries follow a schedule and their events show that it ran.
    """
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get(order_id)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
        sent = await uow.attempts.any_sent(order_id)
    askable = {OrderStatus.PENDING, OrderStatus.CLOSED} if include_closed else {OrderStatus.PENDING}
    if order.status not in askable or not sent:
        return order
    gateway = ctx.gateway_for(order.api_version)
    try:
        snapshot = await gateway.query_trade(order.out_trade_no)
    except Refused as exc:
        # ORDER_NOT_EXIST: the prepay never reached WeChat; nothing to apply.
        if not record_unchanged:
            return order
        async with ctx.uow() as uow:
            await uow.events.append(
                order.id,
                OrderEventType.QUERIED,
                at=ctx.clock.now(),
                source=source,
                detail={"result": "refused", "code": exc.code, "message": exc.message},
            )
            await uow.commit()
        return order
    except OutcomeUnknown as exc:
        if record_unchanged:
            async with ctx.uow() as uow:
                await uow.events.append(
                    order.id,
                    OrderEventType.QUERY_FAILED,
                    at=ctx.clock.now(),
                    source=source,
                    detail={"code": exc.code, "message": exc.message},
                )
                await uow.commit()
        raise UpstreamUnavailable(
            "WECHAT_UNAVAILABLE", "could not reach WeChat Pay to refresh the order; try again"
        ) from exc
    async with ctx.uow() as uow:
        locked = await uow.orders.get(order_id, for_update=True)
        assert locked is not None
        result = await apply_trade_snapshot(ctx, uow, locked, snapshot, source=source)
        if record_unchanged or result is not TradeApplyResult.STILL_PENDING:
            await uow.events.append(
                order.id,
                OrderEventType.QUERIED,
                at=ctx.clock.now(),
                source=source,
                detail={"trade_state": snapshot.trade_state, "result": result.value},
            )
        fresh = await uow.orders.get(order_id)
        assert fresh is not None
        await uow.commit()
        return fresh
