"""Closing an unpaid order: at WeChat first (when WeChat knows it), then locally.

The local close follows WeChat's own statement: after the close call, the order is queried
and that answer is applied. A user who paid at the last second is therefore recorded as paid,
never left paid-but-closed.
"""

from __future__ import annotations

import math
from datetime import datetime

from mppay.domain.events import OrderEventType
from mppay.domain.states import OrderStatus
from mppay.domain.timing import earliest_v2_close
from mppay.store.models import OrderRow, UserRow
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, NotFound, UpstreamRefused, UpstreamUnavailable
from mppay.usecases.ports import (
    AlreadyClosed,
    AlreadyPaid,
    OutcomeUnknown,
    Refused,
    UnknownAtWeChat,
)
from mppay.usecases.trade_sync import TradeApplyResult, apply_trade_snapshot

__all__ = ["CloseTooEarly", "cancel_order", "close_order"]


class CloseTooEarly(Conflict):
    """v2 refuses to close an order within 5 minutes of its creation; ``retry_at`` says when.

    ``retry_after_seconds`` is the wait from ``now`` rounded up to whole seconds (at least 1):
    HTTP's ``Retry-After`` takes delay-seconds, not a timestamp (RFC 9110 §10.2.3).
    """

    def __init__(self, retry_at: datetime, now: datetime) -> None:
        super().__init__(
            "CLOSE_NOT_YET_ALLOWED",
            "WeChat Pay API v2 does not close an order within 5 minutes of its creation; "
            f"try again after {retry_at.isoformat()}",
        )
        self.retry_at = retry_at
        self.retry_after_seconds = max(1, math.ceil((retry_at - now).total_seconds()))


async def cancel_order(ctx: ServiceContext, user: UserRow, order_id: str) -> OrderRow:
    """The user's cancel: closes the order (idempotent for an already closed order)."""
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get_for_user(order_id, user.id)
    if order is None:
        raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
    return await close_order(ctx, order, source="user_cancel")


async def close_order(ctx: ServiceContext, order: OrderRow, *, source: str) -> OrderRow:
    """Close ``order`` at WeChat (if a prepay was ever sent) and locally; return it fresh.

    Raises ``Conflict`` ORDER_ALREADY_PAID if WeChat says it was paid (the order is then
    recorded as paid), ``CloseTooEarly`` for v2's 5-minute rule, ``UpstreamUnavailable`` /
    ``UpstreamRefused`` when WeChat does not confirm the close (the order stays PENDING).
    """
    status = OrderStatus(order.status)
    if status is OrderStatus.CLOSED:
        return order
    if status.is_paid:
        raise Conflict("ORDER_ALREADY_PAID", "a paid order cannot be cancelled; ask for a refund")
    now = ctx.clock.now()
    async with ctx.uow(read_only=True) as uow:
        sent = await uow.attempts.any_sent(order.id)
    if not sent:
        return await _close_locally(ctx, order, source=source, detail={"wechat": "never prepaid"})

    if order.api_version == "v2" and order.first_prepay_at is not None:
        allowed_at = earliest_v2_close(order.first_prepay_at)
        if now < allowed_at:
            raise CloseTooEarly(allowed_at, now)

    gateway = ctx.gateway_for(order.api_version)
    async with ctx.uow() as uow:
        await uow.events.append(order.id, OrderEventType.CLOSE_REQUESTED, at=now, source=source)
        await uow.commit()
    try:
        await gateway.close(order.out_trade_no)
    except (AlreadyClosed, UnknownAtWeChat, AlreadyPaid):
        pass  # the query below tells what is true
    except Refused as exc:
        await _close_failed(ctx, order, source, exc.code, exc.message)
        raise UpstreamRefused(
            "WECHAT_REFUSED", f"WeChat Pay refused to close: {exc.message}"
        ) from exc
    except OutcomeUnknown as exc:
        await _close_failed(ctx, order, source, exc.code, exc.message)
        raise UpstreamUnavailable(
            "WECHAT_UNAVAILABLE", "WeChat Pay did not confirm the close; try again"
        ) from exc

    try:
        snapshot = await gateway.query_trade(order.out_trade_no)
    except UnknownAtWeChat:
        # The prepay never reached WeChat (it failed before creating the order): nothing to close there.
        return await _close_locally(ctx, order, source=source, detail={"wechat": "ORDER_NOT_EXIST"})
    except (Refused, OutcomeUnknown) as exc:
        await _close_failed(ctx, order, source, exc.code, exc.message)
        raise UpstreamUnavailable(
            "WECHAT_UNAVAILABLE", "could not confirm the close with WeChat Pay; try again"
        ) from exc
    async with ctx.uow() as uow:
        locked = await uow.orders.get(order.id, for_update=True)
        assert locked is not None
        result = await apply_trade_snapshot(ctx, uow, locked, snapshot, source=source)
        fresh = await uow.orders.get(order.id)
        assert fresh is not None
        await uow.commit()
    if result in (TradeApplyResult.PAID, TradeApplyResult.ALREADY_PAID):
        raise Conflict("ORDER_ALREADY_PAID", "the order was paid before it could be closed")
    if fresh.status != OrderStatus.CLOSED:
        raise UpstreamUnavailable(
            "WECHAT_UNAVAILABLE",
            f"WeChat Pay still reports {snapshot.trade_state} after the close; try again",
        )
    return fresh


async def _close_locally(
    ctx: ServiceContext, order: OrderRow, *, source: str, detail: dict[str, str]
) -> OrderRow:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        moved = await uow.orders.transition(
            order.id,
            to=OrderStatus.CLOSED,
            from_states=[OrderStatus.PENDING],
            now=now,
            closed_at=now,
        )
        if moved:
            await uow.events.append(
                order.id, OrderEventType.CLOSED, at=now, source=source, detail=detail
            )
        fresh = await uow.orders.get(order.id)
        assert fresh is not None
        await uow.commit()
    if fresh.status != OrderStatus.CLOSED and OrderStatus(fresh.status).is_paid:
        raise Conflict("ORDER_ALREADY_PAID", "the order was paid before it could be closed")
    return fresh


async def _close_failed(
    ctx: ServiceContext, order: OrderRow, source: str, code: str | None, message: str
) -> None:
    async with ctx.uow() as uow:
        await uow.events.append(
            order.id,
            OrderEventType.CLOSE_FAILED,
            at=ctx.clock.now(),
            source=source,
            detail={"code": code, "message": message[:500]},
        )
        await uow.commit()
