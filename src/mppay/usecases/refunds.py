"""Refunds: requested by an operator, reserved against the paid amount, submitted to WeChat,
settled by notification or query.

The reservation is a conditional UPDATE (``amount_total - reserved >= amount``), so two
concurrent refund requests can never together exceed what was paid. A refund whose submission
had no usable answer keeps its ``out_refund_no`` and is re-submitted with the same number,
which WeChat refunds at most once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

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

__all__ = ["CreatedRefund", "create_refund", "request_refund", "submit_refund", "sync_refund"]

log = logging.getLogger(__name__)

_PAID_STATES = [OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED]
REASON_LIMIT = 80


@dataclass(frozen=True)
class CreatedRefund:
    refund: RefundRow
    replayed: bool


def _request_hash(amount_fen: int, reason: str | None) -> str:
    canonical = json.dumps([amount_fen, reason], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def create_refund(
    ctx: ServiceContext, order_id: str, amount_fen: int, reason: str | None
) -> RefundRow:
    """``request_refund`` without an idempotency key: every call is a new refund."""
    return (await request_refund(ctx, order_id, amount_fen, reason, idempotency_key=None)).refund


async def request_refund(
    ctx: ServiceContext,
    order_id: str,
    amount_fen: int,
    reason: str | None,
    *,
    idempotency_key: str | None,
) -> CreatedRefund:
    """Reserve ``amount_fen`` of the order's refundable remainder and submit the refund.

    Returns the refund (PROCESSING, or already SUCCESS). Raises ``NotFound``, ``InvalidInput``
    (amount), ``Conflict`` ORDER_NOT_PAID / REFUND_EXCEEDS_REFUNDABLE, ``UpstreamRefused``
    when WeChat definitely refused (the reservation is released).

    With an ``idempotency_key`` (scoped to the order) the same key and body give back the same
    refund (``replayed=True``), answered as it stands: ``UpstreamRefused`` again if WeChat
    refused it. The same key with another amount or reason raises ``Conflict``
    IDEMPOTENCY_KEY_REUSED. A call refused before a refund existed (e.g. not paid) keeps no key.
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
    request_hash = _request_hash(amount_fen, reason)
    if idempotency_key is not None:
        replay = await _replay(ctx, order_id, idempotency_key, request_hash)
        if replay is not None:
            return replay
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        order = await uow.orders.get(order_id, for_update=True)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
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
        # The refund row goes in first (the key points at it); every check below rolls it back.
        await uow.refunds.add(refund)
        # The key is claimed before the order's state is judged: a retry that lost the race to
        # a full refund must get that refund back, not REFUND_EXCEEDS_REFUNDABLE.
        if idempotency_key is not None and not await uow.idempotency.claim_refund_key(
            order.id, idempotency_key, request_hash, refund.id, now
        ):
            await uow.rollback()
            replay = await _replay(ctx, order_id, idempotency_key, request_hash)
            assert replay is not None
            return replay
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
    return CreatedRefund(await submit_refund(ctx, refund.id), replayed=False)


async def _replay(
    ctx: ServiceContext, order_id: str, key: str, request_hash: str
) -> CreatedRefund | None:
    async with ctx.uow(read_only=True) as uow:
        seen = await uow.idempotency.get_refund_key(order_id, key)
        if seen is None:
            return None
        if seen.request_hash != request_hash:
            raise Conflict(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used on this order with a different amount or reason",
            )
        refund = await uow.refunds.get(seen.refund_id)
    assert refund is not None
    if refund.submit_state == "REJECTED":
        # The first answer was WeChat's refusal; so is the replay's.
        raise UpstreamRefused(
            "REFUND_REJECTED", _refused_message(refund.error_code, refund.error_message or "")
        )
    return CreatedRefund(refund, replayed=True)


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
    raise UpstreamRefused("REFUND_REJECTED", _refused_message(exc.code, exc.message)) from exc


def _refused_message(code: str | None, message: str) -> str:
    return f"WeChat Pay refused the refund: {code or ''} {message}".strip()


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
