"""Refunds: requested by an operator, reserved against the paid amount, submitted to WeChat,
settled by notification or query.

The reservation is a conditional UPDATE (``amount_total - reserved >= amount``), so two
concurrent refund requests can never together exceed what was paid. A refund whose submission
had no usable answer keeps its ``out_refund_no`` and is re-submitted with the same number,
which WeChat refunds at most once.
"""

from __future__ import annotations

import logging

from mppay.domain.events import OrderEventType
from mppay.domain.identifiers import new_out_refund_no, new_refund_id
from mppay.domain.money import MAX_ORDER_TOTAL_FEN
from mppay.domain.states import OrderStatus, RefundStatus
from mppay.store.models import RefundRow
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, InvalidInput, NotFound, UpstreamRefused
from mppay.usecases.followups import enqueue_refund_sync
from mppay.usecases.ports import OutcomeUnknown, RefundCommand, Refused, UnknownAtWeChat
from mppay.usecases.refund_sync import apply_refund_snapshot

__all__ = ["create_refund", "submit_refund", "sync_refund"]

log = logging.getLogger(__name__)

_PAID_STATES = [OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED]
REASON_LIMIT = 80


async def create_refund(
    ctx: ServiceContext, order_id: str, amount_fen: int, reason: str | None
) -> RefundRow:
    """Reserve ``amount_fen`` of the order's refundable remainder and submit the refund.

    Returns the refund (PROCESSING, or already SUCCESS). Raises ``NotFound``, ``InvalidInput``
    (amount), ``Conflict`` ORDER_NOT_PAID / REFUND_EXCEEDS_REFUNDABLE, ``UpstreamRefused``
    when WeChat definitely refused (the reservation is released).
    """
    # No order is worth more than MAX_ORDER_TOTAL_FEN, so no refund is either; the bound also
    # keeps the amount inside the database's 64-bit integers.
    if (
        not isinstance(amount_fen, int)
        or isinstance(amount_fen, bool)
        or not 0 < amount_fen <= MAX_ORDER_TOTAL_FEN
    ):
        raise InvalidInput(
            "INVALID_AMOUNT",
            f"amount_fen must be a whole number of fen from 1 to {MAX_ORDER_TOTAL_FEN}",
        )
    if reason is not None and len(reason) > REASON_LIMIT:
        raise InvalidInput("INVALID_REASON", f"reason must be at most {REASON_LIMIT} characters")
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        order = await uow.orders.get(order_id, for_update=True)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
        if order.status == OrderStatus.REFUNDED:
            raise Conflict(
                "REFUND_EXCEEDS_REFUNDABLE",
                "the order is fully refunded; nothing is left to refund",
            )
        if order.status not in _PAID_STATES:
            raise Conflict(
                "ORDER_NOT_PAID", f"only paid orders can be refunded; this one is {order.status}"
            )
        if not await uow.orders.reserve_refund(order.id, amount_fen, _PAID_STATES, now):
            fresh = await uow.orders.get(order.id)
            assert fresh is not None
            remainder = fresh.amount_total_fen - fresh.refund_reserved_fen
            raise Conflict(
                "REFUND_EXCEEDS_REFUNDABLE",
                f"refund of {amount_fen} fen exceeds the refundable remainder of {remainder} fen",
            )
        refund = RefundRow(
            id=new_refund_id(),
            order_id=order.id,
            out_refund_no=new_out_refund_no(now),
            amount_fen=amount_fen,
            reason=reason,
            status=RefundStatus.PROCESSING,
            submit_state="PENDING",
            created_at=now,
            updated_at=now,
            needs_attention=False,
        )
        await uow.refunds.add(refund)
        await enqueue_refund_sync(uow, refund.id, now)
        await uow.events.append(
            order.id,
            OrderEventType.REFUND_REQUESTED,
            at=now,
            source="admin",
            detail={
                "out_refund_no": refund.out_refund_no,
                "amount_fen": amount_fen,
                "reason": reason,
            },
        )
        await uow.commit()
    return await submit_refund(ctx, refund.id)


async def submit_refund(ctx: ServiceContext, refund_id: str) -> RefundRow:
    """Send the refund to WeChat (again, with the same out_refund_no) and apply the answer."""
    async with ctx.uow(read_only=True) as uow:
        refund = await uow.refunds.get(refund_id)
        if refund is None:
            raise NotFound("REFUND_NOT_FOUND", f"no refund {refund_id}")
        order = await uow.orders.get(refund.order_id)
        assert order is not None
    gateway = ctx.gateway_for(order.api_version)
    command = RefundCommand(
        out_trade_no=order.out_trade_no,
        transaction_id=order.transaction_id,
        out_refund_no=refund.out_refund_no,
        refund_fen=refund.amount_fen,
        total_fen=order.amount_total_fen,
        currency=order.currency,
        reason=refund.reason,
        notify_url=ctx.notify_url(order.api_version, "refunds"),
    )
    try:
        snapshot = await gateway.refund(command)
    except Refused as exc:
        return await _rejected(ctx, refund, exc)
    except OutcomeUnknown as exc:
        now = ctx.clock.now()
        async with ctx.uow() as uow:
            await uow.refunds.update_fields(
                refund.id,
                now,
                submit_state="UNKNOWN",
                error_code=exc.code,
                error_message=exc.message[:500],
            )
            await uow.events.append(
                order.id,
                OrderEventType.REFUND_OUTCOME_UNKNOWN,
                at=now,
                source="wechat",
                detail={
                    "out_refund_no": refund.out_refund_no,
                    "code": exc.code,
                    "message": exc.message[:500],
                },
            )
            fresh = await uow.refunds.get(refund.id)
            await uow.commit()
        assert fresh is not None
        return fresh
    async with ctx.uow() as uow:
        locked_order = await uow.orders.get(order.id, for_update=True)
        current = await uow.refunds.get(refund.id)
        assert locked_order is not None
        assert current is not None
        await uow.events.append(
            order.id,
            OrderEventType.REFUND_ACCEPTED,
            at=ctx.clock.now(),
            source="wechat",
            detail={
                "out_refund_no": refund.out_refund_no,
                "refund_id": snapshot.refund_id,
                "status": snapshot.status,
            },
        )
        await apply_refund_snapshot(ctx, uow, locked_order, current, snapshot, source="refund_api")
        fresh = await uow.refunds.get(refund.id)
        await uow.commit()
    assert fresh is not None
    return fresh


async def _rejected(ctx: ServiceContext, refund: RefundRow, exc: Refused) -> RefundRow:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        moved = await uow.refunds.transition(
            refund.id,
            to=RefundStatus.CLOSED,
            from_states=[RefundStatus.PROCESSING],
            now=now,
            submit_state="REJECTED",
            error_code=exc.code,
            error_message=exc.message[:500],
        )
        if moved:
            await uow.orders.release_refund(refund.order_id, refund.amount_fen, now)
            await uow.events.append(
                refund.order_id,
                OrderEventType.REFUND_REJECTED,
                at=now,
                source="wechat",
                detail={
                    "out_refund_no": refund.out_refund_no,
                    "code": exc.code,
                    "message": exc.message[:500],
                },
            )
        await uow.commit()
    raise UpstreamRefused(
        "REFUND_REJECTED", f"WeChat Pay refused the refund: {exc.code or ''} {exc.message}".strip()
    ) from exc


async def sync_refund(ctx: ServiceContext, refund_id: str) -> RefundRow:
    """Ask WeChat about an unsettled refund and apply the answer; re-submit one WeChat never got.

    Raises the port's ``OutcomeUnknown`` when WeChat cannot be reached (the job retries).
    """
    async with ctx.uow(read_only=True) as uow:
        refund = await uow.refunds.get(refund_id)
        if refund is None:
            raise NotFound("REFUND_NOT_FOUND", f"no refund {refund_id}")
        order = await uow.orders.get(refund.order_id)
        assert order is not None
    if RefundStatus(refund.status).is_final:
        return refund
    gateway = ctx.gateway_for(order.api_version)
    try:
        snapshot = await gateway.query_refund(refund.out_refund_no, order.out_trade_no)
    except UnknownAtWeChat:
        if refund.submit_state in ("PENDING", "UNKNOWN"):
            log.info("refund %s unknown at WeChat: submitting it again", refund.out_refund_no)
            try:
                return await submit_refund(ctx, refund.id)
            except UpstreamRefused:
                return await _reload(ctx, refund.id)
        raise
    async with ctx.uow() as uow:
        locked_order = await uow.orders.get(order.id, for_update=True)
        current = await uow.refunds.get(refund.id)
        assert locked_order is not None
        assert current is not None
        await apply_refund_snapshot(ctx, uow, locked_order, current, snapshot, source="refund_sync")
        fresh = await uow.refunds.get(refund.id)
        await uow.commit()
    assert fresh is not None
    return fresh


async def _reload(ctx: ServiceContext, refund_id: str) -> RefundRow:
    async with ctx.uow(read_only=True) as uow:
        refund = await uow.refunds.get(refund_id)
    assert refund is not None
    return refund
